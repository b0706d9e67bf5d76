//! Plots every activation and its gradient over [-6, 6], computed on the GPU,
//! the way the tutorials draw them with matplotlib: one gallery image with
//! every op and one image per op, as PNG files.
//!
//! Each curve is 1201 points (step 0.01, so the kinks at 0, ±1, ±3, ±0.5 are
//! sampled exactly); the gradient is the backward pass with a gradient of ones,
//! so at a kink it shows PyTorch's convention (relu'(0) = 0). Before drawing,
//! every GPU value is compared with the f64 CPU reference under the op's
//! tolerance, and the largest differences are printed.
//!
//! Run: `cargo run --release --example plot [OUTPUT_DIR]` (default `plots/`).

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{Activation, GpuContext};

/// Samples per curve: -6.00, -5.99, ..., 6.00.
const SAMPLES: usize = 1201;
/// PyTorch's `nn.PReLU` initial weight.
const PRELU_WEIGHT: f32 = 0.25;

const FORWARD_COLOR: RGBColor = RGBColor(31, 119, 180);
const GRADIENT_COLOR: RGBColor = RGBColor(255, 127, 14);

/// One op's curves, as computed on the GPU.
struct Curves {
    op: Activation,
    forward: Vec<f32>,
    gradient: Vec<f32>,
}

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let out_dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "plots".into()));
    std::fs::create_dir_all(&out_dir)?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the bundled DejaVu Sans font did not load")?;
    plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold())
        .map_err(|_| "the bundled DejaVu Sans Bold font did not load")?;

    let ctx = GpuContext::new()?;
    println!("adapter: {}", ctx.adapter_description());
    let xs: Vec<f32> = (0..SAMPLES)
        .map(|i| ((i as f64 - 600.0) / 100.0) as f32)
        .collect();

    println!("{:<54} {:>12} {:>12}", "op", "max |Δf|", "max |Δf'|");
    let mut all = Vec::new();
    for op in plotted_ops() {
        let curves = compute(&ctx, &op, &xs)?;
        let (forward_diff, gradient_diff) = check_against_cpu(&curves, &xs)?;
        println!(
            "{:<54} {forward_diff:>12.3e} {gradient_diff:>12.3e}",
            title(&op)
        );
        all.push(curves);
    }

    let gallery = out_dir.join("gallery.png");
    draw_gallery(&gallery, &xs, &all, &ctx.adapter_info().name)?;
    println!("\nwrote {}", gallery.display());
    for curves in &all {
        let path = out_dir.join(format!("{}.png", curves.op.name()));
        let root = BitMapBackend::new(&path, (800, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        draw_panel(&root, &xs, curves, 26, 16)?;
        root.present()?;
    }
    println!("wrote {} per-op images to {}", all.len(), out_dir.display());
    Ok(())
}

/// Every op of the registry with its defaults, except where the defaults
/// would draw the same picture as another op: `threshold` defaults to
/// (0, 0), which is relu, so it is drawn with threshold 1.
fn plotted_ops() -> Vec<Activation> {
    Activation::OPS
        .iter()
        .map(|info| match info.default {
            Activation::Threshold { .. } => Activation::Threshold {
                threshold: 1.0,
                value: 0.0,
            },
            op => op,
        })
        .collect()
}

fn compute(ctx: &GpuContext, op: &Activation, xs: &[f32]) -> Result<Curves, Box<dyn Error>> {
    let shape = [xs.len()];
    let x = ctx.upload(xs, &shape)?;
    let ones = ctx.upload(&vec![1.0; xs.len()], &shape)?;
    let weight = if op.uses_weight() {
        Some(ctx.upload(&[PRELU_WEIGHT], &[1])?)
    } else {
        None
    };
    let y = ctx.forward(op, &x, weight.as_ref())?;
    let gradients = ctx.backward(op, &x, &ones, weight.as_ref())?;
    Ok(Curves {
        op: *op,
        forward: ctx.download(&y)?,
        gradient: ctx.download(&gradients.grad_input)?,
    })
}

/// The largest absolute differences from the f64 CPU reference; an error if
/// a value falls outside the op's tolerance (evaluated, as in the tests, at
/// the input and at the input perturbations the tolerance allows).
fn check_against_cpu(curves: &Curves, xs: &[f32]) -> Result<(f64, f64), Box<dyn Error>> {
    let op = &curves.op;
    let weight = if op.uses_weight() {
        f64::from(PRELU_WEIGHT)
    } else {
        0.0
    };
    let dn = Denormals::Preserve;
    let forward_tolerance = op.forward_tolerance();
    let backward_tolerance = op.backward_tolerance();
    let mut worst = (0.0f64, 0.0f64);
    for (i, &x) in xs.iter().enumerate() {
        let index = i as u64;
        let at = |p: f64| f64::from(x) * (1.0 + p);
        let forward: Vec<f32> = forward_tolerance
            .input_perturbations()
            .into_iter()
            .map(|p| cpu::forward_scalar(op, at(p), index, weight, dn) as f32)
            .collect();
        let gradient: Vec<f32> = backward_tolerance
            .input_perturbations()
            .into_iter()
            .map(|p| cpu::backward_scalar(op, at(p), 1.0, index, weight, dn) as f32)
            .collect();
        let (gpu_f, gpu_g) = (curves.forward[i], curves.gradient[i]);
        if !forward_tolerance.accepts(gpu_f, &forward)
            || !backward_tolerance.accepts(gpu_g, &gradient)
        {
            return Err(format!(
                "{op} at x = {x}: the GPU gave ({gpu_f}, {gpu_g}), the CPU reference ({}, {})",
                forward[0], gradient[0]
            )
            .into());
        }
        worst.0 = worst
            .0
            .max((f64::from(gpu_f) - f64::from(forward[0])).abs());
        worst.1 = worst
            .1
            .max((f64::from(gpu_g) - f64::from(gradient[0])).abs());
    }
    Ok(worst)
}

fn draw_gallery(
    path: &Path,
    xs: &[f32],
    all: &[Curves],
    adapter: &str,
) -> Result<(), Box<dyn Error>> {
    const COLUMNS: usize = 6;
    let rows = all.len().div_ceil(COLUMNS);
    let root = BitMapBackend::new(path, (COLUMNS as u32 * 380, rows as u32 * 300 + 70))
        .into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!(
            "Activations (blue) and their gradients (orange) over [-6, 6], computed on {adapter}"
        ),
        ("sans-serif", 30).into_font().style(FontStyle::Bold),
    )?;
    for (panel, curves) in root.split_evenly((rows, COLUMNS)).iter().zip(all) {
        draw_panel(panel, xs, curves, 17, 12)?;
    }
    root.present()?;
    Ok(())
}

/// Draws f and f' of one op with axes through the origin, as the tutorials'
/// matplotlib plots do. Jumps (threshold, hardshrink, the gradient at a
/// kink) are drawn as breaks, not as vertical strokes.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    xs: &[f32],
    curves: &Curves,
    title_size: u32,
    label_size: u32,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let (low, high) = curves
        .forward
        .iter()
        .chain(&curves.gradient)
        .fold((-1.0f32, 1.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let pad = 0.08 * (high - low);
    let (low, high) = (low - pad, high + pad);

    let title = title(&curves.op);
    // Shrink long titles (rrelu's) to the panel's width: a glyph of DejaVu
    // Sans is about 0.55 of the font size wide.
    let width = area.dim_in_pixel().0 as f32;
    let title_size = (title_size as f32).min(width / (0.56 * title.len() as f32)) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(&title, ("sans-serif", title_size))
        .margin(8)
        .x_label_area_size(label_size + 10)
        .y_label_area_size(label_size * 3)
        .build_cartesian_2d(-6f32..6f32, low..high)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .y_labels(6)
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(220, 220, 220))
        .label_style(("sans-serif", label_size))
        .draw()?;
    let axis = BLACK.mix(0.55).stroke_width(1);
    chart.draw_series(LineSeries::new([(-6.0, 0.0), (6.0, 0.0)], axis))?;
    chart.draw_series(LineSeries::new([(0.0, low), (0.0, high)], axis))?;

    for (values, color, label) in [
        (&curves.forward, FORWARD_COLOR, "f(x)"),
        (&curves.gradient, GRADIENT_COLOR, "f'(x)"),
    ] {
        let style = color.stroke_width(2);
        let pieces = continuous_pieces(xs, values, high - low);
        for (index, piece) in pieces.iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(piece.iter().copied(), style))?;
            if index == 0 {
                series.label(label).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
        }
        // At a jump, a dot marks the value at the kink itself (relu'(0) = 0,
        // PyTorch's convention), as a textbook draws a step function.
        let kinks = pieces.windows(2).filter_map(|pair| {
            let before = *pair[0].last()?;
            let after = *pair[1].first()?;
            [before, after].into_iter().find(|&(x, _)| on_half_grid(x))
        });
        chart.draw_series(kinks.map(|point| Circle::new(point, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", label_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// The panel's title: the op with its parameters (PReLU's weight included).
fn title(op: &Activation) -> String {
    match *op {
        Activation::Prelu => format!("prelu(weight={PRELU_WEIGHT})"),
        // Evaluation mode: the fixed slope (lower + upper) / 2.
        Activation::Rrelu {
            lower,
            upper,
            training: false,
            ..
        } => format!("rrelu(lower={lower:.3}, upper={upper:.3}, eval)"),
        _ => op.to_string(),
    }
}

/// Whether `x` is a multiple of 0.5, where every kink drawn here lies.
fn on_half_grid(x: f32) -> bool {
    (2.0 * x).fract() == 0.0
}

/// Splits a sampled curve at its jumps: steps larger than 2% of the plot's
/// height and 8 times the steps on either side (a smooth curve's steps change
/// slowly at a spacing of 0.01, a kink's jump stands alone).
fn continuous_pieces(xs: &[f32], values: &[f32], height: f32) -> Vec<Vec<(f32, f32)>> {
    let step = |i: usize| -> f32 {
        if i == 0 || i >= values.len() {
            0.0
        } else {
            (values[i] - values[i - 1]).abs()
        }
    };
    let mut pieces: Vec<Vec<(f32, f32)>> = vec![Vec::new()];
    for (i, (&x, &y)) in xs.iter().zip(values).enumerate() {
        let here = step(i);
        if here > 0.02 * height && here > 8.0 * step(i.saturating_sub(1)).max(step(i + 1)) {
            pieces.push(Vec::new());
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push((x, y));
        }
    }
    pieces
}

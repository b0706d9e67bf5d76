//! Every f32 input through one op's GPU kernel against the CPU reference:
//! all 2^32 bit patterns, forward and backward (grad_output = 1), recording
//! the largest error in ulps and where it occurs, and every input the op's
//! documented tolerance does not accept. Not a test (it takes minutes to
//! hours on a software adapter); its results are the README's "every f32
//! input" table.
//!
//! ```sh
//! cargo run --release --example exhaustive -- gelu
//! cargo run --release --example exhaustive -- gelu --approximate tanh --direction backward
//! cargo run --release --example exhaustive -- softplus --beta 2 --from 0x3f800000 --to 0x40000000
//! ```
//!
//! `--direction forward|backward|both` (default both), `--from`/`--to` a
//! range of bit patterns (default all), `--threads N` for the reference
//! (default: available parallelism). PReLU runs with one weight, 0.25; rrelu
//! in training mode draws each element's slope from its bit pattern.

use std::time::Instant;

use wgpu_activations::accuracy::{ulp_distance, Element, Tolerance};
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{Activation, BackwardBuffers, ForwardBuffers, GpuContext, TensorView};

/// Inputs per GPU batch.
const BATCH: u64 = 1 << 24;
/// Failures listed per direction.
const LISTED: usize = 12;
const PRELU_WEIGHT: f32 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// What one direction found.
#[derive(Debug, Clone)]
struct Findings {
    /// Largest ulp distance to the reference (flushed or not, the nearer),
    /// NaN mismatches excepted, and the input where it occurs.
    max_ulps: u64,
    at: f32,
    /// Inputs the documented tolerance rejects (NaN mismatches included).
    rejected: u64,
    examples: Vec<String>,
    checked: u64,
}

impl Findings {
    fn new() -> Self {
        Findings {
            max_ulps: 0,
            at: 0.0,
            rejected: 0,
            examples: Vec::new(),
            checked: 0,
        }
    }

    fn merge(&mut self, other: Findings) {
        if other.max_ulps > self.max_ulps {
            self.max_ulps = other.max_ulps;
            self.at = other.at;
        }
        self.rejected += other.rejected;
        self.checked += other.checked;
        for example in other.examples {
            if self.examples.len() < LISTED {
                self.examples.push(example);
            }
        }
    }
}

/// The reference at `x` (g = 1), rounded to f32, with denormals as `dn`.
fn reference(op: &Activation, direction: Direction, x: f64, index: u64, dn: Denormals) -> f32 {
    let value = match direction {
        Direction::Forward => cpu::forward_scalar(op, x, index, f64::from(PRELU_WEIGHT), dn),
        Direction::Backward => cpu::backward_scalar(op, x, 1.0, index, f64::from(PRELU_WEIGHT), dn),
    };
    cpu::narrow(value, dn)
}

/// Checks `actual` (the GPU's results for inputs `first..`) on the CPU.
fn check(
    op: &Activation,
    direction: Direction,
    tolerance: Tolerance,
    first: u64,
    actual: &[f32],
) -> Findings {
    let mut findings = Findings::new();
    let perturbations = tolerance.input_perturbations();
    for (i, &a) in actual.iter().enumerate() {
        let bits = first + i as u64;
        let x = f32::from_bits(bits as u32);
        findings.checked += 1;
        let references = |dn: Denormals| -> Vec<f32> {
            perturbations
                .iter()
                .map(|p| reference(op, direction, cpu::widen(x, dn) * (1.0 + p), bits, dn))
                .collect()
        };
        let exact = reference(op, direction, f64::from(x), bits, Denormals::Preserve);
        let mut ulps = if exact.is_nan() || a.is_nan() {
            if exact.is_nan() && a.is_nan() {
                0
            } else {
                u64::MAX
            }
        } else {
            ulp_distance(a, exact)
        };
        if ulps > 0 {
            let flushed = reference(op, direction, f64::from(x), bits, Denormals::FlushToZero);
            if !flushed.is_nan() && !a.is_nan() {
                ulps = ulps.min(ulp_distance(a, flushed));
            }
        }
        if ulps != u64::MAX && ulps > findings.max_ulps {
            findings.max_ulps = ulps;
            findings.at = x;
        }
        let slack = match tolerance {
            Tolerance::Exact => 0,
            Tolerance::Close { ulps, .. } => u64::from(ulps),
        };
        if ulps <= slack {
            continue;
        }
        // Beyond the ulps alone: the tolerance's input perturbation, and
        // flush-to-zero, decide.
        let zero = |v: f32| !v.is_nan() && v.ordered() == 0;
        let flushed = references(Denormals::FlushToZero);
        let accepted = tolerance.accepts(a, &references(Denormals::Preserve))
            || tolerance.accepts(a, &flushed)
            || (zero(flushed[0]) && zero(a));
        if !accepted {
            findings.rejected += 1;
            if findings.examples.len() < LISTED {
                findings.examples.push(format!(
                    "x = {x:e} ({:#010x}): GPU {a:e}, reference {exact:e} ({} ulps)",
                    bits,
                    if ulps == u64::MAX {
                        "NaN mismatch".to_string()
                    } else {
                        ulps.to_string()
                    }
                ));
            }
        }
    }
    findings
}

struct Args {
    op: Activation,
    directions: Vec<Direction>,
    from: u64,
    to: u64,
    threads: usize,
}

fn parse_bits(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed
        .ok()
        .filter(|&v| v <= 1 << 32)
        .ok_or_else(|| format!("{text}: expected a bit pattern from 0 to 0x100000000"))
}

fn parse_args() -> Result<Args, String> {
    let mut tokens = std::env::args().skip(1).filter(|a| a != "--bench");
    let name = tokens.next().ok_or("usage: exhaustive OP [--PARAM VALUE]... [--direction forward|backward|both] [--from BITS] [--to BITS] [--threads N]")?;
    let mut parameters: Vec<(String, String)> = Vec::new();
    let mut directions = vec![Direction::Forward, Direction::Backward];
    let (mut from, mut to) = (0u64, 1u64 << 32);
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    while let Some(flag) = tokens.next() {
        let value = tokens
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--direction" => {
                directions = match value.as_str() {
                    "forward" => vec![Direction::Forward],
                    "backward" => vec![Direction::Backward],
                    "both" => vec![Direction::Forward, Direction::Backward],
                    other => return Err(format!("--direction {other}: forward, backward or both")),
                }
            }
            "--from" => from = parse_bits(&value)?,
            "--to" => to = parse_bits(&value)?,
            "--threads" => {
                threads = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--threads: a positive number")?
            }
            other => match other.strip_prefix("--") {
                Some(parameter) => parameters.push((parameter.to_string(), value)),
                None => return Err(format!("unexpected argument {other}")),
            },
        }
    }
    let pairs: Vec<(&str, &str)> = parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let op = Activation::parse(&name, &pairs).map_err(|e| e.to_string())?;
    if from >= to {
        return Err("--from must be below --to".into());
    }
    Ok(Args {
        op,
        directions,
        from,
        to,
        threads,
    })
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let op = args.op;
    let device = ctx.device();
    let usage =
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
    let buffer = |size: u64| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    let input = buffer(BATCH * 4);
    let ones = buffer(BATCH * 4);
    let output = buffer(BATCH * 4);
    let weight = buffer(16);
    ctx.queue().write_buffer(
        &ones,
        0,
        bytemuck::cast_slice(&vec![1.0f32; BATCH as usize]),
    );
    ctx.queue()
        .write_buffer(&weight, 0, bytemuck::cast_slice(&[PRELU_WEIGHT; 4]));
    let started = Instant::now();
    let mut findings = vec![Findings::new(); args.directions.len()];
    let mut first = args.from;
    while first < args.to {
        let count = BATCH.min(args.to - first);
        let len = count as usize;
        let bits: Vec<u32> = (first..first + count).map(|b| b as u32).collect();
        ctx.queue()
            .write_buffer(&input, 0, bytemuck::cast_slice(&bits));
        for (d, &direction) in args.directions.iter().enumerate() {
            let view = |b| TensorView::new(b, 0, len);
            let weight_view = op.uses_weight().then(|| TensorView::new(&weight, 0, 1));
            let mut encoder = ctx.create_encoder();
            let recorded = match direction {
                Direction::Forward => ctx.encode_forward(
                    &mut encoder,
                    &op,
                    &[len],
                    &ForwardBuffers {
                        input: view(&input),
                        output: view(&output),
                        weight: weight_view,
                        first_element: first,
                    },
                ),
                Direction::Backward => ctx.encode_backward(
                    &mut encoder,
                    &op,
                    &[len],
                    &BackwardBuffers {
                        input: view(&input),
                        grad_output: view(&ones),
                        grad_input: view(&output),
                        weight: weight_view,
                        grad_weight: None,
                        from_output: false,
                        first_element: first,
                    },
                ),
            };
            recorded
                .and_then(|()| ctx.submit(encoder).map(drop))
                .unwrap_or_else(|e| {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                });
            let actual = ctx.read_view(view(&output)).unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(1);
            });
            let tolerance = match direction {
                Direction::Forward => op.forward_tolerance(),
                Direction::Backward => op.backward_tolerance(),
            };
            let per_thread = len.div_ceil(args.threads);
            let parts: Vec<Findings> = std::thread::scope(|scope| {
                let handles: Vec<_> = actual
                    .chunks(per_thread)
                    .enumerate()
                    .map(|(t, chunk)| {
                        let start = first + (t * per_thread) as u64;
                        scope.spawn(move || check(&op, direction, tolerance, start, chunk))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for part in parts {
                findings[d].merge(part);
            }
        }
        first += count;
        let done = (first - args.from) as f64 / (args.to - args.from) as f64;
        eprint!(
            "\r{op}: {:5.1}% ({:.0} s)",
            done * 100.0,
            started.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    println!("adapter: {}", ctx.adapter_description());
    println!(
        "{op}: inputs {:#x}..{:#x} ({} values), {:.0} s",
        args.from,
        args.to,
        args.to - args.from,
        started.elapsed().as_secs_f64()
    );
    for (direction, found) in args.directions.iter().zip(&findings) {
        let tolerance = match direction {
            Direction::Forward => op.forward_tolerance(),
            Direction::Backward => op.backward_tolerance(),
        };
        println!(
            "{direction:?}: max {} ulps at x = {:e} ({:#010x}); tolerance {tolerance}: {} of {} inputs outside",
            found.max_ulps,
            found.at,
            found.at.to_bits(),
            found.rejected,
            found.checked
        );
        for example in &found.examples {
            println!("  {example}");
        }
    }
    println!(
        "README row: | `{op}` | {} | {} |",
        findings
            .first()
            .map_or("-".into(), |f| format!("{} at {:e}", f.max_ulps, f.at)),
        findings
            .get(1)
            .map_or("-".into(), |f| format!("{} at {:e}", f.max_ulps, f.at)),
    );
}

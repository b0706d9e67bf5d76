//! Softmax along a dimension, forward: ours (recording API) against burn's
//! `softmax(x, dim)` on issue 12's shapes, each beside our identity kernel
//! over the same bytes (one read and one write), timed in alternation.
//! `cargo run --release -- --softmax`.

use std::time::{Duration, Instant};

use burn::tensor::{activation, Device, Tensor, TensorData};
use wgpu_activations::{Activation, ForwardBuffers, GpuContext, RowActivation, RowForwardBuffers};

use crate::sides::{measure_pair, Sampler};

/// The shapes and dims of issue 12's table.
const CASES: [(&[usize], i64); 4] = [
    (&[131072, 128], -1),
    (&[4096, 4096], -1),
    (&[8, 131072], -1),
    (&[64, 512, 32, 32], 1),
];

fn data(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2654435761) % 4099) as f32) / 256.0 - 8.0)
        .collect()
}

fn wait(ctx: &GpuContext) {
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
}

/// burn's softmax over a tensor of rank D, timed from the call to `sync`.
fn burn_sampler<'a, const D: usize>(
    device: &'a Device,
    x: &[f32],
    shape: &[usize],
    dim: usize,
) -> Sampler<'a> {
    let dims: [usize; D] = shape.try_into().expect("rank");
    let x = Tensor::<D>::from_data(TensorData::new(x.to_vec(), dims), device);
    device.sync().expect("sync");
    Box::new(move || {
        device.sync().expect("sync");
        let start = Instant::now();
        let y = activation::softmax(x.clone(), dim);
        device.sync().expect("sync");
        let elapsed = start.elapsed();
        drop(y);
        elapsed
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints the table; `warmup` and `repeats` as for the elementwise ops.
pub fn run(ctx: &GpuContext, device: &Device, warmup: u32, repeats: u32) {
    println!("\n## Softmax forward: ours and burn's, each against our identity kernel\n");
    println!(
        "| shape, dim | ours (median ms) | identity (ms) | ours / identity | burn (ms) | \
         identity (ms) | burn / identity | ours/burn (speed) | max abs difference |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (shape, dim) in CASES {
        let len: usize = shape.iter().product();
        let x = data(len);
        let input = ctx.upload(&x, shape).expect("upload");
        let output = ctx.empty(shape).expect("allocate");
        let identity_out = ctx.empty(shape).expect("allocate");
        let op = RowActivation::Softmax { dim };
        let ours = || {
            let start = Instant::now();
            let mut encoder = ctx.create_encoder();
            ctx.encode_row_forward(
                &mut encoder,
                &op,
                shape,
                &RowForwardBuffers {
                    input: input.view(),
                    output: output.view(),
                },
            )
            .expect("softmax");
            ctx.submit(encoder).expect("submit");
            wait(ctx);
            start.elapsed()
        };
        let identity = || {
            let start = Instant::now();
            let mut encoder = ctx.create_encoder();
            ctx.encode_forward(
                &mut encoder,
                &Activation::Identity,
                shape,
                &ForwardBuffers {
                    input: input.view(),
                    output: identity_out.view(),
                    weight: None,
                    first_element: 0,
                },
            )
            .expect("identity");
            ctx.submit(encoder).expect("submit");
            wait(ctx);
            start.elapsed()
        };
        let (ours_time, identity_a) = measure_pair(warmup, repeats, Box::new(ours), Box::new(identity));
        let axis = if dim < 0 { shape.len() as i64 + dim } else { dim } as usize;
        let burn = match shape.len() {
            2 => burn_sampler::<2>(device, &x, shape, axis),
            _ => burn_sampler::<4>(device, &x, shape, axis),
        };
        let (burn_time, identity_b) = measure_pair(warmup, repeats, burn, Box::new(identity));
        // The two results side by side.
        let ours_values = ctx.download(&output).expect("download");
        let burn_values: Vec<f32> = match shape.len() {
            2 => {
                let dims: [usize; 2] = shape.try_into().unwrap();
                let t = Tensor::<2>::from_data(TensorData::new(x.clone(), dims), device);
                activation::softmax(t, axis).into_data().try_into_vec().unwrap()
            }
            _ => {
                let dims: [usize; 4] = shape.try_into().unwrap();
                let t = Tensor::<4>::from_data(TensorData::new(x.clone(), dims), device);
                activation::softmax(t, axis).into_data().try_into_vec().unwrap()
            }
        };
        let burn_bad = burn_values.iter().filter(|v| !v.is_finite()).count();
        let ours_bad = ours_values.iter().filter(|v| !v.is_finite()).count();
        let largest = ours_values
            .iter()
            .zip(&burn_values)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let row_sum = |values: &[f32]| -> f64 {
            values[..shape[shape.len() - 1]]
                .iter()
                .map(|&v| f64::from(v))
                .sum()
        };
        let sums = if dim == -1 {
            format!(
                "; first row's sum: ours {:.7}, burn {:.7}",
                row_sum(&ours_values),
                row_sum(&burn_values)
            )
        } else {
            String::new()
        };
        let difference = format!(
            "{largest:.1e} (non-finite values: ours {ours_bad}, burn {burn_bad}{sums})"
        );
        println!(
            "| {shape:?}, {dim} | {:.2} | {:.2} | {:.2}x | {:.2} | {:.2} | {:.2}x | {:.2} | {difference} |",
            ms(ours_time.median),
            ms(identity_a.median),
            ms(ours_time.median) / ms(identity_a.median),
            ms(burn_time.median),
            ms(identity_b.median),
            ms(burn_time.median) / ms(identity_b.median),
            ms(burn_time.median) / ms(ours_time.median),
        );
    }
}

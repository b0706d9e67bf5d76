//! The fused epilogue against separate passes, on one adapter in one run:
//! `y = f(x + bias[c]) + residual` over 2^24 f32 ([4096, 4096], bias along
//! the last dimension, as after a linear layer) in one dispatch, against the
//! same computed in three (bias add, the op, residual add; each a full read
//! and write of the tensor, the adds as the fused kernel with only that part
//! and the identity op). Timed in alternation, 4 submissions of each per
//! round, median of the per-round ratios.
//!
//! A bench, not a test: `cargo bench --bench epilogue`. Environment:
//! `BENCH_REPEATS` (default 7), `BENCH_OPS` (default relu,gelu,silu).

use std::time::{Duration, Instant};

use wgpu_activations::{Activation, ForwardBuffers, FusedForwardBuffers, GpuContext, GpuTensor};

const PER_SUBMISSION: usize = 4;

fn run(ctx: &GpuContext, record: &dyn Fn(&mut wgpu::CommandEncoder)) -> Duration {
    let start = Instant::now();
    let mut encoder = ctx.create_encoder();
    for _ in 0..PER_SUBMISSION {
        record(&mut encoder);
    }
    ctx.submit(encoder).expect("submit");
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
    start.elapsed() / PER_SUBMISSION as u32
}

/// Records `op` over `[input -> output]` with the bias and residual given.
fn fused(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    op: &Activation,
    [input, output]: [&GpuTensor; 2],
    bias: Option<&GpuTensor>,
    residual: Option<&GpuTensor>,
) {
    ctx.encode_forward_fused(
        encoder,
        op,
        input.shape(),
        &FusedForwardBuffers {
            input: input.view(),
            output: output.view(),
            weight: None,
            bias: bias.map(GpuTensor::view),
            bias_dim: -1,
            residual: residual.map(GpuTensor::view),
            first_element: 0,
        },
    )
    .expect("fused forward");
}

fn main() {
    let ctx = GpuContext::new().expect("a GPU adapter (lavapipe will do)");
    let repeats: usize = std::env::var("BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let ops = std::env::var("BENCH_OPS").unwrap_or_else(|_| "relu,gelu,silu".into());
    let shape = [4096usize, 4096];
    let len: usize = shape.iter().product();
    println!("adapter: {}", ctx.adapter_description());
    println!(
        "{len} f32 ({} MiB per tensor), bias along the last dimension, median of {repeats} rounds\n",
        (len * 4) >> 20
    );
    let data: Vec<f32> = (0..len).map(|i| (i % 4099) as f32 / 256.0 - 8.0).collect();
    let x = ctx.upload(&data, &shape).unwrap();
    let residual = ctx.upload(&data, &shape).unwrap();
    let bias = ctx
        .upload(
            &(0..4096).map(|c| c as f32 / 4096.0).collect::<Vec<_>>(),
            &[4096],
        )
        .unwrap();
    let out = ctx.empty(&shape).unwrap();
    let t1 = ctx.empty(&shape).unwrap();
    let t2 = ctx.empty(&shape).unwrap();
    let identity = Activation::Identity;
    println!(
        "| op | fused: one pass | separate: bias add, op, residual add | fused speedup (median of rounds) |"
    );
    println!("|---|---:|---:|---:|");
    for name in ops.split(',') {
        let op = Activation::from_name(name.trim()).expect("BENCH_OPS: op names");
        let one = |e: &mut wgpu::CommandEncoder| {
            fused(&ctx, e, &op, [&x, &out], Some(&bias), Some(&residual))
        };
        let three = |e: &mut wgpu::CommandEncoder| {
            fused(&ctx, e, &identity, [&x, &t1], Some(&bias), None);
            ctx.encode_forward(
                e,
                &op,
                &shape,
                &ForwardBuffers {
                    input: t1.view(),
                    output: t2.view(),
                    weight: None,
                    first_element: 0,
                },
            )
            .expect("op");
            fused(&ctx, e, &identity, [&t2, &out], None, Some(&residual));
        };
        run(&ctx, &one);
        run(&ctx, &three);
        let mut fused_times = Vec::new();
        let mut separate_times = Vec::new();
        let mut ratios = Vec::new();
        for round in 0..repeats {
            let (a, b) = if round % 2 == 0 {
                let a = run(&ctx, &one);
                (a, run(&ctx, &three))
            } else {
                let b = run(&ctx, &three);
                (run(&ctx, &one), b)
            };
            ratios.push(b.as_secs_f64() / a.as_secs_f64());
            fused_times.push(a);
            separate_times.push(b);
        }
        fused_times.sort();
        separate_times.sort();
        ratios.sort_by(f64::total_cmp);
        println!(
            "| {op} | {:.1} ms | {:.1} ms | {:.2}x |",
            fused_times[repeats / 2].as_secs_f64() * 1e3,
            separate_times[repeats / 2].as_secs_f64() * 1e3,
            ratios[repeats / 2]
        );
    }
}

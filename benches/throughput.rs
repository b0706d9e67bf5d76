//! Memory throughput of the kernels against the copy baselines, on one adapter
//! in one run: relu forward over 2^24 floats, the identity kernel (same
//! structure, no arithmetic) and `copy_buffer_to_buffer`. A bench, not a test:
//! run with `cargo bench --bench throughput`. Environment: `BENCH_LOG2_LEN`
//! (default 24), `BENCH_REPEATS` (default 15), plus `WGPU_BACKEND` /
//! `WGPU_ADAPTER_NAME` to choose the adapter.

use std::time::{Duration, Instant};

use wgpu_activations::{Activation, ForwardBuffers, GpuContext, GpuTensor};

/// Dispatches per timed submission: enough work to dwarf the submit overhead.
const OPS_PER_SUBMISSION: usize = 8;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median wall time of one op, from `repeats` submissions of `OPS_PER_SUBMISSION` ops.
fn time_op(ctx: &GpuContext, repeats: u32, record: &dyn Fn(&mut wgpu::CommandEncoder)) -> Duration {
    let run = || {
        let mut encoder = ctx.create_encoder();
        for _ in 0..OPS_PER_SUBMISSION {
            record(&mut encoder);
        }
        ctx.submit(encoder).expect("submit");
        ctx.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
    };
    run(); // warm-up: pipeline creation, first-touch of memory
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed() / OPS_PER_SUBMISSION as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn gigabytes_per_second(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

fn forward<'a>(
    ctx: &'a GpuContext,
    op: Activation,
    input: &'a GpuTensor,
    output: &'a GpuTensor,
) -> impl Fn(&mut wgpu::CommandEncoder) + 'a {
    let shape = input.shape().to_vec();
    move |encoder: &mut wgpu::CommandEncoder| {
        ctx.encode_forward(
            encoder,
            &op,
            &shape,
            &ForwardBuffers {
                input: input.view(),
                output: output.view(),
                weight: None,
                first_element: 0,
            },
        )
        .expect("encode");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let log2_len = env_or("BENCH_LOG2_LEN", 24);
    let repeats = env_or("BENCH_REPEATS", 15).max(1);
    let len = 1usize << log2_len;
    let data: Vec<f32> = (0..len).map(|i| (i % 1000) as f32 - 500.0).collect();
    let input = ctx.upload(&data, &[len]).expect("upload");
    let output = ctx.empty(&[len]).expect("allocate");
    // Each element is read once and written once.
    let bytes = 2 * 4 * len as u64;

    println!("adapter: {}", ctx.adapter_description());
    println!("elements: 2^{log2_len} f32 ({} MiB per buffer), median of {repeats} x {OPS_PER_SUBMISSION} ops", (len * 4) >> 20);

    let copy = time_op(&ctx, repeats, &|encoder: &mut wgpu::CommandEncoder| {
        encoder.copy_buffer_to_buffer(input.buffer(), 0, output.buffer(), 0, len as u64 * 4);
    });
    let identity = time_op(
        &ctx,
        repeats,
        &forward(&ctx, Activation::Identity, &input, &output),
    );
    let mut rows = vec![
        ("copy_buffer_to_buffer", copy),
        ("identity kernel", identity),
    ];
    for op in [
        Activation::Relu,
        Activation::LEAKY_RELU,
        Activation::ELU,
        Activation::Selu,
    ] {
        let name: &'static str = Box::leak(format!("{op} forward").into_boxed_str());
        rows.push((
            name,
            time_op(&ctx, repeats, &forward(&ctx, op, &input, &output)),
        ));
    }
    println!(
        "{:<40} {:>10} {:>10} {:>14}",
        "", "time", "GB/s", "vs identity"
    );
    for (name, time) in &rows {
        println!(
            "{name:<40} {:>8.3}ms {:>10.2} {:>13.2}x",
            time.as_secs_f64() * 1e3,
            gigabytes_per_second(bytes, *time),
            identity.as_secs_f64() / time.as_secs_f64()
        );
    }
    let relu = rows[2].1;
    let ratio = identity.as_secs_f64() / relu.as_secs_f64();
    println!(
        "relu forward / identity kernel throughput: {ratio:.3} (target >= 0.9): {}",
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
}

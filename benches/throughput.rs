//! Memory throughput of the kernels against the copy baselines, on one adapter
//! in one run: every op's forward over 2^24 f32 (defaults; PReLU with one
//! weight), relu backward, relu forward on f16, the identity kernel (same
//! structure, no arithmetic) and `copy_buffer_to_buffer`. A bench, not a test:
//! run with `cargo bench --bench throughput`. Environment: `BENCH_LOG2_LEN`
//! (default 24), `BENCH_REPEATS` (default 15), plus `WGPU_BACKEND` /
//! `WGPU_ADAPTER_NAME` to choose the adapter.

use std::time::{Duration, Instant};

use wgpu_activations::{f16, Activation, BackwardBuffers, ForwardBuffers, GpuContext, GpuTensor};

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
    weight: Option<&'a GpuTensor>,
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
                weight: weight.map(GpuTensor::view),
                first_element: 0,
            },
        )
        .expect("encode");
    }
}

fn backward<'a>(
    ctx: &'a GpuContext,
    op: Activation,
    input: &'a GpuTensor,
    grad_output: &'a GpuTensor,
    grad_input: &'a GpuTensor,
) -> impl Fn(&mut wgpu::CommandEncoder) + 'a {
    let shape = input.shape().to_vec();
    move |encoder: &mut wgpu::CommandEncoder| {
        ctx.encode_backward(
            encoder,
            &op,
            &shape,
            &BackwardBuffers {
                input: input.view(),
                grad_output: grad_output.view(),
                grad_input: grad_input.view(),
                weight: None,
                grad_weight: None,
                from_output: false,
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
        &forward(&ctx, Activation::Identity, &input, &output, None),
    );
    // (name, time per op, bytes moved per op)
    let mut rows: Vec<(String, Duration, u64)> = vec![
        ("copy_buffer_to_buffer".into(), copy, bytes),
        ("identity kernel".into(), identity, bytes),
    ];
    let weight = ctx.upload(&[0.25], &[1]).expect("upload");
    for info in Activation::OPS {
        let op = info.default;
        let weight = op.uses_weight().then_some(&weight);
        let time = time_op(&ctx, repeats, &forward(&ctx, op, &input, &output, weight));
        rows.push((format!("{op} forward"), time, bytes));
    }
    // Backward reads x and grad_output and writes grad_input.
    let grad_input = ctx.empty(&[len]).expect("allocate");
    let time = time_op(
        &ctx,
        repeats,
        &backward(&ctx, Activation::Relu, &input, &output, &grad_input),
    );
    rows.push(("relu backward".into(), time, 3 * 4 * len as u64));
    let half: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
    match ctx.upload_f16(&half, &[len]) {
        Ok(input_f16) => {
            let output_f16 = ctx
                .empty_with_dtype(&[len], input_f16.dtype())
                .expect("allocate");
            let time = time_op(
                &ctx,
                repeats,
                &forward(&ctx, Activation::Relu, &input_f16, &output_f16, None),
            );
            rows.push(("relu forward, f16".into(), time, 2 * 2 * len as u64));
        }
        Err(error) => println!("f16 skipped: {error}"),
    }
    println!(
        "{:<56} {:>10} {:>10} {:>14}",
        "", "time", "GB/s", "vs identity"
    );
    for (name, time, moved) in &rows {
        println!(
            "{name:<56} {:>8.3}ms {:>10.2} {:>13.2}x",
            time.as_secs_f64() * 1e3,
            gigabytes_per_second(*moved, *time),
            gigabytes_per_second(*moved, *time) / gigabytes_per_second(bytes, identity)
        );
    }
    let relu = rows
        .iter()
        .find(|row| row.0 == "relu forward")
        .map_or(identity, |row| row.1);
    let ratio = identity.as_secs_f64() / relu.as_secs_f64();
    println!(
        "relu forward / identity kernel throughput: {ratio:.3} (target >= 0.9): {}",
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
}

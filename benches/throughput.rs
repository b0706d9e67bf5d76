//! Memory throughput of the kernels against the identity kernel (the same
//! kernel with no arithmetic) and `copy_buffer_to_buffer`, on one adapter in
//! one run, over 2^24 f32:
//!
//! - every op's forward (defaults) on typical activations (pre-activations
//!   roughly normal, |x| mostly below 8) and on a wide range (uniform over
//!   [-500, 500), where the exponential tails take their careful paths);
//! - every op's backward against relu backward (the kernel that moves the
//!   same three tensors with no arithmetic);
//! - every op's forward on f16 storage against the f16 identity kernel;
//! - PReLU with one weight per channel against relu, with large channel
//!   blocks (the channel from the dispatch grid) and 8 x 8 ones (by division);
//! - gated ops (`relu_and_mul`, `silu_and_mul`) forward over joined halves
//!   of 2048 along the last dimension, against the identity kernel (by
//!   throughput: they read the whole input and write half of it).
//!
//! A bench, not a test: `cargo bench --bench throughput`. Environment:
//! `BENCH_LOG2_LEN` (default 24), `BENCH_REPEATS` (default 7), `BENCH_OPS`
//! (comma-separated op names; default every op), plus `WGPU_BACKEND` /
//! `WGPU_ADAPTER_NAME` to choose the adapter.

use std::time::Duration;

mod common;
use common::{env_or, typical};

use wgpu_activations::{
    f16, Activation, BackwardBuffers, DType, ForwardBuffers, GatedActivation, GatedForwardBuffers,
    GatedHalves, GpuContext, GpuTensor, TensorView,
};

/// Dispatches per timed submission: enough work to dwarf the submit overhead.
const OPS_PER_SUBMISSION: usize = 8;

fn gigabytes_per_second(bytes: u64, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

fn forward<'a>(
    ctx: &'a GpuContext,
    op: Activation,
    shape: &'a [usize],
    input: &'a GpuTensor,
    output: &'a GpuTensor,
    weight: Option<&'a GpuTensor>,
) -> impl Fn(&mut wgpu::CommandEncoder) + 'a {
    move |encoder: &mut wgpu::CommandEncoder| {
        ctx.encode_forward(
            encoder,
            &op,
            shape,
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
    weight: Option<&'a GpuTensor>,
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
                weight: weight.map(GpuTensor::view),
                grad_weight: None,
                from_output: false,
                first_element: 0,
            },
        )
        .expect("encode");
    }
}

struct Row {
    name: String,
    time: Duration,
    bytes: u64,
    ratio: f64,
}

fn main() {
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let log2_len = env_or("BENCH_LOG2_LEN", 24);
    let repeats = env_or("BENCH_REPEATS", 7).max(1);
    let wanted: Option<Vec<String>> = std::env::var("BENCH_OPS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let ops: Vec<Activation> = Activation::all_defaults()
        .into_iter()
        .filter(|op| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == op.name()))
        })
        .collect();
    let len = 1usize << log2_len;
    let shape = [len];
    let two = 2 * 4 * len as u64;
    let three = 3 * 4 * len as u64;

    println!("adapter: {}", ctx.adapter_description());
    println!(
        "elements: 2^{log2_len} f32 ({} MiB per buffer), median of {repeats} x {OPS_PER_SUBMISSION} ops",
        (len * 4) >> 20
    );

    let typical_data = typical(len);
    let wide_data: Vec<f32> = (0..len).map(|i| (i % 1000) as f32 - 500.0).collect();
    let x = ctx.upload(&typical_data, &shape).expect("upload");
    let x_wide = ctx.upload(&wide_data, &shape).expect("upload");
    let g = ctx
        .upload(
            &typical(len).iter().rev().copied().collect::<Vec<_>>(),
            &shape,
        )
        .expect("upload");
    let out = ctx.empty(&shape).expect("allocate");
    let weight = ctx.upload(&[0.25], &[1]).expect("upload");

    let copy = common::time_op(
        &ctx,
        OPS_PER_SUBMISSION,
        repeats,
        &|encoder: &mut wgpu::CommandEncoder| {
            encoder.copy_buffer_to_buffer(x.buffer(), 0, out.buffer(), 0, len as u64 * 4);
        },
    );
    let identity = common::time_op(
        &ctx,
        OPS_PER_SUBMISSION,
        repeats,
        &forward(&ctx, Activation::Identity, &shape, &x, &out, None),
    );
    let relu_backward = common::time_op(
        &ctx,
        OPS_PER_SUBMISSION,
        repeats,
        &backward(&ctx, Activation::Relu, &x, &g, &out, None),
    );
    println!(
        "\ncopy_buffer_to_buffer: {:.2} GB/s; identity kernel: {:.2} GB/s; relu backward: {:.2} GB/s",
        gigabytes_per_second(two, copy),
        gigabytes_per_second(two, identity),
        gigabytes_per_second(three, relu_backward)
    );

    let mut rows: Vec<(String, Vec<Row>)> = Vec::new();
    let mut forward_rows = Vec::new();
    let mut wide_rows = Vec::new();
    let mut backward_rows = Vec::new();
    let identity_kernel = forward(&ctx, Activation::Identity, &shape, &x, &out, None);
    let relu_backward_kernel = backward(&ctx, Activation::Relu, &x, &g, &out, None);
    let row = |name: String,
               baseline: &dyn Fn(&mut wgpu::CommandEncoder),
               op: &dyn Fn(&mut wgpu::CommandEncoder),
               bytes| {
        let (time, ratio) = common::time_against(&ctx, OPS_PER_SUBMISSION, repeats, baseline, op);
        Row {
            name,
            time,
            bytes,
            ratio,
        }
    };
    for &op in &ops {
        let w = op.uses_weight().then_some(&weight);
        forward_rows.push(row(
            op.to_string(),
            &identity_kernel,
            &forward(&ctx, op, &shape, &x, &out, w),
            two,
        ));
        wide_rows.push(row(
            op.to_string(),
            &identity_kernel,
            &forward(&ctx, op, &shape, &x_wide, &out, w),
            two,
        ));
        backward_rows.push(row(
            op.to_string(),
            &relu_backward_kernel,
            &backward(&ctx, op, &x, &g, &out, w),
            three,
        ));
    }
    rows.push((
        "forward, typical values, vs the identity kernel".into(),
        forward_rows,
    ));
    rows.push((
        "forward, wide values (uniform [-500, 500)), vs the identity kernel".into(),
        wide_rows,
    ));
    rows.push((
        "backward, typical values, vs relu backward".into(),
        backward_rows,
    ));

    // f16 storage, against the f16 identity kernel.
    let half: Vec<f16> = typical_data.iter().map(|&v| f16::from_f32(v)).collect();
    match ctx.upload_f16(&half, &shape) {
        Ok(x16) => {
            let out16 = ctx.empty_with_dtype(&shape, DType::F16).expect("allocate");
            let w16 = ctx
                .upload_f16(&[f16::from_f32(0.25)], &[1])
                .expect("upload");
            let bytes = 2 * 2 * len as u64;
            let identity16_kernel = forward(&ctx, Activation::Identity, &shape, &x16, &out16, None);
            let identity16 = common::time_op(&ctx, OPS_PER_SUBMISSION, repeats, &identity16_kernel);
            let f16_rows = ops
                .iter()
                .map(|&op| {
                    let w = op.uses_weight().then_some(&w16);
                    row(
                        op.to_string(),
                        &identity16_kernel,
                        &forward(&ctx, op, &shape, &x16, &out16, w),
                        bytes,
                    )
                })
                .collect();
            println!(
                "f16 identity kernel: {:.2} GB/s ({:.2}x the f32 identity kernel's GB/s)",
                gigabytes_per_second(bytes, identity16),
                gigabytes_per_second(bytes, identity16) / gigabytes_per_second(two, identity)
            );
            rows.push((
                "forward, f16 storage, vs the f16 identity kernel".into(),
                f16_rows,
            ));
        }
        Err(error) => println!("f16 skipped: {error}"),
    }

    // PReLU with a weight per channel (NCHW-like): large channel blocks,
    // where the kernel reads the channel from its dispatch grid, and 8 x 8
    // blocks, where each thread finds it by division.
    let weights: Vec<f32> = (0..64).map(|c| 0.01 * c as f32).collect();
    let channel_weight = ctx.upload(&weights, &[64]).expect("upload");
    let channel_shapes = [
        ([16, 64, len / 1024], "channel from the grid"),
        ([len / 4096, 64, 64], "channel by division"),
    ];
    let relu = forward(&ctx, Activation::Relu, &channel_shapes[0].0, &x, &out, None);
    let channel_rows = channel_shapes
        .iter()
        .map(|(shape, how)| {
            let prelu = forward(
                &ctx,
                Activation::Prelu,
                shape,
                &x,
                &out,
                Some(&channel_weight),
            );
            row(format!("prelu {shape:?} ({how})"), &relu, &prelu, two)
        })
        .collect();
    rows.push(("prelu, 64 weights, vs relu".into(), channel_rows));

    // Gated ops over joined halves: [len / 4096, 4096] split along the last
    // dimension, 1.5 x len elements moved.
    let gated_shape = [len / 4096, 4096];
    let gated_rows = [GatedActivation::ReluAndMul, GatedActivation::SiluAndMul]
        .into_iter()
        .map(|op| {
            let (ctx, x, out) = (&ctx, &x, &out);
            let gated = move |encoder: &mut wgpu::CommandEncoder| {
                ctx.encode_gated_forward(
                    encoder,
                    &op,
                    &gated_shape,
                    &GatedForwardBuffers {
                        input: GatedHalves::Joined(x.view()),
                        output: TensorView::new(out.buffer(), 0, len / 2),
                    },
                )
                .expect("encode");
            };
            // Read len, write len / 2: 6 len bytes against the identity
            // kernel's 8 len.
            let bytes = 6 * len as u64;
            let (time, time_ratio) =
                common::time_against(ctx, OPS_PER_SUBMISSION, repeats, &identity_kernel, &gated);
            let ratio = time_ratio * bytes as f64 / two as f64;
            Row {
                name: format!("{op} {gated_shape:?}"),
                time,
                bytes,
                ratio,
            }
        })
        .collect();
    rows.push((
        "gated, joined halves, vs the identity kernel".into(),
        gated_rows,
    ));

    for (title, table) in rows {
        println!("\n### {title}\n");
        println!("| op | time per op | GB/s | throughput ratio (median of alternating rounds) |");
        println!("|---|---:|---:|---:|");
        for row in table {
            println!(
                "| {} | {:.3} ms | {:.2} | {:.2}x |",
                row.name,
                row.time.as_secs_f64() * 1e3,
                gigabytes_per_second(row.bytes, row.time),
                row.ratio
            );
        }
    }
}

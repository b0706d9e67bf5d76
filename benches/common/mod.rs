//! Timing shared by the benches and `examples/epilogue.rs` (each is its own
//! binary and includes this module with `mod common;`, the example through
//! `#[path]`; each uses a part of it, hence the `dead_code` allowance).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use wgpu_activations::{
    Activation, BackwardBuffers, ForwardBuffers, GpuContext, GpuTensor, RowActivation,
    RowBackwardBuffers, RowForwardBuffers,
};

/// The environment variable `name` as a number, or `default`.
pub fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median wall time of one op, from `repeats` submissions of `per_submission`
/// ops each (after one untimed warm-up submission: pipeline creation, first
/// touch of memory).
pub fn time_op(
    ctx: &GpuContext,
    per_submission: usize,
    repeats: u32,
    record: &dyn Fn(&mut wgpu::CommandEncoder),
) -> Duration {
    let run = || {
        let mut encoder = ctx.create_encoder();
        for _ in 0..per_submission {
            record(&mut encoder);
        }
        ctx.submit(encoder).expect("submit");
        ctx.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
    };
    run();
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed() / per_submission as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The op's median time and the median of the per-round ratios of the
/// baseline's time to the op's, the two timed in alternation (baseline, op,
/// baseline, op, ...) so that the machine's load weighs on both alike.
/// Times the bytes moved by the op over those of the baseline, the ratio is
/// the op's throughput against the baseline's.
pub fn time_against(
    ctx: &GpuContext,
    per_submission: usize,
    repeats: u32,
    baseline: &dyn Fn(&mut wgpu::CommandEncoder),
    op: &dyn Fn(&mut wgpu::CommandEncoder),
) -> (Duration, f64) {
    let mut times = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..repeats {
        let base = time_op(ctx, per_submission, 1, baseline);
        let time = time_op(ctx, per_submission, 1, op);
        times.push(time);
        ratios.push(base.as_secs_f64() / time.as_secs_f64());
    }
    times.sort();
    ratios.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], ratios[ratios.len() / 2])
}

/// Deterministic, roughly normal values (standard deviation 2): the sum of
/// four hashed uniforms, as typical pre-activations are.
pub fn typical(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let mut sum = 0.0;
            for k in 0..4u32 {
                let h = (i as u32 ^ k.wrapping_mul(0x9e37_79b9))
                    .wrapping_mul(0x85eb_ca6b)
                    .rotate_left(13)
                    .wrapping_mul(0xc2b2_ae35);
                sum += (h >> 8) as f32 / 16_777_216.0 - 0.5;
            }
            sum * 3.46
        })
        .collect()
}

/// The tensors of a row-op bench over one shape (`benches/softmax.rs`,
/// `benches/softmax_floor.rs`): the input `x` (values from -10 to 10 in
/// steps of 0.01, hashed), the gradient `g = sin(x)`, and the outputs `y`
/// and `gx`.
pub struct RowTensors {
    pub shape: Vec<usize>,
    pub x: GpuTensor,
    pub g: GpuTensor,
    pub y: GpuTensor,
    pub gx: GpuTensor,
}

impl RowTensors {
    pub fn new(ctx: &GpuContext, shape: &[usize]) -> RowTensors {
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 100.0 - 10.0)
            .collect();
        let g: Vec<f32> = x.iter().map(|v| v.sin()).collect();
        RowTensors {
            shape: shape.to_vec(),
            x: ctx.upload(&x, shape).expect("upload"),
            g: ctx.upload(&g, shape).expect("upload"),
            y: ctx.empty(shape).expect("allocate"),
            gx: ctx.empty(shape).expect("allocate"),
        }
    }

    /// The identity kernel over the same bytes as the row op: its forward
    /// (x read, y written) or its backward (x and g read, gx written).
    pub fn identity(&self, ctx: &GpuContext, backward: bool, encoder: &mut wgpu::CommandEncoder) {
        if backward {
            ctx.encode_backward(
                encoder,
                &Activation::Identity,
                &self.shape,
                &BackwardBuffers {
                    input: self.x.view(),
                    grad_output: self.g.view(),
                    grad_input: self.gx.view(),
                    weight: None,
                    grad_weight: None,
                    from_output: false,
                    first_element: 0,
                },
            )
        } else {
            ctx.encode_forward(
                encoder,
                &Activation::Identity,
                &self.shape,
                &ForwardBuffers {
                    input: self.x.view(),
                    output: self.y.view(),
                    weight: None,
                    first_element: 0,
                },
            )
        }
        .expect("encode");
    }

    /// The row op: forward x into y, or backward from y (which must hold
    /// the forward's output) and g into gx.
    pub fn row_op(
        &self,
        ctx: &GpuContext,
        op: &RowActivation,
        backward: bool,
        encoder: &mut wgpu::CommandEncoder,
    ) {
        if backward {
            ctx.encode_row_backward(
                encoder,
                op,
                &self.shape,
                &RowBackwardBuffers {
                    output: self.y.view(),
                    grad_output: self.g.view(),
                    grad_input: self.gx.view(),
                },
            )
        } else {
            ctx.encode_row_forward(
                encoder,
                op,
                &self.shape,
                &RowForwardBuffers {
                    input: self.x.view(),
                    output: self.y.view(),
                },
            )
        }
        .expect("encode");
    }
}

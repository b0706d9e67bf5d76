//! Timing shared by the benches and `examples/epilogue.rs` (each is its own
//! binary and includes this module with `mod common;`, the example through
//! `#[path]`; each uses a part of it, hence the `dead_code` allowance).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use wgpu_activations::GpuContext;

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

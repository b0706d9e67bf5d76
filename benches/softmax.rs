//! The row ops against the identity kernel, on one adapter in one run:
//! softmax and log_softmax forward and backward over the shapes
//! (attention rows (2^17, 128), (4096, 4096), vocabulary rows (8, 131072),
//! and the channels of (64, 512, 32, 32), dim 1), each against the identity
//! kernel over the same bytes: its forward (x read, y written) for the
//! forwards, its backward (two tensors read, one written) for the
//! backwards. Also softmax on a device without subgroup operations (the
//! workgroup-memory reductions). A bench, not a test: `cargo bench --bench
//! softmax`. Environment: `BENCH_REPEATS` (default 9), `BENCH_SHAPES`
//! (indices into the four shapes above, e.g. `0,3`; default all; the
//! no-subgroups row runs with shape 0), `WGPU_BACKEND` / `WGPU_ADAPTER_NAME`
//! to choose the adapter, `BENCH_PER_LANE` (4 to 64, a power of two) the
//! most elements a lane of the row kernels holds (the adapter's default
//! otherwise).

use std::time::Duration;

mod common;

use common::RowTensors;
use wgpu_activations::{GpuContext, RowActivation};

/// Ops per timed submission.
const OPS_PER_SUBMISSION: usize = 4;

/// A context on the same adapter without subgroup operations.
fn without_subgroups() -> Option<GpuContext> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .ok()?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: adapter.features() & wgpu::Features::SHADER_F16,
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .ok()?;
    Some(GpuContext::from_device(device, queue))
}

fn main() {
    let mut ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    if let Ok(per_lane) = std::env::var("BENCH_PER_LANE") {
        let per_lane = per_lane.parse().unwrap_or(0);
        ctx = ctx
            .with_row_elements_per_lane(per_lane)
            .unwrap_or_else(|e| {
                eprintln!("error: BENCH_PER_LANE: {e}");
                std::process::exit(2);
            });
    }
    let repeats = std::env::var("BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9u32)
        .max(1);
    println!("adapter: {}", ctx.adapter_description());
    println!(
        "subgroups: {}; median of {repeats} submissions of {OPS_PER_SUBMISSION} ops; f32; at most {} elements per lane",
        if ctx.device().features().contains(wgpu::Features::SUBGROUP) {
            "yes"
        } else {
            "no"
        },
        ctx.row_elements_per_lane()
    );
    println!(
        "{:<44} {:>11} {:>11} {:>9} {:>7}",
        "op, shape (dim)", "time", "identity", "ratio", "target"
    );
    let shapes: [(&[usize], i64, f64); 4] = [
        (&[1 << 17, 128], -1, 1.5),
        (&[4096, 4096], -1, 1.5),
        (&[8, 131_072], -1, 2.2),
        (&[64, 512, 32, 32], 1, 1.5),
    ];
    let row = |name: String, time: Duration, identity: Duration, target: f64| {
        let ratio = time.as_secs_f64() / identity.as_secs_f64();
        println!(
            "{name:<44} {:>9.3}ms {:>9.3}ms {ratio:>8.2}x {target:>6.1}x {}",
            time.as_secs_f64() * 1e3,
            identity.as_secs_f64() * 1e3,
            if ratio <= target { "met" } else { "NOT met" }
        );
    };
    let selected: Vec<usize> = match std::env::var("BENCH_SHAPES") {
        Ok(v) => v
            .split(',')
            .map(|i| match i.trim().parse() {
                Ok(index) if index < shapes.len() => index,
                _ => {
                    eprintln!("error: BENCH_SHAPES: '{i}' is not a shape index (0 to 3)");
                    std::process::exit(2);
                }
            })
            .collect(),
        Err(_) => (0..shapes.len()).collect(),
    };
    for (index, (shape, dim, forward_target)) in shapes.into_iter().enumerate() {
        if !selected.contains(&index) {
            continue;
        }
        let t = RowTensors::new(&ctx, shape);
        let identity = common::time_op(&ctx, OPS_PER_SUBMISSION, repeats, &|e| {
            t.identity(&ctx, false, e)
        });
        let identity3 = common::time_op(&ctx, OPS_PER_SUBMISSION, repeats, &|e| {
            t.identity(&ctx, true, e)
        });
        for op in [
            RowActivation::Softmax { dim },
            RowActivation::LogSoftmax { dim },
        ] {
            let forward = common::time_op(&ctx, OPS_PER_SUBMISSION, repeats, &|e| {
                t.row_op(&ctx, &op, false, e)
            });
            row(
                format!("{op} forward {shape:?}"),
                forward,
                identity,
                forward_target,
            );
            let mut encoder = ctx.create_encoder();
            t.row_op(&ctx, &op, false, &mut encoder);
            ctx.submit(encoder).expect("submit");
            let backward = common::time_op(&ctx, OPS_PER_SUBMISSION, repeats, &|e| {
                t.row_op(&ctx, &op, true, e)
            });
            row(format!("{op} backward {shape:?}"), backward, identity3, 2.0);
        }
    }
    if !selected.contains(&0) {
        return;
    }
    if let Some(plain) = without_subgroups() {
        let shape: &[usize] = &[1 << 17, 128];
        let t = RowTensors::new(&plain, shape);
        let identity = common::time_op(&plain, OPS_PER_SUBMISSION, repeats, &|e| {
            t.identity(&plain, false, e)
        });
        let op = RowActivation::Softmax { dim: -1 };
        let forward = common::time_op(&plain, OPS_PER_SUBMISSION, repeats, &|e| {
            t.row_op(&plain, &op, false, e)
        });
        row(
            format!("{op} forward {shape:?}, no subgroups"),
            forward,
            identity,
            1.5,
        );
    }
}

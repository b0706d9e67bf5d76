//! The row ops past the dispatch limit (more than 65535 workgroups in one
//! dimension, folded into a 2-D grid) and past one storage binding (one row
//! longer than a binding, bound chunk by chunk), on the adapter's real
//! limits. (`tests/softmax.rs` covers every kind of piece, and 2-D grids in
//! every pass, on a device with tiny limits.)

mod common;

use wgpu_activations::cpu::softmax as twin;
use wgpu_activations::cpu::Denormals;
use wgpu_activations::{GpuContext, RowActivation};

/// Deterministic values in [-10, 10).
fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let h = (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 8) % 20_011;
            h as f32 / 1000.5 - 10.0
        })
        .collect()
}

/// Forward and backward of `op` over `shape` against the CPU twin (the
/// backward from the GPU's forward output).
fn check_against_twin(ctx: &GpuContext, op: &RowActivation, shape: &[usize]) {
    let len: usize = shape.iter().product();
    let (x, g) = (data(len, 1), data(len, 2));
    let y = ctx
        .row_forward(op, &ctx.upload(&x, shape).unwrap())
        .unwrap();
    let gx = ctx
        .row_backward(op, &y, &ctx.upload(&g, shape).unwrap())
        .unwrap();
    let (y, gx) = (ctx.download(&y).unwrap(), ctx.download(&gx).unwrap());
    let dn = Denormals::Preserve;
    let reference = twin::row_forward_reference(op, &x, shape, dn).unwrap();
    let tolerance = op.forward_tolerance();
    let bad = (0..len).find(|&i| !tolerance.accepts(y[i], reference[i], 0.0));
    assert!(bad.is_none(), "{op} {shape:?}: element {bad:?}");
    let (reference, scales) = twin::row_backward_reference(op, &y, &g, shape, dn).unwrap();
    let tolerance = op.backward_tolerance();
    let bad = (0..len).find(|&i| !tolerance.accepts(gx[i], reference[i], scales[i]));
    assert!(bad.is_none(), "{op} backward {shape:?}: element {bad:?}");
}

#[test]
fn rows_past_65535_workgroups() {
    let ctx = gpu_or_skip!();
    // One-element rows, 256 to a workgroup: 66407 workgroups, a 2-D grid.
    // Softmax of one element is 1, log_softmax 0, and their gradients
    // g - g = 0 and g - 1 * g = 0, for every value.
    let rows = 17_000_000;
    let (x, g) = (data(rows, 3), data(rows, 4));
    // Strided (dim 0 of [1, rows]) and contiguous (dim -1 of [rows, 1]).
    for (shape, op) in [
        ([1, rows], RowActivation::Softmax { dim: 0 }),
        ([rows, 1], RowActivation::LogSoftmax { dim: -1 }),
    ] {
        let (input, grad) = (
            ctx.upload(&x, &shape).unwrap(),
            ctx.upload(&g, &shape).unwrap(),
        );
        let y = ctx.row_forward(&op, &input).unwrap();
        let gx = ctx
            .download(&ctx.row_backward(&op, &y, &grad).unwrap())
            .unwrap();
        let y = ctx.download(&y).unwrap();
        let expected = if op.kernel().log { 0.0 } else { 1.0 };
        let bad = y.iter().position(|&v| v != expected);
        assert!(
            bad.is_none(),
            "{op}: element {bad:?} is {:?}",
            bad.map(|i| y[i])
        );
        let bad = gx.iter().position(|&v| v != 0.0);
        assert!(
            bad.is_none(),
            "{op} backward: element {bad:?} is {:?}",
            bad.map(|i| gx[i])
        );
    }
}

#[test]
fn tensors_past_one_storage_binding() {
    let ctx = gpu_or_skip!();
    let binding = (ctx.limits().max_storage_buffer_binding_size / 4) as usize;
    if binding > 80_000_000 {
        eprintln!("skipping: this device's bindings hold {binding} f32, too many to exceed here");
        return;
    }
    // One row longer than a binding, bound a chunk at a time (the harder
    // case; pieces of whole rows are covered on a device with tiny limits).
    check_against_twin(ctx, &RowActivation::Softmax { dim: 0 }, &[binding + 4099]);
}

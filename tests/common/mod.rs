//! Shared by the GPU test binaries: one device per test binary, and the
//! comparison of GPU results with the CPU reference.

#![allow(dead_code)]

pub mod strategies;

use std::sync::OnceLock;

use wgpu_activations::accuracy::Element;
use wgpu_activations::cpu::{self, Denormals, Float};
use wgpu_activations::tensor::prelu_channels;
use wgpu_activations::{Activation, GpuContext, Tolerance};

/// The test binary's one GPU context, or `None` outside CI when no adapter
/// exists. In CI (`CI` set to anything but `false`/`0`) a missing adapter
/// fails the test that asked for it.
pub fn gpu() -> Option<&'static GpuContext> {
    static CONTEXT: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        GpuContext::new()
            .inspect(|ctx| eprintln!("GPU tests run on {}", ctx.adapter_description()))
            .map_err(|e| e.to_string())
    });
    match context {
        Ok(ctx) => Some(ctx),
        Err(error) if in_ci() => panic!("CI requires a GPU adapter (lavapipe will do): {error}"),
        Err(error) => {
            eprintln!("skipping GPU test: {error}");
            None
        }
    }
}

/// A context on a new device of the tests' adapter, with the adapter's
/// features among `features` and its limits changed by `limits` (smaller
/// bindings, fewer workgroups per dimension: pieces and grids on small data).
pub fn custom_context(
    features: wgpu::Features,
    limits: impl FnOnce(&mut wgpu::Limits),
) -> Option<GpuContext> {
    gpu()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .expect("adapter");
    let mut required = adapter.limits();
    limits(&mut required);
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("custom test device"),
        required_features: adapter.features() & features,
        required_limits: required,
        ..Default::default()
    }))
    .expect("device");
    Some(GpuContext::from_device(device, queue))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Returns from the test when there is no GPU (outside CI only).
#[macro_export]
macro_rules! gpu_or_skip {
    () => {
        match common::gpu() {
            Some(ctx) => ctx,
            None => return,
        }
    };
}

/// Which of an op's results is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `f(x)`.
    Forward,
    /// `g * f'(x)`.
    Backward,
    /// `g * f'(x)` computed from `y = f(x)` (the `x` argument holds y).
    BackwardFromOutput,
}

/// Checks each element of `actual` against the CPU reference: accepted if
/// within `tolerance` of the reference evaluated (at the tolerance's input
/// perturbations) either with IEEE subnormals or with flush-to-zero.
#[allow(clippy::too_many_arguments)]
pub fn assert_matches<T: Float + Element + std::fmt::Debug>(
    what: &str,
    op: &Activation,
    direction: Direction,
    shape: &[usize],
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    actual: &[T],
    tolerance: Tolerance,
) {
    assert_eq!(actual.len(), x.len(), "{what}: length");
    let (channels, inner) = prelu_channels(shape);
    let perturbations = tolerance.input_perturbations();
    for i in 0..x.len() {
        let weight_of = |dn| {
            weight.map_or(0.0, |w| {
                let c = if w.len() == 1 {
                    0
                } else {
                    (i / inner) % channels
                };
                cpu::widen(w[c], dn)
            })
        };
        let references = |dn: Denormals| -> Vec<T> {
            perturbations
                .iter()
                .map(|p| {
                    let xi = cpu::widen(x[i], dn) * (1.0 + p);
                    let gi = g.get(i).map_or(0.0, |&v| cpu::widen(v, dn));
                    let value = match direction {
                        Direction::Forward => {
                            cpu::forward_scalar(op, xi, i as u64, weight_of(dn), dn)
                        }
                        Direction::Backward => {
                            cpu::backward_scalar(op, xi, gi, i as u64, weight_of(dn), dn)
                        }
                        Direction::BackwardFromOutput => {
                            cpu::backward_from_output_scalar(op, xi, gi).unwrap()
                        }
                    };
                    cpu::narrow(value, dn)
                })
                .collect()
        };
        let exact = references(Denormals::Preserve);
        let flushed = references(Denormals::FlushToZero);
        let zero = |v: T| !v.is_nan() && v.ordered() == 0;
        let scaled = || {
            let derivatives: Vec<f64> = perturbations
                .iter()
                .map(|p| {
                    let xi = cpu::widen(x[i], Denormals::Preserve) * (1.0 + p);
                    let dn = Denormals::Preserve;
                    cpu::backward_scalar(op, xi, 1.0, i as u64, weight_of(dn), dn)
                })
                .collect();
            let gi = g
                .get(i)
                .map_or(0.0, |&v| cpu::widen(v, Denormals::Preserve));
            within_scaled_band(actual[i], &derivatives, gi, tolerance)
        };
        let ok = tolerance.accepts(actual[i], &exact)
            || tolerance.accepts(actual[i], &flushed)
            || (zero(flushed[0]) && zero(actual[i]))
            || (direction == Direction::Backward && scaled());
        assert!(
            ok,
            "{what}: element {i} of {}: x = {:?} (bits {:#x}), g = {:?}: GPU {:?} (bits {:#x}), \
             reference {:?}, flushed reference {:?}, tolerance {tolerance:?}",
            x.len(),
            x[i],
            x[i].bits(),
            g.get(i),
            actual[i],
            actual[i].bits(),
            exact,
            flushed,
        );
    }
}

/// A gradient `g * f'(x)` against the derivative's tolerance: the ulps of a
/// backward tolerance bound `f'(x)` (what the exhaustive sweep checks, at
/// g = 1), and multiplying by `g` moves the result within its binade, which
/// can double its error in ulps of the product. Accepted: the element type's
/// roundings of `g` times the band `f'(x) +- ulps` (at every input
/// perturbation), give or take one ulp for the kernel's own rounding of the
/// product.
fn within_scaled_band<T: Float + Element>(
    actual: T,
    derivatives: &[f64],
    g: f64,
    tolerance: Tolerance,
) -> bool {
    let Tolerance::Close { ulps, .. } = tolerance else {
        return false;
    };
    if actual.is_nan() || !g.is_finite() || g == 0.0 {
        return false;
    }
    // The element type's epsilon: 2^-23 for f32, 2^-10 for f16.
    let epsilon = if T::MIN_POSITIVE < 1e-30 {
        f64::from(f32::EPSILON)
    } else {
        2f64.powi(-10)
    };
    let mut ends = Vec::new();
    for &d in derivatives {
        if !d.is_finite() {
            return false;
        }
        let unit = (2f64.powf(d.abs().log2().floor()) * epsilon).max(T::MIN_POSITIVE * epsilon);
        for end in [d - f64::from(ulps) * unit, d + f64::from(ulps) * unit] {
            let product = T::from_f64(g * end);
            if product.is_nan() {
                return false;
            }
            ends.push(product.ordered());
        }
    }
    let (low, high) = (ends.iter().min(), ends.iter().max());
    let a = actual.ordered();
    matches!((low, high), (Some(&low), Some(&high)) if a >= low - 1 && a <= high + 1)
}

// The fused epilogue's comparisons (tests/epilogue.rs, tests/gated_epilogue.rs).

/// The axis that `dim` (PyTorch's: -rank..rank, negative from the end)
/// names in a tensor of `rank` dimensions.
pub fn axis(dim: i64, rank: usize) -> usize {
    if dim < 0 {
        (dim + rank as i64) as usize
    } else {
        dim as usize
    }
}

/// Element i's index along `dim` of `shape`.
pub fn channel_of(i: usize, shape: &[usize], dim: usize) -> usize {
    let inner: usize = shape[dim + 1..].iter().product();
    (i / inner.max(1)) % shape[dim]
}

pub fn ulp(v: f32) -> f64 {
    let a = v.abs();
    if !a.is_finite() {
        return 0.0;
    }
    f64::from(f32::from_bits(a.to_bits() + 1)) - f64::from(a)
}

pub fn subnormal(v: f32) -> bool {
    v != 0.0 && v.abs() < f32::MIN_POSITIVE
}

/// Whether the GPU's `y` is `a + r` as a GPU may compute it (see the module
/// docs), for one of the candidate values `a` of the op.
pub fn acceptable(y: f32, candidates: &[f32], r: f32) -> bool {
    candidates.iter().any(|&a| {
        let reference = a + r;
        if y.to_bits() == reference.to_bits() || (y.is_nan() && reference.is_nan()) {
            return true;
        }
        if y.is_nan() || reference.is_nan() {
            return false;
        }
        // An output the GPU flushed.
        if (subnormal(reference) || reference == 0.0) && (subnormal(y) || y == 0.0) {
            return true;
        }
        // A fused multiply-add: one rounding of the exact a + r instead of two.
        if reference.is_infinite() {
            return y.is_finite() && y.signum() == reference.signum() && y.abs() >= 3.0e38;
        }
        let exact = f64::from(a) + f64::from(r);
        (f64::from(y) - exact).abs() <= ulp(a) + ulp(reference)
    })
}

/// Checks `sums[c]` against the f64 sum of `terms` over channel `c` along
/// `axis` of `shape`: within `(log2(n) + 3) eps sum|terms|` (the
/// fixed-order reduction's bound), NaN or an infinity where the terms give
/// one.
pub fn check_channel_sums(
    sums: &[f32],
    terms: &[f32],
    shape: &[usize],
    axis: usize,
) -> Result<(), String> {
    // One pass: (sum, sum of magnitudes, count) per channel.
    let mut totals = vec![(0.0f64, 0.0f64, 0usize); sums.len()];
    for (i, &term) in terms.iter().enumerate() {
        let total = &mut totals[channel_of(i, shape, axis)];
        total.0 += f64::from(term);
        total.1 += f64::from(term).abs();
        total.2 += 1;
    }
    for (c, (&sum_c, &(sum, magnitude, count))) in sums.iter().zip(&totals).enumerate() {
        let n = count.max(1) as f64;
        let bound = (n.log2() + 3.0) * f64::from(f32::EPSILON) * magnitude + 1e-37;
        let ok = if sum.is_nan() || magnitude.is_infinite() {
            // NaN or infinite terms: NaN or an infinity out, as a sum gives.
            !sum_c.is_finite() || magnitude.is_infinite()
        } else {
            (f64::from(sum_c) - sum).abs() <= bound
                || (sum.abs() > f64::from(f32::MAX) && sum_c.is_infinite())
        };
        if !ok {
            return Err(format!(
                "channel sum [{c}]: {sum_c:e}, the sum is {sum:e} (bound {bound:e})"
            ));
        }
    }
    Ok(())
}

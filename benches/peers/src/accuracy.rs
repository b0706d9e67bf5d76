//! The accuracy sweep and the error measure.

use wgpu_activations::Activation;

use crate::ops::PRELU_WEIGHT;
use crate::reference::reference;

/// The smallest normal f32, 2^-126: the floor of the denominator.
pub const TINY: f64 = f32::MIN_POSITIVE as f64;

/// The inputs: a dense grid over [-20, 20] (step 1/256), 8 points per octave
/// from 2^-40 to 1 on both signs, decades down to 1e-37, far tails, and the
/// two zeros. No subnormal inputs (WGSL lets a device flush them).
pub fn sweep() -> Vec<f32> {
    let mut x: Vec<f32> = (-20 * 256..=20 * 256).map(|i| i as f32 / 256.0).collect();
    for k in -320..0 {
        let v = (f64::from(k) / 8.0).exp2() as f32;
        x.extend([v, -v]);
    }
    for v in [
        1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-15, 1e-20, 1e-30, 1e-37,
    ] {
        x.extend([v, -v]);
    }
    for v in [
        20.5, 25.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 85.0, 87.0, 88.0, 88.5, 89.0, 90.0, 100.0,
        103.0, 104.0, 200.0, 500.0, 1e3, 1e4,
    ] {
        x.extend([v, -v]);
    }
    x.extend([0.0, -0.0]);
    x
}

/// The upstream gradient of the sweep: 0.5, 0.75, 1, 1.25 in turn (exact in f32).
pub fn sweep_grad(len: usize) -> Vec<f32> {
    (0..len).map(|i| 0.5 + 0.25 * (i % 4) as f32).collect()
}

/// `|a - r| / max(|r|, 2^-126)` in f64 against the unrounded f64 value `r`;
/// 0 when both are the same infinity or both NaN, infinite when exactly one
/// is NaN or infinite.
pub fn relative_error(a: f32, r: f64) -> f64 {
    let a = f64::from(a);
    if a.is_nan() || r.is_nan() {
        return if a.is_nan() && r.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if a.is_infinite() || r.is_infinite() {
        return if a == r { 0.0 } else { f64::INFINITY };
    }
    (a - r).abs() / r.abs().max(TINY)
}

/// The error of one result: the smaller of its errors against the IEEE
/// reference and against the flush-to-zero reference (so that a device that
/// flushes subnormals, as WGSL allows, is not charged for it).
pub fn error_of(op: &Activation, x: f32, g: Option<f32>, a: f32) -> f64 {
    let ieee = relative_error(a, reference(op, x, g, PRELU_WEIGHT, false));
    if ieee == 0.0 {
        return 0.0;
    }
    ieee.min(relative_error(a, reference(op, x, g, PRELU_WEIGHT, true)))
}

/// The largest error over some inputs and an input where it is.
#[derive(Debug, Clone, Copy)]
pub struct MaxError {
    /// The error (0 if the region is empty).
    pub error: f64,
    /// An input where it is reached.
    pub at: f32,
    /// That input's result.
    pub value: f32,
}

/// The largest error of `results` (over `xs`, with upstream gradient `gs`
/// when `backward`) against `op`'s reference, over the inputs `keep` keeps.
pub fn max_error(
    op: &Activation,
    backward: bool,
    xs: &[f32],
    gs: &[f32],
    results: &[f32],
    keep: impl Fn(f32) -> bool,
) -> MaxError {
    max_by(xs, gs, results, keep, |x, g, a| {
        error_of(op, x, backward.then_some(g), a)
    })
}

/// The largest absolute error of the derivative `f'(x)` implied by a
/// backward result `a = g f'(x)`, i.e. `|a - g f'(x)| / |g|`, with the
/// unrounded f64 reference: a measure that does not blow up where `f'`
/// crosses zero or underflows.
pub fn max_derivative_abs_error(
    op: &Activation,
    xs: &[f32],
    gs: &[f32],
    results: &[f32],
    keep: impl Fn(f32) -> bool,
) -> MaxError {
    max_by(xs, gs, results, keep, |x, g, a| {
        let r = reference(op, x, Some(g), PRELU_WEIGHT, false);
        let e = (f64::from(a) - r).abs() / f64::from(g).abs();
        if e.is_nan() {
            f64::INFINITY
        } else {
            e
        }
    })
}

/// Inputs where the result is NaN or infinite while the IEEE reference is
/// finite: how many, and the smallest such |x|.
pub fn non_finite(
    op: &Activation,
    backward: bool,
    xs: &[f32],
    gs: &[f32],
    results: &[f32],
) -> Option<(usize, f32)> {
    let mut count = 0;
    let mut smallest = f32::INFINITY;
    for ((&x, &g), &a) in xs.iter().zip(gs).zip(results) {
        let g = backward.then_some(g);
        let r = reference(op, x, g, PRELU_WEIGHT, false);
        if !a.is_finite() && r.is_finite() {
            count += 1;
            smallest = smallest.min(x.abs());
        }
    }
    (count > 0).then_some((count, smallest))
}

fn max_by(
    xs: &[f32],
    gs: &[f32],
    results: &[f32],
    keep: impl Fn(f32) -> bool,
    error: impl Fn(f32, f32, f32) -> f64,
) -> MaxError {
    let mut worst = MaxError {
        error: 0.0,
        at: f32::NAN,
        value: f32::NAN,
    };
    for ((&x, &g), &a) in xs.iter().zip(gs).zip(results) {
        if !keep(x) {
            continue;
        }
        let e = error(x, g, a);
        if e > worst.error || (worst.at.is_nan() && e >= worst.error) {
            worst = MaxError {
                error: e,
                at: x,
                value: a,
            };
        }
    }
    worst
}

//! The CPU twin of the gated ops ([`crate::GatedActivation`]): the
//! elementwise twin of the op's activation applied to the gate, times the
//! value, in f64, rounded once. No formula of its own: the activation's
//! twin ([`super::forward_scalar`], [`super::backward_scalar`]) is the one
//! the elementwise ops are tested against.

use super::{backward_scalar, forward_scalar, narrow, widen, Denormals, Float};
use crate::accuracy::{Element, Tolerance};
use crate::activation::Activation;
use crate::error::{ActivationError, Result};
use crate::gated::{GatedActivation, GatedGeometry, Half};
use crate::shape::element_count;

/// `(gate, value)` of the pair `(first, second)`.
fn gate_and_value(op: &GatedActivation, first: f64, second: f64) -> (f64, f64) {
    match op.gate() {
        Half::First => (first, second),
        Half::Second => (second, first),
    }
}

/// `act(gate) * value` for one pair of halves' elements, unrounded.
pub fn forward_scalar_pair(op: &GatedActivation, first: f64, second: f64, dn: Denormals) -> f64 {
    let (gate, value) = gate_and_value(op, first, second);
    forward_scalar(&op.activation(), gate, 0, 0.0, dn) * value
}

/// The gradients `(first, second)` of one pair for the output's gradient
/// `g`, unrounded: `act_backward(gate, g * value)` for the gate and
/// `g * act(gate)` for the value (autograd's order of `act(gate) * value`).
pub fn backward_scalar_pair(
    op: &GatedActivation,
    first: f64,
    second: f64,
    g: f64,
    dn: Denormals,
) -> (f64, f64) {
    let act = op.activation();
    let (gate, value) = gate_and_value(op, first, second);
    let grad_gate = backward_scalar(&act, gate, g * value, 0, 0.0, dn);
    let grad_value = g * forward_scalar(&act, gate, 0, 0.0, dn);
    match op.gate() {
        Half::First => (grad_gate, grad_value),
        Half::Second => (grad_value, grad_gate),
    }
}

/// The global index of the first-half element of output element `o`, and
/// the distance to its second-half partner.
pub fn pair_index(geometry: &GatedGeometry, o: usize) -> (usize, usize) {
    let h = geometry.half_block();
    (o + (o / h.max(1)) * h, h)
}

fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(ActivationError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}

/// Forward of `op` over `x` of `shape` (the split dimension of even size):
/// the output, of [`GatedActivation::output_shape`].
pub fn forward<T: Float>(
    op: &GatedActivation,
    x: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<Vec<T>> {
    op.validate()?;
    let geometry = op.geometry(shape)?;
    check_len("input", element_count(shape)?, x.len())?;
    Ok((0..geometry.output_len())
        .map(|o| {
            let (i, h) = pair_index(&geometry, o);
            let y = forward_scalar_pair(op, widen(x[i], dn), widen(x[i + h], dn), dn);
            narrow(y, dn)
        })
        .collect())
}

/// Gradient for the input (of `shape`) of `op` at `x`, from the gradient of
/// the output (of the output's shape).
pub fn backward<T: Float>(
    op: &GatedActivation,
    x: &[T],
    grad_output: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<Vec<T>> {
    op.validate()?;
    let geometry = op.geometry(shape)?;
    check_len("input", element_count(shape)?, x.len())?;
    check_len("grad_output", geometry.output_len(), grad_output.len())?;
    let mut out = vec![T::from_f64(0.0); x.len()];
    for (o, &g) in grad_output.iter().enumerate() {
        let (i, h) = pair_index(&geometry, o);
        let (a, b) =
            backward_scalar_pair(op, widen(x[i], dn), widen(x[i + h], dn), widen(g, dn), dn);
        out[i] = narrow(a, dn);
        out[i + h] = narrow(b, dn);
    }
    Ok(out)
}

/// Forward over the two halves given apart (`first`, `second`: the same
/// length): elementwise.
pub fn forward_halves<T: Float>(
    op: &GatedActivation,
    first: &[T],
    second: &[T],
    dn: Denormals,
) -> Result<Vec<T>> {
    op.validate()?;
    check_len("second", first.len(), second.len())?;
    Ok(first
        .iter()
        .zip(second)
        .map(|(&a, &b)| narrow(forward_scalar_pair(op, widen(a, dn), widen(b, dn), dn), dn))
        .collect())
}

/// Gradients of the two halves given apart.
pub fn backward_halves<T: Float>(
    op: &GatedActivation,
    first: &[T],
    second: &[T],
    grad_output: &[T],
    dn: Denormals,
) -> Result<(Vec<T>, Vec<T>)> {
    op.validate()?;
    check_len("second", first.len(), second.len())?;
    check_len("grad_output", first.len(), grad_output.len())?;
    Ok(first
        .iter()
        .zip(second)
        .zip(grad_output)
        .map(|((&a, &b), &g)| {
            let (ga, gb) = backward_scalar_pair(op, widen(a, dn), widen(b, dn), widen(g, dn), dn);
            (narrow::<T>(ga, dn), narrow::<T>(gb, dn))
        })
        .unzip())
}

/// Whether `actual` is accepted as `act(gate) * value` rounded to `T`: the
/// kernel holds `s = act(gate)` in f32, within the activation's f32
/// tolerance (`act_tolerance`, at its input perturbations of the gate),
/// and rounds `s * value` once (f32 storage), or in f32 and then to f16
/// (f16 storage: one more f16 ulp, unless the activation only selects, when
/// the product of two f16 values is exact in f32). Checked with IEEE
/// subnormals and with flush-to-zero (either is accepted).
pub fn accepts_product<T: Float + Element>(
    act: &Activation,
    act_tolerance: Tolerance,
    gate: T,
    value: T,
    actual: T,
) -> bool {
    [Denormals::Preserve, Denormals::FlushToZero]
        .into_iter()
        .any(|dn| accepts_product_in(act, act_tolerance, gate, value, actual, dn))
}

fn accepts_product_in<T: Float + Element>(
    act: &Activation,
    act_tolerance: Tolerance,
    gate: T,
    value: T,
    actual: T,
    dn: Denormals,
) -> bool {
    let (x, v) = (widen(gate, dn), widen(value, dn));
    let references: Vec<f32> = act_tolerance
        .input_perturbations()
        .iter()
        .map(|p| narrow::<f32>(forward_scalar(act, x * (1.0 + p), 0, 0.0, dn), dn))
        .collect();
    let exact = narrow::<T>(f64::from(references[0]) * v, dn);
    if exact.is_nan() || actual.is_nan() {
        return exact.is_nan() && actual.is_nan();
    }
    let slack = match act_tolerance {
        Tolerance::Exact => 0,
        Tolerance::Close { ulps, .. } => i64::from(ulps),
    };
    let ordered: Vec<i64> = references.iter().map(|r| r.ordered()).collect();
    let (low, high) = (
        ordered.iter().min().copied().unwrap_or(0) - slack,
        ordered.iter().max().copied().unwrap_or(0) + slack,
    );
    let from_ordered = |o: i64| -> f64 {
        let bits = o.unsigned_abs().min(0x7f80_0000) as u32;
        let magnitude = f64::from(f32::from_bits(bits));
        if o < 0 {
            -magnitude
        } else {
            magnitude
        }
    };
    let ends = [
        narrow::<T>(from_ordered(low) * v, dn).ordered(),
        narrow::<T>(from_ordered(high) * v, dn).ordered(),
    ];
    let extra = i64::from(T::MIN_POSITIVE > 1e-30 && act_tolerance != Tolerance::Exact);
    let (lo, hi) = (ends[0].min(ends[1]) - extra, ends[0].max(ends[1]) + extra);
    let a = actual.ordered();
    a >= lo && a <= hi
}

/// Whether `actual` is accepted as the gate's gradient
/// `act_backward(gate, g * value)`: the kernel rounds `g * value` to f32,
/// and the activation's gradient at it is within the activation's backward
/// tolerance for `T` (`act_tolerance`), as the elementwise ops are held to.
pub fn accepts_gate_gradient<T: Float + Element>(
    act: &Activation,
    act_tolerance: Tolerance,
    gate: T,
    value: T,
    g: T,
    actual: T,
) -> bool {
    let accepted = |dn: Denormals| {
        let (x, v, g) = (widen(gate, dn), widen(value, dn), widen(g, dn));
        let rounded = f64::from((g * v) as f32);
        let references: Vec<T> = act_tolerance
            .input_perturbations()
            .iter()
            .map(|p| narrow::<T>(backward_scalar(act, x * (1.0 + p), rounded, 0, 0.0, dn), dn))
            .collect();
        let zero = |v: T| !v.is_nan() && v.ordered() == 0;
        act_tolerance.accepts(actual, &references) || (zero(references[0]) && zero(actual))
    };
    accepted(Denormals::Preserve) || accepted(Denormals::FlushToZero)
}

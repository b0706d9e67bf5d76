//! CPU twin of `shaders/logistic.wgsl`: sigmoid, logsigmoid, silu, softplus,
//! mish, tanh, softsign. `exp` goes through [`Denormals::exp`], as the shader
//! holds it in f32. Limits at +-inf are written out where the formula gives
//! inf * 0.

use super::Denormals;

/// `v`, or the smallest f64 of sign `sign` where `v` underflowed to 0 at a
/// finite x although the true value is not 0: an infinite gradient times it
/// is then infinite, as it is mathematically (and on the GPU), not NaN.
pub(crate) fn nonzero(v: f64, x: f64, sign: f64) -> f64 {
    if v == 0.0 && x.is_finite() {
        sign * f64::from_bits(1)
    } else {
        v
    }
}

/// `sigmoid(x) = 1 / (1 + exp(-x))`, as `1 / (1 + e)` or `e / (1 + e)` with
/// `e = exp(-|x|)` so that nothing overflows.
pub fn sigmoid(x: f64, dn: Denormals) -> f64 {
    let e = dn.exp(-x.abs());
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// `sigmoid'(x) = sigmoid(x) * sigmoid(-x)` (= s (1 - s) without cancellation).
pub fn sigmoid_derivative(x: f64, dn: Denormals) -> f64 {
    nonzero(sigmoid(x, dn) * sigmoid(-x, dn), x, 1.0)
}

/// `logsigmoid'(x) = sigmoid(-x)`.
pub fn logsigmoid_derivative(x: f64, dn: Denormals) -> f64 {
    nonzero(sigmoid(-x, dn), x, 1.0)
}

/// `logsigmoid(x) = log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|))`.
pub fn logsigmoid(x: f64, dn: Denormals) -> f64 {
    x.min(0.0) - dn.exp(-x.abs()).ln_1p()
}

/// `silu(x) = x * sigmoid(x)`; -0 at -inf (the sign of x sigmoid(x) below 0).
pub fn silu(x: f64, dn: Denormals) -> f64 {
    if x == f64::NEG_INFINITY {
        -0.0
    } else {
        x * sigmoid(x, dn)
    }
}

/// `silu'(x) = s (1 + x (1 - s))`, `s = sigmoid(x)`; 0 at -inf, 1 at inf.
pub fn silu_derivative(x: f64, dn: Denormals) -> f64 {
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { 0.0 };
    }
    let s = sigmoid(x, dn);
    nonzero(s + x * s * sigmoid(-x, dn), x, -1.0)
}

/// Whether softplus is in its linear part: the test `beta * x > threshold` on
/// the f32 product, as PyTorch (and the shader) make it for f32 tensors, so
/// that both sides agree where the product rounds or underflows.
fn softplus_is_linear(x: f64, beta: f64, threshold: f64) -> bool {
    f64::from(beta as f32 * x as f32) > threshold
}

/// `softplus(x) = log(1 + exp(beta x)) / beta`, or `x` where `beta x > threshold`.
pub fn softplus(x: f64, beta: f64, threshold: f64, dn: Denormals) -> f64 {
    let bx = beta * x;
    if softplus_is_linear(x, beta, threshold) {
        x
    } else {
        (bx.max(0.0) + dn.exp(-bx.abs()).ln_1p()) / beta
    }
}

/// `softplus'(x) = sigmoid(beta x)`, or 1 where `beta x > threshold`.
pub fn softplus_derivative(x: f64, beta: f64, threshold: f64, dn: Denormals) -> f64 {
    let bx = beta * x;
    if softplus_is_linear(x, beta, threshold) {
        1.0
    } else {
        nonzero(sigmoid(bx, dn), x, 1.0)
    }
}

/// `tanh(softplus(x))`.
fn tanh_softplus(x: f64, dn: Denormals) -> f64 {
    let softplus = if x > 0.0 {
        x + dn.exp(-x).ln_1p()
    } else {
        dn.exp(x).ln_1p()
    };
    softplus.tanh()
}

/// `mish(x) = x * tanh(softplus(x))`; -0 at -inf (the sign of x tanh(softplus(x)) below 0).
pub fn mish(x: f64, dn: Denormals) -> f64 {
    if x == f64::NEG_INFINITY {
        -0.0
    } else {
        x * tanh_softplus(x, dn)
    }
}

/// `mish'(x) = t + x * sigmoid(x) * (1 - t^2)`, `t = tanh(softplus(x))`;
/// 0 at -inf, 1 at inf.
pub fn mish_derivative(x: f64, dn: Denormals) -> f64 {
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { 0.0 };
    }
    let t = tanh_softplus(x, dn);
    nonzero(t + x * sigmoid(x, dn) * (1.0 - t) * (1.0 + t), x, -1.0)
}

/// `tanh(x)`.
pub fn tanh(x: f64) -> f64 {
    x.tanh()
}

/// `tanh'(x) = 1 - tanh(x)^2 = 4 e / (1 + e)^2`, `e = exp(-2|x|)` (no cancellation).
pub fn tanh_derivative(x: f64, dn: Denormals) -> f64 {
    let e = dn.exp(-2.0 * x.abs());
    nonzero(4.0 * e / ((1.0 + e) * (1.0 + e)), x, 1.0)
}

/// `softsign(x) = x / (1 + |x|)`; +-1 at +-inf.
pub fn softsign(x: f64) -> f64 {
    if x.is_infinite() {
        x.signum()
    } else {
        x / (1.0 + x.abs())
    }
}

/// `softsign'(x) = 1 / (1 + |x|)^2`.
pub fn softsign_derivative(x: f64) -> f64 {
    let r = 1.0 / (1.0 + x.abs());
    r * r
}

//! CPU twin of `shaders/gelu.wgsl`: gelu with the exact normal CDF (erf from
//! the `libm` crate) and its tanh approximation. The CDF, the density and
//! `exp` are f32 intermediates in the shader, flushed as [`Denormals`] says.

use super::Denormals;

const F32_MIN_POSITIVE: f64 = f32::MIN_POSITIVE as f64;
/// sqrt(2 / pi), the tanh form's constant.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The tanh form's cubic coefficient.
const KAPPA: f64 = 0.044715;

/// Phi(x), the standard normal CDF: `erfc(-x / sqrt 2) / 2`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// phi(x), the standard normal density: `exp(-x^2 / 2) / sqrt(2 pi)`.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// `gelu(x) = x * Phi(x)`; -0 where Phi(x) vanishes (the sign of x Phi(x)), at -inf included.
pub fn gelu(x: f64, dn: Denormals) -> f64 {
    let cdf = dn.flush(normal_cdf(x), F32_MIN_POSITIVE);
    if cdf == 0.0 {
        // x * a vanishing positive Phi(x): -0 (x < 0 wherever it vanishes;
        // spelled out for x = -inf).
        -0.0
    } else {
        x * cdf
    }
}

/// `gelu'(x) = Phi(x) + x * phi(x)`; 0 at -inf, 1 at inf.
pub fn gelu_derivative(x: f64, dn: Denormals) -> f64 {
    let cdf = dn.flush(normal_cdf(x), F32_MIN_POSITIVE);
    let pdf = dn.flush(normal_pdf(x), F32_MIN_POSITIVE);
    let derivative = if pdf == 0.0 { cdf } else { cdf + x * pdf };
    super::logistic::nonzero(derivative, x, -1.0)
}

/// The tanh form's `2u = 2 sqrt(2/pi) (x + 0.044715 x^3)`.
fn tanh_inner(x: f64) -> f64 {
    2.0 * SQRT_2_OVER_PI * (x + KAPPA * x * x * x)
}

/// `gelu(x, approximate="tanh") = 0.5 x (1 + tanh(u)) = x * sigmoid(2u)`; -0 at -inf.
pub fn gelu_tanh(x: f64, dn: Denormals) -> f64 {
    let s = super::logistic::sigmoid(tanh_inner(x), dn);
    if s == 0.0 {
        -0.0
    } else {
        x * s
    }
}

/// Its derivative: `s + x * 2 s (1 - s) * sqrt(2/pi) * (1 + 3 * 0.044715 x^2)`,
/// `s = sigmoid(2u)`; 0 at -inf, 1 at inf.
pub fn gelu_tanh_derivative(x: f64, dn: Denormals) -> f64 {
    if x.is_infinite() {
        return if x > 0.0 { 1.0 } else { 0.0 };
    }
    let inner = tanh_inner(x);
    let s = super::logistic::sigmoid(inner, dn);
    let spread = s * super::logistic::sigmoid(-inner, dn);
    let derivative = if spread == 0.0 {
        s
    } else {
        s + x * 2.0 * spread * SQRT_2_OVER_PI * (1.0 + 3.0 * KAPPA * x * x)
    };
    super::logistic::nonzero(derivative, x, -1.0)
}

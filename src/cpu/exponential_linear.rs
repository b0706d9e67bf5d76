//! CPU twin of `shaders/exponential_linear.wgsl`: elu, selu and celu as
//! `(alpha, scale, input_scale)` = `(alpha, 1, 1)`, `(SELU_ALPHA, SELU_SCALE, 1)`,
//! `(alpha, 1, 1 / alpha)`.

use super::keep_nan;

/// `scale * x` for x > 0, `scale * alpha * (exp(input_scale * x) - 1)` for x <= 0.
pub fn exponential_linear(x: f64, alpha: f64, scale: f64, input_scale: f64) -> f64 {
    if x > 0.0 {
        scale * x
    } else {
        scale * alpha * (input_scale * x).exp_m1()
    }
}

/// The derivative from the input, as PyTorch computes it: `scale` for x > 0,
/// `scale * alpha * input_scale * exp(input_scale * x)` for x <= 0. (The
/// shader never holds `exp(x)` alone, so nothing is flushed here.)
pub fn exponential_linear_derivative(x: f64, alpha: f64, scale: f64, input_scale: f64) -> f64 {
    if x > 0.0 {
        scale
    } else {
        scale * alpha * input_scale * (input_scale * x).exp()
    }
}

/// `g * f'(x)`. For every finite x, `exp(input_scale * x)` is a finite
/// positive number even where it leaves f64's range: an infinite `g` gives an
/// infinity and a zero `g` a zero, not NaN.
pub fn exponential_linear_backward(
    x: f64,
    g: f64,
    alpha: f64,
    scale: f64,
    input_scale: f64,
) -> f64 {
    let value = if (g.is_infinite() || g == 0.0) && x.is_finite() && x <= 0.0 {
        g * (scale * alpha * input_scale)
    } else {
        g * exponential_linear_derivative(x, alpha, scale, input_scale)
    };
    keep_nan(x, value)
}

/// `g * elu'(x)` from `y = elu(x)` (alpha >= 0): `g` for y > 0, else
/// `g * (y + alpha)`.
pub fn elu_backward_from_output(y: f64, g: f64, alpha: f64) -> f64 {
    keep_nan(y, if y > 0.0 { g } else { g * (y + alpha) })
}

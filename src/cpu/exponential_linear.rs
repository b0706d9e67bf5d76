//! CPU twin of `shaders/exponential_linear.wgsl`: elu (scale 1) and selu.

use super::Denormals;

/// `scale * x` for x > 0, `scale * alpha * (exp(x) - 1)` for x <= 0; NaN for NaN.
pub fn exponential_linear(x: f64, alpha: f64, scale: f64) -> f64 {
    if x > 0.0 {
        scale * x
    } else {
        scale * alpha * x.exp_m1()
    }
}

/// The gradient from the input, as PyTorch computes it: `g * scale` for
/// x > 0, `g * scale * alpha * exp(x)` for x <= 0 (so f'(0) = alpha * scale);
/// NaN for NaN. `exp(x)` is an intermediate the shader holds in f32, so a
/// flushing GPU turns it to zero where it is subnormal in f32.
pub fn exponential_linear_backward(
    x: f64,
    g: f64,
    alpha: f64,
    scale: f64,
    denormals: Denormals,
) -> f64 {
    if x.is_nan() {
        x
    } else if x > 0.0 {
        g * scale
    } else {
        let exp_x = denormals.apply(x.exp());
        g * (scale * alpha * exp_x)
    }
}

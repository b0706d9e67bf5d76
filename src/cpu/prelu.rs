//! CPU twin of `shaders/prelu.wgsl` and `shaders/prelu_weight_grad.wgsl`.

/// `prelu(x, w) = x < 0 ? w * x : x`, `w` the element's channel weight.
pub fn prelu(x: f64, weight: f64) -> f64 {
    super::rectifier::leaky_relu(x, weight)
}

/// `prelu'(x) * g`: `g` for x > 0, `w * g` for x <= 0 (PyTorch's prelu'(0) = w), NaN for NaN.
pub fn prelu_backward(x: f64, g: f64, weight: f64) -> f64 {
    super::rectifier::leaky_relu_backward(x, g, weight)
}

/// One element's share of its weight's gradient: `x > 0 ? 0 : x * g`.
pub fn prelu_weight_grad_term(x: f64, g: f64) -> f64 {
    if x > 0.0 {
        0.0
    } else {
        x * g
    }
}

//! CPU twin of `shaders/rectifier.wgsl`: identity, relu and leaky_relu.

/// `identity(x) = x`.
pub fn identity(x: f64) -> f64 {
    x
}

/// `relu(x) = x < 0 ? 0 : x` (NaN and -0.0 pass through).
pub fn relu(x: f64) -> f64 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// `relu'(x) * g`: `g` for x > 0, 0 for x <= 0 (PyTorch's relu'(0) = 0), NaN for NaN.
pub fn relu_backward(x: f64, g: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x > 0.0 {
        g
    } else {
        0.0
    }
}

/// `leaky_relu(x) = x < 0 ? negative_slope * x : x`.
pub fn leaky_relu(x: f64, negative_slope: f64) -> f64 {
    if x < 0.0 {
        negative_slope * x
    } else {
        x
    }
}

/// `leaky_relu'(x) * g`: `g` for x > 0, `negative_slope * g` for x <= 0
/// (PyTorch's leaky_relu'(0) = negative_slope), NaN for NaN.
pub fn leaky_relu_backward(x: f64, g: f64, negative_slope: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x > 0.0 {
        g
    } else {
        negative_slope * g
    }
}

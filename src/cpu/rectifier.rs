//! CPU twin of `shaders/rectifier.wgsl`: identity, relu, leaky_relu, prelu,
//! rrelu, relu6 and hardtanh, threshold, hardsigmoid, hardswish, with
//! PyTorch's gradients at the kinks. NaN passes through every forward here
//! and gives NaN in every backward.

use super::keep_nan;

/// `relu(x) = x < 0 ? 0 : x` (NaN and -0.0 pass through).
pub fn relu(x: f64) -> f64 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// `g * relu'(x)`: `g` for x > 0, 0 for x <= 0 (PyTorch's relu'(0) = 0).
pub fn relu_backward(x: f64, g: f64) -> f64 {
    keep_nan(x, if x > 0.0 { g } else { 0.0 })
}

/// `leaky_relu(x) = x < 0 ? negative_slope * x : x`.
pub fn leaky_relu(x: f64, negative_slope: f64) -> f64 {
    if x < 0.0 {
        negative_slope * x
    } else {
        x
    }
}

/// `g * leaky_relu'(x)`: `g` for x > 0, `negative_slope * g` for x <= 0
/// (PyTorch's leaky_relu'(0) = negative_slope). PReLU's too, with the
/// channel's weight as the slope.
pub fn leaky_relu_backward(x: f64, g: f64, negative_slope: f64) -> f64 {
    keep_nan(x, if x > 0.0 { g } else { negative_slope * g })
}

/// RReLU's slope in evaluation mode: `(lower + upper) / 2`, rounded once to
/// f32 (the shader computes `lower / 2 + upper / 2` in f32: the same value).
pub fn rrelu_mean_slope(lower: f32, upper: f32) -> f64 {
    f64::from(((f64::from(lower) + f64::from(upper)) / 2.0) as f32)
}

/// `rrelu` in training mode with this element's `slope`: `x <= 0 ? slope * x : x`.
pub fn rrelu_training(x: f64, slope: f64) -> f64 {
    if x <= 0.0 {
        slope * x
    } else {
        x
    }
}

/// The PCG hash (Jarzynski and Olano, 2020), as `wa_pcg_hash` in the shader.
pub fn pcg_hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// RReLU's training-mode slope of element `index` (its index in the whole
/// tensor, modulo 2^32): `lower + (upper - lower) * u` with `u` the top 24
/// bits of `pcg(index ^ pcg(seed_lo ^ pcg(seed_hi)))` over 2^24, uniform in
/// [0, 1). Exact here; the GPU computes it in f32.
pub fn rrelu_slope(seed: u64, index: u64, lower: f32, upper: f32) -> f64 {
    let key = pcg_hash(seed as u32 ^ pcg_hash((seed >> 32) as u32));
    let bits = pcg_hash(index as u32 ^ key);
    let u = f64::from(bits >> 8) / 16_777_216.0;
    f64::from(lower) + (f64::from(upper) - f64::from(lower)) * u
}

/// `hardtanh(x) = x < min_val ? min_val : x > max_val ? max_val : x` (relu6: 0, 6).
pub fn hardtanh(x: f64, min_val: f64, max_val: f64) -> f64 {
    if x < min_val {
        min_val
    } else if x > max_val {
        max_val
    } else {
        x
    }
}

/// `g * hardtanh'(x)`: `g` strictly inside (min_val, max_val), 0 at and beyond the bounds.
pub fn hardtanh_backward(x: f64, g: f64, min_val: f64, max_val: f64) -> f64 {
    keep_nan(x, if x > min_val && x < max_val { g } else { 0.0 })
}

/// `threshold(x) = x <= threshold ? value : x` (NaN passes through).
pub fn threshold(x: f64, threshold: f64, value: f64) -> f64 {
    if x <= threshold {
        value
    } else {
        x
    }
}

/// `g * threshold'(x)`: `g` for x > threshold, 0 at and below it.
pub fn threshold_backward(x: f64, g: f64, threshold: f64) -> f64 {
    keep_nan(x, if x > threshold { g } else { 0.0 })
}

/// `hardsigmoid(x) = min(max(x + 3, 0), 6) / 6`.
pub fn hardsigmoid(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else {
        (x + 3.0).clamp(0.0, 6.0) / 6.0
    }
}

/// `g * hardsigmoid'(x)`: `g / 6` for -3 < x < 3, else 0 (0 at +-3, as PyTorch).
pub fn hardsigmoid_backward(x: f64, g: f64) -> f64 {
    keep_nan(x, if x > -3.0 && x < 3.0 { g / 6.0 } else { 0.0 })
}

/// `hardswish(x) = x * min(max(x + 3, 0), 6) / 6`.
pub fn hardswish(x: f64) -> f64 {
    if x <= -3.0 {
        0.0
    } else if x >= 3.0 {
        x
    } else {
        x * (x + 3.0) / 6.0
    }
}

/// `g * hardswish'(x)`: 0 for x <= -3, `g * (x / 3 + 1/2)` for -3 < x < 3,
/// `g` for x >= 3.
pub fn hardswish_backward(x: f64, g: f64) -> f64 {
    keep_nan(
        x,
        if x <= -3.0 {
            0.0
        } else if x >= 3.0 {
            g
        } else {
            g * (x / 3.0 + 0.5)
        },
    )
}

//! CPU twin of `shaders/shrink.wgsl`: hardshrink, softshrink, tanhshrink.

use super::keep_nan;

/// `hardshrink(x) = -lambd <= x <= lambd ? 0 : x` (NaN passes through).
pub fn hardshrink(x: f64, lambd: f64) -> f64 {
    if x >= -lambd && x <= lambd {
        0.0
    } else {
        x
    }
}

/// `softshrink(x) = x - lambd` for x > lambd, `x + lambd` for x < -lambd, else 0.
pub fn softshrink(x: f64, lambd: f64) -> f64 {
    if x.is_nan() {
        x
    } else if x > lambd {
        x - lambd
    } else if x < -lambd {
        x + lambd
    } else {
        0.0
    }
}

/// The gradient of both shrinks: `g` for |x| > lambd, 0 at and inside +-lambd.
pub fn shrink_backward(x: f64, g: f64, lambd: f64) -> f64 {
    keep_nan(x, if x >= -lambd && x <= lambd { 0.0 } else { g })
}

/// `tanhshrink(x) = x - tanh(x)`; below |x| = 0.01, where f64 would cancel,
/// its Taylor series x^3/3 - 2x^5/15 + 17x^7/315 (next term below 1e-14 relative).
pub fn tanhshrink(x: f64) -> f64 {
    if x.abs() < 0.01 {
        let z = x * x;
        x * z * (1.0 / 3.0 - z * (2.0 / 15.0 - z * 17.0 / 315.0))
    } else if x.is_infinite() {
        x
    } else {
        x - x.tanh()
    }
}

/// `g * tanhshrink'(x) = g * tanh(x)^2`.
pub fn tanhshrink_backward(x: f64, g: f64) -> f64 {
    keep_nan(x, g * (x.tanh() * x.tanh()))
}

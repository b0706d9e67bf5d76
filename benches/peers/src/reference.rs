//! The f64 reference both libraries are measured against: wgpu-activations'
//! CPU reference, unrounded. Kept behind this one function so that a rename
//! in the library's `cpu` module touches only this file.

use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::Activation;

/// `f(x)` (`g == None`) or `g * f'(x)` (`g == Some`) in f64, before rounding to
/// f32, with PReLU's weight `weight` (ignored by the other ops). `ftz` models a
/// device that flushes subnormal inputs, intermediate `exp` results and
/// outputs to zero (WGSL allows it; lavapipe does it).
pub fn reference(op: &Activation, x: f32, g: Option<f32>, weight: f32, ftz: bool) -> f64 {
    let dn = if ftz {
        Denormals::FlushToZero
    } else {
        Denormals::Preserve
    };
    let x = dn.flush(f64::from(x), f64::from(f32::MIN_POSITIVE));
    let w = f64::from(weight);
    let value = match g {
        None => cpu::forward_scalar(op, x, 0, w, dn),
        Some(g) => cpu::backward_scalar(op, x, f64::from(g), 0, w, dn),
    };
    // An output that is subnormal in f32 is flushed too.
    dn.flush(value, f64::from(f32::MIN_POSITIVE))
}

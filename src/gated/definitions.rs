//! The definition of every gated op, one entry each: the enum, its registry,
//! parsing, `Display`, validation, the kernels' WGSL, the CPU twin, the
//! tolerances, the command line's `list` and the README's table are derived
//! from here. CONTRIBUTING.md says how to add one.
//!
//! An entry is
//!
//! ```text
//! /// Doc of the variant.
//! Variant { /// doc
//!           parameter: type = default, ... } => {   (or no braces)
//!     name: PyTorch's or vLLM's name,
//!     summary: the forward in one line,
//!     gradient: the two halves' gradients in one line,
//!     dim: the dimension split in two (`dim`, or -1),
//!     gate: which half goes through the activation (`Half::First` / `Second`),
//!     activation: the elementwise op applied to the gate (an `Activation`),
//!     accuracy: where the kernels' error comes from (the tolerances' reason),
//! }
//! ```
//!
//! The activation's WGSL functions (`silu`, `silu_backward`, ...) and CPU
//! twins are the elementwise ones; the tolerances follow from the
//! activation's ([`super::gated_tolerance`]).

use super::{gated_activations, Half};
use crate::activation::{Activation, GeluApproximate};

gated_activations! {
    /// `glu(x, dim) = a * sigmoid(b)`, `a, b = x.chunk(2, dim)`: PyTorch's
    /// `F.glu`. Gradients: `g * sigmoid(b)` for `a`, `g * a * sigmoid'(b)`
    /// for `b`.
    Glu {
        /// The dimension split in two halves (default -1; negative counts
        /// from the end); its size must be even.
        dim: i64 = -1,
    } => {
        name: "glu",
        summary: "a * sigmoid(b), a, b = x.chunk(2, dim)",
        gradient: "g * sigmoid(b) for a; sigmoid_backward(b, g * a) for b",
        dim: dim,
        gate: Half::Second,
        activation: Activation::Sigmoid,
        accuracy: "sigmoid (4 ulps, 2 eps) times the first half, rounded once; its gradient (5 ulps) from the rounded product g * a",
    },

    /// `silu_and_mul(x) = silu(x[..., :d]) * x[..., d:]` (SwiGLU, vLLM's
    /// `SiluAndMul`).
    SiluAndMul => {
        name: "silu_and_mul",
        summary: "silu(x[..., :d]) * x[..., d:]",
        gradient: "silu_backward(a, g * b) for a; g * silu(a) for b",
        dim: -1,
        gate: Half::First,
        activation: Activation::Silu,
        accuracy: "silu (5 ulps, 2 eps) times the second half, rounded once; silu's gradient (8 ulps) from the rounded product g * b",
    },

    /// `gelu_and_mul(x) = gelu(x[..., :d]) * x[..., d:]` with the exact
    /// (erf) GELU (GeGLU, vLLM's `GeluAndMul(approximate="none")`).
    GeluAndMul => {
        name: "gelu_and_mul",
        summary: "gelu(x[..., :d]) * x[..., d:] (erf)",
        gradient: "gelu_backward(a, g * b) for a; g * gelu(a) for b",
        dim: -1,
        gate: Half::First,
        activation: Activation::Gelu { approximate: GeluApproximate::None },
        accuracy: "gelu (6 ulps, 4 eps) times the second half, rounded once; gelu's gradient (8 ulps) from the rounded product g * b",
    },

    /// `gelu_tanh_and_mul(x) = gelu(x[..., :d], approximate="tanh") *
    /// x[..., d:]` (vLLM's `GeluAndMul(approximate="tanh")`).
    GeluTanhAndMul => {
        name: "gelu_tanh_and_mul",
        summary: "gelu_tanh(x[..., :d]) * x[..., d:]",
        gradient: "gelu_tanh_backward(a, g * b) for a; g * gelu_tanh(a) for b",
        dim: -1,
        gate: Half::First,
        activation: Activation::Gelu { approximate: GeluApproximate::Tanh },
        accuracy: "as gelu_and_mul, with the tanh form of gelu",
    },

    /// `relu_and_mul(x) = relu(x[..., :d]) * x[..., d:]` (ReGLU); the
    /// gradient of `a` is 0 at `a = 0`, as PyTorch's relu.
    ReluAndMul => {
        name: "relu_and_mul",
        summary: "relu(x[..., :d]) * x[..., d:]",
        gradient: "a > 0 ? g * b : 0 for a; g * relu(a) for b",
        dim: -1,
        gate: Half::First,
        activation: Activation::Relu,
        accuracy: "a selection and one correctly rounded product",
    },

    /// `fatrelu_and_mul(x) = fatrelu(x[..., :d]) * x[..., d:]`,
    /// `fatrelu(a) = a > threshold ? a : 0` (vLLM's `FatreluAndMul`); the
    /// gradient of `a` is 0 at `a = threshold`.
    FatreluAndMul {
        /// Values of the first half at or below it are zeroed (default 0.0).
        threshold: f32 = 0.0,
    } => {
        name: "fatrelu_and_mul",
        summary: "(a > threshold ? a : 0) * b, a = x[..., :d], b = x[..., d:]",
        gradient: "a > threshold ? g * b : 0 for a; g * fatrelu(a) for b",
        dim: -1,
        gate: Half::First,
        activation: Activation::Threshold { threshold, value: 0.0 },
        accuracy: "a selection and one correctly rounded product",
    },
}

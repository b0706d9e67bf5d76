//! The CPU reference: the oracle every GPU kernel is tested against.
//!
//! One file per op family, named as its shader (`shaders/rectifier.wgsl` and
//! `cpu/rectifier.rs`, ...), with functions named as the shader's
//! (`relu`, `relu_backward`, ...). Each op is a plain function of f64
//! scalars that follows the formula in its doc comment; inputs are widened
//! exactly and the result rounded once to the element type. Where the
//! textbook formula would lose accuracy even in f64 (`1 - sigmoid(x)` for
//! large x, `x - tanh(x)` near 0), the obviously equivalent stable form is
//! used instead. Which function computes which op is said once, in the op's
//! definition (`src/activation/definitions.rs`).
//!
//! [`Denormals::FlushToZero`] models a GPU that flushes subnormal values:
//! inputs, the `exp` results a shader holds in f32, and outputs that are
//! subnormal in the element type become zeros of the same sign.

pub mod exponential_linear;
pub mod gated;
pub mod gelu;
pub mod logistic;
pub mod rectifier;
pub mod shrink;
pub mod softmax;

use half::f16;

use crate::activation::{Activation, ElementArgs};
use crate::error::{ActivationError, Result};
use crate::shape::{element_count, prelu_channels};

pub use rectifier::rrelu_slope;

/// How the reference treats subnormal numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denormals {
    /// IEEE 754: subnormals are ordinary values.
    Preserve,
    /// Subnormal inputs, f32 `exp` results and outputs become signed zeros.
    FlushToZero,
}

impl Denormals {
    /// `v`, flushed to a signed zero if this mode flushes and `|v|` is below
    /// `min_positive` (the smallest normal number of the type it stands for).
    pub fn flush(self, v: f64, min_positive: f64) -> f64 {
        if self == Denormals::FlushToZero && v != 0.0 && v.abs() < min_positive {
            0.0_f64.copysign(v)
        } else {
            v
        }
    }

    /// `exp(x)`, flushed if this mode flushes and it is subnormal in f32 (the
    /// shaders hold `exp` results in f32).
    pub fn exp(self, x: f64) -> f64 {
        self.flush(x.exp(), f64::from(f32::MIN_POSITIVE))
    }
}

/// `x` if it is NaN (NaN in gives NaN out), else `value`.
pub fn keep_nan(x: f64, value: f64) -> f64 {
    if x.is_nan() {
        x
    } else {
        value
    }
}

/// `g * derivative`, or NaN for a NaN `x`.
pub fn times(x: f64, g: f64, derivative: f64) -> f64 {
    keep_nan(x, g * derivative)
}

/// An element type the reference reads and writes: f32 or f16.
pub trait Float: Copy {
    /// The smallest positive normal value, widened.
    const MIN_POSITIVE: f64;
    /// Exact widening.
    fn to_f64(self) -> f64;
    /// Rounding to nearest, ties to even.
    fn from_f64(v: f64) -> Self;
}

impl Float for f32 {
    const MIN_POSITIVE: f64 = f32::MIN_POSITIVE as f64;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Float for f16 {
    const MIN_POSITIVE: f64 = 6.103_515_625e-5;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
}

/// `v` widened exactly, flushed as `dn` says.
pub fn widen<T: Float>(v: T, dn: Denormals) -> f64 {
    dn.flush(v.to_f64(), T::MIN_POSITIVE)
}

/// `v` rounded once to `T`, flushed as `dn` says.
pub fn narrow<T: Float>(v: f64, dn: Denormals) -> T {
    // Round first: a value just below MIN_POSITIVE can round up to it.
    let rounded = T::from_f64(v).to_f64();
    T::from_f64(dn.flush(rounded, T::MIN_POSITIVE))
}

/// `f(x)` for one element, unrounded: `index` is its index in the whole
/// tensor and `weight` its PReLU weight (unused by other ops).
pub fn forward_scalar(op: &Activation, x: f64, index: u64, weight: f64, dn: Denormals) -> f64 {
    op.cpu_forward(x, &ElementArgs { index, weight, dn })
}

/// `grad_output * f'(x)` for one element, unrounded, with PyTorch's values
/// at the kinks.
pub fn backward_scalar(
    op: &Activation,
    x: f64,
    g: f64,
    index: u64,
    weight: f64,
    dn: Denormals,
) -> f64 {
    op.cpu_backward(x, g, &ElementArgs { index, weight, dn })
}

/// `grad_output * f'(x)` computed from `y = f(x)` for the ops that allow it
/// ([`Activation::backward_from_output_supported`]).
pub fn backward_from_output_scalar(op: &Activation, y: f64, g: f64) -> Result<f64> {
    op.cpu_backward_from_output(y, g)
        .ok_or(ActivationError::Unsupported {
            op: op.name(),
            what: "its gradient cannot be computed from the output",
        })
}

/// Forward pass of `op` over `x` of the given `shape` (`weight` for PReLU only).
pub fn forward<T: Float>(
    op: &Activation,
    x: &[T],
    shape: &[usize],
    weight: Option<&[T]>,
    denormals: Denormals,
) -> Result<Vec<T>> {
    let weights = check_arguments(op, x.len(), shape, weight)?;
    let dn = denormals;
    Ok(x.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let w = weights.weight_of(i).map_or(0.0, |w| widen(w, dn));
            narrow(forward_scalar(op, widen(xi, dn), i as u64, w, dn), dn)
        })
        .collect())
}

/// Gradient for the input: `grad_output * f'(x)`, with PyTorch's values of
/// f' at the kinks (see [`crate::activation`]).
pub fn backward<T: Float>(
    op: &Activation,
    x: &[T],
    grad_output: &[T],
    shape: &[usize],
    weight: Option<&[T]>,
    denormals: Denormals,
) -> Result<Vec<T>> {
    let weights = check_arguments(op, x.len(), shape, weight)?;
    check_len("grad_output", x.len(), grad_output.len())?;
    let dn = denormals;
    Ok(x.iter()
        .zip(grad_output)
        .enumerate()
        .map(|(i, (&xi, &gi))| {
            let w = weights.weight_of(i).map_or(0.0, |w| widen(w, dn));
            let dx = backward_scalar(op, widen(xi, dn), widen(gi, dn), i as u64, w, dn);
            narrow(dx, dn)
        })
        .collect())
}

/// Gradient for the input from the forward's output `y` (relu, leaky_relu
/// with `negative_slope >= 0`, elu with `alpha >= 0`, sigmoid, tanh).
pub fn backward_from_output<T: Float>(
    op: &Activation,
    y: &[T],
    grad_output: &[T],
    denormals: Denormals,
) -> Result<Vec<T>> {
    op.validate()?;
    check_len("grad_output", y.len(), grad_output.len())?;
    y.iter()
        .zip(grad_output)
        .map(|(&yi, &gi)| {
            let dx = backward_from_output_scalar(op, widen(yi, denormals), widen(gi, denormals))?;
            Ok(narrow(dx, denormals))
        })
        .collect()
}

/// One element's share of PReLU's weight gradient: `x > 0 ? 0 : x * g`.
pub fn prelu_weight_grad_term(x: f64, g: f64) -> f64 {
    if x > 0.0 {
        0.0
    } else {
        x * g
    }
}

/// Gradient for PReLU's weight: per weight, the sum over its elements of
/// `x > 0 ? 0 : x * grad_output`, accumulated in f64 in index order.
pub fn prelu_weight_grad<T: Float>(
    x: &[T],
    grad_output: &[T],
    shape: &[usize],
    weight: &[T],
    denormals: Denormals,
) -> Result<Vec<T>> {
    let weights = check_arguments(&Activation::Prelu, x.len(), shape, Some(weight))?;
    check_len("grad_output", x.len(), grad_output.len())?;
    let mut sums = vec![0.0_f64; weight.len()];
    for (i, (&xi, &gi)) in x.iter().zip(grad_output).enumerate() {
        let term = prelu_weight_grad_term(widen(xi, denormals), widen(gi, denormals));
        sums[weights.index_of(i)] += term;
    }
    Ok(sums.into_iter().map(|s| narrow(s, denormals)).collect())
}

/// Which weight each element of a PReLU input uses.
struct WeightMap<'a, T> {
    weight: &'a [T],
    channels: usize,
    inner: usize,
}

impl<T: Copy> WeightMap<'_, T> {
    fn index_of(&self, i: usize) -> usize {
        if self.weight.len() == 1 {
            0
        } else {
            (i / self.inner) % self.channels
        }
    }

    fn weight_of(&self, i: usize) -> Option<T> {
        if self.weight.is_empty() {
            None
        } else {
            Some(self.weight[self.index_of(i)])
        }
    }
}

fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(ActivationError::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}

fn check_arguments<'a, T>(
    op: &Activation,
    len: usize,
    shape: &[usize],
    weight: Option<&'a [T]>,
) -> Result<WeightMap<'a, T>> {
    op.validate()?;
    check_len("input", element_count(shape)?, len)?;
    let (channels, inner) = prelu_channels(shape);
    match (op.uses_weight(), weight) {
        (true, None) => Err(ActivationError::WeightArgument {
            op: op.name(),
            problem: "needs a weight",
        }),
        (false, Some(_)) => Err(ActivationError::WeightArgument {
            op: op.name(),
            problem: "takes no weight",
        }),
        (true, Some(w)) if w.len() != 1 && w.len() != channels => {
            Err(ActivationError::PreluWeightCount {
                channels,
                actual: w.len(),
            })
        }
        (_, w) => Ok(WeightMap {
            weight: w.unwrap_or(&[]),
            channels,
            inner,
        }),
    }
}

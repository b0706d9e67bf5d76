//! The CPU reference: the oracle every GPU kernel is tested against.
//!
//! One file per op family, named as its shader (`shaders/rectifier.wgsl` and
//! `cpu/rectifier.rs`, ...). Each op is a plain function of f64 scalars that
//! follows the formula in its doc comment and nothing cleverer; inputs are
//! widened from f32 and the result rounded once to f32.
//!
//! [`Denormals::FlushToZero`] models a GPU that flushes subnormal values:
//! inputs, the f32 intermediates a shader materialises (such as `exp(x)`) and
//! outputs that are subnormal in f32 become zero of the same sign.

pub mod exponential_linear;
pub mod prelu;
pub mod rectifier;

use crate::activation::{Activation, SELU_ALPHA, SELU_SCALE};
use crate::error::{ActivationError, Result};
use crate::shape::{element_count, prelu_channels};

/// How the reference treats f32 subnormal numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denormals {
    /// IEEE 754: subnormals are ordinary values.
    Preserve,
    /// Subnormal inputs, f32 intermediates and outputs become signed zeros.
    FlushToZero,
}

impl Denormals {
    /// `v` (an f32 value held in f64), flushed to a signed zero if this mode
    /// flushes and `v` is subnormal in f32.
    pub fn apply(self, v: f64) -> f64 {
        if self == Denormals::FlushToZero && v != 0.0 && v.abs() < f64::from(f32::MIN_POSITIVE) {
            0.0_f64.copysign(v)
        } else {
            v
        }
    }

    fn widen(self, v: f32) -> f64 {
        self.apply(f64::from(v))
    }

    fn narrow(self, v: f64) -> f32 {
        // Round to f32 first: a value just below MIN_POSITIVE in f64 can round up to it.
        self.apply(f64::from(v as f32)) as f32
    }
}

/// Forward pass of `op` over `x` of the given `shape` (`weight` for PReLU only).
pub fn forward(
    op: &Activation,
    x: &[f32],
    shape: &[usize],
    weight: Option<&[f32]>,
    denormals: Denormals,
) -> Result<Vec<f32>> {
    let weights = check_arguments(op, x.len(), shape, weight)?;
    let dn = denormals;
    Ok(x.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let x = dn.widen(xi);
            let y = match *op {
                Activation::Identity => rectifier::identity(x),
                Activation::Relu => rectifier::relu(x),
                Activation::LeakyRelu { negative_slope } => {
                    rectifier::leaky_relu(x, dn.widen(negative_slope))
                }
                Activation::Prelu => prelu::prelu(x, dn.widen(weights.weight_of(i))),
                Activation::Elu { alpha } => {
                    exponential_linear::exponential_linear(x, f64::from(alpha), 1.0)
                }
                Activation::Selu => {
                    exponential_linear::exponential_linear(x, SELU_ALPHA, SELU_SCALE)
                }
            };
            dn.narrow(y)
        })
        .collect())
}

/// Gradient for the input: `grad_output * f'(x)`, with PyTorch's values of
/// f' at the kinks (see [`crate::activation`]).
pub fn backward(
    op: &Activation,
    x: &[f32],
    grad_output: &[f32],
    shape: &[usize],
    weight: Option<&[f32]>,
    denormals: Denormals,
) -> Result<Vec<f32>> {
    let weights = check_arguments(op, x.len(), shape, weight)?;
    check_len("grad_output", x.len(), grad_output.len())?;
    let dn = denormals;
    Ok(x.iter()
        .zip(grad_output)
        .enumerate()
        .map(|(i, (&xi, &gi))| {
            let (x, g) = (dn.widen(xi), dn.widen(gi));
            let dx = match *op {
                Activation::Identity => g,
                Activation::Relu => rectifier::relu_backward(x, g),
                Activation::LeakyRelu { negative_slope } => {
                    rectifier::leaky_relu_backward(x, g, dn.widen(negative_slope))
                }
                Activation::Prelu => prelu::prelu_backward(x, g, dn.widen(weights.weight_of(i))),
                Activation::Elu { alpha } => {
                    exponential_linear::exponential_linear_backward(x, g, f64::from(alpha), 1.0, dn)
                }
                Activation::Selu => exponential_linear::exponential_linear_backward(
                    x, g, SELU_ALPHA, SELU_SCALE, dn,
                ),
            };
            dn.narrow(dx)
        })
        .collect())
}

/// Gradient for PReLU's weight: per weight, the sum over its elements of
/// `x > 0 ? 0 : x * grad_output`, accumulated in f64 in index order.
pub fn prelu_weight_grad(
    x: &[f32],
    grad_output: &[f32],
    shape: &[usize],
    weight: &[f32],
    denormals: Denormals,
) -> Result<Vec<f32>> {
    let weights = check_arguments(&Activation::Prelu, x.len(), shape, Some(weight))?;
    check_len("grad_output", x.len(), grad_output.len())?;
    let mut sums = vec![0.0_f64; weight.len()];
    for (i, (&xi, &gi)) in x.iter().zip(grad_output).enumerate() {
        let term = prelu::prelu_weight_grad_term(denormals.widen(xi), denormals.widen(gi));
        sums[weights.index_of(i)] += term;
    }
    Ok(sums.into_iter().map(|s| denormals.narrow(s)).collect())
}

/// Which weight each element of a PReLU input uses.
struct WeightMap<'a> {
    weight: &'a [f32],
    channels: usize,
    inner: usize,
}

impl WeightMap<'_> {
    fn index_of(&self, i: usize) -> usize {
        if self.weight.len() == 1 {
            0
        } else {
            (i / self.inner) % self.channels
        }
    }

    fn weight_of(&self, i: usize) -> f32 {
        self.weight[self.index_of(i)]
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

fn check_arguments<'a>(
    op: &Activation,
    len: usize,
    shape: &[usize],
    weight: Option<&'a [f32]>,
) -> Result<WeightMap<'a>> {
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

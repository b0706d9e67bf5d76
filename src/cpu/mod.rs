//! The CPU reference: the oracle every GPU kernel is tested against.
//!
//! One file per op family, named as its shader (`shaders/rectifier.wgsl` and
//! `cpu/rectifier.rs`, ...). Each op is a plain function of f64 scalars that
//! follows the formula in its doc comment; inputs are widened exactly and the
//! result rounded once to the element type. Where the textbook formula would
//! lose accuracy even in f64 (`1 - sigmoid(x)` for large x, `x - tanh(x)`
//! near 0), the obviously equivalent stable form is used instead.
//!
//! [`Denormals::FlushToZero`] models a GPU that flushes subnormal values:
//! inputs, the `exp` results a shader holds in f32, and outputs that are
//! subnormal in the element type become zeros of the same sign.

pub mod exponential_linear;
pub mod gelu;
pub mod logistic;
pub mod prelu;
pub mod rectifier;
pub mod shrink;

use half::f16;

use crate::activation::{Activation, GeluApproximate, SELU_ALPHA, SELU_SCALE};
use crate::error::{ActivationError, Result};
use crate::kernels::rrelu_eval_slope;
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

/// `f(x)` for one element: `index` is its index in the whole tensor and
/// `weight` its PReLU weight (unused by other ops).
pub fn forward_scalar(op: &Activation, x: f64, index: u64, weight: f64, dn: Denormals) -> f64 {
    use Activation as A;
    match *op {
        A::Identity => x,
        A::Relu => rectifier::relu(x),
        A::LeakyRelu { negative_slope } => rectifier::leaky_relu(x, f64::from(negative_slope)),
        A::Rrelu {
            lower,
            upper,
            training,
            seed,
        } => {
            if training {
                rectifier::rrelu_training(x, rrelu_slope(seed, index, lower, upper))
            } else {
                rectifier::leaky_relu(x, f64::from(rrelu_eval_slope(lower, upper)))
            }
        }
        A::Prelu => prelu::prelu(x, weight),
        A::Relu6 => rectifier::hardtanh(x, 0.0, 6.0),
        A::Hardtanh { min_val, max_val } => {
            rectifier::hardtanh(x, f64::from(min_val), f64::from(max_val))
        }
        A::Threshold { threshold, value } => {
            rectifier::threshold(x, f64::from(threshold), f64::from(value))
        }
        A::Hardsigmoid => rectifier::hardsigmoid(x),
        A::Hardswish => rectifier::hardswish(x),
        A::Hardshrink { lambd } => shrink::hardshrink(x, f64::from(lambd)),
        A::Softshrink { lambd } => shrink::softshrink(x, f64::from(lambd)),
        A::Tanhshrink => shrink::tanhshrink(x),
        A::Elu { alpha } => exponential_linear::exponential_linear(x, f64::from(alpha), 1.0, 1.0),
        A::Selu => exponential_linear::exponential_linear(x, SELU_ALPHA, SELU_SCALE, 1.0),
        A::Celu { alpha } => {
            exponential_linear::exponential_linear(x, f64::from(alpha), 1.0, 1.0 / f64::from(alpha))
        }
        A::Sigmoid => logistic::sigmoid(x, dn),
        A::Logsigmoid => logistic::logsigmoid(x, dn),
        A::Silu => logistic::silu(x, dn),
        A::Softplus { beta, threshold } => {
            logistic::softplus(x, f64::from(beta), f64::from(threshold), dn)
        }
        A::Mish => logistic::mish(x, dn),
        A::Tanh => logistic::tanh(x),
        A::Softsign => logistic::softsign(x),
        A::Gelu { approximate } => match approximate {
            GeluApproximate::None => gelu::gelu(x, dn),
            GeluApproximate::Tanh => gelu::gelu_tanh(x, dn),
        },
    }
}

/// `grad_output * f'(x)` for one element, with PyTorch's values at the kinks.
pub fn backward_scalar(
    op: &Activation,
    x: f64,
    g: f64,
    index: u64,
    weight: f64,
    dn: Denormals,
) -> f64 {
    use Activation as A;
    if *op == A::Identity {
        return g;
    }
    if x.is_nan() {
        return x;
    }
    let derivative = match *op {
        A::Identity => return g,
        A::Relu => return rectifier::relu_backward(x, g),
        A::LeakyRelu { negative_slope } => {
            return rectifier::leaky_relu_backward(x, g, f64::from(negative_slope))
        }
        A::Rrelu {
            lower,
            upper,
            training,
            seed,
        } => {
            let slope = if training {
                rrelu_slope(seed, index, lower, upper)
            } else {
                f64::from(rrelu_eval_slope(lower, upper))
            };
            return rectifier::leaky_relu_backward(x, g, slope);
        }
        A::Prelu => return prelu::prelu_backward(x, g, weight),
        A::Relu6 => return rectifier::hardtanh_backward(x, g, 0.0, 6.0),
        A::Hardtanh { min_val, max_val } => {
            return rectifier::hardtanh_backward(x, g, f64::from(min_val), f64::from(max_val))
        }
        A::Threshold { threshold, .. } => {
            return rectifier::threshold_backward(x, g, f64::from(threshold))
        }
        A::Hardsigmoid => return rectifier::hardsigmoid_backward(x, g),
        A::Hardswish => return rectifier::hardswish_backward(x, g),
        A::Hardshrink { lambd } | A::Softshrink { lambd } => {
            return shrink::shrink_backward(x, g, f64::from(lambd))
        }
        A::Tanhshrink => shrink::tanhshrink_derivative(x),
        A::Elu { alpha } => {
            return exponential_linear::exponential_linear_backward(
                x,
                g,
                f64::from(alpha),
                1.0,
                1.0,
            )
        }
        A::Selu => {
            return exponential_linear::exponential_linear_backward(
                x, g, SELU_ALPHA, SELU_SCALE, 1.0,
            )
        }
        A::Celu { alpha } => {
            return exponential_linear::exponential_linear_backward(
                x,
                g,
                f64::from(alpha),
                1.0,
                1.0 / f64::from(alpha),
            )
        }
        A::Sigmoid => logistic::sigmoid_derivative(x, dn),
        A::Logsigmoid => logistic::nonzero(logistic::sigmoid(-x, dn), x, 1.0),
        A::Silu => logistic::silu_derivative(x, dn),
        A::Softplus { beta, threshold } => {
            logistic::softplus_derivative(x, f64::from(beta), f64::from(threshold), dn)
        }
        A::Mish => logistic::mish_derivative(x, dn),
        A::Tanh => logistic::tanh_derivative(x, dn),
        A::Softsign => logistic::softsign_derivative(x),
        A::Gelu { approximate } => match approximate {
            GeluApproximate::None => gelu::gelu_derivative(x, dn),
            GeluApproximate::Tanh => gelu::gelu_tanh_derivative(x, dn),
        },
    };
    g * derivative
}

/// `grad_output * f'(x)` computed from `y = f(x)` for the ops that allow it
/// ([`Activation::backward_from_output_supported`]).
pub fn backward_from_output_scalar(op: &Activation, y: f64, g: f64) -> Result<f64> {
    if *op == Activation::Identity {
        return Ok(g);
    }
    if y.is_nan() {
        return Ok(y);
    }
    Ok(match *op {
        Activation::Identity => g,
        Activation::Relu => rectifier::relu_backward(y, g),
        Activation::LeakyRelu { negative_slope } if negative_slope >= 0.0 => {
            rectifier::leaky_relu_backward(y, g, f64::from(negative_slope))
        }
        Activation::Elu { alpha } if alpha >= 0.0 => {
            if y > 0.0 {
                g
            } else {
                g * (y + f64::from(alpha))
            }
        }
        Activation::Sigmoid => g * y * (1.0 - y),
        Activation::Tanh => g * (1.0 - y) * (1.0 + y),
        _ => {
            return Err(ActivationError::Unsupported {
                op: op.name(),
                what: "its gradient cannot be computed from the output",
            })
        }
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
        let term = prelu::prelu_weight_grad_term(widen(xi, denormals), widen(gi, denormals));
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

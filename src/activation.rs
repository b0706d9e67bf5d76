//! The [`Activation`] enum: every op with PyTorch's name, parameters and
//! defaults, its parameter checks, and the [`Tolerance`] its GPU kernel is held
//! to against the CPU reference.
//!
//! # Gradients at the kinks
//!
//! The tutorials this crate started from write the ReLU derivative as
//! f'(x) = 1 for x >= 0. PyTorch (and so this crate) uses f'(0) = 0: at a kink
//! any value between the one-sided derivatives is a valid subgradient, and
//! users compare results with `torch.nn.functional`, so we take PyTorch's
//! choice everywhere:
//!
//! | op | f'(0) | rule |
//! |---|---|---|
//! | `relu` | 0 | 1 for x > 0, else 0 |
//! | `leaky_relu(negative_slope)` | `negative_slope` | 1 for x > 0, else `negative_slope` |
//! | `prelu(weight)` | `weight[c]` | 1 for x > 0, else `weight[c]` |
//! | `elu(alpha)` | `alpha` | 1 for x > 0, else `alpha * exp(x)` |
//! | `selu` | `alpha * scale` | `scale` for x > 0, else `alpha * scale * exp(x)` |
//!
//! The ELU and SELU gradients are computed from the input, as PyTorch does
//! when it differentiates the op (not from the output).
//!
//! # Special values
//!
//! A NaN input gives NaN, forward and backward (PyTorch returns the incoming
//! gradient for a NaN input in `relu`'s backward; we keep the NaN so that it is
//! seen). Infinities give the mathematical limits: `relu(-inf) = 0`,
//! `elu(-inf) = -alpha`, `selu(-inf) = -alpha * scale`. A negative zero stays a
//! zero (`relu(-0.0)` and `leaky_relu(-0.0)` return `-0.0`).

use crate::error::{ActivationError, Result};

/// PyTorch's default `negative_slope` of `leaky_relu`.
pub const LEAKY_RELU_NEGATIVE_SLOPE: f32 = 0.01;
/// PyTorch's default `alpha` of `elu`.
pub const ELU_ALPHA: f32 = 1.0;
/// The `alpha` of `selu` (PyTorch's constant, to f64 precision).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// The `scale` of `selu` (PyTorch's constant, to f64 precision).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// An activation function, named and parameterised as in `torch.nn.functional`.
///
/// PReLU's weight is a tensor, not a scalar, so it is passed beside the op
/// (see [`crate::GpuContext::forward`]); every other op carries its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// `f(x) = x`. Not a PyTorch functional; the baseline the benchmarks
    /// compare every kernel against (its gradient passes `grad_output` through).
    Identity,
    /// `relu(x) = x > 0 ? x : 0`; gradient 1 for x > 0, else 0.
    Relu,
    /// `leaky_relu(x) = x >= 0 ? x : negative_slope * x`; gradient 1 for x > 0,
    /// else `negative_slope`.
    LeakyRelu {
        /// Slope for negative inputs (PyTorch default 0.01, [`LEAKY_RELU_NEGATIVE_SLOPE`]).
        negative_slope: f32,
    },
    /// `prelu(x, weight) = x >= 0 ? x : weight[c] * x`, `c` the channel
    /// (dimension 1) of the element; a single weight is shared by all channels.
    /// Gradient 1 for x > 0, else `weight[c]`; the weight's own gradient is
    /// `sum over channel c of (x > 0 ? 0 : x * grad_output)`.
    Prelu,
    /// `elu(x) = x > 0 ? x : alpha * (exp(x) - 1)`; gradient 1 for x > 0, else
    /// `alpha * exp(x)`.
    Elu {
        /// Scale of the negative part (PyTorch default 1.0, [`ELU_ALPHA`]).
        alpha: f32,
    },
    /// `selu(x) = scale * elu(x, alpha)` with PyTorch's fixed
    /// [`SELU_ALPHA`] and [`SELU_SCALE`].
    Selu,
}

impl Activation {
    /// `leaky_relu` with PyTorch's default `negative_slope = 0.01`.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu {
        negative_slope: LEAKY_RELU_NEGATIVE_SLOPE,
    };
    /// `elu` with PyTorch's default `alpha = 1.0`.
    pub const ELU: Activation = Activation::Elu { alpha: ELU_ALPHA };

    /// Every op with its default parameters, in documentation order.
    pub const ALL_DEFAULTS: [Activation; 6] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LEAKY_RELU,
        Activation::Prelu,
        Activation::ELU,
        Activation::Selu,
    ];

    /// The `torch.nn.functional` name of the op (`"identity"` for [`Activation::Identity`]).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Prelu => "prelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
        }
    }

    /// Whether the op takes a weight tensor (PReLU only).
    pub fn uses_weight(&self) -> bool {
        matches!(self, Activation::Prelu)
    }

    /// Checks the op's parameters: every scalar parameter must be finite.
    pub fn validate(&self) -> Result<()> {
        let finite = |name: &'static str, value: f32| {
            if value.is_finite() {
                Ok(())
            } else {
                Err(ActivationError::InvalidParameter {
                    op: self.name(),
                    name,
                    value,
                    reason: "must be a finite number",
                })
            }
        };
        match *self {
            Activation::LeakyRelu { negative_slope } => finite("negative_slope", negative_slope),
            Activation::Elu { alpha } => finite("alpha", alpha),
            Activation::Identity | Activation::Relu | Activation::Prelu | Activation::Selu => {
                Ok(())
            }
        }
    }

    /// The tolerance of the forward kernel against [`crate::cpu::forward`].
    ///
    /// - identity, relu, leaky_relu, prelu: [`Tolerance::Exact`]. They are a
    ///   select and at most one f32 multiplication, which IEEE 754 (and WGSL)
    ///   rounds correctly, exactly as the reference's rounding of the exact
    ///   f64 product does.
    /// - elu, selu: 6 ulps. The negative branch is a degree-11 polynomial for
    ///   x in [-1, 0] (truncation < 1e-8, about 3 ulps of rounding in Horner's
    ///   scheme) and `exp(x) - 1` below, where WGSL bounds `exp` by
    ///   3 + 2|x| ulps of exp(x), at most 2.5 ulps of the result since
    ///   |exp(x) - 1| >= 0.63 there; one more rounding each for the scale and
    ///   the f32 constants of selu.
    pub fn forward_tolerance(&self) -> Tolerance {
        match self {
            Activation::Identity
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Prelu => Tolerance::Exact,
            Activation::Elu { .. } | Activation::Selu => Tolerance::Ulps(6),
        }
    }

    /// The tolerance of the backward kernel (gradient for the input) against
    /// [`crate::cpu::backward`].
    ///
    /// - identity, relu, leaky_relu, prelu: [`Tolerance::Exact`] (a select and
    ///   at most one multiplication, as forward).
    /// - elu, selu: `4 + 2|x|` ulps ([`Tolerance::ExpUlps`]): the gradient is
    ///   `grad * alpha * scale * exp(x)`, and WGSL only promises `exp(x)` to
    ///   3 + 2|x| ulps (the |x| term is the rounding of x * log2(e) before an
    ///   exp2); one more ulp covers the products.
    pub fn backward_tolerance(&self) -> Tolerance {
        match self {
            Activation::Identity
            | Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Prelu => Tolerance::Exact,
            Activation::Elu { .. } | Activation::Selu => Tolerance::ExpUlps {
                base: 4,
                per_unit_input: 2,
            },
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::LeakyRelu { negative_slope } => {
                write!(f, "leaky_relu(negative_slope={negative_slope})")
            }
            Activation::Elu { alpha } => write!(f, "elu(alpha={alpha})"),
            other => f.write_str(other.name()),
        }
    }
}

/// How close a GPU result must be to the CPU reference.
///
/// Every variant requires NaN where the reference is NaN (any NaN), the same
/// infinity where it is infinite, and a finite value where it is finite. A
/// value is also accepted when it equals the reference computed with
/// flush-to-zero ([`crate::cpu::Denormals::FlushToZero`]): GPUs may flush
/// subnormal inputs, intermediates and outputs, and that alone is forgiven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// Bit for bit (zeros of either sign are told apart).
    Exact,
    /// Within this many units in the last place of the f32 reference.
    Ulps(u32),
    /// Within `base + per_unit_input * |x|` ulps, `x` the input: the shape of
    /// WGSL's accuracy bound for `exp` (3 + 2|x| ulps).
    ExpUlps {
        /// Ulps allowed at x = 0.
        base: u32,
        /// Extra ulps per unit of |x|.
        per_unit_input: u32,
    },
}

impl Tolerance {
    /// Whether `actual` is close enough to `expected`, for input `x`.
    pub fn accepts(&self, x: f32, actual: f32, expected: f32) -> bool {
        if expected.is_nan() || actual.is_nan() {
            return expected.is_nan() && actual.is_nan();
        }
        if expected.is_infinite() || actual.is_infinite() {
            return expected == actual;
        }
        let allowed = match *self {
            Tolerance::Exact => return actual.to_bits() == expected.to_bits(),
            Tolerance::Ulps(ulps) => f64::from(ulps),
            Tolerance::ExpUlps {
                base,
                per_unit_input,
            } => f64::from(base) + f64::from(per_unit_input) * f64::from(x.abs()),
        };
        (ulp_distance(actual, expected) as f64) <= allowed
    }
}

/// Number of representable f32 values between `a` and `b` (0 for +0 and -0).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    fn ordered(v: f32) -> i64 {
        let bits = v.to_bits();
        let magnitude = i64::from(bits & 0x7fff_ffff);
        if bits >> 31 == 1 {
            -magnitude
        } else {
            magnitude
        }
    }
    ordered(a).abs_diff(ordered(b))
}

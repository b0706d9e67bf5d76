//! The [`Activation`] enum: every elementwise activation of
//! `torch.nn.functional` with PyTorch's name, parameters and defaults; the
//! registry [`Activation::OPS`] that names them for the command line; their
//! parameter checks; and the [`Tolerance`] each GPU kernel is held to against
//! the CPU reference.
//!
//! # Gradients at the kinks
//!
//! Tutorials often write the ReLU derivative as f'(x) = 1 for x >= 0. PyTorch
//! (and so this crate) uses f'(0) = 0: at a kink any value between the
//! one-sided derivatives is a valid subgradient, and users compare results
//! with `torch.nn.functional`, so PyTorch's choice is taken everywhere:
//!
//! | op | gradient at the kinks |
//! |---|---|
//! | `relu` | 0 at 0 |
//! | `leaky_relu`, `rrelu` (eval) | `negative_slope` at 0 |
//! | `rrelu` (training) | the element's random slope at 0 |
//! | `prelu` | `weight[c]` at 0 |
//! | `elu` | `alpha` at 0 |
//! | `celu` | 1 at 0 |
//! | `selu` | `alpha * scale` at 0 |
//! | `relu6`, `hardtanh` | 0 at both bounds |
//! | `hardsigmoid` | 0 at -3 and 3 |
//! | `hardswish` | 0 at -3, 1 at 3 |
//! | `threshold` | 0 at x == threshold |
//! | `hardshrink`, `softshrink` | 0 at -lambd and lambd |
//!
//! ELU-type gradients are computed from the input, as PyTorch does when it
//! differentiates the op.
//!
//! # Special values
//!
//! A NaN input gives NaN, forward and backward, for every op (PyTorch returns
//! the incoming gradient for a NaN input in `relu`'s backward; we keep the NaN
//! so that it is seen). Infinities give the mathematical limits, even where
//! PyTorch returns NaN: `gelu(-inf) = 0`, `silu(-inf) = 0`, `mish(-inf) = 0`,
//! `softsign(+-inf) = +-1`, `elu(-inf) = -alpha`. A negative zero stays a zero.
//!
//! # Accuracy
//!
//! Each op's kernel is held to a [`Tolerance`] against the f64 CPU reference
//! ([`Activation::forward_tolerance`], [`Activation::backward_tolerance`]).
//! "k eps" means the reference may be evaluated at an input within k f32
//! epsilons (relative) of the true one: it covers arguments the shader has
//! to round in f32 before an `exp` (`beta * x`, `x / alpha`, `x^3`), which
//! matters only where the op is ill-conditioned.
//!
//! | op | forward | backward | where the error comes from |
//! |---|---|---|---|
//! | identity, relu, leaky_relu, prelu, rrelu (eval), relu6, hardtanh, threshold, hardshrink, softshrink | exact | exact | selections and at most one correctly rounded multiply or subtract |
//! | rrelu (training) | 3 ulps | 3 ulps | the slope `lower + (upper - lower) u` is rounded twice in f32 |
//! | hardsigmoid | 2 ulps | 2 ulps | `(x + 3) * (1/6)` with 1/6 rounded, against PyTorch's division |
//! | hardswish | 3 ulps | 3 ulps, 2 eps | `x (x + 3) / 6`; the gradient `x/3 + 1/2` cancels near x = -1.5 |
//! | elu, selu, celu | 4 ulps, 2 eps | 4 ulps, 2 eps | expm1 polynomial, range-reduced exp |
//! | sigmoid, logsigmoid, softsign | 4 ulps, 2 eps | 5 ulps, 2 eps | exp, log1p series, one division |
//! | softplus | 6 ulps, 2 eps | 5 ulps, 2 eps | as logsigmoid, then a product with 1/beta rounded to f32 |
//! | silu, tanh | 5 ulps, 2 eps | 8 / 5 ulps, 2 eps | as above, one more product; silu's gradient `s (1 + x (1 - s))` cancels for x < -1 |
//! | mish | 6 ulps, 2 eps | 8 ulps, 2 eps | tanh of softplus in closed form, cancellation as silu's |
//! | gelu | 6 ulps, 4 eps | 8 ulps, 4 eps | erfc approximation (1.2e-7 relative), x^3 in the tanh form |
//! | tanhshrink | 12 ulps, 2 eps | 6 ulps, 2 eps | x - tanh(x) loses up to 2.6 bits just past its series (abs(x) = 0.8) |
//!
//! In f16 (f32 arithmetic, one rounding to f16) pure selections stay exact
//! and every other op is within 1 f16 ulp ([`Activation::forward_tolerance_for`]).
//! GPUs may flush subnormal numbers to zero: a result is also accepted when it
//! matches the reference computed with flush-to-zero, and only then.
//!
//! # Gradient from the output
//!
//! [`Activation::backward_from_output_supported`] says for which ops the
//! gradient can be computed from the forward's output instead of its input
//! (so that an in-place forward can still be differentiated): relu,
//! leaky_relu with `negative_slope >= 0`, elu with `alpha >= 0`, sigmoid and
//! tanh. For the others the output does not determine the gradient.

use crate::error::{ActivationError, Result};

/// PyTorch's default `negative_slope` of `leaky_relu`.
pub const LEAKY_RELU_NEGATIVE_SLOPE: f32 = 0.01;
/// PyTorch's default `alpha` of `elu` and `celu`.
pub const ELU_ALPHA: f32 = 1.0;
/// The `alpha` of `selu` (PyTorch's constant, to f64 precision).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// The `scale` of `selu` (PyTorch's constant, to f64 precision).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;
/// PyTorch's default `lower` of `rrelu` (1/8).
pub const RRELU_LOWER: f32 = 1.0 / 8.0;
/// PyTorch's default `upper` of `rrelu` (1/3).
pub const RRELU_UPPER: f32 = 1.0 / 3.0;
/// PyTorch's default `beta` of `softplus`.
pub const SOFTPLUS_BETA: f32 = 1.0;
/// PyTorch's default `threshold` of `softplus`.
pub const SOFTPLUS_THRESHOLD: f32 = 20.0;
/// PyTorch's default `lambd` of `hardshrink` and `softshrink`.
pub const SHRINK_LAMBD: f32 = 0.5;

/// The `approximate` argument of `gelu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeluApproximate {
    /// `"none"`: `x * Phi(x)` with the exact normal CDF (through erf).
    None,
    /// `"tanh"`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    Tanh,
}

/// An activation function, named and parameterised as in `torch.nn.functional`.
///
/// PReLU's weight is a tensor, not a scalar, so it is passed beside the op
/// (see [`crate::GpuContext::forward`]); every other op carries its parameters.
/// Each variant's doc gives the formula and the gradient; the module docs give
/// the gradients at the kinks and the special values.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Activation {
    /// `f(x) = x`. Not a PyTorch functional: the baseline the benchmarks
    /// compare every kernel against. Its gradient passes `grad_output` through.
    Identity,
    /// `relu(x) = max(0, x)`; gradient 1 for x > 0, else 0.
    Relu,
    /// `leaky_relu(x) = x >= 0 ? x : negative_slope * x`; gradient 1 for
    /// x > 0, else `negative_slope`.
    LeakyRelu {
        /// Slope for negative inputs (default 0.01).
        negative_slope: f32,
    },
    /// `prelu(x, weight) = x >= 0 ? x : weight[c] * x`, `c` the channel
    /// (dimension 1) of the element; a single weight is shared by all
    /// channels. Gradient 1 for x > 0, else `weight[c]`; the weight's own
    /// gradient is `sum over channel c of (x > 0 ? 0 : x * grad_output)`.
    Prelu,
    /// `rrelu(x) = x >= 0 ? x : a * x`. In evaluation mode `a = (lower +
    /// upper) / 2`; in training mode each element with x <= 0 gets its own `a`
    /// drawn uniformly from `[lower, upper]` by a counter-based generator keyed
    /// by `seed` and the element's index (see [`crate::cpu::rrelu_slope`]), so
    /// the same seed gives the same slopes on the GPU and the CPU, forward and
    /// backward. Gradient 1 for x > 0, else `a`.
    Rrelu {
        /// Lower bound of the slope (default 1/8).
        lower: f32,
        /// Upper bound of the slope (default 1/3); `0 <= lower <= upper`.
        upper: f32,
        /// Draw a slope per element (`true`) or use the mean (default `false`).
        training: bool,
        /// Seed of the slopes in training mode (default 0).
        seed: u64,
    },
    /// `elu(x) = x > 0 ? x : alpha * (exp(x) - 1)`; gradient 1 for x > 0, else
    /// `alpha * exp(x)`.
    Elu {
        /// Scale of the negative part (default 1.0).
        alpha: f32,
    },
    /// `selu(x) = scale * elu(x, alpha)` with PyTorch's fixed [`SELU_ALPHA`]
    /// and [`SELU_SCALE`]; gradient `scale` for x > 0, else `scale * alpha * exp(x)`.
    Selu,
    /// `celu(x) = x > 0 ? x : alpha * (exp(x / alpha) - 1)`; gradient 1 for
    /// x > 0, else `exp(x / alpha)`. `alpha` must not be 0.
    Celu {
        /// Scale of the negative part (default 1.0; not 0).
        alpha: f32,
    },
    /// `gelu(x) = x * Phi(x)`, Phi the standard normal CDF, or its tanh
    /// approximation; gradient `Phi(x) + x * phi(x)` (or the derivative of
    /// the approximation).
    Gelu {
        /// `"none"` (default) or `"tanh"`.
        approximate: GeluApproximate,
    },
    /// `silu(x) = x * sigmoid(x)`; gradient `s * (1 + x * (1 - s))`.
    Silu,
    /// `mish(x) = x * tanh(softplus(x))`; gradient `t + x * sigmoid(x) * (1 - t^2)`.
    Mish,
    /// `sigmoid(x) = 1 / (1 + exp(-x))`; gradient `s * (1 - s)`.
    Sigmoid,
    /// `tanh(x)`; gradient `1 - tanh(x)^2`.
    Tanh,
    /// `softsign(x) = x / (1 + |x|)`; gradient `1 / (1 + |x|)^2`.
    Softsign,
    /// `logsigmoid(x) = log(sigmoid(x)) = -softplus(-x)`; gradient `sigmoid(-x)`.
    Logsigmoid,
    /// `tanhshrink(x) = x - tanh(x)`; gradient `tanh(x)^2`.
    Tanhshrink,
    /// `softplus(x) = log(1 + exp(beta * x)) / beta`, and `x` where
    /// `beta * x > threshold`; gradient `sigmoid(beta * x)`, 1 past the threshold.
    Softplus {
        /// Sharpness (default 1.0; not 0).
        beta: f32,
        /// Above `beta * x > threshold` the op is linear (default 20.0).
        threshold: f32,
    },
    /// `relu6(x) = min(max(0, x), 6)`; gradient 1 for 0 < x < 6, else 0.
    Relu6,
    /// `hardtanh(x) = min(max(min_val, x), max_val)`; gradient 1 for
    /// `min_val < x < max_val`, else 0.
    Hardtanh {
        /// Lower bound (default -1.0).
        min_val: f32,
        /// Upper bound (default 1.0); greater than `min_val`.
        max_val: f32,
    },
    /// `hardsigmoid(x) = min(max(x + 3, 0), 6) / 6`; gradient 1/6 for
    /// -3 < x < 3, else 0.
    Hardsigmoid,
    /// `hardswish(x) = x * min(max(x + 3, 0), 6) / 6`; gradient 0 for x <= -3,
    /// `x / 3 + 1/2` for -3 < x < 3, 1 for x >= 3.
    Hardswish,
    /// `threshold(x) = x > threshold ? x : value`; gradient 1 for
    /// x > threshold, else 0.
    Threshold {
        /// The threshold (no default in PyTorch; 0.0 here).
        threshold: f32,
        /// The replacement (no default in PyTorch; 0.0 here).
        value: f32,
    },
    /// `hardshrink(x) = |x| > lambd ? x : 0`; gradient 1 for |x| > lambd, else 0.
    Hardshrink {
        /// Half-width of the zeroed band (default 0.5).
        lambd: f32,
    },
    /// `softshrink(x) = x - lambd` for x > lambd, `x + lambd` for x < -lambd,
    /// else 0; gradient 1 for |x| > lambd, else 0.
    Softshrink {
        /// Half-width of the zeroed band (default 0.5; at least 0).
        lambd: f32,
    },
}

/// One parameter of an op, for listings and parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// PyTorch's argument name (`negative_slope`).
    pub name: &'static str,
    /// The default, as text.
    pub default: &'static str,
    /// What it is.
    pub description: &'static str,
}

/// One op of the registry [`Activation::OPS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpInfo {
    /// The `torch.nn.functional` name.
    pub name: &'static str,
    /// The op with its default parameters.
    pub default: Activation,
    /// Its scalar parameters (PReLU's weight tensor is not one of them).
    pub parameters: &'static [Parameter],
    /// The formula in one line.
    pub summary: &'static str,
}

const fn parameter(
    name: &'static str,
    default: &'static str,
    description: &'static str,
) -> Parameter {
    Parameter {
        name,
        default,
        description,
    }
}

const NO_PARAMETERS: &[Parameter] = &[];
const ALPHA: &[Parameter] = &[parameter("alpha", "1.0", "scale of the negative part")];
const LAMBD: &[Parameter] = &[parameter("lambd", "0.5", "half-width of the zeroed band")];

impl Activation {
    /// `leaky_relu` with PyTorch's default `negative_slope = 0.01`.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu {
        negative_slope: LEAKY_RELU_NEGATIVE_SLOPE,
    };
    /// `elu` with PyTorch's default `alpha = 1.0`.
    pub const ELU: Activation = Activation::Elu { alpha: ELU_ALPHA };
    /// `rrelu` with PyTorch's defaults (evaluation mode).
    pub const RRELU: Activation = Activation::Rrelu {
        lower: RRELU_LOWER,
        upper: RRELU_UPPER,
        training: false,
        seed: 0,
    };
    /// `softplus` with PyTorch's defaults.
    pub const SOFTPLUS: Activation = Activation::Softplus {
        beta: SOFTPLUS_BETA,
        threshold: SOFTPLUS_THRESHOLD,
    };
    /// `hardtanh` with PyTorch's defaults.
    pub const HARDTANH: Activation = Activation::Hardtanh {
        min_val: -1.0,
        max_val: 1.0,
    };

    /// Every op, with its default parameters and its parameters' names.
    pub const OPS: &'static [OpInfo] = &[
        OpInfo {
            name: "relu",
            default: Activation::Relu,
            parameters: NO_PARAMETERS,
            summary: "max(0, x)",
        },
        OpInfo {
            name: "leaky_relu",
            default: Activation::LEAKY_RELU,
            parameters: &[parameter("negative_slope", "0.01", "slope for x < 0")],
            summary: "x >= 0 ? x : negative_slope * x",
        },
        OpInfo {
            name: "prelu",
            default: Activation::Prelu,
            parameters: NO_PARAMETERS,
            summary: "x >= 0 ? x : weight[c] * x (weight: 1 value or one per channel, dimension 1)",
        },
        OpInfo {
            name: "rrelu",
            default: Activation::RRELU,
            parameters: &[
                parameter("lower", "0.125", "lower bound of the random slope"),
                parameter("upper", "0.3333333", "upper bound of the random slope"),
                parameter(
                    "training",
                    "false",
                    "draw a slope per element (else their mean)",
                ),
                parameter("seed", "0", "seed of the slopes in training mode"),
            ],
            summary: "x >= 0 ? x : a * x, a ~ U[lower, upper] (training) or (lower + upper) / 2",
        },
        OpInfo {
            name: "elu",
            default: Activation::ELU,
            parameters: ALPHA,
            summary: "x > 0 ? x : alpha * (exp(x) - 1)",
        },
        OpInfo {
            name: "selu",
            default: Activation::Selu,
            parameters: NO_PARAMETERS,
            summary: "scale * elu(x, alpha), alpha = 1.6732632, scale = 1.0507010",
        },
        OpInfo {
            name: "celu",
            default: Activation::Celu { alpha: ELU_ALPHA },
            parameters: ALPHA,
            summary: "x > 0 ? x : alpha * (exp(x / alpha) - 1)",
        },
        OpInfo {
            name: "gelu",
            default: Activation::Gelu {
                approximate: GeluApproximate::None,
            },
            parameters: &[parameter("approximate", "none", "'none' (erf) or 'tanh'")],
            summary: "x * Phi(x)",
        },
        OpInfo {
            name: "silu",
            default: Activation::Silu,
            parameters: NO_PARAMETERS,
            summary: "x * sigmoid(x)",
        },
        OpInfo {
            name: "mish",
            default: Activation::Mish,
            parameters: NO_PARAMETERS,
            summary: "x * tanh(softplus(x))",
        },
        OpInfo {
            name: "sigmoid",
            default: Activation::Sigmoid,
            parameters: NO_PARAMETERS,
            summary: "1 / (1 + exp(-x))",
        },
        OpInfo {
            name: "tanh",
            default: Activation::Tanh,
            parameters: NO_PARAMETERS,
            summary: "tanh(x)",
        },
        OpInfo {
            name: "softsign",
            default: Activation::Softsign,
            parameters: NO_PARAMETERS,
            summary: "x / (1 + |x|)",
        },
        OpInfo {
            name: "logsigmoid",
            default: Activation::Logsigmoid,
            parameters: NO_PARAMETERS,
            summary: "log(sigmoid(x))",
        },
        OpInfo {
            name: "tanhshrink",
            default: Activation::Tanhshrink,
            parameters: NO_PARAMETERS,
            summary: "x - tanh(x)",
        },
        OpInfo {
            name: "softplus",
            default: Activation::SOFTPLUS,
            parameters: &[
                parameter("beta", "1.0", "sharpness"),
                parameter("threshold", "20.0", "linear where beta * x > threshold"),
            ],
            summary: "log(1 + exp(beta * x)) / beta",
        },
        OpInfo {
            name: "relu6",
            default: Activation::Relu6,
            parameters: NO_PARAMETERS,
            summary: "min(max(0, x), 6)",
        },
        OpInfo {
            name: "hardtanh",
            default: Activation::HARDTANH,
            parameters: &[
                parameter("min_val", "-1.0", "lower bound"),
                parameter("max_val", "1.0", "upper bound (> min_val)"),
            ],
            summary: "min(max(min_val, x), max_val)",
        },
        OpInfo {
            name: "hardsigmoid",
            default: Activation::Hardsigmoid,
            parameters: NO_PARAMETERS,
            summary: "min(max(x + 3, 0), 6) / 6",
        },
        OpInfo {
            name: "hardswish",
            default: Activation::Hardswish,
            parameters: NO_PARAMETERS,
            summary: "x * min(max(x + 3, 0), 6) / 6",
        },
        OpInfo {
            name: "threshold",
            default: Activation::Threshold {
                threshold: 0.0,
                value: 0.0,
            },
            parameters: &[
                parameter("threshold", "0.0", "values at or below it are replaced"),
                parameter("value", "0.0", "the replacement"),
            ],
            summary: "x > threshold ? x : value",
        },
        OpInfo {
            name: "hardshrink",
            default: Activation::Hardshrink {
                lambd: SHRINK_LAMBD,
            },
            parameters: LAMBD,
            summary: "|x| > lambd ? x : 0",
        },
        OpInfo {
            name: "softshrink",
            default: Activation::Softshrink {
                lambd: SHRINK_LAMBD,
            },
            parameters: LAMBD,
            summary: "x - lambd * sign(x) where |x| > lambd, else 0",
        },
    ];

    /// Every op of [`Activation::OPS`] with its default parameters, plus
    /// [`Activation::Identity`] first.
    pub fn all_defaults() -> Vec<Activation> {
        std::iter::once(Activation::Identity)
            .chain(Activation::OPS.iter().map(|op| op.default))
            .collect()
    }

    /// The op named `name` (a `torch.nn.functional` name, or `identity`)
    /// with its default parameters.
    pub fn from_name(name: &str) -> Result<Activation> {
        if name == "identity" {
            return Ok(Activation::Identity);
        }
        Activation::OPS
            .iter()
            .find(|op| op.name == name)
            .map(|op| op.default)
            .ok_or_else(|| ActivationError::UnknownOp(name.to_string()))
    }

    /// The op named `name` with the given parameters (PyTorch argument names,
    /// or the same in kebab case; values as text) over the defaults, checked.
    ///
    /// ```
    /// use wgpu_activations::Activation;
    /// let op = Activation::parse("leaky_relu", &[("negative-slope", "0.2")])?;
    /// assert_eq!(op, Activation::LeakyRelu { negative_slope: 0.2 });
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn parse(name: &str, parameters: &[(&str, &str)]) -> Result<Activation> {
        let mut op = Activation::from_name(name)?;
        for (parameter, value) in parameters {
            op = op.with_parameter(parameter, value)?;
        }
        op.validate()?;
        Ok(op)
    }

    /// This op's registry entry (`None` for [`Activation::Identity`]).
    pub fn info(&self) -> Option<&'static OpInfo> {
        Activation::OPS.iter().find(|op| op.name == self.name())
    }

    /// This op with parameter `name` (snake or kebab case) set from `value`.
    /// Not checked: see [`Activation::validate`].
    pub fn with_parameter(self, name: &str, value: &str) -> Result<Activation> {
        let key = name.replace('-', "_");
        let op = self.name();
        let unknown = || ActivationError::UnknownParameter {
            op,
            name: name.to_string(),
            known: self
                .info()
                .map(|info| {
                    let names: Vec<_> = info.parameters.iter().map(|p| p.name).collect();
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                })
                .unwrap_or_else(|| "none".into()),
        };
        let number = |parameter: &'static str| {
            value
                .trim()
                .parse::<f32>()
                .map_err(|_| ActivationError::BadParameterValue {
                    op,
                    name: parameter,
                    value: value.to_string(),
                    expected: "a number",
                })
        };
        use Activation as A;
        Ok(match (self, key.as_str()) {
            (A::LeakyRelu { .. }, "negative_slope") => A::LeakyRelu {
                negative_slope: number("negative_slope")?,
            },
            (A::Elu { .. }, "alpha") => A::Elu {
                alpha: number("alpha")?,
            },
            (A::Celu { .. }, "alpha") => A::Celu {
                alpha: number("alpha")?,
            },
            (
                A::Rrelu {
                    lower,
                    upper,
                    training,
                    seed,
                },
                _,
            ) => match key.as_str() {
                "lower" => A::Rrelu {
                    lower: number("lower")?,
                    upper,
                    training,
                    seed,
                },
                "upper" => A::Rrelu {
                    lower,
                    upper: number("upper")?,
                    training,
                    seed,
                },
                "training" => A::Rrelu {
                    lower,
                    upper,
                    training: match value.trim() {
                        "true" | "True" | "1" => true,
                        "false" | "False" | "0" => false,
                        _ => {
                            return Err(ActivationError::BadParameterValue {
                                op,
                                name: "training",
                                value: value.to_string(),
                                expected: "true or false",
                            })
                        }
                    },
                    seed,
                },
                "seed" => A::Rrelu {
                    lower,
                    upper,
                    training,
                    seed: value
                        .trim()
                        .parse()
                        .map_err(|_| ActivationError::BadParameterValue {
                            op,
                            name: "seed",
                            value: value.to_string(),
                            expected: "an integer from 0 to 2^64 - 1",
                        })?,
                },
                _ => return Err(unknown()),
            },
            (A::Gelu { .. }, "approximate") => A::Gelu {
                approximate: match value.trim() {
                    "none" => GeluApproximate::None,
                    "tanh" => GeluApproximate::Tanh,
                    _ => {
                        return Err(ActivationError::BadParameterValue {
                            op,
                            name: "approximate",
                            value: value.to_string(),
                            expected: "'none' or 'tanh'",
                        })
                    }
                },
            },
            (A::Softplus { threshold, .. }, "beta") => A::Softplus {
                beta: number("beta")?,
                threshold,
            },
            (A::Softplus { beta, .. }, "threshold") => A::Softplus {
                beta,
                threshold: number("threshold")?,
            },
            (A::Hardtanh { max_val, .. }, "min_val") => A::Hardtanh {
                min_val: number("min_val")?,
                max_val,
            },
            (A::Hardtanh { min_val, .. }, "max_val") => A::Hardtanh {
                min_val,
                max_val: number("max_val")?,
            },
            (A::Threshold { value: v, .. }, "threshold") => A::Threshold {
                threshold: number("threshold")?,
                value: v,
            },
            (A::Threshold { threshold, .. }, "value") => A::Threshold {
                threshold,
                value: number("value")?,
            },
            (A::Hardshrink { .. }, "lambd") => A::Hardshrink {
                lambd: number("lambd")?,
            },
            (A::Softshrink { .. }, "lambd") => A::Softshrink {
                lambd: number("lambd")?,
            },
            _ => return Err(unknown()),
        })
    }

    /// The `torch.nn.functional` name of the op (`"identity"` for [`Activation::Identity`]).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Prelu => "prelu",
            Activation::Rrelu { .. } => "rrelu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Celu { .. } => "celu",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softsign => "softsign",
            Activation::Logsigmoid => "logsigmoid",
            Activation::Tanhshrink => "tanhshrink",
            Activation::Softplus { .. } => "softplus",
            Activation::Relu6 => "relu6",
            Activation::Hardtanh { .. } => "hardtanh",
            Activation::Hardsigmoid => "hardsigmoid",
            Activation::Hardswish => "hardswish",
            Activation::Threshold { .. } => "threshold",
            Activation::Hardshrink { .. } => "hardshrink",
            Activation::Softshrink { .. } => "softshrink",
        }
    }

    /// Whether the op takes a weight tensor (PReLU only).
    pub fn uses_weight(&self) -> bool {
        matches!(self, Activation::Prelu)
    }

    /// Checks the op's parameters: every scalar must be finite, and
    /// `celu`'s alpha and `softplus`'s beta non-zero, `rrelu`'s
    /// 0 <= lower <= upper (PyTorch does not check the sign),
    /// `hardtanh`'s max_val > min_val, `softshrink`'s lambd >= 0.
    pub fn validate(&self) -> Result<()> {
        let op = self.name();
        let invalid = |name, value, reason| {
            Err(ActivationError::InvalidParameter {
                op,
                name,
                value,
                reason,
            })
        };
        let finite = |name, value: f32| {
            if value.is_finite() {
                Ok(())
            } else {
                invalid(name, value, "must be a finite number")
            }
        };
        match *self {
            Activation::LeakyRelu { negative_slope } => finite("negative_slope", negative_slope),
            Activation::Elu { alpha } => finite("alpha", alpha),
            Activation::Celu { alpha } => {
                finite("alpha", alpha)?;
                if alpha == 0.0 {
                    return invalid("alpha", alpha, "must not be 0 (celu divides by it)");
                }
                Ok(())
            }
            Activation::Rrelu { lower, upper, .. } => {
                finite("lower", lower)?;
                finite("upper", upper)?;
                if lower < 0.0 {
                    return invalid(
                        "lower",
                        lower,
                        "must be at least 0 (a negative slope would flip the sign of negative inputs)",
                    );
                }
                if lower > upper {
                    return invalid("lower", lower, "must not exceed upper");
                }
                Ok(())
            }
            Activation::Softplus { beta, threshold } => {
                finite("beta", beta)?;
                finite("threshold", threshold)?;
                if beta == 0.0 {
                    return invalid("beta", beta, "must not be 0 (softplus divides by it)");
                }
                Ok(())
            }
            Activation::Hardtanh { min_val, max_val } => {
                finite("min_val", min_val)?;
                finite("max_val", max_val)?;
                if max_val <= min_val {
                    return invalid("max_val", max_val, "must be greater than min_val");
                }
                Ok(())
            }
            Activation::Threshold { threshold, value } => {
                finite("threshold", threshold)?;
                finite("value", value)
            }
            Activation::Hardshrink { lambd } => finite("lambd", lambd),
            Activation::Softshrink { lambd } => {
                finite("lambd", lambd)?;
                if lambd < 0.0 {
                    return invalid("lambd", lambd, "must be at least 0");
                }
                Ok(())
            }
            Activation::Identity
            | Activation::Relu
            | Activation::Prelu
            | Activation::Selu
            | Activation::Gelu { .. }
            | Activation::Silu
            | Activation::Mish
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softsign
            | Activation::Logsigmoid
            | Activation::Tanhshrink
            | Activation::Relu6
            | Activation::Hardsigmoid
            | Activation::Hardswish => Ok(()),
        }
    }

    /// Whether the gradient can be computed exactly from the forward's output
    /// instead of its input: relu, leaky_relu with `negative_slope >= 0`, elu
    /// with `alpha >= 0`, sigmoid, tanh (and identity).
    pub fn backward_from_output_supported(&self) -> bool {
        match *self {
            Activation::Identity | Activation::Relu | Activation::Sigmoid | Activation::Tanh => {
                true
            }
            Activation::LeakyRelu { negative_slope } => negative_slope >= 0.0,
            Activation::Elu { alpha } => alpha >= 0.0,
            _ => false,
        }
    }

    /// The tolerance of the forward kernel against [`crate::cpu::forward`]
    /// for f32 tensors; the module docs' table gives the reasoning.
    pub fn forward_tolerance(&self) -> Tolerance {
        use Activation as A;
        match self {
            A::Identity
            | A::Relu
            | A::LeakyRelu { .. }
            | A::Prelu
            | A::Relu6
            | A::Hardtanh { .. }
            | A::Threshold { .. }
            | A::Hardshrink { .. }
            | A::Softshrink { .. } => Tolerance::Exact,
            A::Rrelu { training, .. } => {
                if *training {
                    Tolerance::close(3, 0)
                } else {
                    Tolerance::Exact
                }
            }
            A::Hardsigmoid => Tolerance::close(2, 0),
            A::Hardswish => Tolerance::close(3, 0),
            A::Elu { .. } | A::Selu | A::Celu { .. } => Tolerance::close(4, 2),
            A::Sigmoid | A::Logsigmoid | A::Softsign => Tolerance::close(4, 2),
            A::Softplus { .. } => Tolerance::close(6, 2),
            A::Silu | A::Tanh => Tolerance::close(5, 2),
            A::Mish => Tolerance::close(6, 2),
            A::Gelu { .. } => Tolerance::close(6, 4),
            A::Tanhshrink => Tolerance::close(12, 2),
        }
    }

    /// The tolerance of the backward kernel (gradient for the input) against
    /// [`crate::cpu::backward`] for f32 tensors; the module docs' table gives
    /// the reasoning.
    pub fn backward_tolerance(&self) -> Tolerance {
        use Activation as A;
        match self {
            A::Identity
            | A::Relu
            | A::LeakyRelu { .. }
            | A::Prelu
            | A::Relu6
            | A::Hardtanh { .. }
            | A::Threshold { .. }
            | A::Hardshrink { .. }
            | A::Softshrink { .. } => Tolerance::Exact,
            A::Rrelu { training, .. } => {
                if *training {
                    Tolerance::close(3, 0)
                } else {
                    Tolerance::Exact
                }
            }
            A::Hardsigmoid => Tolerance::close(2, 0),
            A::Hardswish => Tolerance::close(3, 2),
            A::Elu { .. } | A::Selu | A::Celu { .. } => Tolerance::close(4, 2),
            A::Sigmoid | A::Logsigmoid | A::Softplus { .. } | A::Softsign | A::Tanh => {
                Tolerance::close(5, 2)
            }
            A::Tanhshrink => Tolerance::close(6, 2),
            A::Silu | A::Mish => Tolerance::close(8, 2),
            A::Gelu { .. } => Tolerance::close(8, 4),
        }
    }
}

impl Activation {
    /// Whether the forward result only selects among the input and the op's
    /// constants (no arithmetic): bit-exact in every element type.
    fn forward_selects_only(&self) -> bool {
        matches!(
            self,
            Activation::Identity
                | Activation::Relu
                | Activation::Relu6
                | Activation::Hardtanh { .. }
                | Activation::Threshold { .. }
                | Activation::Hardshrink { .. }
        )
    }

    /// Whether the gradient only selects between `grad_output` and 0.
    fn backward_selects_only(&self) -> bool {
        self.forward_selects_only() || matches!(self, Activation::Softshrink { .. })
    }

    /// [`Activation::forward_tolerance`] for tensors of `dtype`. In f16 the
    /// arithmetic is f32 and the result is rounded once to f16, so every op
    /// that computes anything is within 1 f16 ulp of the correctly rounded
    /// result (the f32 error of a few f32 ulps can tip one rounding), with
    /// the same input perturbation as in f32; pure selections stay exact.
    pub fn forward_tolerance_for(&self, dtype: crate::DType) -> Tolerance {
        f16_tolerance(self.forward_tolerance(), dtype, self.forward_selects_only())
    }

    /// [`Activation::backward_tolerance`] for tensors of `dtype` (see
    /// [`Activation::forward_tolerance_for`]).
    pub fn backward_tolerance_for(&self, dtype: crate::DType) -> Tolerance {
        f16_tolerance(
            self.backward_tolerance(),
            dtype,
            self.backward_selects_only(),
        )
    }

    /// The tolerance of the gradient computed from the output against
    /// [`crate::cpu::backward_from_output`] (for the same output values):
    /// exact for relu and leaky_relu, 2 ulps for elu (`y + alpha`, then a
    /// product), sigmoid (`y (1 - y)`) and tanh (`(1 - y)(1 + y)`).
    pub fn backward_from_output_tolerance_for(&self, dtype: crate::DType) -> Tolerance {
        let f32_tolerance = match self {
            Activation::Identity | Activation::Relu | Activation::LeakyRelu { .. } => {
                Tolerance::Exact
            }
            _ => Tolerance::close(2, 0),
        };
        let selects = matches!(self, Activation::Identity | Activation::Relu);
        f16_tolerance(f32_tolerance, dtype, selects)
    }
}

fn f16_tolerance(f32_tolerance: Tolerance, dtype: crate::DType, selects_only: bool) -> Tolerance {
    match (dtype, f32_tolerance) {
        (crate::DType::F32, tolerance) => tolerance,
        (crate::DType::F16, _) if selects_only => Tolerance::Exact,
        (crate::DType::F16, Tolerance::Exact) => Tolerance::close(1, 0),
        (crate::DType::F16, Tolerance::Close { input_eps, .. }) => Tolerance::close(1, input_eps),
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Activation as A;
        let name = self.name();
        match *self {
            A::LeakyRelu { negative_slope } => write!(f, "{name}(negative_slope={negative_slope})"),
            A::Elu { alpha } | A::Celu { alpha } => write!(f, "{name}(alpha={alpha})"),
            A::Rrelu {
                lower,
                upper,
                training,
                seed,
            } => {
                write!(
                    f,
                    "{name}(lower={lower}, upper={upper}, training={training}"
                )?;
                if training {
                    write!(f, ", seed={seed}")?;
                }
                f.write_str(")")
            }
            A::Gelu { approximate } => write!(
                f,
                "{name}(approximate='{}')",
                match approximate {
                    GeluApproximate::None => "none",
                    GeluApproximate::Tanh => "tanh",
                }
            ),
            A::Softplus { beta, threshold } => {
                write!(f, "{name}(beta={beta}, threshold={threshold})")
            }
            A::Hardtanh { min_val, max_val } => {
                write!(f, "{name}(min_val={min_val}, max_val={max_val})")
            }
            A::Threshold { threshold, value } => {
                write!(f, "{name}(threshold={threshold}, value={value})")
            }
            A::Hardshrink { lambd } | A::Softshrink { lambd } => write!(f, "{name}(lambd={lambd})"),
            _ => f.write_str(name),
        }
    }
}

/// How close a GPU result must be to the CPU reference.
///
/// Every variant requires NaN where the reference is NaN (any NaN) and no NaN
/// where it is not. A value is also accepted when it matches the reference
/// computed with flush-to-zero ([`crate::cpu::Denormals::FlushToZero`]): GPUs
/// may flush subnormal inputs, intermediates and outputs, and that alone is
/// forgiven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// Bit for bit (zeros of either sign are told apart).
    Exact,
    /// Within `ulps` units in the last place of the element type of the
    /// reference evaluated at some input within `input_eps` f32 epsilons
    /// (relative) of the true input. The input term covers the rounding of
    /// arguments the shader computes in f32 before an `exp` or `tanh` (such as
    /// `beta * x` or `x^3`), which no f32 kernel can avoid where the op is
    /// ill-conditioned; it is checked at `x * (1 - d)`, `x` and `x * (1 + d)`.
    Close {
        /// Units in the last place allowed around the reference values.
        ulps: u32,
        /// Relative input perturbation allowed, in f32 epsilons (2^-23).
        input_eps: u32,
    },
}

impl Tolerance {
    /// [`Tolerance::Close`] with these figures.
    pub const fn close(ulps: u32, input_eps: u32) -> Tolerance {
        Tolerance::Close { ulps, input_eps }
    }

    /// The relative input perturbations at which the reference is evaluated
    /// for [`Tolerance::accepts`]; the first is always 0 (the true input).
    pub fn input_perturbations(&self) -> Vec<f64> {
        match *self {
            Tolerance::Close { input_eps, .. } if input_eps > 0 => {
                let d = f64::from(input_eps) * f64::from(f32::EPSILON);
                vec![0.0, -d, d]
            }
            _ => vec![0.0],
        }
    }

    /// Whether `actual` is accepted, `references` being the reference at the
    /// perturbations of [`Tolerance::input_perturbations`], in that order.
    pub fn accepts<T: Element>(&self, actual: T, references: &[T]) -> bool {
        let Some(&truth) = references.first() else {
            return false;
        };
        if truth.is_nan() || actual.is_nan() {
            return truth.is_nan() && actual.is_nan();
        }
        match *self {
            Tolerance::Exact => actual.bits() == truth.bits(),
            Tolerance::Close { ulps, .. } => {
                let finite: Vec<i64> = references
                    .iter()
                    .filter(|r| !r.is_nan())
                    .map(|r| r.ordered())
                    .collect();
                let low = finite.iter().min().copied().unwrap_or(truth.ordered());
                let high = finite.iter().max().copied().unwrap_or(truth.ordered());
                // Infinity orders right after the largest finite value: a
                // result that rounds to MAX instead of overflowing is 1 ulp off.
                let a = actual.ordered();
                let slack = i64::from(ulps);
                a >= low - slack && a <= high + slack
            }
        }
    }
}

/// An element type whose values can be compared in units in the last place.
pub trait Element: Copy {
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// Whether the value is infinite.
    fn is_infinite(self) -> bool;
    /// The bits, widened.
    fn bits(self) -> u32;
    /// A position on the line of representable values: adjacent values differ
    /// by 1, +0 and -0 are both 0.
    fn ordered(self) -> i64;
}

fn ordered_from_sign_magnitude(magnitude: u32, negative: bool) -> i64 {
    if negative {
        -i64::from(magnitude)
    } else {
        i64::from(magnitude)
    }
}

impl Element for f32 {
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn is_infinite(self) -> bool {
        f32::is_infinite(self)
    }
    fn bits(self) -> u32 {
        self.to_bits()
    }
    fn ordered(self) -> i64 {
        let bits = self.to_bits();
        ordered_from_sign_magnitude(bits & 0x7fff_ffff, bits >> 31 == 1)
    }
}

impl Element for half::f16 {
    fn is_nan(self) -> bool {
        half::f16::is_nan(self)
    }
    fn is_infinite(self) -> bool {
        half::f16::is_infinite(self)
    }
    fn bits(self) -> u32 {
        u32::from(self.to_bits())
    }
    fn ordered(self) -> i64 {
        let bits = self.to_bits();
        ordered_from_sign_magnitude(u32::from(bits & 0x7fff), bits >> 15 == 1)
    }
}

/// Number of representable values of `T` between `a` and `b` (0 for +0 and -0).
pub fn ulp_distance<T: Element>(a: T, b: T) -> u64 {
    a.ordered().abs_diff(b.ordered())
}

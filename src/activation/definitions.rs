//! The definition of every op, one entry each: everything else (the enum,
//! parsing, `Display`, validation, tolerances, kernels, the command line's
//! `list`, the tests' strategies and the README's tables) is derived from
//! here. CONTRIBUTING.md says how to add one.
//!
//! An entry is
//!
//! ```text
//! /// Doc of the variant: formula and gradient.
//! Variant { /// doc
//!           parameter: type = default, ... } => {
//!     name: PyTorch's name,
//!     summary: the formula in one line,
//!     kinks: its gradient at the kinks, PyTorch's convention ("smooth" if none),
//!     family: the shader file / CPU module of its functions,
//!     check: the parameters' rules beyond finiteness (`require(...)`),
//!     wgsl: the WGSL function and its arguments (`WgslCall`),
//!     cpu: forward twin |x, e|, backward twin |x, g, e| (e: index, weight, denormals),
//!     from_output: `from_output_if(condition, tolerance, |y, g| twin)` or `no_from_output()`,
//!     tolerance: forward, backward (f32; f16 is derived),
//!     accuracy: where the kernels' error comes from (the tolerance's reason),
//!     selects: whether forward / backward only select values (exact in f16),
//! }
//! ```
//!
//! Parameters, fields and closures see the op's parameters by name.

use super::{
    activations, from_output_if, no_from_output, require, GeluApproximate, WgslCall, SELU_ALPHA,
    SELU_SCALE,
};
use crate::accuracy::Tolerance;
use crate::cpu::{exponential_linear as el, gelu, keep_nan, logistic, rectifier, shrink, times};

const EXACT: Tolerance = Tolerance::Exact;

const fn close(ulps: u32, input_eps: u32) -> Tolerance {
    Tolerance::close(ulps, input_eps)
}

activations! {
    /// `f(x) = x`. Not a PyTorch functional: the baseline the benchmarks
    /// compare every kernel against. Its gradient passes `grad_output` through.
    Identity => {
        name: "identity",
        summary: "x",
        kinks: "smooth",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("identity", &[]),
        cpu: |x, _| x, |_, g, _| g,
        from_output: from_output_if(true, EXACT, |_, g| g),
        tolerance: EXACT, EXACT,
        accuracy: "a copy",
        selects: true, true,
    },

    /// `relu(x) = max(0, x)`; gradient 1 for x > 0, else 0 (0 at 0, as PyTorch).
    Relu => {
        name: "relu",
        summary: "max(0, x)",
        kinks: "0 at 0",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("relu", &[]),
        cpu: |x, _| rectifier::relu(x), |x, g, _| rectifier::relu_backward(x, g),
        from_output: from_output_if(true, EXACT, rectifier::relu_backward),
        tolerance: EXACT, EXACT,
        accuracy: "a selection",
        selects: true, true,
    },

    /// `leaky_relu(x) = x >= 0 ? x : negative_slope * x`; gradient 1 for
    /// x > 0, else `negative_slope` (also at 0, as PyTorch).
    LeakyRelu {
        /// Slope for negative inputs (default 0.01).
        negative_slope: f32 = 0.01,
    } => {
        name: "leaky_relu",
        summary: "x >= 0 ? x : negative_slope * x",
        kinks: "`negative_slope` at 0",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("leaky_relu", &["negative_slope"]),
        cpu: |x, _| rectifier::leaky_relu(x, f64::from(negative_slope)),
            |x, g, _| rectifier::leaky_relu_backward(x, g, f64::from(negative_slope)),
        from_output: from_output_if(negative_slope >= 0.0, EXACT, |y, g| {
            rectifier::leaky_relu_backward(y, g, f64::from(negative_slope))
        }),
        tolerance: EXACT, EXACT,
        accuracy: "a selection and one correctly rounded product",
        selects: false, false,
    },

    /// `prelu(x, weight) = x >= 0 ? x : weight[c] * x`, `c` the channel
    /// (dimension 1) of the element; a single weight is shared by all
    /// channels. Gradient 1 for x > 0, else `weight[c]`; the weight's own
    /// gradient is `sum over channel c of (x > 0 ? 0 : x * grad_output)`.
    Prelu => {
        name: "prelu",
        summary: "x >= 0 ? x : weight[c] * x (weight: 1 value or one per channel, dimension 1)",
        kinks: "`weight[c]` at 0",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("prelu", &["weight"]),
        cpu: |x, e| rectifier::leaky_relu(x, e.weight),
            |x, g, e| rectifier::leaky_relu_backward(x, g, e.weight),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "a selection and one correctly rounded product",
        selects: false, false,
    },

    /// `rrelu(x) = x >= 0 ? x : a * x`. In evaluation mode `a = (lower +
    /// upper) / 2`; in training mode each element with x <= 0 gets its own `a`
    /// drawn uniformly from `[lower, upper]` by a counter-based generator keyed
    /// by `seed` and the element's index (see [`crate::cpu::rrelu_slope`]), so
    /// the same seed gives the same slopes on the GPU and the CPU, forward and
    /// backward. Gradient 1 for x > 0, else `a`.
    Rrelu {
        /// Lower bound of the slope (default 1/8).
        lower: f32 = 0.125,
        /// Upper bound of the slope (default 1/3); `0 <= lower <= upper`.
        upper: f32 = 1.0 / 3.0,
        /// Draw a slope per element (`true`) or use the mean (default `false`).
        training: bool = false,
        /// Seed of the slopes in training mode (default 0).
        seed: u64 = 0,
    } => {
        name: "rrelu",
        summary: "x >= 0 ? x : a * x, a ~ U[lower, upper] (training) or (lower + upper) / 2",
        kinks: "the element's slope at 0 (training: drawn per element from `seed`, the same in forward and backward)",
        family: "rectifier",
        check: {
            require(
                lower >= 0.0,
                "lower",
                lower,
                "must be at least 0 (a negative slope would flip the sign of negative inputs)",
            )?;
            require(lower <= upper, "lower", lower, "must not exceed upper")
        },
        wgsl: if training {
            WgslCall::new("rrelu_training", &["lower", "upper", "seed", "index"])
        } else {
            WgslCall::new("rrelu", &["lower", "upper"])
        },
        cpu: |x, e| if training {
                rectifier::rrelu_training(x, rectifier::rrelu_slope(seed, e.index, lower, upper))
            } else {
                rectifier::leaky_relu(x, rectifier::rrelu_mean_slope(lower, upper))
            },
            |x, g, e| {
                let slope = if training {
                    rectifier::rrelu_slope(seed, e.index, lower, upper)
                } else {
                    rectifier::rrelu_mean_slope(lower, upper)
                };
                rectifier::leaky_relu_backward(x, g, slope)
            },
        from_output: no_from_output(),
        tolerance: if training { close(3, 0) } else { EXACT },
            if training { close(3, 0) } else { EXACT },
        accuracy: "evaluation mode: as leaky_relu with the mean slope, rounded once; training: the slope `lower + (upper - lower) u` is rounded twice in f32",
        selects: false, false,
    },

    /// `elu(x) = x > 0 ? x : alpha * (exp(x) - 1)`; gradient 1 for x > 0, else
    /// `alpha * exp(x)` (`alpha` at 0, as PyTorch).
    Elu {
        /// Scale of the negative part (default 1.0).
        alpha: f32 = 1.0,
    } => {
        name: "elu",
        summary: "x > 0 ? x : alpha * (exp(x) - 1)",
        kinks: "`alpha` at 0",
        family: "exponential_linear",
        check: Ok(()),
        wgsl: WgslCall::new("elu", &["alpha"]),
        cpu: |x, _| el::exponential_linear(x, f64::from(alpha), 1.0, 1.0),
            |x, g, _| el::exponential_linear_backward(x, g, f64::from(alpha), 1.0, 1.0),
        from_output: from_output_if(alpha >= 0.0, close(2, 0), |y, g| {
            el::elu_backward_from_output(y, g, f64::from(alpha))
        }),
        tolerance: close(4, 2), close(4, 2),
        accuracy: "expm1 polynomial, range-reduced exp, `c exp(x) - c` past |x| = 1",
        selects: false, false,
    },

    /// `selu(x) = scale * elu(x, alpha)` with PyTorch's fixed
    /// [`SELU_ALPHA`](super::SELU_ALPHA) and [`SELU_SCALE`](super::SELU_SCALE);
    /// gradient `scale` for x > 0, else `scale * alpha * exp(x)`.
    Selu => {
        name: "selu",
        summary: "scale * (x > 0 ? x : alpha * (exp(x) - 1)), alpha = 1.6733, scale = 1.0507",
        kinks: "`alpha * scale` at 0",
        family: "exponential_linear",
        check: Ok(()),
        wgsl: WgslCall::new("selu", &[]),
        cpu: |x, _| el::exponential_linear(x, SELU_ALPHA, SELU_SCALE, 1.0),
            |x, g, _| el::exponential_linear_backward(x, g, SELU_ALPHA, SELU_SCALE, 1.0),
        from_output: no_from_output(),
        tolerance: close(4, 2), close(4, 2),
        accuracy: "as elu, times the f32 scale",
        selects: false, false,
    },

    /// `celu(x) = x > 0 ? x : alpha * (exp(x / alpha) - 1)`; gradient 1 for
    /// x > 0, else `exp(x / alpha)` (1 at 0). `alpha` must not be 0.
    Celu {
        /// Scale of the negative part (default 1.0; not 0).
        alpha: f32 = 1.0,
    } => {
        name: "celu",
        summary: "x > 0 ? x : alpha * (exp(x / alpha) - 1)",
        kinks: "1 at 0",
        family: "exponential_linear",
        check: require(alpha != 0.0, "alpha", alpha, "must not be 0 (celu divides by it)"),
        wgsl: WgslCall::new("celu", &["alpha"]),
        cpu: |x, _| el::exponential_linear(x, f64::from(alpha), 1.0, 1.0 / f64::from(alpha)),
            |x, g, _| {
                el::exponential_linear_backward(x, g, f64::from(alpha), 1.0, 1.0 / f64::from(alpha))
            },
        from_output: no_from_output(),
        tolerance: close(4, 2), close(4, 2),
        accuracy: "as elu; `x / alpha` is rounded before the exp (the 2 eps)",
        selects: false, false,
    },

    /// `gelu(x) = x * Phi(x)`, Phi the standard normal CDF, or its tanh
    /// approximation; gradient `Phi(x) + x * phi(x)` (or the derivative of
    /// the approximation).
    Gelu {
        /// `"none"` (default: the exact CDF, through erf) or `"tanh"`.
        approximate: GeluApproximate = GeluApproximate::None,
    } => {
        name: "gelu",
        summary: "x * Phi(x), Phi the normal CDF (approximate 'tanh': 0.5 x (1 + tanh(...)))",
        kinks: "smooth",
        family: "gelu",
        check: Ok(()),
        wgsl: match approximate {
            GeluApproximate::None => WgslCall::new("gelu", &[]),
            GeluApproximate::Tanh => WgslCall::new("gelu_tanh", &[]),
        },
        cpu: |x, e| match approximate {
                GeluApproximate::None => gelu::gelu(x, e.dn),
                GeluApproximate::Tanh => gelu::gelu_tanh(x, e.dn),
            },
            |x, g, e| {
                let derivative = match approximate {
                    GeluApproximate::None => gelu::gelu_derivative(x, e.dn),
                    GeluApproximate::Tanh => gelu::gelu_tanh_derivative(x, e.dn),
                };
                times(x, g, derivative)
            },
        from_output: no_from_output(),
        tolerance: close(6, 4), close(8, 4),
        accuracy: "erfc approximation (1.2e-7 relative), exp(-x^2) in two factors; x^3 rounded in the tanh form",
        selects: false, false,
    },

    /// `silu(x) = x * sigmoid(x)`; gradient `s * (1 + x * (1 - s))`.
    Silu => {
        name: "silu",
        summary: "x * sigmoid(x)",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("silu", &[]),
        cpu: |x, e| logistic::silu(x, e.dn),
            |x, g, e| times(x, g, logistic::silu_derivative(x, e.dn)),
        from_output: no_from_output(),
        tolerance: close(5, 2), close(8, 2),
        accuracy: "exp, one division, one product; the gradient `s (1 + x (1 - s))` cancels for x < -1",
        selects: false, false,
    },

    /// `mish(x) = x * tanh(softplus(x))`; gradient `t + x * sigmoid(x) * (1 - t^2)`.
    Mish => {
        name: "mish",
        summary: "x * tanh(softplus(x))",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("mish", &[]),
        cpu: |x, e| logistic::mish(x, e.dn),
            |x, g, e| times(x, g, logistic::mish_derivative(x, e.dn)),
        from_output: no_from_output(),
        tolerance: close(6, 2), close(8, 4),
        accuracy: "tanh of softplus in closed form; the gradient's terms cancel at its zero (x = -1.19): 4 eps there, from the sweep of every f32",
        selects: false, false,
    },

    /// `sigmoid(x) = 1 / (1 + exp(-x))`; gradient `s * (1 - s)`.
    Sigmoid => {
        name: "sigmoid",
        summary: "1 / (1 + exp(-x))",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("sigmoid", &[]),
        cpu: |x, e| keep_nan(x, logistic::sigmoid(x, e.dn)),
            |x, g, e| times(x, g, logistic::sigmoid_derivative(x, e.dn)),
        from_output: from_output_if(true, close(2, 0), |y, g| keep_nan(y, g * y * (1.0 - y))),
        tolerance: close(4, 2), close(5, 2),
        accuracy: "range-reduced exp, one division",
        selects: false, false,
    },

    /// `tanh(x)`; gradient `1 - tanh(x)^2`.
    Tanh => {
        name: "tanh",
        summary: "tanh(x)",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("tanh", &[]),
        cpu: |x, _| logistic::tanh(x),
            |x, g, e| times(x, g, logistic::tanh_derivative(x, e.dn)),
        from_output: from_output_if(true, close(2, 0), |y, g| {
            keep_nan(y, g * (1.0 - y) * (1.0 + y))
        }),
        tolerance: close(5, 2), close(5, 2),
        accuracy: "expm1, one division",
        selects: false, false,
    },

    /// `softsign(x) = x / (1 + |x|)`; gradient `1 / (1 + |x|)^2`.
    Softsign => {
        name: "softsign",
        summary: "x / (1 + |x|)",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("softsign", &[]),
        cpu: |x, _| logistic::softsign(x),
            |x, g, _| times(x, g, logistic::softsign_derivative(x)),
        from_output: no_from_output(),
        tolerance: close(4, 2), close(5, 2),
        accuracy: "a division on the mantissa",
        selects: false, false,
    },

    /// `logsigmoid(x) = log(sigmoid(x)) = -softplus(-x)`; gradient `sigmoid(-x)`.
    Logsigmoid => {
        name: "logsigmoid",
        summary: "log(sigmoid(x))",
        kinks: "smooth",
        family: "logistic",
        check: Ok(()),
        wgsl: WgslCall::new("logsigmoid", &[]),
        cpu: |x, e| logistic::logsigmoid(x, e.dn),
            |x, g, e| times(x, g, logistic::logsigmoid_derivative(x, e.dn)),
        from_output: no_from_output(),
        tolerance: close(4, 2), close(5, 2),
        accuracy: "exp, log1p series",
        selects: false, false,
    },

    /// `tanhshrink(x) = x - tanh(x)`; gradient `tanh(x)^2`.
    Tanhshrink => {
        name: "tanhshrink",
        summary: "x - tanh(x)",
        kinks: "smooth",
        family: "shrink",
        check: Ok(()),
        wgsl: WgslCall::new("tanhshrink", &[]),
        cpu: |x, _| shrink::tanhshrink(x), |x, g, _| shrink::tanhshrink_backward(x, g),
        from_output: no_from_output(),
        tolerance: close(12, 2), close(6, 2),
        accuracy: "`x - tanh(x)` loses up to 2.6 bits just past its series (|x| = 0.8)",
        selects: false, false,
    },

    /// `softplus(x) = log(1 + exp(beta * x)) / beta`, and `x` where
    /// `beta * x > threshold`; gradient `sigmoid(beta * x)`, 1 past the threshold.
    Softplus {
        /// Sharpness (default 1.0; not 0).
        beta: f32 = 1.0,
        /// Above `beta * x > threshold` the op is linear (default 20.0).
        threshold: f32 = 20.0,
    } => {
        name: "softplus",
        summary: "log(1 + exp(beta * x)) / beta",
        kinks: "linear past `beta * x > threshold` (gradient 1 there)",
        family: "logistic",
        check: require(beta != 0.0, "beta", beta, "must not be 0 (softplus divides by it)"),
        wgsl: WgslCall::new("softplus", &["beta", "threshold"]),
        cpu: |x, e| {
                keep_nan(x, logistic::softplus(x, f64::from(beta), f64::from(threshold), e.dn))
            },
            |x, g, e| {
                let derivative =
                    logistic::softplus_derivative(x, f64::from(beta), f64::from(threshold), e.dn);
                times(x, g, derivative)
            },
        from_output: no_from_output(),
        tolerance: close(6, 2), close(5, 2),
        accuracy: "as logsigmoid, then a product with 1/beta rounded to f32",
        selects: false, false,
    },

    /// `relu6(x) = min(max(0, x), 6)`; gradient 1 for 0 < x < 6, else 0.
    Relu6 => {
        name: "relu6",
        summary: "min(max(0, x), 6)",
        kinks: "0 at 0 and 6",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("relu6", &[]),
        cpu: |x, _| rectifier::hardtanh(x, 0.0, 6.0),
            |x, g, _| rectifier::hardtanh_backward(x, g, 0.0, 6.0),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "selections",
        selects: true, true,
    },

    /// `hardtanh(x) = min(max(min_val, x), max_val)`; gradient 1 for
    /// `min_val < x < max_val`, else 0.
    Hardtanh {
        /// Lower bound (default -1.0).
        min_val: f32 = -1.0,
        /// Upper bound (default 1.0); greater than `min_val`.
        max_val: f32 = 1.0,
    } => {
        name: "hardtanh",
        summary: "min(max(min_val, x), max_val)",
        kinks: "0 at both bounds",
        family: "rectifier",
        check: require(max_val > min_val, "max_val", max_val, "must be greater than min_val"),
        wgsl: WgslCall::new("hardtanh", &["min_val", "max_val"]),
        cpu: |x, _| rectifier::hardtanh(x, f64::from(min_val), f64::from(max_val)),
            |x, g, _| rectifier::hardtanh_backward(x, g, f64::from(min_val), f64::from(max_val)),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "selections",
        selects: true, true,
    },

    /// `hardsigmoid(x) = min(max(x + 3, 0), 6) / 6`; gradient 1/6 for
    /// -3 < x < 3, else 0.
    Hardsigmoid => {
        name: "hardsigmoid",
        summary: "min(max(x + 3, 0), 6) / 6",
        kinks: "0 at -3 and 3",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("hardsigmoid", &[]),
        cpu: |x, _| rectifier::hardsigmoid(x), |x, g, _| rectifier::hardsigmoid_backward(x, g),
        from_output: no_from_output(),
        tolerance: close(2, 0), close(2, 0),
        accuracy: "`(x + 3) * (1/6)` with 1/6 rounded, against PyTorch's division",
        selects: false, false,
    },

    /// `hardswish(x) = x * min(max(x + 3, 0), 6) / 6`; gradient 0 for x <= -3,
    /// `x / 3 + 1/2` for -3 < x < 3, 1 for x >= 3.
    Hardswish => {
        name: "hardswish",
        summary: "x * min(max(x + 3, 0), 6) / 6",
        kinks: "0 at -3, 1 at 3",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("hardswish", &[]),
        cpu: |x, _| rectifier::hardswish(x), |x, g, _| rectifier::hardswish_backward(x, g),
        from_output: no_from_output(),
        tolerance: close(3, 0), close(3, 2),
        accuracy: "`x (x + 3) / 6`; the gradient `x/3 + 1/2` cancels near x = -1.5",
        selects: false, false,
    },

    /// `threshold(x) = x > threshold ? x : value`; gradient 1 for
    /// x > threshold, else 0.
    Threshold {
        /// Values at or below it are replaced (no default in PyTorch; 0.0 here).
        threshold: f32 = 0.0,
        /// The replacement (no default in PyTorch; 0.0 here).
        value: f32 = 0.0,
    } => {
        name: "threshold",
        summary: "x > threshold ? x : value",
        kinks: "0 at x == threshold",
        family: "rectifier",
        check: Ok(()),
        wgsl: WgslCall::new("threshold", &["threshold", "value"]),
        cpu: |x, _| rectifier::threshold(x, f64::from(threshold), f64::from(value)),
            |x, g, _| rectifier::threshold_backward(x, g, f64::from(threshold)),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "a selection",
        selects: true, true,
    },

    /// `hardshrink(x) = |x| > lambd ? x : 0`; gradient 1 for |x| > lambd, else 0.
    Hardshrink {
        /// Half-width of the zeroed band (default 0.5).
        lambd: f32 = 0.5,
    } => {
        name: "hardshrink",
        summary: "|x| > lambd ? x : 0",
        kinks: "0 at -lambd and lambd",
        family: "shrink",
        check: Ok(()),
        wgsl: WgslCall::new("hardshrink", &["lambd"]),
        cpu: |x, _| shrink::hardshrink(x, f64::from(lambd)),
            |x, g, _| shrink::shrink_backward(x, g, f64::from(lambd)),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "a selection",
        selects: true, true,
    },

    /// `softshrink(x) = x - lambd` for x > lambd, `x + lambd` for x < -lambd,
    /// else 0; gradient 1 for |x| > lambd, else 0.
    Softshrink {
        /// Half-width of the zeroed band (default 0.5; at least 0).
        lambd: f32 = 0.5,
    } => {
        name: "softshrink",
        summary: "x - lambd * sign(x) where |x| > lambd, else 0",
        kinks: "0 at -lambd and lambd",
        family: "shrink",
        check: require(lambd >= 0.0, "lambd", lambd, "must be at least 0"),
        wgsl: WgslCall::new("softshrink", &["lambd"]),
        cpu: |x, _| shrink::softshrink(x, f64::from(lambd)),
            |x, g, _| shrink::shrink_backward(x, g, f64::from(lambd)),
        from_output: no_from_output(),
        tolerance: EXACT, EXACT,
        accuracy: "one correctly rounded sum",
        selects: false, true,
    },
}

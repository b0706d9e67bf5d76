//! The [`Activation`] enum: every elementwise activation of
//! `torch.nn.functional` with PyTorch's name, parameters and defaults.
//!
//! Each op is defined once, in `src/activation/definitions.rs`: its name,
//! parameters with defaults and checks, the WGSL functions its kernels call,
//! its CPU twin, its tolerances and its capabilities. The enum itself, its
//! registry [`Activation::OPS`], parsing ([`Activation::parse`]),
//! `Display`, validation, tolerance lookup and the kernels' parameter blocks
//! are derived from that table (see CONTRIBUTING.md, "How to add an
//! activation").
//!
//! # Gradients at the kinks
//!
//! Tutorials often write the ReLU derivative as f'(x) = 1 for x >= 0. PyTorch
//! (and so this crate) uses f'(0) = 0: at a kink any value between the
//! one-sided derivatives is a valid subgradient, and users compare results
//! with `torch.nn.functional`, so PyTorch's choice is taken everywhere (the
//! README's "Conventions" table lists each op's value at its kinks).
//! ELU-type gradients are computed from the input, as PyTorch does when it
//! differentiates the op.
//!
//! # Special values
//!
//! A NaN input gives NaN, forward and backward, for every op (PyTorch returns
//! the incoming gradient for a NaN input in `relu`'s backward; we keep the NaN
//! so that it is seen). Infinities give the mathematical limits, even where
//! PyTorch returns NaN: `gelu(-inf) = silu(-inf) = mish(-inf) = -0` (the sign
//! of the values approaching it), `softsign(+-inf) = +-1`, `elu(-inf) =
//! -alpha`. A negative zero stays a zero, and a result too small for the
//! element type is a zero of its sign (`silu(-200) = -0`, as PyTorch's).
//!
//! # Accuracy
//!
//! Each op's kernel is held to a [`Tolerance`] against the f64 CPU reference
//! ([`Activation::forward_tolerance`], [`Activation::backward_tolerance`]);
//! the README's accuracy table lists them with where the error comes from.
//!
//! # Gradient from the output
//!
//! [`Activation::backward_from_output_supported`] says for which ops the
//! gradient can be computed from the forward's output instead of its input
//! (so that an in-place forward can still be differentiated): relu,
//! leaky_relu with `negative_slope >= 0`, elu with `alpha >= 0`, sigmoid and
//! tanh (and identity). For the others the output does not determine the
//! gradient.

mod definitions;

pub use definitions::Activation;

use crate::accuracy::Tolerance;
use crate::cpu::Denormals;
use crate::error::{ActivationError, Result};
use crate::tensor::DType;

/// The `selu` alpha (PyTorch's constant, to f64 precision).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_284_817_042_991_671_7;
/// The `selu` scale (PyTorch's constant, to f64 precision).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_493_419_334_985_294_6;

/// The `approximate` argument of `gelu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GeluApproximate {
    /// `"none"`: `x * Phi(x)` with the exact normal CDF (through erf).
    None,
    /// `"tanh"`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    Tanh,
}

/// The value of one op parameter, whatever its type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParameterValue {
    /// A number (`negative_slope`, `alpha`, ...).
    Number(f32),
    /// A flag (`training`).
    Flag(bool),
    /// A 64-bit integer (`seed`).
    Integer(u64),
    /// One of a fixed set of names (`approximate`: `none` or `tanh`).
    Choice(&'static str),
    /// A signed integer (`dim` of the row ops, negative counting from the end).
    SignedInteger(i64),
}

impl ParameterValue {
    /// The value as typed on a command line (and read back by
    /// [`ParameterKind::parse`]): `0.01`, `true`, `7`, `tanh`.
    pub fn to_text(&self) -> String {
        match self {
            ParameterValue::Choice(v) => v.to_string(),
            other => other.to_string(),
        }
    }
}

/// PyTorch's repr style: `0.01`, `1.0`, `true`, `'tanh'`.
impl std::fmt::Display for ParameterValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Debug keeps the ".0" of whole numbers: 1.0, not 1.
            ParameterValue::Number(v) => write!(f, "{v:?}"),
            ParameterValue::Flag(v) => write!(f, "{v}"),
            ParameterValue::Integer(v) => write!(f, "{v}"),
            ParameterValue::Choice(v) => write!(f, "'{v}'"),
            ParameterValue::SignedInteger(v) => write!(f, "{v}"),
        }
    }
}

/// What values a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    /// A finite f32.
    Number,
    /// `true` or `false`.
    Flag,
    /// An integer from 0 to 2^64 - 1.
    Integer,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// An integer from -2^63 to 2^63 - 1.
    SignedInteger,
}

impl ParameterKind {
    /// What a value of this kind looks like, for error messages.
    pub fn expected(&self) -> String {
        match self {
            ParameterKind::Number => "a number".into(),
            ParameterKind::Flag => "true or false".into(),
            ParameterKind::Integer => "an integer from 0 to 2^64 - 1".into(),
            ParameterKind::Choice(names) => {
                let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
                quoted.join(" or ")
            }
            ParameterKind::SignedInteger => "an integer".into(),
        }
    }

    /// `text` read as a value of this kind.
    pub fn parse(&self, text: &str) -> Option<ParameterValue> {
        let text = text.trim();
        match self {
            ParameterKind::Number => text.parse().ok().map(ParameterValue::Number),
            ParameterKind::Flag => match text {
                "true" | "True" | "1" => Some(ParameterValue::Flag(true)),
                "false" | "False" | "0" => Some(ParameterValue::Flag(false)),
                _ => None,
            },
            ParameterKind::Integer => text.parse().ok().map(ParameterValue::Integer),
            ParameterKind::Choice(names) => names
                .iter()
                .find(|n| **n == text)
                .map(|n| ParameterValue::Choice(n)),
            ParameterKind::SignedInteger => text.parse().ok().map(ParameterValue::SignedInteger),
        }
    }
}

/// A Rust type that an op parameter can have.
pub trait ParameterType: Copy {
    /// The kind of values.
    const KIND: ParameterKind;
    /// The value, untyped.
    fn to_value(self) -> ParameterValue;
    /// The typed value, if `value` is of this type.
    fn from_value(value: ParameterValue) -> Option<Self>;
}

impl ParameterType for f32 {
    const KIND: ParameterKind = ParameterKind::Number;
    fn to_value(self) -> ParameterValue {
        ParameterValue::Number(self)
    }
    fn from_value(value: ParameterValue) -> Option<Self> {
        match value {
            ParameterValue::Number(v) => Some(v),
            _ => None,
        }
    }
}

impl ParameterType for bool {
    const KIND: ParameterKind = ParameterKind::Flag;
    fn to_value(self) -> ParameterValue {
        ParameterValue::Flag(self)
    }
    fn from_value(value: ParameterValue) -> Option<Self> {
        match value {
            ParameterValue::Flag(v) => Some(v),
            _ => None,
        }
    }
}

impl ParameterType for u64 {
    const KIND: ParameterKind = ParameterKind::Integer;
    fn to_value(self) -> ParameterValue {
        ParameterValue::Integer(self)
    }
    fn from_value(value: ParameterValue) -> Option<Self> {
        match value {
            ParameterValue::Integer(v) => Some(v),
            _ => None,
        }
    }
}

impl ParameterType for i64 {
    const KIND: ParameterKind = ParameterKind::SignedInteger;
    fn to_value(self) -> ParameterValue {
        ParameterValue::SignedInteger(self)
    }
    fn from_value(value: ParameterValue) -> Option<Self> {
        match value {
            ParameterValue::SignedInteger(v) => Some(v),
            _ => None,
        }
    }
}

impl ParameterType for GeluApproximate {
    const KIND: ParameterKind = ParameterKind::Choice(&["none", "tanh"]);
    fn to_value(self) -> ParameterValue {
        ParameterValue::Choice(match self {
            GeluApproximate::None => "none",
            GeluApproximate::Tanh => "tanh",
        })
    }
    fn from_value(value: ParameterValue) -> Option<Self> {
        match value {
            ParameterValue::Choice("none") => Some(GeluApproximate::None),
            ParameterValue::Choice("tanh") => Some(GeluApproximate::Tanh),
            _ => None,
        }
    }
}

/// One parameter of an op, for listings and parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// PyTorch's argument name (`negative_slope`).
    pub name: &'static str,
    /// What values it takes.
    pub kind: ParameterKind,
    doc: &'static str,
}

impl Parameter {
    /// A parameter of kind `T::KIND` (for the row ops' table, [`crate::row`]).
    pub(crate) const fn new<T: ParameterType>(name: &'static str, doc: &'static str) -> Self {
        Parameter {
            name,
            kind: T::KIND,
            doc,
        }
    }

    /// What it is, in a few words.
    pub fn description(&self) -> &'static str {
        self.doc.trim()
    }
}

/// One op of the registry [`Activation::OPS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpInfo {
    /// The `torch.nn.functional` name.
    pub name: &'static str,
    /// The op with its default parameters.
    pub default: Activation,
    /// Its parameters (PReLU's weight tensor is not one of them).
    pub parameters: &'static [Parameter],
    /// The formula in one line.
    pub summary: &'static str,
    /// Its gradient at the kinks (PyTorch's convention), or "smooth".
    pub kinks: &'static str,
    /// Its family: the file `shaders/{family}.wgsl` and its CPU twin
    /// `src/cpu/{family}.rs`.
    pub family: &'static str,
    /// Where its kernels' error against the reference comes from: the
    /// reason for its tolerances.
    pub accuracy: &'static str,
}

impl OpInfo {
    /// The default value of parameter `name`.
    pub fn default_value(&self, name: &str) -> Option<ParameterValue> {
        self.default.parameter(name)
    }
}

/// The WGSL function an op's kernels call, and its arguments after the
/// per-element ones (`x`, and `grad_output` in backward): the op's
/// parameters by name, or `weight` (PReLU's channel weight), `seed` and
/// `index` (RReLU's training-mode stream). The backward, gradient and
/// from-output functions are named after it (`{function}_backward`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WgslCall {
    /// `leaky_relu`.
    pub function: &'static str,
    /// `["negative_slope"]`.
    pub args: &'static [&'static str],
}

impl WgslCall {
    const fn new(function: &'static str, args: &'static [&'static str]) -> Self {
        WgslCall { function, args }
    }
}

/// What the CPU twin of one element needs besides `x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ElementArgs {
    /// The element's index in the whole tensor (RReLU's training stream).
    pub index: u64,
    /// The element's PReLU weight (0 for other ops).
    pub weight: f64,
    /// How the reference treats subnormal intermediates.
    pub dn: Denormals,
}

/// The values an op's kernel gets from its parameter block: up to four f32
/// parameters (in the order of [`WgslCall::args`]) and a seed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct KernelArgs {
    pub scalars: [f32; 4],
    pub seed: u64,
}

/// An op parameter's problem, found by a definition's `check`.
pub(crate) struct Problem {
    name: &'static str,
    value: f32,
    reason: &'static str,
}

/// `RepeatedParameter` where `parameters` name one parameter twice (in
/// snake or kebab case): every op family's `parse` refuses it rather than
/// keep the last value.
pub(crate) fn reject_repeated(op: &'static str, parameters: &[(&str, &str)]) -> Result<()> {
    for (i, (name, _)) in parameters.iter().enumerate() {
        let key = name.replace('-', "_");
        if parameters[..i]
            .iter()
            .any(|(earlier, _)| earlier.replace('-', "_") == key)
        {
            return Err(ActivationError::RepeatedParameter { op, name: key });
        }
    }
    Ok(())
}

/// `Ok` if `holds`, else the problem of parameter `name`.
pub(crate) fn require(
    holds: bool,
    name: &'static str,
    value: f32,
    reason: &'static str,
) -> std::result::Result<(), Problem> {
    if holds {
        Ok(())
    } else {
        Err(Problem {
            name,
            value,
            reason,
        })
    }
}

/// A gradient that can be computed from the output: its tolerance against
/// the CPU twin, and that twin, `(y, grad_output) -> grad_input`.
pub(crate) struct FromOutput<F> {
    tolerance: Tolerance,
    cpu: F,
}

/// The op's gradient can be taken from its output when `condition` holds.
pub(crate) fn from_output_if<F: Fn(f64, f64) -> f64>(
    condition: bool,
    tolerance: Tolerance,
    cpu: F,
) -> Option<FromOutput<F>> {
    condition.then_some(FromOutput { tolerance, cpu })
}

/// A CPU twin of a gradient from the output: `(y, grad_output) -> grad_input`.
type OutputGradient = fn(f64, f64) -> f64;

/// The op's gradient cannot be taken from its output.
pub(crate) fn no_from_output() -> Option<FromOutput<OutputGradient>> {
    None
}

// The `_call` helpers give the definitions' closures their types.
fn forward_call(f: impl Fn(f64, &ElementArgs) -> f64, x: f64, e: &ElementArgs) -> f64 {
    f(x, e)
}

fn backward_call(
    f: impl Fn(f64, f64, &ElementArgs) -> f64,
    x: f64,
    g: f64,
    e: &ElementArgs,
) -> f64 {
    f(x, g, e)
}

/// Generates [`Activation`] and everything derived from its definitions:
/// see `definitions.rs` for the format, CONTRIBUTING.md for the recipe.
macro_rules! activations {
    ($(
        $(#[$meta:meta])*
        $variant:ident $( { $( $(#[doc = $pdoc:literal])* $param:ident : $ty:ty = $default:expr ),* $(,)? } )? => {
            name: $name:literal,
            summary: $summary:literal,
            kinks: $kinks:literal,
            family: $family:literal,
            check: $check:expr,
            wgsl: $wgsl:expr,
            cpu: $cpu_forward:expr, $cpu_backward:expr,
            from_output: $from_output:expr,
            tolerance: $forward_tolerance:expr, $backward_tolerance:expr,
            accuracy: $accuracy:literal,
            selects: $forward_selects:expr, $backward_selects:expr $(,)?
        }
    ),* $(,)?) => {
        /// An activation function, named and parameterised as in
        /// `torch.nn.functional`.
        ///
        /// PReLU's weight is a tensor, not a scalar, so it is passed beside
        /// the op (see [`crate::GpuContext::forward`]); every other op carries
        /// its parameters. Each variant's doc gives the formula and the
        /// gradient; the module docs give the conventions at the kinks and
        /// the special values.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[non_exhaustive]
        pub enum Activation {
            $(
                $(#[$meta])*
                $variant $( { $( $(#[doc = $pdoc])* $param: $ty ),* } )?,
            )*
        }

        impl Activation {
            /// Every op with its default parameters, its parameters and its
            /// formula, in the order of the definitions.
            pub const OPS: &'static [$crate::activation::OpInfo] = &[$(
                $crate::activation::OpInfo {
                    name: $name,
                    default: Activation::$variant { $($($param: $default),*)? },
                    parameters: &[$($(
                        $crate::activation::Parameter {
                            name: stringify!($param),
                            kind: <$ty as $crate::activation::ParameterType>::KIND,
                            doc: concat!($($pdoc),*),
                        }
                    ),*)?],
                    summary: $summary,
                    kinks: $kinks,
                    family: $family,
                    accuracy: $accuracy,
                },
            )*];

            /// The `torch.nn.functional` name of the op (`"identity"` for
            /// [`Activation::Identity`]).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Activation::$variant { .. } => $name,)*
                }
            }

            /// The value of parameter `name` (PyTorch's name), if the op has it.
            #[allow(unused_variables)]
            pub fn parameter(&self, name: &str) -> Option<$crate::activation::ParameterValue> {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => {
                        $($(
                            if name == stringify!($param) {
                                return Some($crate::activation::ParameterType::to_value($param));
                            }
                        )*)?
                        None
                    })*
                }
            }

            /// This op with parameter `name` (PyTorch's name) set to
            /// `value`. Not checked: see [`Activation::validate`].
            #[allow(unused_variables, unused_mut, unused_assignments, unreachable_code)]
            pub fn set_parameter(
                self,
                name: &str,
                value: $crate::activation::ParameterValue,
            ) -> $crate::error::Result<Activation> {
                match self {
                    $(Activation::$variant { $($(mut $param),*)? } => {
                        $($(
                            if name == stringify!($param) {
                                $param = <$ty as $crate::activation::ParameterType>::from_value(value)
                                    .ok_or_else(|| self.bad_value(name, &value.to_string()))?;
                            } else
                        )*)?
                        {
                            return Err(self.unknown_parameter(name));
                        }
                        Ok(Activation::$variant { $($($param),*)? })
                    })*
                }
            }

            /// The op-specific checks of the definitions (finiteness is
            /// checked for every number by [`Activation::validate`]).
            #[allow(unused_variables)]
            pub(super) fn check_rules(&self) -> std::result::Result<(), $crate::activation::Problem> {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $check,)*
                }
            }

            /// The WGSL function the kernels call, with its arguments.
            #[allow(unused_variables)]
            pub fn wgsl_call(&self) -> $crate::activation::WgslCall {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $wgsl,)*
                }
            }

            /// The CPU twin of the forward, for one element.
            #[allow(unused_variables)]
            pub(crate) fn cpu_forward(&self, x: f64, e: &$crate::activation::ElementArgs) -> f64 {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => {
                        $crate::activation::forward_call($cpu_forward, x, e)
                    })*
                }
            }

            /// The CPU twin of the backward (`grad_output * f'(x)`), for one element.
            #[allow(unused_variables)]
            pub(crate) fn cpu_backward(
                &self,
                x: f64,
                g: f64,
                e: &$crate::activation::ElementArgs,
            ) -> f64 {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => {
                        $crate::activation::backward_call($cpu_backward, x, g, e)
                    })*
                }
            }

            /// The CPU twin of the gradient from the output, where supported.
            #[allow(unused_variables)]
            pub(crate) fn cpu_backward_from_output(&self, y: f64, g: f64) -> Option<f64> {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => {
                        $from_output.map(|f| (f.cpu)(y, g))
                    })*
                }
            }

            /// Whether the gradient can be computed exactly from the
            /// forward's output instead of its input: relu, leaky_relu with
            /// `negative_slope >= 0`, elu with `alpha >= 0`, sigmoid, tanh
            /// (and identity).
            #[allow(unused_variables)]
            pub fn backward_from_output_supported(&self) -> bool {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $from_output.is_some(),)*
                }
            }

            /// The f32 tolerance of the gradient from the output, if supported.
            #[allow(unused_variables)]
            pub(super) fn output_gradient_tolerance(&self) -> Option<Tolerance> {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => {
                        $from_output.map(|f| f.tolerance)
                    })*
                }
            }

            /// The tolerance of the forward kernel against [`crate::cpu::forward`]
            /// for f32 tensors; the README's accuracy table gives the reasoning.
            #[allow(unused_variables)]
            pub fn forward_tolerance(&self) -> Tolerance {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $forward_tolerance,)*
                }
            }

            /// The tolerance of the backward kernel (gradient for the input)
            /// against [`crate::cpu::backward`] for f32 tensors.
            #[allow(unused_variables)]
            pub fn backward_tolerance(&self) -> Tolerance {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $backward_tolerance,)*
                }
            }

            /// Whether the forward only selects among the input and the op's
            /// constants (no arithmetic): bit-exact in every element type.
            #[allow(unused_variables)]
            pub fn forward_selects_only(&self) -> bool {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $forward_selects,)*
                }
            }

            /// Whether the gradient only selects between `grad_output` and 0.
            #[allow(unused_variables)]
            pub fn backward_selects_only(&self) -> bool {
                match *self {
                    $(Activation::$variant { $($($param),*)? } => $backward_selects,)*
                }
            }
        }
    };
}

pub(crate) use activations;

impl Activation {
    /// Every op of [`Activation::OPS`] with its default parameters.
    pub fn all_defaults() -> Vec<Activation> {
        Activation::OPS.iter().map(|op| op.default).collect()
    }

    /// The op named `name` (a `torch.nn.functional` name, or `identity`)
    /// with its default parameters.
    pub fn from_name(name: &str) -> Result<Activation> {
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
        reject_repeated(op.name(), parameters)?;
        for (parameter, value) in parameters {
            op = op.with_parameter(parameter, value)?;
        }
        op.validate()?;
        Ok(op)
    }

    /// This op's registry entry.
    pub fn info(&self) -> &'static OpInfo {
        let name = self.name();
        Activation::OPS
            .iter()
            .find(|op| op.name == name)
            .expect("every variant has a definition")
    }

    /// This op with parameter `name` (snake or kebab case) set from the text
    /// `value`. Not checked: see [`Activation::validate`].
    pub fn with_parameter(self, name: &str, value: &str) -> Result<Activation> {
        let key = name.replace('-', "_");
        let parameter = self
            .info()
            .parameters
            .iter()
            .find(|p| p.name == key)
            .ok_or_else(|| self.unknown_parameter(name))?;
        let parsed = parameter
            .kind
            .parse(value)
            .ok_or_else(|| self.bad_value(parameter.name, value))?;
        self.set_parameter(parameter.name, parsed)
    }

    fn unknown_parameter(&self, name: &str) -> ActivationError {
        let names: Vec<&str> = self.info().parameters.iter().map(|p| p.name).collect();
        ActivationError::UnknownParameter {
            op: self.name(),
            name: name.to_string(),
            known: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        }
    }

    fn bad_value(&self, name: &str, value: &str) -> ActivationError {
        let parameter = self.info().parameters.iter().find(|p| p.name == name);
        ActivationError::BadParameterValue {
            op: self.name(),
            name: parameter.map_or("?", |p| p.name),
            value: value.to_string(),
            expected: parameter.map_or_else(String::new, |p| p.kind.expected()),
        }
    }

    /// Checks the op's parameters: every number must be finite, plus each
    /// op's own rules (`celu`'s alpha and `softplus`'s beta non-zero,
    /// `rrelu`'s `0 <= lower <= upper`, `hardtanh`'s `max_val > min_val`,
    /// `softshrink`'s `lambd >= 0`).
    pub fn validate(&self) -> Result<()> {
        let invalid = |name, value, reason| ActivationError::InvalidParameter {
            op: self.name(),
            name,
            value,
            reason,
        };
        for parameter in self.info().parameters {
            if let Some(ParameterValue::Number(value)) = self.parameter(parameter.name) {
                if !value.is_finite() {
                    return Err(invalid(parameter.name, value, "must be a finite number"));
                }
            }
        }
        self.check_rules()
            .map_err(|problem| invalid(problem.name, problem.value, problem.reason))
    }

    /// Whether the op takes a weight tensor (PReLU only).
    pub fn uses_weight(&self) -> bool {
        self.wgsl_call().args.contains(&"weight")
    }

    /// The values of the kernel's parameter block: the op's numbers in the
    /// order of its [`WgslCall::args`], and its seed.
    pub(crate) fn kernel_args(&self) -> KernelArgs {
        let mut args = KernelArgs::default();
        let mut slot = 0;
        for name in self.wgsl_call().args {
            match self.parameter(name) {
                Some(ParameterValue::Number(v)) => {
                    args.scalars[slot] = v;
                    slot += 1;
                }
                Some(ParameterValue::Integer(seed)) => args.seed = seed,
                _ => {}
            }
        }
        args
    }

    /// [`Activation::forward_tolerance`] for tensors of `dtype`. In f16 the
    /// arithmetic is f32 and the result is rounded once to f16, so every op
    /// that computes anything is within 1 f16 ulp of the correctly rounded
    /// result (the f32 error of a few f32 ulps can tip one rounding), with
    /// the same input perturbation as in f32; pure selections stay exact.
    pub fn forward_tolerance_for(&self, dtype: DType) -> Tolerance {
        f16_tolerance(self.forward_tolerance(), dtype, self.forward_selects_only())
    }

    /// [`Activation::backward_tolerance`] for tensors of `dtype` (see
    /// [`Activation::forward_tolerance_for`]).
    pub fn backward_tolerance_for(&self, dtype: DType) -> Tolerance {
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
    /// `Exact` for ops without one.
    pub fn backward_from_output_tolerance_for(&self, dtype: DType) -> Tolerance {
        let f32_tolerance = self.output_gradient_tolerance().unwrap_or(Tolerance::Exact);
        let selects = self.backward_selects_only() && f32_tolerance == Tolerance::Exact;
        f16_tolerance(f32_tolerance, dtype, selects)
    }
}

fn f16_tolerance(f32_tolerance: Tolerance, dtype: DType, selects_only: bool) -> Tolerance {
    match (dtype, f32_tolerance) {
        (DType::F32, tolerance) => tolerance,
        (DType::F16, _) if selects_only => Tolerance::Exact,
        (DType::F16, Tolerance::Exact) => Tolerance::close(1, 0),
        (DType::F16, Tolerance::Close { input_eps, .. }) => Tolerance::close(1, input_eps),
    }
}

/// Writes an op as PyTorch's repr does: `name(p=v, ...)`, or `name` alone
/// for an op without parameters. Shared by every op family's `Display`.
pub(crate) fn write_call(
    f: &mut std::fmt::Formatter<'_>,
    name: &str,
    parameters: &[Parameter],
    value_of: impl Fn(&str) -> Option<ParameterValue>,
) -> std::fmt::Result {
    f.write_str(name)?;
    if parameters.is_empty() {
        return Ok(());
    }
    f.write_str("(")?;
    for (i, parameter) in parameters.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        if let Some(value) = value_of(parameter.name) {
            write!(f, "{}={value}", parameter.name)?;
        }
    }
    f.write_str(")")
}

impl std::fmt::Display for Activation {
    /// PyTorch's repr style: `leaky_relu(negative_slope=0.2)`, `relu`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_call(f, self.name(), self.info().parameters, |name| {
            self.parameter(name)
        })
    }
}

//! The gated ops: [`GatedActivation`], PyTorch's `glu` and vLLM's
//! `silu_and_mul` (SwiGLU), `gelu_and_mul`, `gelu_tanh_and_mul`,
//! `relu_and_mul` (ReGLU) and `fatrelu_and_mul`, forward and backward.
//!
//! A gated op splits its input in two halves `a, b` along a dimension (the
//! last for the `*_and_mul` ops, `dim` for glu, whose size must be even) and
//! returns `act(gate) * value`, where the gate is one half and the value the
//! other: `glu = a * sigmoid(b)`, `silu_and_mul = silu(a) * b`. The output
//! has the input's shape with that dimension halved. The two halves may also
//! be given as two tensors of the output's shape (the gate and up
//! projections of an MLP kept apart): the op is then elementwise over them.
//!
//! Each op is defined once, in `src/gated/definitions.rs`: its name,
//! parameters, which half is the gate, and the elementwise [`Activation`]
//! applied to it. The kernels call that activation's WGSL functions from the
//! public library ([`crate::wgsl`]: `silu`, `silu_backward`, ...) and the CPU
//! twin ([`crate::cpu::gated`]) calls its CPU twin, so the math is written
//! once.
//!
//! # Semantics
//!
//! Forward `y = act(gate) * value`. Backward, for the gradient `g` of the
//! output (the output's shape), the gradient of the input (the input's
//! shape, or one per half): `act_backward(gate, g * value)` for the gate
//! (the activation's gradient at its kinks: relu'(0) = 0, fatrelu' is 0 at
//! the threshold; sigmoid is smooth) and `g * act(gate)` for the value:
//! what autograd gives for `act(gate) * value` in PyTorch. Arithmetic is f32
//! for f32 and f16 tensors alike; NaN in either half gives NaN, and IEEE
//! products apply (`relu(-1) * inf` is NaN, as in PyTorch). `fatrelu` of NaN
//! is NaN here (vLLM's kernel gives 0): the crate propagates NaN everywhere.
//!
//! # Accuracy
//!
//! The activation's result, within its own tolerance, is multiplied by the
//! value and the product rounded once; the gate's gradient is the
//! activation's gradient at the f32 product `g * value`, within the
//! activation's backward tolerance: see [`GatedActivation::forward_tolerance`]
//! and [`crate::cpu::gated::accepts_product`].

mod definitions;

pub use definitions::GatedActivation;

use crate::accuracy::Tolerance;
use crate::activation::{Activation, Parameter, ParameterValue};
use crate::error::{ActivationError, Result};
use crate::shape::{element_count, saturating_product};
use crate::tensor::DType;

/// Which half of the input goes through the activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Half {
    /// `x[..., :d]` (the `*_and_mul` ops).
    First,
    /// `x[..., d:]` (glu: `a * sigmoid(b)`).
    Second,
}

/// An input shape seen along the dimension a gated op splits: `outer` blocks
/// of two halves of `half * inner` elements each (the first half, then the
/// second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GatedGeometry {
    /// The product of the dimensions before `dim`.
    pub outer: usize,
    /// Half the size of `dim`.
    pub half: usize,
    /// The product of the dimensions after `dim`.
    pub inner: usize,
}

impl GatedGeometry {
    /// Elements in one half of a block (`half * inner`): the distance
    /// between an element of the first half and its partner (saturating at
    /// `usize::MAX` in an empty shape, where the dimensions beside a 0 may
    /// overflow).
    pub fn half_block(&self) -> usize {
        self.half.saturating_mul(self.inner)
    }

    /// Elements of the output (`outer * half * inner`; 0 for an empty
    /// shape).
    pub fn output_len(&self) -> usize {
        if self.outer == 0 || self.half == 0 || self.inner == 0 {
            return 0;
        }
        self.outer * self.half_block()
    }

    /// Elements of the input (twice the output's).
    pub fn input_len(&self) -> usize {
        2 * self.output_len()
    }
}

/// One op of the registry [`GatedActivation::OPS`].
#[derive(Debug, Clone, Copy)]
pub struct GatedOpInfo {
    /// The name (PyTorch's `glu`, vLLM's `silu_and_mul`, ...).
    pub name: &'static str,
    /// The op with its default parameters.
    pub default: GatedActivation,
    /// Its parameters.
    pub parameters: &'static [Parameter],
    /// The forward in one line.
    pub summary: &'static str,
    /// The halves' gradients in one line.
    pub gradient: &'static str,
    /// Where its kernels' error comes from.
    pub accuracy: &'static str,
}

impl GatedOpInfo {
    /// The default value of parameter `name`.
    pub fn default_value(&self, name: &str) -> Option<ParameterValue> {
        self.default.parameter(name)
    }
}

macro_rules! gated_activations {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $({ $( $(#[doc = $pdoc:literal])* $param:ident : $ty:ty = $default:expr ),* $(,)? })? => {
            name: $name:literal,
            summary: $summary:literal,
            gradient: $gradient:literal,
            dim: $dim_value:expr,
            gate: $gate:expr,
            activation: $activation:expr,
            accuracy: $accuracy:literal $(,)?
        }
    ),* $(,)?) => {
        /// A gated op with its parameters: glu along `dim`, and the
        /// `*_and_mul` ops along the last dimension. See [`crate::gated`].
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum GatedActivation {
            $(
                $(#[doc = $doc])*
                $variant $({ $( $(#[doc = $pdoc])* $param: $ty, )* })?,
            )*
        }

        impl GatedActivation {
            /// Every gated op, in the order of the definitions.
            pub const OPS: &'static [$crate::gated::GatedOpInfo] = &[$(
                $crate::gated::GatedOpInfo {
                    name: $name,
                    default: GatedActivation::$variant $({ $($param: $default),* })?,
                    parameters: &[$($(
                        $crate::activation::Parameter::new::<$ty>(
                            stringify!($param),
                            concat!($($pdoc),*),
                        )
                    ),*)?],
                    summary: $summary,
                    gradient: $gradient,
                    accuracy: $accuracy,
                },
            )*];

            /// The name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(GatedActivation::$variant { .. } => $name,)*
                }
            }

            /// The dimension split in two, as given (negative counts from
            /// the end; -1 for the `*_and_mul` ops).
            #[allow(unused_variables)]
            pub fn dim(&self) -> i64 {
                match *self {
                    $(GatedActivation::$variant $({ $($param),* })? => $dim_value,)*
                }
            }

            /// Which half goes through the activation.
            pub fn gate(&self) -> $crate::gated::Half {
                match self {
                    $(GatedActivation::$variant { .. } => $gate,)*
                }
            }

            /// The elementwise op applied to the gate.
            #[allow(unused_variables)]
            pub fn activation(&self) -> $crate::activation::Activation {
                match *self {
                    $(GatedActivation::$variant $({ $($param),* })? => $activation,)*
                }
            }

            /// The value of parameter `name`, if the op has it.
            #[allow(unused_variables)]
            pub fn parameter(&self, name: &str) -> Option<$crate::activation::ParameterValue> {
                match *self {
                    $(GatedActivation::$variant $({ $($param),* })? => {
                        $($(
                            if name == stringify!($param) {
                                return Some(<$ty as $crate::activation::ParameterType>::to_value($param));
                            }
                        )*)?
                        None
                    })*
                }
            }

            /// Sets parameter `name` to `value`; false if the op has no
            /// such parameter or the value is of another type.
            #[allow(unused_variables)]
            pub(crate) fn set_parameter(&mut self, name: &str, value: $crate::activation::ParameterValue) -> bool {
                match self {
                    $(GatedActivation::$variant $({ $($param),* })? => {
                        $($(
                            if name == stringify!($param) {
                                return match <$ty as $crate::activation::ParameterType>::from_value(value) {
                                    Some(v) => {
                                        *$param = v;
                                        true
                                    }
                                    None => false,
                                };
                            }
                        )*)?
                        false
                    })*
                }
            }
        }
    };
}

pub(crate) use gated_activations;

impl GatedActivation {
    /// The registry entry of the op named `name`, if it is a gated op.
    pub fn info_by_name(name: &str) -> Option<&'static GatedOpInfo> {
        GatedActivation::OPS.iter().find(|op| op.name == name)
    }

    /// This op's registry entry.
    pub fn info(&self) -> &'static GatedOpInfo {
        GatedActivation::info_by_name(self.name()).expect("every variant has a definition")
    }

    /// The op named `name` with the given parameters (names in snake or
    /// kebab case, values as text); the others keep their defaults.
    ///
    /// ```
    /// use wgpu_activations::GatedActivation;
    /// let op = GatedActivation::parse("glu", &[("dim", "1")])?;
    /// assert_eq!(op, GatedActivation::Glu { dim: 1 });
    /// assert_eq!(GatedActivation::parse("silu_and_mul", &[])?, GatedActivation::SiluAndMul);
    /// assert!(GatedActivation::parse("silu_and_mul", &[("dim", "0")]).is_err());
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn parse(name: &str, parameters: &[(&str, &str)]) -> Result<GatedActivation> {
        let info = GatedActivation::info_by_name(name)
            .ok_or_else(|| ActivationError::UnknownOp(name.to_string()))?;
        crate::activation::reject_repeated(info.name, parameters)?;
        let mut op = info.default;
        for (parameter, value) in parameters {
            let key = parameter.replace('-', "_");
            let known = info
                .parameters
                .iter()
                .find(|p| p.name == key)
                .ok_or_else(|| {
                    let names: Vec<&str> = info.parameters.iter().map(|p| p.name).collect();
                    ActivationError::UnknownParameter {
                        op: info.name,
                        name: parameter.to_string(),
                        known: if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        },
                    }
                })?;
            let parsed = known.kind.parse(value);
            if !parsed.is_some_and(|v| op.set_parameter(known.name, v)) {
                return Err(ActivationError::BadParameterValue {
                    op: info.name,
                    name: known.name,
                    value: value.to_string(),
                    expected: known.kind.expected(),
                });
            }
        }
        op.validate()?;
        Ok(op)
    }

    /// Checks the parameters: numbers must be finite (fatrelu's threshold).
    pub fn validate(&self) -> Result<()> {
        for parameter in self.info().parameters {
            if let Some(ParameterValue::Number(value)) = self.parameter(parameter.name) {
                if !value.is_finite() {
                    return Err(ActivationError::InvalidParameter {
                        op: self.name(),
                        name: parameter.name,
                        value,
                        reason: "must be a finite number",
                    });
                }
            }
        }
        self.activation().validate()
    }

    /// The same op split along `dim` (only glu has a `dim`; the others are
    /// returned unchanged): what a piece of a tensor, reshaped, runs with.
    pub fn along(&self, dim: i64) -> GatedActivation {
        match *self {
            GatedActivation::Glu { .. } => GatedActivation::Glu { dim },
            other => other,
        }
    }

    /// The split dimension wrapped for `shape`, or an error: a 0-D input
    /// cannot be split (as in PyTorch), and `dim` must be in range.
    pub fn resolve_dim(&self, shape: &[usize]) -> Result<usize> {
        if shape.is_empty() {
            return Err(ActivationError::UnsupportedRank {
                op: self.name(),
                shape: Vec::new(),
                expected:
                    "an input of at least one dimension (a 0-D input cannot be split in halves)",
            });
        }
        crate::shape::wrap_dim(self.name(), self.dim(), shape.len(), shape)
    }

    /// `shape` seen along the split dimension, checked: the dimension's
    /// size must be even.
    pub fn geometry(&self, shape: &[usize]) -> Result<GatedGeometry> {
        element_count(shape)?;
        let dim = self.resolve_dim(shape)?;
        let size = shape[dim];
        if !size.is_multiple_of(2) {
            return Err(ActivationError::OddHalves {
                op: self.name(),
                dim,
                size,
                shape: shape.to_vec(),
            });
        }
        Ok(GatedGeometry {
            outer: saturating_product(&shape[..dim]),
            half: size / 2,
            inner: saturating_product(&shape[dim + 1..]),
        })
    }

    /// The output's shape for an input of `shape`: the split dimension
    /// halved.
    pub fn output_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        self.geometry(shape)?;
        let dim = self.resolve_dim(shape)?;
        let mut out = shape.to_vec();
        out[dim] /= 2;
        Ok(out)
    }

    /// The tolerance of the forward kernels, for f32 tensors: the
    /// activation's forward tolerance, which holds `act(gate)` (computed in
    /// f32); the kernel then rounds `act(gate) * value` once, and the result
    /// is accepted where it lies between the products of the tolerance's
    /// ends and the value ([`crate::cpu::gated::accepts_product`]). A
    /// relative bound in ulps of the output would not hold: where
    /// `act(gate)` is subnormal (sigmoid(-103) = 1.8e-45 has one bit) its
    /// f32 rounding alone is a large relative error, which the value
    /// (1e30) carries into a normal output.
    pub fn forward_tolerance(&self) -> Tolerance {
        self.activation().forward_tolerance()
    }

    /// The tolerance of the backward kernels, for f32 tensors: the
    /// activation's backward tolerance for the gate's gradient
    /// `act_backward(gate, g * value)` at the f32 product `g * value`
    /// ([`crate::cpu::gated::accepts_gate_gradient`]); the value's gradient
    /// `g * act(gate)` is held as the forward ([`GatedActivation::forward_tolerance`]).
    pub fn backward_tolerance(&self) -> Tolerance {
        self.activation().backward_tolerance()
    }

    /// [`GatedActivation::forward_tolerance`] for tensors of `dtype`: the
    /// activation's tolerance in f32 (the kernels hold `act(gate)` in f32
    /// for either dtype), and in f16 the product rounded in f32 and then to
    /// f16 (one f16 ulp more, except where the activation only selects:
    /// the product of two f16 values is exact in f32).
    pub fn forward_tolerance_for(&self, _dtype: DType) -> Tolerance {
        self.forward_tolerance()
    }

    /// [`GatedActivation::backward_tolerance`] for tensors of `dtype`: the
    /// activation's, as the elementwise ops are held to in that dtype.
    pub fn backward_tolerance_for(&self, dtype: DType) -> Tolerance {
        self.activation().backward_tolerance_for(dtype)
    }
}

/// An [`Activation`] is what a gated op applies to its gate.
impl From<GatedActivation> for Activation {
    fn from(op: GatedActivation) -> Activation {
        op.activation()
    }
}

impl std::fmt::Display for GatedActivation {
    /// PyTorch's repr style: `glu(dim=-1)`, `silu_and_mul`,
    /// `fatrelu_and_mul(threshold=0.0)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())?;
        let parameters = self.info().parameters;
        if parameters.is_empty() {
            return Ok(());
        }
        f.write_str("(")?;
        for (i, parameter) in parameters.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if let Some(value) = self.parameter(parameter.name) {
                write!(f, "{}={value}", parameter.name)?;
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_and_geometry() {
        for info in GatedActivation::OPS {
            let op = info.default;
            let text: Vec<(&str, String)> = info
                .parameters
                .iter()
                .map(|p| (p.name, op.parameter(p.name).unwrap().to_text()))
                .collect();
            let pairs: Vec<(&str, &str)> = text.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(GatedActivation::parse(info.name, &pairs).unwrap(), op);
            assert!(op.to_string().starts_with(info.name));
        }
        // A parameter given twice is refused in every op family, in either case.
        assert!(matches!(
            GatedActivation::parse("glu", &[("dim", "0"), ("dim", "1")]),
            Err(ActivationError::RepeatedParameter { .. })
        ));
        assert!(matches!(
            crate::Activation::parse(
                "leaky_relu",
                &[("negative-slope", "0.1"), ("negative_slope", "0.2")]
            ),
            Err(ActivationError::RepeatedParameter { .. })
        ));
        assert_eq!(GatedActivation::Glu { dim: -1 }.to_string(), "glu(dim=-1)");
        assert_eq!(GatedActivation::SiluAndMul.to_string(), "silu_and_mul");
        assert_eq!(
            GatedActivation::parse("fatrelu_and_mul", &[("threshold", "0.5")]).unwrap(),
            GatedActivation::FatreluAndMul { threshold: 0.5 }
        );
        assert!(matches!(
            GatedActivation::parse("fatrelu_and_mul", &[("threshold", "inf")]),
            Err(ActivationError::InvalidParameter { .. })
        ));
        assert!(matches!(
            GatedActivation::parse("glu", &[("dim", "x")]),
            Err(ActivationError::BadParameterValue { .. })
        ));
        let g = GatedActivation::Glu { dim: 1 }
            .geometry(&[2, 6, 5])
            .unwrap();
        assert_eq!((g.outer, g.half, g.inner), (2, 3, 5));
        assert_eq!(
            GatedActivation::Glu { dim: 1 }
                .output_shape(&[2, 6, 5])
                .unwrap(),
            [2, 3, 5]
        );
        assert!(matches!(
            GatedActivation::SiluAndMul.geometry(&[2, 5]),
            Err(ActivationError::OddHalves {
                dim: 1,
                size: 5,
                ..
            })
        ));
        assert!(matches!(
            GatedActivation::Glu { dim: 2 }.geometry(&[2, 4]),
            Err(ActivationError::DimOutOfRange { .. })
        ));
        assert!(matches!(
            GatedActivation::SiluAndMul.geometry(&[]),
            Err(ActivationError::UnsupportedRank { .. })
        ));
        let g = GatedActivation::SiluAndMul.geometry(&[0, 4]).unwrap();
        assert_eq!(g.output_len(), 0);
        // Beside a 0, the other dimensions may multiply past usize::MAX.
        let g = GatedActivation::SiluAndMul
            .geometry(&[0, 1 << 40, 1 << 40, 2])
            .unwrap();
        assert_eq!((g.half_block(), g.output_len(), g.input_len()), (1, 0, 0));
        let g = GatedActivation::Glu { dim: 0 }
            .geometry(&[0, 1 << 40, 1 << 40])
            .unwrap();
        assert_eq!((g.half_block(), g.output_len()), (0, 0));
        let g = GatedActivation::Glu { dim: 1 }
            .geometry(&[0, 1 << 40, 1 << 40])
            .unwrap();
        assert_eq!((g.half_block(), g.output_len()), (usize::MAX, 0));
    }

    #[test]
    fn tolerances_follow_the_activation() {
        assert_eq!(
            GatedActivation::ReluAndMul.forward_tolerance(),
            Tolerance::Exact
        );
        assert_eq!(
            GatedActivation::SiluAndMul.forward_tolerance(),
            Activation::Silu.forward_tolerance()
        );
    }
}

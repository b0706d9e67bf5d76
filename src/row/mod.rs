//! The row ops: [`RowActivation`], softmax, log_softmax and softmin along
//! any dimension (and `softmax2d`, PyTorch's `nn.Softmax2d`), forward and
//! backward.
//!
//! Unlike the elementwise ops of [`crate::Activation`] each output element
//! depends on a whole row: the elements along `dim`, the others fixed. A
//! tensor of shape `(d_0, ..., d_{r-1})` is seen as `(outer, n, inner)` with
//! `n = d_dim` ([`RowGeometry`]): row `(o, i)` holds the `n` elements
//! `o * n * inner + j * inner + i`. Each op is defined once, in
//! `src/row/definitions.rs` (name, parameters, kernel variant, CPU twin,
//! tolerances); the enum, its registry [`RowActivation::OPS`], parsing,
//! `Display` and validation are derived from that table.
//!
//! # Semantics
//!
//! PyTorch's (`torch.nn.functional.softmax`, `log_softmax`, `softmin`):
//! `dim` is required and may be negative (counting from the end; a 0-D
//! tensor counts as 1-D); `softmax2d` is softmax over `dim = -3` of a 3-D or
//! 4-D input. The backward passes take the forward's **output** `y`, as
//! PyTorch's do: softmax `gx = y * (g - sum(g * y))`, log_softmax `gx = g -
//! exp(y) * sum(g)`, softmin `gx = -(y * (g - sum(g * y)))` (softmin is
//! softmax of `-x`). An empty dimension gives an empty output. Arithmetic is
//! f32 for f32 and f16 tensors alike.
//!
//! # Special values
//!
//! The row maximum is subtracted first, and log_softmax never takes
//! `log(exp(..))`. Where PyTorch returns NaN the crate returns the
//! mathematical limit when one exists, as it does for the elementwise ops,
//! and NaN otherwise:
//!
//! - a NaN anywhere in a row makes the whole row NaN (PyTorch's result too);
//! - `-inf` entries get probability 0 (log-probability `-inf`);
//! - a row holding exactly one `+inf` gives probability 1 there and 0
//!   elsewhere (log-probabilities 0 and `-inf`): softmax tends to that
//!   one-hot vector however the other entries behave. PyTorch gives NaN
//!   (it computes `inf - inf`);
//! - a row with two or more `+inf`, or of `-inf` only, is NaN, as in
//!   PyTorch: the limit depends on how the infinite entries compare, so
//!   there is none (the softmax of `(a, b)` as both go to `+inf` can tend to
//!   any probability);
//! - a row of one element is 1 (log 0) whatever its value, NaN excepted: the
//!   softmax of one element is constant.
//!
//! The gradients are the formulas above evaluated in IEEE arithmetic
//! (`0 * inf` is NaN).
//!
//! # Accuracy
//!
//! Each op's kernel is held to a [`RowTolerance`] against the f64 CPU twin
//! ([`crate::cpu::softmax`]): `x - max` is computed exactly (a two-sum, its
//! rounding error folded into the `exp`), sums are double-f32 (each addition
//! keeps its exact rounding error) in a fixed order, so the bound does not
//! grow with the row length; the README's accuracy table for the row ops
//! gives each bound and its reason.

mod definitions;

pub use definitions::RowActivation;

use crate::accuracy::Element;
use crate::activation::{Parameter, ParameterValue};
use crate::cpu::Float;
use crate::error::{ActivationError, Result};
use crate::shape::{element_count, saturating_product};

/// A tensor shape seen along one dimension: `outer` blocks of `n` rows'
/// elements, `inner` elements apart. Row `(o, i)`, `o < outer`, `i < inner`,
/// holds elements `o * n * inner + j * inner + i` for `j < n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowGeometry {
    /// The product of the dimensions before `dim`.
    pub outer: usize,
    /// The size of `dim`: the row length.
    pub n: usize,
    /// The product of the dimensions after `dim`: the distance between a
    /// row's consecutive elements.
    pub inner: usize,
}

impl RowGeometry {
    /// `shape` along dimension `dim` (already wrapped, `dim < shape.len()`,
    /// or 0 for a 0-D shape; `DimOutOfRange` otherwise). In an empty shape
    /// (a 0 somewhere) the products of the other dimensions saturate at
    /// `usize::MAX` rather than overflow: such a geometry
    /// [`is_empty`](RowGeometry::is_empty), and nothing is computed over it.
    pub fn of(shape: &[usize], dim: usize) -> Result<RowGeometry> {
        element_count(shape)?;
        if shape.is_empty() && dim == 0 {
            return Ok(RowGeometry {
                outer: 1,
                n: 1,
                inner: 1,
            });
        }
        if dim >= shape.len() {
            return Err(ActivationError::DimOutOfRange {
                op: "row geometry",
                dim: i64::try_from(dim).unwrap_or(i64::MAX),
                shape: shape.to_vec(),
            });
        }
        Ok(RowGeometry {
            outer: saturating_product(&shape[..dim]),
            n: shape[dim],
            inner: saturating_product(&shape[dim + 1..]),
        })
    }

    /// The number of rows, `outer * inner` (saturating: see
    /// [`RowGeometry::of`]).
    pub fn rows(&self) -> usize {
        self.outer.saturating_mul(self.inner)
    }

    /// The number of elements, `outer * n * inner` (0 for an empty shape).
    pub fn len(&self) -> usize {
        if self.outer == 0 || self.n == 0 || self.inner == 0 {
            return 0;
        }
        self.outer * self.n * self.inner
    }

    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a row op's kernels compute, beyond softmax: the WGSL glue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowKernel {
    /// The input is negated as it is read (softmin = softmax of `-x`), and
    /// the gradient negated as it is written.
    pub negate: bool,
    /// The output is the log-probability (log_softmax).
    pub log: bool,
}

/// The input ranks a row op accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranks {
    /// The smallest rank (number of dimensions).
    pub min: usize,
    /// The largest rank.
    pub max: usize,
}

/// Every rank (a 0-D tensor counts as 1-D when `dim` is wrapped).
pub(crate) const ANY_RANK: Ranks = Ranks {
    min: 0,
    max: usize::MAX,
};

/// How close a row op's GPU result must be to the f64 CPU twin.
///
/// NaN is required exactly where the reference is NaN, and an infinity
/// exactly where the reference rounds to one. Otherwise the result must lie
/// within `ulps` units in the last place (of the element type) of the
/// interval `reference ± scaled_eps * 2^-23 * scale`, where `scale` is the
/// element's scale from the CPU twin ([`crate::cpu::softmax`]): 0 for the
/// forward ops (a pure ulps bound), the size of the terms that cancel in the
/// gradients (`y_j * sum |g y|` for softmax, `exp(y_j) * sum |g|` for
/// log_softmax). Where a row's sum of magnitudes (`sum |g y|`, `sum |g|`)
/// exceeds f32's range, its f32 sums may overflow: the twin's scale is then
/// infinite, and any result is accepted (gradients near 3e38 only).
///
/// A GPU may flush subnormal numbers; [`RowTolerance::accepts`] compares
/// with one reference, and the tests accept a result that matches the
/// reference computed with [`crate::cpu::Denormals::FlushToZero`] as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowTolerance {
    /// Units in the last place around the reference (interval).
    pub ulps: u32,
    /// Absolute slack, in f32 epsilons times the element's scale.
    pub scaled_eps: u32,
}

/// `4 ulps`, `2 ulps + 3 eps * scale`: as the README's table has it.
impl std::fmt::Display for RowTolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scaled_eps {
            0 => write!(f, "{} ulps", self.ulps),
            eps => write!(f, "{} ulps + {eps} eps * scale", self.ulps),
        }
    }
}

impl RowTolerance {
    /// A tolerance of `ulps` units in the last place plus `scaled_eps` f32
    /// epsilons times the element's scale.
    pub const fn new(ulps: u32, scaled_eps: u32) -> Self {
        RowTolerance { ulps, scaled_eps }
    }

    /// Whether `actual` is accepted for the unrounded `reference` whose
    /// scale is `scale`.
    pub fn accepts<T: Element + Float>(&self, actual: T, reference: f64, scale: f64) -> bool {
        let slack = f64::from(self.scaled_eps) * f64::from(f32::EPSILON) * scale;
        if self.scaled_eps > 0 && (slack.is_nan() || slack > f64::from(f32::MAX)) {
            return true;
        }
        if reference.is_nan() || actual.is_nan() {
            return reference.is_nan() && actual.is_nan();
        }
        let rounded = T::from_f64(reference);
        if rounded.is_infinite() {
            return actual.bits() == rounded.bits();
        }
        let low = T::from_f64(reference - slack).ordered() - i64::from(self.ulps);
        let high = T::from_f64(reference + slack).ordered() + i64::from(self.ulps);
        (low..=high).contains(&actual.ordered())
    }

    /// This tolerance for tensors of `dtype`: in f16 the arithmetic is f32
    /// and the result is rounded once, so the f32 error of a few f32 ulps can
    /// tip one rounding: 1 f16 ulp, and the same scaled term.
    pub fn for_dtype(self, dtype: crate::DType) -> RowTolerance {
        match dtype {
            crate::DType::F32 => self,
            crate::DType::F16 => RowTolerance::new(1, self.scaled_eps),
        }
    }
}

/// One op of the registry [`RowActivation::OPS`].
#[derive(Debug, Clone, Copy)]
pub struct RowOpInfo {
    /// The PyTorch name (`softmax`; `softmax2d` for `nn.Softmax2d`).
    pub name: &'static str,
    /// Its parameters (`dim`; none for softmax2d). None has a default:
    /// PyTorch requires `dim`.
    pub parameters: &'static [Parameter],
    /// The forward formula in one line.
    pub summary: &'static str,
    /// The gradient, from the forward's output.
    pub gradient: &'static str,
    /// Its family: the kernel template `shaders/{family}.wgsl` and its CPU
    /// twin `src/cpu/{family}.rs`.
    pub family: &'static str,
    /// The input ranks it accepts.
    pub ranks: Ranks,
    /// Where its kernels' error against the reference comes from.
    pub accuracy: &'static str,
    /// The op with `dim` (ignored by ops without it).
    pub with_dim: fn(i64) -> RowActivation,
}

macro_rules! row_activations {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $({ $(#[doc = $pdoc:literal])* $dim:ident })? => {
            name: $name:literal,
            summary: $summary:literal,
            gradient: $gradient:literal,
            family: $family:literal,
            ranks: $ranks:expr,
            dim: $dim_value:expr,
            kernel: $kernel:expr,
            cpu: $cpu_forward:expr, $cpu_backward:expr,
            tolerance: $forward_tolerance:expr, $backward_tolerance:expr,
            accuracy: $accuracy:literal $(,)?
        }
    ),* $(,)?) => {
        /// A row op with its parameters: softmax, log_softmax and softmin
        /// along `dim`, and softmax2d. See [`crate::row`] for the
        /// semantics and special values.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RowActivation {
            $(
                $(#[doc = $doc])*
                $variant $({
                    $(#[doc = $pdoc])*
                    $dim: i64,
                })?,
            )*
        }

        impl RowActivation {
            /// Every row op, in the order of the definitions.
            pub const OPS: &'static [$crate::row::RowOpInfo] = &[$(
                $crate::row::RowOpInfo {
                    name: $name,
                    parameters: &[$(
                        $crate::activation::Parameter::new::<i64>(
                            stringify!($dim),
                            concat!($($pdoc),*),
                        )
                    )?],
                    summary: $summary,
                    gradient: $gradient,
                    family: $family,
                    ranks: $ranks,
                    accuracy: $accuracy,
                    with_dim: |_dim| RowActivation::$variant $({ $dim: _dim })?,
                },
            )*];

            /// The PyTorch name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(RowActivation::$variant { .. } => $name,)*
                }
            }

            /// The dimension the op reduces along, as given (negative counts
            /// from the end; softmax2d's is -3).
            pub fn dim(&self) -> i64 {
                match *self {
                    $(RowActivation::$variant $({ $dim })? => $dim_value,)*
                }
            }

            /// The value of parameter `name`, if the op has it.
            #[allow(unused_variables)]
            pub fn parameter(&self, name: &str) -> Option<$crate::activation::ParameterValue> {
                match *self {
                    $(RowActivation::$variant $({ $dim })? => {
                        $(
                            if name == stringify!($dim) {
                                return Some($crate::activation::ParameterValue::SignedInteger($dim));
                            }
                        )?
                        None
                    })*
                }
            }

            /// What the kernels compute.
            pub fn kernel(&self) -> $crate::row::RowKernel {
                match self {
                    $(RowActivation::$variant { .. } => $kernel,)*
                }
            }

            /// The CPU twin of the forward over one row (widened).
            pub(crate) fn cpu_forward_row(&self, x: &[f64], dn: $crate::cpu::Denormals) -> Vec<f64> {
                let twin: fn(&[f64], $crate::cpu::Denormals) -> Vec<f64> = match self {
                    $(RowActivation::$variant { .. } => $cpu_forward,)*
                };
                twin(x, dn)
            }

            /// The CPU twin of the backward over one row: the gradient and
            /// each element's scale (see [`RowTolerance`]).
            pub(crate) fn cpu_backward_row(
                &self,
                y: &[f64],
                g: &[f64],
                dn: $crate::cpu::Denormals,
            ) -> (Vec<f64>, Vec<f64>) {
                let twin: fn(&[f64], &[f64], $crate::cpu::Denormals) -> (Vec<f64>, Vec<f64>) = match self {
                    $(RowActivation::$variant { .. } => $cpu_backward,)*
                };
                twin(y, g, dn)
            }

            /// The tolerance of the forward kernels against the CPU twin, for
            /// f32 tensors (see [`RowActivation::forward_tolerance_for`]).
            pub fn forward_tolerance(&self) -> $crate::row::RowTolerance {
                match self {
                    $(RowActivation::$variant { .. } => $forward_tolerance,)*
                }
            }

            /// The tolerance of the backward kernels, for f32 tensors.
            pub fn backward_tolerance(&self) -> $crate::row::RowTolerance {
                match self {
                    $(RowActivation::$variant { .. } => $backward_tolerance,)*
                }
            }
        }
    };
}

pub(crate) use row_activations;

impl RowActivation {
    /// The registry entry of the op named `name`, if it is a row op.
    pub fn info_by_name(name: &str) -> Option<&'static RowOpInfo> {
        RowActivation::OPS.iter().find(|op| op.name == name)
    }

    /// This op's registry entry.
    pub fn info(&self) -> &'static RowOpInfo {
        RowActivation::info_by_name(self.name()).expect("every variant has a definition")
    }

    /// The op named `name` with the given parameters (PyTorch's argument
    /// names, or the same in kebab case; values as text). `dim` is required,
    /// as in PyTorch.
    ///
    /// ```
    /// use wgpu_activations::RowActivation;
    /// let op = RowActivation::parse("log_softmax", &[("dim", "-1")])?;
    /// assert_eq!(op, RowActivation::LogSoftmax { dim: -1 });
    /// assert!(RowActivation::parse("softmax", &[]).is_err());
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn parse(name: &str, parameters: &[(&str, &str)]) -> Result<RowActivation> {
        let info = RowActivation::info_by_name(name)
            .ok_or_else(|| ActivationError::UnknownOp(name.to_string()))?;
        crate::activation::reject_repeated(info.name, parameters)?;
        let mut dim = None;
        for (parameter, value) in parameters {
            let key = parameter.replace('-', "_");
            let known = info
                .parameters
                .iter()
                .find(|p| p.name == key)
                .ok_or_else(|| unknown_parameter(info, parameter))?;
            match known.kind.parse(value) {
                Some(ParameterValue::SignedInteger(v)) => dim = Some(v),
                _ => {
                    return Err(ActivationError::BadParameterValue {
                        op: info.name,
                        name: known.name,
                        value: value.to_string(),
                        expected: known.kind.expected(),
                    })
                }
            }
        }
        if let (None, Some(required)) = (dim, info.parameters.first()) {
            return Err(ActivationError::MissingParameter {
                op: info.name,
                name: required.name,
            });
        }
        Ok((info.with_dim)(dim.unwrap_or(0)))
    }

    /// `dim` wrapped for a tensor of `rank` dimensions (a 0-D tensor counts
    /// as 1-D, as in PyTorch), or an error naming the valid range. Checks
    /// the rank too (softmax2d: 3 or 4).
    pub fn resolve_dim(&self, shape: &[usize]) -> Result<usize> {
        let rank = shape.len();
        let ranks = self.info().ranks;
        if rank < ranks.min || rank > ranks.max {
            return Err(ActivationError::UnsupportedRank {
                op: self.name(),
                shape: shape.to_vec(),
                expected: "a 3-D (C, H, W) or 4-D (N, C, H, W) input",
            });
        }
        crate::shape::wrap_dim(self.name(), self.dim(), rank.max(1), shape)
    }

    /// `shape` seen along this op's dimension, checked.
    pub fn geometry(&self, shape: &[usize]) -> Result<RowGeometry> {
        let dim = self.resolve_dim(shape)?;
        RowGeometry::of(shape, dim)
    }

    /// The same op along `dim` (softmax2d becomes softmax): what a piece of
    /// a tensor, reshaped, is processed with.
    pub fn along(&self, dim: i64) -> RowActivation {
        match self {
            RowActivation::Softmax2d => RowActivation::Softmax { dim },
            other => (other.info().with_dim)(dim),
        }
    }

    /// [`RowActivation::forward_tolerance`] for tensors of `dtype`.
    pub fn forward_tolerance_for(&self, dtype: crate::DType) -> RowTolerance {
        self.forward_tolerance().for_dtype(dtype)
    }

    /// [`RowActivation::backward_tolerance`] for tensors of `dtype`.
    pub fn backward_tolerance_for(&self, dtype: crate::DType) -> RowTolerance {
        self.backward_tolerance().for_dtype(dtype)
    }
}

fn unknown_parameter(info: &RowOpInfo, name: &str) -> ActivationError {
    let names: Vec<&str> = info.parameters.iter().map(|p| p.name).collect();
    ActivationError::UnknownParameter {
        op: info.name,
        name: name.to_string(),
        known: if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        },
    }
}

impl std::fmt::Display for RowActivation {
    /// PyTorch's repr style: `softmax(dim=-1)`, `softmax2d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::activation::write_call(f, self.name(), self.info().parameters, |name| {
            self.parameter(name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_and_dims() {
        for info in RowActivation::OPS {
            let op = (info.with_dim)(-1);
            let text: Vec<(&str, String)> = info
                .parameters
                .iter()
                .map(|p| (p.name, op.parameter(p.name).unwrap().to_text()))
                .collect();
            let pairs: Vec<(&str, &str)> = text.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert_eq!(RowActivation::parse(info.name, &pairs).unwrap(), op);
            assert!(op.to_string().starts_with(info.name));
        }
        assert_eq!(
            RowActivation::Softmax { dim: -1 }.to_string(),
            "softmax(dim=-1)"
        );
        assert_eq!(RowActivation::Softmax2d.to_string(), "softmax2d");
        let op = RowActivation::Softmax { dim: -1 };
        assert_eq!(op.resolve_dim(&[2, 3]).unwrap(), 1);
        assert_eq!(op.resolve_dim(&[]).unwrap(), 0);
        assert!(matches!(op.along(0).resolve_dim(&[2, 3]), Ok(0)));
        assert!(matches!(
            RowActivation::Softmax { dim: 2 }.resolve_dim(&[2, 3]),
            Err(ActivationError::DimOutOfRange { dim: 2, .. })
        ));
        assert!(matches!(
            RowActivation::Softmax { dim: -3 }.resolve_dim(&[2, 3]),
            Err(ActivationError::DimOutOfRange { .. })
        ));
        assert_eq!(
            RowActivation::Softmax2d.resolve_dim(&[2, 3, 4, 5]).unwrap(),
            1
        );
        assert_eq!(RowActivation::Softmax2d.resolve_dim(&[3, 4, 5]).unwrap(), 0);
        assert!(matches!(
            RowActivation::Softmax2d.resolve_dim(&[4, 5]),
            Err(ActivationError::UnsupportedRank { .. })
        ));
        assert!(matches!(
            RowActivation::parse("softmax", &[("dim", "x")]),
            Err(ActivationError::BadParameterValue { .. })
        ));
        assert!(matches!(
            RowActivation::parse("softmax", &[("dim", "0"), ("dim", "1")]),
            Err(ActivationError::RepeatedParameter { .. })
        ));
        assert!(matches!(
            RowActivation::parse("softmax", &[("axis", "1")]),
            Err(ActivationError::UnknownParameter { .. })
        ));
        assert!(matches!(
            RowActivation::parse("softmax2d", &[("dim", "1")]),
            Err(ActivationError::UnknownParameter { .. })
        ));
    }

    #[test]
    fn geometry_of_shapes() {
        let g = RowGeometry::of(&[2, 3, 4, 5], 1).unwrap();
        assert_eq!((g.outer, g.n, g.inner), (2, 3, 20));
        assert_eq!(g.rows(), 40);
        assert_eq!(g.len(), 120);
        let g = RowGeometry::of(&[7], 0).unwrap();
        assert_eq!((g.outer, g.n, g.inner), (1, 7, 1));
        let g = RowGeometry::of(&[2, 0, 3], 1).unwrap();
        assert_eq!((g.outer, g.n, g.inner, g.len()), (2, 0, 3, 0));
        // Beside a 0, the other dimensions may multiply past usize::MAX.
        let g = RowGeometry::of(&[0, 1 << 33, 1 << 33], 0).unwrap();
        assert_eq!((g.outer, g.n, g.inner, g.len()), (1, 0, usize::MAX, 0));
        let g = RowGeometry::of(&[1 << 40, 0, 1 << 40], 1).unwrap();
        assert_eq!((g.rows(), g.len()), (usize::MAX, 0));
        assert!(g.is_empty());
        assert!(matches!(
            RowGeometry::of(&[2, 3], 2),
            Err(ActivationError::DimOutOfRange { .. })
        ));
        assert!(matches!(
            RowGeometry::of(&[1 << 40, 1 << 40], 0),
            Err(ActivationError::ShapeOverflow(_))
        ));
        // A 0 anywhere makes the shape empty, not overflowing.
        assert_eq!(element_count(&[1 << 62, 1 << 62, 0]).unwrap(), 0);
        assert!(RowGeometry::of(&[1 << 62, 1 << 62, 0], 2)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn tolerance_bounds() {
        let t = RowTolerance::new(2, 0);
        assert!(t.accepts(1.0f32, 1.0, 0.0));
        let next = f32::from_bits(1.0f32.to_bits() + 2);
        assert!(t.accepts(next, 1.0, 0.0));
        assert!(!t.accepts(f32::from_bits(1.0f32.to_bits() + 3), 1.0, 0.0));
        assert!(!t.accepts(f32::NAN, 1.0, 0.0));
        assert!(t.accepts(f32::NAN, f64::NAN, 0.0));
        assert!(t.accepts(f32::NEG_INFINITY, f64::NEG_INFINITY, 0.0));
        assert!(!t.accepts(f32::MIN, f64::NEG_INFINITY, 0.0));
        let scaled = RowTolerance::new(0, 2);
        assert!(scaled.accepts(1e-7f32, 0.0, 1.0));
        assert!(!scaled.accepts(1e-6f32, 0.0, 1.0));
        assert!(scaled.accepts(123.0f32, 0.0, 1e40));
    }
}

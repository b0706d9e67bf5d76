//! How close a GPU result must be to the CPU reference: [`Tolerance`], and
//! distances in units in the last place ([`ulp_distance`]). Public so that
//! users running their own differential tests (of the WGSL functions in their
//! shaders, say) hold them to the crate's own standard.

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
    /// For a gradient `g * f'(x)` the crate's own tests hold `f'(x)` to the
    /// ulps and accept `g` times that band rounded once more ([`Tolerance::accepts`]
    /// itself compares in ulps of the value given).
    Close {
        /// Units in the last place allowed around the reference values.
        ulps: u32,
        /// Relative input perturbation allowed, in f32 epsilons (2^-23).
        input_eps: u32,
    },
}

/// `exact`, `4 ulps`, `4 ulps, 2 eps`: as the README's accuracy table has it.
impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Tolerance::Exact => f.write_str("exact"),
            Tolerance::Close { ulps, input_eps: 0 } => write!(f, "{ulps} ulps"),
            Tolerance::Close { ulps, input_eps } => write!(f, "{ulps} ulps, {input_eps} eps"),
        }
    }
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

//! The definition of every row op, one entry each: the enum, its registry,
//! parsing, `Display`, the kernels' variant, the CPU twin, the tolerances,
//! the command line's `list` and the README's tables are derived from here.
//!
//! An entry is
//!
//! ```text
//! /// Doc of the variant.
//! Variant { /// doc
//!           dim } => {        (or no braces: an op without parameters)
//!     name: PyTorch's name,
//!     summary: the forward in one line,
//!     gradient: the gradient from the output y, in one line,
//!     family: the kernel template / CPU module,
//!     ranks: the input ranks it takes,
//!     dim: the dimension it reduces along (`dim`, or a constant),
//!     kernel: what the kernels compute (`RowKernel`),
//!     cpu: forward twin of one row, backward twin of one row,
//!     tolerance: forward, backward (f32; f16 is derived),
//!     accuracy: where the kernels' error comes from (the tolerance's reason),
//! }
//! ```

use super::{row_activations, Ranks, RowKernel, RowTolerance, ANY_RANK};
use crate::cpu::softmax;

row_activations! {
    /// `softmax(x, dim)_j = exp(x_j - max) / sum_k exp(x_k - max)` along
    /// `dim`; gradient from the output `y`: `y * (g - sum(g * y))`.
    Softmax {
        /// The dimension to normalize along (negative counts from the end).
        dim
    } => {
        name: "softmax",
        summary: "exp(x - max) / sum(exp(x - max)) along dim",
        gradient: "y * (g - sum(g * y))",
        family: "softmax",
        ranks: ANY_RANK,
        dim: dim,
        kernel: RowKernel { negate: false, log: false },
        cpu: softmax::softmax_row, softmax::softmax_backward_row,
        tolerance: RowTolerance::new(8, 0), RowTolerance::new(2, 2),
        accuracy: "exp of the exact x - max (3 ulps) enters the numerator and, averaged, the double-f32 sum; one division. Gradient: the products g y are rounded once before their sum cancels (the scaled term)",
    },

    /// `log_softmax(x, dim)_j = (x_j - max) - log(sum_k exp(x_k - max))`
    /// along `dim`, without `log(exp(..))`; gradient from the output `y`:
    /// `g - exp(y) * sum(g)`.
    LogSoftmax {
        /// The dimension to normalize along (negative counts from the end).
        dim
    } => {
        name: "log_softmax",
        summary: "(x - max) - log(sum(exp(x - max))) along dim",
        gradient: "g - exp(y) * sum(g)",
        family: "softmax",
        ranks: ANY_RANK,
        dim: dim,
        kernel: RowKernel { negate: false, log: true },
        cpu: softmax::log_softmax_row, softmax::log_softmax_backward_row,
        tolerance: RowTolerance::new(7, 0), RowTolerance::new(2, 5),
        accuracy: "(x - max) - log(sum): two terms of one sign; the log of the double-f32 sum is log1p of its part beyond 1 (3 ulps), which carries the exp errors (3 ulps) of the smaller terms. Gradient: exp(y) (3 ulps) times sum(g) cancels against g (the scaled term)",
    },

    /// `softmin(x, dim) = softmax(-x, dim)`; gradient from the output `y`:
    /// `-(y * (g - sum(g * y)))`.
    Softmin {
        /// The dimension to normalize along (negative counts from the end).
        dim
    } => {
        name: "softmin",
        summary: "exp(min - x) / sum(exp(min - x)) along dim",
        gradient: "y * (sum(g * y) - g)",
        family: "softmax",
        ranks: ANY_RANK,
        dim: dim,
        kernel: RowKernel { negate: true, log: false },
        cpu: softmax::softmin_row, softmax::softmin_backward_row,
        tolerance: RowTolerance::new(8, 0), RowTolerance::new(2, 2),
        accuracy: "as softmax, of -x (exact)",
    },

    /// PyTorch's `nn.Softmax2d`: softmax over the channels (`dim = -3`) of a
    /// `(C, H, W)` or `(N, C, H, W)` input, at each spatial location.
    Softmax2d => {
        name: "softmax2d",
        summary: "softmax along dim -3 of a (C, H, W) or (N, C, H, W) input",
        gradient: "y * (g - sum(g * y))",
        family: "softmax",
        ranks: Ranks { min: 3, max: 4 },
        dim: -3,
        kernel: RowKernel { negate: false, log: false },
        cpu: softmax::softmax_row, softmax::softmax_backward_row,
        tolerance: RowTolerance::new(8, 0), RowTolerance::new(2, 2),
        accuracy: "as softmax",
    },
}

//! CPU twin of `shaders/softmax.wgsl`: softmax, log_softmax and softmin of
//! one row, forward and backward, in f64 with compensated (Neumaier) sums,
//! and the same over whole tensors along any dimension ([`row_forward`],
//! [`row_backward`]). Which function computes which op is said once, in the
//! op's definition (`src/row/definitions.rs`).
//!
//! Special values follow the crate's rule for the row ops (see
//! [`crate::row`]): a NaN anywhere in a row makes the row NaN; a row whose
//! maximum is infinite has a limit only when exactly one entry equals that
//! maximum (one `+inf`, or a row of one element), and is NaN otherwise.

use super::{narrow, widen, Denormals, Float};
use crate::error::{ActivationError, Result};
use crate::row::{RowActivation, RowGeometry};

/// A sum with Neumaier's compensation: about one rounding of the total,
/// whatever the number of terms. An infinite term gives an infinite sum (the
/// compensation stops there), a NaN term a NaN sum.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CompensatedSum {
    sum: f64,
    carry: f64,
}

impl CompensatedSum {
    /// Adds `term`.
    pub fn add(&mut self, term: f64) {
        let t = self.sum + term;
        if t.is_finite() {
            self.carry += if self.sum.abs() >= term.abs() {
                (self.sum - t) + term
            } else {
                (term - t) + self.sum
            };
        }
        self.sum = t;
    }

    /// The sum of the terms added so far.
    pub fn total(&self) -> f64 {
        if self.sum.is_finite() {
            self.sum + self.carry
        } else {
            self.sum
        }
    }
}

/// The compensated sum of `terms`.
pub fn sum(terms: impl IntoIterator<Item = f64>) -> f64 {
    let mut acc = CompensatedSum::default();
    for term in terms {
        acc.add(term);
    }
    acc.total()
}

/// What the forward needs of a row: its maximum `m`, and each entry's
/// `exp(x - m)`, taken as exactly 1 where `x == m` (so an infinite maximum
/// gives 1 for the entries equal to it, not `exp(NaN)`); `rest` is
/// `sum(exp(x - m)) - 1`, summed without the 1 of one maximal entry so that
/// `log(1 + rest)` keeps its relative accuracy when the maximum dominates.
/// `None` when the row is NaN: a NaN entry, or an infinite maximum shared by
/// several entries (no limit exists).
struct RowStats {
    max: f64,
    exps: Vec<f64>,
    rest: f64,
}

fn row_stats(x: &[f64], dn: Denormals) -> Option<RowStats> {
    if x.iter().any(|v| v.is_nan()) {
        return None;
    }
    let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let maxima = x.iter().filter(|&&v| v == max).count();
    if max.is_infinite() && maxima != 1 {
        return None;
    }
    let exps: Vec<f64> = x
        .iter()
        .map(|&v| if v == max { 1.0 } else { dn.exp(v - max) })
        .collect();
    let others = x
        .iter()
        .zip(&exps)
        .filter(|(&v, _)| v != max)
        .map(|(_, &e)| e);
    let rest = sum(std::iter::once((maxima - 1) as f64).chain(others));
    Some(RowStats { max, exps, rest })
}

/// `softmax(x)_j = exp(x_j - max) / sum_k exp(x_k - max)` over one row.
pub fn softmax_row(x: &[f64], dn: Denormals) -> Vec<f64> {
    match row_stats(x, dn) {
        None => vec![f64::NAN; x.len()],
        Some(stats) => {
            let total = 1.0 + stats.rest;
            stats.exps.iter().map(|e| e / total).collect()
        }
    }
}

/// `log_softmax(x)_j = (x_j - max) - log(sum_k exp(x_k - max))` over one
/// row, the logarithm taken as `log1p` of the sum less one maximal term.
pub fn log_softmax_row(x: &[f64], dn: Denormals) -> Vec<f64> {
    match row_stats(x, dn) {
        None => vec![f64::NAN; x.len()],
        Some(stats) => {
            let log_total = stats.rest.ln_1p();
            x.iter()
                .map(|&v| {
                    let shifted = if v == stats.max { 0.0 } else { v - stats.max };
                    shifted - log_total
                })
                .collect()
        }
    }
}

/// `softmin(x) = softmax(-x)` over one row.
pub fn softmin_row(x: &[f64], dn: Denormals) -> Vec<f64> {
    let negated: Vec<f64> = x.iter().map(|v| -v).collect();
    softmax_row(&negated, dn)
}

/// The magnitude of a row's terms, or infinity where their f32 sum may
/// overflow: [`crate::row::RowTolerance`] accepts anything there.
fn f32_magnitude(magnitude: f64) -> f64 {
    if magnitude > f64::from(f32::MAX) {
        f64::INFINITY
    } else {
        magnitude
    }
}

/// The gradient of softmax from its output `y` and the gradient `g` of its
/// output: `y_j * (g_j - sum_k g_k y_k)`. Also returns each element's scale
/// for [`crate::row::RowTolerance`]: `y_j * sum_k |g_k y_k|`, the size of
/// the terms that cancel in it (infinite where that sum exceeds f32's range).
pub fn softmax_backward_row(y: &[f64], g: &[f64], _dn: Denormals) -> (Vec<f64>, Vec<f64>) {
    let products: Vec<f64> = y.iter().zip(g).map(|(y, g)| y * g).collect();
    let dot = sum(products.iter().copied());
    let magnitude = f32_magnitude(sum(products.iter().map(|p| p.abs())));
    y.iter()
        .zip(g)
        .map(|(&y, &g)| (y * (g - dot), y.abs() * magnitude))
        .unzip()
}

/// The gradient of log_softmax from its output `y`: `g_j - exp(y_j) *
/// sum_k g_k`, with the scale `exp(y_j) * sum_k |g_k|` (infinite where that
/// sum exceeds f32's range).
pub fn log_softmax_backward_row(y: &[f64], g: &[f64], dn: Denormals) -> (Vec<f64>, Vec<f64>) {
    let total = sum(g.iter().copied());
    let magnitude = f32_magnitude(sum(g.iter().map(|v| v.abs())));
    y.iter()
        .zip(g)
        .map(|(&y, &g)| {
            let p = dn.exp(y);
            let scale = if magnitude.is_infinite() {
                magnitude
            } else {
                p * magnitude
            };
            (g - p * total, scale)
        })
        .unzip()
}

/// The gradient of softmin from its output: minus softmax's,
/// `y_j * (sum_k g_k y_k - g_j)`.
pub fn softmin_backward_row(y: &[f64], g: &[f64], dn: Denormals) -> (Vec<f64>, Vec<f64>) {
    let (values, scales) = softmax_backward_row(y, g, dn);
    (values.into_iter().map(|v| -v).collect(), scales)
}

/// The element indices of row `r` of `geometry`: `(r / inner) * n * inner +
/// r % inner + j * inner` for `j < n`.
pub fn row_indices(geometry: &RowGeometry, r: usize) -> impl Iterator<Item = usize> {
    let RowGeometry { n, inner, .. } = *geometry;
    let base = (r / inner) * n * inner + r % inner;
    (0..n).map(move |j| base + j * inner)
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

/// `op` forward over `x` of `shape`, unrounded: each row widened (inputs
/// flushed as `dn` says) and passed to the op's CPU twin.
pub fn row_forward_reference<T: Float>(
    op: &RowActivation,
    x: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<Vec<f64>> {
    let geometry = op.geometry(shape)?;
    check_len("input", geometry.len(), x.len())?;
    let mut out = vec![0.0; x.len()];
    if geometry.is_empty() {
        return Ok(out);
    }
    for r in 0..geometry.rows() {
        let indices: Vec<usize> = row_indices(&geometry, r).collect();
        let row: Vec<f64> = indices.iter().map(|&i| widen(x[i], dn)).collect();
        for (&i, v) in indices.iter().zip(op.cpu_forward_row(&row, dn)) {
            out[i] = v;
        }
    }
    Ok(out)
}

/// `op` forward over `x` of `shape`, rounded once to `T`.
pub fn row_forward<T: Float>(
    op: &RowActivation,
    x: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<Vec<T>> {
    Ok(row_forward_reference(op, x, shape, dn)?
        .into_iter()
        .map(|v| narrow(v, dn))
        .collect())
}

/// `op`'s gradient for its input from its output `y` and `grad_output`,
/// unrounded, with each element's scale (see [`crate::row::RowTolerance`]).
pub fn row_backward_reference<T: Float>(
    op: &RowActivation,
    y: &[T],
    grad_output: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let geometry = op.geometry(shape)?;
    check_len("output", geometry.len(), y.len())?;
    check_len("grad_output", geometry.len(), grad_output.len())?;
    let mut values = vec![0.0; y.len()];
    let mut scales = vec![0.0; y.len()];
    if geometry.is_empty() {
        return Ok((values, scales));
    }
    for r in 0..geometry.rows() {
        let indices: Vec<usize> = row_indices(&geometry, r).collect();
        let yr: Vec<f64> = indices.iter().map(|&i| widen(y[i], dn)).collect();
        let gr: Vec<f64> = indices.iter().map(|&i| widen(grad_output[i], dn)).collect();
        let (v, s) = op.cpu_backward_row(&yr, &gr, dn);
        for (k, &i) in indices.iter().enumerate() {
            values[i] = v[k];
            scales[i] = s[k];
        }
    }
    Ok((values, scales))
}

/// `op`'s gradient for its input from its output `y`, rounded once to `T`.
pub fn row_backward<T: Float>(
    op: &RowActivation,
    y: &[T],
    grad_output: &[T],
    shape: &[usize],
    dn: Denormals,
) -> Result<Vec<T>> {
    let (values, _) = row_backward_reference(op, y, grad_output, shape, dn)?;
    Ok(values.into_iter().map(|v| narrow(v, dn)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DN: Denormals = Denormals::Preserve;

    #[test]
    fn compensated_sum_keeps_what_a_plain_sum_loses() {
        let terms = [1.0, 1e-17, 1e-17, 1e-17, -1.0];
        assert_eq!(terms.iter().sum::<f64>(), 0.0);
        assert!((sum(terms) - 3e-17).abs() < 1e-30);
        assert_eq!(sum([1.0, f64::INFINITY, 2.0]), f64::INFINITY);
        assert!(sum([1.0, f64::NAN]).is_nan());
    }

    #[test]
    fn softmax_of_a_row() {
        let y = softmax_row(&[1.0, 2.0, 3.0], DN);
        let e = [(-2.0f64).exp(), (-1.0f64).exp(), 1.0];
        let total: f64 = e.iter().sum();
        for (a, b) in y.iter().zip(e) {
            assert!((a - b / total).abs() < 1e-16);
        }
        assert_eq!(softmax_row(&[], DN), Vec::<f64>::new());
        assert_eq!(softmax_row(&[5.0], DN), [1.0]);
    }

    #[test]
    fn log_softmax_keeps_the_tiny_log_of_the_maximum() {
        // log(1 + e^-40) = 4.25e-18: a plain log of the sum gives 0.
        let y = log_softmax_row(&[0.0, -40.0], DN);
        assert!((y[0] + (-40.0f64).exp()).abs() < 1e-33, "{}", y[0]);
        assert_eq!(y[1], -40.0 - (-40.0f64).exp());
    }

    #[test]
    fn special_values_follow_the_documented_rule() {
        let inf = f64::INFINITY;
        assert!(softmax_row(&[1.0, f64::NAN], DN).iter().all(|v| v.is_nan()));
        assert_eq!(softmax_row(&[1.0, -inf], DN), [1.0, 0.0]);
        assert_eq!(log_softmax_row(&[1.0, -inf], DN), [0.0, -inf]);
        // One +inf: the limit is one-hot.
        assert_eq!(softmax_row(&[1.0, inf, -inf], DN), [0.0, 1.0, 0.0]);
        assert_eq!(log_softmax_row(&[1.0, inf], DN), [-inf, 0.0]);
        // Two +inf, or a row of -inf: no limit.
        assert!(softmax_row(&[inf, inf], DN).iter().all(|v| v.is_nan()));
        assert!(softmax_row(&[-inf, -inf], DN).iter().all(|v| v.is_nan()));
        // One element: softmax is 1 whatever it is (but NaN stays NaN).
        assert_eq!(softmax_row(&[-inf], DN), [1.0]);
        assert_eq!(log_softmax_row(&[inf], DN), [0.0]);
        assert!(softmax_row(&[f64::NAN], DN)[0].is_nan());
        assert_eq!(softmin_row(&[1.0, -inf], DN), [0.0, 1.0]);
    }

    #[test]
    fn gradients_from_the_output() {
        let y = softmax_row(&[0.5, -1.0, 2.0], DN);
        let g = [1.0, 2.0, -3.0];
        let (gx, _) = softmax_backward_row(&y, &g, DN);
        let dot: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        for j in 0..3 {
            assert!((gx[j] - y[j] * (g[j] - dot)).abs() < 1e-15);
        }
        let ly = log_softmax_row(&[0.5, -1.0, 2.0], DN);
        let (lgx, _) = log_softmax_backward_row(&ly, &g, DN);
        for j in 0..3 {
            assert!((lgx[j] - (g[j] - ly[j].exp() * 0.0)).abs() < 1e-15);
        }
        let (mgx, _) = softmin_backward_row(&y, &g, DN);
        assert_eq!(mgx[0], -gx[0]);
    }
}

//! Tensor shapes: element counts and PReLU's channel layout.
//!
//! Shapes are row-major (C order) lists of dimension sizes, as in PyTorch; the
//! empty shape `[]` is a scalar of one element.

use crate::error::{ActivationError, Result};

/// The number of elements of `shape`, or an error if it overflows `usize`.
/// A shape with a 0 has no element, whatever its other dimensions multiply
/// to: `[1 << 62, 1 << 62, 0]` is as empty as `[0, 1 << 62, 1 << 62]` (the
/// order of the dimensions does not decide between empty and overflow).
pub fn element_count(shape: &[usize]) -> Result<usize> {
    if shape.contains(&0) {
        return Ok(0);
    }
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| ActivationError::ShapeOverflow(shape.to_vec()))
}

/// The product of `dims`, saturating at `usize::MAX`: the exact product
/// wherever [`element_count`] accepted the whole shape and it is not empty;
/// for an empty shape (a 0 somewhere) the dimensions beside the 0 may
/// overflow, and only whether a product is 0 matters there.
pub fn saturating_product(dims: &[usize]) -> usize {
    dims.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// `dim` of a tensor of `rank` dimensions counted from the front (negative
/// counts from the end, as in PyTorch), or `DimOutOfRange` naming `op` and
/// `shape`.
pub fn wrap_dim(op: &'static str, dim: i64, rank: usize, shape: &[usize]) -> Result<usize> {
    let rank = rank as i64;
    let wrapped = if dim < 0 { dim + rank } else { dim };
    if !(0..rank).contains(&wrapped) {
        return Err(ActivationError::DimOutOfRange {
            op,
            dim,
            shape: shape.to_vec(),
        });
    }
    Ok(wrapped as usize)
}

/// PReLU's view of `shape`: `(channels, inner)`, where `channels` is the size
/// of dimension 1 (1 for shapes of fewer than 2 dimensions, as in PyTorch) and
/// `inner` the number of elements per channel block (the product of the
/// dimensions after dimension 1). Element `i` belongs to channel
/// `(i / inner) % channels`.
/// In an empty shape the product saturates at `usize::MAX`.
pub fn prelu_channels(shape: &[usize]) -> (usize, usize) {
    if shape.len() < 2 {
        (1, saturating_product(shape).max(1))
    } else {
        (shape[1], saturating_product(&shape[2..]).max(1))
    }
}

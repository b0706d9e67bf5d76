//! The error type of every fallible call in this crate.
//!
//! Nothing here panics on bad input: shapes, parameters, buffer sizes, usages
//! and alignments are checked before any command is recorded, and wgpu
//! validation errors raised while creating pipelines, bind groups or submitting
//! work are caught in error scopes and returned as [`ActivationError::Validation`]
//! instead of reaching wgpu's default handler (which panics).

use thiserror::Error;

/// Everything that can go wrong when running an activation.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// No GPU adapter matched the request (none installed, or none matching `WGPU_ADAPTER_NAME`).
    #[error("no GPU adapter found: {0}")]
    NoAdapter(String),

    /// The adapter refused to create a device.
    #[error("could not create a device on adapter '{adapter}': {reason}")]
    RequestDevice {
        /// Name of the adapter that refused.
        adapter: String,
        /// wgpu's explanation.
        reason: String,
    },

    /// Two things that must have the same number of elements do not.
    #[error("length mismatch: {what} has {actual} elements, expected {expected}")]
    LengthMismatch {
        /// Which argument is off.
        what: &'static str,
        /// Elements required.
        expected: usize,
        /// Elements given.
        actual: usize,
    },

    /// Two tensors that must have the same shape do not.
    #[error("{what} has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Which argument is off.
        what: &'static str,
        /// The shape required.
        expected: Vec<usize>,
        /// The shape given.
        actual: Vec<usize>,
    },

    /// A shape whose element count overflows the address space.
    #[error("shape {0:?} has more elements than this machine can address")]
    ShapeOverflow(Vec<usize>),

    /// A tensor made by another `GpuContext` (another device) was passed.
    #[error("{what} belongs to another GpuContext (another device); use tensors of this context")]
    ForeignTensor {
        /// Which argument.
        what: &'static str,
    },

    /// A count that does not fit the GPU's 32-bit indexing or the device's limits.
    #[error("{what} has {len} elements; at most {max} are supported")]
    TooLarge {
        /// Which argument is too large.
        what: &'static str,
        /// Elements given.
        len: u64,
        /// The largest count supported.
        max: u64,
    },

    /// The PReLU weight holds neither 1 value nor one per channel.
    #[error(
        "prelu weight has {actual} values; expected 1 or {channels} (one per channel, dimension 1 of the input)"
    )]
    PreluWeightCount {
        /// Channels of the input (size of dimension 1, or 1 for inputs of fewer than 2 dimensions).
        channels: usize,
        /// Values in the weight.
        actual: usize,
    },

    /// PReLU was asked for without a weight, or another op was given one.
    #[error("{op}: {problem}")]
    WeightArgument {
        /// The op (PyTorch name).
        op: &'static str,
        /// What is wrong.
        problem: &'static str,
    },

    /// An op parameter is out of its domain (a NaN slope, an infinite alpha, ...).
    #[error("{op}: invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// The op (PyTorch name).
        op: &'static str,
        /// The parameter (PyTorch argument name).
        name: &'static str,
        /// The value given.
        value: f32,
        /// What the value must be.
        reason: &'static str,
    },

    /// No op of this name (PyTorch's `torch.nn.functional` names are used).
    #[error("unknown op '{0}' (see `Activation::OPS` or `wgpu-activations list`)")]
    UnknownOp(String),

    /// The op has no parameter of this name.
    #[error("{op} has no parameter '{name}'; its parameters: {known}")]
    UnknownParameter {
        /// The op (PyTorch name).
        op: &'static str,
        /// The name given.
        name: String,
        /// The op's parameters, comma-separated.
        known: String,
    },

    /// A parameter given more than once (`negative-slope` and
    /// `negative_slope` are the same parameter).
    #[error("{op}: parameter '{name}' is given more than once")]
    RepeatedParameter {
        /// The op (PyTorch name).
        op: &'static str,
        /// The parameter (snake case).
        name: String,
    },

    /// A parameter value that does not parse as the parameter's type.
    #[error("{op}: cannot read {name} = '{value}' as {expected}")]
    BadParameterValue {
        /// The op (PyTorch name).
        op: &'static str,
        /// The parameter.
        name: &'static str,
        /// The text given.
        value: String,
        /// What was expected.
        expected: String,
    },

    /// The op cannot do what was asked (its gradient from the output, say).
    #[error("{op}: {what}")]
    Unsupported {
        /// The op (PyTorch name), or "f16" for the element type.
        op: &'static str,
        /// What it cannot do, and why.
        what: &'static str,
    },

    /// Tensors of different element types were mixed in one op.
    #[error("{what} is {actual}, expected {expected} like the input")]
    DtypeMismatch {
        /// Which argument.
        what: &'static str,
        /// Its element type.
        actual: &'static str,
        /// The input's element type.
        expected: &'static str,
    },

    /// A buffer range holds fewer bytes than the op needs.
    #[error("{what} is too small: {needed} bytes needed, {available} available")]
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Bytes needed from the range's offset.
        needed: u64,
        /// Bytes in the range.
        available: u64,
    },

    /// A buffer lacks a usage flag the op needs (STORAGE to be bound, COPY_SRC to be read back, ...).
    #[error("{what} was created without {usage} usage")]
    MissingUsage {
        /// Which buffer.
        what: &'static str,
        /// The missing `wgpu::BufferUsages` flag.
        usage: &'static str,
    },

    /// A buffer range starts at an offset the device cannot bind.
    #[error("{what} starts at byte offset {offset}, which is not a multiple of {alignment}")]
    MisalignedOffset {
        /// Which buffer.
        what: &'static str,
        /// The offset given.
        offset: u64,
        /// The alignment the device requires.
        alignment: u64,
    },

    /// Two ranges that the op reads and writes at once overlap in the same buffer.
    #[error("{written} overlaps {other} in the same buffer; use separate buffers")]
    AliasedBuffers {
        /// The range the op writes.
        written: &'static str,
        /// The range it overlaps.
        other: &'static str,
    },

    /// An out-of-place entry point was given the same range to read and to
    /// write: ops that overwrite their input (or the output's gradient) have
    /// their own entry points, which bind the range once, read-write.
    #[error(
        "{written} is the same range as {other}: to overwrite {other} in place, use {in_place}"
    )]
    SameRange {
        /// The range the op writes.
        written: &'static str,
        /// The range it reads, the same.
        other: &'static str,
        /// The in-place entry points to use instead.
        in_place: &'static str,
    },

    /// A row op was given without a parameter it requires (`dim`: PyTorch has no default).
    #[error("{op} needs {name} (PyTorch's {op} has no default for it)")]
    MissingParameter {
        /// The op (PyTorch name).
        op: &'static str,
        /// The missing parameter.
        name: &'static str,
    },

    /// A row op's `dim` is not a dimension of the input.
    #[error(
        "{op}: dim {dim} is out of range for a tensor of shape {shape:?} (expected {})",
        dim_range(shape.len())
    )]
    DimOutOfRange {
        /// The op (PyTorch name).
        op: &'static str,
        /// The dimension given.
        dim: i64,
        /// The input's shape.
        shape: Vec<usize>,
    },

    /// The input has a number of dimensions the op does not take (softmax2d: 3 or 4).
    #[error("{op} expects {expected}; got shape {shape:?}")]
    UnsupportedRank {
        /// The op (PyTorch name).
        op: &'static str,
        /// The input's shape.
        shape: Vec<usize>,
        /// The ranks it takes, in words.
        expected: &'static str,
    },

    /// A gated op's dimension cannot be split in two halves: its size is odd.
    #[error(
        "{op}: dimension {dim} of shape {shape:?} has size {size}, which is odd: it must split into two halves of equal size"
    )]
    OddHalves {
        /// The op (PyTorch / vLLM name).
        op: &'static str,
        /// The dimension split (wrapped: 0 to rank - 1).
        dim: usize,
        /// Its size.
        size: usize,
        /// The input's shape.
        shape: Vec<usize>,
    },

    /// The device was lost (driver reset, `destroy`, ...); create a new context.
    #[error("GPU device lost: {0}")]
    DeviceLost(String),

    /// Mapping a buffer for reading failed.
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),

    /// wgpu reported a validation error, caught in an error scope.
    #[error("wgpu validation error: {0}")]
    Validation(String),

    /// The device ran out of memory.
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
}

/// The dimensions valid for a tensor of `rank` dimensions, as PyTorch wraps
/// them (a 0-D tensor counts as 1-D): `-2 to 1`.
fn dim_range(rank: usize) -> String {
    let rank = rank.max(1) as i64;
    format!("{} to {}", -rank, rank - 1)
}

/// Shorthand for results of this crate.
pub type Result<T, E = ActivationError> = std::result::Result<T, E>;

//! Streams an array through the GPU in chunks: a reader thread reads chunks
//! from the files, this thread uploads each into a ring of buffer slots,
//! records the op and a copy to a mappable staging buffer, and submits, and a
//! writer thread writes the results out in order. Uploads, kernels and
//! downloads of different chunks overlap; memory stays bounded by the slots
//! and the bounded channels between the threads. A row or gated op's piece
//! holds whole blocks and may be larger than a chunk (one block up to the
//! largest buffer, split into storage bindings by the library): such pieces
//! go through one slot, one at a time, with nothing queued.
//!
//! Each chunk is recorded with the library's encoding API over the slot's
//! buffers, with `first_element` set where the position in the whole tensor
//! matters (RReLU's random slopes), and with a shape that keeps PReLU's
//! channels those of the whole tensor (see [`Planner`]). A row op (softmax
//! and its family) is cut into pieces of whole rows: whole slices
//! `x[o, ...]` of the dimensions from `dim` on, which hold every row they
//! touch. A gated op (glu, silu_and_mul, ...) is cut into pieces of whole
//! pairs of halves: whole slices from the split dimension on, which hold
//! both halves of every pair they touch; its output (forward) and the
//! gradient of its output (backward) are half as long as each piece.
//!
//! The fused epilogue (`--bias`, `--residual`) records the library's fused
//! kernels instead: a bias's channels are kept those of the whole tensor the
//! way PReLU's are (whole periods, or whole channel blocks with the bias
//! values gathered), the residual is read beside the input, and the bias's
//! gradient is summed over the pieces like PReLU's weight gradient.

use std::fs::File;
use std::io::{Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use wgpu_activations::tensor::prelu_channels;
use wgpu_activations::tensor::MAX_ELEMENTS;
use wgpu_activations::{
    f16, Activation, DType, FusedBackwardBuffers, FusedForwardBuffers, GatedActivation,
    GatedFusedBackwardBuffers, GatedFusedForwardBuffers, GpuContext, RowActivation,
    RowBackwardBuffers, RowForwardBuffers, TensorView,
};

use crate::error::{gpu, CliError, Result};
use crate::npy::{io_message, Dtype};

/// How long a chunk's read-back may take after its submission completed.
const MAP_DEADLINE: Duration = Duration::from_secs(60);
/// One wait for a map callback between polls.
const MAP_WAIT: Duration = Duration::from_millis(5);

/// Buffer slots in flight on the GPU (at most; one where a piece is larger
/// than a chunk).
const SLOTS: usize = 3;
/// Chunks queued between the threads (on each side of the GPU thread; none
/// where a piece is larger than a chunk).
const QUEUED: usize = 2;
/// Default bytes per chunk buffer (capped by the device's binding size).
const CHUNK_BYTES: u64 = 32 << 20;
/// Overrides the elements per chunk (to test streaming on small files).
pub const CHUNK_ENV: &str = "WGPU_ACTIVATIONS_CHUNK_ELEMENTS";
/// Set to 1 to process float16 files as float32 on the GPU even where the
/// adapter has SHADER_F16 (what adapters without it do).
pub const F16_VIA_F32_ENV: &str = "WGPU_ACTIVATIONS_F16_VIA_F32";

/// A file of `len` elements of `dtype`, positioned at its data.
pub struct Source {
    pub name: String,
    pub file: File,
}

/// The op of a stream.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// An elementwise op.
    Elementwise(Activation),
    /// A row op (softmax and its family): its backward's input is the
    /// forward's output.
    Row(RowActivation),
    /// A gated op: its output, and the gradient of its output, are half
    /// as long as its input.
    Gated(GatedActivation),
}

impl Op {
    fn uses_weight(&self) -> bool {
        matches!(self, Op::Elementwise(op) if op.uses_weight())
    }
}

impl From<Activation> for Op {
    fn from(op: Activation) -> Self {
        Op::Elementwise(op)
    }
}

/// What to run over which files.
pub struct Job<'a> {
    pub op: Op,
    /// The file's element type.
    pub dtype: Dtype,
    pub shape: &'a [usize],
    pub len: usize,
    pub input: Source,
    /// Backward only: the gradient of the loss with respect to the output.
    pub grad_output: Option<Source>,
    /// PReLU's weight, as little-endian bytes of `dtype`.
    pub weight: Option<&'a [u8]>,
    /// Backward with PReLU: also compute the weight's gradient.
    pub grad_weight: bool,
    /// The fused epilogue's bias (elementwise and gated ops).
    pub bias: Option<Bias<'a>>,
    /// Forward, fused epilogue: a file of the output's shape added to the
    /// op's output.
    pub residual: Option<Source>,
    /// Backward with a bias: also compute the bias's gradient.
    pub grad_bias: bool,
    /// The output's name, for messages.
    pub output_name: &'a str,
}

/// The fused epilogue's bias: `shape[dim]` values added to the input
/// before the op.
#[derive(Debug, Clone, Copy)]
pub struct Bias<'a> {
    /// Little-endian bytes of the job's dtype.
    pub values: &'a [u8],
    /// The dimension it runs along, counted from the front.
    pub dim: usize,
}

/// How the job went.
pub struct Outcome {
    /// The weight gradient, summed over the chunks in f64 in chunk order.
    pub grad_weight: Option<Vec<f64>>,
    /// The bias gradient, summed the same way.
    pub grad_bias: Option<Vec<f64>>,
}

/// How chunks map onto PReLU's channels.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// No weight: any chunking.
    Plain,
    /// One weight shared by every element: any chunking.
    Shared,
    /// One weight (or bias value) per channel; `period = channels * inner`
    /// elements.
    PerChannel { channels: u64, inner: u64 },
    /// One piece: the whole tensor with its own shape (PReLU's channels and
    /// a bias along another dimension, or a gated op's bias along a
    /// dimension before the split one, in a tensor that fits one chunk).
    /// `gated`: the output is half as long.
    Whole { gated: bool },
    /// A row op along the middle of `[outer, n, inner]`: pieces of whole
    /// blocks of `n * inner` elements, recorded with shape `[blocks, n,
    /// inner]` along dimension 1.
    Rows { n: u64, inner: u64 },
    /// A gated op over `[outer, 2 * half, inner]` split along dimension
    /// `split`: pieces of whole blocks of `2 * half * inner` elements (both
    /// halves), recorded with shape `[blocks] ++ shape[split..]` split along
    /// 1, so that a bias at or after the split dimension keeps its dimension
    /// (`dim - split + 1`).
    Gated { half: u64, inner: u64, split: usize },
}

/// One chunk: elements `start..start + count` of the whole tensor.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    start: u64,
    count: u64,
    /// The shape the chunk is recorded with (element count `count`).
    shape: Vec<usize>,
    /// Elements of the gradient of the output read, and of the output
    /// written: `count`, or half of it for a gated op.
    half_count: bool,
    first_element: u64,
    /// PReLU, chunks of partial periods: the chunk covers `k` channel
    /// blocks from channel `c0` on (mod channels), and gets the gathered
    /// weights `w[(c0 + j) % channels]` for `j < k`.
    gather: Option<(u64, u64)>,
}

/// Cuts `n` elements into pieces of at most `chunk` elements.
///
/// PReLU with one weight per channel: where a whole period (`channels *
/// inner` elements) fits in a chunk, chunks are whole periods, recorded with
/// shape `[periods, channels, inner]` and the whole weight, so that the
/// library's channel of each element, and its weight gradient, are those of
/// the whole tensor. Otherwise a chunk is whole channel blocks (`[1, k,
/// inner]` with the `k` weights gathered), or, where one block is larger
/// than a chunk, a piece of a block with its one weight.
#[derive(Debug, Clone)]
struct Planner {
    n: u64,
    chunk: u64,
    layout: Layout,
    next: u64,
    /// The tensor's shape: that of a [`Layout::Whole`] piece.
    shape: Vec<usize>,
    /// The op depends on each element's index in the whole tensor (RReLU in
    /// training mode): pieces carry their start as `first_element`.
    indexed: bool,
}

impl Planner {
    fn new(n: u64, chunk: u64, layout: Layout) -> Self {
        Planner {
            n,
            chunk: chunk.max(1),
            layout,
            next: 0,
            shape: vec![n as usize],
            indexed: false,
        }
    }

    /// Pieces that carry their place in the whole tensor.
    fn indexed(mut self, indexed: bool) -> Self {
        self.indexed = indexed;
        self
    }

    /// The tensor's shape, for a [`Layout::Whole`] piece.
    fn with_shape(mut self, shape: &[usize]) -> Self {
        self.shape = shape.to_vec();
        self
    }

    /// Elements of the next piece when pieces hold whole blocks of `block`
    /// elements: as many blocks as a chunk holds (at least one), at most `left`.
    fn whole_blocks(&self, block: u64, left: u64) -> u64 {
        ((self.chunk / block).max(1) * block).min(left)
    }

    /// The most elements of one piece, and the most gathered weights.
    fn capacity(&self) -> (u64, u64) {
        let count = self.chunk.min(self.n);
        match self.layout {
            Layout::PerChannel { channels, inner } if channels * inner > self.chunk => {
                (count, (self.chunk / inner).max(1))
            }
            Layout::Rows { n, inner } => (self.whole_blocks((n * inner).max(1), self.n), 0),
            Layout::Gated { half, inner, .. } => {
                (self.whole_blocks((2 * half * inner).max(1), self.n), 0)
            }
            Layout::Whole { .. } => (self.n, 0),
            _ => (count, 0),
        }
    }
}

impl Iterator for Planner {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        let start = self.next;
        let left = self.n - start;
        if left == 0 {
            return None;
        }
        let mut piece = match self.layout {
            Layout::Plain | Layout::Shared => {
                let count = self.chunk.min(left);
                Piece {
                    start,
                    count,
                    shape: vec![count as usize],
                    first_element: 0,
                    gather: None,
                    half_count: false,
                }
            }
            Layout::Whole { gated } => Piece {
                start,
                count: left,
                shape: self.shape.clone(),
                first_element: 0,
                gather: None,
                half_count: gated,
            },
            Layout::Gated { half, inner, split } => {
                let block = 2 * half * inner;
                let count = self.whole_blocks(block, left);
                let mut shape = vec![(count / block) as usize];
                shape.extend_from_slice(&self.shape[split..]);
                Piece {
                    start,
                    count,
                    shape,
                    first_element: 0,
                    gather: None,
                    half_count: true,
                }
            }
            Layout::Rows { n, inner } => {
                // `n` is a multiple of the block (a non-empty tensor).
                let block = n * inner;
                let count = self.whole_blocks(block, left);
                Piece {
                    start,
                    count,
                    shape: vec![(count / block) as usize, n as usize, inner as usize],
                    first_element: 0,
                    gather: None,
                    half_count: false,
                }
            }
            Layout::PerChannel { channels, inner } => {
                let period = channels * inner;
                if period <= self.chunk {
                    // Whole periods; `n` is a multiple of the period.
                    let count = (self.chunk / period * period).min(left);
                    Piece {
                        start,
                        count,
                        shape: vec![(count / period) as usize, channels as usize, inner as usize],
                        first_element: 0,
                        gather: None,
                        half_count: false,
                    }
                } else if inner <= self.chunk {
                    let k = (self.chunk / inner).min(left / inner);
                    Piece {
                        start,
                        count: k * inner,
                        shape: vec![1, k as usize, inner as usize],
                        first_element: 0,
                        gather: Some(((start / inner) % channels, k)),
                        half_count: false,
                    }
                } else {
                    let block_end = (start / inner + 1) * inner;
                    let count = self.chunk.min(block_end - start);
                    Piece {
                        start,
                        count,
                        shape: vec![count as usize],
                        first_element: 0,
                        gather: Some(((start / inner) % channels, 1)),
                        half_count: false,
                    }
                }
            }
        };
        if self.indexed {
            piece.first_element = start;
        }
        self.next += piece.count;
        Some(piece)
    }
}

impl Piece {
    /// Elements of the gradient of the output.
    fn grad_count(&self) -> u64 {
        if self.half_count {
            self.count / 2
        } else {
            self.count
        }
    }

    /// Elements written: the output (forward), or the input's gradient.
    fn output_count(&self, backward: bool) -> u64 {
        if backward {
            self.count
        } else {
            self.grad_count()
        }
    }
}

/// A chunk read from the files, in the GPU's element type, padded to whole
/// 4-byte words.
struct Chunk {
    piece: Piece,
    input: Vec<u8>,
    grad_output: Option<Vec<u8>>,
    residual: Option<Vec<u8>>,
}

/// A per-channel tensor beside the stream (PReLU's weight, the bias): the
/// whole of it, or room for the values gathered for one piece.
struct ChannelValues {
    /// The values in the GPU's element type.
    values: Vec<u8>,
    len: u64,
    /// The whole tensor on the GPU, where pieces are whole periods.
    whole: Option<wgpu::Buffer>,
}

impl ChannelValues {
    /// The values `(c0 + j) % len` for `j < k`, as bytes of `element` each.
    fn gather(&self, c0: u64, k: u64, element: usize) -> Vec<u8> {
        let mut gathered = Vec::with_capacity(k as usize * element);
        for j in 0..k {
            let c = ((c0 + j) % self.len) as usize;
            gathered.extend_from_slice(&self.values[c * element..(c + 1) * element]);
        }
        pad_words(gathered)
    }
}

/// A per-channel gradient of one slot: the GPU buffer the kernel writes and
/// its mappable copy.
struct SumBuffers {
    sums: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// One ring slot: the buffers of one chunk in flight.
struct Slot {
    input: wgpu::Buffer,
    grad_output: Option<wgpu::Buffer>,
    residual: Option<wgpu::Buffer>,
    output: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// The weights gathered for a piece of partial periods.
    gathered: Option<wgpu::Buffer>,
    /// The bias values gathered for a piece of partial periods.
    gathered_bias: Option<wgpu::Buffer>,
    grad_weight: Option<SumBuffers>,
    grad_bias: Option<SumBuffers>,
    pending: Option<Pending>,
}

/// What a slot is waiting for.
struct Pending {
    piece: Piece,
    submission: wgpu::SubmissionIndex,
    maps: Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    expected_maps: usize,
    /// Values of the weight gradient this chunk produced.
    grad_weight_len: u64,
    /// Values of the bias gradient this chunk produced.
    grad_bias_len: u64,
}

/// A finished chunk: the output bytes in the file's type, and the chunk's
/// contributions to the weight's and the bias's gradients.
struct Finished {
    piece: Piece,
    output: Vec<u8>,
    grad_weight: Option<Vec<f64>>,
    grad_bias: Option<Vec<f64>>,
}

/// Streams `job` through the GPU, writing the output's data (no header) to
/// `out`.
pub fn run(
    ctx: &GpuContext,
    job: Job<'_>,
    out: &mut (dyn Write + Send),
    progress: &ProgressBar,
    verbose: bool,
) -> Result<Outcome> {
    let requested = match std::env::var(CHUNK_ENV) {
        Ok(text) => Some(
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|&c| c > 0)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "{CHUNK_ENV}={text:?}: expected a positive number of elements"
                    ))
                })?,
        ),
        Err(_) => None,
    };
    run_chunked(ctx, job, out, progress, verbose, requested)
}

/// [`run`] in chunks of at most `requested` elements (default: by bytes).
fn run_chunked(
    ctx: &GpuContext,
    job: Job<'_>,
    out: &mut (dyn Write + Send),
    progress: &ProgressBar,
    verbose: bool,
    requested: Option<u64>,
) -> Result<Outcome> {
    let has_f16 = ctx.device().features().contains(wgpu::Features::SHADER_F16);
    let force_f32 = std::env::var(F16_VIA_F32_ENV).is_ok_and(|v| v == "1");
    let (gpu_dtype, convert) = match job.dtype {
        Dtype::F32 => (DType::F32, false),
        Dtype::F16 if has_f16 && !force_f32 => (DType::F16, false),
        Dtype::F16 => (DType::F32, true),
    };
    let element = gpu_dtype.size();
    let n = job.len as u64;

    let limits = ctx.limits();
    let most = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
        / element
        / 4
        * 4;
    let chunk = requested.unwrap_or(CHUNK_BYTES / element).min(most).max(1);

    let weight_len = job.weight.map_or(0, |w| w.len() as u64 / job.dtype.size());
    let fused = job.bias.is_some() || job.residual.is_some();
    if fused && matches!(job.op, Op::Row(_)) {
        return Err(CliError::usage(
            "--bias and --residual are only for elementwise and gated ops",
        ));
    }
    if job.grad_bias && job.bias.is_none() {
        return Err(CliError::usage("--grad-bias needs --bias"));
    }
    let indexed = matches!(
        job.op,
        Op::Elementwise(Activation::Rrelu { training: true, .. })
    );
    if indexed && n > MAX_ELEMENTS {
        // Each element's random slope comes from its 32-bit index: refused
        // now rather than after streaming the first 2^32 elements.
        return Err(CliError::run(format!(
            "rrelu with --training takes at most {MAX_ELEMENTS} elements; {} has {n}",
            job.input.name
        )));
    }
    let layout = if let Op::Row(row) = job.op {
        let geometry = row
            .geometry(job.shape)
            .map_err(|e| CliError::usage(e.to_string()))?;
        let block = (geometry.n * geometry.inner) as u64;
        // A piece holds whole blocks: one block may be larger than a chunk,
        // but must fit the device's buffers (sized in 16-byte steps; the
        // library splits a block into storage bindings) and one op (at most
        // MAX_ELEMENTS).
        let largest = (limits.max_buffer_size / 16 * 16 / element).min(MAX_ELEMENTS);
        if block > largest {
            return Err(CliError::run(format!(
                "{}: {row} couples {block} elements (a whole slice from dim on, shape {:?}), \
                 more than one GPU buffer or one op holds ({largest}): the file cannot be \
                 streamed in pieces of whole rows",
                job.input.name, job.shape
            )));
        }
        Layout::Rows {
            n: geometry.n as u64,
            inner: geometry.inner as u64,
        }
    } else if let Op::Gated(gated) = job.op {
        let geometry = gated
            .geometry(job.shape)
            .map_err(|e| CliError::usage(e.to_string()))?;
        let block = 2 * geometry.half_block() as u64;
        // A piece holds whole pairs of halves, bound at once: one pair must
        // fit one storage binding.
        if block > most {
            return Err(CliError::run(format!(
                "{}: {gated} pairs elements {} apart (a whole slice from the split dimension \
                 on, shape {:?}): {block} elements, more than one GPU storage binding holds \
                 ({most}): the file cannot be streamed in pieces of whole pairs",
                job.input.name,
                block / 2,
                job.shape
            )));
        }
        let split = gated
            .resolve_dim(job.shape)
            .map_err(|e| CliError::usage(e.to_string()))?;
        match &job.bias {
            Some(bias) if bias.dim < split => {
                // The bias's channels span several pairs of halves.
                if n > chunk {
                    return Err(CliError::run(format!(
                        "{}: {gated} with a bias along dimension {}, before the split \
                         dimension {split}, cannot be streamed in pieces ({n} elements, more \
                         than one chunk of {chunk}): give the bias along the split dimension \
                         or after it",
                        job.input.name, bias.dim
                    )));
                }
                Layout::Whole { gated: true }
            }
            _ => Layout::Gated {
                half: geometry.half as u64,
                inner: geometry.inner as u64,
                split,
            },
        }
    } else if let Some(bias) = &job.bias {
        // The bias's channels decide the pieces; PReLU's per-channel weights
        // share them where they run along the same dimension (1), and
        // otherwise the tensor must be one piece.
        let channels = job.shape[bias.dim] as u64;
        let inner = job.shape[bias.dim + 1..].iter().product::<usize>() as u64;
        if job.op.uses_weight() && weight_len > 1 && bias.dim != 1 {
            if n > chunk {
                return Err(CliError::run(format!(
                    "{}: prelu with one weight per channel (dimension 1) and a bias along \
                     dimension {} cannot be streamed in pieces ({n} elements, more than one \
                     chunk of {chunk}): give the bias along dimension 1 (--bias-dim 1), or add \
                     the bias in a separate pass",
                    job.input.name, bias.dim
                )));
            }
            Layout::Whole { gated: false }
        } else {
            Layout::PerChannel { channels, inner }
        }
    } else if !job.op.uses_weight() {
        Layout::Plain
    } else if weight_len == 1 {
        Layout::Shared
    } else {
        let (channels, inner) = prelu_channels(job.shape);
        Layout::PerChannel {
            channels: channels as u64,
            inner: inner as u64,
        }
    };
    let planner = Planner::new(n, chunk, layout)
        .with_shape(job.shape)
        .indexed(indexed);
    let (capacity, gather_capacity) = planner.capacity();
    // Pieces in flight on the GPU and queued on each side of it: fewer where
    // there are fewer pieces, and one at a time where a piece is larger than
    // a chunk (a row or gated op's whole block: up to the largest buffer).
    let oversized = capacity > chunk;
    let slot_count =
        if oversized { 1 } else { SLOTS }.min(n.div_ceil(capacity.max(1)).max(1) as usize);
    let queued = if oversized { 0 } else { QUEUED };
    if verbose {
        say!(
            "{n} elements in chunks of up to {capacity} ({} on the GPU{})",
            gpu_dtype.name(),
            match (convert, has_f16) {
                (false, _) => "",
                (true, false) => ", converted from f16: the adapter lacks SHADER_F16",
                (true, true) => ", converted from f16 as asked",
            }
        );
    }

    // Weights and bias in the GPU's element type.
    let to_gpu = |w: &[u8]| {
        if convert {
            f16_to_f32_bytes(w)
        } else {
            w.to_vec()
        }
    };
    let weight: Option<Vec<u8>> = job.weight.map(to_gpu);
    let bias: Option<Vec<u8>> = job.bias.map(|b| to_gpu(b.values));
    let bias_len = job.bias.map_or(0, |b| job.shape[b.dim] as u64);

    let gpu_errors = catch_uncaptured(ctx);
    let device = ctx.device();
    let padded = |values: u64| (values * element).div_ceil(16).max(1) * 16;
    let buffer = |label: &str, values: u64, usage: wgpu::BufferUsages| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: padded(values),
            usage,
            mapped_at_creation: false,
        })
    };
    use wgpu::BufferUsages as U;
    // Values of a per-channel gradient one chunk produces, at most.
    let sums_capacity = |wanted: bool, len: u64| match (wanted, gather_capacity) {
        (false, _) => 0,
        (true, 0) => len,
        (true, gathered) => gathered,
    };
    let grad_weight_capacity = sums_capacity(job.grad_weight, weight_len);
    let grad_bias_capacity = sums_capacity(job.grad_bias, bias_len);
    let sum_buffers = |label: &str, capacity: u64| {
        (capacity > 0).then(|| SumBuffers {
            sums: buffer(label, capacity, U::STORAGE | U::COPY_SRC),
            staging: buffer(label, capacity, U::MAP_READ | U::COPY_DST),
        })
    };
    let (weight, bias, mut slots) = ctx
        .catching(|| {
            // Uploaded once where every piece takes the whole of it.
            let channel_values = |label: &str, values: Option<Vec<u8>>, len: u64| {
                values.map(|values| {
                    let whole = (gather_capacity == 0).then(|| {
                        let buffer = buffer(label, len, U::STORAGE | U::COPY_DST);
                        ctx.queue()
                            .write_buffer(&buffer, 0, &pad_words(values.clone()));
                        buffer
                    });
                    ChannelValues { values, len, whole }
                })
            };
            let weight = channel_values("weight", weight, weight_len);
            let bias = channel_values("bias", bias, bias_len);
            let gathered = |label: &str, values: &Option<ChannelValues>| {
                (values.is_some() && gather_capacity > 0)
                    .then(|| buffer(label, gather_capacity, U::STORAGE | U::COPY_DST))
            };
            let slots: Vec<Slot> = (0..slot_count)
                .map(|_| Slot {
                    input: buffer("input", capacity, U::STORAGE | U::COPY_DST),
                    grad_output: job
                        .grad_output
                        .as_ref()
                        .map(|_| buffer("grad_output", capacity, U::STORAGE | U::COPY_DST)),
                    residual: job
                        .residual
                        .as_ref()
                        .map(|_| buffer("residual", capacity, U::STORAGE | U::COPY_DST)),
                    output: buffer("output", capacity, U::STORAGE | U::COPY_SRC),
                    staging: buffer("staging", capacity, U::MAP_READ | U::COPY_DST),
                    gathered: gathered("gathered weight", &weight),
                    gathered_bias: gathered("gathered bias", &bias),
                    grad_weight: sum_buffers("grad_weight", grad_weight_capacity),
                    grad_bias: sum_buffers("grad_bias", grad_bias_capacity),
                    pending: None,
                })
                .collect();
            (weight, bias, slots)
        })
        .map_err(|e| {
            CliError::run(format!(
                "allocating GPU buffers for chunks of {capacity} elements: {e}"
            ))
        })?;

    let started = Instant::now();
    let (chunk_tx, chunk_rx) = sync_channel::<Result<Chunk>>(queued);
    let (out_tx, out_rx) = sync_channel::<Vec<u8>>(queued);
    let file_element = job.dtype.size() as usize;
    let bias_dim = job.bias.map(|b| b.dim);
    let Job {
        op,
        input,
        grad_output,
        residual,
        grad_weight,
        grad_bias,
        output_name,
        ..
    } = job;

    let mut sums = Sums {
        grad_weight: grad_weight.then(|| vec![0.0f64; weight_len as usize]),
        grad_bias: grad_bias.then(|| vec![0.0f64; bias_len as usize]),
    };
    let gpu = Gpu {
        ctx,
        op,
        dtype: gpu_dtype,
        convert,
        weight: weight.as_ref(),
        bias: bias.as_ref(),
        bias_dim,
        whole: matches!(layout, Layout::Whole { .. }),
        gated_split: match layout {
            Layout::Gated { split, .. } => Some(split),
            _ => None,
        },
        errors: &gpu_errors,
    };
    let outcome = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            read_chunks(
                planner,
                input,
                grad_output,
                residual,
                file_element as u64,
                convert,
                chunk_tx,
            )
        });
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for bytes in out_rx {
                out.write_all(&bytes)?;
            }
            Ok(())
        });
        let result = gpu.stream(
            &mut slots,
            chunk_rx,
            out_tx,
            &mut sums,
            progress,
            file_element,
        );
        let read = reader.join();
        let written = writer.join();
        // An I/O error of the writer explains why the stream stopped.
        match written {
            Ok(Err(e)) => {
                return Err(CliError::run(format!(
                    "{output_name}: writing the output: {}",
                    io_message(&e)
                )))
            }
            Err(_) => return Err(CliError::run("the writer thread failed")),
            Ok(Ok(())) => {}
        }
        if read.is_err() {
            return Err(CliError::run("the reader thread failed"));
        }
        result
    });
    let processed = outcome?;
    if processed != n {
        return Err(CliError::run(format!(
            "internal error: {processed} of {n} elements were processed"
        )));
    }
    if verbose {
        let seconds = started.elapsed().as_secs_f64();
        let megabytes = n as f64 * file_element as f64 / 1e6;
        let rate = if megabytes >= 1.0 {
            format!(" ({:.1} MB/s of input)", megabytes / seconds.max(1e-9))
        } else {
            String::new()
        };
        say!("processed {n} elements in {seconds:.3} s{rate}");
    }
    Ok(Outcome {
        grad_weight: sums.grad_weight,
        grad_bias: sums.grad_bias,
    })
}

/// The per-channel gradients of the whole tensor, summed over the pieces in
/// f64 in piece order.
struct Sums {
    grad_weight: Option<Vec<f64>>,
    grad_bias: Option<Vec<f64>>,
}

/// Reads the chunks the planner cuts, in order, and sends them on.
/// `file_element`: bytes per element in the files; `convert`: float16 files
/// processed as float32.
fn read_chunks(
    planner: Planner,
    mut input: Source,
    mut grad_output: Option<Source>,
    mut residual: Option<Source>,
    file_element: u64,
    convert: bool,
    tx: SyncSender<Result<Chunk>>,
) {
    let read = |source: &mut Source, count: u64| -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; (count * file_element) as usize];
        source.file.read_exact(&mut bytes).map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    "the file ended early (was it changed while being read?)".to_string()
                }
                _ => io_message(&e),
            };
            CliError::run(format!("{}: reading the data: {why}", source.name))
        })?;
        Ok(pad_words(if convert {
            f16_to_f32_bytes(&bytes)
        } else {
            bytes
        }))
    };
    for piece in planner {
        let chunk = (|| {
            let x = read(&mut input, piece.count)?;
            let g = match grad_output.as_mut() {
                Some(source) => Some(read(source, piece.grad_count())?),
                None => None,
            };
            let r = match residual.as_mut() {
                Some(source) => Some(read(source, piece.grad_count())?),
                None => None,
            };
            Ok(Chunk {
                piece: piece.clone(),
                input: x,
                grad_output: g,
                residual: r,
            })
        })();
        let failed = chunk.is_err();
        if tx.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// The GPU side of a stream.
struct Gpu<'a> {
    ctx: &'a GpuContext,
    op: Op,
    dtype: DType,
    convert: bool,
    /// PReLU's weight.
    weight: Option<&'a ChannelValues>,
    /// The fused epilogue's bias, and the dimension it runs along.
    bias: Option<&'a ChannelValues>,
    bias_dim: Option<usize>,
    /// One piece, the whole tensor with its shape ([`Layout::Whole`]).
    whole: bool,
    /// A gated op's split dimension, where pieces keep the dimensions from
    /// it on ([`Layout::Gated`]).
    gated_split: Option<usize>,
    errors: &'a Arc<Mutex<Option<String>>>,
}

impl Gpu<'_> {
    /// Runs every chunk from `chunks` through the slots and sends the
    /// results to `out`, in order. Returns the number of elements done.
    fn stream(
        &self,
        slots: &mut [Slot],
        chunks: Receiver<Result<Chunk>>,
        out: SyncSender<Vec<u8>>,
        sums: &mut Sums,
        progress: &ProgressBar,
        file_element: usize,
    ) -> Result<u64> {
        let mut done = 0u64;
        let mut deliver = |finished: Finished| -> Result<()> {
            let parts = [
                (sums.grad_weight.as_mut(), finished.grad_weight, self.weight),
                (sums.grad_bias.as_mut(), finished.grad_bias, self.bias),
            ];
            for (sums, partial, values) in parts {
                if let (Some(sums), Some(partial), Some(values)) = (sums, partial, values) {
                    fold(sums, values.len, &finished.piece, &partial);
                }
            }
            done += finished.piece.count;
            progress.inc(finished.piece.count * file_element as u64);
            // A closed channel means the writer failed; its error is reported.
            out.send(finished.output)
                .map_err(|_| CliError::run("the output could not be written"))
        };
        let mut next = 0usize;
        for chunk in chunks {
            let chunk = chunk?;
            let slot_index = next % slots.len();
            let slot = &mut slots[slot_index];
            if let Some(pending) = slot.pending.take() {
                deliver(self.finish(slot, pending)?)?;
            }
            self.submit(slot, chunk)?;
            next += 1;
        }
        for i in next..next + slots.len() {
            let slot_index = i % slots.len();
            let slot = &mut slots[slot_index];
            if let Some(pending) = slot.pending.take() {
                deliver(self.finish(slot, pending)?)?;
            }
        }
        Ok(done)
    }

    /// Uploads `chunk` into `slot`, records the op and the copies back, and
    /// submits; the results are mapped when the GPU is done.
    fn submit(&self, slot: &mut Slot, chunk: Chunk) -> Result<()> {
        let ctx = self.ctx;
        let piece = chunk.piece;
        let count = piece.count as usize;
        let view = |buffer, len| TensorView::with_dtype(buffer, 0, len, self.dtype);
        let context = || format!("elements {}..{}", piece.start, piece.start + piece.count);
        let queue = ctx.queue();
        let submission = ctx
            .catching(|| -> Result<wgpu::SubmissionIndex> {
                queue.write_buffer(&slot.input, 0, &chunk.input);
                if let (Some(buffer), Some(bytes)) = (&slot.grad_output, &chunk.grad_output) {
                    queue.write_buffer(buffer, 0, bytes);
                }
                if let (Some(buffer), Some(bytes)) = (&slot.residual, &chunk.residual) {
                    queue.write_buffer(buffer, 0, bytes);
                }
                // A per-channel tensor for this piece: the values gathered
                // for its channels, or the whole tensor.
                let weight = self.channel_view(piece.gather, self.weight, slot.gathered.as_ref());
                let bias = self.channel_view(piece.gather, self.bias, slot.gathered_bias.as_ref());
                let grad_weight_len = weight.map_or(0, |w| w.len());
                let mut encoder = ctx.create_encoder();
                match (self.op, &slot.grad_output) {
                    (Op::Row(op), None) => ctx.encode_row_forward(
                        &mut encoder,
                        &op.along(1),
                        &piece.shape,
                        &RowForwardBuffers {
                            input: view(&slot.input, count),
                            output: view(&slot.output, count),
                        },
                    ),
                    (Op::Row(op), Some(grad_output)) => ctx.encode_row_backward(
                        &mut encoder,
                        &op.along(1),
                        &piece.shape,
                        &RowBackwardBuffers {
                            output: view(&slot.input, count),
                            grad_output: view(grad_output, count),
                            grad_input: view(&slot.output, count),
                        },
                    ),
                    // Elementwise and gated ops, with or without the fused
                    // epilogue (without it, the plain op's kernel).
                    (Op::Gated(op), _) => self.encode_gated(&mut encoder, op, slot, &piece, bias),
                    (Op::Elementwise(op), _) => {
                        self.encode_elementwise(&mut encoder, op, slot, &piece, weight, bias)
                    }
                }
                .map_err(|e| gpu(&context(), e))?;
                let written = piece.output_count(slot.grad_output.is_some()) as usize;
                let words = view(&slot.output, written).word_len();
                encoder.copy_buffer_to_buffer(&slot.output, 0, &slot.staging, 0, words);
                let sum_copies = [
                    (&slot.grad_weight, grad_weight_len),
                    (&slot.grad_bias, bias.map_or(0, |b| b.len())),
                ];
                for (sums, len) in sum_copies {
                    if let Some(SumBuffers { sums, staging }) = sums {
                        let words = view(sums, len).word_len();
                        encoder.copy_buffer_to_buffer(sums, 0, staging, 0, words);
                    }
                }
                ctx.submit(encoder).map_err(|e| gpu(&context(), e))
            })
            .map_err(|e| CliError::run(format!("{}: {e}", context())))??;
        self.check_errors()?;

        let (tx, maps) = std::sync::mpsc::channel();
        let map = |buffer: &wgpu::Buffer, bytes: u64| {
            let tx = tx.clone();
            buffer.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
                // The receiver lives until the slot is finished.
                let _ = tx.send(result);
            });
        };
        let written = piece.output_count(slot.grad_output.is_some()) as usize;
        map(&slot.staging, view(&slot.staging, written).word_len());
        let mut expected_maps = 1;
        // Values of each per-channel gradient this piece produces.
        let mut sums_len = |sums: &Option<SumBuffers>, values: Option<&ChannelValues>| {
            let (Some(SumBuffers { staging, .. }), Some(values)) = (sums, values) else {
                return 0;
            };
            let len = match piece.gather {
                Some((_, k)) => k,
                None => values.len,
            };
            let words = TensorView::with_dtype(staging, 0, len as usize, self.dtype).word_len();
            map(staging, words);
            expected_maps += 1;
            len
        };
        let grad_weight_len = sums_len(&slot.grad_weight, self.weight);
        let grad_bias_len = sums_len(&slot.grad_bias, self.bias);
        slot.pending = Some(Pending {
            piece,
            submission,
            maps,
            expected_maps,
            grad_weight_len,
            grad_bias_len,
        });
        Ok(())
    }

    /// A per-channel tensor for a piece: the values gathered for its
    /// channels (uploaded into `gathered`), or the whole tensor.
    fn channel_view<'b>(
        &self,
        gather: Option<(u64, u64)>,
        values: Option<&'b ChannelValues>,
        gathered: Option<&'b wgpu::Buffer>,
    ) -> Option<TensorView<'b>> {
        let values = values?;
        match (gather, gathered) {
            (Some((c0, k)), Some(buffer)) => {
                let element = self.dtype.size() as usize;
                self.ctx
                    .queue()
                    .write_buffer(buffer, 0, &values.gather(c0, k, element));
                Some(TensorView::with_dtype(buffer, 0, k as usize, self.dtype))
            }
            _ => values
                .whole
                .as_ref()
                .map(|w| TensorView::with_dtype(w, 0, values.len as usize, self.dtype)),
        }
    }

    /// Where the kernel writes the gradient of a weight or bias (`of`):
    /// the slot's sums, one per value of `of`.
    fn sums_view<'a>(
        &self,
        sums: &'a Option<SumBuffers>,
        of: Option<TensorView<'_>>,
    ) -> Option<TensorView<'a>> {
        match (sums, of) {
            (Some(sums), Some(of)) => {
                Some(TensorView::with_dtype(&sums.sums, 0, of.len(), self.dtype))
            }
            _ => None,
        }
    }

    /// Records a gated op's kernels for `piece` (with the fused epilogue's
    /// bias and residual where given).
    fn encode_gated(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: GatedActivation,
        slot: &Slot,
        piece: &Piece,
        bias: Option<TensorView<'_>>,
    ) -> std::result::Result<(), wgpu_activations::ActivationError> {
        let count = piece.count as usize;
        let view = |buffer, len| TensorView::with_dtype(buffer, 0, len, self.dtype);
        // Whole pairs of halves: `[blocks] ++ shape[split..]` split
        // along 1 (a bias's dimension shifted with it), or the whole
        // tensor as it is.
        let (op, bias_dim) = match self.gated_split {
            Some(split) => (
                op.along(1),
                self.bias_dim.map_or(-1, |d| (d - split + 1) as i64),
            ),
            None => (op, self.bias_dim.map_or(-1, |d| d as i64)),
        };
        let half = piece.grad_count() as usize;
        match &slot.grad_output {
            None => self.ctx.encode_gated_forward_fused(
                encoder,
                &op,
                &piece.shape,
                &GatedFusedForwardBuffers {
                    input: view(&slot.input, count),
                    output: view(&slot.output, half),
                    bias,
                    bias_dim,
                    residual: slot.residual.as_ref().map(|r| view(r, half)),
                },
            ),
            Some(grad_output) => self.ctx.encode_gated_backward_fused(
                encoder,
                &op,
                &piece.shape,
                &GatedFusedBackwardBuffers {
                    input: view(&slot.input, count),
                    grad_output: view(grad_output, half),
                    grad_input: view(&slot.output, count),
                    bias,
                    bias_dim,
                    grad_bias: self.sums_view(&slot.grad_bias, bias),
                },
            ),
        }
    }

    /// Records an elementwise op's kernels for `piece` (the fused
    /// epilogue's where a bias or residual is given, the plain op's
    /// otherwise): the bias along the dimension that holds its channels in
    /// the piece's shape.
    fn encode_elementwise(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: Activation,
        slot: &Slot,
        piece: &Piece,
        weight: Option<TensorView<'_>>,
        bias: Option<TensorView<'_>>,
    ) -> std::result::Result<(), wgpu_activations::ActivationError> {
        let count = piece.count as usize;
        let view = |buffer, len| TensorView::with_dtype(buffer, 0, len, self.dtype);
        // With a bias, pieces of whole periods or channel blocks have shape
        // `[m, k, inner]` (the bias along 1); one block's piece `[count]`
        // becomes `[1, count]` with its one bias value along 0; the whole
        // tensor keeps its shape and the bias's dimension.
        let (shape, bias_dim) = if self.whole {
            (piece.shape.clone(), self.bias_dim.unwrap_or(0) as i64)
        } else if bias.is_some() && piece.shape.len() == 1 {
            (vec![1, count], 0)
        } else {
            (piece.shape.clone(), 1)
        };
        let first_element = piece.first_element;
        match &slot.grad_output {
            None => self.ctx.encode_forward_fused(
                encoder,
                &op,
                &shape,
                &FusedForwardBuffers {
                    input: view(&slot.input, count),
                    output: view(&slot.output, count),
                    weight,
                    bias,
                    bias_dim,
                    residual: slot.residual.as_ref().map(|r| view(r, count)),
                    first_element,
                },
            ),
            Some(grad_output) => self.ctx.encode_backward_fused(
                encoder,
                &op,
                &shape,
                &FusedBackwardBuffers {
                    input: view(&slot.input, count),
                    grad_output: view(grad_output, count),
                    grad_input: view(&slot.output, count),
                    weight,
                    bias,
                    bias_dim,
                    grad_bias: self.sums_view(&slot.grad_bias, bias),
                    grad_weight: self.sums_view(&slot.grad_weight, weight),
                    first_element,
                },
            ),
        }
    }

    /// Waits for `slot`'s chunk and reads its results back.
    fn finish(&self, slot: &mut Slot, pending: Pending) -> Result<Finished> {
        let device = self.ctx.device();
        let context = format!(
            "elements {}..{}",
            pending.piece.start,
            pending.piece.start + pending.piece.count
        );
        let mut mapped = 0;
        // The submission is done once the poll returns, but the map callbacks
        // may be running on another thread's poll (the device is shared):
        // wait for them on the channel, up to a deadline that only a broken
        // driver reaches (a lost device calls them with an error).
        let deadline = Instant::now() + MAP_DEADLINE;
        while mapped < pending.expected_maps && Instant::now() < deadline {
            device
                .poll(wgpu::PollType::Wait {
                    submission_index: Some(pending.submission.clone()),
                    timeout: None,
                })
                .map_err(|e| CliError::run(format!("{context}: waiting for the GPU: {e}")))?;
            match pending.maps.recv_timeout(MAP_WAIT) {
                Ok(result) => {
                    result.map_err(|e| CliError::run(format!("{context}: reading back: {e}")))?;
                    mapped += 1;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if mapped != pending.expected_maps {
            return Err(CliError::run(format!(
                "{context}: the GPU never finished reading back"
            )));
        }
        self.check_errors()?;
        let element = self.dtype.size() as usize;
        let read = |buffer: &wgpu::Buffer, values: usize| -> Result<Vec<u8>> {
            let bytes = {
                let mapped = (values * element).div_ceil(4) as u64 * 4;
                let view = buffer.get_mapped_range(..mapped).map_err(|e| {
                    // A device destroyed or lost after the map completed
                    // fails here: say so (the library's probe), not "view error".
                    match self.ctx.submit(self.ctx.create_encoder()) {
                        Err(lost @ wgpu_activations::ActivationError::DeviceLost(_)) => {
                            gpu(&context, lost)
                        }
                        _ => CliError::run(format!("{context}: reading back: {e}")),
                    }
                })?;
                view[..values * element].to_vec()
            };
            buffer.unmap();
            Ok(bytes)
        };
        let count = pending.piece.output_count(slot.grad_output.is_some()) as usize;
        let mut output = read(&slot.staging, count)?;
        if self.convert {
            output = f32_to_f16_bytes(&output);
        }
        let read_sums = |sums: &Option<SumBuffers>, len: u64| -> Result<Option<Vec<f64>>> {
            match sums {
                Some(SumBuffers { staging, .. }) => {
                    let bytes = read(staging, len as usize)?;
                    Ok(Some(widen(&bytes, self.dtype)))
                }
                None => Ok(None),
            }
        };
        let grad_weight = read_sums(&slot.grad_weight, pending.grad_weight_len)?;
        let grad_bias = read_sums(&slot.grad_bias, pending.grad_bias_len)?;
        Ok(Finished {
            piece: pending.piece,
            output,
            grad_weight,
            grad_bias,
        })
    }

    fn check_errors(&self) -> Result<()> {
        match self.errors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(error) => Err(CliError::run(format!("GPU error: {error}"))),
            None => Ok(()),
        }
    }
}

/// Adds a chunk's per-channel gradient (of a tensor of `len` channels) to
/// the whole tensor's.
fn fold(sums: &mut [f64], len: u64, piece: &Piece, partial: &[f64]) {
    match piece.gather {
        Some((c0, _)) => {
            for (j, value) in partial.iter().enumerate() {
                sums[((c0 + j as u64) % len) as usize] += value;
            }
        }
        None => {
            for (sum, value) in sums.iter_mut().zip(partial) {
                *sum += value;
            }
        }
    }
}

/// Routes the device's uncaught errors into a slot instead of wgpu's
/// default handler (which panics).
fn catch_uncaptured(ctx: &GpuContext) -> Arc<Mutex<Option<String>>> {
    let slot = Arc::new(Mutex::new(None));
    let sink = Arc::clone(&slot);
    ctx.device()
        .on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| error.to_string());
        }));
    slot
}

/// `bytes` padded with zeros to whole 4-byte words (what buffer writes take).
fn pad_words(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.resize(bytes.len().div_ceil(4) * 4, 0);
    bytes
}

fn f16_to_f32_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .chunks_exact(2)
        .flat_map(|b| {
            f16::from_bits(u16::from_le_bytes([b[0], b[1]]))
                .to_f32()
                .to_le_bytes()
        })
        .collect()
}

fn f32_to_f16_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .chunks_exact(4)
        .flat_map(|b| f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes())
        .collect()
}

/// Little-endian values of `dtype` as f64.
fn widen(bytes: &[u8], dtype: DType) -> Vec<f64> {
    match dtype {
        DType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        DType::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f64())
            .collect(),
    }
}

/// f64 sums as little-endian bytes of `dtype` (one rounding).
pub fn narrow(values: &[f64], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F32 => values
            .iter()
            .flat_map(|&v| (v as f32).to_le_bytes())
            .collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|&v| f16::from_f64(v).to_le_bytes())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(n: u64, chunk: u64, layout: Layout) -> Vec<Piece> {
        Planner::new(n, chunk, layout).collect()
    }

    #[test]
    fn planner_covers_everything_in_order() {
        for layout in [
            Layout::Plain,
            Layout::Shared,
            Layout::PerChannel {
                channels: 3,
                inner: 5,
            },
            Layout::PerChannel {
                channels: 1,
                inner: 7,
            },
            Layout::Whole { gated: false },
        ] {
            for n in [0u64, 1, 15, 30, 105] {
                if let Layout::PerChannel { channels, inner } = layout {
                    if n % (channels * inner) != 0 {
                        continue;
                    }
                }
                for chunk in [1u64, 2, 4, 5, 7, 16, 1000] {
                    let planner = Planner::new(n, chunk, layout);
                    let (capacity, gather) = planner.capacity();
                    let mut at = 0;
                    for p in planner {
                        assert_eq!(p.start, at);
                        assert!(p.count > 0 && p.count <= capacity);
                        assert_eq!(p.shape.iter().product::<usize>() as u64, p.count);
                        if let Some((_, k)) = p.gather {
                            assert!(k <= gather);
                        }
                        at += p.count;
                    }
                    assert_eq!(at, n, "{layout:?} n {n} chunk {chunk}");
                }
            }
        }
    }

    #[test]
    fn per_channel_pieces_keep_channels() {
        let p = pieces(
            30,
            16,
            Layout::PerChannel {
                channels: 3,
                inner: 5,
            },
        );
        assert_eq!(p[0].shape, vec![1, 3, 5]);
        let p = pieces(
            30,
            11,
            Layout::PerChannel {
                channels: 3,
                inner: 5,
            },
        );
        assert_eq!(p[0].gather, Some((0, 2)));
        assert_eq!(p[1].gather, Some((2, 2)));
        let p = pieces(
            30,
            2,
            Layout::PerChannel {
                channels: 3,
                inner: 5,
            },
        );
        assert_eq!(p[2].count, 1);
        assert_eq!(p[3].gather, Some((1, 1)));
    }

    #[test]
    fn row_pieces_hold_whole_blocks() {
        let layout = Layout::Rows { n: 3, inner: 5 };
        for chunk in [1u64, 7, 15, 16, 40, 1000] {
            let planner = Planner::new(60, chunk, layout);
            let (capacity, _) = planner.capacity();
            let mut at = 0;
            for p in planner {
                assert_eq!(p.start, at);
                assert!(p.count > 0 && p.count % 15 == 0 && p.count <= capacity);
                assert_eq!(p.shape, vec![(p.count / 15) as usize, 3, 5]);
                at += p.count;
            }
            assert_eq!(at, 60, "chunk {chunk}");
        }
    }

    // ------------------------------------------ errors in the middle of a stream

    /// The device of the streaming tests; `None` (skipped) without an
    /// adapter, except in CI (`CI` set to anything but `false`/`0`).
    fn gpu() -> Option<&'static GpuContext> {
        static CONTEXT: std::sync::OnceLock<std::result::Result<GpuContext, String>> =
            std::sync::OnceLock::new();
        let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        match CONTEXT.get_or_init(|| GpuContext::new().map_err(|e| e.to_string())) {
            Ok(ctx) => Some(ctx),
            Err(error) if in_ci => panic!("CI requires a GPU adapter (lavapipe will do): {error}"),
            Err(error) => {
                eprintln!("skipping GPU test: {error}");
                None
            }
        }
    }

    /// A file holding `values` as f32, positioned at its start.
    fn source(name: &str, values: &[f32]) -> Source {
        use std::io::{Seek, SeekFrom};
        let mut file = tempfile::tempfile().unwrap();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        file.write_all(&bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        Source {
            name: name.into(),
            file,
        }
    }

    /// A writer that fails once more than `left` bytes were written to it.
    struct FailAfter {
        left: usize,
        written: Vec<u8>,
    }

    impl Write for FailAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.left {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= buf.len();
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Streams relu (backward with `grad`) over `len` elements from `input`
    /// in chunks of 16 into `out`, on another thread: a deadlock fails the
    /// test instead of hanging it.
    fn stream_relu<W: Write + Send + 'static>(
        ctx: &'static GpuContext,
        len: usize,
        input: Source,
        grad: Option<Source>,
        mut out: W,
    ) -> (Result<Outcome>, W) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let shape = [len];
            let job = Job {
                op: Activation::Relu.into(),
                dtype: Dtype::F32,
                shape: &shape,
                len,
                input,
                grad_output: grad,
                weight: None,
                grad_weight: false,
                bias: None,
                residual: None,
                grad_bias: false,
                output_name: "out.npy",
            };
            let result = run_chunked(ctx, job, &mut out, &ProgressBar::hidden(), false, Some(16));
            let _ = tx.send((result, out));
        });
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .expect("the stream hung (or panicked)")
    }

    fn values(len: usize) -> Vec<f32> {
        (0..len).map(|i| i as f32 - 500.0).collect()
    }

    /// A writer that destroys `device` at its first write: the GPU is lost
    /// with chunks in flight and more to come.
    struct DestroyOnWrite {
        device: wgpu::Device,
        written: usize,
    }

    impl Write for DestroyOnWrite {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written == 0 {
                self.device.destroy();
            }
            self.written += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_device_lost_mid_stream_is_one_error_line() {
        if gpu().is_none() {
            return;
        }
        // A device of its own: this test destroys it.
        let ctx: &'static GpuContext = Box::leak(Box::new(GpuContext::new().unwrap()));
        let x = values(10_000);
        let out = DestroyOnWrite {
            device: ctx.device().clone(),
            written: 0,
        };
        let (result, out) = stream_relu(ctx, x.len(), source("x.npy", &x), None, out);
        let error = result.err().expect("a lost device fails the stream");
        assert!(
            error.message.contains("device lost") && !error.message.contains('\n'),
            "{}",
            error.message
        );
        assert!(
            out.written < x.len() * 4,
            "the stream went on after the loss"
        );
    }

    #[test]
    fn a_whole_stream_arrives_in_order() {
        let Some(ctx) = gpu() else { return };
        let x = values(1001);
        let out = FailAfter {
            left: usize::MAX,
            written: Vec::new(),
        };
        let (result, out) = stream_relu(ctx, x.len(), source("x.npy", &x), None, out);
        assert!(result.is_ok());
        let expected: Vec<u8> = x.iter().flat_map(|v| v.max(0.0).to_le_bytes()).collect();
        assert!(out.written == expected);
    }

    #[test]
    fn a_failing_writer_stops_the_reader_and_the_gpu() {
        let Some(ctx) = gpu() else { return };
        let x = values(10_000);
        // Early (the reader has thousands of chunks to go), and at the very
        // last chunk.
        for left in [256, x.len() * 4 - 1] {
            let out = FailAfter {
                left,
                written: Vec::new(),
            };
            let input = source("x.npy", &x);
            // Shares the file position with the reader's handle.
            let mut position = input.file.try_clone().unwrap();
            let (result, _) = stream_relu(ctx, x.len(), input, None, out);
            let error = result.err().expect("a failed write fails the stream");
            assert_eq!(error.message, "out.npy: writing the output: disk full");
            if left == 256 {
                use std::io::Seek;
                let read = position.stream_position().unwrap();
                assert!(read < 4_000, "the reader went on to byte {read}");
            }
        }
    }

    #[test]
    fn a_reader_error_mid_stream_stops_the_stream() {
        let Some(ctx) = gpu() else { return };
        let x = values(10_000);
        // The files hold fewer elements than the job claims: the input, or
        // (backward) the gradient.
        for (input, grad) in [(&x[..5_000], None), (&x[..], Some(&x[..9_999]))] {
            let out = FailAfter {
                left: usize::MAX,
                written: Vec::new(),
            };
            let (result, out) = stream_relu(
                ctx,
                x.len(),
                source("x.npy", input),
                grad.map(|g| source("g.npy", g)),
                out,
            );
            let error = result.err().expect("a short file fails the stream");
            let name = if grad.is_some() { "g.npy" } else { "x.npy" };
            assert_eq!(
                error.message,
                format!(
                    "{name}: reading the data: the file ended early (was it changed while being \
                     read?)"
                )
            );
            assert!(out.written.len() < x.len() * 4);
        }
    }

    #[test]
    fn rrelu_training_past_32_bit_indices_is_refused_up_front() {
        let Some(ctx) = gpu() else { return };
        let len = MAX_ELEMENTS as usize + 1;
        let job = Job {
            op: Activation::parse("rrelu", &[("training", "true")])
                .unwrap()
                .into(),
            dtype: Dtype::F32,
            shape: &[len],
            len,
            input: source("x.npy", &[]),
            grad_output: None,
            weight: None,
            grad_weight: false,
            bias: None,
            residual: None,
            grad_bias: false,
            output_name: "out.npy",
        };
        let mut out = Vec::new();
        let error = run_chunked(ctx, job, &mut out, &ProgressBar::hidden(), false, None)
            .err()
            .unwrap();
        assert!(error.message.contains("at most"), "{}", error.message);
        assert!(out.is_empty());
    }
}

//! Pipelines, cached by key, and the recording of ops into a caller's
//! `wgpu::CommandEncoder` (private; [`crate::GpuContext`] is the way in).
//!
//! Everything is checked before anything is recorded: shapes, parameters,
//! buffer usages, sizes, alignments and aliasing. Pipelines, bind groups and
//! parameter blocks are created inside one pair of wgpu error scopes per
//! call, so what slips past the checks comes back as an [`ActivationError`]
//! rather than reaching wgpu's panicking default handler.
//!
//! Small dispatches cost little: pipelines are cached by op function,
//! storage layout and direction; parameter blocks live in a uniform arena,
//! content-addressed, bound with dynamic offsets (a repeated op writes
//! nothing); bind groups are cached by the buffer ranges they bind. In steady
//! state, recording an op creates no wgpu object and allocates nothing.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Mutex, MutexGuard};

use crate::activation::{Activation, WgslCall};
use crate::error::{ActivationError, Result};
use crate::shaders::{
    self, BiasLayout, Direction, ElementwiseParams, EpilogueKey, ReduceParams, ReduceTerm,
    StorageLayout, WeightLayout, WEIGHT_GRAD_CHUNK, WORKGROUP_SIZE,
};
use crate::shape::{element_count, prelu_channels};
use crate::tensor::DType;
use crate::view::TensorView;

pub(crate) mod gated;
pub(crate) mod row;

/// Largest element count a single op takes (first element plus length):
/// indices are 32-bit in the shaders.
pub const MAX_ELEMENTS: u64 = (u32::MAX - 3) as u64;

/// Distinct parameter blocks the arena keeps (past it, a call makes its own
/// small uniform buffer).
const ARENA_SLOTS: usize = 16384;
/// Bytes per arena page.
const ARENA_PAGE_BYTES: u64 = 1 << 16;
/// Bind groups the cache keeps.
const BIND_GROUP_ENTRIES: usize = 64;
/// Bytes of buffers the cached bind groups may keep alive (counted per entry).
const BIND_GROUP_BYTES: u64 = 1 << 30;

/// The buffers of one forward op recorded with [`crate::GpuContext::encode_forward`].
#[derive(Debug, Clone, Copy)]
pub struct ForwardBuffers<'a> {
    /// The input `x`.
    pub input: TensorView<'a>,
    /// Where `f(x)` is written; a different buffer from `input` and `weight`
    /// (to overwrite `input`, use [`ForwardInPlaceBuffers`]).
    pub output: TensorView<'a>,
    /// PReLU's weight (1 value or one per channel); `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// Index of `input`'s first element in the whole tensor, when a tensor
    /// is processed in pieces (streamed): it keeps PReLU's channels and
    /// RReLU's random slopes those of the whole tensor. 0 otherwise.
    pub first_element: u64,
}

/// The buffers of one fused backward, recorded with
/// [`crate::GpuContext::encode_backward_fused`]: for
/// `y = f(x + bias[c]) + residual`, `grad_input = grad_output * f'(x +
/// bias[c])` and `grad_bias[c]` the sum of `grad_input` over every element of
/// channel `c`, added in a fixed order (the same bits on every run). The
/// residual's gradient is `grad_output` itself: no copy is made.
#[derive(Debug, Clone, Copy)]
pub struct FusedBackwardBuffers<'a> {
    /// The forward's input `x`.
    pub input: TensorView<'a>,
    /// The gradient of the output.
    pub grad_output: TensorView<'a>,
    /// Where the input's gradient is written: a buffer of its own.
    pub grad_input: TensorView<'a>,
    /// PReLU's weight; `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// PReLU: where the weight's gradient is written (at `input + bias`,
    /// summed in the fixed order of [`BackwardBuffers::grad_weight`]), if
    /// wanted.
    pub grad_weight: Option<TensorView<'a>>,
    /// The forward's bias, if it had one.
    pub bias: Option<TensorView<'a>>,
    /// The dimension the bias runs along; negative counts from the end.
    pub bias_dim: i64,
    /// Where the bias's gradient is written (`shape[bias_dim]` values), if
    /// wanted; needs `bias`.
    pub grad_bias: Option<TensorView<'a>>,
    /// Index of `input`'s first element in the whole tensor: RReLU's
    /// random slopes in training mode depend on it (see
    /// [`ForwardBuffers::first_element`]), and the bias's channels. 0
    /// otherwise. With `grad_bias` (or PReLU's `grad_weight` beside a bias)
    /// it must be a multiple of the bias's block (`shape[bias_dim]` times
    /// the elements after it), as for a per-channel PReLU weight gradient a
    /// multiple of its channel block: the sums count channels from the
    /// piece's start (`Unsupported` otherwise).
    pub first_element: u64,
}

/// The buffers of one fused forward, recorded with
/// [`crate::GpuContext::encode_forward_fused`]:
/// `output = f(input + bias[c]) + residual`, `c` the index of each element
/// along `bias_dim`. Each part is optional; with neither it is the plain op.
#[derive(Debug, Clone, Copy)]
pub struct FusedForwardBuffers<'a> {
    /// The input `x`.
    pub input: TensorView<'a>,
    /// Where the result is written: a different buffer from every other view.
    pub output: TensorView<'a>,
    /// PReLU's weight (1 value or one per channel of dimension 1); `None`
    /// for other ops.
    pub weight: Option<TensorView<'a>>,
    /// A bias of `shape[bias_dim]` values, added to the input before the op
    /// (PyTorch's linear layer: the last dimension; a convolution's: 1).
    pub bias: Option<TensorView<'a>>,
    /// The dimension the bias runs along; negative counts from the end.
    pub bias_dim: i64,
    /// A tensor of the input's shape added to the op's result.
    pub residual: Option<TensorView<'a>>,
    /// Index of `input`'s first element in the whole tensor (see
    /// [`ForwardBuffers::first_element`]). 0 otherwise.
    pub first_element: u64,
}

/// The buffers of one in-place forward op recorded with
/// [`crate::GpuContext::encode_forward_in_place`]: `data` holds `x` and is
/// overwritten with `f(x)`.
#[derive(Debug, Clone, Copy)]
pub struct ForwardInPlaceBuffers<'a> {
    /// The input `x`, overwritten with `f(x)`: bound once, read-write.
    pub data: TensorView<'a>,
    /// PReLU's weight (1 value or one per channel), in another buffer than
    /// `data`; `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// Index of `data`'s first element in the whole tensor (see
    /// [`ForwardBuffers::first_element`]). 0 otherwise.
    pub first_element: u64,
}

/// The buffers of one in-place backward op recorded with
/// [`crate::GpuContext::encode_backward_in_place`]: `grad_output` holds the
/// gradient of the loss with respect to the forward's output and is
/// overwritten with the gradient with respect to its input.
#[derive(Debug, Clone, Copy)]
pub struct BackwardInPlaceBuffers<'a> {
    /// The forward's input `x`, or its output `y = f(x)` when `from_output`
    /// is set; in another buffer than `grad_output`.
    pub input: TensorView<'a>,
    /// The gradient of the loss with respect to the forward's output,
    /// overwritten with `grad_output * f'(x)` (bound once, read-write).
    pub grad_output: TensorView<'a>,
    /// PReLU's weight; `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// PReLU only: where the weight's gradient is written (as many values as
    /// the weight; it must not overlap `weight`). It is computed from
    /// `grad_output` before `grad_output` is overwritten. `None` skips it.
    pub grad_weight: Option<TensorView<'a>>,
    /// `input` holds the forward's output, not its input (see
    /// [`Activation::backward_from_output_supported`] for the ops that
    /// allow it): with [`ForwardInPlaceBuffers`] before it, one buffer per
    /// activation holds `y` and another its gradient.
    pub from_output: bool,
    /// Index of `input`'s first element in the whole tensor (see
    /// [`BackwardBuffers::first_element`]).
    pub first_element: u64,
}

/// The buffers of one backward op recorded with [`crate::GpuContext::encode_backward`].
#[derive(Debug, Clone, Copy)]
pub struct BackwardBuffers<'a> {
    /// The forward's input `x`, or its output `y = f(x)` when `from_output` is set.
    pub input: TensorView<'a>,
    /// The gradient of the loss with respect to the forward's output.
    pub grad_output: TensorView<'a>,
    /// Where `grad_output * f'(x)` is written; a different buffer from the
    /// others (to overwrite `grad_output`, use [`BackwardInPlaceBuffers`]).
    pub grad_input: TensorView<'a>,
    /// PReLU's weight; `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// PReLU only: where the weight's gradient is written (as many values as
    /// the weight). `None` skips it.
    pub grad_weight: Option<TensorView<'a>>,
    /// `input` holds the forward's output, not its input (see
    /// [`Activation::backward_from_output_supported`] for the ops that allow it).
    pub from_output: bool,
    /// Index of `input`'s first element in the whole tensor (see
    /// [`ForwardBuffers::first_element`]). A weight gradient over a piece
    /// needs the piece to start at a multiple of channels * inner.
    pub first_element: u64,
}

/// Runs `f` inside validation and out-of-memory error scopes of `device` and
/// returns what they caught as an error.
pub(crate) fn catching<T>(device: &wgpu::Device, f: impl FnOnce() -> T) -> Result<T> {
    let mut scope = Scope::default();
    scope.open(device);
    let value = f();
    scope.close().map(|()| value)
}

/// A pair of error scopes (validation, out of memory), opened on first need.
#[derive(Default)]
struct Scope {
    guards: Option<(wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard)>,
}

impl Scope {
    fn open(&mut self, device: &wgpu::Device) {
        if self.guards.is_none() {
            let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
            self.guards = Some((validation, out_of_memory));
        }
    }

    /// Pops the scopes (if opened) and returns what they caught.
    fn close(self) -> Result<()> {
        let Some((validation, out_of_memory)) = self.guards else {
            return Ok(());
        };
        let validation_error = pollster::block_on(validation.pop());
        let memory_error = pollster::block_on(out_of_memory.pop());
        if let Some(error) = validation_error {
            return Err(ActivationError::Validation(error.to_string()));
        }
        if let Some(error) = memory_error {
            return Err(ActivationError::OutOfMemory(error.to_string()));
        }
        Ok(())
    }
}

/// Workgroup counts `(x, y, z)` of one dispatch.
pub(crate) type Grid = (u32, u32, u32);

/// Workgroup counts `(x, y, 1)` covering at least `workgroups` workgroups
/// with neither dimension above `max_per_dimension`: a 1-D dispatch while it
/// fits, folded into a 2-D grid past it. The shaders rebuild the linear
/// index as `y * num_workgroups.x + x` and skip the surplus of the last row.
pub(crate) fn dispatch_grid(workgroups: u64, max_per_dimension: u32) -> Result<Grid> {
    let max = u64::from(max_per_dimension.max(1));
    if workgroups <= max {
        return Ok((workgroups as u32, 1, 1));
    }
    let rows = workgroups.div_ceil(max);
    if rows > max {
        return Err(ActivationError::TooLarge {
            what: "dispatch (workgroups)",
            len: workgroups,
            max: max * max,
        });
    }
    let columns = workgroups.div_ceil(rows);
    Ok((columns as u32, rows as u32, 1))
}

/// The greatest common divisor of `a` and `b` (`b` for `a` = 0).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while a != 0 {
        (a, b) = (b % a, a);
    }
    b
}

/// Cache key of an elementwise pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PipelineKey {
    call: WgslCall,
    layout: StorageLayout,
    direction: Direction,
    from_output: bool,
    in_place: bool,
    weights: WeightLayout,
    epilogue: EpilogueKey,
}

/// Cache key of an elementwise shader module: a pipeline's key less its
/// direction (both entry points live in one module).
type ModuleKey = (
    WgslCall,
    StorageLayout,
    bool,
    bool,
    WeightLayout,
    EpilogueKey,
);

/// Cache key of a bind group layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LayoutKind {
    Elementwise {
        direction: Direction,
        weight: bool,
        in_place: bool,
        epilogue: EpilogueKey,
    },
    /// The per-channel sums; `bias`: a fused bias at binding 5.
    WeightGrad {
        bias: bool,
    },
    Row(row::RowLayout),
    Gated(gated::GatedLayout),
}

/// The two pipelines of the PReLU weight gradient.
#[derive(Clone)]
struct WeightGradPipelines {
    layout: wgpu::BindGroupLayout,
    partial_sums: wgpu::ComputePipeline,
    channel_sums: wgpu::ComputePipeline,
}

/// A parameter block as words, zero-padded: the arena's key.
type Block = [u32; 32];

fn block_of<T: bytemuck::Pod>(params: &T) -> Block {
    let mut block = [0u32; 32];
    let words: &[u32] = bytemuck::cast_slice(bytemuck::bytes_of(params));
    block[..words.len()].copy_from_slice(words);
    block
}

/// Where a parameter block lives: an arena page at a dynamic offset, or a
/// buffer of its own (when the arena is full).
#[derive(Clone)]
struct UniformSlot {
    buffer: wgpu::Buffer,
    offset: u32,
    cached: bool,
}

/// Parameter blocks, each written once and kept: a repeated op reuses its
/// block, so recording it writes nothing.
struct UniformArena {
    stride: u64,
    pages: Vec<wgpu::Buffer>,
    used: u64,
    slots: HashMap<Block, (usize, u32)>,
}

impl UniformArena {
    fn new(limits: &wgpu::Limits) -> Self {
        UniformArena {
            stride: u64::from(limits.min_uniform_buffer_offset_alignment)
                .max(std::mem::size_of::<Block>() as u64),
            pages: Vec::new(),
            used: ARENA_PAGE_BYTES,
            slots: HashMap::new(),
        }
    }

    /// The slot holding `bytes`, written now if new. Creates buffers: call
    /// inside an error scope.
    fn slot(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        block: &Block,
        bytes: &[u8],
        scope: &mut Scope,
    ) -> UniformSlot {
        if let Some(&(page, offset)) = self.slots.get(block) {
            return UniformSlot {
                buffer: self.pages[page].clone(),
                offset,
                cached: true,
            };
        }
        scope.open(device);
        if self.slots.len() >= ARENA_SLOTS {
            // The call's own buffer, made with its contents (no other
            // thread binds it).
            let mut contents = bytes.to_vec();
            contents.resize(self.stride as usize, 0);
            let buffer = wgpu::util::DeviceExt::create_buffer_init(
                device,
                &wgpu::util::BufferInitDescriptor {
                    label: Some("wgpu-activations params (arena full)"),
                    contents: &contents,
                    usage: wgpu::BufferUsages::UNIFORM,
                },
            );
            return UniformSlot {
                buffer,
                offset: 0,
                cached: false,
            };
        }
        if self.used + self.stride > ARENA_PAGE_BYTES {
            self.pages.push(initialized_uniform_page(device));
            self.used = 0;
        }
        let page = self.pages.len() - 1;
        let offset = self.used as u32;
        queue.write_buffer(&self.pages[page], self.used, bytes);
        self.used += self.stride;
        self.slots.insert(*block, (page, offset));
        UniformSlot {
            buffer: self.pages[page].clone(),
            offset,
            cached: true,
        }
    }
}

/// A zero-filled uniform page that wgpu counts as initialized from the
/// start (made mapped, then unmapped). A page is bound with a dynamic
/// offset, which wgpu-core treats as using the whole buffer, so a page with
/// unwritten parts is zero-filled, up to its end, by the first submission
/// that binds it. wgpu-core 30 decides what to zero-fill before it takes the
/// queue's pending writes: a slot written by `Queue::write_buffer` on
/// another thread in between was copied first and zero-filled after, and
/// its kernel ran with `len` = 0, writing nothing (tests/concurrency.rs lost
/// 5 to 11 of its 24,000 calls in each of 6 runs on lavapipe without this;
/// the suite's other binaries, a call now and then).
fn initialized_uniform_page(device: &wgpu::Device) -> wgpu::Buffer {
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("wgpu-activations params arena"),
        size: ARENA_PAGE_BYTES,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: true,
    });
    buffer.unmap();
    buffer
}

/// A bound buffer range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Bound {
    buffer: wgpu::Buffer,
    offset: u64,
    size: u64,
}

/// What a bind group binds: its layout, its uniform page and its storage
/// ranges (bindings 1 to 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BindGroupKey {
    layout: LayoutKind,
    uniform: wgpu::Buffer,
    storage: [Option<Bound>; 6],
}

impl BindGroupKey {
    fn bytes(&self) -> u64 {
        self.storage.iter().flatten().map(|b| b.buffer.size()).sum()
    }
}

/// Recently used bind groups, least recently used evicted first. The keys
/// hold the buffers, so the cache is small and bounded in bytes as well.
#[derive(Default)]
struct BindGroupCache {
    entries: HashMap<BindGroupKey, (wgpu::BindGroup, u64)>,
    clock: u64,
    bytes: u64,
}

impl BindGroupCache {
    fn get(&mut self, key: &BindGroupKey) -> Option<wgpu::BindGroup> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(group, used)| {
            *used = clock;
            group.clone()
        })
    }

    fn insert(&mut self, key: BindGroupKey, group: wgpu::BindGroup) {
        let bytes = key.bytes();
        while !self.entries.is_empty()
            && (self.entries.len() >= BIND_GROUP_ENTRIES || self.bytes + bytes > BIND_GROUP_BYTES)
        {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.bytes -= oldest.bytes();
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.bytes += bytes;
        self.entries.insert(key, (group, self.clock));
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

/// Up to a few items inline, more on the heap: the chunks of one recording
/// (one, unless a tensor is larger than a storage binding).
enum SmallList<T> {
    Inline([Option<T>; 4], usize),
    Heap(Vec<T>),
}

impl<T> SmallList<T> {
    fn new() -> Self {
        SmallList::Inline([None, None, None, None], 0)
    }

    fn push(&mut self, item: T) {
        match self {
            SmallList::Inline(items, len) if *len < 4 => {
                items[*len] = Some(item);
                *len += 1;
            }
            SmallList::Inline(items, _) => {
                let mut heap: Vec<T> = items.iter_mut().filter_map(Option::take).collect();
                heap.push(item);
                *self = SmallList::Heap(heap);
            }
            SmallList::Heap(heap) => heap.push(item),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&T)) {
        match self {
            SmallList::Inline(items, len) => items[..*len].iter().flatten().for_each(&mut f),
            SmallList::Heap(heap) => heap.iter().for_each(&mut f),
        }
    }

    fn first(&self) -> Option<&T> {
        match self {
            SmallList::Inline(items, _) => items[0].as_ref(),
            SmallList::Heap(heap) => heap.first(),
        }
    }
}

/// Passes get labels (for graphics debuggers) in debug builds; a label costs
/// two heap allocations per pass in wgpu.
const LABEL_PASSES: bool = cfg!(debug_assertions);

/// Where an op is recorded: a pass of its own in the caller's encoder, or
/// the caller's open compute pass.
pub(crate) enum Target<'a, 'pass> {
    Encoder(&'a mut wgpu::CommandEncoder),
    Pass(&'a mut wgpu::ComputePass<'pass>),
}

impl Target<'_, '_> {
    /// Runs `record` in the caller's pass, or in a new pass labelled `label`.
    fn with_pass(&mut self, label: &str, record: impl FnOnce(&mut wgpu::ComputePass<'_>)) {
        match self {
            Target::Encoder(encoder) => {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: LABEL_PASSES.then_some(label),
                    timestamp_writes: None,
                });
                record(&mut pass);
            }
            Target::Pass(pass) => record(pass),
        }
    }
}

/// One dispatch, ready to record.
struct Prepared {
    bind_group: wgpu::BindGroup,
    offset: u32,
    grid: Grid,
    /// A bind group made in this call, to cache once the call's scope is clean.
    new_key: Option<BindGroupKey>,
}

/// What one elementwise recording runs.
#[derive(Debug, Clone, Copy)]
struct Dispatch<'a> {
    op: &'a Activation,
    direction: Direction,
    from_output: bool,
    /// The result overwrites the forward's input or the output's gradient
    /// (bound once, read-write).
    in_place: bool,
    prelu: (u32, u32),
    /// A fused forward's bias (its view, channels and elements per channel
    /// block) and residual.
    bias: Option<(TensorView<'a>, u32, u32)>,
    residual: Option<TensorView<'a>>,
    first_element: u64,
    /// Cache the bind groups (the caller's buffers repeat); the convenience
    /// API's fresh tensors do not.
    cache: bool,
}

/// The pipelines and caches of one device.
pub(crate) struct Kernels {
    /// The owning context's identity: views of other contexts' tensors are refused.
    context: u64,
    device: wgpu::Device,
    queue: wgpu::Queue,
    limits: wgpu::Limits,
    /// Shader modules by op function, layout, from_output and in_place.
    modules: Mutex<HashMap<ModuleKey, wgpu::ShaderModule>>,
    layouts: Mutex<HashMap<LayoutKind, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>>,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    weight_grad: Mutex<HashMap<(DType, ReduceTerm), WeightGradPipelines>>,
    arena: Mutex<UniformArena>,
    bind_groups: Mutex<BindGroupCache>,
    /// The weight gradient's chunk sums (grown as needed; wgpu orders the
    /// passes that share it).
    chunk_sums: Mutex<Option<wgpu::Buffer>>,
    placeholder: Mutex<Option<wgpu::Buffer>>,
    /// The row ops' pipelines and scratch ([`row`]).
    row: row::RowCaches,
    /// The gated ops' pipelines ([`gated`]).
    gated: gated::GatedCaches,
}

/// Locks a cache; a panic elsewhere cannot leave a cache half-written, so a
/// poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(size: usize) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding: 0,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: NonZeroU64::new(size as u64),
        },
        count: None,
    }
}

impl LayoutKind {
    fn uniform_size(self) -> usize {
        match self {
            LayoutKind::Elementwise { .. } => std::mem::size_of::<ElementwiseParams>(),
            LayoutKind::WeightGrad { .. } => std::mem::size_of::<ReduceParams>(),
            LayoutKind::Row(kind) => kind.uniform_size(),
            LayoutKind::Gated(kind) => kind.uniform_size(),
        }
    }

    fn entries(self) -> Vec<wgpu::BindGroupLayoutEntry> {
        if let LayoutKind::Row(kind) = self {
            return kind.entries();
        }
        if let LayoutKind::Gated(kind) = self {
            return kind.entries();
        }
        let mut entries = vec![uniform_entry(self.uniform_size())];
        match self {
            LayoutKind::Elementwise {
                direction,
                weight,
                in_place,
                epilogue,
            } => {
                // In place, the forward's input and the output's gradient
                // are the read-write binding 3.
                if !in_place || direction == Direction::Backward {
                    entries.push(storage_entry(1, true));
                }
                if !in_place && direction == Direction::Backward {
                    entries.push(storage_entry(2, true));
                }
                entries.push(storage_entry(3, false));
                if weight {
                    entries.push(storage_entry(4, true));
                }
                if epilogue.bias.is_some() {
                    entries.push(storage_entry(5, true));
                }
                if epilogue.residual {
                    entries.push(storage_entry(6, true));
                }
            }
            LayoutKind::WeightGrad { bias } => {
                entries.push(storage_entry(1, true));
                entries.push(storage_entry(2, true));
                entries.push(storage_entry(3, false));
                entries.push(storage_entry(4, false));
                if bias {
                    entries.push(storage_entry(5, true));
                }
            }
            LayoutKind::Row(_) | LayoutKind::Gated(_) => {}
        }
        entries
    }
}

fn bound(view: TensorView<'_>, bytes: u64) -> Bound {
    Bound {
        buffer: view.buffer().clone(),
        offset: view.offset(),
        size: bytes,
    }
}

impl Kernels {
    pub(crate) fn new(device: wgpu::Device, queue: wgpu::Queue, context: u64) -> Self {
        let limits = device.limits();
        Kernels {
            context,
            arena: Mutex::new(UniformArena::new(&limits)),
            device,
            queue,
            limits,
            modules: Mutex::default(),
            layouts: Mutex::default(),
            pipelines: Mutex::default(),
            weight_grad: Mutex::default(),
            bind_groups: Mutex::default(),
            chunk_sums: Mutex::default(),
            placeholder: Mutex::default(),
            row: row::RowCaches::default(),
            gated: gated::GatedCaches::default(),
        }
    }

    pub(crate) fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Drops the cached bind groups (and with them the caller buffers they
    /// hold).
    pub(crate) fn clear_bind_groups(&self) {
        lock(&self.bind_groups).clear();
    }

    fn layout(&self, kind: LayoutKind) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        lock(&self.layouts)
            .entry(kind)
            .or_insert_with(|| {
                let bind_group_layout =
                    self.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some("wgpu-activations bind group layout"),
                            entries: &kind.entries(),
                        });
                let pipeline_layout =
                    self.device
                        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                            label: Some("wgpu-activations pipeline layout"),
                            bind_group_layouts: &[Some(&bind_group_layout)],
                            immediate_size: 0,
                        });
                (bind_group_layout, pipeline_layout)
            })
            .clone()
    }

    fn module(&self, op: &Activation, key: PipelineKey) -> wgpu::ShaderModule {
        lock(&self.modules)
            .entry((
                key.call,
                key.layout,
                key.from_output,
                key.in_place,
                key.weights,
                key.epilogue,
            ))
            .or_insert_with(|| {
                let source = shaders::elementwise_module(
                    op,
                    key.layout,
                    key.from_output,
                    key.in_place,
                    key.weights,
                    key.epilogue,
                );
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(op.wgsl_call().function),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    })
            })
            .clone()
    }

    /// The pipeline of `key`, created (in `scope`) on first use.
    fn elementwise_pipeline(
        &self,
        op: &Activation,
        key: PipelineKey,
        scope: &mut Scope,
    ) -> (wgpu::BindGroupLayout, wgpu::ComputePipeline, bool) {
        let kind = LayoutKind::Elementwise {
            direction: key.direction,
            weight: op.uses_weight(),
            in_place: key.in_place,
            epilogue: key.epilogue,
        };
        if let Some(pipeline) = lock(&self.pipelines).get(&key) {
            return (self.layout(kind).0, pipeline.clone(), false);
        }
        scope.open(&self.device);
        let (bind_group_layout, pipeline_layout) = self.layout(kind);
        let module = self.module(op, key);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(key.call.function),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(key.direction.entry_point()),
                compilation_options: Default::default(),
                cache: None,
            });
        (bind_group_layout, pipeline, true)
    }

    fn weight_grad_pipelines(
        &self,
        dtype: DType,
        term: ReduceTerm,
        scope: &mut Scope,
    ) -> (WeightGradPipelines, bool) {
        if let Some(pipelines) = lock(&self.weight_grad).get(&(dtype, term)) {
            return (pipelines.clone(), false);
        }
        scope.open(&self.device);
        let (layout, pipeline_layout) = self.layout(LayoutKind::WeightGrad {
            bias: term == ReduceTerm::PreluWeightBiased,
        });
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("prelu_weight_grad"),
                source: wgpu::ShaderSource::Wgsl(
                    shaders::prelu_weight_grad_module(dtype, term).into(),
                ),
            });
        let pipeline = |entry_point| {
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry_point),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry_point),
                    compilation_options: Default::default(),
                    cache: None,
                })
        };
        let pipelines = WeightGradPipelines {
            partial_sums: pipeline("partial_sums"),
            channel_sums: pipeline("channel_sums"),
            layout,
        };
        (pipelines, true)
    }

    /// Closes a call's error scope. On an error, everything the call may
    /// have made is forgotten (an object made in a failed scope may be
    /// invalid); work recorded earlier keeps what it uses alive.
    fn close(&self, scope: Scope, outcome: Result<()>) -> Result<()> {
        let result = scope.close().and(outcome);
        if matches!(
            result,
            Err(ActivationError::Validation(_) | ActivationError::OutOfMemory(_))
        ) {
            *lock(&self.arena) = UniformArena::new(&self.limits);
            lock(&self.bind_groups).clear();
            lock(&self.modules).clear();
            *lock(&self.chunk_sums) = None;
            *lock(&self.placeholder) = None;
        }
        result
    }

    /// A 16-byte storage buffer bound where a binding must exist but nothing is read.
    fn placeholder(&self, scope: &mut Scope) -> wgpu::Buffer {
        lock(&self.placeholder)
            .get_or_insert_with(|| {
                scope.open(&self.device);
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgpu-activations placeholder"),
                    size: 16,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .clone()
    }

    /// The weight gradient's scratch buffer, at least `bytes` long.
    fn chunk_sums(&self, bytes: u64, scope: &mut Scope) -> wgpu::Buffer {
        let mut slot = lock(&self.chunk_sums);
        match slot.as_ref() {
            Some(buffer) if buffer.size() >= bytes => buffer.clone(),
            _ => {
                scope.open(&self.device);
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgpu-activations prelu chunk sums"),
                    // Rounded up to reuse, but never past one binding.
                    size: bytes
                        .max(16)
                        .next_power_of_two()
                        .min(self.binding_elements(DType::F32).0 * 4)
                        .max(bytes),
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                *slot = Some(buffer.clone());
                buffer
            }
        }
    }

    /// The bind group of `key` (cached, or made in `scope`), for `entries`.
    fn bind_group(
        &self,
        key: BindGroupKey,
        layout: &wgpu::BindGroupLayout,
        uniform: &UniformSlot,
        uniform_size: usize,
        cache: bool,
        scope: &mut Scope,
    ) -> (wgpu::BindGroup, Option<BindGroupKey>) {
        let cacheable = cache && uniform.cached;
        if cacheable {
            if let Some(group) = lock(&self.bind_groups).get(&key) {
                return (group, None);
            }
        }
        scope.open(&self.device);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &uniform.buffer,
                offset: 0,
                size: NonZeroU64::new(uniform_size as u64),
            }),
        }];
        for (slot, range) in (1u32..).zip(&key.storage) {
            if let Some(range) = range {
                entries.push(wgpu::BindGroupEntry {
                    binding: slot,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &range.buffer,
                        offset: range.offset,
                        size: NonZeroU64::new(range.size),
                    }),
                });
            }
        }
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("wgpu-activations"),
            layout,
            entries: &entries,
        });
        (group, cacheable.then_some(key))
    }

    /// Caches the bind groups made in a call whose scope came back clean.
    fn keep(&self, prepared: &SmallList<Prepared>) {
        let mut cache = lock(&self.bind_groups);
        prepared.for_each(|item| {
            if let Some(key) = &item.new_key {
                cache.insert(key.clone(), item.bind_group.clone());
            }
        });
    }

    /// Checks that `view` holds `len` elements of `dtype` the device can bind.
    fn check_view(
        &self,
        what: &'static str,
        view: &TensorView<'_>,
        len: usize,
        dtype: DType,
    ) -> Result<()> {
        if view.context().is_some_and(|c| c != self.context) {
            return Err(ActivationError::ForeignTensor { what });
        }
        if view.dtype() != dtype {
            return Err(ActivationError::DtypeMismatch {
                what,
                actual: view.dtype().name(),
                expected: dtype.name(),
            });
        }
        if view.len() != len {
            return Err(ActivationError::LengthMismatch {
                what,
                expected: len,
                actual: view.len(),
            });
        }
        if !view.buffer().usage().contains(wgpu::BufferUsages::STORAGE) {
            return Err(ActivationError::MissingUsage {
                what,
                usage: "STORAGE",
            });
        }
        let alignment = u64::from(self.limits.min_storage_buffer_offset_alignment).max(4);
        if !view.offset().is_multiple_of(alignment) {
            return Err(ActivationError::MisalignedOffset {
                what,
                offset: view.offset(),
                alignment,
            });
        }
        let available = view.buffer().size().saturating_sub(view.offset());
        if view.word_len() > available {
            return Err(ActivationError::BufferTooSmall {
                what,
                needed: view.word_len(),
                available,
            });
        }
        Ok(())
    }

    /// Checks that `view` (a weight or a bias: read whole by every thread)
    /// fits one storage binding.
    fn check_whole_binding(&self, what: &'static str, view: &TensorView<'_>) -> Result<()> {
        let max = self.limits.max_storage_buffer_binding_size;
        if view.word_len() > max {
            return Err(ActivationError::TooLarge {
                what,
                len: view.len() as u64,
                max: max / view.dtype().size(),
            });
        }
        Ok(())
    }

    /// Whether `view` can be bound as whole vec4s.
    fn fits_vec4(view: &TensorView<'_>) -> bool {
        let vec4_bytes = 4 * view.dtype().size();
        let bytes = (view.len() as u64).div_ceil(4).saturating_mul(vec4_bytes);
        view.starts_on_vec4() && view.offset().saturating_add(bytes) <= view.buffer().size()
    }

    /// Checks that the device can run kernels on `dtype`.
    fn check_dtype(&self, dtype: DType) -> Result<()> {
        if dtype == DType::F16 && !self.device.features().contains(wgpu::Features::SHADER_F16) {
            return Err(ActivationError::Unsupported {
                op: "f16",
                what:
                    "this adapter lacks SHADER_F16: f16 tensors cannot be processed on it (use f32)",
            });
        }
        Ok(())
    }

    /// Elements of `dtype` one storage binding holds (whole words), and the
    /// alignment of a binding's offset in elements: the row and gated ops'
    /// pieces.
    pub(crate) fn binding_elements(&self, dtype: DType) -> (u64, u64) {
        let alignment = u64::from(self.limits.min_storage_buffer_offset_alignment).max(4);
        let max_binding = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
            / 4
            * 4;
        (max_binding / dtype.size(), alignment / dtype.size())
    }

    /// Bytes every dispatch's first element is aligned to: the storage
    /// offset alignment, and whole vec4s.
    fn chunk_alignment(&self) -> u64 {
        u64::from(self.limits.min_storage_buffer_offset_alignment).max(16)
    }

    /// Elements per dispatch: the largest count whose bytes fit one storage
    /// binding and keep every later chunk's offset aligned.
    fn chunk_elements(&self, dtype: DType) -> u64 {
        let alignment = self.chunk_alignment();
        let max_binding = self.limits.max_storage_buffer_binding_size;
        ((max_binding / alignment) * alignment / dtype.size()).max(4)
    }

    /// Elements per dispatch of PReLU's channel grid: the largest multiple
    /// of `period` that fits [`Kernels::chunk_elements`], holds at most
    /// `max_periods` periods and keeps every later chunk's offset aligned;
    /// `None` where no period fits.
    fn chunk_of_periods(&self, dtype: DType, period: u64, max_periods: u64) -> Option<u64> {
        let alignment = self.chunk_alignment();
        let aligned = (alignment / dtype.size()).max(1);
        let step = period.checked_mul(aligned / gcd(period, aligned))?;
        let most = self
            .chunk_elements(dtype)
            .min(max_periods.saturating_mul(period));
        Some(most / step * step).filter(|&chunk| chunk > 0)
    }

    fn check_len(len: usize, first_element: u64) -> Result<()> {
        let end = (len as u64).saturating_add(first_element);
        if end > MAX_ELEMENTS {
            return Err(ActivationError::TooLarge {
                what: "input (first_element + elements)",
                len: end,
                max: MAX_ELEMENTS,
            });
        }
        Ok(())
    }

    /// Checks the PReLU weight argument and returns `(channels, inner)` of the
    /// parameter block: `channels` is 1 for a shared weight.
    fn check_weight(
        &self,
        op: &Activation,
        shape: &[usize],
        weight: Option<&TensorView<'_>>,
        dtype: DType,
    ) -> Result<(u32, u32)> {
        match (op.uses_weight(), weight) {
            (false, None) => Ok((1, 1)),
            (false, Some(_)) => Err(ActivationError::WeightArgument {
                op: op.name(),
                problem: "takes no weight",
            }),
            (true, None) => Err(ActivationError::WeightArgument {
                op: op.name(),
                problem: "needs a weight",
            }),
            (true, Some(weight)) => {
                let (channels, inner) = prelu_channels(shape);
                if weight.len() != 1 && weight.len() != channels {
                    return Err(ActivationError::PreluWeightCount {
                        channels,
                        actual: weight.len(),
                    });
                }
                self.check_view("weight", weight, weight.len(), dtype)?;
                self.check_whole_binding("weight", weight)?;
                let to_u32 = |n: usize| {
                    u32::try_from(n).map_err(|_| ActivationError::TooLarge {
                        what: "prelu channel layout",
                        len: n as u64,
                        max: u64::from(u32::MAX),
                    })
                };
                // (An empty tensor reads no weight; its channel block may
                // have saturated: see `prelu_channels`.)
                if weight.len() == 1 || element_count(shape)? == 0 {
                    Ok((1, 1))
                } else {
                    Ok((to_u32(channels)?, to_u32(inner)?))
                }
            }
        }
    }

    fn check_distinct(
        written: (&'static str, &TensorView<'_>),
        others: &[Option<(&'static str, &TensorView<'_>)>],
    ) -> Result<()> {
        for (other, view) in others.iter().flatten() {
            if written.1.buffer() == view.buffer() {
                return Err(ActivationError::AliasedBuffers {
                    written: written.0,
                    other,
                });
            }
        }
        Ok(())
    }

    /// Refuses an out-of-place op whose written range is exactly the range
    /// it reads, naming the in-place entry points that do that.
    fn check_not_same_range(
        written: (&'static str, &TensorView<'_>),
        read: (&'static str, &TensorView<'_>),
        in_place: &'static str,
    ) -> Result<()> {
        if written.1.same_range(read.1) {
            return Err(ActivationError::SameRange {
                written: written.0,
                other: read.0,
                in_place,
            });
        }
        Ok(())
    }

    pub(crate) fn encode_forward(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        self.forward_op(target, op, shape, buffers, false, cache)
    }

    /// A fused op's bias, checked against `shape[dim]`: the view, its
    /// channels and the elements per channel block.
    fn check_bias<'a>(
        &self,
        bias: Option<TensorView<'a>>,
        dim: i64,
        shape: &[usize],
        dtype: DType,
    ) -> Result<Option<(TensorView<'a>, u32, u32)>> {
        let Some(view) = bias else {
            return Ok(None);
        };
        let axis = crate::shape::wrap_dim("bias", dim, shape.len(), shape)?;
        let channels = shape[axis];
        // (An empty tensor reads no bias: its dimensions beside the 0 may
        // multiply past any size.)
        let inner = match element_count(shape)? {
            0 => 1,
            _ => crate::shape::saturating_product(&shape[axis + 1..]),
        };
        self.check_view("bias", &view, channels, dtype)?;
        self.check_whole_binding("bias", &view)?;
        let narrow = |n: usize| {
            u32::try_from(n.max(1)).map_err(|_| ActivationError::TooLarge {
                what: "bias channel block",
                len: n as u64,
                max: u64::from(u32::MAX),
            })
        };
        Ok(Some((view, narrow(channels)?, narrow(inner)?)))
    }

    /// Checks a fused backward's `grad_bias` against the checked `bias`
    /// (its channels and channel block): the bias's length, and a bias to
    /// go with it.
    #[allow(clippy::type_complexity)]
    pub(crate) fn check_grad_bias<'a>(
        &self,
        op: &'static str,
        grad_bias: Option<TensorView<'a>>,
        bias: Option<(TensorView<'_>, u32, u32)>,
        dtype: DType,
    ) -> Result<Option<(TensorView<'a>, u32, u32)>> {
        match (grad_bias, bias) {
            (None, _) => Ok(None),
            (Some(_), None) => Err(ActivationError::Unsupported {
                op,
                what: "grad_bias without a bias: give the forward's bias too",
            }),
            (Some(view), Some((bias, channels, inner))) => {
                self.check_view("grad_bias", &view, bias.len(), dtype)?;
                Ok(Some((view, channels, inner)))
            }
        }
    }

    /// Records a fused backward (see [`FusedBackwardBuffers`]).
    pub(crate) fn encode_backward_fused(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedBackwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let len = element_count(shape)?;
        Self::check_len(len, buffers.first_element)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        self.check_view("input", &buffers.input, len, dtype)?;
        self.check_view("grad_output", &buffers.grad_output, len, dtype)?;
        self.check_view("grad_input", &buffers.grad_input, len, dtype)?;
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        let bias = self.check_bias(buffers.bias, buffers.bias_dim, shape, dtype)?;
        let grad_bias = self.check_grad_bias(op.name(), buffers.grad_bias, bias, dtype)?;
        let reads = [
            Some(("input", &buffers.input)),
            Some(("grad_output", &buffers.grad_output)),
            buffers.weight.as_ref().map(|w| ("weight", w)),
            buffers.bias.as_ref().map(|b| ("bias", b)),
        ];
        Self::check_distinct(("grad_input", &buffers.grad_input), &reads)?;
        if let Some(grad_weight) = &buffers.grad_weight {
            let weight = self.check_grad_weight(op, grad_weight, buffers.weight.as_ref(), dtype)?;
            let mut others = reads.to_vec();
            others.push(Some(("grad_input", &buffers.grad_input)));
            others.push(buffers.grad_bias.as_ref().map(|b| ("grad_bias", b)));
            Self::check_distinct(("grad_weight", grad_weight), &others)?;
            Self::check_weight_grad_piece(op, shape, weight, buffers.first_element)?;
        }
        // The sums per bias channel count a piece's elements from its start:
        // the piece must start on a whole bias block (as a PReLU weight
        // gradient's on a whole channel block).
        if grad_bias.is_some() || (buffers.grad_weight.is_some() && bias.is_some()) {
            Self::check_bias_grad_piece(op, bias, buffers.first_element)?;
        }
        if let Some((view, _, _)) = &grad_bias {
            Self::check_distinct(
                ("grad_bias", view),
                &[
                    reads[0],
                    reads[1],
                    reads[2],
                    reads[3],
                    Some(("grad_input", &buffers.grad_input)),
                ],
            )?;
        }
        self.encode_elementwise(
            target,
            Dispatch {
                op,
                direction: Direction::Backward,
                from_output: false,
                in_place: false,
                prelu,
                bias,
                residual: None,
                first_element: buffers.first_element,
                cache,
            },
            [Some(buffers.input), Some(buffers.grad_output)],
            buffers.grad_input,
            buffers.weight,
        )?;
        self.encode_bias_grad(target, buffers.grad_input, grad_bias, cache)?;
        if let Some(grad_weight) = buffers.grad_weight {
            // PReLU's weight gradient at x + bias: the bias read beside x.
            self.encode_prelu_weight_grad(
                target,
                shape,
                buffers.input,
                buffers.grad_output,
                grad_weight,
                bias,
                cache,
            )?;
        }
        Ok(())
    }

    /// Records a fused backward's bias gradient, when asked for: the sums of
    /// `grad_input` per channel of the bias, in a fixed order (wgpu orders
    /// this after the kernel that writes `grad_input`).
    pub(crate) fn encode_bias_grad(
        &self,
        target: &mut Target<'_, '_>,
        grad_input: TensorView<'_>,
        grad_bias: Option<(TensorView<'_>, u32, u32)>,
        cache: bool,
    ) -> Result<()> {
        let Some((view, channels, inner)) = grad_bias else {
            return Ok(());
        };
        self.encode_channel_sums(
            target,
            ReduceTerm::Gradient,
            (u64::from(channels), u64::from(inner)),
            grad_input,
            grad_input,
            view,
            None,
            cache,
        )
    }

    /// Checks a requested PReLU weight gradient: the op has a weight, and
    /// the gradient has its length. Returns the weight.
    fn check_grad_weight<'w>(
        &self,
        op: &Activation,
        grad_weight: &TensorView<'_>,
        weight: Option<&'w TensorView<'w>>,
        dtype: DType,
    ) -> Result<&'w TensorView<'w>> {
        let weight = weight.ok_or(ActivationError::WeightArgument {
            op: op.name(),
            problem: "grad_weight was asked for, but the op has no weight",
        })?;
        self.check_view("grad_weight", grad_weight, weight.len(), dtype)?;
        Ok(weight)
    }

    /// A gradient summed per channel over a piece of a tensor counts the
    /// channels from the piece's start: the piece must start on a whole
    /// block of `block` elements (channels * inner), else `Unsupported`
    /// saying `what`.
    fn check_piece_on_block(
        op: &Activation,
        block: u64,
        first_element: u64,
        what: &'static str,
    ) -> Result<()> {
        if !first_element.is_multiple_of(block.max(1)) {
            return Err(ActivationError::Unsupported {
                op: op.name(),
                what,
            });
        }
        Ok(())
    }

    /// A PReLU weight gradient over a piece: with per-channel weights, on a
    /// whole channel block.
    fn check_weight_grad_piece(
        op: &Activation,
        shape: &[usize],
        weight: &TensorView<'_>,
        first_element: u64,
    ) -> Result<()> {
        if weight.len() <= 1 {
            return Ok(());
        }
        let (channels, inner) = prelu_channels(shape);
        Self::check_piece_on_block(
            op,
            (channels.max(1) as u64).saturating_mul(inner as u64),
            first_element,
            "a weight gradient over a piece of a tensor needs the piece to start at a \
             multiple of channels * inner elements",
        )
    }

    /// A gradient summed per bias channel over a piece (the bias's, or
    /// PReLU's weight's at x + bias): on a whole bias block.
    fn check_bias_grad_piece(
        op: &Activation,
        bias: Option<(TensorView<'_>, u32, u32)>,
        first_element: u64,
    ) -> Result<()> {
        let Some((_, channels, inner)) = bias else {
            return Ok(());
        };
        Self::check_piece_on_block(
            op,
            u64::from(channels) * u64::from(inner),
            first_element,
            "a gradient summed per bias channel over a piece of a tensor needs the \
             piece to start at a multiple of the bias's channels * inner elements",
        )
    }

    /// Records a fused forward (see [`FusedForwardBuffers`]).
    pub(crate) fn encode_forward_fused(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedForwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let len = element_count(shape)?;
        Self::check_len(len, buffers.first_element)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        self.check_view("input", &buffers.input, len, dtype)?;
        self.check_view("output", &buffers.output, len, dtype)?;
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        let bias = self.check_bias(buffers.bias, buffers.bias_dim, shape, dtype)?;
        if let Some(residual) = &buffers.residual {
            self.check_view("residual", residual, len, dtype)?;
        }
        let weight = buffers.weight.as_ref().map(|w| ("weight", w));
        Self::check_distinct(
            ("output", &buffers.output),
            &[
                Some(("input", &buffers.input)),
                weight,
                buffers.bias.as_ref().map(|b| ("bias", b)),
                buffers.residual.as_ref().map(|r| ("residual", r)),
            ],
        )?;
        self.encode_elementwise(
            target,
            Dispatch {
                op,
                direction: Direction::Forward,
                from_output: false,
                in_place: false,
                prelu,
                bias,
                residual: buffers.residual,
                first_element: buffers.first_element,
                cache,
            },
            [Some(buffers.input), None],
            buffers.output,
            buffers.weight,
        )
    }

    pub(crate) fn encode_forward_in_place(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardInPlaceBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        let buffers = ForwardBuffers {
            input: buffers.data,
            output: buffers.data,
            weight: buffers.weight,
            first_element: buffers.first_element,
        };
        self.forward_op(target, op, shape, &buffers, true, cache)
    }

    /// A forward op; `in_place`: `buffers.output` is `buffers.input` (the
    /// in-place entry points' `data`), overwritten.
    fn forward_op(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardBuffers<'_>,
        in_place: bool,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let len = element_count(shape)?;
        Self::check_len(len, buffers.first_element)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        let weight = buffers.weight.as_ref().map(|w| ("weight", w));
        if in_place {
            self.check_view("data", &buffers.input, len, dtype)?;
        } else {
            self.check_view("input", &buffers.input, len, dtype)?;
            self.check_view("output", &buffers.output, len, dtype)?;
        }
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        if in_place {
            Self::check_distinct(("data", &buffers.output), &[weight])?;
        } else {
            Self::check_not_same_range(
                ("output", &buffers.output),
                ("input", &buffers.input),
                "GpuContext::encode_forward_in_place (or encode_forward_in_place_in_pass)",
            )?;
            Self::check_distinct(
                ("output", &buffers.output),
                &[Some(("input", &buffers.input)), weight],
            )?;
        }
        self.encode_elementwise(
            target,
            Dispatch {
                op,
                direction: Direction::Forward,
                from_output: false,
                in_place,
                prelu,
                bias: None,
                residual: None,
                first_element: buffers.first_element,
                cache,
            },
            // In place, the input is the written binding.
            [(!in_place).then_some(buffers.input), None],
            buffers.output,
            buffers.weight,
        )
    }

    pub(crate) fn encode_backward(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        self.backward_op(target, op, shape, buffers, false, cache)
    }

    pub(crate) fn encode_backward_in_place(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardInPlaceBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        let buffers = BackwardBuffers {
            input: buffers.input,
            grad_output: buffers.grad_output,
            grad_input: buffers.grad_output,
            weight: buffers.weight,
            grad_weight: buffers.grad_weight,
            from_output: buffers.from_output,
            first_element: buffers.first_element,
        };
        self.backward_op(target, op, shape, &buffers, true, cache)
    }

    /// A backward op; `in_place`: `buffers.grad_input` is
    /// `buffers.grad_output`, overwritten.
    fn backward_op(
        &self,
        target: &mut Target<'_, '_>,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardBuffers<'_>,
        in_place: bool,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        if buffers.from_output && !op.backward_from_output_supported() {
            return Err(ActivationError::Unsupported {
                op: op.name(),
                what:
                    "its gradient cannot be computed from the output (only relu, leaky_relu with \
                       negative_slope >= 0, elu with alpha >= 0, sigmoid and tanh can)",
            });
        }
        let len = element_count(shape)?;
        Self::check_len(len, buffers.first_element)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        self.check_view("input", &buffers.input, len, dtype)?;
        self.check_view("grad_output", &buffers.grad_output, len, dtype)?;
        if !in_place {
            self.check_view("grad_input", &buffers.grad_input, len, dtype)?;
        }
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        let weight = buffers.weight.as_ref().map(|w| ("weight", w));
        if in_place {
            Self::check_distinct(
                ("grad_output", &buffers.grad_output),
                &[Some(("input", &buffers.input)), weight],
            )?;
        } else {
            Self::check_not_same_range(
                ("grad_input", &buffers.grad_input),
                ("grad_output", &buffers.grad_output),
                "GpuContext::encode_backward_in_place (or encode_backward_in_place_in_pass)",
            )?;
            Self::check_distinct(
                ("grad_input", &buffers.grad_input),
                &[
                    Some(("input", &buffers.input)),
                    Some(("grad_output", &buffers.grad_output)),
                    weight,
                ],
            )?;
        }
        if let Some(grad_weight) = &buffers.grad_weight {
            let weight = self.check_grad_weight(op, grad_weight, buffers.weight.as_ref(), dtype)?;
            Self::check_distinct(
                ("grad_weight", grad_weight),
                &[
                    Some(("input", &buffers.input)),
                    Some(("grad_output", &buffers.grad_output)),
                ],
            )?;
            // Out of place the weight gradient is written last; in place
            // first (it reads grad_output before the kernel overwrites it),
            // so it must not overwrite the weight that kernel then reads.
            let (other, view) = if in_place {
                ("weight", weight)
            } else {
                ("grad_input", &buffers.grad_input)
            };
            if grad_weight.overlaps(view) {
                return Err(ActivationError::AliasedBuffers {
                    written: "grad_weight",
                    other,
                });
            }
            Self::check_weight_grad_piece(op, shape, weight, buffers.first_element)?;
        }
        let weight_grad = |kernels: &Self, target: &mut Target<'_, '_>| -> Result<()> {
            match buffers.grad_weight {
                Some(grad_weight) => kernels.encode_prelu_weight_grad(
                    target,
                    shape,
                    buffers.input,
                    buffers.grad_output,
                    grad_weight,
                    None,
                    cache,
                ),
                None => Ok(()),
            }
        };
        if in_place {
            // Reads grad_output before the elementwise kernel overwrites it
            // (wgpu orders the two passes, or the two dispatches of one pass).
            weight_grad(self, target)?;
        }
        self.encode_elementwise(
            target,
            Dispatch {
                op,
                direction: Direction::Backward,
                from_output: buffers.from_output,
                in_place,
                prelu,
                bias: None,
                residual: None,
                first_element: buffers.first_element,
                cache,
            },
            // In place, the gradient is the written binding.
            [
                Some(buffers.input),
                (!in_place).then_some(buffers.grad_output),
            ],
            buffers.grad_input,
            buffers.weight,
        )?;
        if !in_place {
            weight_grad(self, target)?;
        }
        Ok(())
    }

    /// Records one elementwise op over checked views, one dispatch per chunk
    /// of at most one storage binding. Everything is looked up or made first
    /// (in one error scope, opened only if something is made), then recorded:
    /// on error nothing is recorded.
    fn encode_elementwise(
        &self,
        target: &mut Target<'_, '_>,
        dispatch: Dispatch<'_>,
        reads: [Option<TensorView<'_>>; 2],
        output: TensorView<'_>,
        weight: Option<TensorView<'_>>,
    ) -> Result<()> {
        let len = output.len() as u64;
        if len == 0 {
            return Ok(());
        }
        let dtype = output.dtype();
        let layout = if reads
            .iter()
            .flatten()
            .chain([&output])
            .chain(dispatch.residual.as_ref())
            .all(Self::fits_vec4)
        {
            StorageLayout::Vec4(dtype)
        } else {
            StorageLayout::Scalar(dtype)
        };
        let op = dispatch.op;
        let (channels, inner) = dispatch.prelu;
        let max_dim = self.limits.max_compute_workgroups_per_dimension;
        let mut chunk = self.chunk_elements(dtype);
        // Each chunk's first element is the first one's plus a multiple of
        // `chunk`.
        let mut weights =
            WeightLayout::choose(op, layout, channels, inner, [dispatch.first_element, chunk]);
        // PReLU's channels from the grid: chunks of whole periods, at most
        // `max_dim` of them (the grid's z) per dispatch.
        let period = u64::from(channels) * u64::from(inner);
        if weights.grid_fits(layout, channels, inner, dispatch.first_element, max_dim) {
            if let Some(periods) = self.chunk_of_periods(dtype, period, u64::from(max_dim)) {
                weights = WeightLayout::ChannelGrid;
                chunk = periods;
            }
        }
        let key = PipelineKey {
            call: op.wgsl_call(),
            layout,
            direction: dispatch.direction,
            from_output: dispatch.from_output && dispatch.direction == Direction::Backward,
            in_place: dispatch.in_place,
            weights,
            epilogue: EpilogueKey {
                bias: dispatch.bias.map(|(_, channels, inner)| {
                    BiasLayout::choose(layout, channels, inner, [dispatch.first_element, chunk])
                }),
                residual: dispatch.residual.is_some(),
            },
        };
        let (bias_channels, bias_inner) = dispatch.bias.map_or((1, 1), |(_, c, i)| (c, i));
        let (bias_inner_magic, bias_inner_shifts) = shaders::division_magic(bias_inner);
        let (bias_channels_magic, bias_channels_shifts) = shaders::division_magic(bias_channels);
        let kernel_args = op.kernel_args();
        let (inner_magic, inner_shifts) = shaders::division_magic(inner);
        let (channels_magic, channels_shifts) = shaders::division_magic(channels);
        let per_thread = layout.elements_per_thread();
        let mut scope = Scope::default();
        let (bind_group_layout, pipeline, new_pipeline) =
            self.elementwise_pipeline(op, key, &mut scope);
        let mut prepared = SmallList::new();
        let mut start = 0u64;
        let outcome = (|| -> Result<()> {
            while start < len {
                let count = chunk.min(len - start);
                let element_bytes = count.div_ceil(per_thread) * per_thread * dtype.size();
                let bound_bytes = element_bytes.div_ceil(4) * 4;
                let grid = if weights == WeightLayout::ChannelGrid {
                    // x: the vec4s of a block, y: the channel, z: the periods.
                    let per_block = u64::from(inner) / per_thread;
                    (
                        per_block.div_ceil(u64::from(WORKGROUP_SIZE)) as u32,
                        channels,
                        count.div_ceil(period) as u32,
                    )
                } else {
                    let workgroups = count
                        .div_ceil(per_thread)
                        .div_ceil(u64::from(WORKGROUP_SIZE));
                    dispatch_grid(workgroups, max_dim)?
                };
                let params = ElementwiseParams {
                    len: count as u32,
                    base: (dispatch.first_element + start) as u32,
                    channels,
                    inner,
                    p0: kernel_args.scalars[0],
                    p1: kernel_args.scalars[1],
                    p2: kernel_args.scalars[2],
                    p3: kernel_args.scalars[3],
                    seed_lo: kernel_args.seed as u32,
                    seed_hi: (kernel_args.seed >> 32) as u32,
                    inner_magic,
                    channels_magic,
                    shifts: inner_shifts | (channels_shifts << 16),
                    pad0: 0,
                    bias_channels,
                    bias_inner,
                    bias_inner_magic,
                    bias_channels_magic,
                    bias_shifts: bias_inner_shifts | (bias_channels_shifts << 16),
                    pad1: 0,
                    pad2: 0,
                    pad3: 0,
                };
                let uniform = lock(&self.arena).slot(
                    &self.device,
                    &self.queue,
                    &block_of(&params),
                    bytemuck::bytes_of(&params),
                    &mut scope,
                );
                let (first, count) = (start as usize, count as usize);
                let [input, grad] = reads;
                let key = BindGroupKey {
                    layout: LayoutKind::Elementwise {
                        direction: dispatch.direction,
                        weight: weight.is_some(),
                        in_place: dispatch.in_place,
                        epilogue: key.epilogue,
                    },
                    uniform: uniform.buffer.clone(),
                    storage: [
                        input.map(|v| bound(v.sub(first, count), bound_bytes)),
                        grad.map(|v| bound(v.sub(first, count), bound_bytes)),
                        Some(bound(output.sub(first, count), bound_bytes)),
                        weight.map(|w| bound(w, w.word_len())),
                        dispatch.bias.map(|(b, _, _)| bound(b, b.word_len())),
                        dispatch
                            .residual
                            .map(|r| bound(r.sub(first, count), bound_bytes)),
                    ],
                };
                let (bind_group, new_key) = self.bind_group(
                    key,
                    &bind_group_layout,
                    &uniform,
                    std::mem::size_of::<ElementwiseParams>(),
                    dispatch.cache,
                    &mut scope,
                );
                prepared.push(Prepared {
                    bind_group,
                    offset: uniform.offset,
                    grid,
                    new_key,
                });
                start += count as u64;
            }
            Ok(())
        })();
        self.close(scope, outcome)?;
        if new_pipeline {
            lock(&self.pipelines).insert(key, pipeline.clone());
        }
        self.keep(&prepared);
        target.with_pass(op.wgsl_call().function, |pass| {
            pass.set_pipeline(&pipeline);
            prepared.for_each(|item| {
                pass.set_bind_group(0, &item.bind_group, &[item.offset]);
                pass.dispatch_workgroups(item.grid.0, item.grid.1, item.grid.2);
            });
        });
        Ok(())
    }

    /// Records the two-pass, fixed-order reduction of PReLU's weight
    /// gradient. A tensor larger than one storage binding is bound piece by
    /// piece (the pieces of the elementwise kernels); each piece adds its
    /// own chunks of each channel, in a fixed order, so the result is the
    /// same on every run (for a given binding size).
    #[allow(clippy::too_many_arguments)]
    fn encode_prelu_weight_grad(
        &self,
        target: &mut Target<'_, '_>,
        shape: &[usize],
        input: TensorView<'_>,
        grad_output: TensorView<'_>,
        grad_weight: TensorView<'_>,
        bias: Option<(TensorView<'_>, u32, u32)>,
        cache: bool,
    ) -> Result<()> {
        let (channels, inner) = if grad_weight.len() == 1 {
            (1u64, (input.len() as u64).max(1))
        } else {
            let (channels, inner) = prelu_channels(shape);
            (channels as u64, inner as u64)
        };
        let term = match bias {
            Some(_) => ReduceTerm::PreluWeightBiased,
            None => ReduceTerm::PreluWeight,
        };
        self.encode_channel_sums(
            target,
            term,
            (channels, inner),
            input,
            grad_output,
            grad_weight,
            bias,
            cache,
        )
    }

    /// Records the two-pass, fixed-order per-channel sums of `term` over
    /// `input` and `grad_output` into `sums` (`channels` channels of `inner`
    /// elements): PReLU's weight gradient, or a fused bias's gradient.
    #[allow(clippy::too_many_arguments)]
    fn encode_channel_sums(
        &self,
        target: &mut Target<'_, '_>,
        term: ReduceTerm,
        (channels, inner): (u64, u64),
        input: TensorView<'_>,
        grad_output: TensorView<'_>,
        grad_weight: TensorView<'_>,
        bias: Option<(TensorView<'_>, u32, u32)>,
        cache: bool,
    ) -> Result<()> {
        debug_assert_eq!(bias.is_some(), term == ReduceTerm::PreluWeightBiased);
        if grad_weight.is_empty() {
            // No channel (a 0 in the shape): nothing to write, and nothing
            // may be bound (an empty binding would cover the rest of the
            // caller's buffer).
            return Ok(());
        }
        let (bias_channels, bias_inner) = bias.map_or((1, 1), |(_, c, i)| (c, i));
        let len = input.len() as u64;
        let dtype = input.dtype();
        let chunk = u64::from(WEIGHT_GRAD_CHUNK);
        let block = (channels * inner).max(1);
        let piece = self.chunk_elements(dtype);
        let pieces = len.div_ceil(piece).max(1);
        // Chunks per channel in a piece of n elements: exact for one piece
        // (n is whole channel blocks), else a bound on what any channel has
        // among n consecutive elements (unfilled chunks add 0).
        let chunks_in = |n: u64| -> u64 {
            let most = if pieces == 1 {
                n / block * inner
            } else {
                ((n / block + 2) * inner).min(n)
            };
            most.div_ceil(chunk)
        };
        let total_chunks: u64 = (0..pieces)
            .map(|p| chunks_in(piece.min(len - (p * piece).min(len))))
            .sum();
        let chunk_sums_len = channels.saturating_mul(total_chunks);
        // The partial sums are one f32 each, bound whole: within u32
        // indices and one storage binding.
        let (max_binding, _) = self.binding_elements(DType::F32);
        let most = max_binding.min(u64::from(u32::MAX));
        if chunk_sums_len > most || channels > u64::from(u32::MAX) {
            return Err(ActivationError::TooLarge {
                what: "per-channel gradient sums (channels x chunks)",
                len: chunk_sums_len,
                max: most,
            });
        }
        let max_dim = self.limits.max_compute_workgroups_per_dimension;
        let channel_grid = dispatch_grid(channels, max_dim)?;
        let mut scope = Scope::default();
        let (pipelines, new_pipelines) = self.weight_grad_pipelines(dtype, term, &mut scope);
        let placeholder = self.placeholder(&mut scope);
        let chunk_sums = self.chunk_sums(chunk_sums_len.max(1) * 4, &mut scope);
        let mut prepared = SmallList::new();
        let outcome = (|| -> Result<()> {
            let mut chunk_base = 0u64;
            // At least one piece, so that an empty tensor still writes zeros.
            for p in 0..pieces {
                let first = (p * piece).min(len);
                let piece_len = piece.min(len - first);
                let piece_chunks = chunks_in(piece_len);
                let params = ReduceParams {
                    channels: channels as u32,
                    inner: inner as u32,
                    piece_start: first as u32,
                    piece_len: piece_len as u32,
                    chunks_per_channel: piece_chunks as u32,
                    chunk_base: chunk_base as u32,
                    total_chunks: total_chunks as u32,
                    bias_channels,
                    bias_inner,
                    pad0: 0,
                    pad1: 0,
                    pad2: 0,
                };
                let grid = dispatch_grid(channels * piece_chunks, max_dim)?;
                let uniform = lock(&self.arena).slot(
                    &self.device,
                    &self.queue,
                    &block_of(&params),
                    bytemuck::bytes_of(&params),
                    &mut scope,
                );
                let placeholder_view = TensorView::with_dtype(&placeholder, 0, 2, dtype);
                let bind = |view: TensorView<'_>| -> Bound {
                    let sub = view.sub(first as usize, piece_len as usize);
                    let sub = if sub.is_empty() {
                        placeholder_view
                    } else {
                        sub
                    };
                    bound(sub, sub.word_len())
                };
                let key = BindGroupKey {
                    layout: LayoutKind::WeightGrad {
                        bias: bias.is_some(),
                    },
                    uniform: uniform.buffer.clone(),
                    storage: [
                        Some(bind(input)),
                        Some(bind(grad_output)),
                        Some(Bound {
                            buffer: chunk_sums.clone(),
                            offset: 0,
                            size: chunk_sums.size(),
                        }),
                        Some(bound(grad_weight, grad_weight.word_len())),
                        bias.map(|(view, _, _)| bound(view, view.word_len())),
                        None,
                    ],
                };
                let (bind_group, new_key) = self.bind_group(
                    key,
                    &pipelines.layout,
                    &uniform,
                    std::mem::size_of::<ReduceParams>(),
                    cache,
                    &mut scope,
                );
                prepared.push(Prepared {
                    bind_group,
                    offset: uniform.offset,
                    grid,
                    new_key,
                });
                chunk_base += piece_chunks;
            }
            Ok(())
        })();
        self.close(scope, outcome)?;
        if new_pipelines {
            lock(&self.weight_grad).insert((dtype, term), pipelines.clone());
        }
        self.keep(&prepared);
        target.with_pass("prelu_weight_grad", |pass| {
            pass.set_pipeline(&pipelines.partial_sums);
            prepared.for_each(|item| {
                if item.grid.0 > 0 {
                    pass.set_bind_group(0, &item.bind_group, &[item.offset]);
                    pass.dispatch_workgroups(item.grid.0, item.grid.1, item.grid.2);
                }
            });
            // Any piece's bind group will do: channel_sums reads the chunk
            // sums and the parameters every piece shares.
            if let (true, Some(item)) = (channels > 0, prepared.first()) {
                pass.set_pipeline(&pipelines.channel_sums);
                pass.set_bind_group(0, &item.bind_group, &[item.offset]);
                pass.dispatch_workgroups(channel_grid.0, channel_grid.1, channel_grid.2);
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_of_periods_and_alignments() {
        assert_eq!(gcd(3000, 64), 8);
        assert_eq!(gcd(3072, 64), 64);
        assert_eq!(gcd(0, 5), 5);
        assert_eq!(gcd(7, 1), 1);
    }

    #[test]
    fn dispatch_grid_stays_1d_while_it_fits() {
        assert_eq!(dispatch_grid(0, 65535).unwrap(), (0, 1, 1));
        assert_eq!(dispatch_grid(1, 65535).unwrap(), (1, 1, 1));
        assert_eq!(dispatch_grid(65535, 65535).unwrap(), (65535, 1, 1));
    }

    #[test]
    fn dispatch_grid_folds_into_2d_past_the_limit() {
        for workgroups in [65536u64, 65535 * 2 + 1, 1 << 24, 65535 * 65535] {
            let (x, y, z) = dispatch_grid(workgroups, 65535).unwrap();
            assert_eq!(z, 1);
            assert!(x <= 65535 && y <= 65535, "{workgroups}: {x} x {y}");
            let covered = u64::from(x) * u64::from(y);
            assert!(covered >= workgroups, "{workgroups}: {x} x {y}");
            // The surplus is less than one row.
            assert!(
                covered - workgroups < u64::from(x),
                "{workgroups}: {x} x {y}"
            );
        }
        assert!(dispatch_grid(65535 * 65535 + 1, 65535).is_err());
    }

    #[test]
    fn small_list_keeps_order_past_its_inline_capacity() {
        let mut list = SmallList::new();
        for i in 0..7 {
            list.push(i);
            let mut seen = Vec::new();
            list.for_each(|v| seen.push(*v));
            assert_eq!(seen, (0..=i).collect::<Vec<_>>());
            assert_eq!(list.first(), Some(&0));
        }
    }

    #[test]
    fn parameter_blocks_fit_the_arena_key() {
        assert!(std::mem::size_of::<ElementwiseParams>() <= std::mem::size_of::<Block>());
        assert!(std::mem::size_of::<ReduceParams>() <= std::mem::size_of::<Block>());
    }
}

//! Pipelines, cached by key, and the recording of ops into a caller's
//! `wgpu::CommandEncoder`.
//!
//! Everything here is checked before it is recorded: shapes, parameters,
//! buffer usages, sizes, alignments and aliasing. Pipelines and bind groups are
//! created inside wgpu error scopes, so what slips past the checks comes back as
//! an [`ActivationError`] rather than reaching wgpu's panicking default handler.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Mutex;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use crate::activation::{Activation, GeluApproximate, SELU_ALPHA, SELU_SCALE};
use crate::error::{ActivationError, Result};
use crate::shaders::{self, DType, OpFamily, StorageLayout, WEIGHT_GRAD_CHUNK, WORKGROUP_SIZE};
use crate::shape::{element_count, prelu_channels};
use crate::view::TensorView;

/// Largest element count a single op takes: indices are 32-bit in the shaders.
pub const MAX_ELEMENTS: u64 = (u32::MAX - 3) as u64;

/// Which entry point of an elementwise module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Direction {
    Forward,
    Backward,
}

impl Direction {
    fn entry_point(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// Where an op runs: its family, the value of the family's `OP` constant,
/// the four scalars of its parameter block and its seed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct KernelSpec {
    family: OpFamily,
    op_code: u32,
    scalars: [f32; 4],
    seed: u64,
}

/// The slope `rrelu` uses in evaluation mode: `(lower + upper) / 2`, rounded
/// once to f32 (the CPU reference uses the same value).
pub fn rrelu_eval_slope(lower: f32, upper: f32) -> f32 {
    ((f64::from(lower) + f64::from(upper)) / 2.0) as f32
}

/// The registry from [`Activation`] to shader: one line per op, the op codes
/// being the `OP_*` constants of the family's WGSL.
fn kernel_spec(op: &Activation) -> KernelSpec {
    use Activation as A;
    use OpFamily as F;
    let spec = |family, op_code, scalars| KernelSpec {
        family,
        op_code,
        scalars,
        seed: 0,
    };
    let one = |p: f32| [p, 0.0, 0.0, 0.0];
    let two = |p: f32, q: f32| [p, q, 0.0, 0.0];
    match *op {
        A::Identity => spec(F::Rectifier, 0, [0.0; 4]),
        A::Relu => spec(F::Rectifier, 1, [0.0; 4]),
        A::LeakyRelu { negative_slope } => spec(F::Rectifier, 2, one(negative_slope)),
        A::Rrelu {
            lower,
            upper,
            training: false,
            ..
        } => spec(F::Rectifier, 2, one(rrelu_eval_slope(lower, upper))),
        A::Rrelu {
            lower,
            upper,
            training: true,
            seed,
        } => KernelSpec {
            seed,
            ..spec(F::Rectifier, 3, two(lower, upper))
        },
        A::Hardtanh { min_val, max_val } => spec(F::Rectifier, 4, two(min_val, max_val)),
        A::Relu6 => spec(F::Rectifier, 4, two(0.0, 6.0)),
        A::Threshold { threshold, value } => spec(F::Rectifier, 5, two(threshold, value)),
        A::Hardsigmoid => spec(F::Rectifier, 6, [0.0; 4]),
        A::Hardswish => spec(F::Rectifier, 7, [0.0; 4]),
        A::Prelu => spec(F::Prelu, 0, [0.0; 4]),
        A::Hardshrink { lambd } => spec(F::Shrink, 0, one(lambd)),
        A::Softshrink { lambd } => spec(F::Shrink, 1, one(lambd)),
        A::Tanhshrink => spec(F::Shrink, 2, [0.0; 4]),
        A::Elu { alpha } => spec(F::ExponentialLinear, 0, [alpha, 1.0, 1.0, alpha]),
        A::Selu => {
            let alpha = SELU_ALPHA as f32;
            spec(
                F::ExponentialLinear,
                0,
                [alpha, SELU_SCALE as f32, 1.0, alpha],
            )
        }
        A::Celu { alpha } => spec(
            F::ExponentialLinear,
            0,
            [alpha, 1.0, (1.0 / f64::from(alpha)) as f32, 1.0],
        ),
        A::Sigmoid => spec(F::Logistic, 0, [0.0; 4]),
        A::Logsigmoid => spec(F::Logistic, 1, [0.0; 4]),
        A::Silu => spec(F::Logistic, 2, [0.0; 4]),
        A::Softplus { beta, threshold } => spec(
            F::Logistic,
            3,
            [beta, threshold, (1.0 / f64::from(beta)) as f32, 0.0],
        ),
        A::Mish => spec(F::Logistic, 4, [0.0; 4]),
        A::Tanh => spec(F::Logistic, 5, [0.0; 4]),
        A::Softsign => spec(F::Logistic, 6, [0.0; 4]),
        A::Gelu {
            approximate: GeluApproximate::None,
        } => spec(F::Gelu, 0, [0.0; 4]),
        A::Gelu {
            approximate: GeluApproximate::Tanh,
        } => spec(F::Gelu, 1, [0.0; 4]),
    }
}

/// Cache key of an elementwise pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PipelineKey {
    family: OpFamily,
    layout: StorageLayout,
    direction: Direction,
    op_code: u32,
    from_output: bool,
}

/// Cache key of a bind group layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LayoutKind {
    Elementwise { direction: Direction, weight: bool },
    WeightGrad,
}

/// Bits of f32 +inf, for the parameter blocks (WGSL rejects an infinite constant).
const F32_INFINITY_BITS: u32 = 0x7f80_0000;

/// The parameter block of `common.wgsl` (`Params`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ElementwiseParams {
    len: u32,
    base: u32,
    channels: u32,
    inner: u32,
    scalars: [f32; 4],
    seed_lo: u32,
    seed_hi: u32,
    inf_bits: u32,
    pad: u32,
}

/// The parameter block of `prelu_weight_grad.wgsl` (`ReduceParams`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ReduceParams {
    per_channel: u32,
    channels: u32,
    inner: u32,
    chunks_per_channel: u32,
    inf_bits: u32,
    pad: [u32; 3],
}

/// The two pipelines of the PReLU weight gradient.
#[derive(Clone)]
struct WeightGradPipelines {
    layout: wgpu::BindGroupLayout,
    partial_sums: wgpu::ComputePipeline,
    channel_sums: wgpu::ComputePipeline,
}

/// Runs `f` inside validation and out-of-memory error scopes of `device` and
/// returns what they caught as an error.
pub(crate) fn catching<T>(device: &wgpu::Device, f: impl FnOnce() -> T) -> Result<T> {
    let out_of_memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let value = f();
    let validation_error = pollster::block_on(validation.pop());
    let memory_error = pollster::block_on(out_of_memory.pop());
    if let Some(error) = validation_error {
        return Err(ActivationError::Validation(error.to_string()));
    }
    if let Some(error) = memory_error {
        return Err(ActivationError::OutOfMemory(error.to_string()));
    }
    Ok(value)
}

/// Workgroup counts `(x, y)` covering at least `workgroups` workgroups with
/// neither dimension above `max_per_dimension`: a 1-D dispatch while it fits,
/// folded into a 2-D grid past it. The shaders rebuild the linear index as
/// `y * num_workgroups.x + x` and skip the surplus of the last row.
pub fn dispatch_grid(workgroups: u64, max_per_dimension: u32) -> Result<(u32, u32)> {
    let max = u64::from(max_per_dimension.max(1));
    if workgroups <= max {
        return Ok((workgroups as u32, 1));
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
    Ok((columns as u32, rows as u32))
}

/// What one elementwise recording runs.
#[derive(Debug, Clone, Copy)]
struct Dispatch {
    direction: Direction,
    from_output: bool,
    spec: KernelSpec,
    prelu: (u32, u32),
    first_element: u64,
}

/// The buffers of one forward op recorded with [`crate::GpuContext::encode_forward`].
#[derive(Debug, Clone, Copy)]
pub struct ForwardBuffers<'a> {
    /// The input `x`.
    pub input: TensorView<'a>,
    /// Where `f(x)` is written; a different buffer from `input` and `weight`.
    pub output: TensorView<'a>,
    /// PReLU's weight (1 value or one per channel); `None` for other ops.
    pub weight: Option<TensorView<'a>>,
    /// Index of `input`'s first element in the whole tensor, when a tensor
    /// is processed in pieces (streamed): it keeps PReLU's channels and
    /// RReLU's random slopes those of the whole tensor. 0 otherwise.
    pub first_element: u64,
}

/// The buffers of one backward op recorded with [`crate::GpuContext::encode_backward`].
#[derive(Debug, Clone, Copy)]
pub struct BackwardBuffers<'a> {
    /// The forward's input `x`, or its output `y = f(x)` when `from_output` is set.
    pub input: TensorView<'a>,
    /// The gradient of the loss with respect to the forward's output.
    pub grad_output: TensorView<'a>,
    /// Where `grad_output * f'(x)` is written.
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

/// The pipelines of one device, created on first use and cached.
pub(crate) struct Kernels {
    device: wgpu::Device,
    limits: wgpu::Limits,
    modules: Mutex<HashMap<(OpFamily, StorageLayout), wgpu::ShaderModule>>,
    layouts: Mutex<HashMap<LayoutKind, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>>,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    weight_grad: Mutex<HashMap<DType, WeightGradPipelines>>,
    placeholder: Mutex<Option<wgpu::Buffer>>,
}

/// Locks a cache; a panic elsewhere cannot leave a cache half-written, so a
/// poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn layout_entries(kind: LayoutKind) -> Vec<wgpu::BindGroupLayoutEntry> {
    match kind {
        LayoutKind::Elementwise { direction, weight } => {
            let mut entries = vec![uniform_entry(0), storage_entry(1, true)];
            if direction == Direction::Backward {
                entries.push(storage_entry(2, true));
            }
            entries.push(storage_entry(3, false));
            if weight {
                entries.push(storage_entry(4, true));
            }
            entries
        }
        LayoutKind::WeightGrad => vec![
            uniform_entry(0),
            storage_entry(1, true),
            storage_entry(2, true),
            storage_entry(3, false),
            storage_entry(4, false),
        ],
    }
}

fn binding<'a>(index: u32, view: TensorView<'a>, bytes: u64) -> wgpu::BindGroupEntry<'a> {
    wgpu::BindGroupEntry {
        binding: index,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: view.buffer(),
            offset: view.offset(),
            size: NonZeroU64::new(bytes),
        }),
    }
}

impl Kernels {
    pub(crate) fn new(device: wgpu::Device) -> Self {
        let limits = device.limits();
        Kernels {
            device,
            limits,
            modules: Mutex::default(),
            layouts: Mutex::default(),
            pipelines: Mutex::default(),
            weight_grad: Mutex::default(),
            placeholder: Mutex::default(),
        }
    }

    pub(crate) fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    fn layout(&self, kind: LayoutKind) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        lock(&self.layouts)
            .entry(kind)
            .or_insert_with(|| {
                let bind_group_layout =
                    self.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some("wgpu-activations bind group layout"),
                            entries: &layout_entries(kind),
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

    fn module(&self, family: OpFamily, layout: StorageLayout) -> wgpu::ShaderModule {
        lock(&self.modules)
            .entry((family, layout))
            .or_insert_with(|| {
                let source = shaders::elementwise_module(family, layout);
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(family.name()),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    })
            })
            .clone()
    }

    fn elementwise_pipeline(
        &self,
        key: PipelineKey,
    ) -> Result<(wgpu::BindGroupLayout, wgpu::ComputePipeline)> {
        let kind = LayoutKind::Elementwise {
            direction: key.direction,
            weight: key.family.binds_weight(),
        };
        if let Some(pipeline) = lock(&self.pipelines).get(&key) {
            return Ok((self.layout(kind).0, pipeline.clone()));
        }
        let (bind_group_layout, pipeline) = catching(&self.device, || {
            let (bind_group_layout, pipeline_layout) = self.layout(kind);
            let module = self.module(key.family, key.layout);
            let constants = [
                ("OP", f64::from(key.op_code)),
                ("FROM_OUTPUT", if key.from_output { 1.0 } else { 0.0 }),
            ];
            let pipeline = self
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(key.family.name()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(key.direction.entry_point()),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        ..Default::default()
                    },
                    cache: None,
                });
            (bind_group_layout, pipeline)
        })?;
        lock(&self.pipelines).insert(key, pipeline.clone());
        Ok((bind_group_layout, pipeline))
    }

    fn weight_grad_pipelines(&self, dtype: DType) -> Result<WeightGradPipelines> {
        if let Some(pipelines) = lock(&self.weight_grad).get(&dtype) {
            return Ok(pipelines.clone());
        }
        let pipelines = catching(&self.device, || {
            let (layout, pipeline_layout) = self.layout(LayoutKind::WeightGrad);
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("prelu_weight_grad"),
                    source: wgpu::ShaderSource::Wgsl(
                        shaders::prelu_weight_grad_module(dtype).into(),
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
            WeightGradPipelines {
                partial_sums: pipeline("partial_sums"),
                channel_sums: pipeline("channel_sums"),
                layout,
            }
        })?;
        lock(&self.weight_grad).insert(dtype, pipelines.clone());
        Ok(pipelines)
    }

    /// A 16-byte storage buffer bound where a binding must exist but nothing is read.
    fn placeholder(&self) -> wgpu::Buffer {
        lock(&self.placeholder)
            .get_or_insert_with(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgpu-activations placeholder"),
                    size: 16,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .clone()
    }

    /// Checks that `view` holds `len` elements of `dtype` the device can bind.
    fn check_view(
        &self,
        what: &'static str,
        view: &TensorView<'_>,
        len: usize,
        dtype: DType,
    ) -> Result<()> {
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

    /// Whether `view` can be bound as whole vec4s.
    fn fits_vec4(view: &TensorView<'_>) -> bool {
        let vec4_bytes = 4 * view.dtype().size();
        let bytes = (view.len() as u64).div_ceil(4) * vec4_bytes;
        view.offset().is_multiple_of(vec4_bytes) && view.offset() + bytes <= view.buffer().size()
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

    /// Elements per dispatch: the largest count whose bytes fit one storage
    /// binding and keep every later chunk's offset aligned.
    fn chunk_elements(&self, dtype: DType) -> u64 {
        let alignment = u64::from(self.limits.min_storage_buffer_offset_alignment).max(16);
        let max_binding = self.limits.max_storage_buffer_binding_size;
        ((max_binding / alignment) * alignment / dtype.size()).max(4)
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
                let to_u32 = |n: usize| {
                    u32::try_from(n).map_err(|_| ActivationError::TooLarge {
                        what: "prelu channel layout",
                        len: n as u64,
                        max: u64::from(u32::MAX),
                    })
                };
                if weight.len() == 1 {
                    Ok((1, 1))
                } else {
                    Ok((to_u32(channels)?, to_u32(inner)?))
                }
            }
        }
    }

    fn check_distinct(
        written: (&'static str, &TensorView<'_>),
        others: &[(&'static str, &TensorView<'_>)],
    ) -> Result<()> {
        for (other, view) in others {
            if written.1.buffer() == view.buffer() {
                return Err(ActivationError::AliasedBuffers {
                    written: written.0,
                    other,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn encode_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardBuffers<'_>,
    ) -> Result<()> {
        op.validate()?;
        let len = element_count(shape)?;
        Self::check_len(len, buffers.first_element)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        self.check_view("input", &buffers.input, len, dtype)?;
        self.check_view("output", &buffers.output, len, dtype)?;
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        let mut reads = vec![("input", &buffers.input)];
        reads.extend(buffers.weight.as_ref().map(|w| ("weight", w)));
        Self::check_distinct(("output", &buffers.output), &reads)?;
        self.encode_elementwise(
            encoder,
            Dispatch {
                direction: Direction::Forward,
                from_output: false,
                spec: kernel_spec(op),
                prelu,
                first_element: buffers.first_element,
            },
            &[buffers.input],
            buffers.output,
            buffers.weight,
        )
    }

    pub(crate) fn encode_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardBuffers<'_>,
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
        self.check_view("grad_input", &buffers.grad_input, len, dtype)?;
        let prelu = self.check_weight(op, shape, buffers.weight.as_ref(), dtype)?;
        let mut reads = vec![
            ("input", &buffers.input),
            ("grad_output", &buffers.grad_output),
        ];
        reads.extend(buffers.weight.as_ref().map(|w| ("weight", w)));
        Self::check_distinct(("grad_input", &buffers.grad_input), &reads)?;
        if let Some(grad_weight) = &buffers.grad_weight {
            let weight = buffers
                .weight
                .as_ref()
                .ok_or(ActivationError::WeightArgument {
                    op: op.name(),
                    problem: "grad_weight was asked for, but the op has no weight",
                })?;
            self.check_view("grad_weight", grad_weight, weight.len(), dtype)?;
            Self::check_distinct(
                ("grad_weight", grad_weight),
                &[
                    ("input", &buffers.input),
                    ("grad_output", &buffers.grad_output),
                ],
            )?;
            if grad_weight.overlaps(&buffers.grad_input) {
                return Err(ActivationError::AliasedBuffers {
                    written: "grad_weight",
                    other: "grad_input",
                });
            }
            let (channels, inner) = prelu_channels(shape);
            let block = (channels.max(1) * inner) as u64;
            if weight.len() > 1 && !buffers.first_element.is_multiple_of(block) {
                return Err(ActivationError::Unsupported {
                    op: op.name(),
                    what:
                        "a weight gradient over a piece of a tensor needs the piece to start at a \
                           multiple of channels * inner elements",
                });
            }
        }
        self.encode_elementwise(
            encoder,
            Dispatch {
                direction: Direction::Backward,
                from_output: buffers.from_output,
                spec: kernel_spec(op),
                prelu,
                first_element: buffers.first_element,
            },
            &[buffers.input, buffers.grad_output],
            buffers.grad_input,
            buffers.weight,
        )?;
        if let Some(grad_weight) = buffers.grad_weight {
            self.encode_prelu_weight_grad(
                encoder,
                shape,
                buffers.input,
                buffers.grad_output,
                grad_weight,
            )?;
        }
        Ok(())
    }

    /// Records one elementwise op over checked views, one dispatch per chunk
    /// of at most one storage binding.
    fn encode_elementwise(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        dispatch: Dispatch,
        reads: &[TensorView<'_>],
        output: TensorView<'_>,
        weight: Option<TensorView<'_>>,
    ) -> Result<()> {
        let len = output.len() as u64;
        if len == 0 {
            return Ok(());
        }
        let dtype = output.dtype();
        let layout = if reads.iter().chain([&output]).all(Self::fits_vec4) {
            StorageLayout::Vec4(dtype)
        } else {
            StorageLayout::Scalar(dtype)
        };
        let spec = dispatch.spec;
        let key = PipelineKey {
            family: spec.family,
            layout,
            direction: dispatch.direction,
            op_code: spec.op_code,
            from_output: dispatch.from_output,
        };
        let (bind_group_layout, pipeline) = self.elementwise_pipeline(key)?;
        let chunk = self.chunk_elements(dtype);
        let per_thread = layout.elements_per_thread();
        let (channels, inner) = dispatch.prelu;
        let mut groups = Vec::new();
        let mut start = 0u64;
        while start < len {
            let count = chunk.min(len - start);
            let element_bytes = count.div_ceil(per_thread) * per_thread * dtype.size();
            let bound_bytes = element_bytes.div_ceil(4) * 4;
            let workgroups = count
                .div_ceil(per_thread)
                .div_ceil(u64::from(WORKGROUP_SIZE));
            let grid = dispatch_grid(workgroups, self.limits.max_compute_workgroups_per_dimension)?;
            let params = ElementwiseParams {
                len: count as u32,
                base: (dispatch.first_element + start) as u32,
                channels,
                inner,
                scalars: spec.scalars,
                seed_lo: spec.seed as u32,
                seed_hi: (spec.seed >> 32) as u32,
                inf_bits: F32_INFINITY_BITS,
                pad: 0,
            };
            let bind_group = catching(&self.device, || {
                let uniform = self
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("wgpu-activations params"),
                        contents: bytemuck::bytes_of(&params),
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                }];
                let (first, count) = (start as usize, count as usize);
                for (slot, view) in (1u32..).zip(reads) {
                    entries.push(binding(slot, view.sub(first, count), bound_bytes));
                }
                entries.push(binding(3, output.sub(first, count), bound_bytes));
                if let Some(weight) = weight {
                    entries.push(binding(4, weight, weight.word_len()));
                }
                self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("wgpu-activations elementwise"),
                    layout: &bind_group_layout,
                    entries: &entries,
                })
            })?;
            groups.push((bind_group, grid));
            start += count;
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(spec.family.name()),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipeline);
        for (bind_group, (x, y)) in &groups {
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(*x, *y, 1);
        }
        Ok(())
    }

    /// Records the two-pass, fixed-order reduction of PReLU's weight gradient.
    fn encode_prelu_weight_grad(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        shape: &[usize],
        input: TensorView<'_>,
        grad_output: TensorView<'_>,
        grad_weight: TensorView<'_>,
    ) -> Result<()> {
        let len = input.len() as u64;
        let dtype = input.dtype();
        if input.word_len() > self.limits.max_storage_buffer_binding_size {
            return Err(ActivationError::TooLarge {
                what: "prelu weight gradient input (elements in one storage binding)",
                len,
                max: self.limits.max_storage_buffer_binding_size / dtype.size(),
            });
        }
        let (channels, inner) = if grad_weight.len() == 1 {
            (1u64, len.max(1))
        } else {
            let (channels, inner) = prelu_channels(shape);
            (channels as u64, inner as u64)
        };
        let per_channel = len.checked_div(channels).unwrap_or(0);
        let chunks_per_channel = per_channel.div_ceil(u64::from(WEIGHT_GRAD_CHUNK));
        let chunk_sums_len = channels * chunks_per_channel;
        if chunk_sums_len > u64::from(u32::MAX) || channels > u64::from(u32::MAX) {
            return Err(ActivationError::TooLarge {
                what: "prelu weight gradient (channels x chunks)",
                len: chunk_sums_len,
                max: u64::from(u32::MAX),
            });
        }
        let max_dim = self.limits.max_compute_workgroups_per_dimension;
        let partial_grid = dispatch_grid(chunk_sums_len, max_dim)?;
        let channel_grid = dispatch_grid(channels, max_dim)?;
        let pipelines = self.weight_grad_pipelines(dtype)?;
        let params = ReduceParams {
            per_channel: per_channel as u32,
            channels: channels as u32,
            inner: inner as u32,
            chunks_per_channel: chunks_per_channel as u32,
            inf_bits: F32_INFINITY_BITS,
            pad: [0; 3],
        };
        let placeholder = self.placeholder();
        let bind_group = catching(&self.device, || {
            let uniform = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("wgpu-activations reduce params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let chunk_sums = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgpu-activations prelu chunk sums"),
                size: chunk_sums_len.max(1) * 4,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            });
            let placeholder_view = TensorView::with_dtype(&placeholder, 0, 2, dtype);
            let (x, g) = (
                nonempty(input, placeholder_view),
                nonempty(grad_output, placeholder_view),
            );
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("wgpu-activations prelu weight grad"),
                layout: &pipelines.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    binding(1, x, x.word_len()),
                    binding(2, g, g.word_len()),
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: chunk_sums.as_entire_binding(),
                    },
                    binding(4, grad_weight, grad_weight.word_len()),
                ],
            })
        })?;
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("prelu_weight_grad"),
            timestamp_writes: None,
        });
        pass.set_bind_group(0, &bind_group, &[]);
        if chunk_sums_len > 0 {
            pass.set_pipeline(&pipelines.partial_sums);
            pass.dispatch_workgroups(partial_grid.0, partial_grid.1, 1);
        }
        if channels > 0 {
            pass.set_pipeline(&pipelines.channel_sums);
            pass.dispatch_workgroups(channel_grid.0, channel_grid.1, 1);
        }
        Ok(())
    }
}

/// `view`, or `placeholder` where `view` is empty (a binding cannot be empty).
fn nonempty<'a>(view: TensorView<'a>, placeholder: TensorView<'a>) -> TensorView<'a> {
    if view.is_empty() {
        placeholder
    } else {
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_grid_stays_1d_while_it_fits() {
        assert_eq!(dispatch_grid(0, 65535).unwrap(), (0, 1));
        assert_eq!(dispatch_grid(1, 65535).unwrap(), (1, 1));
        assert_eq!(dispatch_grid(65535, 65535).unwrap(), (65535, 1));
    }

    #[test]
    fn dispatch_grid_folds_into_2d_past_the_limit() {
        for workgroups in [65536u64, 65535 * 2 + 1, 1 << 24, 65535 * 65535] {
            let (x, y) = dispatch_grid(workgroups, 65535).unwrap();
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
    fn every_op_has_a_kernel_whose_op_code_its_family_defines() {
        for op in Activation::all_defaults() {
            let spec = kernel_spec(&op);
            assert_eq!(spec.family.binds_weight(), op.uses_weight(), "{op}");
            let code = format!(": u32 = {}u;", spec.op_code);
            let defined = spec.op_code == 0
                || spec
                    .family
                    .source()
                    .lines()
                    .any(|l| l.starts_with("const OP_") && l.contains(&code));
            assert!(
                defined,
                "{op}: op code {} not in {}",
                spec.op_code,
                spec.family.name()
            );
        }
    }
}

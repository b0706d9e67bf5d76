//! [`GpuContext`]: a device and queue (created here or handed over by the
//! caller), the pipeline cache, and the convenience layer that submits work and
//! reads results back.
//!
//! Two ways to use it:
//! - **Recording** into a caller's `wgpu::CommandEncoder` over caller-owned
//!   buffers with [`GpuContext::encode_forward`] / [`GpuContext::encode_backward`]:
//!   nothing is submitted, many ops can share one submission. The
//!   `*_in_place` entry points overwrite the input (forward) or the
//!   output's gradient (backward), so that a training step keeps one buffer
//!   per activation.
//! - **Convenience**: [`GpuContext::upload`], [`GpuContext::forward`],
//!   [`GpuContext::backward`], [`GpuContext::download`] submit for you.
//!
//! A context is `Send + Sync` and cheap to clone (clones share the device,
//! the pipelines and the caches): hand one to each thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_intrusive::channel::shared::oneshot_channel;

use half::f16;

use crate::activation::Activation;
use crate::error::{ActivationError, Result};
use crate::kernels::{
    catching, BackwardBuffers, BackwardInPlaceBuffers, ForwardBuffers, ForwardInPlaceBuffers,
    FusedBackwardBuffers, FusedForwardBuffers, Kernels, Target,
};
use crate::shape::element_count;
use crate::tensor::{DType, GpuTensor};
use crate::view::TensorView;

mod gated;
mod row;

/// A GPU device ready to run activations. Clones share everything (device,
/// queue, pipelines, caches).
#[derive(Clone)]
pub struct GpuContext {
    inner: Arc<Inner>,
    /// When calls look for a lost device (per handle: clones copy it).
    loss_check: DeviceLossCheck,
    /// The row ops' budget of elements per lane, where the caller chose one
    /// (per handle: clones copy it).
    row_elements_per_lane: Option<u32>,
}

/// When a [`GpuContext`]'s calls look for a lost or destroyed device.
///
/// wgpu drops work on a lost device silently and tells only the device-lost
/// callback (which only the code that made the device can own, and which
/// wgpu runs once the queue has drained). To return
/// [`ActivationError::DeviceLost`] from the very call after a loss, each
/// call probes the device by making a 4-byte mapped buffer: about 3
/// microseconds and 8 heap allocations inside wgpu on lavapipe.
/// [`DeviceLossCheck::OnError`] trades that promptness for recording calls
/// that allocate nothing in steady state (see BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceLossCheck {
    /// Every call probes the device first: the first call after a loss
    /// returns `DeviceLost` (the default).
    #[default]
    EveryCall,
    /// Calls probe only when wgpu reports an error (and then classify it as
    /// `DeviceLost` when the device is gone), or trust the device-lost
    /// callback of a device this context made. A recording call that needs
    /// nothing new from the device may then return `Ok` after a loss, as
    /// wgpu itself does (the work is dropped); the loss is reported by the
    /// next call that reads back, uploads or makes a resource.
    OnError,
}

struct Inner {
    /// This context's identity (its clones share it), stamped on its tensors.
    id: u64,
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    kernels: Kernels,
    /// Set by the device-lost callback of a device this context created.
    lost: Arc<Mutex<Option<String>>>,
    /// Idle `MAP_READ` buffers for readback, reused by size.
    staging: Mutex<Vec<wgpu::Buffer>>,
}

/// Staging buffers kept for reuse, and the largest one kept.
const STAGING_KEPT: usize = 4;
const STAGING_MAX_BYTES: u64 = 64 << 20;

/// Which adapter [`GpuContext::with_options`] opens. [`AdapterOptions::from_env`]
/// reads the same choices from `WGPU_BACKEND`, `WGPU_ADAPTER_NAME` and
/// `WGPU_POWER_PREF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterOptions {
    /// The backends searched (default: all that this build has).
    pub backends: wgpu::Backends,
    /// Use the first adapter whose name contains this (case-insensitive).
    pub adapter_name: Option<String>,
    /// Otherwise, wgpu's choice guided by this.
    pub power_preference: wgpu::PowerPreference,
    /// Ask for wgpu's fallback (software) adapter.
    pub force_fallback_adapter: bool,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            backends: wgpu::Backends::all(),
            adapter_name: None,
            power_preference: wgpu::PowerPreference::default(),
            force_fallback_adapter: false,
        }
    }
}

impl AdapterOptions {
    /// The defaults, overridden by the environment: `WGPU_BACKEND` (e.g.
    /// `vulkan`), `WGPU_ADAPTER_NAME`, `WGPU_POWER_PREF` (`low`/`high`).
    pub fn from_env() -> Self {
        let defaults = AdapterOptions::default();
        AdapterOptions {
            backends: wgpu::Backends::from_env().unwrap_or(defaults.backends),
            adapter_name: std::env::var("WGPU_ADAPTER_NAME")
                .ok()
                .filter(|name| !name.is_empty()),
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(defaults.power_preference),
            force_fallback_adapter: false,
        }
    }

    /// These options with `name` as the adapter name.
    pub fn with_adapter_name(mut self, name: impl Into<String>) -> Self {
        self.adapter_name = Some(name.into());
        self
    }

    fn instance(&self) -> wgpu::Instance {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        descriptor.backends = self.backends;
        wgpu::Instance::new(descriptor)
    }

    /// Every adapter these options' backends reach.
    pub fn available_adapters(&self) -> Vec<wgpu::AdapterInfo> {
        pollster::block_on(self.instance().enumerate_adapters(self.backends))
            .iter()
            .map(|a| a.get_info())
            .collect()
    }
}

/// What [`GpuContext::backward_fused`] returns.
#[derive(Debug)]
pub struct FusedGradients {
    /// The input's gradient.
    pub grad_input: GpuTensor,
    /// The bias's gradient, when the epilogue has a bias.
    pub grad_bias: Option<GpuTensor>,
    /// PReLU's weight gradient (at `input + bias`); `None` for other ops.
    pub grad_weight: Option<GpuTensor>,
}

/// The optional parts of [`GpuContext::forward_fused`]:
/// `f(x + bias[c]) + residual`.
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    /// A 1-D tensor of `shape[bias_dim]` values added before the op.
    pub bias: Option<&'a GpuTensor>,
    /// The dimension the bias runs along; negative counts from the end
    /// (-1, PyTorch's linear layer; 1 for a convolution's channels).
    pub bias_dim: i64,
    /// A tensor of the input's shape added after the op.
    pub residual: Option<&'a GpuTensor>,
}

impl Epilogue<'_> {
    /// The bias is a 1-D tensor (its length is checked against the input's
    /// dimension when the op is recorded).
    pub(crate) fn check_bias_shape(&self) -> Result<()> {
        match self.bias {
            Some(bias) if bias.shape().len() != 1 => Err(ActivationError::ShapeMismatch {
                what: "bias (one dimension)",
                expected: vec![bias.len()],
                actual: bias.shape().to_vec(),
            }),
            _ => Ok(()),
        }
    }
}

impl Default for Epilogue<'_> {
    /// No bias (along the last dimension when one is set), no residual.
    fn default() -> Self {
        Epilogue {
            bias: None,
            bias_dim: -1,
            residual: None,
        }
    }
}

/// Gradients returned by [`GpuContext::backward`].
#[derive(Debug)]
pub struct Gradients {
    /// Gradient of the loss with respect to the op's input.
    pub grad_input: GpuTensor,
    /// PReLU only: gradient with respect to the weight.
    pub grad_weight: Option<GpuTensor>,
}

/// One line describing an adapter: name, backend, type and driver.
pub fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    let driver = [info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "{} ({:?}, {:?}, driver: {})",
        info.name,
        info.backend,
        info.device_type,
        if driver.is_empty() {
            "unknown"
        } else {
            &driver
        }
    )
}

impl GpuContext {
    /// Creates a device on the adapter chosen by the environment
    /// ([`AdapterOptions::from_env`]), blocking.
    pub fn new() -> Result<Self> {
        Self::with_options(&AdapterOptions::from_env())
    }

    /// Creates a device on the adapter chosen by the environment
    /// ([`AdapterOptions::from_env`]).
    pub async fn new_async() -> Result<Self> {
        Self::with_options_async(&AdapterOptions::from_env()).await
    }

    /// Creates a device on the adapter `options` choose, blocking.
    pub fn with_options(options: &AdapterOptions) -> Result<Self> {
        pollster::block_on(Self::with_options_async(options))
    }

    /// Creates a device on the adapter `options` choose. The device gets
    /// the adapter's real limits (not WebGPU's 128 MiB defaults), and
    /// `SHADER_F16` and `SUBGROUP` (the row ops' reductions) when the adapter
    /// has them.
    pub async fn with_options_async(options: &AdapterOptions) -> Result<Self> {
        let instance = options.instance();
        let adapter = Self::choose_adapter(&instance, options).await?;
        let info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgpu-activations"),
                required_features: adapter.features()
                    & (wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP),
                required_limits: adapter.limits(),
                experimental_features: wgpu::ExperimentalFeatures::default(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|error| ActivationError::RequestDevice {
                adapter: info.name.clone(),
                reason: error.to_string(),
            })?;
        let lost = Arc::new(Mutex::new(None));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = flag.lock().unwrap_or_else(|p| p.into_inner());
            *slot = Some(format!("{reason:?}: {message}"));
        });
        Ok(Self::assemble(device, queue, info, lost))
    }

    /// Wraps a device and queue the caller already has (a renderer's, say),
    /// on the wgpu version this crate re-exports as [`crate::wgpu`].
    /// Nothing is copied and no second device is made; the caller keeps its
    /// own clones. The device's limits are whatever the caller requested: ask
    /// for the adapter's limits to process large tensors in few dispatches.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::assemble(device, queue, info, Arc::new(Mutex::new(None)))
    }

    fn assemble(
        device: wgpu::Device,
        queue: wgpu::Queue,
        adapter_info: wgpu::AdapterInfo,
        lost: Arc<Mutex<Option<String>>>,
    ) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        GpuContext {
            loss_check: DeviceLossCheck::default(),
            row_elements_per_lane: None,
            inner: Arc::new(Inner {
                id,
                kernels: Kernels::new(device.clone(), queue.clone(), id),
                device,
                queue,
                adapter_info,
                lost,
                staging: Mutex::default(),
            }),
        }
    }

    async fn choose_adapter(
        instance: &wgpu::Instance,
        options: &AdapterOptions,
    ) -> Result<wgpu::Adapter> {
        if let Some(wanted) = &options.adapter_name {
            let wanted_lower = wanted.to_lowercase();
            let adapters = instance.enumerate_adapters(options.backends).await;
            let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
            return adapters
                .into_iter()
                .find(|a| a.get_info().name.to_lowercase().contains(&wanted_lower))
                .ok_or_else(|| {
                    ActivationError::NoAdapter(format!(
                        "adapter name {wanted:?} matches none of the adapters found: {names:?}"
                    ))
                });
        }
        instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: options.power_preference,
                force_fallback_adapter: options.force_fallback_adapter,
                ..Default::default()
            })
            .await
            .map_err(|error| {
                ActivationError::NoAdapter(format!(
                    "{error}. Without a GPU, install a software Vulkan driver \
                     (Debian/Ubuntu: apt-get install mesa-vulkan-drivers)"
                ))
            })
    }

    /// Every adapter the environment's backends (`WGPU_BACKEND`) can reach
    /// (see [`AdapterOptions::available_adapters`]).
    pub fn available_adapters() -> Vec<wgpu::AdapterInfo> {
        AdapterOptions::from_env().available_adapters()
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// The adapter the device runs on.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.inner.adapter_info
    }

    /// One line naming the adapter, its backend and driver.
    pub fn adapter_description(&self) -> String {
        describe_adapter(&self.inner.adapter_info)
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        self.inner.kernels.limits()
    }

    /// Drops the bind groups cached for the caller's buffers. The recording
    /// API caches the bind groups of the last few dozen buffer combinations
    /// it was given (so a repeated op costs no allocation); they keep those
    /// buffers alive (at most 1 GiB of them) until evicted or cleared here.
    pub fn clear_caches(&self) {
        self.inner.kernels.clear_bind_groups();
    }

    /// This handle with `check` as its [`DeviceLossCheck`]. Other clones of
    /// the context keep theirs; everything else stays shared.
    ///
    /// ```no_run
    /// # use wgpu_activations::{DeviceLossCheck, GpuContext};
    /// let ctx = GpuContext::new()?;
    /// // Thousands of small recorded ops per frame, no allocation per op:
    /// let recorder = ctx.clone().with_device_loss_check(DeviceLossCheck::OnError);
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn with_device_loss_check(mut self, check: DeviceLossCheck) -> Self {
        self.loss_check = check;
        self
    }

    /// When this handle's calls look for a lost device.
    pub fn device_loss_check(&self) -> DeviceLossCheck {
        self.loss_check
    }

    /// This handle with the row ops (softmax and its family) holding at
    /// most `elements` elements per lane: a power of two from 4 to 64, else
    /// [`ActivationError::InvalidParameter`]. More per lane means fewer
    /// lanes per row and fewer exchange steps in the row reductions, at the
    /// cost of registers and of compile time (a lane's loops are written
    /// out once per element: on lavapipe a forward module compiles in about
    /// 25 ms at 16 per lane, 140 ms at 64). The default suits the adapter:
    /// 64 on a CPU adapter (lavapipe), 16 on a GPU. Results stay within the documented
    /// tolerances whatever the budget (the order of the sums changes, so
    /// the last bits may). Other clones of the context keep theirs.
    ///
    /// ```no_run
    /// # use wgpu_activations::GpuContext;
    /// let ctx = GpuContext::new()?.with_row_elements_per_lane(16)?;
    /// assert_eq!(ctx.row_elements_per_lane(), 16);
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn with_row_elements_per_lane(mut self, elements: u32) -> Result<Self> {
        if !crate::kernels::row::valid_elements_per_lane(elements) {
            return Err(ActivationError::InvalidParameter {
                op: "row ops",
                name: "elements per lane",
                value: elements as f32,
                reason: "a power of two from 4 to 64",
            });
        }
        self.row_elements_per_lane = Some(elements);
        Ok(self)
    }

    /// The most elements one lane of a row op holds on this handle (see
    /// [`GpuContext::with_row_elements_per_lane`]).
    pub fn row_elements_per_lane(&self) -> u32 {
        self.row_elements_per_lane
            .unwrap_or_else(|| self.inner.kernels.row_elements_per_lane())
    }

    /// `Err(DeviceLost)` if the device is known to be lost, probing it first
    /// under [`DeviceLossCheck::EveryCall`]: a 4-byte buffer mapped at
    /// creation is mappable exactly while the device is alive.
    fn check_alive(&self) -> Result<()> {
        match self.loss_check {
            DeviceLossCheck::EveryCall => self.probe_alive(),
            DeviceLossCheck::OnError => match self.lost_reason() {
                Some(reason) => Err(ActivationError::DeviceLost(reason)),
                None => Ok(()),
            },
        }
    }

    /// The reason the device-lost callback or an earlier probe recorded.
    fn lost_reason(&self) -> Option<String> {
        let lost = self.inner.lost.lock().unwrap_or_else(|p| p.into_inner());
        lost.clone()
    }

    /// Probes the device (see [`DeviceLossCheck`]).
    fn probe_alive(&self) -> Result<()> {
        let mut lost = self.inner.lost.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = lost.as_ref() {
            return Err(ActivationError::DeviceLost(reason.clone()));
        }
        let probe = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("wgpu-activations liveness probe"),
            size: 4,
            usage: wgpu::BufferUsages::MAP_WRITE,
            mapped_at_creation: true,
        });
        let alive = probe.slice(..).get_mapped_range_mut().is_ok();
        if alive {
            probe.unmap();
            return Ok(());
        }
        let reason = "the device was destroyed or lost".to_string();
        *lost = Some(reason.clone());
        Err(ActivationError::DeviceLost(reason))
    }

    /// `error`, or `DeviceLost` if the device is gone (a resource made on a
    /// lost device is invalid, which wgpu reports as a validation error).
    fn classify(&self, error: ActivationError) -> ActivationError {
        match error {
            ActivationError::Validation(_)
            | ActivationError::OutOfMemory(_)
            | ActivationError::Readback(_) => self.probe_alive().err().unwrap_or(error),
            other => other,
        }
    }

    /// Runs `f` after the liveness check, classifying what it returns.
    fn alive<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check_alive()?;
        f().map_err(|e| self.classify(e))
    }

    /// Records `op` forward into `encoder` over caller-owned buffers. Nothing
    /// is submitted; the buffers are bound, never copied.
    ///
    /// Every argument is checked first (see [`TensorView`]); on error nothing
    /// has been recorded.
    pub fn encode_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_forward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records `op`'s gradient into `encoder`: `grad_input = grad_output *
    /// f'(input)` and, for PReLU when `grad_weight` is given, the weight's
    /// gradient. Nothing is submitted.
    pub fn encode_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_backward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records a fused forward, `output = f(input + bias[c]) + residual`,
    /// into `encoder` over caller-owned buffers (see [`FusedForwardBuffers`]
    /// and [`GpuContext::forward_fused`]). Checked as
    /// [`GpuContext::encode_forward`], the bias against `shape[bias_dim]`
    /// and the residual against `shape`; on error nothing is recorded.
    pub fn encode_forward_fused(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_forward_fused(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records a fused backward into `encoder` over caller-owned buffers (see
    /// [`FusedBackwardBuffers`] and [`GpuContext::backward_fused`]); on error
    /// nothing is recorded.
    pub fn encode_backward_fused(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_backward_fused(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// [`GpuContext::encode_backward_fused`] into the caller's open compute
    /// pass (see [`GpuContext::encode_forward_in_pass`]).
    pub fn encode_backward_fused_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_backward_fused(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// [`GpuContext::encode_forward_fused`] into the caller's open compute
    /// pass (see [`GpuContext::encode_forward_in_pass`]).
    pub fn encode_forward_fused_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &FusedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_forward_fused(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records `op` forward into the caller's open compute pass: many small
    /// ops in one pass cost less than a pass each on some drivers (see
    /// BENCHMARKS.md). wgpu orders the dispatches of a pass that depend on
    /// each other. The pass's pipeline and bind group are left set to ours:
    /// set yours again before your next dispatch. Checked as
    /// [`GpuContext::encode_forward`]; on error nothing is recorded.
    pub fn encode_forward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner
                .kernels
                .encode_forward(&mut Target::Pass(pass), op, shape, buffers, true)
        })
    }

    /// Records `op`'s gradient into the caller's open compute pass (see
    /// [`GpuContext::encode_forward_in_pass`] and [`GpuContext::encode_backward`]).
    pub fn encode_backward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner
                .kernels
                .encode_backward(&mut Target::Pass(pass), op, shape, buffers, true)
        })
    }

    /// Records `op` forward in place into `encoder`: `buffers.data` holds
    /// `x` and is overwritten with `f(x)`, bit for bit what
    /// [`GpuContext::encode_forward`] writes to a separate output. Nothing is
    /// submitted.
    ///
    /// The out-of-place entry points refuse an output that is the input's
    /// range ([`ActivationError::SameRange`]): binding one buffer as
    /// read-only and read-write storage in one dispatch is invalid in wgpu,
    /// so the in-place kernels bind it once, read-write. Checked as
    /// [`GpuContext::encode_forward`]; on error nothing is recorded.
    pub fn encode_forward_in_place(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardInPlaceBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_forward_in_place(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records `op`'s gradient in place into `encoder`: `buffers.grad_output`
    /// is overwritten with `grad_output * f'(input)`, bit for bit what
    /// [`GpuContext::encode_backward`] writes to a separate `grad_input`
    /// (with `from_output`, from the forward's output, as
    /// [`GpuContext::backward_from_output`]). For PReLU with `grad_weight`,
    /// the weight's gradient is recorded first, so it reads `grad_output`
    /// before it is overwritten. Nothing is submitted.
    pub fn encode_backward_in_place(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardInPlaceBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_backward_in_place(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records `op` forward in place into the caller's open compute pass
    /// (see [`GpuContext::encode_forward_in_place`] and
    /// [`GpuContext::encode_forward_in_pass`]).
    pub fn encode_forward_in_place_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &ForwardInPlaceBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_forward_in_place(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records `op`'s gradient in place into the caller's open compute pass
    /// (see [`GpuContext::encode_backward_in_place`] and
    /// [`GpuContext::encode_forward_in_pass`]); wgpu orders PReLU's weight
    /// gradient, which reads `grad_output`, before the dispatch that
    /// overwrites it.
    pub fn encode_backward_in_place_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &Activation,
        shape: &[usize],
        buffers: &BackwardInPlaceBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_backward_in_place(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Runs `f` inside validation and out-of-memory error scopes of this
    /// context's device: what wgpu reports while `f` creates buffers or
    /// records and submits work comes back as
    /// [`ActivationError::Validation`] or [`ActivationError::OutOfMemory`]
    /// instead of reaching wgpu's default handler, which panics.
    pub fn catching<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        catching(&self.inner.device, f).map_err(|e| self.classify(e))
    }

    /// A new command encoder on this context's device.
    pub fn create_encoder(&self) -> wgpu::CommandEncoder {
        self.inner
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("wgpu-activations"),
            })
    }

    /// Finishes `encoder` and submits it, returning validation errors
    /// instead of panicking.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) -> Result<wgpu::SubmissionIndex> {
        self.alive(|| self.catching(|| self.inner.queue.submit([encoder.finish()])))
    }

    /// Uploads f32 `data` as a tensor of `shape`.
    pub fn upload(&self, data: &[f32], shape: &[usize]) -> Result<GpuTensor> {
        self.upload_bytes(bytemuck::cast_slice(data), data.len(), shape, DType::F32)
    }

    /// Uploads f16 `data` as a tensor of `shape` (ops on it need the
    /// adapter's `SHADER_F16`).
    pub fn upload_f16(&self, data: &[f16], shape: &[usize]) -> Result<GpuTensor> {
        self.upload_bytes(bytemuck::cast_slice(data), data.len(), shape, DType::F16)
    }

    fn upload_bytes(
        &self,
        bytes: &[u8],
        len: usize,
        shape: &[usize],
        dtype: DType,
    ) -> Result<GpuTensor> {
        let expected = element_count(shape)?;
        if len != expected {
            return Err(ActivationError::LengthMismatch {
                what: "data",
                expected,
                actual: len,
            });
        }
        let tensor = self.empty_with_dtype(shape, dtype)?;
        if !bytes.is_empty() {
            // Writes are whole 4-byte words; the tensor's padding takes the rest.
            let mut words = bytes.to_vec();
            words.resize(bytes.len().div_ceil(4) * 4, 0);
            self.catching(|| self.inner.queue.write_buffer(tensor.buffer(), 0, &words))?;
        }
        Ok(tensor)
    }

    /// A zero-filled f32 tensor of `shape`. Its buffer is padded to whole
    /// vec4s and has `STORAGE | COPY_SRC | COPY_DST` usage.
    pub fn empty(&self, shape: &[usize]) -> Result<GpuTensor> {
        self.empty_with_dtype(shape, DType::F32)
    }

    /// A zero-filled tensor of `shape` and element type `dtype`.
    pub fn empty_with_dtype(&self, shape: &[usize], dtype: DType) -> Result<GpuTensor> {
        self.check_alive()?;
        let len = element_count(shape)?;
        let bytes = (len as u64)
            .checked_mul(dtype.size())
            .map(|b| b.div_ceil(16).max(1) * 16)
            .filter(|&b| b <= self.limits().max_buffer_size)
            .ok_or(ActivationError::TooLarge {
                what: "tensor (bytes in one buffer)",
                len: len as u64,
                max: self.limits().max_buffer_size / dtype.size(),
            })?;
        let buffer = self.catching(|| {
            self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgpu-activations tensor"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        Ok(GpuTensor::from_parts(
            buffer,
            shape.to_vec(),
            len,
            dtype,
            self.inner.id,
        ))
    }

    /// Runs `op` forward on `input` and returns the output tensor (submitted,
    /// not waited for). `weight` is PReLU's weight and must be `None` for
    /// other ops.
    pub fn forward(
        &self,
        op: &Activation,
        input: &GpuTensor,
        weight: Option<&GpuTensor>,
    ) -> Result<GpuTensor> {
        let output = self.empty_with_dtype(input.shape(), input.dtype())?;
        let mut encoder = self.create_encoder();
        // Fresh tensors: their bind groups are not worth caching.
        self.inner
            .kernels
            .encode_forward(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &ForwardBuffers {
                    input: input.view(),
                    output: output.view(),
                    weight: weight.map(GpuTensor::view),
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(output)
    }

    /// Runs `op` with a fused epilogue in one pass over memory:
    /// `f(input + bias[c]) + residual`, `c` each element's index along
    /// `epilogue.bias_dim` (see [`Epilogue`]). The sums are f32 (f16
    /// storage is widened first) and each is rounded once, as PyTorch's
    /// `act(x + b) + r` in f32; with neither part this is [`GpuContext::forward`].
    ///
    /// ```no_run
    /// # use wgpu_activations::{Activation, Epilogue, GpuContext};
    /// let ctx = GpuContext::new()?;
    /// let x = ctx.upload(&[1.0, -2.0, 3.0, -4.0, 5.0, -6.0], &[2, 3])?;
    /// let bias = ctx.upload(&[0.5, 0.5, -10.0], &[3])?;
    /// let skip = ctx.upload(&[1.0; 6], &[2, 3])?;
    /// let epilogue = Epilogue { bias: Some(&bias), bias_dim: -1, residual: Some(&skip) };
    /// let y = ctx.forward_fused(&Activation::Relu, &x, None, &epilogue)?;
    /// assert_eq!(ctx.download(&y)?, [2.5, 1.0, 1.0, 1.0, 6.5, 1.0]);
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn forward_fused(
        &self,
        op: &Activation,
        input: &GpuTensor,
        weight: Option<&GpuTensor>,
        epilogue: &Epilogue<'_>,
    ) -> Result<GpuTensor> {
        self.check_alive()?;
        if let Some(residual) = epilogue.residual {
            if residual.shape() != input.shape() {
                return Err(ActivationError::ShapeMismatch {
                    what: "residual",
                    expected: input.shape().to_vec(),
                    actual: residual.shape().to_vec(),
                });
            }
        }
        epilogue.check_bias_shape()?;
        let output = self.empty_with_dtype(input.shape(), input.dtype())?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_forward_fused(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &FusedForwardBuffers {
                    input: input.view(),
                    output: output.view(),
                    weight: weight.map(GpuTensor::view),
                    bias: epilogue.bias.map(GpuTensor::view),
                    bias_dim: epilogue.bias_dim,
                    residual: epilogue.residual.map(GpuTensor::view),
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(output)
    }

    /// The gradients of [`GpuContext::forward_fused`]: `grad_input =
    /// grad_output * f'(input + bias[c])` and, with a bias, its gradient
    /// (the sum of `grad_input` over each channel, added in a fixed order:
    /// the same bits on every run). The residual's gradient is `grad_output`
    /// itself (no copy is made). PReLU's weight gradient is computed too,
    /// at `input + bias`, in the fixed order of [`GpuContext::backward`].
    pub fn backward_fused(
        &self,
        op: &Activation,
        input: &GpuTensor,
        grad_output: &GpuTensor,
        weight: Option<&GpuTensor>,
        epilogue: &Epilogue<'_>,
    ) -> Result<FusedGradients> {
        self.check_alive()?;
        epilogue.check_bias_shape()?;
        if grad_output.shape() != input.shape() {
            return Err(ActivationError::ShapeMismatch {
                what: "grad_output",
                expected: input.shape().to_vec(),
                actual: grad_output.shape().to_vec(),
            });
        }
        let grad_input = self.empty_with_dtype(input.shape(), input.dtype())?;
        let grad_bias = match epilogue.bias {
            Some(bias) => Some(self.empty_with_dtype(bias.shape(), bias.dtype())?),
            None => None,
        };
        let grad_weight = match (op.uses_weight(), weight) {
            (true, Some(weight)) => Some(self.empty_with_dtype(weight.shape(), weight.dtype())?),
            _ => None,
        };
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_backward_fused(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &FusedBackwardBuffers {
                    input: input.view(),
                    grad_output: grad_output.view(),
                    grad_input: grad_input.view(),
                    weight: weight.map(GpuTensor::view),
                    bias: epilogue.bias.map(GpuTensor::view),
                    bias_dim: epilogue.bias_dim,
                    grad_bias: grad_bias.as_ref().map(GpuTensor::view),
                    grad_weight: grad_weight.as_ref().map(GpuTensor::view),
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(FusedGradients {
            grad_input,
            grad_bias,
            grad_weight,
        })
    }

    /// Runs `op`'s gradient: `grad_input = grad_output * f'(input)`, and for
    /// PReLU the weight's gradient too.
    pub fn backward(
        &self,
        op: &Activation,
        input: &GpuTensor,
        grad_output: &GpuTensor,
        weight: Option<&GpuTensor>,
    ) -> Result<Gradients> {
        self.run_backward(op, input, grad_output, weight, false)
    }

    /// The gradient for the input computed from the forward's `output`
    /// instead of its input, for the ops where that is exact
    /// ([`Activation::backward_from_output_supported`]): what an in-place
    /// forward leaves is enough to differentiate it.
    pub fn backward_from_output(
        &self,
        op: &Activation,
        output: &GpuTensor,
        grad_output: &GpuTensor,
    ) -> Result<GpuTensor> {
        Ok(self
            .run_backward(op, output, grad_output, None, true)?
            .grad_input)
    }

    /// Runs `op` forward in place: `tensor` holds `x` and is overwritten
    /// with `f(x)` (submitted, not waited for), the same bits as
    /// [`GpuContext::forward`]. `weight` is PReLU's weight and must be `None`
    /// for other ops. On error `tensor` is unchanged.
    pub fn forward_in_place(
        &self,
        op: &Activation,
        tensor: &mut GpuTensor,
        weight: Option<&GpuTensor>,
    ) -> Result<()> {
        self.check_alive()?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_forward_in_place(
                &mut Target::Encoder(&mut encoder),
                op,
                tensor.shape(),
                &ForwardInPlaceBuffers {
                    data: tensor.view(),
                    weight: weight.map(GpuTensor::view),
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(())
    }

    /// Runs `op`'s gradient in place: `grad_output` is overwritten with
    /// `grad_output * f'(input)`, the same bits as
    /// [`GpuContext::backward`]'s `grad_input`. For PReLU (with `weight`)
    /// returns the weight's gradient, computed from `grad_output` before it
    /// is overwritten; `None` for other ops. On error `grad_output` is
    /// unchanged.
    pub fn backward_in_place(
        &self,
        op: &Activation,
        input: &GpuTensor,
        grad_output: &mut GpuTensor,
        weight: Option<&GpuTensor>,
    ) -> Result<Option<GpuTensor>> {
        self.run_backward_in_place(op, input, grad_output, weight, false)
    }

    /// The gradient for the input computed from the forward's `output`, in
    /// place: `grad_output` is overwritten with it, the same bits as
    /// [`GpuContext::backward_from_output`]. With
    /// [`GpuContext::forward_in_place`] before it, a training step keeps one
    /// tensor per activation and one for its gradient (for the ops of
    /// [`Activation::backward_from_output_supported`]).
    pub fn backward_from_output_in_place(
        &self,
        op: &Activation,
        output: &GpuTensor,
        grad_output: &mut GpuTensor,
    ) -> Result<()> {
        self.run_backward_in_place(op, output, grad_output, None, true)
            .map(drop)
    }

    /// PReLU's weight gradient tensor (of the weight's shape), when asked for.
    fn grad_weight_for(
        &self,
        op: &Activation,
        weight: Option<&GpuTensor>,
    ) -> Result<Option<GpuTensor>> {
        match weight {
            Some(w) if op.uses_weight() => Ok(Some(self.empty_with_dtype(w.shape(), w.dtype())?)),
            _ => Ok(None),
        }
    }

    fn run_backward_in_place(
        &self,
        op: &Activation,
        input: &GpuTensor,
        grad_output: &mut GpuTensor,
        weight: Option<&GpuTensor>,
        from_output: bool,
    ) -> Result<Option<GpuTensor>> {
        self.check_alive()?;
        check_gradient_shape(input, grad_output)?;
        let grad_weight = self.grad_weight_for(op, weight)?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_backward_in_place(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &BackwardInPlaceBuffers {
                    input: input.view(),
                    grad_output: grad_output.view(),
                    weight: weight.map(GpuTensor::view),
                    grad_weight: grad_weight.as_ref().map(GpuTensor::view),
                    from_output,
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(grad_weight)
    }

    fn run_backward(
        &self,
        op: &Activation,
        input: &GpuTensor,
        grad_output: &GpuTensor,
        weight: Option<&GpuTensor>,
        from_output: bool,
    ) -> Result<Gradients> {
        check_gradient_shape(input, grad_output)?;
        let grad_input = self.empty_with_dtype(input.shape(), input.dtype())?;
        let grad_weight = self.grad_weight_for(op, weight)?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_backward(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &BackwardBuffers {
                    input: input.view(),
                    grad_output: grad_output.view(),
                    grad_input: grad_input.view(),
                    weight: weight.map(GpuTensor::view),
                    grad_weight: grad_weight.as_ref().map(GpuTensor::view),
                    from_output,
                    first_element: 0,
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(Gradients {
            grad_input,
            grad_weight,
        })
    }

    /// Reads an f32 tensor back, blocking until the GPU is done.
    pub fn download(&self, tensor: &GpuTensor) -> Result<Vec<f32>> {
        pollster::block_on(self.download_async(tensor))
    }

    /// Reads an f32 tensor back.
    pub async fn download_async(&self, tensor: &GpuTensor) -> Result<Vec<f32>> {
        self.read_view_async(tensor.view()).await
    }

    /// Reads an f16 tensor back, blocking until the GPU is done.
    pub fn download_f16(&self, tensor: &GpuTensor) -> Result<Vec<f16>> {
        self.read_view_f16(tensor.view())
    }

    /// Reads an f32 `view` of a caller-owned buffer back (the buffer needs
    /// `COPY_SRC` usage and a 4-byte-aligned offset), blocking.
    pub fn read_view(&self, view: TensorView<'_>) -> Result<Vec<f32>> {
        pollster::block_on(self.read_view_async(view))
    }

    /// Reads an f32 `view` back.
    pub async fn read_view_async(&self, view: TensorView<'_>) -> Result<Vec<f32>> {
        let bytes = self.read_words(view, DType::F32).await?;
        let mut values = bytemuck::pod_collect_to_vec::<u8, f32>(&bytes);
        values.truncate(view.len());
        Ok(values)
    }

    /// Reads an f16 `view` back, blocking. An odd count needs the 2 bytes
    /// after the view in the buffer (copies are whole 4-byte words).
    pub fn read_view_f16(&self, view: TensorView<'_>) -> Result<Vec<f16>> {
        let bytes = pollster::block_on(self.read_words(view, DType::F16))?;
        let mut values = bytemuck::pod_collect_to_vec::<u8, f16>(&bytes);
        values.truncate(view.len());
        Ok(values)
    }

    /// Copies the words covering `view` to a `MAP_READ` staging buffer, maps
    /// it and waits for the map through a oneshot channel while polling the
    /// device.
    async fn read_words(&self, view: TensorView<'_>, dtype: DType) -> Result<Vec<u8>> {
        self.check_alive()?;
        const WHAT: &str = "buffer to read back";
        if view.context().is_some_and(|c| c != self.inner.id) {
            return Err(ActivationError::ForeignTensor { what: WHAT });
        }
        if view.dtype() != dtype {
            return Err(ActivationError::DtypeMismatch {
                what: WHAT,
                actual: view.dtype().name(),
                expected: dtype.name(),
            });
        }
        if !view.buffer().usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(ActivationError::MissingUsage {
                what: WHAT,
                usage: "COPY_SRC",
            });
        }
        if !view.offset().is_multiple_of(4) {
            return Err(ActivationError::MisalignedOffset {
                what: WHAT,
                offset: view.offset(),
                alignment: 4,
            });
        }
        let available = view.buffer().size().saturating_sub(view.offset());
        if view.word_len() > available {
            return Err(ActivationError::BufferTooSmall {
                what: WHAT,
                needed: view.word_len(),
                available,
            });
        }
        if view.is_empty() {
            return Ok(Vec::new());
        }
        let bytes = view.word_len();
        let pooled = {
            let mut pool = self.inner.staging.lock().unwrap_or_else(|p| p.into_inner());
            pool.iter()
                .position(|b| b.size() >= bytes && b.size() <= bytes.max(4096) * 2)
                .map(|i| pool.swap_remove(i))
        };
        let staging = self.catching(|| {
            let staging = pooled.unwrap_or_else(|| {
                self.inner.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgpu-activations readback"),
                    size: bytes.next_power_of_two().max(4096),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            let mut encoder = self.create_encoder();
            encoder.copy_buffer_to_buffer(
                view.buffer(),
                view.offset(),
                &staging,
                0,
                view.word_len(),
            );
            self.inner.queue.submit([encoder.finish()]);
            staging
        })?;
        let slice = staging.slice(..bytes);
        let (sender, receiver) = oneshot_channel();
        // In a scope: on a lost device the staging buffer is invalid, and
        // wgpu reports that here (its default handler would panic).
        self.catching(|| {
            slice.map_async(wgpu::MapMode::Read, move |result| {
                // The receiver only goes away if this future is dropped; nothing to report then.
                let _ = sender.send(result);
            })
        })?;
        let readback = |error: String| self.classify(ActivationError::Readback(error));
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|error| readback(error.to_string()))?;
        match receiver.receive().await {
            Some(Ok(())) => {}
            Some(Err(error)) => return Err(readback(error.to_string())),
            None => return Err(readback("the map callback was dropped".into())),
        }
        let data = slice
            .get_mapped_range()
            .map_err(|error| readback(error.to_string()))?
            .to_vec();
        staging.unmap();
        if staging.size() <= STAGING_MAX_BYTES {
            let mut pool = self.inner.staging.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() >= STAGING_KEPT {
                pool.remove(0);
            }
            pool.push(staging);
        }
        Ok(data)
    }
}

/// A context can be shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<GpuContext>();
};

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter_description())
            .finish_non_exhaustive()
    }
}

/// `grad_output` must have the shape of the tensor it is the gradient of.
fn check_gradient_shape(input: &GpuTensor, grad_output: &GpuTensor) -> Result<()> {
    if grad_output.shape() != input.shape() {
        return Err(ActivationError::ShapeMismatch {
            what: "grad_output",
            expected: input.shape().to_vec(),
            actual: grad_output.shape().to_vec(),
        });
    }
    Ok(())
}

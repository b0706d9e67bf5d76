//! # wgpu-activations
//!
//! Neural-network activation functions and their gradients as WGSL compute
//! shaders on any GPU that wgpu reaches (Vulkan, Metal, DX12), with an f64 CPU
//! reference beside every kernel for differential testing.
//!
//! Ops follow `torch.nn.functional`: names, parameters, defaults and the
//! gradient at the kinks (see [`activation`] for the conventions, and why
//! they differ from the `f'(0) = 1` of many tutorials).
//!
//! # Three ways in
//!
//! **Convenience**: upload, run, download; the context submits for you.
//!
//! ```no_run
//! use wgpu_activations::{Activation, GpuContext};
//!
//! let ctx = GpuContext::new()?;
//! let x = ctx.upload(&[1.0, -10.0, 0.0, 15.0, -20.0], &[5])?;
//! let y = ctx.forward(&Activation::Relu, &x, None)?;
//! assert_eq!(ctx.download(&y)?, [1.0, 0.0, 0.0, 15.0, 0.0]);
//! # Ok::<(), wgpu_activations::ActivationError>(())
//! ```
//!
//! **Your encoder, your buffers**: wrap the device you already have with
//! [`GpuContext::from_device`] and record into your own
//! `wgpu::CommandEncoder` with [`GpuContext::encode_forward`] /
//! [`GpuContext::encode_backward`] over your buffers ([`TensorView`]).
//! Nothing is copied or submitted; recording a repeated op into your pass
//! allocates nothing under [`DeviceLossCheck::OnError`] (the default probes
//! the device on every call, see there).
//!
//! ```no_run
//! # fn run(device: wgpu_activations::wgpu::Device, queue: wgpu_activations::wgpu::Queue,
//! #        hidden: wgpu_activations::wgpu::Buffer, activated: wgpu_activations::wgpu::Buffer)
//! #        -> wgpu_activations::Result<()> {
//! use wgpu_activations::{Activation, ForwardBuffers, GpuContext, TensorView};
//!
//! let ctx = GpuContext::from_device(device.clone(), queue.clone());
//! let mut encoder = device.create_command_encoder(&Default::default());
//! ctx.encode_forward(&mut encoder, &Activation::Silu, &[64, 1024], &ForwardBuffers {
//!     input: TensorView::new(&hidden, 0, 64 * 1024),
//!     output: TensorView::new(&activated, 0, 64 * 1024),
//!     weight: None,
//!     first_element: 0,
//! })?;
//! queue.submit([encoder.finish()]);
//! # Ok(()) }
//! ```
//!
//! **In place**: [`GpuContext::forward_in_place`],
//! [`GpuContext::backward_in_place`] and
//! [`GpuContext::backward_from_output_in_place`] overwrite a tensor;
//! [`GpuContext::encode_forward_in_place`] and
//! [`GpuContext::encode_backward_in_place`] (and their `_in_pass` forms)
//! record the same over [`ForwardInPlaceBuffers`] /
//! [`BackwardInPlaceBuffers`]: one buffer per activation, the same bits as
//! out of place.
//!
//! ```no_run
//! use wgpu_activations::{Activation, GpuContext};
//!
//! let ctx = GpuContext::new()?;
//! let mut h = ctx.upload(&[1.0, -2.0, 3.0], &[3])?;
//! ctx.forward_in_place(&Activation::Tanh, &mut h, None)?; // h = tanh(x)
//! let mut g = ctx.upload(&[1.0; 3], &[3])?;
//! ctx.backward_from_output_in_place(&Activation::Tanh, &h, &mut g)?; // g = dL/dx
//! # Ok::<(), wgpu_activations::ActivationError>(())
//! ```
//!
//! **The WGSL functions in your own shaders** ([`wgsl`]): `gelu(x)`,
//! `leaky_relu_vec4(x, 0.2)`, `silu_backward(x, grad_output)`, ... as a
//! string to concatenate, a naga_oil module (feature `naga-oil`), or the
//! shipped `.wgsl` files: the same functions the kernels run.
//!
//! ```
//! use wgpu_activations::{wgsl, Activation};
//! let library = wgsl::function(&Activation::Gelu { approximate: wgpu_activations::GeluApproximate::None });
//! let shader = format!("{library}\nfn epilogue(acc: f32, bias: f32) -> f32 {{ return gelu(acc + bias); }}");
//! # assert!(shader.contains("fn gelu("));
//! ```
//!
//! **Fused epilogue**: `f(x + bias[c]) + residual` in one pass, the bias
//! along any dimension, forward and backward (the bias's gradient in a fixed
//! order): [`GpuContext::forward_fused`], [`GpuContext::backward_fused`],
//! [`GpuContext::encode_forward_fused`] over [`FusedForwardBuffers`], ...
//!
//! **Gated activations** ([`gated`]): glu and the `*_and_mul` forms of LLM
//! MLPs ([`GatedActivation`]), over one tensor or two, and with the fused
//! epilogue ([`GpuContext::gated_forward_fused`],
//! [`GpuContext::gated_backward_fused`], [`GatedFusedForwardBuffers`]):
//! the projection's bias added to both halves, a residual to the output.
//!
//! **Softmax and its family** ([`row`]): softmax, log_softmax, softmin and
//! softmax2d along any dimension, forward and backward from the output
//! ([`RowActivation`], [`GpuContext::row_forward`],
//! [`GpuContext::encode_row_forward`], ...).
//!
//! The crate is built on wgpu 30, re-exported as [`wgpu`]: share a device
//! with it by using the same version (`wgpu_activations::wgpu` names it).

#![warn(missing_docs)]

pub mod accuracy;
pub mod activation;
mod context;
pub mod cpu;
pub mod error;
pub mod gated;
mod kernels;
pub mod row;
mod shaders;
mod shape;
pub mod tensor;
mod view;
pub mod wgsl;

pub use wgpu;

pub use accuracy::{ulp_distance, Element, Tolerance};
pub use activation::{Activation, GeluApproximate};
pub use context::{
    describe_adapter, AdapterOptions, DeviceLossCheck, Epilogue, FusedGradients, GpuContext,
    Gradients,
};
pub use error::{ActivationError, Result};
pub use gated::GatedActivation;
pub use half::f16;
pub use kernels::gated::{
    GatedBackwardBuffers, GatedForwardBuffers, GatedFusedBackwardBuffers, GatedFusedForwardBuffers,
    GatedHalves,
};
pub use kernels::row::{RowBackwardBuffers, RowForwardBuffers};
pub use kernels::{
    BackwardBuffers, BackwardInPlaceBuffers, ForwardBuffers, ForwardInPlaceBuffers,
    FusedBackwardBuffers, FusedForwardBuffers,
};
pub use row::{RowActivation, RowTolerance};
pub use tensor::{DType, GpuTensor};
pub use view::TensorView;

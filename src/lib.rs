//! # wgpu-activations
//!
//! Neural-network activation functions and their gradients as WGSL compute
//! shaders on any GPU that wgpu reaches (Vulkan, Metal, DX12), with an f64 CPU
//! reference beside every kernel for differential testing.
//!
//! Ops follow `torch.nn.functional`: names, parameters, defaults and the
//! gradient at the kinks (see [`activation`] for the table, and why it differs
//! from the `f'(0) = 1` of many tutorials).
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
//! To run inside an existing renderer or ML pipeline, wrap its device with
//! [`GpuContext::from_device`] and record into its own encoder with
//! [`GpuContext::encode_forward`] / [`GpuContext::encode_backward`] over its
//! own buffers ([`TensorView`]).

#![warn(missing_docs)]

pub mod activation;
pub mod context;
pub mod cpu;
pub mod error;
pub mod kernels;
pub mod shaders;
pub mod shape;
pub mod tensor;
pub mod view;

pub use activation::{Activation, GeluApproximate, Tolerance};
pub use context::{describe_adapter, GpuContext, Gradients};
pub use error::{ActivationError, Result};
pub use half::f16;
pub use kernels::{BackwardBuffers, ForwardBuffers};
pub use shaders::DType;
pub use tensor::GpuTensor;
pub use view::TensorView;

//! The gated ops ([`GatedActivation`]: glu, silu_and_mul, ...) on a
//! [`GpuContext`]: the convenience layer over [`GpuTensor`]s and the
//! recording API over caller-owned buffers, checked as the other families.

use super::{Epilogue, FusedGradients, GpuContext};
use crate::error::{ActivationError, Result};
use crate::gated::GatedActivation;
use crate::kernels::gated::{
    GatedBackwardBuffers, GatedForwardBuffers, GatedFusedBackwardBuffers, GatedFusedForwardBuffers,
    GatedHalves,
};
use crate::kernels::Target;
use crate::tensor::GpuTensor;

impl GpuContext {
    /// Runs the gated op `op` forward on `input` (its halves joined along
    /// the op's dimension, of even size) and returns the output, of the
    /// input's shape with that dimension halved (submitted, not waited for).
    ///
    /// ```no_run
    /// use wgpu_activations::{GatedActivation, GpuContext};
    ///
    /// let ctx = GpuContext::new()?;
    /// // Two rows of [gate | up], d = 2.
    /// let x = ctx.upload(&[1.0, -1.0, 2.0, 3.0, 0.5, 0.0, 4.0, 4.0], &[2, 4])?;
    /// let y = ctx.gated_forward(&GatedActivation::SiluAndMul, &x)?;
    /// assert_eq!(y.shape(), [2, 2]);
    /// let y = ctx.download(&y)?; // [silu(1) * 2, silu(-1) * 3, silu(0.5) * 4, 0]
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn gated_forward(&self, op: &GatedActivation, input: &GpuTensor) -> Result<GpuTensor> {
        let shape = op.output_shape(input.shape())?;
        let output = self.empty_with_dtype(&shape, input.dtype())?;
        self.run_gated_forward(
            op,
            input.shape(),
            GatedHalves::Joined(input.view()),
            &output,
        )?;
        Ok(output)
    }

    /// The gated op `op` forward over its two halves given apart (`first`
    /// is `x[..., :d]`, the gate of the `*_and_mul` ops and glu's `a`;
    /// `second` is `x[..., d:]`), of the same shape: the output has it too.
    pub fn gated_forward_halves(
        &self,
        op: &GatedActivation,
        first: &GpuTensor,
        second: &GpuTensor,
    ) -> Result<GpuTensor> {
        check_same_shape("second", first, second)?;
        let output = self.empty_with_dtype(first.shape(), first.dtype())?;
        self.run_gated_forward(
            op,
            first.shape(),
            GatedHalves::Split {
                first: first.view(),
                second: second.view(),
            },
            &output,
        )?;
        Ok(output)
    }

    fn run_gated_forward(
        &self,
        op: &GatedActivation,
        shape: &[usize],
        input: GatedHalves<'_>,
        output: &GpuTensor,
    ) -> Result<()> {
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_gated_forward(
                &mut Target::Encoder(&mut encoder),
                op,
                shape,
                &GatedForwardBuffers {
                    input,
                    output: output.view(),
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(())
    }

    /// The gradient of the gated op `op` for its input (of the input's
    /// shape: both halves), at `input`, from the gradient of the loss with
    /// respect to the output (of the output's shape): `act_backward(gate, g
    /// * value)` for the gate's half, `g * act(gate)` for the value's.
    pub fn gated_backward(
        &self,
        op: &GatedActivation,
        input: &GpuTensor,
        grad_output: &GpuTensor,
    ) -> Result<GpuTensor> {
        let shape = op.output_shape(input.shape())?;
        if grad_output.shape() != shape.as_slice() {
            return Err(ActivationError::ShapeMismatch {
                what: "grad_output",
                expected: shape,
                actual: grad_output.shape().to_vec(),
            });
        }
        let grad_input = self.empty_with_dtype(input.shape(), input.dtype())?;
        self.run_gated_backward(
            op,
            input.shape(),
            &GatedBackwardBuffers {
                input: GatedHalves::Joined(input.view()),
                grad_output: grad_output.view(),
                grad_input: GatedHalves::Joined(grad_input.view()),
            },
        )?;
        Ok(grad_input)
    }

    /// The gradients of the two halves given apart (see
    /// [`GpuContext::gated_forward_halves`]): `(grad_first, grad_second)`.
    pub fn gated_backward_halves(
        &self,
        op: &GatedActivation,
        first: &GpuTensor,
        second: &GpuTensor,
        grad_output: &GpuTensor,
    ) -> Result<(GpuTensor, GpuTensor)> {
        check_same_shape("second", first, second)?;
        check_same_shape("grad_output", first, grad_output)?;
        let grad_first = self.empty_with_dtype(first.shape(), first.dtype())?;
        let grad_second = self.empty_with_dtype(first.shape(), first.dtype())?;
        self.run_gated_backward(
            op,
            first.shape(),
            &GatedBackwardBuffers {
                input: GatedHalves::Split {
                    first: first.view(),
                    second: second.view(),
                },
                grad_output: grad_output.view(),
                grad_input: GatedHalves::Split {
                    first: grad_first.view(),
                    second: grad_second.view(),
                },
            },
        )?;
        Ok((grad_first, grad_second))
    }

    fn run_gated_backward(
        &self,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedBackwardBuffers<'_>,
    ) -> Result<()> {
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_gated_backward(
                &mut Target::Encoder(&mut encoder),
                op,
                shape,
                buffers,
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(())
    }

    /// Records the gated op `op` forward into `encoder` over caller-owned
    /// buffers. `shape` is the input's (joined halves) or each half's (two
    /// tensors). Nothing is submitted; the buffers are bound, never copied.
    /// Checked as [`GpuContext::encode_forward`] (usages, alignment,
    /// aliasing, dtype, lengths, the split dimension's size); on error
    /// nothing has been recorded. Tensors larger than one storage binding
    /// are bound in pieces of whole pairs of halves; a pair of halves
    /// larger than one binding is an error.
    pub fn encode_gated_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_forward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records the gated op `op`'s gradient into `encoder` (see
    /// [`GpuContext::gated_backward`] and
    /// [`GpuContext::encode_gated_forward`]).
    pub fn encode_gated_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_backward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records the gated op `op` forward into the caller's open compute
    /// pass (see [`GpuContext::encode_forward_in_pass`]).
    pub fn encode_gated_forward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_forward(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records the gated op `op`'s gradient into the caller's open compute
    /// pass.
    pub fn encode_gated_backward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_backward(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }
}

impl GpuContext {
    /// The gated op `op` with the fused epilogue, in one pass:
    /// `op(input + bias[c]) + residual`. `input` holds both halves joined
    /// (a linear layer's `[gate | up]` projection); the bias runs along
    /// `epilogue.bias_dim` of the input (its length is the input's size
    /// there: `2d` for the projection's features along the last dimension)
    /// and is added to both halves before the op; the residual has the
    /// output's shape. Each part is optional; with neither it is
    /// [`GpuContext::gated_forward`], bit for bit.
    ///
    /// ```no_run
    /// use wgpu_activations::{Epilogue, GatedActivation, GpuContext};
    ///
    /// let ctx = GpuContext::new()?;
    /// // One token of [gate | up], d = 2, the projection's bias, a skip connection.
    /// let x = ctx.upload(&[1.0, -1.0, 2.0, 3.0], &[1, 4])?;
    /// let bias = ctx.upload(&[0.5, 0.5, 0.0, -1.0], &[4])?;
    /// let skip = ctx.upload(&[1.0, 1.0], &[1, 2])?;
    /// let epilogue = Epilogue { bias: Some(&bias), bias_dim: -1, residual: Some(&skip) };
    /// let y = ctx.gated_forward_fused(&GatedActivation::SiluAndMul, &x, &epilogue)?;
    /// // [silu(1.5) * 2 + 1, silu(-0.5) * 2 + 1]
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn gated_forward_fused(
        &self,
        op: &GatedActivation,
        input: &GpuTensor,
        epilogue: &Epilogue<'_>,
    ) -> Result<GpuTensor> {
        self.check_alive()?;
        epilogue.check_bias_shape()?;
        let shape = op.output_shape(input.shape())?;
        if let Some(residual) = epilogue.residual {
            if residual.shape() != shape.as_slice() {
                return Err(ActivationError::ShapeMismatch {
                    what: "residual (the output's shape)",
                    expected: shape,
                    actual: residual.shape().to_vec(),
                });
            }
        }
        let output = self.empty_with_dtype(&shape, input.dtype())?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_gated_forward_fused(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &GatedFusedForwardBuffers {
                    input: input.view(),
                    output: output.view(),
                    bias: epilogue.bias.map(GpuTensor::view),
                    bias_dim: epilogue.bias_dim,
                    residual: epilogue.residual.map(GpuTensor::view),
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(output)
    }

    /// The gradients of [`GpuContext::gated_forward_fused`]: the input's (both
    /// halves, at `input + bias[c]`) and, with a bias, the bias's (the sum
    /// of the input's gradient over each channel, in a fixed order: the same
    /// bits on every run). The residual's gradient is `grad_output` itself
    /// (no copy is made).
    pub fn gated_backward_fused(
        &self,
        op: &GatedActivation,
        input: &GpuTensor,
        grad_output: &GpuTensor,
        epilogue: &Epilogue<'_>,
    ) -> Result<FusedGradients> {
        self.check_alive()?;
        epilogue.check_bias_shape()?;
        let shape = op.output_shape(input.shape())?;
        if grad_output.shape() != shape.as_slice() {
            return Err(ActivationError::ShapeMismatch {
                what: "grad_output",
                expected: shape,
                actual: grad_output.shape().to_vec(),
            });
        }
        let grad_input = self.empty_with_dtype(input.shape(), input.dtype())?;
        let grad_bias = match epilogue.bias {
            Some(bias) => Some(self.empty_with_dtype(bias.shape(), bias.dtype())?),
            None => None,
        };
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_gated_backward_fused(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &GatedFusedBackwardBuffers {
                    input: input.view(),
                    grad_output: grad_output.view(),
                    grad_input: grad_input.view(),
                    bias: epilogue.bias.map(GpuTensor::view),
                    bias_dim: epilogue.bias_dim,
                    grad_bias: grad_bias.as_ref().map(GpuTensor::view),
                },
                false,
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(FusedGradients {
            grad_input,
            grad_bias,
            grad_weight: None,
        })
    }

    /// Records [`GpuContext::gated_forward_fused`] into `encoder` over
    /// caller-owned buffers (checked as
    /// [`GpuContext::encode_gated_forward`]; on error nothing is recorded).
    pub fn encode_gated_forward_fused(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_forward_fused(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// Records [`GpuContext::gated_backward_fused`] into `encoder` over
    /// caller-owned buffers.
    pub fn encode_gated_backward_fused(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_backward_fused(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// [`GpuContext::encode_gated_forward_fused`] into the caller's open
    /// compute pass (see [`GpuContext::encode_forward_in_pass`]).
    pub fn encode_gated_forward_fused_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_forward_fused(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }

    /// [`GpuContext::encode_gated_backward_fused`] into the caller's open
    /// compute pass.
    pub fn encode_gated_backward_fused_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_gated_backward_fused(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
            )
        })
    }
}

fn check_same_shape(what: &'static str, first: &GpuTensor, other: &GpuTensor) -> Result<()> {
    if first.shape() != other.shape() {
        return Err(ActivationError::ShapeMismatch {
            what,
            expected: first.shape().to_vec(),
            actual: other.shape().to_vec(),
        });
    }
    Ok(())
}

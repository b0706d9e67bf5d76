//! The gated ops ([`GatedActivation`]: glu, silu_and_mul, ...) on a
//! [`GpuContext`]: the convenience layer over [`GpuTensor`]s and the
//! recording API over caller-owned buffers, checked as the other families.

use super::GpuContext;
use crate::error::{ActivationError, Result};
use crate::gated::GatedActivation;
use crate::kernels::gated::{GatedBackwardBuffers, GatedForwardBuffers, GatedHalves};
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

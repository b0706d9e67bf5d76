//! The row ops ([`RowActivation`]: softmax, log_softmax, softmin,
//! softmax2d) on a [`GpuContext`]: the convenience layer over
//! [`GpuTensor`]s and the recording API over caller-owned buffers, checked
//! as the elementwise ones are.

use super::GpuContext;
use crate::error::{ActivationError, Result};
use crate::kernels::row::{RowBackwardBuffers, RowForwardBuffers};
use crate::kernels::Target;
use crate::row::RowActivation;
use crate::tensor::GpuTensor;

impl GpuContext {
    /// Runs the row op `op` forward on `input` (along its `dim`) and returns
    /// the output tensor (submitted, not waited for).
    ///
    /// ```no_run
    /// use wgpu_activations::{GpuContext, RowActivation};
    ///
    /// let ctx = GpuContext::new()?;
    /// let logits = ctx.upload(&[1.0, 2.0, 3.0, 1.0, 1.0, 1.0], &[2, 3])?;
    /// let probabilities = ctx.row_forward(&RowActivation::Softmax { dim: -1 }, &logits)?;
    /// let p = ctx.download(&probabilities)?; // [0.090, 0.245, 0.665, 0.333, 0.333, 0.333]
    /// # Ok::<(), wgpu_activations::ActivationError>(())
    /// ```
    pub fn row_forward(&self, op: &RowActivation, input: &GpuTensor) -> Result<GpuTensor> {
        let output = self.empty_with_dtype(input.shape(), input.dtype())?;
        let mut encoder = self.create_encoder();
        // Fresh tensors: their bind groups are not worth caching.
        self.inner
            .kernels
            .encode_row_forward(
                &mut Target::Encoder(&mut encoder),
                op,
                input.shape(),
                &RowForwardBuffers {
                    input: input.view(),
                    output: output.view(),
                },
                false,
                self.row_elements_per_lane(),
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(output)
    }

    /// The gradient of the row op `op` for its input, from the forward's
    /// **output** (as PyTorch computes it) and the gradient of the loss
    /// with respect to that output: softmax `y * (g - sum(g * y))`,
    /// log_softmax `g - exp(y) * sum(g)`, softmin `y * (sum(g * y) - g)`.
    pub fn row_backward(
        &self,
        op: &RowActivation,
        output: &GpuTensor,
        grad_output: &GpuTensor,
    ) -> Result<GpuTensor> {
        if grad_output.shape() != output.shape() {
            return Err(ActivationError::ShapeMismatch {
                what: "grad_output",
                expected: output.shape().to_vec(),
                actual: grad_output.shape().to_vec(),
            });
        }
        let grad_input = self.empty_with_dtype(output.shape(), output.dtype())?;
        let mut encoder = self.create_encoder();
        self.inner
            .kernels
            .encode_row_backward(
                &mut Target::Encoder(&mut encoder),
                op,
                output.shape(),
                &RowBackwardBuffers {
                    output: output.view(),
                    grad_output: grad_output.view(),
                    grad_input: grad_input.view(),
                },
                false,
                self.row_elements_per_lane(),
            )
            .map_err(|e| self.classify(e))?;
        self.submit(encoder)?;
        Ok(grad_input)
    }

    /// Records the row op `op` forward into `encoder` over caller-owned
    /// buffers of `shape`. Nothing is submitted; the buffers are bound, never
    /// copied. Checked as [`GpuContext::encode_forward`] (usages, alignment,
    /// aliasing, dtype, lengths, `dim` against `shape`); on error nothing has
    /// been recorded. Rows longer than a workgroup holds take three passes
    /// over a scratch buffer of the context; tensors larger than one storage
    /// binding are bound piece by piece.
    pub fn encode_row_forward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_row_forward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
                self.row_elements_per_lane(),
            )
        })
    }

    /// Records the row op `op`'s gradient into `encoder`, from the
    /// forward's output (see [`GpuContext::row_backward`]).
    pub fn encode_row_backward(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_row_backward(
                &mut Target::Encoder(encoder),
                op,
                shape,
                buffers,
                true,
                self.row_elements_per_lane(),
            )
        })
    }

    /// Records the row op `op` forward into the caller's open compute pass
    /// (see [`GpuContext::encode_forward_in_pass`]: the pass's pipeline and
    /// bind group are left set to ours).
    pub fn encode_row_forward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowForwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_row_forward(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
                self.row_elements_per_lane(),
            )
        })
    }

    /// Records the row op `op`'s gradient into the caller's open compute
    /// pass (see [`GpuContext::encode_row_forward_in_pass`]).
    pub fn encode_row_backward_in_pass(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowBackwardBuffers<'_>,
    ) -> Result<()> {
        self.alive(|| {
            self.inner.kernels.encode_row_backward(
                &mut Target::Pass(pass),
                op,
                shape,
                buffers,
                true,
                self.row_elements_per_lane(),
            )
        })
    }
}

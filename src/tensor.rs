//! The tensor types: [`DType`], the element type in memory, and
//! [`GpuTensor`], f32 or f16 data in a GPU buffer owned by this crate, with
//! its shape. Caller-owned buffers are described by [`crate::TensorView`].

use crate::view::TensorView;

pub use crate::kernels::MAX_ELEMENTS;
pub use crate::shape::{element_count, prelu_channels, wrap_dim};

/// The element type of a tensor in memory. Arithmetic is f32 for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE 754.
    F32,
    /// 16-bit IEEE 754 (needs the adapter's `SHADER_F16`).
    F16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }

    /// `"f32"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
        }
    }

    /// The scalar type's WGSL name.
    pub fn wgsl(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
        }
    }
}

/// A tensor of f32 or f16 on the GPU, made by [`crate::GpuContext::upload`],
/// [`crate::GpuContext::upload_f16`] or [`crate::GpuContext::empty_with_dtype`].
///
/// The buffer is padded to whole vec4s (16 bytes) so the vec4 kernels always
/// apply, and has `STORAGE | COPY_SRC | COPY_DST` usage, so it can also be
/// bound in the caller's own passes (see [`GpuTensor::buffer`]).
#[derive(Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
    len: usize,
    dtype: DType,
    /// The identity of the context that made it: a tensor is only ever
    /// used with its own context's device.
    context: u64,
}

impl GpuTensor {
    pub(crate) fn from_parts(
        buffer: wgpu::Buffer,
        shape: Vec<usize>,
        len: usize,
        dtype: DType,
        context: u64,
    ) -> Self {
        GpuTensor {
            buffer,
            shape,
            len,
            dtype,
            context,
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape (row-major, as in PyTorch).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The underlying buffer (elements from byte 0, padding after them).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// The elements as a [`TensorView`], for the encoding API. The view
    /// remembers its context: passing it to another context is an error.
    pub fn view(&self) -> TensorView<'_> {
        TensorView::with_dtype(&self.buffer, 0, self.len, self.dtype).of_context(self.context)
    }
}

//! [`TensorView`]: a range of elements in a `wgpu::Buffer`, the unit the
//! encoding API works on, so that callers can run ops on buffers they own.

use crate::tensor::DType;

/// `len` elements of type `dtype` starting at byte `offset` of `buffer`.
///
/// The buffer belongs to the caller; the op only binds it. It needs
/// `BufferUsages::STORAGE` (and `COPY_SRC` to be read back with
/// [`crate::GpuContext::read_view`]), and `offset` must be a multiple of the
/// device's `min_storage_buffer_offset_alignment` (256 on most devices). An
/// f16 view of an odd number of elements needs 2 bytes of buffer past its end
/// (bindings are whole 4-byte words); those bytes are never written.
/// Ranges aligned to a vec4 (16 bytes for f32, 8 for f16) that hold whole
/// vec4s run the vec4 kernels; other ranges run the one-element-per-thread
/// kernels. Bytes past `len` elements are never changed.
///
/// **The buffer must come from the context's device.** A buffer of another
/// device of the same `wgpu::Instance` is an error (wgpu checks it), but a
/// buffer of another `wgpu::Instance` cannot be told apart by wgpu: it is
/// taken for this device's buffer with the same internal index, silently
/// reading and writing the wrong memory (or panicking inside wgpu). Views of
/// [`crate::GpuTensor`]s ([`crate::GpuTensor::view`]) remember their context
/// and are checked.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    buffer: &'a wgpu::Buffer,
    offset: u64,
    len: usize,
    dtype: DType,
    /// The context of the tensor it views, if it views one.
    context: Option<u64>,
}

impl<'a> TensorView<'a> {
    /// A view of `len` f32 elements from byte `offset` of `buffer`.
    pub fn new(buffer: &'a wgpu::Buffer, offset: u64, len: usize) -> Self {
        TensorView::with_dtype(buffer, offset, len, DType::F32)
    }

    /// A view of `len` f16 elements from byte `offset` of `buffer`.
    pub fn new_f16(buffer: &'a wgpu::Buffer, offset: u64, len: usize) -> Self {
        TensorView::with_dtype(buffer, offset, len, DType::F16)
    }

    /// A view of `len` elements of type `dtype` from byte `offset` of `buffer`.
    pub fn with_dtype(buffer: &'a wgpu::Buffer, offset: u64, len: usize, dtype: DType) -> Self {
        TensorView {
            buffer,
            offset,
            len,
            dtype,
            context: None,
        }
    }

    /// This view, known to belong to the context `context`.
    pub(crate) fn of_context(mut self, context: u64) -> Self {
        self.context = Some(context);
        self
    }

    /// The context of the tensor it views, if known.
    pub(crate) fn context(&self) -> Option<u64> {
        self.context
    }

    /// The whole buffer as f32 elements (its size divided by 4).
    pub fn whole(buffer: &'a wgpu::Buffer) -> Self {
        TensorView::new(buffer, 0, (buffer.size() / 4) as usize)
    }

    /// The buffer.
    pub fn buffer(&self) -> &'a wgpu::Buffer {
        self.buffer
    }

    /// Byte offset of the first element.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Size in bytes of the elements (saturating at `u64::MAX`, which no
    /// buffer holds: such a view is refused as too small a buffer).
    pub fn byte_len(&self) -> u64 {
        (self.len as u64).saturating_mul(self.dtype.size())
    }

    /// Bytes a binding or copy of the view covers: whole 4-byte words
    /// (saturating, as [`TensorView::byte_len`]).
    pub fn word_len(&self) -> u64 {
        self.byte_len().div_ceil(4).saturating_mul(4)
    }

    /// Whether the view starts on a boundary of 4 elements (16 bytes in
    /// f32, 8 in f16), where the kernels may bind it as whole vectors.
    pub(crate) fn starts_on_vec4(&self) -> bool {
        self.offset.is_multiple_of(4 * self.dtype.size())
    }

    /// The sub-view of `len` elements starting `start` elements in.
    pub(crate) fn sub(&self, start: usize, len: usize) -> TensorView<'a> {
        TensorView {
            offset: self.offset + start as u64 * self.dtype.size(),
            len,
            ..*self
        }
    }

    /// Whether the two views are the same bytes of the same buffer.
    pub(crate) fn same_range(&self, other: &TensorView<'_>) -> bool {
        self.buffer == other.buffer
            && self.offset == other.offset
            && self.byte_len() == other.byte_len()
    }

    /// Whether the two views share any byte of the same buffer.
    pub(crate) fn overlaps(&self, other: &TensorView<'_>) -> bool {
        self.buffer == other.buffer
            && self.offset < other.offset.saturating_add(other.byte_len())
            && other.offset < self.offset.saturating_add(self.byte_len())
    }
}

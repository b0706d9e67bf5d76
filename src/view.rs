//! [`TensorView`]: a range of f32 elements in a `wgpu::Buffer`, the unit the
//! encoding API works on, so that callers can run ops on buffers they own.

/// `len` f32 elements starting at byte `offset` of `buffer`.
///
/// The buffer belongs to the caller; the op only binds it. It needs
/// `BufferUsages::STORAGE` (and `COPY_SRC` to be read back with
/// [`crate::GpuContext::read_view`]), and `offset` must be a multiple of the
/// device's `min_storage_buffer_offset_alignment` (256 on most devices).
/// Ranges that are 16-byte aligned and hold whole vec4s (`offset + 16 *
/// ceil(len / 4)` bytes fit in the buffer) run the vec4 kernels; other ranges
/// run the one-element-per-thread kernels. Bytes past `len` elements are never
/// changed.
#[derive(Debug, Clone, Copy)]
pub struct TensorView<'a> {
    buffer: &'a wgpu::Buffer,
    offset: u64,
    len: usize,
}

impl<'a> TensorView<'a> {
    /// A view of `len` elements from byte `offset` of `buffer`.
    pub fn new(buffer: &'a wgpu::Buffer, offset: u64, len: usize) -> Self {
        TensorView {
            buffer,
            offset,
            len,
        }
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

    /// Size in bytes of the elements.
    pub fn byte_len(&self) -> u64 {
        self.len as u64 * 4
    }

    /// The sub-view of `len` elements starting `start` elements in.
    pub(crate) fn sub(&self, start: usize, len: usize) -> TensorView<'a> {
        TensorView::new(self.buffer, self.offset + start as u64 * 4, len)
    }

    /// Whether the two views share any byte of the same buffer.
    pub(crate) fn overlaps(&self, other: &TensorView<'_>) -> bool {
        self.buffer == other.buffer
            && self.offset < other.offset + other.byte_len()
            && other.offset < self.offset + self.byte_len()
    }
}

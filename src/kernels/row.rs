//! Recording of the row ops (softmax, log_softmax, softmin) into a caller's
//! encoder or pass (private; [`crate::GpuContext`] is the way in).
//!
//! A call is planned first ([`plan`]): the row layout of the workgroups
//! (rows per workgroup, lanes per row, elements per lane: a
//! [`RowConfig`]), the chunks of a row (one: the `fused` pass; more: the
//! `partials`, `combine` and `normalize` passes), and the pieces of the
//! tensor bound at once: the whole tensor, whole blocks of rows, or chunks
//! of one block's rows, each a window of at most one storage binding. Then
//! everything is checked and made in one error scope, and recorded: on
//! error nothing is recorded.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::{
    block_of, bound, dispatch_grid, lock, storage_entry, uniform_entry, BindGroupKey, Bound,
    Kernels, LayoutKind, Prepared, Scope, SmallList, Target,
};
use crate::error::{ActivationError, Result};
use crate::row::{RowActivation, RowGeometry};
use crate::shaders::row::{row_module, RowConfig, RowModuleKey, RowParams, RowPass};
use crate::shaders::WORKGROUP_SIZE;
use crate::shape::element_count;
use crate::view::TensorView;

/// The buffers of one row op forward, recorded with
/// [`crate::GpuContext::encode_row_forward`].
#[derive(Debug, Clone, Copy)]
pub struct RowForwardBuffers<'a> {
    /// The input `x`.
    pub input: TensorView<'a>,
    /// Where the output is written; a different buffer from `input`.
    pub output: TensorView<'a>,
}

/// The buffers of one row op backward, recorded with
/// [`crate::GpuContext::encode_row_backward`].
#[derive(Debug, Clone, Copy)]
pub struct RowBackwardBuffers<'a> {
    /// The forward's **output** `y` (not its input): the gradients of the
    /// row ops are functions of it, as in PyTorch.
    pub output: TensorView<'a>,
    /// The gradient of the loss with respect to the forward's output.
    pub grad_output: TensorView<'a>,
    /// Where the gradient for the forward's input is written; a different
    /// buffer from `output` and `grad_output`.
    pub grad_input: TensorView<'a>,
}

/// The most elements one lane holds in registers on a GPU: 16 keeps a
/// backward lane's two arrays in 32 registers.
pub(crate) const PER_THREAD_MAX: u32 = 16;

/// The same on a CPU adapter (lavapipe, llvmpipe's threads have no register
/// file to share), where fewer lanes per row make fewer reduction steps
/// through workgroup memory: on lavapipe, softmax along dim 1 of
/// [64, 512, 32, 32] took 21% to 36% less time, the [4096, 4096] forwards
/// 16% to 18% (one run each; BENCHMARKS.md). Measured again with the lanes'
/// loops written out (softmax forward at 16 / 32 / 64 per lane: [4096, 4096]
/// 81 / 61 / 57 ms, dim 1 of [64, 512, 32, 32] 267 / 201 / 182 ms), 64 still
/// wins, at a compile time of about 140 ms per module.
pub(crate) const PER_THREAD_MAX_CPU: u32 = 64;

/// The per-lane budgets a caller may choose ([`crate::GpuContext::with_row_elements_per_lane`]).
pub(crate) fn valid_elements_per_lane(n: u32) -> bool {
    n.is_power_of_two() && (4..=PER_THREAD_MAX_CPU).contains(&n)
}

/// Bytes per entry of the scratch buffer (a chunk's or a row's statistics).
const SCRATCH_ENTRY: u64 = 16;

/// The bind group layout of one row pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RowLayout {
    pass: RowPass,
    backward: bool,
}

impl RowLayout {
    pub(super) fn uniform_size(self) -> usize {
        std::mem::size_of::<RowParams>()
    }

    /// Binding 1: the input (forward) or output (backward); 2: the gradient
    /// of the output (backward); 3: what is written; 4: the scratch
    /// statistics.
    pub(super) fn entries(self) -> Vec<wgpu::BindGroupLayoutEntry> {
        let mut entries = vec![uniform_entry(self.uniform_size())];
        if self.pass != RowPass::Combine {
            entries.push(storage_entry(1, true));
            if self.backward {
                entries.push(storage_entry(2, true));
            }
        }
        if matches!(self.pass, RowPass::Fused | RowPass::Normalize) {
            entries.push(storage_entry(3, false));
        }
        if self.pass != RowPass::Fused {
            entries.push(storage_entry(4, false));
        }
        entries
    }
}

/// The row ops' share of a [`Kernels`]: modules and pipelines by key, the
/// scratch buffer of the statistics (grown as needed; wgpu orders the
/// passes that share it), and the adapter's subgroup size.
#[derive(Default)]
pub(crate) struct RowCaches {
    modules: Mutex<HashMap<RowModuleKey, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(RowModuleKey, RowPass), wgpu::ComputePipeline>>,
    scratch: Mutex<Option<wgpu::Buffer>>,
    subgroup_min: OnceLock<u32>,
    elements_per_lane: OnceLock<u32>,
}

/// One window of the tensor bound at once, and the work in it: rows
/// `row_first..row_first + row_count` (global), chunks
/// `chunk_first..chunk_first + chunk_count` of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowPiece {
    /// Global index of the window's first element (aligned for binding).
    window: u64,
    /// Elements in the window.
    window_len: u64,
    row_first: u64,
    row_count: u64,
    chunk_first: u64,
    chunk_count: u64,
}

/// How a row op over one shape runs.
struct RowPlan {
    config: RowConfig,
    /// Chunks per row: 1 runs the fused pass.
    chunks: u64,
    pieces: SmallList<RowPiece>,
}

fn pow2_ceil(v: u64) -> u64 {
    v.max(1).next_power_of_two()
}

/// The row layout for `geometry`: contiguous rows (inner = 1) get
/// `threads_per_row` lanes each, as many as a subgroup holds (so that their
/// reductions need no barrier) while each has at least 4 elements, and more
/// where a row needs them to fit `most` per lane; rows longer than a
/// workgroup holds are chunked over 256 lanes. Strided rows get as few
/// lanes each as fit them (the fewest reduction steps), and so as many rows
/// per workgroup, but at least 32 rows (or `inner`, if fewer) where that
/// still fits, so that neighbouring lanes read neighbouring addresses.
fn choose_config(geometry: &RowGeometry, subgroup_min: u32, most: u32) -> RowConfig {
    let n = geometry.n as u64;
    let lanes = u64::from(WORKGROUP_SIZE);
    let most = u64::from(most);
    let config = |rows: u64, per_thread: u64, row_major: bool| RowConfig {
        rows_per_group: rows as u32,
        threads_per_row: (lanes / rows) as u32,
        per_thread: per_thread as u32,
        row_major,
        vector: false,
    };
    if geometry.inner == 1 {
        let fewest = pow2_ceil(n.div_ceil(most));
        if fewest > lanes {
            return config(1, most, true);
        }
        let preferred = pow2_ceil(n.div_ceil(4)).min(u64::from(subgroup_min.max(1)));
        let threads = fewest.max(preferred);
        return config(lanes / threads, pow2_ceil(n.div_ceil(threads)), true);
    }
    let widest = pow2_ceil(geometry.inner as u64).min(32);
    let fewest = pow2_ceil(n.div_ceil(most));
    if fewest <= lanes && lanes / fewest >= widest {
        return config(lanes / fewest, pow2_ceil(n.div_ceil(fewest)), false);
    }
    let mut rows = widest;
    while rows >= (widest / 4).max(1) {
        let threads = lanes / rows;
        if n <= threads * most {
            return config(rows, pow2_ceil(n.div_ceil(threads)), false);
        }
        rows /= 2;
    }
    config(widest, most, false)
}

/// Plans a row op over `geometry` with at most `most` elements per lane and
/// bindings of at most `capacity` elements whose offsets must be multiples
/// of `align` elements. Contiguous rows whose length, lane budget and bound
/// windows are multiples of 4 are loaded and stored 4 elements at a time
/// (`RowConfig::vector`).
fn plan(
    geometry: RowGeometry,
    subgroup_min: u32,
    most: u32,
    capacity: u64,
    align: u64,
) -> Result<RowPlan> {
    let mut plan = plan_pieces(geometry, subgroup_min, most, capacity, align)?;
    let config = &mut plan.config;
    config.vector = config.row_major
        && geometry.inner == 1
        && geometry.n.is_multiple_of(4)
        && config.per_thread.is_multiple_of(4);
    // Every window then holds whole vectors: it starts at a row's or a
    // chunk's first element (multiples of 4) rounded down to a multiple of
    // `align`, a power of two, and ends at a row's or chunk's end.
    if config.vector {
        plan.pieces.for_each(|p| {
            debug_assert!(p.window % 4 == 0 && p.window_len % 4 == 0, "{p:?}");
        });
    }
    Ok(plan)
}

/// [`plan`]'s layout and pieces, every lane loading one element at a time.
fn plan_pieces(
    geometry: RowGeometry,
    subgroup_min: u32,
    most: u32,
    capacity: u64,
    align: u64,
) -> Result<RowPlan> {
    let RowGeometry { outer, n, inner } = geometry;
    let (outer, n, inner) = (outer as u64, n as u64, inner as u64);
    let len = outer * n * inner;
    let block = n * inner;
    let mut config = choose_config(&geometry, subgroup_min, most);
    let mut pieces = SmallList::new();
    let whole_rows = |pieces: &mut SmallList<RowPiece>, chunks: u64, first: u64, count: u64| {
        let start = first * block;
        let window = start - start % align;
        pieces.push(RowPiece {
            window,
            window_len: (first + count) * block - window,
            row_first: first * inner,
            row_count: count * inner,
            chunk_first: 0,
            chunk_count: chunks,
        });
    };
    if len <= capacity {
        let chunks = n.div_ceil(config.chunk());
        whole_rows(&mut pieces, chunks, 0, outer);
        return Ok(RowPlan {
            config,
            chunks,
            pieces,
        });
    }
    if block + align <= capacity {
        let chunks = n.div_ceil(config.chunk());
        let per_piece = (capacity - align) / block;
        let mut first = 0;
        while first < outer {
            let count = per_piece.min(outer - first);
            whole_rows(&mut pieces, chunks, first, count);
            first += count;
        }
        return Ok(RowPlan {
            config,
            chunks,
            pieces,
        });
    }
    // One block is larger than a binding: its rows are split into chunks
    // bound separately, small enough that a chunk of every row of the
    // block fits.
    while config.chunk() * inner + align > capacity {
        if config.per_thread > 1 {
            config.per_thread /= 2;
        } else if config.threads_per_row > 1 {
            config.threads_per_row /= 2;
            config.rows_per_group *= 2;
        } else {
            return Err(ActivationError::TooLarge {
                what: "row op: one slice along the other dimensions (elements inner to dim)",
                len: inner,
                max: capacity.saturating_sub(align),
            });
        }
    }
    let chunk = config.chunk();
    let chunks = n.div_ceil(chunk);
    let per_piece = ((capacity - align) / (chunk * inner)).max(1);
    for o in 0..outer {
        let mut first = 0;
        while first < chunks {
            let count = per_piece.min(chunks - first);
            let start = o * block + first * chunk * inner;
            let end = o * block + ((first + count) * chunk).min(n) * inner;
            let window = start - start % align;
            pieces.push(RowPiece {
                window,
                window_len: end - window,
                row_first: o * inner,
                row_count: inner,
                chunk_first: first,
                chunk_count: count,
            });
            first += count;
        }
    }
    Ok(RowPlan {
        config,
        chunks,
        pieces,
    })
}

/// One pass of a recording: its pipeline and dispatches.
struct Stage {
    pipeline: wgpu::ComputePipeline,
    items: SmallList<Prepared>,
}

impl Kernels {
    /// The adapter's smallest subgroup size (a power of two, at most 128)
    /// where the device has subgroup operations, else 0.
    fn subgroup_min(&self) -> u32 {
        *self.row.subgroup_min.get_or_init(|| {
            if !self.device.features().contains(wgpu::Features::SUBGROUP) {
                return 0;
            }
            let min = self.device.adapter_info().subgroup_min_size.min(128);
            if min < 2 {
                0
            } else {
                1 << (31 - min.leading_zeros())
            }
        })
    }

    /// The adapter's default budget of elements per lane for the row ops:
    /// [`PER_THREAD_MAX_CPU`] on a CPU adapter, [`PER_THREAD_MAX`] otherwise.
    pub(crate) fn row_elements_per_lane(&self) -> u32 {
        *self.row.elements_per_lane.get_or_init(|| {
            if self.device.adapter_info().device_type == wgpu::DeviceType::Cpu {
                PER_THREAD_MAX_CPU
            } else {
                PER_THREAD_MAX
            }
        })
    }

    pub(crate) fn encode_row_forward(
        &self,
        target: &mut Target<'_, '_>,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowForwardBuffers<'_>,
        cache: bool,
        elements_per_lane: u32,
    ) -> Result<()> {
        let geometry = op.geometry(shape)?;
        let len = element_count(shape)?;
        Self::check_len(len, 0)?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        self.check_view("input", &buffers.input, len, dtype)?;
        self.check_view("output", &buffers.output, len, dtype)?;
        Self::check_distinct(
            ("output", &buffers.output),
            &[Some(("input", &buffers.input))],
        )?;
        self.encode_row(
            target,
            op,
            geometry,
            [Some(buffers.input), None],
            buffers.output,
            cache,
            elements_per_lane,
        )
    }

    pub(crate) fn encode_row_backward(
        &self,
        target: &mut Target<'_, '_>,
        op: &RowActivation,
        shape: &[usize],
        buffers: &RowBackwardBuffers<'_>,
        cache: bool,
        elements_per_lane: u32,
    ) -> Result<()> {
        let geometry = op.geometry(shape)?;
        let len = element_count(shape)?;
        Self::check_len(len, 0)?;
        let dtype = buffers.output.dtype();
        self.check_dtype(dtype)?;
        self.check_view("output", &buffers.output, len, dtype)?;
        self.check_view("grad_output", &buffers.grad_output, len, dtype)?;
        self.check_view("grad_input", &buffers.grad_input, len, dtype)?;
        Self::check_distinct(
            ("grad_input", &buffers.grad_input),
            &[
                Some(("output", &buffers.output)),
                Some(("grad_output", &buffers.grad_output)),
            ],
        )?;
        self.encode_row(
            target,
            op,
            geometry,
            [Some(buffers.output), Some(buffers.grad_output)],
            buffers.grad_input,
            cache,
            elements_per_lane,
        )
    }

    /// The pipeline of `key`'s `pass`, created (in `scope`) on first use,
    /// with its bind group layout; `true` if it was created now.
    fn row_pipeline(
        &self,
        key: RowModuleKey,
        pass: RowPass,
        scope: &mut Scope,
    ) -> (wgpu::BindGroupLayout, wgpu::ComputePipeline, bool) {
        let kind = LayoutKind::Row(RowLayout {
            pass,
            backward: key.backward,
        });
        if let Some(pipeline) = lock(&self.row.pipelines).get(&(key, pass)) {
            return (self.layout(kind).0, pipeline.clone(), false);
        }
        scope.open(&self.device);
        let (bind_group_layout, pipeline_layout) = self.layout(kind);
        let module = lock(&self.row.modules)
            .entry(key)
            .or_insert_with(|| {
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some("wgpu-activations row op"),
                        source: wgpu::ShaderSource::Wgsl(row_module(&key).into()),
                    })
            })
            .clone();
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(pass.entry_point()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(pass.entry_point()),
                compilation_options: Default::default(),
                cache: None,
            });
        (bind_group_layout, pipeline, true)
    }

    /// The statistics' scratch buffer, at least `bytes` long.
    fn row_scratch(&self, bytes: u64, scope: &mut Scope) -> wgpu::Buffer {
        let mut slot = lock(&self.row.scratch);
        match slot.as_ref() {
            Some(buffer) if buffer.size() >= bytes => buffer.clone(),
            _ => {
                scope.open(&self.device);
                let size = bytes
                    .max(256)
                    .checked_next_power_of_two()
                    .unwrap_or(bytes)
                    .min(self.limits.max_buffer_size)
                    .max(bytes);
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgpu-activations row statistics"),
                    size,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                *slot = Some(buffer.clone());
                buffer
            }
        }
    }

    /// Records a planned row op over checked views: `reads` are the input
    /// (forward) or the output and its gradient (backward).
    #[allow(clippy::too_many_arguments)]
    fn encode_row(
        &self,
        target: &mut Target<'_, '_>,
        op: &RowActivation,
        geometry: RowGeometry,
        reads: [Option<TensorView<'_>>; 2],
        write: TensorView<'_>,
        cache: bool,
        elements_per_lane: u32,
    ) -> Result<()> {
        if geometry.is_empty() {
            return Ok(());
        }
        let dtype = write.dtype();
        let backward = reads[1].is_some();
        let subgroup_min = self.subgroup_min();
        let (capacity, align) = self.binding_elements(dtype);
        let mut plan = plan(geometry, subgroup_min, elements_per_lane, capacity, align)?;
        // Loads of 4 elements bind arrays of 16-byte (f16: 8-byte) values:
        // every view must start on such a boundary (the windows within it
        // do), which the binding alignment alone does not give where the
        // adapter's is 4 bytes.
        plan.config.vector &= reads
            .iter()
            .flatten()
            .chain([&write])
            .all(TensorView::starts_on_vec4);
        let key = RowModuleKey {
            kernel: op.kernel(),
            backward,
            dtype,
            config: plan.config,
            subgroup_min,
        };
        let rows = geometry.rows() as u64;
        let chunked = plan.chunks > 1;
        let scratch_entries = if chunked {
            rows * plan.chunks + rows
        } else {
            0
        };
        let scratch_bytes = scratch_entries * SCRATCH_ENTRY;
        let (max_binding, _) = self.binding_elements(crate::tensor::DType::F32);
        if scratch_bytes > max_binding * 4 || scratch_entries > u64::from(u32::MAX) {
            return Err(ActivationError::TooLarge {
                what: "row op statistics (rows x chunks of a row)",
                len: scratch_entries,
                max: max_binding * 4 / SCRATCH_ENTRY,
            });
        }
        let passes: &[RowPass] = if chunked {
            &[RowPass::Partials, RowPass::Combine, RowPass::Normalize]
        } else {
            &[RowPass::Fused]
        };
        let max_dim = self.limits.max_compute_workgroups_per_dimension;
        let mut scope = Scope::default();
        let scratch = chunked.then(|| self.row_scratch(scratch_bytes, &mut scope));
        let mut new_pipelines = Vec::new();
        let mut stages: Vec<Stage> = Vec::with_capacity(passes.len());
        let element = dtype.size();
        let outcome = (|| -> Result<()> {
            for &pass in passes {
                let (layout, pipeline, new) = self.row_pipeline(key, pass, &mut scope);
                if new {
                    new_pipelines.push(((key, pass), pipeline.clone()));
                }
                let mut items = SmallList::new();
                let combine_piece = [RowPiece {
                    window: 0,
                    window_len: 0,
                    row_first: 0,
                    row_count: rows,
                    chunk_first: 0,
                    chunk_count: plan.chunks,
                }];
                let mut outcome = Ok(());
                let mut prepare = |piece: &RowPiece| {
                    if outcome.is_err() {
                        return;
                    }
                    outcome = (|| -> Result<()> {
                        let workgroups = if pass == RowPass::Combine {
                            rows
                        } else {
                            piece
                                .row_count
                                .div_ceil(u64::from(plan.config.rows_per_group))
                                * piece.chunk_count
                        };
                        let grid = dispatch_grid(workgroups, max_dim)?;
                        let params = RowParams {
                            n: geometry.n as u32,
                            inner: geometry.inner as u32,
                            row_first: piece.row_first as u32,
                            row_count: piece.row_count as u32,
                            chunk_first: piece.chunk_first as u32,
                            chunk_count: piece.chunk_count as u32,
                            total_chunks: plan.chunks as u32,
                            window: piece.window as u32,
                            stats_base: (rows * plan.chunks) as u32,
                            zero: 0,
                            pad1: 0,
                            pad2: 0,
                        };
                        let uniform = lock(&self.arena).slot(
                            &self.device,
                            &self.queue,
                            &block_of(&params),
                            bytemuck::bytes_of(&params),
                            &mut scope,
                        );
                        let window = |view: Option<TensorView<'_>>| -> Option<Bound> {
                            let view = view?;
                            if pass == RowPass::Combine {
                                return None;
                            }
                            let sub = view.sub(piece.window as usize, piece.window_len as usize);
                            Some(bound(sub, sub.word_len()))
                        };
                        let writes = matches!(pass, RowPass::Fused | RowPass::Normalize);
                        let key = BindGroupKey {
                            layout: LayoutKind::Row(RowLayout { pass, backward }),
                            uniform: uniform.buffer.clone(),
                            storage: [
                                window(reads[0]),
                                window(reads[1]),
                                if writes { window(Some(write)) } else { None },
                                scratch
                                    .as_ref()
                                    .filter(|_| pass != RowPass::Fused)
                                    .map(|buffer| Bound {
                                        buffer: buffer.clone(),
                                        offset: 0,
                                        size: scratch_bytes,
                                    }),
                                None,
                                None,
                            ],
                        };
                        let (bind_group, new_key) = self.bind_group(
                            key,
                            &layout,
                            &uniform,
                            std::mem::size_of::<RowParams>(),
                            cache,
                            &mut scope,
                        );
                        debug_assert!(piece.window * element <= write.byte_len());
                        items.push(Prepared {
                            bind_group,
                            offset: uniform.offset,
                            grid,
                            new_key,
                        });
                        Ok(())
                    })();
                };
                if pass == RowPass::Combine {
                    combine_piece.iter().for_each(&mut prepare);
                } else {
                    plan.pieces.for_each(&mut prepare);
                }
                outcome?;
                stages.push(Stage { pipeline, items });
            }
            Ok(())
        })();
        self.close_row(scope, outcome)?;
        if !new_pipelines.is_empty() {
            lock(&self.row.pipelines).extend(new_pipelines);
        }
        for stage in &stages {
            self.keep(&stage.items);
        }
        target.with_pass(op.name(), |pass| {
            for stage in &stages {
                pass.set_pipeline(&stage.pipeline);
                stage.items.for_each(|item| {
                    if item.grid.0 > 0 {
                        pass.set_bind_group(0, &item.bind_group, &[item.offset]);
                        pass.dispatch_workgroups(item.grid.0, item.grid.1, item.grid.2);
                    }
                });
            }
        });
        Ok(())
    }

    /// [`Kernels::close`], forgetting the row ops' modules and scratch too
    /// when the scope caught an error.
    fn close_row(&self, scope: Scope, outcome: Result<()>) -> Result<()> {
        let result = self.close(scope, outcome);
        if matches!(
            result,
            Err(ActivationError::Validation(_) | ActivationError::OutOfMemory(_))
        ) {
            lock(&self.row.modules).clear();
            *lock(&self.row.scratch) = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(outer: usize, n: usize, inner: usize) -> RowGeometry {
        RowGeometry { outer, n, inner }
    }

    fn choose_config_gpu(geometry: &RowGeometry, subgroup_min: u32) -> RowConfig {
        choose_config(geometry, subgroup_min, PER_THREAD_MAX)
    }

    #[test]
    fn cpu_budget_takes_fewer_lanes_per_row() {
        // dim 1 of [64, 512, 32, 32]: 8 lanes of 64 (3 exchange steps)
        // instead of 32 lanes of 16 (5).
        let c = choose_config(&geometry(64, 512, 1024), 8, PER_THREAD_MAX_CPU);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (32, 8, 64)
        );
        // A row of 4096 in one chunk of 64 lanes; 128 columns as on a GPU.
        let c = choose_config(&geometry(1, 4096, 1), 8, PER_THREAD_MAX_CPU);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (4, 64, 64)
        );
        let c = choose_config(&geometry(1, 128, 1), 8, PER_THREAD_MAX_CPU);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (32, 8, 16)
        );
        assert!([4, 8, 16, 32, 64].into_iter().all(valid_elements_per_lane));
        assert!(![0, 1, 2, 3, 12, 128]
            .into_iter()
            .any(valid_elements_per_lane));
    }

    fn pieces(plan: &RowPlan) -> Vec<RowPiece> {
        let mut out = Vec::new();
        plan.pieces.for_each(|p| out.push(*p));
        out
    }

    #[test]
    fn contiguous_rows_get_a_subgroup_each_where_they_fit() {
        let c = choose_config_gpu(&geometry(1, 128, 1), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (32, 8, 16)
        );
        let c = choose_config_gpu(&geometry(1, 128, 1), 32);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (8, 32, 4)
        );
        let c = choose_config_gpu(&geometry(1, 128, 1), 0);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (32, 8, 16)
        );
        let c = choose_config_gpu(&geometry(1, 3, 1), 32);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (256, 1, 4)
        );
        let c = choose_config_gpu(&geometry(1, 4096, 1), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (1, 256, 16)
        );
        let c = choose_config_gpu(&geometry(1, 4097, 1), 8);
        assert_eq!(c.chunk(), 4096);
        assert!(c.row_major);
    }

    #[test]
    fn strided_rows_are_grouped_by_neighbouring_columns() {
        let c = choose_config_gpu(&geometry(64, 512, 1024), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (8, 32, 16)
        );
        assert!(!c.row_major);
        let c = choose_config_gpu(&geometry(64, 3, 1024), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (256, 1, 4)
        );
        let c = choose_config_gpu(&geometry(1, 129, 3), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (16, 16, 16)
        );
        let c = choose_config_gpu(&geometry(2, 100_000, 3), 8);
        assert_eq!(
            (c.rows_per_group, c.threads_per_row, c.per_thread),
            (4, 64, 16)
        );
    }

    #[test]
    fn pieces_cover_every_row_and_chunk_once() {
        let shapes = [
            (geometry(3, 5, 7), 1 << 20, 64),
            (geometry(10, 1000, 1), 2500, 64),
            (geometry(10, 1000, 3), 7000, 16),
            (geometry(2, 100_000, 1), 20_000, 64),
            (geometry(2, 5000, 40), 40_000, 64),
            (geometry(1, 9, 3000), 9000, 4),
            (geometry(1, 40_000, 1), 5000, 64),
            (geometry(3, 70_000, 5), 20_000, 16),
            (geometry(2, 16_385, 1), 16_000, 64),
        ];
        // Every per-lane budget a caller may choose, with and without
        // subgroups.
        for (g, capacity, align) in shapes {
            for most in [4, 8, 16, 32, PER_THREAD_MAX_CPU] {
                for subgroup_min in [0, 8, 32] {
                    check_plan(g, subgroup_min, most, capacity, align);
                }
            }
        }
    }

    fn check_plan(g: RowGeometry, subgroup_min: u32, most: u32, capacity: u64, align: u64) {
        let plan = plan(g, subgroup_min, most, capacity, align).unwrap();
        assert!(plan.config.per_thread <= most, "{g:?}: {:?}", plan.config);
        assert_eq!(
            plan.config.rows_per_group * plan.config.threads_per_row,
            WORKGROUP_SIZE
        );
        let chunk = plan.config.chunk();
        assert_eq!(plan.chunks, (g.n as u64).div_ceil(chunk));
        let mut seen = std::collections::HashMap::new();
        for p in pieces(&plan) {
            assert!(p.window_len <= capacity, "{g:?}: {p:?}");
            assert_eq!(p.window % align, 0);
            for r in p.row_first..p.row_first + p.row_count {
                for c in p.chunk_first..p.chunk_first + p.chunk_count {
                    *seen.entry((r, c)).or_insert(0) += 1;
                    // Every element of (row, chunk) is inside the window.
                    let (inner, n) = (g.inner as u64, g.n as u64);
                    let base = (r / inner) * n * inner + r % inner;
                    for j in [c * chunk, ((c + 1) * chunk).min(n) - 1] {
                        let i = base + j * inner;
                        assert!(
                            i >= p.window && i < p.window + p.window_len,
                            "{g:?} {p:?} {r} {c}"
                        );
                    }
                }
            }
        }
        assert_eq!(seen.len() as u64, g.rows() as u64 * plan.chunks, "{g:?}");
        assert!(seen.values().all(|&v| v == 1));
    }

    #[test]
    fn contiguous_rows_of_whole_vectors_are_loaded_4_at_a_time() {
        let vector = |g: RowGeometry, most: u32, capacity: u64, align: u64| {
            plan(g, 8, most, capacity, align).unwrap().config.vector
        };
        let big = 1 << 30;
        // Rows of 128, 4096 (fused) and 131072 (chunked).
        for n in [4, 8, 128, 4096, 131_072] {
            for most in [4, 16, 64] {
                assert!(vector(geometry(3, n, 1), most, big, 64), "{n} {most}");
            }
        }
        // A length that is not a multiple of 4, strided rows.
        assert!(!vector(geometry(3, 127, 1), 64, big, 64));
        assert!(!vector(geometry(3, 2, 1), 64, big, 64));
        assert!(!vector(geometry(3, 128, 5), 64, big, 64));
        assert!(!vector(geometry(3, 128, 4), 64, big, 64));
        // Rows split over bindings (at offsets of 64 or 2 elements: windows
        // of whole vectors either way), or a budget cut below 4 to fit them.
        assert!(vector(geometry(3, 3000, 1), 64, 2048, 64));
        assert!(vector(geometry(3, 3000, 1), 64, 2048, 2));
        assert!(!vector(geometry(1, 16, 1), 64, 6, 2));
    }

    #[test]
    fn a_slice_larger_than_any_binding_is_refused() {
        assert!(matches!(
            plan(geometry(2, 4, 5000), 8, PER_THREAD_MAX, 4096, 4),
            Err(ActivationError::TooLarge { .. })
        ));
    }
}

//! Recording of the gated ops (glu, silu_and_mul, ...) into a caller's
//! encoder or pass (private; [`crate::GpuContext`] is the way in).
//!
//! One thread per output element. A tensor larger than one storage binding
//! is cut into pieces: whole blocks of pairs of halves (the elements from
//! the split dimension on) for joined halves, any range for two tensors,
//! each bound as windows of at most one binding. A block larger than one
//! binding is refused with a clear error. Everything is checked and made in
//! one error scope before anything is recorded.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{
    block_of, bound, dispatch_grid, lock, storage_entry, uniform_entry, BindGroupKey, Kernels,
    LayoutKind, Prepared, Scope, SmallList, Target,
};
use crate::error::{ActivationError, Result};
use crate::gated::{GatedActivation, GatedGeometry};
use crate::shaders::gated::{gated_module, GatedModuleKey, GatedParams};
use crate::shaders::{self, WORKGROUP_SIZE};
use crate::shape::element_count;
use crate::tensor::DType;
use crate::view::TensorView;

/// The two halves of a gated op's input (or of its gradient): one tensor
/// holding both along the split dimension, or two tensors of the output's
/// shape.
#[derive(Debug, Clone, Copy)]
pub enum GatedHalves<'a> {
    /// One tensor of the input's shape (the split dimension of even size).
    Joined(TensorView<'a>),
    /// The halves apart: `first` is `x[..., :d]` (the gate of the
    /// `*_and_mul` ops, glu's `a`), `second` is `x[..., d:]`; each of the
    /// output's shape.
    Split {
        /// The first half.
        first: TensorView<'a>,
        /// The second half.
        second: TensorView<'a>,
    },
}

impl GatedHalves<'_> {
    /// The element type of the (first) view.
    pub fn dtype(&self) -> DType {
        match self {
            GatedHalves::Joined(v) | GatedHalves::Split { first: v, .. } => v.dtype(),
        }
    }
}

/// The buffers of one gated op forward, recorded with
/// [`crate::GpuContext::encode_gated_forward`].
#[derive(Debug, Clone, Copy)]
pub struct GatedForwardBuffers<'a> {
    /// The input: joined halves, or the two halves apart.
    pub input: GatedHalves<'a>,
    /// Where the output is written (the output's shape); a different buffer
    /// from the input's.
    pub output: TensorView<'a>,
}

/// The buffers of one gated op backward, recorded with
/// [`crate::GpuContext::encode_gated_backward`].
#[derive(Debug, Clone, Copy)]
pub struct GatedBackwardBuffers<'a> {
    /// The forward's input.
    pub input: GatedHalves<'a>,
    /// The gradient of the loss with respect to the forward's output (the
    /// output's shape).
    pub grad_output: TensorView<'a>,
    /// Where the gradient for the input is written, laid out as `input`
    /// (joined, or two halves); buffers distinct from the others.
    pub grad_input: GatedHalves<'a>,
}

/// The buffers of one fused gated forward, recorded with
/// [`crate::GpuContext::encode_gated_forward_fused`]: `output = op(input +
/// bias[c]) + residual`, the bias (a linear layer's, of the joined `[gate |
/// up]` projection) added to both halves before the op, `c` each input
/// element's index along `bias_dim`; the residual (the output's shape) added
/// to the result. Each part is optional.
#[derive(Debug, Clone, Copy)]
pub struct GatedFusedForwardBuffers<'a> {
    /// The input, both halves joined along the op's dimension.
    pub input: TensorView<'a>,
    /// Where the output is written (the output's shape): a different buffer
    /// from every other view.
    pub output: TensorView<'a>,
    /// A bias of `shape[bias_dim]` values (the input's shape).
    pub bias: Option<TensorView<'a>>,
    /// The dimension of the input the bias runs along; negative counts from
    /// the end (-1: the joined projection's features).
    pub bias_dim: i64,
    /// A tensor of the output's shape added to the op's result.
    pub residual: Option<TensorView<'a>>,
}

/// The buffers of one fused gated backward, recorded with
/// [`crate::GpuContext::encode_gated_backward_fused`]: the input's gradient
/// at `input + bias[c]` (both halves, joined) and, if wanted, the bias's:
/// the sum of the input's gradient over each channel, in a fixed order.
#[derive(Debug, Clone, Copy)]
pub struct GatedFusedBackwardBuffers<'a> {
    /// The forward's input, both halves joined.
    pub input: TensorView<'a>,
    /// The gradient of the loss with respect to the output (its shape).
    pub grad_output: TensorView<'a>,
    /// Where the input's gradient is written (the input's shape).
    pub grad_input: TensorView<'a>,
    /// The forward's bias, if it had one.
    pub bias: Option<TensorView<'a>>,
    /// The dimension of the input the bias runs along.
    pub bias_dim: i64,
    /// Where the bias's gradient is written (`shape[bias_dim]` values), if
    /// wanted; needs `bias`.
    pub grad_bias: Option<TensorView<'a>>,
}

/// The bind group layout of a gated kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GatedLayout {
    joined: bool,
    backward: bool,
    /// The fused bias at binding 6.
    bias: bool,
    /// The fused residual at binding 3 (forward).
    residual: bool,
}

impl GatedLayout {
    pub(super) fn uniform_size(self) -> usize {
        std::mem::size_of::<GatedParams>()
    }

    /// 1: the input (joined) or first half; 2: the second half; 3: the
    /// output's gradient (backward) or the residual (forward); 4: the output,
    /// the joined gradient or the first half's; 5: the second half's
    /// gradient; 6: the bias.
    pub(super) fn entries(self) -> Vec<wgpu::BindGroupLayoutEntry> {
        let mut entries = vec![uniform_entry(self.uniform_size()), storage_entry(1, true)];
        if !self.joined {
            entries.push(storage_entry(2, true));
        }
        if self.backward || self.residual {
            entries.push(storage_entry(3, true));
        }
        entries.push(storage_entry(4, false));
        if self.backward && !self.joined {
            entries.push(storage_entry(5, false));
        }
        if self.bias {
            entries.push(storage_entry(6, true));
        }
        entries
    }
}

/// The gated ops' pipelines, by module key.
#[derive(Default)]
pub(crate) struct GatedCaches {
    pipelines: Mutex<HashMap<GatedModuleKey, wgpu::ComputePipeline>>,
}

/// One dispatch: output elements `first_output..first_output + len`, and
/// the windows bound (global element indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GatedPiece {
    first_output: u64,
    len: u64,
    /// Joined input window: start and length.
    in_window: (u64, u64),
    /// Output-shaped window: start and length.
    out_window: (u64, u64),
}

/// Cuts the op into pieces whose windows hold at most `capacity` elements
/// and start at multiples of `align` elements. `geometry` is `None` for
/// halves given apart (`total` output elements).
fn plan(
    geometry: Option<GatedGeometry>,
    total: u64,
    capacity: u64,
    align: u64,
) -> Result<Vec<GatedPiece>> {
    let mut pieces = Vec::new();
    let window = |start: u64, end: u64| {
        let start_aligned = start - start % align;
        (start_aligned, end - start_aligned)
    };
    match geometry {
        None => {
            let step = (capacity - align).max(1);
            let mut o = 0;
            while o < total {
                let len = step.min(total - o);
                pieces.push(GatedPiece {
                    first_output: o,
                    len,
                    in_window: (0, 0),
                    out_window: window(o, o + len),
                });
                o += len;
            }
        }
        Some(geometry) => {
            let h = geometry.half_block() as u64;
            let outer = geometry.outer as u64;
            if 2 * h + align > capacity {
                return Err(ActivationError::TooLarge {
                    what: "gated op: one pair of halves (the elements from the split dimension on)",
                    len: 2 * h,
                    max: capacity.saturating_sub(align),
                });
            }
            let per_piece = (capacity - align) / (2 * h);
            let mut p = 0;
            while p < outer {
                let k = per_piece.min(outer - p);
                pieces.push(GatedPiece {
                    first_output: p * h,
                    len: k * h,
                    in_window: window(2 * h * p, 2 * h * (p + k)),
                    out_window: window(h * p, h * (p + k)),
                });
                p += k;
            }
        }
    }
    Ok(pieces)
}

impl Kernels {
    /// Checks the input halves (and the gradient's, with `what`), returning
    /// the geometry (joined) and the output's element count.
    fn check_halves(
        &self,
        op: &GatedActivation,
        shape: &[usize],
        halves: &GatedHalves<'_>,
        names: [&'static str; 2],
        dtype: DType,
    ) -> Result<(Option<GatedGeometry>, usize)> {
        let len = element_count(shape)?;
        Self::check_len(len, 0)?;
        match halves {
            GatedHalves::Joined(view) => {
                let geometry = op.geometry(shape)?;
                self.check_view(names[0], view, len, dtype)?;
                Ok((Some(geometry), geometry.output_len()))
            }
            GatedHalves::Split { first, second } => {
                self.check_view(names[0], first, len, dtype)?;
                self.check_view(names[1], second, len, dtype)?;
                Ok((None, len))
            }
        }
    }

    pub(crate) fn encode_gated_forward(
        &self,
        target: &mut Target<'_, '_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedForwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        let (geometry, out_len) =
            self.check_halves(op, shape, &buffers.input, ["input", "second"], dtype)?;
        self.check_view("output", &buffers.output, out_len, dtype)?;
        let reads = halves_list(&buffers.input, ["input", "second"]);
        Self::check_distinct(("output", &buffers.output), &reads)?;
        let (first, second) = split(&buffers.input);
        self.encode_gated(
            target,
            op,
            geometry,
            out_len as u64,
            false,
            [Some(first), second, None, Some(buffers.output), None],
            None,
            cache,
        )
    }

    pub(crate) fn encode_gated_forward_fused(
        &self,
        target: &mut Target<'_, '_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedForwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        let input = GatedHalves::Joined(buffers.input);
        let (geometry, out_len) = self.check_halves(op, shape, &input, ["input", ""], dtype)?;
        self.check_view("output", &buffers.output, out_len, dtype)?;
        let bias = self.check_bias(buffers.bias, buffers.bias_dim, shape, dtype)?;
        if let Some(residual) = &buffers.residual {
            self.check_view("residual", residual, out_len, dtype)?;
        }
        Self::check_distinct(
            ("output", &buffers.output),
            &[
                Some(("input", &buffers.input)),
                buffers.bias.as_ref().map(|b| ("bias", b)),
                buffers.residual.as_ref().map(|r| ("residual", r)),
            ],
        )?;
        self.encode_gated(
            target,
            op,
            geometry,
            out_len as u64,
            false,
            [
                Some(buffers.input),
                None,
                buffers.residual,
                Some(buffers.output),
                None,
            ],
            bias,
            cache,
        )
    }

    pub(crate) fn encode_gated_backward_fused(
        &self,
        target: &mut Target<'_, '_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedFusedBackwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        let input = GatedHalves::Joined(buffers.input);
        let (geometry, out_len) = self.check_halves(op, shape, &input, ["input", ""], dtype)?;
        self.check_view("grad_output", &buffers.grad_output, out_len, dtype)?;
        let len = element_count(shape)?;
        self.check_view("grad_input", &buffers.grad_input, len, dtype)?;
        let bias = self.check_bias(buffers.bias, buffers.bias_dim, shape, dtype)?;
        let grad_bias = self.check_grad_bias(op.name(), buffers.grad_bias, bias, dtype)?;
        let reads = [
            Some(("input", &buffers.input)),
            Some(("grad_output", &buffers.grad_output)),
            buffers.bias.as_ref().map(|b| ("bias", b)),
        ];
        Self::check_distinct(("grad_input", &buffers.grad_input), &reads)?;
        if let Some((view, _, _)) = &grad_bias {
            Self::check_distinct(
                ("grad_bias", view),
                &[
                    reads[0],
                    reads[1],
                    reads[2],
                    Some(("grad_input", &buffers.grad_input)),
                ],
            )?;
        }
        self.encode_gated(
            target,
            op,
            geometry,
            out_len as u64,
            true,
            [
                Some(buffers.input),
                None,
                Some(buffers.grad_output),
                Some(buffers.grad_input),
                None,
            ],
            bias,
            cache,
        )?;
        self.encode_bias_grad(target, buffers.grad_input, grad_bias, cache)
    }

    pub(crate) fn encode_gated_backward(
        &self,
        target: &mut Target<'_, '_>,
        op: &GatedActivation,
        shape: &[usize],
        buffers: &GatedBackwardBuffers<'_>,
        cache: bool,
    ) -> Result<()> {
        op.validate()?;
        let dtype = buffers.input.dtype();
        self.check_dtype(dtype)?;
        let (geometry, out_len) =
            self.check_halves(op, shape, &buffers.input, ["input", "second"], dtype)?;
        self.check_view("grad_output", &buffers.grad_output, out_len, dtype)?;
        match (&buffers.input, &buffers.grad_input) {
            (GatedHalves::Joined(_), GatedHalves::Joined(_))
            | (GatedHalves::Split { .. }, GatedHalves::Split { .. }) => {}
            _ => {
                return Err(ActivationError::Unsupported {
                    op: op.name(),
                    what: "grad_input must be laid out as the input: joined halves for a joined \
                           input, two halves for two halves",
                })
            }
        }
        self.check_halves(
            op,
            shape,
            &buffers.grad_input,
            ["grad_input", "grad_second"],
            dtype,
        )?;
        let mut reads = halves_list(&buffers.input, ["input", "second"]);
        reads.push(Some(("grad_output", &buffers.grad_output)));
        for written in halves_list(&buffers.grad_input, ["grad_input", "grad_second"])
            .into_iter()
            .flatten()
        {
            Self::check_distinct(written, &reads)?;
        }
        if let GatedHalves::Split { first, second } = &buffers.grad_input {
            if first.overlaps(second) {
                return Err(ActivationError::AliasedBuffers {
                    written: "grad_second",
                    other: "grad_input",
                });
            }
        }
        let (first, second) = split(&buffers.input);
        let (grad_first, grad_second) = split(&buffers.grad_input);
        self.encode_gated(
            target,
            op,
            geometry,
            out_len as u64,
            true,
            [
                Some(first),
                second,
                Some(buffers.grad_output),
                Some(grad_first),
                grad_second,
            ],
            None,
            cache,
        )
    }

    /// The pipeline of `key`, created (in `scope`) on first use, with its
    /// bind group layout; `true` if it was created now.
    fn gated_pipeline(
        &self,
        op: &GatedActivation,
        key: GatedModuleKey,
        scope: &mut Scope,
    ) -> (wgpu::BindGroupLayout, wgpu::ComputePipeline, bool) {
        let kind = LayoutKind::Gated(GatedLayout {
            joined: key.joined,
            backward: key.backward,
            bias: key.bias,
            residual: key.residual,
        });
        if let Some(pipeline) = lock(&self.gated.pipelines).get(&key) {
            return (self.layout(kind).0, pipeline.clone(), false);
        }
        scope.open(&self.device);
        let (bind_group_layout, pipeline_layout) = self.layout(kind);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("wgpu-activations gated op"),
                source: wgpu::ShaderSource::Wgsl(gated_module(op, &key).into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(op.name()),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        (bind_group_layout, pipeline, true)
    }

    /// Records a gated op over checked views: `views` are bindings 1 to 5
    /// (first or joined input, second, grad_output or the forward's
    /// residual, output or first gradient, second gradient); `bias`: the
    /// fused bias with its channels and channel block (binding 6, bound
    /// whole).
    #[allow(clippy::too_many_arguments)]
    fn encode_gated(
        &self,
        target: &mut Target<'_, '_>,
        op: &GatedActivation,
        geometry: Option<GatedGeometry>,
        out_len: u64,
        backward: bool,
        views: [Option<TensorView<'_>>; 5],
        bias: Option<(TensorView<'_>, u32, u32)>,
        cache: bool,
    ) -> Result<()> {
        if out_len == 0 {
            return Ok(());
        }
        let dtype = views[0].map_or(DType::F32, |v| v.dtype());
        let joined = geometry.is_some();
        let residual = !backward && views[2].is_some();
        let (capacity, align) = self.binding_elements(dtype);
        let pieces = plan(geometry, out_len, capacity, align)?;
        let key =
            GatedModuleKey::of(op, dtype, joined, backward).with_epilogue(bias.is_some(), residual);
        let layout_kind = LayoutKind::Gated(GatedLayout {
            joined,
            backward,
            bias: bias.is_some(),
            residual,
        });
        let (bias_channels, bias_inner) = bias.map_or((1, 1), |(_, c, i)| (c, i));
        let (bias_inner_magic, bias_inner_shifts) = shaders::division_magic(bias_inner);
        let (bias_channels_magic, bias_channels_shifts) = shaders::division_magic(bias_channels);
        let args = op.activation().kernel_args();
        let half = geometry.map_or(0, |g| g.half_block() as u64);
        let (half_magic, half_shifts) = shaders::division_magic(half as u32);
        let max_dim = self.limits.max_compute_workgroups_per_dimension;
        let mut scope = Scope::default();
        let (layout, pipeline, new_pipeline) = self.gated_pipeline(op, key, &mut scope);
        let mut prepared = SmallList::new();
        let outcome = (|| -> Result<()> {
            for piece in &pieces {
                let workgroups = piece.len.div_ceil(u64::from(WORKGROUP_SIZE));
                let grid = dispatch_grid(workgroups, max_dim)?;
                let params = GatedParams {
                    len: piece.len as u32,
                    first_output: piece.first_output as u32,
                    half: half as u32,
                    in_window: piece.in_window.0 as u32,
                    out_window: piece.out_window.0 as u32,
                    p0: args.scalars[0],
                    p1: args.scalars[1],
                    p2: args.scalars[2],
                    p3: args.scalars[3],
                    bias_channels,
                    bias_inner,
                    half_magic,
                    half_shifts,
                    bias_inner_magic,
                    bias_channels_magic,
                    bias_shifts: bias_inner_shifts | (bias_channels_shifts << 16),
                };
                let uniform = lock(&self.arena).slot(
                    &self.device,
                    &self.queue,
                    &block_of(&params),
                    bytemuck::bytes_of(&params),
                    &mut scope,
                );
                // Bindings 1 and 4 hold the joined halves (input, gradient)
                // where joined; the others are output-shaped.
                let window = |slot: usize| {
                    let view = views[slot]?;
                    let joined_slot = joined && (slot == 0 || (slot == 3 && backward));
                    let (start, len) = if joined_slot {
                        piece.in_window
                    } else {
                        piece.out_window
                    };
                    let sub = view.sub(start as usize, len as usize);
                    Some(bound(sub, sub.word_len()))
                };
                let key = BindGroupKey {
                    layout: layout_kind,
                    uniform: uniform.buffer.clone(),
                    storage: [
                        window(0),
                        window(1),
                        window(2),
                        window(3),
                        window(4),
                        bias.map(|(view, _, _)| bound(view, view.word_len())),
                    ],
                };
                let (bind_group, new_key) = self.bind_group(
                    key,
                    &layout,
                    &uniform,
                    std::mem::size_of::<GatedParams>(),
                    cache,
                    &mut scope,
                );
                prepared.push(Prepared {
                    bind_group,
                    offset: uniform.offset,
                    grid,
                    new_key,
                });
            }
            Ok(())
        })();
        self.close(scope, outcome)?;
        if new_pipeline {
            lock(&self.gated.pipelines).insert(key, pipeline.clone());
        }
        self.keep(&prepared);
        target.with_pass(op.name(), |pass| {
            pass.set_pipeline(&pipeline);
            prepared.for_each(|item| {
                pass.set_bind_group(0, &item.bind_group, &[item.offset]);
                pass.dispatch_workgroups(item.grid.0, item.grid.1, item.grid.2);
            });
        });
        Ok(())
    }
}

/// The views of `halves` with their names, for the aliasing checks.
fn halves_list<'v, 'a>(
    halves: &'v GatedHalves<'a>,
    names: [&'static str; 2],
) -> Vec<Option<(&'static str, &'v TensorView<'a>)>> {
    match halves {
        GatedHalves::Joined(view) => vec![Some((names[0], view))],
        GatedHalves::Split { first, second } => {
            vec![Some((names[0], first)), Some((names[1], second))]
        }
    }
}

/// The first (or joined) view and the second, if apart.
fn split<'a>(halves: &GatedHalves<'a>) -> (TensorView<'a>, Option<TensorView<'a>>) {
    match *halves {
        GatedHalves::Joined(view) => (view, None),
        GatedHalves::Split { first, second } => (first, Some(second)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hold_whole_blocks_and_cover_everything_once() {
        for (outer, half, inner, capacity, align) in [
            (3usize, 5usize, 7usize, 1u64 << 20, 64u64),
            (100, 10, 1, 500, 64),
            (7, 3, 11, 200, 4),
            (1000, 1, 1, 70, 64),
        ] {
            let g = GatedGeometry { outer, half, inner };
            let pieces = plan(Some(g), g.output_len() as u64, capacity, align).unwrap();
            let h = g.half_block() as u64;
            let mut next = 0;
            for p in &pieces {
                assert_eq!(p.first_output, next);
                assert_eq!(p.first_output % h, 0);
                assert_eq!(p.len % h, 0);
                assert!(p.in_window.1 <= capacity && p.out_window.1 <= capacity);
                assert_eq!(p.in_window.0 % align, 0);
                assert_eq!(p.out_window.0 % align, 0);
                // The first and last pairs lie inside the windows.
                let first = p.first_output + (p.first_output / h) * h;
                let last_o = p.first_output + p.len - 1;
                let last = last_o + (last_o / h) * h + h;
                assert!(first >= p.in_window.0 && last < p.in_window.0 + p.in_window.1);
                assert!(last_o < p.out_window.0 + p.out_window.1);
                next += p.len;
            }
            assert_eq!(next, g.output_len() as u64);
        }
        for (total, capacity, align) in [(10u64, 1u64 << 20, 64u64), (1000, 100, 64)] {
            let pieces = plan(None, total, capacity, align).unwrap();
            assert_eq!(pieces.iter().map(|p| p.len).sum::<u64>(), total);
            assert!(pieces.iter().all(|p| p.out_window.1 <= capacity));
        }
    }

    #[test]
    fn a_block_larger_than_a_binding_is_refused() {
        let g = GatedGeometry {
            outer: 2,
            half: 100,
            inner: 1,
        };
        assert!(matches!(
            plan(Some(g), 200, 150, 4),
            Err(ActivationError::TooLarge { .. })
        ));
    }
}

//! The floor under issue 12's speed targets on this adapter: plain softmax
//! and log_softmax kernels, forward and backward, over the four shapes, written the
//! way a framework without accuracy promises writes them, against the
//! library's identity kernel over the same bytes, with the library's softmax
//! beside each, timed in alternation in one run (as `benches/softmax.rs`:
//! the forward against the identity forward, the backward against the
//! identity backward, which moves three tensors).
//!
//! The plain kernels keep the library's row layout (workgroups of 256
//! lanes; lanes of a row interleaved so that neighbouring lanes read
//! neighbouring addresses; the rows of a group adjacent along a strided
//! dimension; the same lanes per row and elements per lane as the library
//! picks on this adapter at its default budget), in two forms: loading one element at a time,
//! and loading `vec4`s (4 neighbouring elements of a row where rows are
//! contiguous, as the library does where the row length is a multiple of 4;
//! the same element of 4 neighbouring rows where they are strided, which the
//! library does not do), and the library's passes (one fused pass where a row fits
//! a workgroup, chunk statistics then a normalizing pass where it does
//! not), and drop everything the library adds for accuracy and for
//! arbitrary shapes: the builtin `exp` (WGSL's 3 + 2|x| ulps) instead of
//! the library's, plain f32 sums instead of double-f32 ones, `x - max`
//! without its rounding error, the builtin `max` (indeterminate on NaN), no
//! special values, and the shape in constants (no bounds checks: the
//! shapes are whole tiles), the lane loops written out. Reductions: subgroup
//! shuffles between the lanes of a row that share a subgroup, then one
//! barrier and the subgroups' partial results read from workgroup memory.
//!
//! The plain kernels are a reference, not a strict bound (runs are noisy,
//! and the library can beat them where their simpler passes cost more): a
//! target the plain kernel misses by more than the noise is out of reach of
//! this layout on those builtins on this adapter; the last column is what the
//! library's numerics cost over the plain kernel that loads as the library
//! does (vec4 along contiguous rows, scalar along strided ones). Each plain kernel's output is checked
//! against the library's before timing.
//!
//! A bench, not a test: `cargo bench --bench softmax_floor`. Environment:
//! `BENCH_REPEATS` (default 7), `BENCH_SHAPES` (indices into the four
//! shapes, as in `benches/softmax.rs`), `WGPU_BACKEND` /
//! `WGPU_ADAPTER_NAME`.

use std::fmt::Write as _;
use std::time::Duration;

mod common;
use common::{env_or, time_against};

use common::RowTensors;
use wgpu_activations::{GpuContext, GpuTensor, RowActivation};

/// Ops per timed submission, as in `benches/softmax.rs`.
const OPS_PER_SUBMISSION: usize = 4;
const WORKGROUP_SIZE: u32 = 256;

/// A shape as the plain kernels see it: `rows` rows of `n` elements, element
/// `j` of row `r` at `(r / inner) * n * inner + r % inner + j * inner`, with
/// `lanes` lanes per row making `loads` loads of `unit` elements each
/// (`unit` 4: `vec4<f32>` loads, of 4 neighbouring elements of a row where
/// rows are contiguous, of the same element of 4 neighbouring rows where
/// they are strided), and `chunks` workgroups per row.
#[derive(Clone, Copy)]
struct Layout {
    n: u32,
    inner: u32,
    rows: u32,
    lanes: u32,
    loads: u32,
    unit: u32,
    chunks: u32,
    /// Lanes of the subgroup (the adapter's smallest; 1: no subgroups).
    subgroup: u32,
}

impl Layout {
    /// The library's choice at `most` elements per lane (the adapter's
    /// default budget: 64 on a CPU adapter, 16 otherwise) for the
    /// issue's shapes (`(outer, n, inner)`), loading `unit` elements at once
    /// (the same elements per lane: where strided rows are loaded 4 at a
    /// time, 4 times the lanes per row).
    fn new(outer: u32, n: u32, inner: u32, subgroup: u32, most: u32, unit: u32) -> Layout {
        let lanes = if inner > 1 {
            n.div_ceil(most).next_power_of_two()
        } else {
            let fewest = n.div_ceil(most).next_power_of_two();
            let preferred = n.div_ceil(4).next_power_of_two().min(subgroup.max(1));
            fewest.max(preferred).min(WORKGROUP_SIZE)
        };
        let per_lane = n.div_ceil(lanes).next_power_of_two().min(most);
        let lanes = if inner > 1 { lanes * unit } else { lanes };
        let loads = per_lane / unit;
        let mut layout = Layout {
            n,
            inner,
            rows: outer * inner,
            lanes,
            loads,
            unit,
            chunks: 1,
            subgroup,
        };
        layout.chunks = layout.row_loads().div_ceil(lanes * loads);
        layout
    }

    fn contiguous(&self) -> bool {
        self.inner == 1
    }

    /// Loads along a row (contiguous) or a row of `unit` rows (strided).
    fn row_loads(&self) -> u32 {
        if self.contiguous() {
            self.n / self.unit
        } else {
            self.n
        }
    }

    /// Rows as the kernel counts them (strided: groups of `unit` rows).
    fn kernel_rows(&self) -> u32 {
        if self.contiguous() {
            self.rows
        } else {
            self.rows / self.unit
        }
    }

    /// `inner` in loads.
    fn kernel_inner(&self) -> u32 {
        if self.contiguous() {
            1
        } else {
            self.inner / self.unit
        }
    }

    fn rows_per_group(&self) -> u32 {
        WORKGROUP_SIZE / self.lanes
    }

    /// Workgroups of one pass over the whole tensor.
    fn workgroups(&self) -> u32 {
        self.kernel_rows() / self.rows_per_group() * self.chunks
    }

    /// Whether the plain kernels cover this shape exactly (whole tiles,
    /// whole chunks, one row of workgroups, whole loads).
    fn is_whole(&self) -> bool {
        self.lanes <= WORKGROUP_SIZE
            && self.kernel_rows().is_multiple_of(self.rows_per_group())
            && self.row_loads().is_multiple_of(self.lanes * self.loads)
            && self.workgroups() <= 65_535
            && (self.contiguous() || self.inner.is_multiple_of(self.unit))
            && (self.contiguous() || self.chunks == 1)
            && (!self.contiguous() || self.n.is_multiple_of(self.unit))
    }

    /// The type of a load and of what is reduced: one row's value where rows
    /// are contiguous, `unit` rows' values where they are strided.
    fn load_type(&self) -> &'static str {
        if self.unit == 4 {
            "vec4<f32>"
        } else {
            "f32"
        }
    }

    fn reduced_type(&self) -> &'static str {
        if self.contiguous() {
            "f32"
        } else {
            self.load_type()
        }
    }

    /// Distance, in lanes, between the lanes of a row, and how many of a
    /// row's lanes share a subgroup (reduced by shuffles before the barrier).
    fn stride_and_span(&self) -> (u32, u32) {
        let stride = if self.contiguous() {
            1
        } else {
            self.rows_per_group()
        };
        let span = if self.subgroup <= 1 {
            1
        } else {
            (self.subgroup / stride).clamp(1, self.lanes)
        };
        (stride, span)
    }
}

/// What a plain module computes.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    /// The whole row in one pass.
    Fused,
    /// Each chunk's statistics to `scratch`.
    Partials,
    /// The output from the chunk statistics.
    Normalize,
}

/// `reduce_<name>(v, lane)`: `combine` over the lanes of the row.
fn reduction(layout: &Layout, name: &str, combine: &str) -> String {
    let (stride, span) = layout.stride_and_span();
    let t = layout.reduced_type();
    let mut body = String::from("    var r = v;\n");
    let mut mask = 1;
    while mask < span {
        let _ = writeln!(
            body,
            "    r = {combine}(r, subgroupShuffleXor(r, {}u));",
            mask * stride
        );
        mask *= 2;
    }
    if span < layout.lanes {
        let first = if layout.contiguous() {
            format!("lane & ~{}u", layout.lanes - 1)
        } else {
            format!("lane % {}u", layout.rows_per_group())
        };
        let _ = writeln!(
            body,
            "    share_{name}[lane] = r;\n    workgroupBarrier();\n    let first = {first};\n    r = share_{name}[first];"
        );
        for i in 1..layout.lanes / span {
            let _ = writeln!(
                body,
                "    r = {combine}(r, share_{name}[first + {}u]);",
                i * span * stride
            );
        }
    }
    format!(
        "var<workgroup> share_{name}: array<{t}, {WORKGROUP_SIZE}>;\n\
         fn reduce_{name}(v: {t}, lane: u32) -> {t} {{\n{body}    return r;\n}}\n"
    )
}

/// The plain module of one pass of softmax forward or backward.
/// `log`: log_softmax (forward `x - max - log(sum)`, backward `g - exp(y) sum(g)`).
fn plain_source(layout: &Layout, log: bool, backward: bool, pass: Pass) -> String {
    let Layout {
        lanes,
        loads,
        chunks,
        ..
    } = *layout;
    let rows_per_group = layout.rows_per_group();
    let (ty, reduced) = (layout.load_type(), layout.reduced_type());
    let inner = layout.kernel_inner();
    // (naga takes subgroup operations without `enable subgroups;`, which it
    // does not parse yet; the device's SUBGROUP feature allows them.)
    let mut s = String::new();
    let _ = writeln!(
        s,
        "@group(0) @binding(0) var<storage, read> src: array<{ty}>;"
    );
    if pass != Pass::Partials {
        let _ = writeln!(
            s,
            "@group(0) @binding(1) var<storage, read_write> dst: array<{ty}>;"
        );
    }
    if backward {
        let _ = writeln!(
            s,
            "@group(0) @binding(2) var<storage, read> grad: array<{ty}>;"
        );
    }
    if pass != Pass::Fused {
        let access = if pass == Pass::Partials {
            "read_write"
        } else {
            "read"
        };
        let _ = writeln!(
            s,
            "@group(0) @binding(3) var<storage, {access}> scratch: array<vec2<f32>>;"
        );
    }
    s.push_str(&reduction(layout, "max", "max"));
    s.push_str(&reduction(layout, "add", "add"));
    let _ = writeln!(
        s,
        "fn add(a: {reduced}, b: {reduced}) -> {reduced} {{ return a + b; }}"
    );
    // A lane's values folded to what is reduced: contiguous vec4 loads hold
    // 4 elements of one row.
    if layout.contiguous() && layout.unit == 4 {
        s.push_str(
            "fn fold_max(v: vec4<f32>) -> f32 { return max(max(v.x, v.y), max(v.z, v.w)); }\n\
             fn fold_add(v: vec4<f32>) -> f32 { return (v.x + v.y) + (v.z + v.w); }\n",
        );
    } else {
        let _ = writeln!(
            s,
            "fn fold_max(v: {ty}) -> {ty} {{ return v; }}\nfn fold_add(v: {ty}) -> {ty} {{ return v; }}"
        );
    }
    let (slot, thread) = if layout.contiguous() {
        (format!("lane / {lanes}u"), format!("lane % {lanes}u"))
    } else {
        (
            format!("lane % {rows_per_group}u"),
            format!("lane / {rows_per_group}u"),
        )
    };
    let _ = write!(
        s,
        "@compute @workgroup_size({WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lane: u32) {{
    let tile = group.x / {chunks}u;
    let chunk = group.x % {chunks}u;
    let thread = {thread};
    let row = tile * {rows_per_group}u + {slot};
    let base = (row / {inner}u) * {block}u + row % {inner}u + (chunk * {chunk_len}u + thread) * {inner}u;
",
        block = layout.row_loads() * inner,
        chunk_len = lanes * loads,
    );
    let step = lanes * inner;
    let each = |s: &mut String, line: &dyn Fn(u32) -> String| {
        for k in 0..loads {
            s.push_str("    ");
            s.push_str(&line(k));
            s.push('\n');
        }
    };
    let statistics = format!("let stats = row * {chunks}u;");
    if !backward {
        if pass == Pass::Normalize {
            let _ = writeln!(s, "    {statistics}\n    var m = scratch[stats].x;");
            for c in 1..chunks {
                let _ = writeln!(s, "    m = max(m, scratch[stats + {c}u].x);");
            }
            s.push_str("    var total = 0.0;\n");
            for c in 0..chunks {
                let _ = writeln!(
                    s,
                    "    total = total + scratch[stats + {c}u].y * exp(scratch[stats + {c}u].x - m);"
                );
            }
            s.push_str("    let inverse = 1.0 / total;\n    let shift = m + log(total);\n");
            each(&mut s, &|k| {
                if log {
                    format!("dst[base + {o}u] = src[base + {o}u] - shift;", o = k * step)
                } else {
                    format!(
                        "dst[base + {o}u] = exp(src[base + {o}u] - m) * inverse;",
                        o = k * step
                    )
                }
            });
        } else {
            each(&mut s, &|k| {
                format!("let x{k} = src[base + {}u];", k * step)
            });
            s.push_str("    var lane_max = x0;\n");
            each(&mut s, &|k| format!("lane_max = max(lane_max, x{k});"));
            s.push_str("    let m = reduce_max(fold_max(lane_max), lane);\n");
            let _ = writeln!(s, "    var lane_total = {ty}(0.0);");
            each(&mut s, &|k| {
                format!("let e{k} = exp(x{k} - m);\n    lane_total = lane_total + e{k};")
            });
            s.push_str("    let total = reduce_add(fold_add(lane_total), lane);\n");
            if pass == Pass::Fused {
                s.push_str("    let inverse = 1.0 / total;\n    let shift = m + log(total);\n");
                each(&mut s, &|k| {
                    if log {
                        format!("dst[base + {}u] = x{k} - shift;", k * step)
                    } else {
                        format!("dst[base + {}u] = e{k} * inverse;", k * step)
                    }
                });
            } else {
                let _ = writeln!(
                    s,
                    "    if (thread == 0u) {{\n        scratch[row * {chunks}u + chunk] = vec2<f32>(m, total);\n    }}"
                );
            }
        }
    } else if pass == Pass::Normalize {
        let _ = writeln!(s, "    {statistics}\n    var dot = 0.0;");
        for c in 0..chunks {
            let _ = writeln!(s, "    dot = dot + scratch[stats + {c}u].x;");
        }
        each(&mut s, &|k| {
            let o = k * step;
            if log {
                format!("dst[base + {o}u] = grad[base + {o}u] - exp(src[base + {o}u]) * dot;")
            } else {
                format!("dst[base + {o}u] = src[base + {o}u] * (grad[base + {o}u] - dot);")
            }
        });
    } else {
        each(&mut s, &|k| {
            format!(
                "let y{k} = src[base + {o}u];\n    let g{k} = grad[base + {o}u];",
                o = k * step
            )
        });
        let _ = writeln!(s, "    var lane_dot = {ty}(0.0);");
        each(&mut s, &|k| {
            if log {
                format!("lane_dot = lane_dot + g{k};")
            } else {
                format!("lane_dot = lane_dot + y{k} * g{k};")
            }
        });
        s.push_str("    let dot = reduce_add(fold_add(lane_dot), lane);\n");
        if pass == Pass::Fused {
            each(&mut s, &|k| {
                if log {
                    format!("dst[base + {}u] = g{k} - exp(y{k}) * dot;", k * step)
                } else {
                    format!("dst[base + {}u] = y{k} * (g{k} - dot);", k * step)
                }
            });
        } else {
            let _ = writeln!(
                s,
                "    if (thread == 0u) {{\n        scratch[row * {chunks}u + chunk] = vec2<f32>(dot, 0.0);\n    }}"
            );
        }
    }
    s.push_str("}\n");
    s
}

/// The tensors of one shape: the row bench's (`common::RowTensors`), the
/// plain kernels' outputs, and the plain kernels' chunk statistics.
struct Tensors {
    rows: RowTensors,
    plain_y: GpuTensor,
    plain_gx: GpuTensor,
    scratch: wgpu::Buffer,
}

impl Tensors {
    fn new(ctx: &GpuContext, shape: &[usize], layout: &Layout) -> Tensors {
        Tensors {
            rows: RowTensors::new(ctx, shape),
            plain_y: ctx.empty(shape).expect("allocate"),
            plain_gx: ctx.empty(shape).expect("allocate"),
            scratch: ctx.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("plain chunk statistics"),
                size: u64::from(layout.rows * layout.chunks) * 8,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }),
        }
    }
}

/// A plain softmax or log_softmax, forward or backward: its passes,
/// recorded in order.
struct PlainSoftmax {
    passes: Vec<(wgpu::ComputePipeline, wgpu::BindGroup)>,
    workgroups: u32,
}

impl PlainSoftmax {
    fn new(
        ctx: &GpuContext,
        layout: &Layout,
        t: &Tensors,
        log: bool,
        backward: bool,
    ) -> PlainSoftmax {
        let device = ctx.device();
        let passes = if layout.chunks == 1 {
            vec![Pass::Fused]
        } else {
            vec![Pass::Partials, Pass::Normalize]
        };
        let passes = passes
            .into_iter()
            .map(|pass| {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("plain softmax"),
                    source: wgpu::ShaderSource::Wgsl(
                        plain_source(layout, log, backward, pass).into(),
                    ),
                });
                let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("plain softmax"),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                });
                let (src, dst) = if backward {
                    (&t.rows.y, &t.plain_gx)
                } else {
                    (&t.rows.x, &t.plain_y)
                };
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: src.buffer().as_entire_binding(),
                }];
                if pass != Pass::Partials {
                    entries.push(wgpu::BindGroupEntry {
                        binding: 1,
                        resource: dst.buffer().as_entire_binding(),
                    });
                }
                if backward {
                    entries.push(wgpu::BindGroupEntry {
                        binding: 2,
                        resource: t.rows.g.buffer().as_entire_binding(),
                    });
                }
                if pass != Pass::Fused {
                    entries.push(wgpu::BindGroupEntry {
                        binding: 3,
                        resource: t.scratch.as_entire_binding(),
                    });
                }
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("plain softmax"),
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                (pipeline, bind_group)
            })
            .collect();
        PlainSoftmax {
            passes,
            workgroups: layout.workgroups(),
        }
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        for (pipeline, bind_group) in &self.passes {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(self.workgroups, 1, 1);
        }
    }
}

fn run(ctx: &GpuContext, record: &dyn Fn(&mut wgpu::CommandEncoder)) {
    let mut encoder = ctx.create_encoder();
    record(&mut encoder);
    ctx.submit(encoder).expect("submit");
}

/// The largest difference between the plain kernel's output and the
/// library's, over the largest magnitude of the library's.
fn relative_difference(ctx: &GpuContext, plain: &GpuTensor, library: &GpuTensor) -> f64 {
    let a = ctx.download(plain).expect("download");
    let b = ctx.download(library).expect("download");
    let scale = b.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let worst = a.iter().zip(&b).fold(0f64, |m, (&p, &l)| {
        m.max((f64::from(p) - f64::from(l)).abs())
    });
    worst / scale
}

fn main() {
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let repeats = env_or("BENCH_REPEATS", 7).max(1);
    let most = ctx.row_elements_per_lane();
    let subgroup = if ctx.device().features().contains(wgpu::Features::SUBGROUP) {
        ctx.adapter_info().subgroup_min_size.max(1)
    } else {
        1
    };
    println!("adapter: {}", ctx.adapter_description());
    println!(
        "subgroup lanes: {subgroup} (1: none); library: at most {} elements per lane; f32; median of {repeats} alternating rounds of {OPS_PER_SUBMISSION} ops",
        ctx.row_elements_per_lane()
    );
    println!("\nTimes as multiples of the identity kernel's time over the same bytes (forward: its forward; backward: its backward, three tensors).\n");
    println!("| op, shape | dir | plain: time | plain: x identity | plain, vec4 loads: time | plain, vec4 loads: x identity | library: time | library: x identity | target | library time / plain time |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // (shape, dim, forward target)
    let shapes: [(&[usize], i64, f64); 4] = [
        (&[1 << 17, 128], -1, 1.5),
        (&[4096, 4096], -1, 1.5),
        (&[8, 131_072], -1, 2.2),
        (&[64, 512, 32, 32], 1, 1.5),
    ];
    let selected: Vec<usize> = match std::env::var("BENCH_SHAPES") {
        Ok(v) => v
            .split(',')
            .filter_map(|i| i.trim().parse().ok())
            .filter(|&i| i < shapes.len())
            .collect(),
        Err(_) => (0..shapes.len()).collect(),
    };
    for (index, (shape, dim, forward_target)) in shapes.into_iter().enumerate() {
        if !selected.contains(&index) {
            continue;
        }
        let axis = dim.rem_euclid(shape.len() as i64) as usize;
        let size = |dims: &[usize]| dims.iter().product::<usize>() as u32;
        let (outer, n, inner) = (
            size(&shape[..axis]),
            shape[axis] as u32,
            size(&shape[axis + 1..]),
        );
        let layouts = [1, 4].map(|unit| Layout::new(outer, n, inner, subgroup, most, unit));
        assert!(
            layouts.iter().all(Layout::is_whole),
            "the plain kernels cover whole tiles"
        );
        let t = Tensors::new(&ctx, shape, &layouts[0]);
        for (log, op) in [
            (false, RowActivation::Softmax { dim }),
            (true, RowActivation::LogSoftmax { dim }),
        ] {
            for backward in [false, true] {
                run(&ctx, &|e| t.rows.row_op(&ctx, &op, backward, e));
                let plain =
                    layouts.map(|layout| PlainSoftmax::new(&ctx, &layout, &t, log, backward));
                for kernel in &plain {
                    run(&ctx, &|e| kernel.record(e));
                    let (plain_out, library_out) = if backward {
                        (&t.plain_gx, &t.rows.gx)
                    } else {
                        (&t.plain_y, &t.rows.y)
                    };
                    let difference = relative_difference(&ctx, plain_out, library_out);
                    if difference > 1e-5 {
                        eprintln!(
                        "error: a plain kernel's output differs from the library's by {difference:e} (relative to the largest) over {shape:?}"
                    );
                        std::process::exit(1);
                    }
                }
                let baseline = |e: &mut wgpu::CommandEncoder| t.rows.identity(&ctx, backward, e);
                let time = |record: &dyn Fn(&mut wgpu::CommandEncoder)| {
                    time_against(&ctx, OPS_PER_SUBMISSION, repeats, &baseline, record)
                };
                // The plain kernel that loads as the library does: 4 elements at
                // a time along contiguous rows (whose lengths here are multiples
                // of 4), one at a time along strided ones.
                let library_loads = usize::from(inner == 1);
                let plain_times = plain.each_ref().map(|kernel| time(&|e| kernel.record(e)));
                let (library_time, library_ratio) =
                    time(&|e| t.rows.row_op(&ctx, &op, backward, e));
                // Leave y as the library's forward output for the backward.
                run(&ctx, &|e| t.rows.row_op(&ctx, &op, false, e));
                let ms = |time: Duration| format!("{:.3} ms", time.as_secs_f64() * 1e3);
                let target = if backward { 2.0 } else { forward_target };
                let plain_columns: Vec<String> = plain_times
                    .iter()
                    .map(|(time, ratio)| format!("{} | {:.2}x", ms(*time), 1.0 / ratio))
                    .collect();
                println!(
                    "| {op} {shape:?} | {} | {} | {} | {} | {:.2}x | {target:.1}x | {:.2} |",
                    if backward { "backward" } else { "forward" },
                    plain_columns[0],
                    plain_columns[1],
                    ms(library_time),
                    1.0 / library_ratio,
                    library_time.as_secs_f64() / plain_times[library_loads].0.as_secs_f64()
                );
            }
        }
    }
}

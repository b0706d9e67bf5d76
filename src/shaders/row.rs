//! How the row kernels' WGSL is put together (private): the parameter
//! block `RowParams`, the workgroup size and its log, the library helpers
//! the template calls, the scalar storage prelude of the element type, the
//! row layout's constants, the op's constants, the lanes' ids and exchange
//! (`shaders/softmax_subgroups.wgsl` or `shaders/softmax_workgroup.wgsl`),
//! the template `shaders/softmax.wgsl` and the direction's passes
//! (`shaders/softmax_forward.wgsl` or `shaders/softmax_backward.wgsl`). Parameters travel in a uniform
//! buffer: the text depends on the op, direction, element type, layout and
//! subgroup size, never on the shape.

use super::{preamble, strip_enable, StorageLayout, WORKGROUP_SIZE};
use crate::row::RowKernel;
use crate::tensor::DType;

/// `shaders/softmax.wgsl`.
const TEMPLATE: &str = include_str!("../../shaders/softmax.wgsl");
/// `shaders/softmax_forward.wgsl`.
const FORWARD: &str = include_str!("../../shaders/softmax_forward.wgsl");
/// `shaders/softmax_backward.wgsl`.
const BACKWARD: &str = include_str!("../../shaders/softmax_backward.wgsl");
/// `shaders/softmax_subgroups.wgsl`.
const SUBGROUP_LANES: &str = include_str!("../../shaders/softmax_subgroups.wgsl");
/// `shaders/softmax_workgroup.wgsl`.
const WORKGROUP_LANES: &str = include_str!("../../shaders/softmax_workgroup.wgsl");

/// The library helpers the template calls.
const HELPERS: [&str; 7] = [
    "wa_exp",
    "wa_mul_exp",
    "wa_log1p_unit",
    "wa_is_nan",
    "wa_infinity",
    "wa_nan",
    "wa_narrow_f16",
];

uniform_struct! {
    /// The row kernels' parameter block: one dispatch over one bound window.
    RowParams as "RowParams" {
        /// The row length (size of the dimension).
        n: u32,
        /// The distance between a row's consecutive elements.
        inner: u32,
        /// Global index of the dispatch's first row.
        row_first: u32,
        /// Rows of the dispatch.
        row_count: u32,
        /// The first chunk of each row the dispatch handles.
        chunk_first: u32,
        /// Chunks of each row the dispatch handles.
        chunk_count: u32,
        /// Chunks per row of the whole op (the partials' stride).
        total_chunks: u32,
        /// Global index of the first element of the bound window.
        window: u32,
        /// Index in `scratch` of row 0's statistics.
        stats_base: u32,
        /// 0, unknown to the driver's compiler (see `hide` in the template).
        zero: u32,
        pad1: u32,
        pad2: u32,
    }
}

/// How a row kernel's workgroup of `WORKGROUP_SIZE` lanes covers rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RowConfig {
    /// Rows per workgroup.
    pub rows_per_group: u32,
    /// Lanes per row (`WORKGROUP_SIZE / rows_per_group`).
    pub threads_per_row: u32,
    /// Elements each lane holds (a chunk is `threads_per_row * per_thread`).
    pub per_thread: u32,
    /// The lanes of a row are adjacent (contiguous rows); otherwise the rows
    /// of a group are (strided rows).
    pub row_major: bool,
    /// Each lane loads and stores 4 neighbouring elements of its row at a
    /// time (`vec4` storage; contiguous rows whose length and bound windows
    /// are multiples of 4, `per_thread` a multiple of 4): lane t holds
    /// elements `4t + 4 * THREADS_PER_ROW * q + c` of its chunk, c < 4, so
    /// that neighbouring lanes still read neighbouring addresses.
    pub vector: bool,
}

impl RowConfig {
    /// How the kernels read and write storage: 4 elements at a time where
    /// `vector`, else one.
    pub fn storage(&self, dtype: DType) -> StorageLayout {
        if self.vector {
            StorageLayout::Vec4(dtype)
        } else {
            StorageLayout::Scalar(dtype)
        }
    }

    /// Elements a lane loads at once (`VEC` in the template, the storage
    /// prelude's `LANES`).
    pub fn elements_per_load(&self) -> u32 {
        self.storage(DType::F32).elements_per_thread() as u32
    }

    /// Elements of a row one workgroup covers.
    pub fn chunk(&self) -> u64 {
        u64::from(self.threads_per_row) * u64::from(self.per_thread)
    }
}

/// Which entry point of a row module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RowPass {
    /// A row in one chunk: read, reduce, write.
    Fused,
    /// Each chunk's statistics.
    Partials,
    /// Each row's statistics from its chunks'.
    Combine,
    /// The output from the row's statistics.
    Normalize,
}

impl RowPass {
    pub fn entry_point(self) -> &'static str {
        match self {
            RowPass::Fused => "fused",
            RowPass::Partials => "partials",
            RowPass::Combine => "combine",
            RowPass::Normalize => "normalize",
        }
    }
}

/// Everything the text of a row module depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RowModuleKey {
    pub kernel: RowKernel,
    pub backward: bool,
    pub dtype: DType,
    pub config: RowConfig,
    /// The adapter's smallest subgroup size (a power of two), or 0 without
    /// subgroup operations.
    pub subgroup_min: u32,
}

fn log2(v: u32) -> u32 {
    v.trailing_zeros()
}

/// The complete WGSL of a row module (entry points `fused`, `partials`,
/// `combine`, `normalize`).
pub(crate) fn row_module(key: &RowModuleKey) -> String {
    let f16 = key.dtype == DType::F16;
    let roots: Vec<String> = HELPERS.iter().map(|h| h.to_string()).collect();
    let config = key.config;
    let lane_stride = if config.row_major {
        1
    } else {
        config.rows_per_group
    };
    let layout = format!(
        "// Row layout and op.\n\
         const WORKGROUP_LEVELS: u32 = {workgroup_levels}u;\n\
         const ROWS_PER_GROUP: u32 = {rows}u;\n\
         const THREADS_PER_ROW: u32 = {threads}u;\n\
         const ROW_LEVELS: u32 = {row_levels}u;\n\
         const PER_THREAD: u32 = {per_thread}u;\n\
         const LANE_STRIDE: u32 = {lane_stride}u;\n\
         const NEGATE: bool = {negate};\n\
         const LOG_OUTPUT: bool = {log};\n\
         // Elements a lane loads at once (the storage prelude's), and\n\
         // component c of a loaded Value (f32, or vec4<f32> where VEC is 4).\n\
         const VEC: u32 = LANES;\n\
         fn value_component(v: Value, c: u32) -> f32 {{\n    return {component};\n}}\n\
         fn with_component(v: Value, c: u32, f: f32) -> Value {{\n{with_component}}}\n",
        component = if config.vector { "v[c]" } else { "v" },
        with_component = if config.vector {
            "    var r = v;\n    r[c] = f;\n    return r;\n"
        } else {
            "    return f;\n"
        },
        workgroup_levels = log2(WORKGROUP_SIZE),
        rows = config.rows_per_group,
        threads = config.threads_per_row,
        row_levels = log2(config.threads_per_row),
        per_thread = config.per_thread,
        negate = key.kernel.negate,
        log = key.kernel.log,
    );
    let lanes = if key.subgroup_min > 0 {
        format!(
            "const SUBGROUP_MIN: u32 = {}u;\n{SUBGROUP_LANES}",
            key.subgroup_min
        )
    } else {
        WORKGROUP_LANES.to_string()
    };
    let passes = if key.backward { BACKWARD } else { FORWARD };
    [
        preamble(key.dtype, RowParams::WGSL),
        strip_enable(&crate::wgsl::closure_source(&roots, f16)),
        config.storage(key.dtype).prelude(),
        layout,
        lanes,
        unroll_lane_loops(TEMPLATE, &config),
        unroll_lane_loops(passes, &config),
    ]
    .join("\n")
}

/// The heads of the loops over a lane's elements in the templates: one at a
/// time, one load at a time (`VEC` elements), and over a load's elements.
const LANE_LOOP: &str = "for (var k = 0u; k < PER_THREAD; k = k + 1u) {";
const LANE_LOAD_LOOP: &str = "for (var k = 0u; k < PER_THREAD; k = k + VEC) {";
const LOAD_LOOP: &str = "for (var c = 0u; c < VEC; c = c + 1u) {";

/// `text` with every loop over a lane's elements written out as blocks,
/// each with its own constant index: [`LANE_LOOP`] as `per_thread` blocks
/// (`k` = 0, 1, ...), [`LANE_LOAD_LOOP`] one block per load (`k` = 0, VEC,
/// ...) and [`LOAD_LOOP`] one per element of a load (`c` = 0 .. VEC). A
/// lane keeps its elements in a private array indexed by `k`; where a
/// driver's compiler does not unroll the loop (Mesa's NIR stops at a budget
/// of instructions, which the exp of the forward passes exceeds at 16
/// elements), the array is indexed at run time and lives in memory instead
/// of registers: on lavapipe softmax over rows of 128 took 1.7x the time.
/// Written out, every index is a constant on every driver. The bodies must
/// not `break` or `continue`.
fn unroll_lane_loops(text: &str, config: &RowConfig) -> String {
    let vec = config.elements_per_load();
    let lanes: Vec<u32> = (0..config.per_thread).collect();
    let loads: Vec<u32> = (0..config.per_thread).step_by(vec as usize).collect();
    let load: Vec<u32> = (0..vec).collect();
    let text = write_out(text, LANE_LOOP, "k", &lanes);
    let text = write_out(&text, LANE_LOAD_LOOP, "k", &loads);
    write_out(&text, LOAD_LOOP, "c", &load)
}

/// `text` with every loop whose head is `head` written out as one block per
/// value of `index`, that block's `let {index} = value;` first.
fn write_out(text: &str, head: &str, index: &str, values: &[u32]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(head) {
        out.push_str(&rest[..start]);
        let body_start = start + head.len();
        // Braces in `//` comments do not count.
        let mut depth = 1usize;
        let mut end = body_start;
        let mut in_comment = false;
        let mut previous = ' ';
        for (offset, c) in rest[body_start..].char_indices() {
            match c {
                '\n' => in_comment = false,
                '/' if previous == '/' => in_comment = true,
                '{' if !in_comment => depth += 1,
                '}' if !in_comment => depth -= 1,
                _ => {}
            }
            previous = c;
            if depth == 0 {
                end = body_start + offset;
                break;
            }
        }
        assert!(depth == 0, "unbalanced braces after a lane loop");
        let body = &rest[body_start..end];
        debug_assert!(!body.contains("break") && !body.contains("continue"));
        out.push('{');
        for value in values {
            out.push_str(&format!("{{\n    let {index} = {value}u;{body}}}\n"));
        }
        out.push('}');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::shaders::parse_validated as parse;

    #[test]
    fn every_row_module_validates_with_naga() {
        let configs = [
            RowConfig {
                rows_per_group: 32,
                threads_per_row: 8,
                per_thread: 16,
                row_major: true,
                vector: false,
            },
            RowConfig {
                rows_per_group: 8,
                threads_per_row: 32,
                per_thread: 4,
                row_major: false,
                vector: false,
            },
            RowConfig {
                rows_per_group: 256,
                threads_per_row: 1,
                per_thread: 1,
                row_major: true,
                vector: false,
            },
            // The CPU adapters' default budget, written out 64 times.
            RowConfig {
                rows_per_group: 4,
                threads_per_row: 64,
                per_thread: 64,
                row_major: true,
                vector: false,
            },
            RowConfig {
                rows_per_group: 32,
                threads_per_row: 8,
                per_thread: 64,
                row_major: false,
                vector: false,
            },
        ];
        // Contiguous rows loaded 4 elements at a time.
        let vectors = configs
            .iter()
            .filter(|c| c.row_major && c.per_thread % 4 == 0)
            .map(|c| RowConfig { vector: true, ..*c });
        let configs: Vec<RowConfig> = configs.iter().copied().chain(vectors).collect();
        assert_eq!(configs.len(), 7);
        for info in crate::RowActivation::OPS {
            let kernel = (info.with_dim)(-1).kernel();
            for backward in [false, true] {
                for dtype in [DType::F32, DType::F16] {
                    for &config in &configs {
                        for subgroup_min in [0, 8, 32] {
                            let key = RowModuleKey {
                                kernel,
                                backward,
                                dtype,
                                config,
                                subgroup_min,
                            };
                            let module = parse(&format!("{key:?}"), &row_module(&key));
                            let entries: Vec<&str> = module
                                .entry_points
                                .iter()
                                .map(|e| e.name.as_str())
                                .collect();
                            assert_eq!(entries, ["fused", "partials", "combine", "normalize"]);
                            for entry in &module.entry_points {
                                assert_eq!(entry.workgroup_size, [WORKGROUP_SIZE, 1, 1]);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lane_loops_are_written_out_with_constant_indices() {
        let text =
            "a;\nfor (var k = 0u; k < PER_THREAD; k = k + 1u) {\n    if (x) { v[k] = 1.0; } // }\n}\nb;";
        let config = |per_thread, vector| RowConfig {
            rows_per_group: 32,
            threads_per_row: 8,
            per_thread,
            row_major: true,
            vector,
        };
        assert_eq!(
            unroll_lane_loops(text, &config(2, false)),
            "a;\n{{\n    let k = 0u;\n    if (x) { v[k] = 1.0; } // }\n}\n{\n    let k = 1u;\n    if (x) { v[k] = 1.0; } // }\n}\n}\nb;"
        );
        // Loads of 4, nested: k = 0, 4, each with c = 0 .. 4.
        let text = "for (var k = 0u; k < PER_THREAD; k = k + VEC) {\n    for (var c = 0u; c < VEC; c = c + 1u) {\n        v[k + c] = 1.0;\n    }\n}";
        let written = unroll_lane_loops(text, &config(8, true));
        assert!(!written.contains("for ("));
        assert_eq!(written.matches("let k = ").count(), 2);
        assert!(written.contains("let k = 4u;") && !written.contains("let k = 8u;"));
        assert_eq!(written.matches("let c = ").count(), 8);
        assert!(written.contains("let c = 3u;") && !written.contains("let c = 4u;"));
        // One element per load: c = 0 only.
        let written = unroll_lane_loops(text, &config(2, false));
        assert_eq!(written.matches("let c = ").count(), 2);
        assert!(!written.contains("let c = 1u;"));
        for backward in [false, true] {
            for vector in [false, true] {
                let key = RowModuleKey {
                    kernel: RowKernel {
                        negate: false,
                        log: true,
                    },
                    backward,
                    dtype: DType::F32,
                    config: config(16, vector),
                    subgroup_min: 8,
                };
                let text = row_module(&key);
                assert!(
                    !text.contains(LANE_LOOP)
                        && !text.contains(LANE_LOAD_LOOP)
                        && !text.contains(LOAD_LOOP)
                );
                assert!(text.contains("let k = 12u;") && !text.contains("let k = 16u;"));
                assert_eq!(text.contains("let c = 3u;"), vector);
            }
        }
    }

    #[test]
    fn row_params_match_their_wgsl_struct() {
        let key = RowModuleKey {
            kernel: RowKernel {
                negate: false,
                log: false,
            },
            backward: false,
            dtype: DType::F32,
            config: RowConfig {
                rows_per_group: 1,
                threads_per_row: 256,
                per_thread: 16,
                row_major: true,
                vector: false,
            },
            subgroup_min: 0,
        };
        let module = parse("row", &row_module(&key));
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(RowParams::WGSL_NAME))
            .expect("RowParams");
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("RowParams is not a struct");
        };
        let wgsl: Vec<(String, usize)> = members
            .iter()
            .map(|m| (m.name.clone().unwrap(), m.offset as usize))
            .collect();
        let rust: Vec<(String, usize)> = RowParams::layout()
            .into_iter()
            .map(|(n, o)| (n.to_string(), o))
            .collect();
        assert_eq!(wgsl, rust);
        assert_eq!(*span as usize, std::mem::size_of::<RowParams>());
    }
}

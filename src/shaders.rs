//! How the kernels' WGSL is put together (private).
//!
//! An elementwise kernel module is: `enable f16;` for f16 storage, the
//! parameter block `Params` and `WORKGROUP_SIZE` (both generated from the
//! Rust definitions below, so they cannot drift), the library functions the
//! op calls ([`crate::wgsl`], the same text users get), the storage layout's
//! prelude, PReLU's weight lookup and the fused epilogue's snippets,
//! `thread_vector` (which `Stored` a thread handles: its linear index over
//! the folded grid, or, for PReLU's [`WeightLayout::ChannelGrid`], the
//! block, channel and outer index the grid names), the template
//! `shaders/elementwise.wgsl`, and the op's glue: the
//! call of its WGSL functions with its parameters read from `params`. The
//! glue is derived from the op's definition ([`Activation::wgsl_call`]), so
//! an op's kernel costs nothing beyond its WGSL functions. Parameters travel
//! in a uniform buffer: the text depends on the op's function, never on its
//! parameter values.

use crate::activation::{Activation, ParameterValue};
use crate::tensor::DType;

/// Threads per workgroup in every kernel (`WORKGROUP_SIZE` in the WGSL).
pub(crate) const WORKGROUP_SIZE: u32 = 256;

/// Elements each thread of the PReLU weight gradient's first pass adds.
pub(crate) const ELEMENTS_PER_THREAD: u32 = 16;

/// Elements one workgroup of the weight gradient's first pass adds (`CHUNK`).
pub(crate) const WEIGHT_GRAD_CHUNK: u32 = WORKGROUP_SIZE * ELEMENTS_PER_THREAD;

/// `shaders/elementwise.wgsl`.
const ELEMENTWISE_TEMPLATE: &str = include_str!("../shaders/elementwise.wgsl");
/// `shaders/prelu_weight_grad.wgsl`.
const PRELU_WEIGHT_GRAD_TEMPLATE: &str = include_str!("../shaders/prelu_weight_grad.wgsl");

/// A uniform parameter block, defined once: the Rust struct (`repr(C)`,
/// `Pod`), its WGSL declaration, and its fields' offsets for the layout test.
/// Fields are `u32` or `f32`, whose names are the same in both languages.
macro_rules! uniform_struct {
    (
        $(#[$meta:meta])*
        $name:ident as $wgsl_name:literal {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Default, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $name {
            /// The WGSL declaration.
            pub(crate) const WGSL: &'static str = concat!(
                "struct ", $wgsl_name, " {\n",
                $( "    ", stringify!($field), ": ", stringify!($ty), ",\n", )*
                "}\n"
            );

            /// The WGSL struct's name.
            #[allow(dead_code)]
            pub(crate) const WGSL_NAME: &'static str = $wgsl_name;

            /// Each field's name and byte offset.
            #[allow(dead_code)]
            pub(crate) fn layout() -> Vec<(&'static str, usize)> {
                vec![$( (stringify!($field), std::mem::offset_of!($name, $field)) ),*]
            }
        }
    };
}

uniform_struct! {
    /// The elementwise kernels' parameter block.
    ElementwiseParams as "Params" {
        /// Elements this dispatch covers.
        len: u32,
        /// Index of its first element in the whole tensor: chunks and streamed
        /// pieces keep their global indices (PReLU's channel, RReLU's stream).
        base: u32,
        /// PReLU: weights in use (1, or the channel count).
        channels: u32,
        /// PReLU: elements per channel block (the dimensions after dimension 1).
        inner: u32,
        /// The op's numbers, in the order of its `WgslCall::args`.
        p0: f32,
        p1: f32,
        p2: f32,
        p3: f32,
        /// RReLU (training): the 64-bit seed, low word first.
        seed_lo: u32,
        seed_hi: u32,
        /// PReLU: `division_magic(inner)` and `division_magic(channels)`, their
        /// shifts packed as `inner's | channels' << 16`.
        inner_magic: u32,
        channels_magic: u32,
        shifts: u32,
        pad0: u32,
        /// Fused bias: its length (the channels of its dimension), the
        /// elements per channel block (the dimensions after it), their
        /// `division_magic` and shifts as for PReLU.
        bias_channels: u32,
        bias_inner: u32,
        bias_inner_magic: u32,
        bias_channels_magic: u32,
        bias_shifts: u32,
        pad1: u32,
        pad2: u32,
        pad3: u32,
    }
}

uniform_struct! {
    /// The PReLU weight gradient's parameter block.
    ReduceParams as "ReduceParams" {
        /// Weights (1 for a shared weight).
        channels: u32,
        /// Elements per channel block (every element for a shared weight).
        inner: u32,
        /// Index in the whole tensor of the bound piece's first element.
        piece_start: u32,
        /// Elements in the bound piece.
        piece_len: u32,
        /// Chunks per channel in this piece (at least what each channel fills).
        chunks_per_channel: u32,
        /// Index of this piece's first chunk among its channel's chunks.
        chunk_base: u32,
        /// Chunks per channel in the whole tensor.
        total_chunks: u32,
        /// A fused bias (PReLU's weight gradient at `x + bias`): its
        /// channels and the elements of one of its channel blocks.
        bias_channels: u32,
        bias_inner: u32,
        pad0: u32,
        pad1: u32,
        pad2: u32,
    }
}

/// How an elementwise kernel reads and writes its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StorageLayout {
    /// One vec4 per thread: every bound range aligned to a vec4 and holding
    /// whole vec4s.
    Vec4(DType),
    /// One element per thread: any range.
    Scalar(DType),
}

impl StorageLayout {
    /// Every layout.
    #[allow(dead_code)]
    pub(crate) const ALL: [StorageLayout; 4] = [
        StorageLayout::Vec4(DType::F32),
        StorageLayout::Scalar(DType::F32),
        StorageLayout::Vec4(DType::F16),
        StorageLayout::Scalar(DType::F16),
    ];

    /// The element type.
    pub(crate) fn dtype(self) -> DType {
        match self {
            StorageLayout::Vec4(dtype) | StorageLayout::Scalar(dtype) => dtype,
        }
    }

    /// Elements each thread handles.
    pub(crate) fn elements_per_thread(self) -> u64 {
        match self {
            StorageLayout::Vec4(_) => 4,
            StorageLayout::Scalar(_) => 1,
        }
    }

    /// The suffix of the library functions on this layout's values.
    fn suffix(self) -> &'static str {
        match self {
            StorageLayout::Vec4(_) => "_vec4",
            StorageLayout::Scalar(_) => "",
        }
    }

    /// The aliases and conversions the templates are written against.
    pub(crate) fn prelude(self) -> String {
        if self == StorageLayout::Vec4(DType::F16) {
            return VEC4_F16_WORDS_PRELUDE.to_string();
        }
        // From here on f16 is scalar storage only.
        let dtype = self.dtype();
        let scalar = dtype.wgsl();
        let narrow_scalar = |v: &str| match dtype {
            DType::F32 => v.to_string(),
            DType::F16 => format!("wa_narrow_f16({v})"),
        };
        let (stored, value, index, lane_offsets, widen, narrow) = match self {
            StorageLayout::Vec4(_) => (
                format!("vec4<{scalar}>"),
                "vec4<f32>",
                "vec4<u32>",
                "vec4<u32>(0u, 1u, 2u, 3u)",
                "vec4<f32>(v)".to_string(),
                format!(
                    "vec4<{scalar}>({}, {}, {}, {})",
                    narrow_scalar("v.x"),
                    narrow_scalar("v.y"),
                    narrow_scalar("v.z"),
                    narrow_scalar("v.w")
                ),
            ),
            StorageLayout::Scalar(_) => (
                scalar.to_string(),
                "f32",
                "u32",
                "0u",
                "f32(v)".to_string(),
                narrow_scalar("v"),
            ),
        };
        format!(
            "// Storage layout {self:?}.\n\
             alias Stored = {stored};\n\
             alias Value = {value};\n\
             alias Index = {index};\n\
             const LANES: u32 = {lanes}u;\n\
             const LANE_OFFSETS: Index = {lane_offsets};\n\
             fn widen(v: Stored) -> Value {{\n    return {widen};\n}}\n\
             fn narrow(v: Value) -> Stored {{\n    return {narrow};\n}}\n\
             // `fresh` with the lanes where `keep` holds taken from `old`.\n\
             fn keep_lanes(fresh: Stored, old: Stored, keep: {keep}) -> Stored {{\n    return select(fresh, old, keep);\n}}\n",
            keep = if self.elements_per_thread() == 4 { "vec4<bool>" } else { "bool" },
            lanes = self.elements_per_thread()
        )
    }
}

/// The vec4 layout of f16 storage: four halves as two `u32` words, widened
/// with `unpack2x16float` and narrowed with `pack2x16float` on the in-range
/// values, the infinities and NaN written as f16 bits (WGSL leaves the
/// packing of values outside f16's finite range open). The same results as
/// the former `vec4<f16>` form through `wa_narrow_f16`, and faster on lavapipe
/// (f16 identity kernel 26.8 -> 18.7 ms at 2^24, relu 41.2 -> 32.4 ms:
/// BENCHMARKS.md). The scalar layout keeps `f16` elements: there, threads
/// next to each other write the two halves of one word.
const VEC4_F16_WORDS_PRELUDE: &str = "// Storage layout Vec4(F16): four halves in two u32 words.
alias Stored = vec2<u32>;
alias Value = vec4<f32>;
alias Index = vec4<u32>;
const LANES: u32 = 4u;
const LANE_OFFSETS: Index = vec4<u32>(0u, 1u, 2u, 3u);
fn widen(v: Stored) -> Value {
    return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y));
}
// Two f32 values as the f16 bits of one word, rounded once: past f16's range
// (|v| >= 65520 rounds to infinity) the infinity of the sign, NaN a quiet NaN.
fn wa_pack_f16_word(v: vec2<f32>) -> u32 {
    let bits = bitcast<vec2<u32>>(v);
    let magnitude = bits & vec2<u32>(0x7fffffffu);
    let finite = magnitude < vec2<u32>(0x477ff000u);
    let packed = pack2x16float(select(vec2<f32>(0.0), v, finite));
    let special = ((bits >> vec2<u32>(16u)) & vec2<u32>(0x8000u))
        | select(vec2<u32>(0x7c00u), vec2<u32>(0x7e00u), magnitude > vec2<u32>(0x7f800000u));
    let halves = select(special, vec2<u32>(packed & 0xffffu, packed >> 16u), finite);
    return halves.x | (halves.y << 16u);
}
fn narrow(v: Value) -> Stored {
    return vec2<u32>(wa_pack_f16_word(v.xy), wa_pack_f16_word(v.zw));
}
// `fresh` with the lanes where `keep` holds taken from `old`, bit for bit.
fn keep_lanes(fresh: Stored, old: Stored, keep: vec4<bool>) -> Stored {
    let low = select(vec4<u32>(0u), vec4<u32>(0xffffu, 0xffff0000u, 0xffffu, 0xffff0000u), keep);
    let mask = vec2<u32>(low.x | low.y, low.z | low.w);
    return (fresh & ~mask) | (old & mask);
}
";

/// Which entry point of an elementwise module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Forward,
    Backward,
}

impl Direction {
    pub(crate) fn entry_point(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// The text shared by every module: enable directive, parameter block and
/// workgroup size.
fn preamble(dtype: DType, params: &str) -> String {
    let enable = match dtype {
        DType::F32 => "",
        DType::F16 => "enable f16;\n",
    };
    format!("{enable}{params}const WORKGROUP_SIZE: u32 = {WORKGROUP_SIZE}u;\n")
}

/// The WGSL expressions of `op`'s kernel arguments after the per-element
/// ones, from its definition: numbers from `params.p0..p3` in order, the
/// seed, the element's channel weight, its index.
pub(crate) fn kernel_arguments(op: &Activation) -> Vec<String> {
    let mut slot = 0;
    op.wgsl_call()
        .args
        .iter()
        .map(|name| match (*name, op.parameter(name)) {
            ("weight", _) => "channel_weights(index)".to_string(),
            ("index", _) => "index".to_string(),
            (_, Some(ParameterValue::Integer(_))) => {
                "vec2<u32>(params.seed_lo, params.seed_hi)".to_string()
            }
            (_, Some(ParameterValue::Number(_))) => {
                slot += 1;
                format!("params.p{}", slot - 1)
            }
            (other, value) => {
                unreachable!("{}: WGSL argument {other} is {value:?}", op.name())
            }
        })
        .collect()
}

/// How a kernel finds its elements' PReLU weights: part of the pipeline key,
/// so that the common shapes pay only for what they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WeightLayout {
    /// The op has no weight.
    None,
    /// One weight for every element: loaded once per thread.
    Shared,
    /// A weight per channel, the same for every lane of a thread's `Stored`
    /// (channel blocks of whole vec4s, starting on one): one channel and one
    /// load per thread.
    PerThread,
    /// A weight per channel, looked up for each lane.
    PerLane,
    /// A weight per channel, the channel read from the dispatch grid: x
    /// walks the vec4s of one channel block, y is the channel, z the outer
    /// index (the dispatch covers whole periods of `channels * inner`
    /// elements, starting on one). No division per thread, at the price of
    /// a partial last workgroup per block, so the host chooses it only
    /// where that leaves few threads idle ([`WeightLayout::grid_fits`]).
    ChannelGrid,
}

impl WeightLayout {
    /// Every layout a weighted op's kernel can have.
    #[cfg(test)]
    pub(crate) const WEIGHTED: [WeightLayout; 4] = [
        WeightLayout::Shared,
        WeightLayout::PerThread,
        WeightLayout::PerLane,
        WeightLayout::ChannelGrid,
    ];

    /// The layout for `op` over `channels` channels of `inner` elements on
    /// `layout`, the threads' first elements (in the logical tensor) being
    /// the sums of multiples of `starts`.
    pub(crate) fn choose(
        op: &Activation,
        layout: StorageLayout,
        channels: u32,
        inner: u32,
        starts: [u64; 2],
    ) -> Self {
        if !op.uses_weight() {
            return WeightLayout::None;
        }
        if channels <= 1 {
            return WeightLayout::Shared;
        }
        let lanes = layout.elements_per_thread();
        if lanes > 1
            && u64::from(inner).is_multiple_of(lanes)
            && starts.iter().all(|s| s.is_multiple_of(lanes))
        {
            WeightLayout::PerThread
        } else {
            WeightLayout::PerLane
        }
    }

    /// Whether [`WeightLayout::ChannelGrid`] can replace this layout for
    /// `channels` blocks of `inner` elements on `layout`, the dispatch
    /// starting at element `first_element`: only a `PerThread` layout
    /// (more than one channel, blocks of whole `Stored`s) of vec4s, whose
    /// dispatches start on a period, with a grid within `max_per_dimension`
    /// in x and y and at most one in eight of a block's threads idle (all of
    /// them in its last workgroup).
    pub(crate) fn grid_fits(
        self,
        layout: StorageLayout,
        channels: u32,
        inner: u32,
        first_element: u64,
        max_per_dimension: u32,
    ) -> bool {
        if self != WeightLayout::PerThread || layout.elements_per_thread() != 4 || inner == 0 {
            return false;
        }
        // What `choose` gave PerThread for.
        debug_assert!(channels > 1 && inner.is_multiple_of(4));
        let period = u64::from(channels) * u64::from(inner);
        let per_block = u64::from(inner) / 4;
        let groups = per_block.div_ceil(u64::from(WORKGROUP_SIZE));
        let threads = groups * u64::from(WORKGROUP_SIZE);
        first_element.is_multiple_of(period)
            && channels <= max_per_dimension
            && groups <= u64::from(max_per_dimension)
            && 8 * (threads - per_block) <= threads
    }
}

/// `thread_vector`: the index of the `Stored` a thread handles, or
/// `WA_NO_VECTOR` for a thread with none. The linear index over the folded
/// 2-D grid, or, for [`WeightLayout::ChannelGrid`], the place that the grid's
/// x (vec4 within a block), y (channel) and z (outer index) name, with the
/// channel kept for `channel_weights`.
fn thread_snippet(weights: WeightLayout) -> &'static str {
    match weights {
        WeightLayout::ChannelGrid => {
            "// The grid names the element: x the vec4 within a channel block, y\n\
             // the channel, z the outer index.\n\
             var<private> wa_grid_channel: u32;\n\
             fn thread_vector(workgroup: vec3<u32>, workgroups: vec3<u32>, local: u32) -> u32 {\n    \
                 let within = workgroup.x * WORKGROUP_SIZE + local;\n    \
                 let per_block = params.inner / LANES;\n    \
                 wa_grid_channel = workgroup.y;\n    \
                 if (within >= per_block) {\n        return WA_NO_VECTOR;\n    }\n    \
                 return (workgroup.z * params.channels + workgroup.y) * per_block + within;\n}\n"
        }
        _ => {
            "fn thread_vector(workgroup: vec3<u32>, workgroups: vec3<u32>, local: u32) -> u32 {\n    \
                 return linear_thread(workgroup, workgroups, local);\n}\n"
        }
    }
}

/// PReLU's weight binding and the elements' channel weights. The channel of
/// element i is (i / inner) % channels: no integer division per element
/// (which some drivers emulate slowly): the thread's first element is
/// divided by multiplication with precomputed magic numbers
/// ([`division_magic`]), and the next lanes step through the channels.
fn weight_snippet(layout: StorageLayout, weights: WeightLayout) -> String {
    let binding = format!(
        "@group(0) @binding(4) var<storage, read> weight: array<{scalar}>;\n\
         fn load_weight(c: u32) -> f32 {{\n    return f32(weight[c]);\n}}\n",
        scalar = layout.dtype().wgsl()
    );
    let lanes = match (weights, layout) {
        (WeightLayout::None, _) => return String::new(),
        (WeightLayout::Shared, _) => {
            return format!(
                "{binding}// One weight for every element.\n\
                 fn channel_weights(index: Index) -> Value {{\n    return Value(load_weight(0u));\n}}\n"
            )
        }
        (WeightLayout::ChannelGrid, _) => {
            return format!(
                "{binding}// The channel from the dispatch grid (`thread_vector`).\n\
                 fn channel_weights(index: Index) -> Value {{\n    return Value(load_weight(wa_grid_channel));\n}}\n"
            )
        }
        (WeightLayout::PerThread, _) | (_, StorageLayout::Scalar(_)) => {
            "    return Value(load_weight(position.channel));\n"
        }
        (WeightLayout::PerLane, StorageLayout::Vec4(_)) => {
            "    let w0 = load_weight(position.channel);\n    \
             position = next_element(position);\n    \
             let w1 = load_weight(position.channel);\n    \
             position = next_element(position);\n    \
             let w2 = load_weight(position.channel);\n    \
             position = next_element(position);\n    \
             return Value(w0, w1, w2, load_weight(position.channel));\n"
        }
    };
    let first = match layout {
        StorageLayout::Vec4(_) => "index.x",
        StorageLayout::Scalar(_) => "index",
    };
    let next_element = if lanes.contains("next_element") {
        "// The next element's place: past the block's end, the next channel.\n\
         fn next_element(p: Position) -> Position {\n    \
             let within = p.within + 1u;\n    \
             let wrap = within == params.inner;\n    \
             let next = select(p.channel + 1u, 0u, p.channel + 1u == params.channels);\n    \
             return Position(select(within, 0u, wrap), select(p.channel, next, wrap));\n}\n"
    } else {
        ""
    };
    format!(
        "{binding}\
         {helpers}\
         struct Position {{\n    within: u32,\n    channel: u32,\n}}\n\
         {next_element}\
         fn channel_weights(index: Index) -> Value {{\n    \
             if (params.channels <= 1u) {{\n        return Value(load_weight(0u));\n    }}\n    \
             let block = divide({first}, params.inner_magic, params.shifts & 0xffffu);\n    \
             let channel = block - divide(block, params.channels_magic, params.shifts >> 16u) * params.channels;\n    \
             var position = Position({first} - block * params.inner, channel);\n\
         {lanes}}}\n",
        helpers = division_helpers("")
    )
}

/// `PREFIXmul_high` and `PREFIXdivide`: n / d by a multiplication with d's
/// magic number ([`division_magic`]).
fn division_helpers(prefix: &str) -> String {
    format!(
        "// The high 32 bits of a * b.\n\
         fn {prefix}mul_high(a: u32, b: u32) -> u32 {{\n    \
             let a0 = a & 0xffffu;\n    let a1 = a >> 16u;\n    \
             let b0 = b & 0xffffu;\n    let b1 = b >> 16u;\n    \
             let low_high = a0 * b1;\n    let high_low = a1 * b0;\n    \
             let middle = ((a0 * b0) >> 16u) + (low_high & 0xffffu) + (high_low & 0xffffu);\n    \
             return a1 * b1 + (low_high >> 16u) + (high_low >> 16u) + (middle >> 16u);\n}}\n\
         // n / d from d's magic number and shifts (Granlund and Montgomery).\n\
         fn {prefix}divide(n: u32, magic: u32, shifts: u32) -> u32 {{\n    \
             let t = {prefix}mul_high(magic, n);\n    \
             return (t + ((n - t) >> (shifts & 0xffu))) >> (shifts >> 8u);\n}}\n"
    )
}

/// What a fused forward adds around the op: `y = f(x + bias[c]) + residual`
/// (part of the pipeline key; both absent for the plain op).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct EpilogueKey {
    /// A bias along one dimension, added before the op (binding 5), and
    /// how a thread finds its lanes' values.
    pub bias: Option<BiasLayout>,
    /// A tensor of the input's shape, added after the op (binding 6).
    pub residual: bool,
}

/// How a fused forward's thread finds the bias of its lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BiasLayout {
    /// Every lane of a vec4 in one channel (blocks of whole vec4s): one
    /// value per thread.
    PerThread,
    /// A vec4's lanes in four consecutive channels starting on a multiple of
    /// 4 (the last dimension, of a length that is a multiple of 4): the bias
    /// bound as vec4s, one load per thread.
    Consecutive,
    /// Each lane's channel found apart.
    PerLane,
}

impl BiasLayout {
    /// The layout for a bias of `channels` channels of `inner` elements on
    /// `layout`, the threads' first elements being sums of multiples of
    /// `starts` (see [`WeightLayout::choose`]).
    pub(crate) fn choose(
        layout: StorageLayout,
        channels: u32,
        inner: u32,
        starts: [u64; 2],
    ) -> Self {
        let lanes = layout.elements_per_thread();
        let aligned = starts.iter().all(|s| s.is_multiple_of(lanes));
        if lanes == 1 || !aligned {
            BiasLayout::PerLane
        } else if u64::from(inner).is_multiple_of(lanes) {
            BiasLayout::PerThread
        } else if inner == 1 && u64::from(channels).is_multiple_of(lanes) {
            BiasLayout::Consecutive
        } else {
            BiasLayout::PerLane
        }
    }
}

/// The glue of a fused forward: `pre_activation` (the input plus the bias of
/// each element's channel) and `finish` (the op's value plus the residual);
/// each the identity where its part is absent, so the plain op's arithmetic
/// is unchanged. Sums are f32 (f16 storage is widened first), rounded once.
fn epilogue_snippet(layout: StorageLayout, epilogue: EpilogueKey) -> String {
    let scalar = layout.dtype().wgsl();
    let pre = if let Some(bias_layout) = epilogue.bias {
        let first = match layout {
            StorageLayout::Vec4(_) => "index.x",
            StorageLayout::Scalar(_) => "index",
        };
        let (stored, lanes) = match (bias_layout, layout) {
            (BiasLayout::Consecutive, _) => {
                ("Stored".to_string(), "    return widen(bias[p.y / 4u]);\n")
            }
            (BiasLayout::PerThread, _) | (_, StorageLayout::Scalar(_)) => {
                (scalar.to_string(), "    return Value(f32(bias[p.y]));\n")
            }
            (BiasLayout::PerLane, StorageLayout::Vec4(_)) => (
                scalar.to_string(),
                "    let b0 = f32(bias[p.y]);\n    p = bias_step(p);\n    \
                 let b1 = f32(bias[p.y]);\n    p = bias_step(p);\n    \
                 let b2 = f32(bias[p.y]);\n    p = bias_step(p);\n    \
                 return Value(b0, b1, b2, f32(bias[p.y]));\n",
            ),
        };
        format!(
            "@group(0) @binding(5) var<storage, read> bias: array<{stored}>;\n\
             {helpers}\
             // The next element's (place in its channel block, channel).\n\
             fn bias_step(p: vec2<u32>) -> vec2<u32> {{\n    \
                 let within = p.x + 1u;\n    \
                 let wrap = within == params.bias_inner;\n    \
                 let next = select(p.y + 1u, 0u, p.y + 1u == params.bias_channels);\n    \
                 return vec2<u32>(select(within, 0u, wrap), select(p.y, next, wrap));\n}}\n\
             // The bias of each lane: channel (i / bias_inner) % bias_channels,\n\
             // divided once for the first lane ({bias_layout:?}).\n\
             fn bias_values(index: Index) -> Value {{\n    \
                 let block = bias_divide({first}, params.bias_inner_magic, params.bias_shifts & 0xffffu);\n    \
                 let channel = block - bias_divide(block, params.bias_channels_magic, params.bias_shifts >> 16u) * params.bias_channels;\n    \
                 var p = vec2<u32>({first} - block * params.bias_inner, channel);\n\
             {lanes}}}\n\
             fn pre_activation(x: Value, index: Index) -> Value {{\n    return x + bias_values(index);\n}}\n",
            helpers = division_helpers("bias_"),
        )
    } else {
        "fn pre_activation(x: Value, index: Index) -> Value {\n    return x;\n}\n".to_string()
    };
    let finish = if epilogue.residual {
        "@group(0) @binding(6) var<storage, read> residual: array<Stored>;\n\
         fn finish(y: Value, v: u32) -> Value {\n    return y + widen(residual[v]);\n}\n"
    } else {
        "fn finish(y: Value, v: u32) -> Value {\n    return y;\n}\n"
    };
    format!("{pre}{finish}")
}

/// The magic number and shifts that divide by `d` with a multiplication:
/// `n / d == (t + ((n - t) >> shift1)) >> shift2` with `t` the high 32 bits
/// of `magic * n`, for every 32-bit `n` (Granlund and Montgomery, "Division
/// by invariant integers using multiplication", 1994, figure 4.1). Shifts
/// packed as `shift1 | shift2 << 8`.
pub(crate) fn division_magic(d: u32) -> (u32, u32) {
    if d <= 1 {
        return (0, 0);
    }
    let l = 32 - (d - 1).leading_zeros();
    let magic = ((1u64 << 32) * ((1u64 << l) - u64::from(d)) / u64::from(d) + 1) as u32;
    (magic, 1 | ((l - 1) << 8))
}

/// Where the elementwise template reads the forward's input and the
/// output's gradient: out of place from `src` and a `grad` binding, in place
/// from `dst`, the read_write binding that the result overwrites.
fn accessors(in_place: bool) -> &'static str {
    if in_place {
        "// In place: the forward's input and the output's gradient are read from\n\
         // `dst`, which the result overwrites.\n\
         fn load_input(v: u32) -> Stored {\n    return dst[v];\n}\n\
         fn load_grad(v: u32) -> Stored {\n    return dst[v];\n}\n"
    } else {
        "// Out of place: the forward's input from `src`, the output's gradient\n\
         // from `grad`.\n\
         @group(0) @binding(2) var<storage, read> grad: array<Stored>;\n\
         fn load_input(v: u32) -> Stored {\n    return src[v];\n}\n\
         fn load_grad(v: u32) -> Stored {\n    return grad[v];\n}\n"
    }
}

/// The complete WGSL of `op`'s elementwise kernel module on `layout`
/// (entry points `forward` and `backward`; with `from_output`, `backward`
/// takes the forward's output). With `in_place`, the same template with the
/// in-place accessors: the forward overwrites its input, the backward
/// overwrites the output's gradient, both bound once as read_write.
pub(crate) fn elementwise_module(
    op: &Activation,
    layout: StorageLayout,
    from_output: bool,
    in_place: bool,
    weights: WeightLayout,
    epilogue: EpilogueKey,
) -> String {
    let call = op.wgsl_call();
    let suffix = layout.suffix();
    let arguments = kernel_arguments(op);
    let with = |first: &str| {
        std::iter::once(first.to_string())
            .chain(arguments.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let backward = if from_output {
        format!("{}_backward_from_output", call.function)
    } else {
        format!("{}_backward", call.function)
    };
    let glue = format!(
        "// The op: {op}.\n\
         fn apply_forward(x: Value, index: Index) -> Value {{\n    return {forward}{suffix}({forward_args});\n}}\n\
         fn apply_backward(x: Value, g: Value, index: Index) -> Value {{\n    return {backward}{suffix}({backward_args});\n}}\n",
        forward = call.function,
        forward_args = with("x"),
        backward_args = with("x, g"),
    );
    let roots = [
        format!("{}{suffix}", call.function),
        format!("{backward}{suffix}"),
        "wa_narrow_f16".to_string(),
    ];
    let f16 = layout.dtype() == DType::F16;
    let mut parts = vec![
        preamble(layout.dtype(), ElementwiseParams::WGSL),
        strip_enable(&crate::wgsl::closure_source(&roots, f16)),
        layout.prelude(),
    ];
    if op.uses_weight() {
        parts.push(weight_snippet(layout, weights));
    }
    parts.push(epilogue_snippet(layout, epilogue));
    parts.push(thread_snippet(weights).to_string());
    parts.push(ELEMENTWISE_TEMPLATE.to_string());
    parts.push(accessors(in_place).to_string());
    parts.push(glue);
    parts.join("\n")
}

/// The complete WGSL of the PReLU weight-gradient module for `dtype`.
pub(crate) fn prelu_weight_grad_module(dtype: DType, term: ReduceTerm) -> String {
    let layout = StorageLayout::Scalar(dtype);
    let f16 = dtype == DType::F16;
    // A NaN input fails `x > 0` and so reaches the sum as NaN.
    let prelu =
        "fn reduce_term(x: f32, g: f32) -> f32 {\n    return select(x * g, 0.0, x > 0.0);\n}\n";
    let plain_input = "fn reduce_input(i: u32) -> f32 {\n    return widen(x[i]);\n}\n";
    let term = match term {
        ReduceTerm::PreluWeight => format!("{prelu}{plain_input}"),
        ReduceTerm::PreluWeightBiased => format!(
            "{prelu}\
             @group(0) @binding(5) var<storage, read> bias: array<Stored>;\n\
             // x + bias in f32, as the fused kernel computes it; `i` is in the\n\
             // bound piece, the bias's channel from the whole tensor's index.\n\
             fn reduce_input(i: u32) -> f32 {{\n    \
             let c = ((i + reduce.piece_start) / reduce.bias_inner) % reduce.bias_channels;\n    \
             return widen(x[i]) + widen(bias[c]);\n}}\n"
        ),
        ReduceTerm::Gradient => {
            format!("fn reduce_term(x: f32, g: f32) -> f32 {{\n    return g;\n}}\n{plain_input}")
        }
    };
    [
        preamble(dtype, ReduceParams::WGSL),
        format!("const ELEMENTS_PER_THREAD: u32 = {ELEMENTS_PER_THREAD}u;\n"),
        strip_enable(&crate::wgsl::closure_source(
            &["wa_narrow_f16".to_string()],
            f16,
        )),
        layout.prelude(),
        term,
        PRELU_WEIGHT_GRAD_TEMPLATE.to_string(),
    ]
    .join("\n")
}

/// What the per-channel reduction adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReduceTerm {
    /// PReLU's weight gradient: `x g` where `x <= 0`.
    PreluWeight,
    /// A bias's gradient: the gradient `g` itself.
    Gradient,
    /// PReLU's weight gradient under a fused bias: `z g` where `z = x +
    /// bias[c] <= 0` (the bias at binding 5).
    PreluWeightBiased,
}

/// The library text without its `enable` line (the preamble has it).
fn strip_enable(source: &str) -> String {
    source
        .strip_prefix("enable f16;\n")
        .unwrap_or(source)
        .to_string()
}

pub(crate) mod gated;
pub(crate) mod row;

/// Parses and validates a kernel module with naga, panicking with the
/// error drawn over the source (the unit tests' check of every kernel).
#[cfg(test)]
pub(crate) fn parse_validated(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
    module
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::parse_validated as parse;

    /// Every op with parameters that select each of its WGSL functions.
    fn every_kernel_op() -> Vec<Activation> {
        let mut ops = Activation::all_defaults();
        ops.push(Activation::Rrelu {
            lower: 0.1,
            upper: 0.3,
            training: true,
            seed: 7,
        });
        ops.push(Activation::Gelu {
            approximate: crate::activation::GeluApproximate::Tanh,
        });
        ops
    }

    #[test]
    fn every_elementwise_module_validates_with_naga() {
        for op in every_kernel_op() {
            for layout in StorageLayout::ALL {
                for (from_output, in_place) in
                    [(false, false), (true, false), (false, true), (true, true)]
                {
                    if from_output && !op.backward_from_output_supported() {
                        continue;
                    }
                    let weight_layouts = if op.uses_weight() {
                        WeightLayout::WEIGHTED.to_vec()
                    } else {
                        vec![WeightLayout::None]
                    };
                    for weights in weight_layouts {
                        let source = elementwise_module(
                            &op,
                            layout,
                            from_output,
                            in_place,
                            weights,
                            EpilogueKey::default(),
                        );
                        let module = parse(
                        &format!("{op} {layout:?} from_output {from_output} in_place {in_place} {weights:?}"),
                        &source,
                    );
                        let entries: Vec<&str> = module
                            .entry_points
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect();
                        assert_eq!(entries, ["forward", "backward"], "{op}");
                        for entry in &module.entry_points {
                            assert_eq!(entry.workgroup_size, [WORKGROUP_SIZE, 1, 1], "{op}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn fused_modules_validate_with_naga() {
        for op in every_kernel_op() {
            for layout in StorageLayout::ALL {
                let biases = [
                    None,
                    Some(BiasLayout::PerThread),
                    Some(BiasLayout::Consecutive),
                    Some(BiasLayout::PerLane),
                ];
                for (bias, residual) in biases.into_iter().flat_map(|b| [(b, false), (b, true)]) {
                    let weights = WeightLayout::choose(&op, layout, 3, 4, [0, 0]);
                    let source = elementwise_module(
                        &op,
                        layout,
                        false,
                        false,
                        weights,
                        EpilogueKey { bias, residual },
                    );
                    let module = parse(&format!("{op} {layout:?} {bias:?} {residual}"), &source);
                    assert_eq!(module.entry_points.len(), 2, "{op}");
                }
            }
        }
    }

    /// The in-place kernels are the template with other accessors: every
    /// other line is the same, and nothing binds the gradient separately.
    #[test]
    fn in_place_modules_differ_only_in_their_accessors() {
        for op in [Activation::Prelu, Activation::Silu, Activation::Relu] {
            for layout in StorageLayout::ALL {
                let weights = WeightLayout::choose(&op, layout, 3, 5, [0, 0]);
                let plain = EpilogueKey::default();
                let out_of_place = elementwise_module(&op, layout, true, false, weights, plain);
                let in_place = elementwise_module(&op, layout, true, true, weights, plain);
                assert!(out_of_place.contains(ELEMENTWISE_TEMPLATE));
                assert!(in_place.contains(ELEMENTWISE_TEMPLATE));
                assert_eq!(
                    out_of_place.replace(accessors(false), ""),
                    in_place.replace(accessors(true), ""),
                    "{op} {layout:?}"
                );
                assert!(!in_place.contains("@binding(2)"), "{op} {layout:?}");
                assert!(out_of_place.contains("@binding(2)"), "{op} {layout:?}");
            }
        }
    }

    #[test]
    fn prelu_weight_grad_modules_validate_with_naga() {
        for dtype in [DType::F32, DType::F16] {
            for term in [
                ReduceTerm::PreluWeight,
                ReduceTerm::Gradient,
                ReduceTerm::PreluWeightBiased,
            ] {
                let module = parse(
                    &format!("prelu_weight_grad {dtype:?} {term:?}"),
                    &prelu_weight_grad_module(dtype, term),
                );
                for entry in &module.entry_points {
                    assert_eq!(entry.workgroup_size, [WORKGROUP_SIZE, 1, 1]);
                }
            }
        }
    }

    /// The WGSL struct as naga lays it out: (member, offset), and its size.
    fn wgsl_layout(module: &naga::Module, name: &str) -> (Vec<(String, usize)>, usize) {
        let ty = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no struct {name}"))
            .1;
        match &ty.inner {
            naga::TypeInner::Struct { members, span } => (
                members
                    .iter()
                    .map(|m| (m.name.clone().unwrap(), m.offset as usize))
                    .collect(),
                *span as usize,
            ),
            other => panic!("{name} is {other:?}"),
        }
    }

    #[test]
    fn parameter_blocks_match_their_wgsl_structs() {
        let module = parse(
            "elementwise",
            &elementwise_module(
                &Activation::Relu,
                StorageLayout::Vec4(DType::F32),
                false,
                false,
                WeightLayout::None,
                EpilogueKey::default(),
            ),
        );
        let (members, size) = wgsl_layout(&module, ElementwiseParams::WGSL_NAME);
        let rust: Vec<(String, usize)> = ElementwiseParams::layout()
            .into_iter()
            .map(|(n, o)| (n.to_string(), o))
            .collect();
        assert_eq!(members, rust);
        assert_eq!(size, std::mem::size_of::<ElementwiseParams>());

        let module = parse(
            "reduce",
            &prelu_weight_grad_module(DType::F32, ReduceTerm::PreluWeight),
        );
        let (members, size) = wgsl_layout(&module, ReduceParams::WGSL_NAME);
        let rust: Vec<(String, usize)> = ReduceParams::layout()
            .into_iter()
            .map(|(n, o)| (n.to_string(), o))
            .collect();
        assert_eq!(members, rust);
        assert_eq!(size, std::mem::size_of::<ReduceParams>());
    }

    /// The shader's division by magic numbers, in Rust.
    fn divide(n: u32, (magic, shifts): (u32, u32)) -> u32 {
        let t = ((u64::from(magic) * u64::from(n)) >> 32) as u32;
        (t + ((n - t) >> (shifts & 0xff))) >> (shifts >> 8)
    }

    #[test]
    fn division_by_magic_numbers_is_exact() {
        let mut divisors: Vec<u32> = (1..=4100).collect();
        divisors.extend([7919, 65535, 65536, 65537, 1_000_000, 16_777_217]);
        divisors.extend([
            (1 << 31) - 1,
            1 << 31,
            (1 << 31) + 1,
            u32::MAX - 1,
            u32::MAX,
        ]);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for d in divisors {
            let magic = division_magic(d);
            let mut numerators = vec![0, 1, d - 1, d, d.wrapping_add(1), u32::MAX, u32::MAX - 1];
            numerators.extend((1..40u32).map(|k| d.wrapping_mul(k).wrapping_sub(1)));
            for _ in 0..64 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                numerators.push(state as u32);
            }
            for n in numerators {
                assert_eq!(divide(n, magic), n / d, "{n} / {d}");
            }
        }
    }

    #[test]
    fn weight_grad_chunk_is_workgroup_times_elements() {
        let source = prelu_weight_grad_module(DType::F32, ReduceTerm::PreluWeight);
        assert!(source.contains("const CHUNK: u32 = WORKGROUP_SIZE * ELEMENTS_PER_THREAD;"));
        assert_eq!(WEIGHT_GRAD_CHUNK, WORKGROUP_SIZE * ELEMENTS_PER_THREAD);
    }

    #[test]
    fn kernel_arguments_follow_the_definition() {
        assert_eq!(
            kernel_arguments(&Activation::Softplus {
                beta: 2.0,
                threshold: 10.0
            }),
            ["params.p0", "params.p1"]
        );
        assert_eq!(
            kernel_arguments(&Activation::Rrelu {
                lower: 0.1,
                upper: 0.2,
                training: true,
                seed: 1
            }),
            [
                "params.p0",
                "params.p1",
                "vec2<u32>(params.seed_lo, params.seed_hi)",
                "index"
            ]
        );
        assert_eq!(
            kernel_arguments(&Activation::Prelu),
            ["channel_weights(index)"]
        );
    }
}

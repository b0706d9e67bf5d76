// The row kernels: softmax, log_softmax and softmin along any dimension,
// forward and backward (the CPU twin is `src/cpu/softmax.rs`). One template
// for every op, element type and row layout; `src/kernels/row.rs` puts it
// together after the parameter block `RowParams`, `WORKGROUP_SIZE`, the
// library helpers (`wa_exp`, `wa_log1p_unit`, ...), the storage prelude
// (`Stored`, `Value`, `widen`, `narrow`: scalar, or vec4 where VEC is 4),
// the layout's constants (`VEC`, `value_component`, ...), the op's
// constants (`NEGATE`, `LOG_OUTPUT`), the invocation ids (`Ids`, `lane_of`)
// and the exchange between lanes (`exchange_f32`, `exchange_pair`: subgroup
// shuffles where the adapter has them, workgroup memory otherwise, in the
// same order, so with the same bits); the entry points follow, from
// `softmax_forward.wgsl` or `softmax_backward.wgsl`.
//
// A row is the `n` elements `(r / inner) * n * inner + r % inner + j *
// inner`, j < n, of row r. A workgroup of WORKGROUP_SIZE lanes holds
// ROWS_PER_GROUP rows of THREADS_PER_ROW lanes each; lane t of a row reads
// the elements j = chunk * CHUNK + t + k * THREADS_PER_ROW for k <
// PER_THREAD, so that lanes next to each other read addresses next to each
// other: the lanes of a row are adjacent (LANE_STRIDE = 1) when rows are
// contiguous (inner = 1), and the rows of a group are adjacent (LANE_STRIDE
// = ROWS_PER_GROUP) when they are strided (the dimension is not the last).
// Contiguous rows whose length and bound window are multiples of 4, where a
// lane holds a multiple of 4 elements, are read and written VEC = 4
// elements at a time (`Stored` is then a vec4, `widen` gives a `Value` of
// 4): lane t reads elements 4t .. 4t + 3, then 4 (t + THREADS_PER_ROW) ..
// and so on (`element_j`): one 16-byte access (8 for f16) instead of four
// on a GPU, and on a CPU adapter (where every access of a lane is a gather
// or scatter of its own) a quarter of the loads and stores.
//
// Passes:
//   `fused`: a row fits one chunk (n <= CHUNK): read it into registers, its
//       maximum, the sum of exp(x - max), write the output. One read and
//       one write of the data.
//   `partials`, `combine`, `normalize`: longer rows, split into chunks
//       handled by different workgroups. `partials` writes each chunk's
//       maximum and sum of exp(x - chunk max) (backward: its sum) to
//       `scratch[row * total_chunks + chunk]`; `combine` (one workgroup per
//       row) takes the row maximum M as the maximum of the chunk maxima and
//       adds the chunk sums, each rescaled once by exp(chunk max - M) (the
//       online max-and-sum), into `scratch[stats_base + row]`; `normalize`
//       reads the chunk again and writes the output from those statistics.
//
// Numerics: x - max is computed exactly as a two-sum (its rounding error is
// folded into the exp), so exp(x - max) keeps a few ulps however far x is
// below the maximum; every sum is double-f32 (each addition keeps its exact
// rounding error in a second word) and added in a fixed order (per lane in
// index order, then a fixed binary tree over the lanes), so results are the
// same bits on every run and do not lose accuracy with the row length.
// log_softmax is (x - max) - log(sum) with the log of the double-f32 sum
// taken as log1p of its part beyond 1, which keeps the log-probability of a
// dominant maximum (-1e-20, say) to a few ulps.
//
// Special values: a NaN makes its row NaN (the maximum is NaN); exp(x - max)
// is exactly 1 where x equals the maximum, so that an infinite maximum
// counts the entries equal to it; a row whose maximum is infinite and not
// unique (two +inf, or only -inf) is NaN, one with a single +inf gives the
// one-hot limit.

@group(0) @binding(0) var<uniform> params: RowParams;
@group(0) @binding(1) var<storage, read> src: array<Stored>;
@group(0) @binding(3) var<storage, read_write> dst: array<Stored>;
@group(0) @binding(4) var<storage, read_write> scratch: array<vec4<f32>>;

// Two buffers used in turn, so that one barrier per exchange is enough: a
// lane writes one buffer while slower lanes may still read the other, and
// the barrier of the next exchange separates the reads of a buffer from its
// next writes. Every lane makes the same exchanges, so `exchange_turn` is
// the same in all of them.
var<workgroup> exchange_memory: array<array<vec2<f32>, WORKGROUP_SIZE>, 2>;
var<private> exchange_turn: u32 = 0u;

const CHUNK: u32 = THREADS_PER_ROW * PER_THREAD;

fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// The larger of a and b, NaN if either is.
fn max_nan(a: f32, b: f32) -> f32 {
    return select(a, b, (b > a) | wa_is_nan(b));
}

// `v`, hidden from the driver's compiler: shader compilers may rewrite
// `(a + b) - a` as `b` (SPIR-V from WGSL carries no exactness decoration, and
// Mesa's NIR does it), which would make every rounding error below 0.
// `params.zero` is 0, but the compiler cannot know it.
fn hide(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ params.zero);
}

// The exact rounding error of s = a + b (Knuth's two-sum); 0 where s is
// infinite or NaN, or where an intermediate overflows (|s - a| just past
// f32's largest value: the error is then below an ulp of s, which is what
// is lost).
fn two_sum_error(a: f32, b: f32, s: f32) -> f32 {
    let bb = hide(hide(s) - a);
    let error = (a - hide(s - bb)) + (b - bb);
    return select(0.0, error, is_finite(s) & is_finite(error));
}

// (a.x + a.y) + (b.x + b.y) as a new pair: the sum of the high words and its
// exact rounding error, added to the low words.
fn pair_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = a.x + b.x;
    return vec2<f32>(s, (a.y + b.y) + two_sum_error(a.x, b.x, s));
}

// The exact rounding error of d = x - m.
fn shift_error(x: f32, m: f32, d: f32) -> f32 {
    return two_sum_error(x, -m, d);
}

// exp(x - m) for x <= m, with x - m exact: exp(d + e) = exp(d) (1 + e) to far
// below an ulp, since |e| <= 2^-17 wherever the result is not 0. Exactly 1
// where x == m (an infinite maximum included); 0 for x = -inf below a finite m.
fn exp_below(x: f32, m: f32) -> f32 {
    let d = x - m;
    let e = wa_exp(d);
    return select(e + e * shift_error(x, m, d), 1.0, x == m);
}

// log(s.x + s.y) for s.x >= 1: s.x = f 2^k with f in [1, 2), so the log is
// k ln2 + log1p((f - 1) + s.y / 2^k), f - 1 exact.
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.4286068203094172e-06;

fn log_pair(s: vec2<f32>) -> f32 {
    let parts = frexp(s.x);
    let k = parts.exp - 1;
    let beyond = (parts.fract * 2.0 - 1.0) + ldexp(s.y, -k);
    let kf = f32(k);
    return kf * LN2_HI + (wa_log1p_unit(beyond) + kf * LN2_LO);
}

// Lane `lane ^ mask`'s value, through workgroup memory (one barrier).
fn exchange_through_memory(v: vec2<f32>, lane: u32, mask: u32) -> vec2<f32> {
    let turn = exchange_turn;
    exchange_turn = 1u - turn;
    exchange_memory[turn][lane] = v;
    workgroupBarrier();
    return exchange_memory[turn][lane ^ mask];
}

// The reductions over the THREADS_PER_ROW (or `levels`) lanes of a row: at
// level k each lane combines its value with that of the lane whose index in
// the row differs in bit k, the lower lane's value first, so every lane of
// the row ends with the same bits: a fixed binary tree. Every lane of the
// workgroup must call them (barriers).
fn reduce_max(value: f32, lane: u32, levels: u32, stride: u32) -> f32 {
    var v = value;
    for (var k = 0u; k < levels; k = k + 1u) {
        let mask = stride << k;
        let other = exchange_f32(v, lane, mask);
        let low = (lane & mask) == 0u;
        v = max_nan(select(other, v, low), select(v, other, low));
    }
    return v;
}

fn reduce_sum(value: vec2<f32>, lane: u32, levels: u32, stride: u32) -> vec2<f32> {
    var v = value;
    for (var k = 0u; k < levels; k = k + 1u) {
        let mask = stride << k;
        let other = exchange_pair(v, lane, mask);
        let low = (lane & mask) == 0u;
        v = pair_add(select(other, v, low), select(v, other, low));
    }
    return v;
}

// ----------------------------------------------------------- the row layout

// Which row of the group, and which of its lanes, a lane is.
fn group_row(lane: u32) -> u32 {
    if (LANE_STRIDE == 1u) {
        return lane / THREADS_PER_ROW;
    }
    return lane % ROWS_PER_GROUP;
}

fn row_thread(lane: u32) -> u32 {
    if (LANE_STRIDE == 1u) {
        return lane % THREADS_PER_ROW;
    }
    return lane / ROWS_PER_GROUP;
}

// What a workgroup works on: a tile of rows and one chunk of them.
struct Work {
    valid: bool,
    // The row's global index, and whether this lane has one.
    row: u32,
    has_row: bool,
    // Index in the bound window of the row's element j = 0.
    base: u32,
    // The first j of this lane in the chunk.
    first: u32,
}

fn work_of(ids: Ids, lane: u32) -> Work {
    let flat = ids.workgroup.y * ids.workgroups.x + ids.workgroup.x;
    // (Not (row_count + ROWS_PER_GROUP - 1) / ROWS_PER_GROUP: row_count may
    // be close to 2^32 where one binding holds that many elements.)
    let tiles = params.row_count / ROWS_PER_GROUP + select(0u, 1u, params.row_count % ROWS_PER_GROUP != 0u);
    var work: Work;
    work.valid = flat < tiles * params.chunk_count;
    let tile = flat / params.chunk_count;
    let chunk = params.chunk_first + flat % params.chunk_count;
    let local_row = tile * ROWS_PER_GROUP + group_row(lane);
    work.has_row = work.valid & (local_row < params.row_count);
    work.row = params.row_first + local_row;
    let block = work.row / params.inner;
    work.base = select(0u, block * params.n * params.inner + work.row % params.inner - params.window, work.has_row);
    work.first = chunk * CHUNK + row_thread(lane) * VEC;
    return work;
}

// The lane's element k: loads of VEC neighbouring elements, THREADS_PER_ROW
// loads apart (k = 0, 1, ... THREADS_PER_ROW apart where VEC is 1).
fn element_j(work: Work, k: u32) -> u32 {
    return work.first + (k / VEC) * (THREADS_PER_ROW * VEC) + k % VEC;
}

fn in_row(work: Work, j: u32) -> bool {
    return work.has_row & (j < params.n);
}

fn at(work: Work, j: u32) -> u32 {
    return work.base + j * params.inner;
}

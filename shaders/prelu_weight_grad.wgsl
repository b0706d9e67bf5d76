// Per-channel sums in a fixed order: the PReLU weight gradient,
//     grad_weight[c] = sum over the elements i of channel c of (x[i] > 0 ? 0 : x[i] * g[i]),
// and a fused bias's gradient, grad_bias[c] = sum of g[i] (`reduce_term`,
// put before this template, says which; `reduce_input` reads x[i], or
// x[i] + bias[..] for PReLU's weight gradient under a fused bias).
// Twin of `cpu::prelu_weight_grad`. `src/shaders.rs` puts it after the
// parameter block `ReduceParams`, `WORKGROUP_SIZE`, `ELEMENTS_PER_THREAD` and
// the scalar storage prelude of the element type (`Stored`, `widen`,
// `narrow`); products and sums are f32 either way, rounded once at the end.
// Two passes, no atomics, so the summation order (and with it every bit of
// the result) is the same on every run:
//   `partial_sums`: one workgroup per (channel, chunk of CHUNK elements of
//       that channel); each thread adds ELEMENTS_PER_THREAD elements with
//       Kahan compensation, then the workgroup adds its threads' sums as a
//       fixed binary tree. A tensor larger than one storage binding is bound
//       piece by piece (elements `piece_start` to `piece_start + piece_len`
//       of the whole tensor); each piece's chunks of each channel follow the
//       previous pieces' (`chunk_base`), and chunks a channel does not fill
//       are written as 0.
//   `channel_sums`: one workgroup per channel adds that channel's chunk sums
//       the same way.
// The error is then about (log2(n) + 2) * eps * sum(|x * g|) at worst, for
// n elements per channel, instead of the n * eps of a running sum.

@group(0) @binding(0) var<uniform> reduce: ReduceParams;
@group(0) @binding(1) var<storage, read> x: array<Stored>;
@group(0) @binding(2) var<storage, read> g: array<Stored>;
@group(0) @binding(3) var<storage, read_write> chunk_sums: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_weight: array<Stored>;

const CHUNK: u32 = WORKGROUP_SIZE * ELEMENTS_PER_THREAD;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

struct Compensated {
    sum: f32,
    carry: f32,
}

fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// Kahan step; the carry is dropped once the sum is inf or NaN, so that an
// infinite term gives an infinite sum rather than inf - inf = NaN.
fn add_compensated(acc: Compensated, term: f32) -> Compensated {
    let y = term - acc.carry;
    let t = acc.sum + y;
    let carry = select(0.0, (t - acc.sum) - y, is_finite(t));
    return Compensated(t, carry);
}

// Index in the whole tensor of the j-th element of channel c.
fn channel_element(c: u32, j: u32) -> u32 {
    let outer = j / reduce.inner;
    let within = j % reduce.inner;
    return (outer * reduce.channels + c) * reduce.inner + within;
}

// How many elements of channel c come before element p of the whole tensor.
fn channel_elements_before(c: u32, p: u32) -> u32 {
    let block = reduce.channels * reduce.inner;
    let rest = p % block;
    let start = c * reduce.inner;
    let partial = select(0u, select(reduce.inner, rest - start, rest - start < reduce.inner), rest > start);
    return (p / block) * reduce.inner + partial;
}

// Adds scratch[0..WORKGROUP_SIZE] as a fixed binary tree; the total ends in scratch[0].
fn workgroup_tree_sum(local: u32, value: f32) {
    scratch[local] = value;
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if (local < stride) {
            scratch[local] = scratch[local] + scratch[local + stride];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn partial_sums(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let flat = workgroup.y * workgroups.x + workgroup.x;
    if (flat >= reduce.channels * reduce.chunks_per_channel) {
        return;
    }
    let c = flat / reduce.chunks_per_channel;
    let chunk = flat % reduce.chunks_per_channel;
    // Channel c's elements in this piece: j in [first, end).
    let first = channel_elements_before(c, reduce.piece_start);
    let end = channel_elements_before(c, reduce.piece_start + reduce.piece_len);
    var acc = Compensated(0.0, 0.0);
    for (var k = 0u; k < ELEMENTS_PER_THREAD; k = k + 1u) {
        let j = first + chunk * CHUNK + k * WORKGROUP_SIZE + local;
        if (j < end) {
            let i = channel_element(c, j) - reduce.piece_start;
            let xi = reduce_input(i);
            // A NaN input fails `xi > 0` and so reaches the sum as NaN.
            acc = add_compensated(acc, reduce_term(xi, widen(g[i])));
        }
    }
    workgroup_tree_sum(local, acc.sum);
    if (local == 0u) {
        chunk_sums[c * reduce.total_chunks + reduce.chunk_base + chunk] = scratch[0];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn channel_sums(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let c = workgroup.y * workgroups.x + workgroup.x;
    if (c >= reduce.channels) {
        return;
    }
    var acc = Compensated(0.0, 0.0);
    for (var m = local; m < reduce.total_chunks; m = m + WORKGROUP_SIZE) {
        acc = add_compensated(acc, chunk_sums[c * reduce.total_chunks + m]);
    }
    workgroup_tree_sum(local, acc.sum);
    if (local == 0u) {
        grad_weight[c] = narrow(scratch[0]);
    }
}

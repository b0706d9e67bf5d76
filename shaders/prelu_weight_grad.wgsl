// PReLU weight gradient:
//     grad_weight[c] = sum over the elements i of channel c of (x[i] > 0 ? 0 : x[i] * g[i])
// Twin of `cpu::prelu_weight_grad`. Follows a storage prelude (`reduce_f32.wgsl`
// or `reduce_f16.wgsl`) that binds x, g and grad_weight and defines `load_x`,
// `load_g` and `store_grad_weight`; sums are f32 either way. Two passes, no atomics, so the
// summation order (and with it every bit of the result) is the same on every run:
//   `partial_sums`: one workgroup per (channel, chunk of CHUNK elements); each
//       thread adds ELEMENTS_PER_THREAD elements with Kahan compensation, then
//       the workgroup adds its threads' sums as a fixed binary tree.
//   `channel_sums`: one workgroup per channel adds that channel's chunk sums
//       the same way.
// The error is then about (log2(n) + 2) * eps * sum(|x * g|) at worst, for
// n elements per channel, instead of the n * eps of a running sum.

struct ReduceParams {
    // Elements per channel (N * inner, or every element for a shared weight).
    per_channel: u32,
    channels: u32,
    inner: u32,
    chunks_per_channel: u32,
    // The bits of f32 +inf (0x7f800000), for the f16 prelude: WGSL rejects
    // non-finite constants.
    inf_bits: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> reduce: ReduceParams;
@group(0) @binding(3) var<storage, read_write> chunk_sums: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;
const ELEMENTS_PER_THREAD: u32 = 16u;
const CHUNK: u32 = 4096u; // WORKGROUP_SIZE * ELEMENTS_PER_THREAD

var<workgroup> scratch: array<f32, 256>;

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

// Index in the input of the j-th element of channel c.
fn channel_element(c: u32, j: u32) -> u32 {
    let outer = j / reduce.inner;
    let within = j % reduce.inner;
    return (outer * reduce.channels + c) * reduce.inner + within;
}

// Adds scratch[0..256] as a fixed binary tree; the total ends in scratch[0].
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

@compute @workgroup_size(256)
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
    var acc = Compensated(0.0, 0.0);
    for (var k = 0u; k < ELEMENTS_PER_THREAD; k = k + 1u) {
        let j = chunk * CHUNK + k * WORKGROUP_SIZE + local;
        if (j < reduce.per_channel) {
            let i = channel_element(c, j);
            let xi = load_x(i);
            // A NaN input fails `xi > 0` and so reaches the sum as NaN.
            acc = add_compensated(acc, select(xi * load_g(i), 0.0, xi > 0.0));
        }
    }
    workgroup_tree_sum(local, acc.sum);
    if (local == 0u) {
        chunk_sums[flat] = scratch[0];
    }
}

@compute @workgroup_size(256)
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
    for (var m = local; m < reduce.chunks_per_channel; m = m + WORKGROUP_SIZE) {
        acc = add_compensated(acc, chunk_sums[c * reduce.chunks_per_channel + m]);
    }
    workgroup_tree_sum(local, acc.sum);
    if (local == 0u) {
        store_grad_weight(c, scratch[0]);
    }
}

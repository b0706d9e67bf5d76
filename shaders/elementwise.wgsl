// The elementwise kernel: one template for every op, element type, storage
// layout and placement. `src/shaders.rs` puts it together after the
// parameter block `Params`, `WORKGROUP_SIZE`, the library functions the op
// calls and the storage layout's prelude (`Stored`: the element type in
// memory, a vec4 or one element, four f16 as two u32 words; `Value`: the
// same in f32; `Index`; `LANES`; `LANE_OFFSETS`; `widen`; `narrow`;
// `keep_lanes`, which keeps the old bits of lanes), and before the placement's accessors
// and the op's glue (`apply_forward`, `apply_backward`: calls of the op's
// WGSL functions with its parameters from `params`).
//
// Each thread reads and writes one `Stored`. A vec4 layout is chosen by the
// host when every bound range is vec4-aligned and holds whole vec4s; the
// last, partial vec4 is blended so that elements past `params.len` are
// written back unchanged. `backward` reads the forward's input (or output)
// from `src`.
//
// A fused forward adds `pre_activation(x, index)` (the bias of each
// element's channel) before the op and `finish(y, v)` (the residual) after
// it; its backward takes the gradient at `pre_activation(x, index)`. Both
// are the identity for the plain op.
//
// The placement's accessors say where the other operands are read:
// `load_input(v)` (the forward's input) and `load_grad(v)` (the gradient of
// the output). Out of place they read `src` and a third binding `grad`. In
// place they read `dst` itself, bound once as read_write (binding a buffer
// both read-only and read-write in one dispatch is invalid): the forward
// overwrites its input, the backward overwrites `grad_output` with
// `grad_input`. Each thread reads its `Stored` before writing the same
// one, so no thread reads what another wrote.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<Stored>;
@group(0) @binding(3) var<storage, read_write> dst: array<Stored>;

// What `thread_vector` returns to a thread with no `Stored` to handle.
const WA_NO_VECTOR: u32 = 0xffffffffu;

// Linear thread index over a dispatch folded into a 2-D grid of workgroups
// (`thread_vector`, put together with the template, uses it or the grid's
// own meaning for PReLU's channels).
fn linear_thread(workgroup: vec3<u32>, workgroups: vec3<u32>, local: u32) -> u32 {
    return (workgroup.y * workgroups.x + workgroup.x) * WORKGROUP_SIZE + local;
}

// The indices of the elements of the `Stored` that starts at element `first`.
fn lane_indices(first: u32) -> Index {
    return Index(first) + LANE_OFFSETS;
}

// Writes `value` to `dst[v]`; lanes past `params.len` keep what they held.
fn store(v: u32, first: u32, value: Value) {
    let stored = narrow(value);
    if (first + LANES <= params.len) {
        dst[v] = stored;
    } else {
        dst[v] = keep_lanes(stored, dst[v], lane_indices(first) >= Index(params.len));
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let v = thread_vector(workgroup, workgroups, local);
    if (v == WA_NO_VECTOR || v * LANES >= params.len) {
        return;
    }
    let first = v * LANES;
    let index = lane_indices(first) + Index(params.base);
    store(v, first, finish(apply_forward(pre_activation(widen(load_input(v)), index), index), v));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let v = thread_vector(workgroup, workgroups, local);
    if (v == WA_NO_VECTOR || v * LANES >= params.len) {
        return;
    }
    let first = v * LANES;
    let index = lane_indices(first) + Index(params.base);
    store(v, first, apply_backward(pre_activation(widen(src[v]), index), widen(load_grad(v)), index));
}

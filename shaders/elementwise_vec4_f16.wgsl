// Storage layout "vec4 f16": f16 in memory, f32 arithmetic (each value is
// widened on load and rounded once on store). Each thread reads and writes one
// vec4 (four elements). Chosen by the host when every bound range is 8-byte aligned and
// holds whole vec4s; the last, partial vec4 is blended so that elements past
// `params.len` are written back unchanged.

@group(0) @binding(1) var<storage, read> src: array<vec4<f16>>;
@group(0) @binding(2) var<storage, read> grad: array<vec4<f16>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f16>>;
@group(0) @binding(4) var<storage, read> weight: array<f16>;

fn load_weight(i: u32) -> f32 {
    return f32(weight[i]);
}

// f32 to f16, rounding past f16's range to +-inf and keeping NaN (WGSL
// leaves out-of-range conversions open). Infinity and NaN are converted from
// f32 ones, which f16 represents (the infinity comes from the parameter block:
// WGSL rejects non-finite constants; and no `inf - inf`, which compilers fold to 0).
fn narrow4(v: vec4<f32>) -> vec4<f16> {
    let inf = f16(bitcast<f32>(params.inf_bits));
    let overflow = abs4(v) >= vec4<f32>(65520.0);
    let nan = is_nan4(v);
    let finite = vec4<f16>(select(v, vec4<f32>(0.0), overflow | nan));
    let infinite = select(vec4<f16>(inf), vec4<f16>(-inf), v < vec4<f32>(0.0));
    return select(select(finite, infinite, overflow), vec4<f16>(v), nan);
}

fn lane_indices(first: u32) -> vec4<u32> {
    return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u);
}

fn store_blended(v: u32, first: u32, value32: vec4<f32>) {
    let value = narrow4(value32);
    if (first + 4u <= params.len) {
        dst[v] = value;
    } else {
        let past_end = lane_indices(first) >= vec4<u32>(params.len);
        dst[v] = select(value, dst[v], past_end);
    }
}

@compute @workgroup_size(256)
fn forward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let v = linear_thread(workgroup, workgroups, local);
    let first = v * 4u;
    if (first >= params.len) {
        return;
    }
    let index = lane_indices(first) + vec4<u32>(params.base);
    store_blended(v, first, forward_op(vec4<f32>(src[v]), index));
}

@compute @workgroup_size(256)
fn backward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let v = linear_thread(workgroup, workgroups, local);
    let first = v * 4u;
    if (first >= params.len) {
        return;
    }
    let index = lane_indices(first) + vec4<u32>(params.base);
    store_blended(v, first, backward_op(vec4<f32>(src[v]), vec4<f32>(grad[v]), index));
}

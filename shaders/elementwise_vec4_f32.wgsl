// Storage layout "vec4 f32": each thread reads and writes one vec4 (four
// elements). Chosen by the host when every bound range is 16-byte aligned and
// holds whole vec4s; the last, partial vec4 is blended so that elements past
// `params.len` are written back unchanged.

@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;

fn load_weight(i: u32) -> f32 {
    return weight[i];
}

fn lane_indices(first: u32) -> vec4<u32> {
    return vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u);
}

fn store_blended(v: u32, first: u32, value: vec4<f32>) {
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
    store_blended(v, first, forward_op(src[v], index));
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
    store_blended(v, first, backward_op(src[v], grad[v], index));
}

// Storage layout "scalar f32": one element per thread. The fallback for bound
// ranges that are not 16-byte aligned or do not hold whole vec4s (a caller's
// buffer of exactly 3 floats, say). The op functions work on vec4, so the
// element is splatted and lane 0 kept.

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;

fn load_weight(i: u32) -> f32 {
    return weight[i];
}

@compute @workgroup_size(256)
fn forward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let i = linear_thread(workgroup, workgroups, local);
    if (i >= params.len) {
        return;
    }
    let index = vec4<u32>(i + params.base);
    dst[i] = forward_op(vec4<f32>(src[i]), index).x;
}

@compute @workgroup_size(256)
fn backward(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let i = linear_thread(workgroup, workgroups, local);
    if (i >= params.len) {
        return;
    }
    let index = vec4<u32>(i + params.base);
    dst[i] = backward_op(vec4<f32>(src[i]), vec4<f32>(grad[i]), index).x;
}

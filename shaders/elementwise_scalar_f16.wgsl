// Storage layout "scalar f16": f16 in memory, f32 arithmetic, one element per
// thread. The fallback for bound ranges that are not 8-byte aligned or do not
// hold whole vec4s of f16. The op functions work on vec4, so the
// element is splatted and lane 0 kept.

@group(0) @binding(1) var<storage, read> src: array<f16>;
@group(0) @binding(2) var<storage, read> grad: array<f16>;
@group(0) @binding(3) var<storage, read_write> dst: array<f16>;
@group(0) @binding(4) var<storage, read> weight: array<f16>;

fn load_weight(i: u32) -> f32 {
    return f32(weight[i]);
}

// f32 to f16 as `narrow4` of the vec4 layout: +-inf past f16's range, NaN kept.
fn narrow1(v: f32) -> f16 {
    let inf = f16(bitcast<f32>(params.inf_bits));
    let overflow = abs4(vec4<f32>(v)).x >= 65520.0;
    let nan = is_nan4(vec4<f32>(v)).x;
    let finite = f16(select(v, 0.0, overflow || nan));
    let infinite = select(inf, -inf, v < 0.0);
    return select(select(finite, infinite, overflow), f16(v), nan);
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
    dst[i] = narrow1(forward_op(vec4<f32>(f32(src[i])), index).x);
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
    dst[i] = narrow1(backward_op(vec4<f32>(f32(src[i])), vec4<f32>(f32(grad[i])), index).x);
}

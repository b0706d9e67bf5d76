// The lanes of the row kernels (`softmax.wgsl`) without subgroup
// operations: a lane is its local invocation index, and lanes exchange
// values through workgroup memory.

struct Ids {
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
}

fn lane_of(ids: Ids) -> u32 {
    return ids.local;
}

// The value of lane `lane ^ mask`; every lane calls it with the same mask.
fn exchange_f32(v: f32, lane: u32, mask: u32) -> f32 {
    return exchange_through_memory(vec2<f32>(v, 0.0), lane, mask).x;
}

fn exchange_pair(v: vec2<f32>, lane: u32, mask: u32) -> vec2<f32> {
    return exchange_through_memory(v, lane, mask);
}

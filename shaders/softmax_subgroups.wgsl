// The lanes of the row kernels (`softmax.wgsl`) where the adapter has
// subgroup operations: a lane's index comes from its subgroup and its place
// in it, so that lanes whose indices differ in a bit below SUBGROUP_MIN (the
// adapter's smallest subgroup size) are in the same subgroup, and exchange
// values through a shuffle; other exchanges go through workgroup memory.
// The pairs of lanes, and so the bits of every result, are those of
// `softmax_workgroup.wgsl`.

struct Ids {
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(subgroup_size) subgroup_size: u32,
    @builtin(subgroup_invocation_id) subgroup_lane: u32,
}

fn lane_of(ids: Ids) -> u32 {
    return ids.subgroup * ids.subgroup_size + ids.subgroup_lane;
}

// The value of lane `lane ^ mask`; every lane calls it with the same mask.
fn exchange_f32(v: f32, lane: u32, mask: u32) -> f32 {
    if (mask < SUBGROUP_MIN) {
        return subgroupShuffleXor(v, mask);
    }
    return exchange_through_memory(vec2<f32>(v, 0.0), lane, mask).x;
}

fn exchange_pair(v: vec2<f32>, lane: u32, mask: u32) -> vec2<f32> {
    if (mask < SUBGROUP_MIN) {
        return subgroupShuffleXor(v, mask);
    }
    return exchange_through_memory(v, lane, mask);
}

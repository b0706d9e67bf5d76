// Shared by every elementwise kernel: the parameter block, the NaN test and the
// thread-to-element mapping. Prepended to a storage layout file and an op family
// file by `src/shaders.rs`; never compiled alone.

// Per-dispatch parameters, filled by `ElementwiseParams` on the host.
struct Params {
    // Elements this dispatch covers.
    len: u32,
    // Global index of this dispatch's first element (non-zero when a tensor
    // larger than one storage binding is processed in chunks).
    base: u32,
    // PReLU: number of weights in use (1, or the channel count).
    channels: u32,
    // PReLU: elements per channel block (product of the dimensions after dim 1).
    inner: u32,
    // Op parameters (negative_slope, alpha, scale, ...), meaning set by the op.
    p0: f32,
    p1: f32,
    p2: f32,
    p3: f32,
}

@group(0) @binding(0) var<uniform> params: Params;

const WORKGROUP_SIZE: u32 = 256u;

// NaN test on the bits, so that no fast-math assumption can fold it away.
fn is_nan4(x: vec4<f32>) -> vec4<bool> {
    return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
}

// NaN in gives NaN out: returns `x` where `x` is NaN, else `value`.
fn keep_nan4(x: vec4<f32>, value: vec4<f32>) -> vec4<f32> {
    return select(value, x, is_nan4(x));
}

// Linear thread index over a dispatch folded into a 2-D grid of workgroups.
fn linear_thread(workgroup: vec3<u32>, workgroups: vec3<u32>, local: u32) -> u32 {
    return (workgroup.y * workgroups.x + workgroup.x) * WORKGROUP_SIZE + local;
}

// Storage prelude of `prelu_weight_grad.wgsl` for f16 tensors: f16 in memory,
// f32 products and sums, one rounding to f16 at the end (+-inf past f16's
// range, NaN kept: WGSL leaves out-of-range conversions open).

@group(0) @binding(1) var<storage, read> x: array<f16>;
@group(0) @binding(2) var<storage, read> g: array<f16>;
@group(0) @binding(4) var<storage, read_write> grad_weight: array<f16>;

fn load_x(i: u32) -> f32 {
    return f32(x[i]);
}

fn load_g(i: u32) -> f32 {
    return f32(g[i]);
}

fn store_grad_weight(c: u32, value: f32) {
    let inf = f16(bitcast<f32>(reduce.inf_bits));
    let magnitude = bitcast<f32>(bitcast<u32>(value) & 0x7fffffffu);
    let nan = bitcast<u32>(magnitude) > 0x7f800000u;
    var result = f16(select(value, 0.0, nan || magnitude >= 65520.0));
    if (magnitude >= 65520.0) {
        result = select(inf, -inf, value < 0.0);
    }
    if (nan) {
        // The NaN converts to an f16 NaN (no `inf - inf`: compilers fold it to 0).
        result = f16(value);
    }
    grad_weight[c] = result;
}

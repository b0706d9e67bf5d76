// The f16 storage helper: only in modules that start with `enable f16;`
// (`wgsl::source_f16()`, the f16 kernels). Arithmetic stays f32; results are
// rounded once to f16 here.

// f32 to f16, rounding past f16's range to +-inf and keeping NaN (WGSL
// leaves out-of-range conversions of finite values open). A finite value past
// the range (|v| >= 65520, what rounds to infinity) is replaced by the f32
// infinity of its sign before the one conversion: infinity and NaN convert
// from f32 ones, which f16 represents. (One conversion, not one per case:
// on lavapipe the f16 identity kernel ran 1.7x faster for it.)
fn wa_narrow_f16(v: f32) -> f16 {
    let overflow = (wa_abs(v) >= 65520.0) & !wa_is_nan(v);
    let infinite = bitcast<f32>((bitcast<u32>(v) & 0x80000000u) | 0x7f800000u);
    return f16(select(v, infinite, overflow));
}

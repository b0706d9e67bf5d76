// The f16 storage helper: only in modules that start with `enable f16;`
// (`wgsl::source_f16()`, the f16 kernels). Arithmetic stays f32; results are
// rounded once to f16 here.

// f32 to f16, rounding past f16's range to +-inf and keeping NaN (WGSL
// leaves out-of-range conversions open). Infinity and NaN are converted from
// f32 ones, which f16 represents.
fn wa_narrow_f16(v: f32) -> f16 {
    let overflow = wa_abs(v) >= 65520.0;
    let nan = wa_is_nan(v);
    let finite = f16(select(v, 0.0, overflow | nan));
    let infinite = f16(select(wa_infinity(), -wa_infinity(), v < 0.0));
    return select(select(finite, infinite, overflow), f16(v), nan);
}

// Shared by every activation function: NaN and infinity handling and the
// careful math (exp, expm1, log1p, sigmoid, tanh) the op families build on.
// Every name here starts with `wa_`: that prefix is reserved for this library
// in the shaders it is pasted into. Scalar f32 throughout; the vec4 and f16
// forms of the public functions are generated from the scalar ones
// (`src/wgsl.rs`).

// The bits of +inf, read at run time: WGSL rejects an infinite or NaN
// constant expression.
var<private> wa_inf_bits: u32 = 0x7f800000u;

// Largest finite f32 and smallest normal f32.
const WA_MAX_FINITE: f32 = 3.4028235e38;
const WA_MIN_NORMAL: f32 = 1.1754944e-38;

// NaN test on the bits, so that no fast-math assumption can fold it away.
fn wa_is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// NaN in gives NaN out: `x` where `x` is NaN, else `value`.
fn wa_keep_nan(x: f32, value: f32) -> f32 {
    return select(value, x, wa_is_nan(x));
}

fn wa_infinity() -> f32 {
    return bitcast<f32>(wa_inf_bits);
}

// A NaN made at run time.
fn wa_nan() -> f32 {
    return bitcast<f32>(wa_inf_bits | 0x00400000u);
}

// A zero of x's sign: x times a positive factor too small for any float
// (silu, mish and gelu far below 0 round to -0, as PyTorch's x * 0 does),
// for every x including the infinities.
fn wa_zero_signed_as(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) & 0x80000000u);
}

// |x| by clearing the sign bit.
fn wa_abs(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu);
}

// g times a derivative of sign `direction` too small for any float, at input
// x: a signed 0 for finite g, an infinity for infinite g (the derivative is
// not 0 for finite x), NaN for NaN g, and IEEE's g * 0 for infinite x, where
// the derivative's limit is exactly 0 (`wa_vanishing_mantissa`).
fn wa_times_vanishing(g: f32, direction: f32, x: f32) -> f32 {
    return wa_times_scaled(g, wa_vanishing_mantissa(direction, x), WA_VANISHING_EXPONENT);
}

// m * 2^k with one rounding, for 2^-40 <= |m| < 2^18 (or m = 0, or any m
// when k = 0) and any integer k: 2^k as two factors built from exponent
// bits, the first keeping m * 2^k1 a normal number (exact), the second
// rounding once, to a subnormal or an infinity where the result is one. k
// is clamped to [-168, 168], beyond which the result rounds to 0 or
// overflows either way for such m (|m| 2^-168 < 2^-150, |m| 2^168 >=
// 2^128). No frexp or ldexp, no branch.
fn wa_pow2(k: i32) -> f32 {
    return bitcast<f32>(u32(k + 127) << 23u);
}

fn wa_scale_pow2(m: f32, k: i32) -> f32 {
    return wa_scale_pow2_near(m, select(select(k, -168, k < -168), 168, k > 168));
}

// `wa_scale_pow2` for |k| <= 252, where both factors are normal powers of
// two without clamping k (`wa_exp`: |k| <= 217).
fn wa_scale_pow2_near(m: f32, k: i32) -> f32 {
    let first = k >> 1u;
    return (m * wa_pow2(first)) * wa_pow2(k - first);
}

// 1 / y for y >= 1 of any size: the division on the mantissa only (y's
// exponent bits replaced by 2^0), then scaled by the exponent. Some drivers
// compute 1 / y through a reciprocal estimate that loses most of its bits
// for huge y (lavapipe: 1e-4 relative at y ~ 1e21). For y >= 1 only, 0 for
// y = inf (NaN and negative y are read as other numbers: `wa_recip_large`
// sends them to the plain division).
fn wa_recip(y: f32) -> f32 {
    let bits = bitcast<u32>(y);
    let mantissa = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    let scaled = wa_scale_pow2(1.0 / mantissa, 127 - i32(bits >> 23u));
    return select(scaled, 0.0, y > WA_MAX_FINITE);
}

// exp(x) in three steps: x = k ln2 + r with |r| <= ln2 / 2 (Cody and Waite:
// ln2 split in two so that k * WA_LN2_HI is exact and x - k * WA_LN2_HI
// loses nothing), exp(r) by its degree-7 Taylor polynomial (truncation below
// 6e-9 relative), and 2^k from exponent bits (`wa_scale_pow2_near`:
// subnormal results rounded once). One path for every x, no branch: software
// rasterizers such as lavapipe run both sides of every branch (measured on
// Mesa 22.3.6: an untaken `if` cost as much as its body; BENCHMARKS.md), so
// a careful tail behind an `if` costs every element. Exact 0 below about
// -103.97 (ln 2^-150) and inf above ln(f32::MAX), where WGSL leaves exp and
// ldexp open; NaN for NaN. WGSL's own exp is only promised to 3 + 2|x| ulps
// (180 ulps at x = -88); this one is within a few ulps everywhere.
const WA_LOG2E: f32 = 1.4426950408889634;
const WA_LN2_HI: f32 = 0.693145751953125;
const WA_LN2_LO: f32 = 1.4286068203094172e-06;
// Past this |x|, exp(x) is 0 or inf in f32, and so is c exp(x) for any
// c that is not much larger than |x| (silu's x exp(x) < 2^-150 below -109).
// (k * WA_LN2_HI is exact for |k| <= 511, WA_LN2_HI being 22713 / 2^15;
// |k| <= 217 here, 433 in `wa_mul_exp`.)
const WA_EXP_LIMIT: f32 = 150.0;

// exp(r) for |r| <= ln2 / 2.
fn wa_exp_reduced(r: f32) -> f32 {
    var p = 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    return p * r + 1.0;
}

// exp(x) = p 2^k for |x| <= WA_EXP_LIMIT (p in [0.7, 1.5)): for callers
// that multiply p by something before scaling (`silu`), so that a product
// that is a normal number keeps its bits where exp(x) alone is subnormal.
// p = 0 past the limit and for NaN.
struct WaExpParts {
    p: f32,
    k: i32,
}

// (x + -0.0 is x for every x, so `wa_exp_sum`'s reduction does the same
// operations as a reduction of x alone; compilers drop the addition.)
fn wa_exp_parts(x: f32) -> WaExpParts {
    return wa_exp_sum_parts(x, -0.0);
}

// Past +-WA_EXP_LIMIT the result is inf or 0 either way, so the argument
// is clamped there (NaN to -WA_EXP_LIMIT, its NaN restored last) and 2^k,
// |k| <= 217, needs no clamp of its own (`wa_scale_pow2_near`).
fn wa_exp(x: f32) -> f32 {
    let outside = select(-WA_EXP_LIMIT, WA_EXP_LIMIT, x > 0.0);
    let c = select(outside, x, wa_abs(x) <= WA_EXP_LIMIT);
    let k = round(c * WA_LOG2E);
    let r = (c - k * WA_LN2_HI) - k * WA_LN2_LO;
    return wa_keep_nan(x, wa_scale_pow2_near(wa_exp_reduced(r), i32(k)));
}

// c * sigmoid(t) from one exp(-|t|) = p 2^k: c / (1 + e) for t >= 0, and
// (c p / (1 + e)) 2^k below, scaled last, so that a result that is a normal
// number keeps its bits where e is subnormal; one division for both sides.
// For |c| < 2^9 (`wa_scale_pow2`'s range); c p is 0 past t = -WA_EXP_LIMIT
// for finite c (-inf * 0 is the caller's).
fn wa_times_sigmoid(c: f32, t: f32) -> f32 {
    let parts = wa_exp_parts(-wa_abs(t));
    let upper = t >= 0.0;
    let quotient = select(c * parts.p, c, upper) / (1.0 + wa_scale_pow2(parts.p, parts.k));
    return select(wa_scale_pow2(quotient, parts.k), quotient, upper);
}

// g sigmoid(t) for a gradient g of any size: e / (1 + e) below t = 0
// carries e = exp(t) = p 2^k, so it is computed on p and 2^k is applied
// last with g's exponent (`wa_times_scaled`): 1e30 times sigmoid(-100)
// keeps its bits; 1 / (1 + e) at and above 0. Past t =
// -WA_EXP_PRODUCT_LIMIT, g times a vanishing positive derivative of the
// op's input x (`wa_times_scaled_or_vanishing`). NaN t is the caller's.
fn wa_grad_times_sigmoid(g: f32, t: f32, x: f32) -> f32 {
    let parts = wa_exp_parts_wide(-wa_abs(t));
    let lower = t < 0.0;
    let m = select(1.0, parts.p, lower) / (1.0 + wa_scale_pow2(parts.p, parts.k));
    return wa_times_scaled_or_vanishing(g, m, select(0, parts.k, lower), lower & (parts.p == 0.0), 1.0, x);
}

// g (s + (x s (1 - s)) growth) with s = sigmoid(t): the gradient of x
// sigmoid(t) as silu (t = x, growth = 1) and gelu(tanh) (t = 2u, growth =
// d(2u)/dx) have it, for a gradient g of any size. From one exp(-|t|) = p
// 2^k: below t = 0 every term carries e (s = e / (1 + e)), so they are
// computed on p and 2^k is applied last (`wa_times_scaled`): 1e30 times
// silu'(-100) keeps its bits. Past t = -WA_EXP_PRODUCT_LIMIT, g times a
// vanishing derivative of the sign of 1 + x growth.
fn wa_grad_times_sigmoid_slope(g: f32, t: f32, x: f32, growth: f32) -> f32 {
    let parts = wa_exp_parts_wide(-wa_abs(t));
    let e = wa_scale_pow2(parts.p, parts.k);
    let inverse = 1.0 / (1.0 + e);
    let upper = t >= 0.0;
    let small = select(parts.p, e, upper) * inverse;
    let s = select(small, inverse, upper);
    let spread = s * select(inverse, small, upper);
    let m = s + select((x * spread) * growth, 0.0, spread == 0.0);
    let vanished = !upper & (parts.p == 0.0);
    return wa_times_scaled_or_vanishing(g, m, select(parts.k, 0, upper), vanished, 1.0 + x * growth, x);
}

// exp(hi + lo) = p 2^k as `wa_exp_parts` (p = 0 past the limit), where hi
// + lo is not rounded: the reduction subtracts k ln2 from hi (exactly, for
// hi near k ln2) before adding lo, so an argument whose rounding would cost
// |hi + lo| * eps relative (exp(-z^2) at z = 9: 81 eps) keeps its bits.
fn wa_exp_sum_parts(hi: f32, lo: f32) -> WaExpParts {
    return wa_exp_sum_parts_within(hi, lo, WA_EXP_LIMIT);
}

// Past this |x|, c exp(x) is 0 or inf in f32 for every finite c (|c| <
// 2^128, and 2^128 exp(-193) is below 2^-150): the range of `wa_mul_exp`
// and of the `_wide` parts, which a gradient of any size multiplies.
const WA_EXP_PRODUCT_LIMIT: f32 = 300.0;

// exp(hi + lo) = p 2^k for |hi + lo| <= WA_EXP_PRODUCT_LIMIT (p = 0
// beyond, and for NaN): for a derivative that a gradient of any size
// multiplies (`wa_times_scaled`).
fn wa_exp_sum_parts_wide(hi: f32, lo: f32) -> WaExpParts {
    return wa_exp_sum_parts_within(hi, lo, WA_EXP_PRODUCT_LIMIT);
}

fn wa_exp_parts_wide(x: f32) -> WaExpParts {
    return wa_exp_sum_parts_wide(x, -0.0);
}

// p 2^k = exp(hi + lo) for |hi + lo| <= limit (at most 354: |k| <= 511,
// where k * WA_LN2_HI is exact), p = 0 beyond and for NaN (k = 0 then).
fn wa_exp_sum_parts_within(hi: f32, lo: f32, limit: f32) -> WaExpParts {
    let inside = wa_abs(hi + lo) <= limit;
    let h = select(0.0, hi, inside);
    let l = select(0.0, lo, inside);
    let k = round((h + l) * WA_LOG2E);
    let r = ((h - k * WA_LN2_HI) + l) - k * WA_LN2_LO;
    return WaExpParts(select(0.0, wa_exp_reduced(r), inside), i32(k));
}

// A finite f32 as m 2^e with |m| in [1, 2) (the sign kept), m = 0 for 0.
// Subnormals are scaled by 2^64 first (read on the bits, a subnormal has no
// leading 1); a driver that flushes them gives 0.
struct WaSplit {
    m: f32,
    e: i32,
}

fn wa_split(a: f32) -> WaSplit {
    let tiny = wa_abs(a) < WA_MIN_NORMAL;
    let scaled = select(a, a * 18446744073709551616.0, tiny);
    let bits = bitcast<u32>(scaled);
    let m = bitcast<f32>((bits & 0x807fffffu) | 0x3f800000u);
    let e = i32((bits >> 23u) & 0xffu) - select(127, 191, tiny);
    return WaSplit(select(m, scaled, scaled == 0.0), e);
}

// g m 2^k: a gradient g of any size times a derivative m 2^k, |m| in
// [2^-39, 2^17) or 0 (a mantissa from `wa_exp_parts_wide` times a few
// factors; gelu(tanh)'s reaches 2^11): a finite g is split on its bits (`wa_split`) and every power of
// two applied at the end (`wa_scale_pow2`: exact unless the result is
// subnormal or infinite), so that 1e38 times 2^-200 keeps its bits; an
// infinite or NaN g gives g m. (A derivative too small for any float, where
// the parts' p is 0: `wa_times_scaled_or_vanishing`.)
fn wa_times_scaled(g: f32, m: f32, k: i32) -> f32 {
    let split = wa_split(g);
    return select(g * m, wa_scale_pow2(split.m * m, split.e + k), wa_abs(g) <= WA_MAX_FINITE);
}

// A derivative too small for any float, as a mantissa and an exponent for
// `wa_times_scaled` (`wa_times_vanishing`, `wa_times_scaled_or_vanishing`):
// the exponent puts the product below every float for every finite g
// (`wa_scale_pow2` clamps it to -168 on the way), the mantissa is +-2^-31
// of the sign of `direction`, so the result is a signed 0 for finite g and
// an infinity for infinite g (the derivative is not 0 for finite x); at
// infinite x the mantissa is 0, the derivative's limit (g * 0: NaN for
// infinite g).
const WA_VANISHING_EXPONENT: i32 = -400;

fn wa_vanishing_mantissa(direction: f32, x: f32) -> f32 {
    let tiny = bitcast<f32>((bitcast<u32>(direction) & 0x80000000u) | 0x30000000u);
    return select(0.0, tiny, wa_abs(x) <= WA_MAX_FINITE);
}

// g m 2^k (`wa_times_scaled`), or, where `vanished` (the derivative's exp
// underflowed: p = 0), g times a vanishing derivative of the sign of
// `direction` at input x.
fn wa_times_scaled_or_vanishing(g: f32, m: f32, k: i32, vanished: bool, direction: f32, x: f32) -> f32 {
    let mantissa = select(m, wa_vanishing_mantissa(direction, x), vanished);
    return wa_times_scaled(g, mantissa, select(k, WA_VANISHING_EXPONENT, vanished));
}

// a * b * exp(x) without overflow or underflow on the way (a gradient of
// 1e38 times exp(-100) is a normal number), for every a, b and x: with
// a = ma 2^ea, b = mb 2^eb and exp(x) = exp(r) 2^k, the mantissas multiply
// in [0.7, 5.7) (two roundings) and the exponents are applied at the end
// (`wa_scale_pow2`: exact unless the result is subnormal or infinite). One
// path, no branch. Infinite or NaN factors and |x| > 300 are taken apart
// below with the limits.
fn wa_mul_exp(a: f32, b: f32, x: f32) -> f32 {
    let finite_factors = (wa_abs(a) <= WA_MAX_FINITE) & (wa_abs(b) <= WA_MAX_FINITE);
    let in_range = finite_factors & (wa_abs(x) <= WA_EXP_PRODUCT_LIMIT);
    let parts = wa_exp_parts_wide(x);
    let pa = wa_split(a);
    let pb = wa_split(b);
    let product = wa_scale_pow2((pa.m * pb.m) * parts.p, pa.e + pb.e + parts.k);
    // An infinite or NaN factor: a * b times exp(x), which is positive and
    // finite (the product keeps its sign; inf * 0 is NaN), 0 at x = -inf and
    // inf at x = inf; past |x| = 300, exp(x) alone decides between 0 and inf.
    let finite_x = wa_abs(x) <= WA_MAX_FINITE;
    let plain = (a * b) * select(1.0, select(0.0, wa_infinity(), x > 0.0), !finite_x);
    // (0 times exp(x) is 0 for every finite x, however large; 0 * inf is NaN.)
    let zero_factor = (a == 0.0) | (b == 0.0);
    let huge = select(wa_infinity(), 0.0, zero_factor & finite_x);
    let far = sign(a) * sign(b) * select(0.0, huge, x > 0.0);
    let outside = (wa_abs(x) > WA_EXP_PRODUCT_LIMIT) & finite_factors;
    return wa_keep_nan(x, select(select(plain, far, outside), product, in_range));
}

// expm1(x) / x for |x| <= 1: the degree-10 Taylor polynomial of
// (exp(x) - 1) / x (truncation below 1e-8 relative). 1 at x = 0, so that
// x * ratio keeps every bit of a tiny or subnormal x.
fn wa_expm1_ratio(x: f32) -> f32 {
    var p = 1.0 / 39916800.0;
    p = p * x + 1.0 / 3628800.0;
    p = p * x + 1.0 / 362880.0;
    p = p * x + 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    return p * x + 1.0;
}

// exp(x) - 1 without cancellation: x * wa_expm1_ratio(x) on [-1, 1],
// exp(x) - 1 outside, where |result| >= 0.63.
fn wa_expm1(x: f32) -> f32 {
    var result: f32;
    if (wa_abs(x) <= 1.0) {
        result = x * wa_expm1_ratio(x);
    } else {
        result = wa_exp(x) - 1.0;
    }
    return result;
}

// log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) <= 1/3, as an
// odd series in s (10 terms: truncation below 1e-10). WGSL's log is only
// promised to an absolute 2^-21 near 1, useless for small e.
fn wa_log1p_unit(e: f32) -> f32 {
    let s = e / (2.0 + e);
    return 2.0 * s * wa_log1p_series(s * s);
}

// The odd series of `wa_log1p_unit` over s: 1 + z/3 + z^2/5 + ..., z = s^2.
fn wa_log1p_series(z: f32) -> f32 {
    var p = 1.0 / 19.0;
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    return p * z + 1.0;
}

// sigmoid(x) = 1 / (1 + exp(-x)), from exp(-|x|) so nothing overflows.
fn wa_sigmoid(x: f32) -> f32 {
    let e = wa_exp(-wa_abs(x));
    return select(e, 1.0, x >= 0.0) / (1.0 + e);
}

// log(1 + exp(t)) = max(t, 0) + log1p(exp(-|t|)): no overflow, no cancellation.
fn wa_softplus(t: f32) -> f32 {
    return select(0.0, t, t > 0.0) + wa_log1p_unit(wa_exp(-wa_abs(t)));
}

// tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x: accurate
// near 0 and exactly +-1 far out (some drivers' builtin tanh gives NaN past |x| ~ 88).
fn wa_tanh(x: f32) -> f32 {
    let t = wa_expm1(-2.0 * wa_abs(x));
    let magnitude = -t / (2.0 + t);
    return wa_keep_nan(x, select(magnitude, -magnitude, x < 0.0));
}


enable f16;
// wgpu-activations 0.1.0: activation functions and their gradients (generated; see the crate's `wgsl` module).

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

fn identity(x: f32) -> f32 {
    return x;
}

fn identity_backward(x: f32, grad_output: f32) -> f32 {
    return grad_output;
}

fn identity_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return grad_output;
}

// A select, not max(): NaN and -0.0 pass through untouched.
fn relu(x: f32) -> f32 {
    return select(x, 0.0, x < 0.0);
}

// relu'(0) = 0, as PyTorch.
fn relu_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, x > 0.0));
}

// y = relu(x) > 0 exactly where x > 0.
fn relu_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return relu_backward(y, grad_output);
}

fn leaky_relu(x: f32, negative_slope: f32) -> f32 {
    return select(x, x * negative_slope, x < 0.0);
}

// leaky_relu'(0) = negative_slope, as PyTorch.
fn leaky_relu_backward(x: f32, grad_output: f32, negative_slope: f32) -> f32 {
    return wa_keep_nan(x, select(grad_output * negative_slope, grad_output, x > 0.0));
}

// For negative_slope >= 0, y > 0 exactly where x > 0.
fn leaky_relu_backward_from_output(y: f32, grad_output: f32, negative_slope: f32) -> f32 {
    return leaky_relu_backward(y, grad_output, negative_slope);
}

// PReLU with the element's channel weight.
fn prelu(x: f32, weight: f32) -> f32 {
    return leaky_relu(x, weight);
}

// prelu'(0) = weight, as PyTorch.
fn prelu_backward(x: f32, grad_output: f32, weight: f32) -> f32 {
    return leaky_relu_backward(x, grad_output, weight);
}

// RReLU's slope in evaluation mode: (lower + upper) / 2, rounded once (the
// halves are exact, so this is the rounded mean and cannot overflow).
fn wa_rrelu_mean_slope(lower: f32, upper: f32) -> f32 {
    return lower * 0.5 + upper * 0.5;
}

// rrelu in evaluation mode (PyTorch's default): leaky_relu with the mean slope.
fn rrelu(x: f32, lower: f32, upper: f32) -> f32 {
    return leaky_relu(x, wa_rrelu_mean_slope(lower, upper));
}

fn rrelu_backward(x: f32, grad_output: f32, lower: f32, upper: f32) -> f32 {
    return leaky_relu_backward(x, grad_output, wa_rrelu_mean_slope(lower, upper));
}

// PCG hash (Jarzynski and Olano, 2020): the counter-based generator of
// RReLU's training-mode slopes. Twin of `cpu::pcg_hash`.
fn wa_pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// The training-mode slope of element `index` for the 64-bit `seed` (low word
// first): lower + (upper - lower) * u, u uniform in [0, 1) from the top 24
// bits of the hash of (seed, index). Twin of `cpu::rrelu_slope`.
fn wa_rrelu_slope(lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f32 {
    let key = wa_pcg_hash(seed.x ^ wa_pcg_hash(seed.y));
    let u = f32(wa_pcg_hash(index ^ key) >> 8u) * (1.0 / 16777216.0);
    return lower + (upper - lower) * u;
}

// rrelu in training mode: each element draws its slope from (seed, index),
// the same in forward and backward. PyTorch draws a slope for x <= 0.
fn rrelu_training(x: f32, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f32 {
    return select(x, x * wa_rrelu_slope(lower, upper, seed, index), x <= 0.0);
}

fn rrelu_training_backward(
    x: f32,
    grad_output: f32,
    lower: f32,
    upper: f32,
    seed: vec2<u32>,
    index: u32,
) -> f32 {
    let slope = wa_rrelu_slope(lower, upper, seed, index);
    return wa_keep_nan(x, select(grad_output * slope, grad_output, x > 0.0));
}

fn hardtanh(x: f32, min_val: f32, max_val: f32) -> f32 {
    return select(select(x, min_val, x < min_val), max_val, x > max_val);
}

// 0 at both bounds, as PyTorch.
fn hardtanh_backward(x: f32, grad_output: f32, min_val: f32, max_val: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, (x > min_val) & (x < max_val)));
}

fn relu6(x: f32) -> f32 {
    return hardtanh(x, 0.0, 6.0);
}

fn relu6_backward(x: f32, grad_output: f32) -> f32 {
    return hardtanh_backward(x, grad_output, 0.0, 6.0);
}

// As PyTorch: x <= threshold ? value : x, so NaN passes through.
fn threshold(x: f32, threshold: f32, value: f32) -> f32 {
    return select(x, value, x <= threshold);
}

fn threshold_backward(x: f32, grad_output: f32, threshold: f32, value: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, x > threshold));
}

fn hardsigmoid(x: f32) -> f32 {
    let middle = (x + 3.0) * (1.0 / 6.0);
    let low = select(middle, 0.0, x <= -3.0);
    return wa_keep_nan(x, select(low, 1.0, x >= 3.0));
}

// 0 at -3 and 3, as PyTorch.
fn hardsigmoid_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output * (1.0 / 6.0), (x > -3.0) & (x < 3.0)));
}

fn hardswish(x: f32) -> f32 {
    let middle = x * (x + 3.0) * (1.0 / 6.0);
    let low = select(middle, 0.0, x <= -3.0);
    return wa_keep_nan(x, select(low, x, x >= 3.0));
}

// 0 at -3, 1 at 3.
fn hardswish_backward(x: f32, grad_output: f32) -> f32 {
    let middle = grad_output * (x * (1.0 / 3.0) + 0.5);
    return wa_keep_nan(x, select(select(0.0, middle, x > -3.0), grad_output, x >= 3.0));
}

// As PyTorch: -lambd <= x <= lambd gives 0; NaN fails both tests and passes.
fn hardshrink(x: f32, lambd: f32) -> f32 {
    return select(x, 0.0, (x >= -lambd) & (x <= lambd));
}

fn hardshrink_backward(x: f32, grad_output: f32, lambd: f32) -> f32 {
    return wa_keep_nan(x, select(grad_output, 0.0, (x >= -lambd) & (x <= lambd)));
}

fn softshrink(x: f32, lambd: f32) -> f32 {
    let shrunk = select(select(0.0, x + lambd, x < -lambd), x - lambd, x > lambd);
    return wa_keep_nan(x, shrunk);
}

fn softshrink_backward(x: f32, grad_output: f32, lambd: f32) -> f32 {
    return hardshrink_backward(x, grad_output, lambd);
}

// x - tanh(x) without cancellation near 0: for |x| < 0.8, x^3 times the
// Taylor series of (x - tanh x) / x^3 in x^2 (15 terms, truncation below 1e-8);
// beyond, x - tanh(x) loses at most log2(0.8 / (0.8 - tanh 0.8)) ~ 2.6 bits.
fn tanhshrink(x: f32) -> f32 {
    let z = x * x;
    var p = 1.0597268320104654e-06;
    p = p * z - 2.6147711512907546e-06;
    p = p * z + 6.451689215655431e-06;
    p = p * z - 1.5918905069328964e-05;
    p = p * z + 3.927832388331683e-05;
    p = p * z - 9.691537956929451e-05;
    p = p * z + 2.3912911424355248e-04;
    p = p * z - 5.90027440945586e-04;
    p = p * z + 1.4558343870513183e-03;
    p = p * z - 3.592128036572481e-03;
    p = p * z + 8.863235529902197e-03;
    p = p * z - 2.1869488536155203e-02;
    p = p * z + 5.396825396825397e-02;
    p = p * z - 0.13333333333333333;
    p = p * z + 0.3333333333333333;
    let series = p * z * x;
    let direct = x - wa_tanh(x);
    // x - tanh(x) for infinite x is +-inf.
    let value = select(select(direct, series, wa_abs(x) < 0.8), x, wa_abs(x) > 1e30);
    return wa_keep_nan(x, value);
}

// (g t) t: g t cannot overflow (|t| <= 1), t t could underflow.
fn tanhshrink_backward(x: f32, grad_output: f32) -> f32 {
    let t = wa_tanh(x);
    return wa_keep_nan(x, (grad_output * t) * t);
}

const WA_SELU_ALPHA: f32 = 1.6732632423543772;

const WA_SELU_SCALE: f32 = 1.0507009873554805;

fn wa_exponential_linear(x: f32, alpha: f32, scale: f32, input_scale: f32, alpha_input_scale: f32) -> f32 {
    let negative = select(x, 0.0, x > 0.0);
    let t = input_scale * negative;
    var value: f32;
    if (wa_abs(t) <= 1.0) {
        // Near 0, alpha * expm1(t) = (alpha * input_scale) * x * (expm1(t) / t):
        // no division and no underflow of t for a large celu alpha.
        value = (alpha_input_scale * scale) * negative * wa_expm1_ratio(t);
    } else {
        // alpha * (exp(t) - 1) as c exp(t) - c: exp(t) alone may overflow where
        // the product does not (celu with a small negative alpha).
        let c = alpha * scale;
        value = wa_mul_exp(c, 1.0, t) - c;
    }
    return wa_keep_nan(x, select(value, scale * x, x > 0.0));
}

fn wa_exponential_linear_backward(
    x: f32,
    grad_output: f32,
    scale: f32,
    input_scale: f32,
    alpha_input_scale: f32,
) -> f32 {
    let clipped = select(x, 0.0, x > 0.0);
    // t = input_scale * x can overflow for finite x (celu with alpha < 1):
    // keep it finite, since exp(t) > 0 for every finite x.
    let t = input_scale * clipped;
    let t_finite = select(t, sign(t) * WA_MAX_FINITE, (wa_abs(t) > WA_MAX_FINITE) & (wa_abs(clipped) <= WA_MAX_FINITE));
    // g * c * exp(t) in one step, free of intermediate overflow and underflow.
    let negative = wa_mul_exp(grad_output, alpha_input_scale * scale, t_finite);
    return wa_keep_nan(x, select(negative, grad_output * scale, x > 0.0));
}

fn elu(x: f32, alpha: f32) -> f32 {
    return wa_exponential_linear(x, alpha, 1.0, 1.0, alpha);
}

// elu'(0) = alpha, as PyTorch.
fn elu_backward(x: f32, grad_output: f32, alpha: f32) -> f32 {
    return wa_exponential_linear_backward(x, grad_output, 1.0, 1.0, alpha);
}

// For alpha >= 0: 1 for y > 0, else y + alpha (= alpha exp(x)).
fn elu_backward_from_output(y: f32, grad_output: f32, alpha: f32) -> f32 {
    return wa_keep_nan(y, select(grad_output * (y + alpha), grad_output, y > 0.0));
}

fn selu(x: f32) -> f32 {
    return wa_exponential_linear(x, WA_SELU_ALPHA, WA_SELU_SCALE, 1.0, WA_SELU_ALPHA);
}

fn selu_backward(x: f32, grad_output: f32) -> f32 {
    return wa_exponential_linear_backward(x, grad_output, WA_SELU_SCALE, 1.0, WA_SELU_ALPHA);
}

// alpha must not be 0 (celu divides by it).
fn celu(x: f32, alpha: f32) -> f32 {
    return wa_exponential_linear(x, alpha, 1.0, 1.0 / alpha, 1.0);
}

fn celu_backward(x: f32, grad_output: f32, alpha: f32) -> f32 {
    return wa_exponential_linear_backward(x, grad_output, 1.0, 1.0 / alpha, 1.0);
}

fn sigmoid(x: f32) -> f32 {
    return wa_keep_nan(x, wa_sigmoid(x));
}

// s(x) s(-x) = e / (1 + e)^2 with e = exp(-|x|) = p 2^k: (p / (1 + e)) / (1
// + e) times g, 2^k applied last (`wa_times_scaled`), so that 1e30 times
// sigmoid'(-100) keeps its bits; past |x| = WA_EXP_PRODUCT_LIMIT, g times
// a vanishing derivative.
fn sigmoid_backward(x: f32, grad_output: f32) -> f32 {
    let parts = wa_exp_parts_wide(-wa_abs(x));
    let inverse = 1.0 / (1.0 + wa_scale_pow2(parts.p, parts.k));
    let m = (parts.p * inverse) * inverse;
    return wa_keep_nan(x, wa_times_scaled_or_vanishing(grad_output, m, parts.k, parts.p == 0.0, 1.0, x));
}

// y (1 - y), y = sigmoid(x).
fn sigmoid_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(y, grad_output * (y * (1.0 - y)));
}

// log(sigmoid(x)) = -softplus(-x).
fn logsigmoid(x: f32) -> f32 {
    return wa_keep_nan(x, -wa_softplus(-x));
}

// g sigmoid(-x), scaled last for x > 0 (`wa_grad_times_sigmoid`).
fn logsigmoid_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, wa_grad_times_sigmoid(grad_output, -x, x));
}

// x sigmoid(x), scaled last (`wa_times_sigmoid`): a result that is a
// normal number keeps its bits where exp(x) is subnormal (x < -87.3, down to
// -91.8); -0 past -WA_EXP_LIMIT (|x exp(x)| < 2^-150 there) and at -inf.
fn silu(x: f32) -> f32 {
    return wa_keep_nan(x, select(wa_times_sigmoid(x, x), wa_zero_signed_as(x), x < -WA_EXP_LIMIT));
}

// s (1 + x (1 - s)) = s + x s (1 - s), scaled last below 0
// (`wa_grad_times_sigmoid_slope`).
fn silu_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, wa_grad_times_sigmoid_slope(grad_output, x, x, 1.0));
}

// log1p(exp(beta x)) / beta from one exp(-|beta x|) = e = p 2^k, log1p(e)
// = 2 s P(s^2) with s = e / (2 + e) (`wa_log1p_unit`): beta x + log1p(e)
// above 0; below, s carries e, so 2 s P is computed on p (s = (p / (2 + e))
// 2^k) and 2^k applied last with 1/beta's exponent (`wa_times_scaled`):
// exp(beta x) / beta keeps its bits where exp(beta x) alone is subnormal
// and 1/beta is large; 0 past beta x = -WA_EXP_PRODUCT_LIMIT. x where beta
// x > threshold (the test on the f32 product, as PyTorch).
fn softplus(x: f32, beta: f32, threshold: f32) -> f32 {
    let bx = beta * x;
    let inverse_beta = 1.0 / beta;
    let parts = wa_exp_parts_wide(-wa_abs(bx));
    let e = wa_scale_pow2(parts.p, parts.k);
    let s_scaled = parts.p / (2.0 + e);
    let s = wa_scale_pow2(s_scaled, parts.k);
    let series = wa_log1p_series(s * s);
    let upper = (bx + (2.0 * s) * series) * inverse_beta;
    // Past the limit, 0 of the sign of 1/beta (beta < 0: the result is
    // negative); NaN where beta x is (beta = 0 or not finite).
    let lower = select(wa_times_scaled(inverse_beta, (2.0 * s_scaled) * series, parts.k), wa_zero_signed_as(inverse_beta), parts.p == 0.0);
    let body = wa_keep_nan(bx, select(lower, upper, bx > 0.0));
    return wa_keep_nan(x, select(body, x, bx > threshold));
}

// g sigmoid(beta x), scaled last below 0 (`wa_grad_times_sigmoid`); g
// past the threshold; NaN where beta x is (beta = 0 at x = +-inf).
fn softplus_backward(x: f32, grad_output: f32, beta: f32, threshold: f32) -> f32 {
    let bx = beta * x;
    let body = wa_keep_nan(bx, wa_grad_times_sigmoid(grad_output, bx, x));
    return wa_keep_nan(x, select(body, grad_output, bx > threshold));
}

// x tanh(log1p(exp(x))) from one exp(-|x|) = e = p 2^k (the forms
// above): x (1 + 2e) / (1 + 2e + 2e^2) for x > 0, and
// x p (e + 2) / (e (e + 2) + 2) 2^k for x <= 0, scaled last as in `silu`
// (x exp(x) in the far tail keeps its bits where e is subnormal).
fn mish(x: f32) -> f32 {
    let parts = wa_exp_parts(-wa_abs(x));
    let e = wa_scale_pow2(parts.p, parts.k);
    let upper = x * ((1.0 + 2.0 * e) * (1.0 / (1.0 + 2.0 * e + 2.0 * e * e)));
    let inverse_negative = 1.0 / (e * (e + 2.0) + 2.0);
    let lower = wa_scale_pow2(((x * parts.p) * (e + 2.0)) * inverse_negative, parts.k);
    let value = select(select(lower, wa_zero_signed_as(x), x < -WA_EXP_LIMIT), upper, x > 0.0);
    return wa_keep_nan(x, value);
}

// t + x sigmoid(x) (1 - t^2), (1 - t^2) = (1 - t)(1 + t), in the forms
// above from one exp(-|x|) = e = p 2^k. For x <= 0, t and
// sigmoid(x) both carry e, so that side is computed on p and 2^k applied
// last with g's exponent (`wa_times_scaled`): 1e30 times mish'(-100) keeps
// its bits; past x = -WA_EXP_PRODUCT_LIMIT, g times a vanishing derivative
// of the sign of 1 + x.
fn mish_backward(x: f32, grad_output: f32) -> f32 {
    let parts = wa_exp_parts_wide(-wa_abs(x));
    let e = wa_scale_pow2(parts.p, parts.k);
    let inverse = 1.0 / (1.0 + e);
    // x > 0: t = (1 + 2e) / (1 + 2e + 2e^2), 1 - t = 2e^2 / (1 + 2e + 2e^2).
    let inverse_positive = 1.0 / (1.0 + 2.0 * e + 2.0 * e * e);
    let t_positive = (1.0 + 2.0 * e) * inverse_positive;
    let c_positive = 2.0 * e * e * inverse_positive;
    let slope_positive = x * inverse * (c_positive * (1.0 + t_positive));
    let upper = t_positive + select(slope_positive, 0.0, c_positive == 0.0);
    // x <= 0: t = e (e + 2) / (e (e + 2) + 2) and sigmoid(x) = e / (1 + e) on
    // p; 1 - t = 2 / (e (e + 2) + 2).
    let inverse_negative = 1.0 / (e * (e + 2.0) + 2.0);
    let t_negative = (parts.p * (e + 2.0)) * inverse_negative;
    let c_negative = 2.0 * inverse_negative;
    let slope_negative = x * (parts.p * inverse) * (c_negative * (1.0 + wa_scale_pow2(t_negative, parts.k)));
    let positive = x > 0.0;
    let m = select(t_negative + slope_negative, upper, positive);
    let vanished = !positive & (parts.p == 0.0);
    return wa_keep_nan(x, wa_times_scaled_or_vanishing(grad_output, m, select(parts.k, 0, positive), vanished, 1.0 + x, x));
}

fn tanh(x: f32) -> f32 {
    return wa_tanh(x);
}

// 4 e / (1 + e)^2 with e = exp(-2|x|) = p 2^k: 4p / (1 + e)^2 times g, 2^k
// applied last (`wa_times_scaled`), so that 1e30 times tanh'(50) keeps its
// bits; past |x| = WA_EXP_PRODUCT_LIMIT / 2, g times a vanishing derivative.
fn tanh_backward(x: f32, grad_output: f32) -> f32 {
    let parts = wa_exp_parts_wide(-2.0 * wa_abs(x));
    let d = 1.0 + wa_scale_pow2(parts.p, parts.k);
    let m = (4.0 * parts.p) / (d * d);
    return wa_keep_nan(x, wa_times_scaled_or_vanishing(grad_output, m, parts.k, parts.p == 0.0, 1.0, x));
}

// (1 - y)(1 + y), y = tanh(x).
fn tanh_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(y, grad_output * ((1.0 - y) * (1.0 + y)));
}

// 1 / y for y >= 1: a plain division, and the mantissa-only one past 2^60,
// where some drivers' reciprocal estimate loses bits.
fn wa_recip_large(y: f32) -> f32 {
    return select(1.0 / y, wa_recip(y), y > 1.152921504606847e18);
}

// x / (1 + |x|), +-1 at +-inf.
fn softsign(x: f32) -> f32 {
    let ratio = x * wa_recip_large(1.0 + wa_abs(x));
    return wa_keep_nan(x, select(ratio, select(1.0, -1.0, x < 0.0), wa_abs(x) > 1e30));
}

// (g r) r: g r cannot overflow (r <= 1), r r could underflow.
fn softsign_backward(x: f32, grad_output: f32) -> f32 {
    let r = wa_recip_large(1.0 + wa_abs(x));
    return wa_keep_nan(x, (grad_output * r) * r);
}

const WA_FRAC_1_SQRT_2: f32 = 0.7071067811865476;

const WA_FRAC_2_SQRT_PI: f32 = 1.1283791670955126;

const WA_FRAC_1_SQRT_2PI: f32 = 0.3989422804014327;

const WA_SQRT_2_OVER_PI: f32 = 0.7978845608028654;

const WA_GELU_TANH_KAPPA: f32 = 0.044715;

// The Chebyshev-fitted exponent of erfc(z) = t exp(-z^2 + P(t)),
// t = 1 / (1 + z / 2) (Numerical Recipes' erfcc, 1.2e-7 relative).
fn wa_erfc_exponent(t: f32) -> f32 {
    var p = 0.17087277;
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    return p * t - 1.26551223;
}

// erf(z) for |z| < 0.5: its Taylor series (7 terms, truncation below 1e-9).
fn wa_erf_small(z: f32) -> f32 {
    let w = z * z;
    var p = 1.0 / 9360.0;
    p = p * w - 1.0 / 1320.0;
    p = p * w + 1.0 / 216.0;
    p = p * w - 1.0 / 42.0;
    p = p * w + 1.0 / 10.0;
    p = p * w - 1.0 / 3.0;
    p = p * w + 1.0;
    return WA_FRAC_2_SQRT_PI * z * p;
}

// The pieces of Phi(x) and phi(x) for |z| >= 0.5, z = x / sqrt 2, with
// -z^2 split exactly as hi + lo: hi = -h^2, h the top 12 bits of |z| (so
// h^2 is exact), lo = -(|z| - h)(|z| + h). Then erfc(|z|) = t exp(hi + lo + P(t))
// and phi(x) = exp(hi + lo) / sqrt(2 pi); the exp of the unrounded sum keeps
// the bits that exp(-z^2) would lose to the rounding of z^2 (81 eps at z = 9).
struct WaNormalTail {
    t: f32,
    hi: f32,
    lo: f32,
    exponent: f32,
}

fn wa_normal_tail(z: f32) -> WaNormalTail {
    // Past |z| = 16, exp(-z^2) is exactly 0 in f32: clamped there, an
    // infinite z gives 0 rather than inf - inf.
    let a = select(wa_abs(z), 16.0, wa_abs(z) > 16.0);
    let t = 1.0 / (1.0 + 0.5 * a);
    let h = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
    return WaNormalTail(t, -(h * h), -((a - h) * (a + h)), wa_erfc_exponent(t));
}

// Below x = -30 both forms and their gradients are below 1e-190 times x:
// exactly 0 for any f32 gradient (and -inf * 0 would be NaN), so they are
// written as limits.
fn wa_gelu_vanished(x: f32) -> bool {
    return x < -30.0;
}

// x Phi(x) with Phi(x) = 1 - erfc(z) / 2 (x > 0) or erfc(|z|) / 2, and
// erfc(|z|) / 2 = (t p / 2) 2^k with exp(hi + lo + P(t)) = p 2^k: the lower
// tail x Phi(x) is scaled last, so it keeps relative accuracy all the way
// down, where erfc(|z|) alone is subnormal.
fn gelu(x: f32) -> f32 {
    let z = x * WA_FRAC_1_SQRT_2;
    var value: f32;
    if (wa_abs(z) < 0.5) {
        value = x * (0.5 + 0.5 * wa_erf_small(z));
    } else {
        let tail = wa_normal_tail(z);
        let parts = wa_exp_sum_parts(tail.hi, tail.lo + tail.exponent);
        let half = 0.5 * tail.t * parts.p;
        value = select(wa_scale_pow2(x * half, parts.k), x * (1.0 - wa_scale_pow2(half, parts.k)), x > 0.0);
    }
    return wa_keep_nan(x, select(value, wa_zero_signed_as(x), wa_gelu_vanished(x)));
}

// Phi(x) + x phi(x).
fn gelu_backward(x: f32, grad_output: f32) -> f32 {
    let z = x * WA_FRAC_1_SQRT_2;
    let gone = wa_times_vanishing(grad_output, -1.0, x);
    var value: f32;
    if (wa_abs(z) < 0.5) {
        let cdf = 0.5 + 0.5 * wa_erf_small(z);
        let pdf = WA_FRAC_1_SQRT_2PI * wa_exp(-(z * z));
        value = grad_output * (cdf + x * pdf);
    } else {
        let tail = wa_normal_tail(z);
        let parts = wa_exp_sum_parts_wide(tail.hi, tail.lo);
        let e = wa_scale_pow2(parts.p, parts.k);
        let f = wa_exp(tail.exponent);
        if (x > 0.0) {
            let pdf = WA_FRAC_1_SQRT_2PI * e;
            value = grad_output * ((1.0 - 0.5 * tail.t * e * f) + select(x * pdf, 0.0, pdf == 0.0));
        } else {
            // Phi(x) + x phi(x) = (t f / 2 + x / sqrt(2 pi)) exp(-z^2), with
            // exp(-z^2) = p 2^k: d p times g, 2^k applied last
            // (`wa_times_scaled`), so that results that are normal keep their
            // bits where exp(-z^2) alone is subnormal (1e5 gelu'(-14)). (|z|
            // <= 16 here, so p is 0 only for NaN.)
            let d = 0.5 * tail.t * f + x * WA_FRAC_1_SQRT_2PI;
            value = wa_times_scaled(grad_output, d * parts.p, parts.k);
        }
    }
    return wa_keep_nan(x, select(value, gone, wa_gelu_vanished(x)));
}

// The tanh form's 2u.
fn wa_gelu_tanh_inner(x: f32) -> f32 {
    return 2.0 * WA_SQRT_2_OVER_PI * (x + WA_GELU_TANH_KAPPA * x * x * x);
}

// x sigmoid(2u), scaled last as `silu` (`wa_times_sigmoid`: x exp(2u) in
// the far tail keeps its bits where exp(2u) is subnormal).
fn gelu_tanh(x: f32) -> f32 {
    let value = wa_times_sigmoid(x, wa_gelu_tanh_inner(x));
    return wa_keep_nan(x, select(value, wa_zero_signed_as(x), wa_gelu_vanished(x)));
}

// d/dx x s(2u) = s + x * 2 s (1 - s) * sqrt(2/pi) (1 + 3 kappa x^2), scaled
// last below 2u = 0 (`wa_grad_times_sigmoid_slope`).
fn gelu_tanh_backward(x: f32, grad_output: f32) -> f32 {
    let inner = wa_gelu_tanh_inner(x);
    let growth = (2.0 * WA_SQRT_2_OVER_PI) * (1.0 + 3.0 * WA_GELU_TANH_KAPPA * x * x);
    let value = wa_grad_times_sigmoid_slope(grad_output, inner, x, growth);
    let gone = wa_times_vanishing(grad_output, -1.0, x);
    return wa_keep_nan(x, select(value, gone, wa_gelu_vanished(x)));
}

// f'(x) of identity: identity_backward with grad_output = 1.
fn identity_grad(x: f32) -> f32 {
    return identity_backward(x, 1.0);
}

// f'(x) of relu: relu_backward with grad_output = 1.
fn relu_grad(x: f32) -> f32 {
    return relu_backward(x, 1.0);
}

// f'(x) of leaky_relu: leaky_relu_backward with grad_output = 1.
fn leaky_relu_grad(x: f32, negative_slope: f32) -> f32 {
    return leaky_relu_backward(x, 1.0, negative_slope);
}

// f'(x) of prelu: prelu_backward with grad_output = 1.
fn prelu_grad(x: f32, weight: f32) -> f32 {
    return prelu_backward(x, 1.0, weight);
}

// f'(x) of rrelu: rrelu_backward with grad_output = 1.
fn rrelu_grad(x: f32, lower: f32, upper: f32) -> f32 {
    return rrelu_backward(x, 1.0, lower, upper);
}

// f'(x) of rrelu_training: rrelu_training_backward with grad_output = 1.
fn rrelu_training_grad(x: f32, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f32 {
    return rrelu_training_backward(x, 1.0, lower, upper, seed, index);
}

// f'(x) of hardtanh: hardtanh_backward with grad_output = 1.
fn hardtanh_grad(x: f32, min_val: f32, max_val: f32) -> f32 {
    return hardtanh_backward(x, 1.0, min_val, max_val);
}

// f'(x) of relu6: relu6_backward with grad_output = 1.
fn relu6_grad(x: f32) -> f32 {
    return relu6_backward(x, 1.0);
}

// f'(x) of threshold: threshold_backward with grad_output = 1.
fn threshold_grad(x: f32, threshold: f32, value: f32) -> f32 {
    return threshold_backward(x, 1.0, threshold, value);
}

// f'(x) of hardsigmoid: hardsigmoid_backward with grad_output = 1.
fn hardsigmoid_grad(x: f32) -> f32 {
    return hardsigmoid_backward(x, 1.0);
}

// f'(x) of hardswish: hardswish_backward with grad_output = 1.
fn hardswish_grad(x: f32) -> f32 {
    return hardswish_backward(x, 1.0);
}

// f'(x) of hardshrink: hardshrink_backward with grad_output = 1.
fn hardshrink_grad(x: f32, lambd: f32) -> f32 {
    return hardshrink_backward(x, 1.0, lambd);
}

// f'(x) of softshrink: softshrink_backward with grad_output = 1.
fn softshrink_grad(x: f32, lambd: f32) -> f32 {
    return softshrink_backward(x, 1.0, lambd);
}

// f'(x) of tanhshrink: tanhshrink_backward with grad_output = 1.
fn tanhshrink_grad(x: f32) -> f32 {
    return tanhshrink_backward(x, 1.0);
}

// f'(x) of elu: elu_backward with grad_output = 1.
fn elu_grad(x: f32, alpha: f32) -> f32 {
    return elu_backward(x, 1.0, alpha);
}

// f'(x) of selu: selu_backward with grad_output = 1.
fn selu_grad(x: f32) -> f32 {
    return selu_backward(x, 1.0);
}

// f'(x) of celu: celu_backward with grad_output = 1.
fn celu_grad(x: f32, alpha: f32) -> f32 {
    return celu_backward(x, 1.0, alpha);
}

// f'(x) of sigmoid: sigmoid_backward with grad_output = 1.
fn sigmoid_grad(x: f32) -> f32 {
    return sigmoid_backward(x, 1.0);
}

// f'(x) of logsigmoid: logsigmoid_backward with grad_output = 1.
fn logsigmoid_grad(x: f32) -> f32 {
    return logsigmoid_backward(x, 1.0);
}

// f'(x) of silu: silu_backward with grad_output = 1.
fn silu_grad(x: f32) -> f32 {
    return silu_backward(x, 1.0);
}

// f'(x) of softplus: softplus_backward with grad_output = 1.
fn softplus_grad(x: f32, beta: f32, threshold: f32) -> f32 {
    return softplus_backward(x, 1.0, beta, threshold);
}

// f'(x) of mish: mish_backward with grad_output = 1.
fn mish_grad(x: f32) -> f32 {
    return mish_backward(x, 1.0);
}

// f'(x) of tanh: tanh_backward with grad_output = 1.
fn tanh_grad(x: f32) -> f32 {
    return tanh_backward(x, 1.0);
}

// f'(x) of softsign: softsign_backward with grad_output = 1.
fn softsign_grad(x: f32) -> f32 {
    return softsign_backward(x, 1.0);
}

// f'(x) of gelu: gelu_backward with grad_output = 1.
fn gelu_grad(x: f32) -> f32 {
    return gelu_backward(x, 1.0);
}

// f'(x) of gelu_tanh: gelu_tanh_backward with grad_output = 1.
fn gelu_tanh_grad(x: f32) -> f32 {
    return gelu_tanh_backward(x, 1.0);
}

// identity on each lane.
fn identity_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        identity(x.x),
        identity(x.y),
        identity(x.z),
        identity(x.w),
    );
}

// identity on f16 values: f32 arithmetic, one rounding.
fn identity_f16(x: f16) -> f16 {
    return wa_narrow_f16(identity(f32(x)));
}

// identity on each lane.
fn identity_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        identity_f16(x.x),
        identity_f16(x.y),
        identity_f16(x.z),
        identity_f16(x.w),
    );
}

// identity_backward on each lane.
fn identity_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        identity_backward(x.x, grad_output.x),
        identity_backward(x.y, grad_output.y),
        identity_backward(x.z, grad_output.z),
        identity_backward(x.w, grad_output.w),
    );
}

// identity_backward on f16 values: f32 arithmetic, one rounding.
fn identity_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(identity_backward(f32(x), f32(grad_output)));
}

// identity_backward on each lane.
fn identity_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        identity_backward_f16(x.x, grad_output.x),
        identity_backward_f16(x.y, grad_output.y),
        identity_backward_f16(x.z, grad_output.z),
        identity_backward_f16(x.w, grad_output.w),
    );
}

// identity_backward_from_output on each lane.
fn identity_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        identity_backward_from_output(y.x, grad_output.x),
        identity_backward_from_output(y.y, grad_output.y),
        identity_backward_from_output(y.z, grad_output.z),
        identity_backward_from_output(y.w, grad_output.w),
    );
}

// identity_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn identity_backward_from_output_f16(y: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(identity_backward_from_output(f32(y), f32(grad_output)));
}

// identity_backward_from_output on each lane.
fn identity_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        identity_backward_from_output_f16(y.x, grad_output.x),
        identity_backward_from_output_f16(y.y, grad_output.y),
        identity_backward_from_output_f16(y.z, grad_output.z),
        identity_backward_from_output_f16(y.w, grad_output.w),
    );
}

// relu on each lane.
fn relu_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu(x.x),
        relu(x.y),
        relu(x.z),
        relu(x.w),
    );
}

// relu on f16 values: f32 arithmetic, one rounding.
fn relu_f16(x: f16) -> f16 {
    return wa_narrow_f16(relu(f32(x)));
}

// relu on each lane.
fn relu_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu_f16(x.x),
        relu_f16(x.y),
        relu_f16(x.z),
        relu_f16(x.w),
    );
}

// relu_backward on each lane.
fn relu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu_backward(x.x, grad_output.x),
        relu_backward(x.y, grad_output.y),
        relu_backward(x.z, grad_output.z),
        relu_backward(x.w, grad_output.w),
    );
}

// relu_backward on f16 values: f32 arithmetic, one rounding.
fn relu_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(relu_backward(f32(x), f32(grad_output)));
}

// relu_backward on each lane.
fn relu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu_backward_f16(x.x, grad_output.x),
        relu_backward_f16(x.y, grad_output.y),
        relu_backward_f16(x.z, grad_output.z),
        relu_backward_f16(x.w, grad_output.w),
    );
}

// relu_backward_from_output on each lane.
fn relu_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu_backward_from_output(y.x, grad_output.x),
        relu_backward_from_output(y.y, grad_output.y),
        relu_backward_from_output(y.z, grad_output.z),
        relu_backward_from_output(y.w, grad_output.w),
    );
}

// relu_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn relu_backward_from_output_f16(y: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(relu_backward_from_output(f32(y), f32(grad_output)));
}

// relu_backward_from_output on each lane.
fn relu_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu_backward_from_output_f16(y.x, grad_output.x),
        relu_backward_from_output_f16(y.y, grad_output.y),
        relu_backward_from_output_f16(y.z, grad_output.z),
        relu_backward_from_output_f16(y.w, grad_output.w),
    );
}

// leaky_relu on each lane.
fn leaky_relu_vec4(x: vec4<f32>, negative_slope: f32) -> vec4<f32> {
    return vec4<f32>(
        leaky_relu(x.x, negative_slope),
        leaky_relu(x.y, negative_slope),
        leaky_relu(x.z, negative_slope),
        leaky_relu(x.w, negative_slope),
    );
}

// leaky_relu on f16 values: f32 arithmetic, one rounding.
fn leaky_relu_f16(x: f16, negative_slope: f32) -> f16 {
    return wa_narrow_f16(leaky_relu(f32(x), negative_slope));
}

// leaky_relu on each lane.
fn leaky_relu_vec4_f16(x: vec4<f16>, negative_slope: f32) -> vec4<f16> {
    return vec4<f16>(
        leaky_relu_f16(x.x, negative_slope),
        leaky_relu_f16(x.y, negative_slope),
        leaky_relu_f16(x.z, negative_slope),
        leaky_relu_f16(x.w, negative_slope),
    );
}

// leaky_relu_backward on each lane.
fn leaky_relu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, negative_slope: f32) -> vec4<f32> {
    return vec4<f32>(
        leaky_relu_backward(x.x, grad_output.x, negative_slope),
        leaky_relu_backward(x.y, grad_output.y, negative_slope),
        leaky_relu_backward(x.z, grad_output.z, negative_slope),
        leaky_relu_backward(x.w, grad_output.w, negative_slope),
    );
}

// leaky_relu_backward on f16 values: f32 arithmetic, one rounding.
fn leaky_relu_backward_f16(x: f16, grad_output: f16, negative_slope: f32) -> f16 {
    return wa_narrow_f16(leaky_relu_backward(f32(x), f32(grad_output), negative_slope));
}

// leaky_relu_backward on each lane.
fn leaky_relu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, negative_slope: f32) -> vec4<f16> {
    return vec4<f16>(
        leaky_relu_backward_f16(x.x, grad_output.x, negative_slope),
        leaky_relu_backward_f16(x.y, grad_output.y, negative_slope),
        leaky_relu_backward_f16(x.z, grad_output.z, negative_slope),
        leaky_relu_backward_f16(x.w, grad_output.w, negative_slope),
    );
}

// leaky_relu_backward_from_output on each lane.
fn leaky_relu_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>, negative_slope: f32) -> vec4<f32> {
    return vec4<f32>(
        leaky_relu_backward_from_output(y.x, grad_output.x, negative_slope),
        leaky_relu_backward_from_output(y.y, grad_output.y, negative_slope),
        leaky_relu_backward_from_output(y.z, grad_output.z, negative_slope),
        leaky_relu_backward_from_output(y.w, grad_output.w, negative_slope),
    );
}

// leaky_relu_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn leaky_relu_backward_from_output_f16(y: f16, grad_output: f16, negative_slope: f32) -> f16 {
    return wa_narrow_f16(leaky_relu_backward_from_output(f32(y), f32(grad_output), negative_slope));
}

// leaky_relu_backward_from_output on each lane.
fn leaky_relu_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>, negative_slope: f32) -> vec4<f16> {
    return vec4<f16>(
        leaky_relu_backward_from_output_f16(y.x, grad_output.x, negative_slope),
        leaky_relu_backward_from_output_f16(y.y, grad_output.y, negative_slope),
        leaky_relu_backward_from_output_f16(y.z, grad_output.z, negative_slope),
        leaky_relu_backward_from_output_f16(y.w, grad_output.w, negative_slope),
    );
}

// prelu on each lane.
fn prelu_vec4(x: vec4<f32>, weight: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        prelu(x.x, weight.x),
        prelu(x.y, weight.y),
        prelu(x.z, weight.z),
        prelu(x.w, weight.w),
    );
}

// prelu on f16 values: f32 arithmetic, one rounding.
fn prelu_f16(x: f16, weight: f16) -> f16 {
    return wa_narrow_f16(prelu(f32(x), f32(weight)));
}

// prelu on each lane.
fn prelu_vec4_f16(x: vec4<f16>, weight: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        prelu_f16(x.x, weight.x),
        prelu_f16(x.y, weight.y),
        prelu_f16(x.z, weight.z),
        prelu_f16(x.w, weight.w),
    );
}

// prelu_backward on each lane.
fn prelu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, weight: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        prelu_backward(x.x, grad_output.x, weight.x),
        prelu_backward(x.y, grad_output.y, weight.y),
        prelu_backward(x.z, grad_output.z, weight.z),
        prelu_backward(x.w, grad_output.w, weight.w),
    );
}

// prelu_backward on f16 values: f32 arithmetic, one rounding.
fn prelu_backward_f16(x: f16, grad_output: f16, weight: f16) -> f16 {
    return wa_narrow_f16(prelu_backward(f32(x), f32(grad_output), f32(weight)));
}

// prelu_backward on each lane.
fn prelu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, weight: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        prelu_backward_f16(x.x, grad_output.x, weight.x),
        prelu_backward_f16(x.y, grad_output.y, weight.y),
        prelu_backward_f16(x.z, grad_output.z, weight.z),
        prelu_backward_f16(x.w, grad_output.w, weight.w),
    );
}

// rrelu on each lane.
fn rrelu_vec4(x: vec4<f32>, lower: f32, upper: f32) -> vec4<f32> {
    return vec4<f32>(
        rrelu(x.x, lower, upper),
        rrelu(x.y, lower, upper),
        rrelu(x.z, lower, upper),
        rrelu(x.w, lower, upper),
    );
}

// rrelu on f16 values: f32 arithmetic, one rounding.
fn rrelu_f16(x: f16, lower: f32, upper: f32) -> f16 {
    return wa_narrow_f16(rrelu(f32(x), lower, upper));
}

// rrelu on each lane.
fn rrelu_vec4_f16(x: vec4<f16>, lower: f32, upper: f32) -> vec4<f16> {
    return vec4<f16>(
        rrelu_f16(x.x, lower, upper),
        rrelu_f16(x.y, lower, upper),
        rrelu_f16(x.z, lower, upper),
        rrelu_f16(x.w, lower, upper),
    );
}

// rrelu_backward on each lane.
fn rrelu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, lower: f32, upper: f32) -> vec4<f32> {
    return vec4<f32>(
        rrelu_backward(x.x, grad_output.x, lower, upper),
        rrelu_backward(x.y, grad_output.y, lower, upper),
        rrelu_backward(x.z, grad_output.z, lower, upper),
        rrelu_backward(x.w, grad_output.w, lower, upper),
    );
}

// rrelu_backward on f16 values: f32 arithmetic, one rounding.
fn rrelu_backward_f16(x: f16, grad_output: f16, lower: f32, upper: f32) -> f16 {
    return wa_narrow_f16(rrelu_backward(f32(x), f32(grad_output), lower, upper));
}

// rrelu_backward on each lane.
fn rrelu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, lower: f32, upper: f32) -> vec4<f16> {
    return vec4<f16>(
        rrelu_backward_f16(x.x, grad_output.x, lower, upper),
        rrelu_backward_f16(x.y, grad_output.y, lower, upper),
        rrelu_backward_f16(x.z, grad_output.z, lower, upper),
        rrelu_backward_f16(x.w, grad_output.w, lower, upper),
    );
}

// rrelu_training on each lane.
fn rrelu_training_vec4(x: vec4<f32>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(
        rrelu_training(x.x, lower, upper, seed, index.x),
        rrelu_training(x.y, lower, upper, seed, index.y),
        rrelu_training(x.z, lower, upper, seed, index.z),
        rrelu_training(x.w, lower, upper, seed, index.w),
    );
}

// rrelu_training on f16 values: f32 arithmetic, one rounding.
fn rrelu_training_f16(x: f16, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f16 {
    return wa_narrow_f16(rrelu_training(f32(x), lower, upper, seed, index));
}

// rrelu_training on each lane.
fn rrelu_training_vec4_f16(x: vec4<f16>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f16> {
    return vec4<f16>(
        rrelu_training_f16(x.x, lower, upper, seed, index.x),
        rrelu_training_f16(x.y, lower, upper, seed, index.y),
        rrelu_training_f16(x.z, lower, upper, seed, index.z),
        rrelu_training_f16(x.w, lower, upper, seed, index.w),
    );
}

// rrelu_training_backward on each lane.
fn rrelu_training_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(
        rrelu_training_backward(x.x, grad_output.x, lower, upper, seed, index.x),
        rrelu_training_backward(x.y, grad_output.y, lower, upper, seed, index.y),
        rrelu_training_backward(x.z, grad_output.z, lower, upper, seed, index.z),
        rrelu_training_backward(x.w, grad_output.w, lower, upper, seed, index.w),
    );
}

// rrelu_training_backward on f16 values: f32 arithmetic, one rounding.
fn rrelu_training_backward_f16(x: f16, grad_output: f16, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f16 {
    return wa_narrow_f16(rrelu_training_backward(f32(x), f32(grad_output), lower, upper, seed, index));
}

// rrelu_training_backward on each lane.
fn rrelu_training_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f16> {
    return vec4<f16>(
        rrelu_training_backward_f16(x.x, grad_output.x, lower, upper, seed, index.x),
        rrelu_training_backward_f16(x.y, grad_output.y, lower, upper, seed, index.y),
        rrelu_training_backward_f16(x.z, grad_output.z, lower, upper, seed, index.z),
        rrelu_training_backward_f16(x.w, grad_output.w, lower, upper, seed, index.w),
    );
}

// hardtanh on each lane.
fn hardtanh_vec4(x: vec4<f32>, min_val: f32, max_val: f32) -> vec4<f32> {
    return vec4<f32>(
        hardtanh(x.x, min_val, max_val),
        hardtanh(x.y, min_val, max_val),
        hardtanh(x.z, min_val, max_val),
        hardtanh(x.w, min_val, max_val),
    );
}

// hardtanh on f16 values: f32 arithmetic, one rounding.
fn hardtanh_f16(x: f16, min_val: f32, max_val: f32) -> f16 {
    return wa_narrow_f16(hardtanh(f32(x), min_val, max_val));
}

// hardtanh on each lane.
fn hardtanh_vec4_f16(x: vec4<f16>, min_val: f32, max_val: f32) -> vec4<f16> {
    return vec4<f16>(
        hardtanh_f16(x.x, min_val, max_val),
        hardtanh_f16(x.y, min_val, max_val),
        hardtanh_f16(x.z, min_val, max_val),
        hardtanh_f16(x.w, min_val, max_val),
    );
}

// hardtanh_backward on each lane.
fn hardtanh_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, min_val: f32, max_val: f32) -> vec4<f32> {
    return vec4<f32>(
        hardtanh_backward(x.x, grad_output.x, min_val, max_val),
        hardtanh_backward(x.y, grad_output.y, min_val, max_val),
        hardtanh_backward(x.z, grad_output.z, min_val, max_val),
        hardtanh_backward(x.w, grad_output.w, min_val, max_val),
    );
}

// hardtanh_backward on f16 values: f32 arithmetic, one rounding.
fn hardtanh_backward_f16(x: f16, grad_output: f16, min_val: f32, max_val: f32) -> f16 {
    return wa_narrow_f16(hardtanh_backward(f32(x), f32(grad_output), min_val, max_val));
}

// hardtanh_backward on each lane.
fn hardtanh_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, min_val: f32, max_val: f32) -> vec4<f16> {
    return vec4<f16>(
        hardtanh_backward_f16(x.x, grad_output.x, min_val, max_val),
        hardtanh_backward_f16(x.y, grad_output.y, min_val, max_val),
        hardtanh_backward_f16(x.z, grad_output.z, min_val, max_val),
        hardtanh_backward_f16(x.w, grad_output.w, min_val, max_val),
    );
}

// relu6 on each lane.
fn relu6_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu6(x.x),
        relu6(x.y),
        relu6(x.z),
        relu6(x.w),
    );
}

// relu6 on f16 values: f32 arithmetic, one rounding.
fn relu6_f16(x: f16) -> f16 {
    return wa_narrow_f16(relu6(f32(x)));
}

// relu6 on each lane.
fn relu6_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu6_f16(x.x),
        relu6_f16(x.y),
        relu6_f16(x.z),
        relu6_f16(x.w),
    );
}

// relu6_backward on each lane.
fn relu6_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu6_backward(x.x, grad_output.x),
        relu6_backward(x.y, grad_output.y),
        relu6_backward(x.z, grad_output.z),
        relu6_backward(x.w, grad_output.w),
    );
}

// relu6_backward on f16 values: f32 arithmetic, one rounding.
fn relu6_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(relu6_backward(f32(x), f32(grad_output)));
}

// relu6_backward on each lane.
fn relu6_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu6_backward_f16(x.x, grad_output.x),
        relu6_backward_f16(x.y, grad_output.y),
        relu6_backward_f16(x.z, grad_output.z),
        relu6_backward_f16(x.w, grad_output.w),
    );
}

// threshold on each lane.
fn threshold_vec4(x: vec4<f32>, threshold_: f32, value: f32) -> vec4<f32> {
    return vec4<f32>(
        threshold(x.x, threshold_, value),
        threshold(x.y, threshold_, value),
        threshold(x.z, threshold_, value),
        threshold(x.w, threshold_, value),
    );
}

// threshold on f16 values: f32 arithmetic, one rounding.
fn threshold_f16(x: f16, threshold_: f32, value: f32) -> f16 {
    return wa_narrow_f16(threshold(f32(x), threshold_, value));
}

// threshold on each lane.
fn threshold_vec4_f16(x: vec4<f16>, threshold: f32, value: f32) -> vec4<f16> {
    return vec4<f16>(
        threshold_f16(x.x, threshold, value),
        threshold_f16(x.y, threshold, value),
        threshold_f16(x.z, threshold, value),
        threshold_f16(x.w, threshold, value),
    );
}

// threshold_backward on each lane.
fn threshold_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, threshold: f32, value: f32) -> vec4<f32> {
    return vec4<f32>(
        threshold_backward(x.x, grad_output.x, threshold, value),
        threshold_backward(x.y, grad_output.y, threshold, value),
        threshold_backward(x.z, grad_output.z, threshold, value),
        threshold_backward(x.w, grad_output.w, threshold, value),
    );
}

// threshold_backward on f16 values: f32 arithmetic, one rounding.
fn threshold_backward_f16(x: f16, grad_output: f16, threshold: f32, value: f32) -> f16 {
    return wa_narrow_f16(threshold_backward(f32(x), f32(grad_output), threshold, value));
}

// threshold_backward on each lane.
fn threshold_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, threshold: f32, value: f32) -> vec4<f16> {
    return vec4<f16>(
        threshold_backward_f16(x.x, grad_output.x, threshold, value),
        threshold_backward_f16(x.y, grad_output.y, threshold, value),
        threshold_backward_f16(x.z, grad_output.z, threshold, value),
        threshold_backward_f16(x.w, grad_output.w, threshold, value),
    );
}

// hardsigmoid on each lane.
fn hardsigmoid_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardsigmoid(x.x),
        hardsigmoid(x.y),
        hardsigmoid(x.z),
        hardsigmoid(x.w),
    );
}

// hardsigmoid on f16 values: f32 arithmetic, one rounding.
fn hardsigmoid_f16(x: f16) -> f16 {
    return wa_narrow_f16(hardsigmoid(f32(x)));
}

// hardsigmoid on each lane.
fn hardsigmoid_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardsigmoid_f16(x.x),
        hardsigmoid_f16(x.y),
        hardsigmoid_f16(x.z),
        hardsigmoid_f16(x.w),
    );
}

// hardsigmoid_backward on each lane.
fn hardsigmoid_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardsigmoid_backward(x.x, grad_output.x),
        hardsigmoid_backward(x.y, grad_output.y),
        hardsigmoid_backward(x.z, grad_output.z),
        hardsigmoid_backward(x.w, grad_output.w),
    );
}

// hardsigmoid_backward on f16 values: f32 arithmetic, one rounding.
fn hardsigmoid_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(hardsigmoid_backward(f32(x), f32(grad_output)));
}

// hardsigmoid_backward on each lane.
fn hardsigmoid_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardsigmoid_backward_f16(x.x, grad_output.x),
        hardsigmoid_backward_f16(x.y, grad_output.y),
        hardsigmoid_backward_f16(x.z, grad_output.z),
        hardsigmoid_backward_f16(x.w, grad_output.w),
    );
}

// hardswish on each lane.
fn hardswish_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardswish(x.x),
        hardswish(x.y),
        hardswish(x.z),
        hardswish(x.w),
    );
}

// hardswish on f16 values: f32 arithmetic, one rounding.
fn hardswish_f16(x: f16) -> f16 {
    return wa_narrow_f16(hardswish(f32(x)));
}

// hardswish on each lane.
fn hardswish_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardswish_f16(x.x),
        hardswish_f16(x.y),
        hardswish_f16(x.z),
        hardswish_f16(x.w),
    );
}

// hardswish_backward on each lane.
fn hardswish_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardswish_backward(x.x, grad_output.x),
        hardswish_backward(x.y, grad_output.y),
        hardswish_backward(x.z, grad_output.z),
        hardswish_backward(x.w, grad_output.w),
    );
}

// hardswish_backward on f16 values: f32 arithmetic, one rounding.
fn hardswish_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(hardswish_backward(f32(x), f32(grad_output)));
}

// hardswish_backward on each lane.
fn hardswish_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardswish_backward_f16(x.x, grad_output.x),
        hardswish_backward_f16(x.y, grad_output.y),
        hardswish_backward_f16(x.z, grad_output.z),
        hardswish_backward_f16(x.w, grad_output.w),
    );
}

// hardshrink on each lane.
fn hardshrink_vec4(x: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        hardshrink(x.x, lambd),
        hardshrink(x.y, lambd),
        hardshrink(x.z, lambd),
        hardshrink(x.w, lambd),
    );
}

// hardshrink on f16 values: f32 arithmetic, one rounding.
fn hardshrink_f16(x: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(hardshrink(f32(x), lambd));
}

// hardshrink on each lane.
fn hardshrink_vec4_f16(x: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        hardshrink_f16(x.x, lambd),
        hardshrink_f16(x.y, lambd),
        hardshrink_f16(x.z, lambd),
        hardshrink_f16(x.w, lambd),
    );
}

// hardshrink_backward on each lane.
fn hardshrink_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        hardshrink_backward(x.x, grad_output.x, lambd),
        hardshrink_backward(x.y, grad_output.y, lambd),
        hardshrink_backward(x.z, grad_output.z, lambd),
        hardshrink_backward(x.w, grad_output.w, lambd),
    );
}

// hardshrink_backward on f16 values: f32 arithmetic, one rounding.
fn hardshrink_backward_f16(x: f16, grad_output: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(hardshrink_backward(f32(x), f32(grad_output), lambd));
}

// hardshrink_backward on each lane.
fn hardshrink_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        hardshrink_backward_f16(x.x, grad_output.x, lambd),
        hardshrink_backward_f16(x.y, grad_output.y, lambd),
        hardshrink_backward_f16(x.z, grad_output.z, lambd),
        hardshrink_backward_f16(x.w, grad_output.w, lambd),
    );
}

// softshrink on each lane.
fn softshrink_vec4(x: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        softshrink(x.x, lambd),
        softshrink(x.y, lambd),
        softshrink(x.z, lambd),
        softshrink(x.w, lambd),
    );
}

// softshrink on f16 values: f32 arithmetic, one rounding.
fn softshrink_f16(x: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(softshrink(f32(x), lambd));
}

// softshrink on each lane.
fn softshrink_vec4_f16(x: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        softshrink_f16(x.x, lambd),
        softshrink_f16(x.y, lambd),
        softshrink_f16(x.z, lambd),
        softshrink_f16(x.w, lambd),
    );
}

// softshrink_backward on each lane.
fn softshrink_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        softshrink_backward(x.x, grad_output.x, lambd),
        softshrink_backward(x.y, grad_output.y, lambd),
        softshrink_backward(x.z, grad_output.z, lambd),
        softshrink_backward(x.w, grad_output.w, lambd),
    );
}

// softshrink_backward on f16 values: f32 arithmetic, one rounding.
fn softshrink_backward_f16(x: f16, grad_output: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(softshrink_backward(f32(x), f32(grad_output), lambd));
}

// softshrink_backward on each lane.
fn softshrink_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        softshrink_backward_f16(x.x, grad_output.x, lambd),
        softshrink_backward_f16(x.y, grad_output.y, lambd),
        softshrink_backward_f16(x.z, grad_output.z, lambd),
        softshrink_backward_f16(x.w, grad_output.w, lambd),
    );
}

// tanhshrink on each lane.
fn tanhshrink_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanhshrink(x.x),
        tanhshrink(x.y),
        tanhshrink(x.z),
        tanhshrink(x.w),
    );
}

// tanhshrink on f16 values: f32 arithmetic, one rounding.
fn tanhshrink_f16(x: f16) -> f16 {
    return wa_narrow_f16(tanhshrink(f32(x)));
}

// tanhshrink on each lane.
fn tanhshrink_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanhshrink_f16(x.x),
        tanhshrink_f16(x.y),
        tanhshrink_f16(x.z),
        tanhshrink_f16(x.w),
    );
}

// tanhshrink_backward on each lane.
fn tanhshrink_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanhshrink_backward(x.x, grad_output.x),
        tanhshrink_backward(x.y, grad_output.y),
        tanhshrink_backward(x.z, grad_output.z),
        tanhshrink_backward(x.w, grad_output.w),
    );
}

// tanhshrink_backward on f16 values: f32 arithmetic, one rounding.
fn tanhshrink_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(tanhshrink_backward(f32(x), f32(grad_output)));
}

// tanhshrink_backward on each lane.
fn tanhshrink_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanhshrink_backward_f16(x.x, grad_output.x),
        tanhshrink_backward_f16(x.y, grad_output.y),
        tanhshrink_backward_f16(x.z, grad_output.z),
        tanhshrink_backward_f16(x.w, grad_output.w),
    );
}

// elu on each lane.
fn elu_vec4(x: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        elu(x.x, alpha),
        elu(x.y, alpha),
        elu(x.z, alpha),
        elu(x.w, alpha),
    );
}

// elu on f16 values: f32 arithmetic, one rounding.
fn elu_f16(x: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(elu(f32(x), alpha));
}

// elu on each lane.
fn elu_vec4_f16(x: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        elu_f16(x.x, alpha),
        elu_f16(x.y, alpha),
        elu_f16(x.z, alpha),
        elu_f16(x.w, alpha),
    );
}

// elu_backward on each lane.
fn elu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        elu_backward(x.x, grad_output.x, alpha),
        elu_backward(x.y, grad_output.y, alpha),
        elu_backward(x.z, grad_output.z, alpha),
        elu_backward(x.w, grad_output.w, alpha),
    );
}

// elu_backward on f16 values: f32 arithmetic, one rounding.
fn elu_backward_f16(x: f16, grad_output: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(elu_backward(f32(x), f32(grad_output), alpha));
}

// elu_backward on each lane.
fn elu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        elu_backward_f16(x.x, grad_output.x, alpha),
        elu_backward_f16(x.y, grad_output.y, alpha),
        elu_backward_f16(x.z, grad_output.z, alpha),
        elu_backward_f16(x.w, grad_output.w, alpha),
    );
}

// elu_backward_from_output on each lane.
fn elu_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        elu_backward_from_output(y.x, grad_output.x, alpha),
        elu_backward_from_output(y.y, grad_output.y, alpha),
        elu_backward_from_output(y.z, grad_output.z, alpha),
        elu_backward_from_output(y.w, grad_output.w, alpha),
    );
}

// elu_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn elu_backward_from_output_f16(y: f16, grad_output: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(elu_backward_from_output(f32(y), f32(grad_output), alpha));
}

// elu_backward_from_output on each lane.
fn elu_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        elu_backward_from_output_f16(y.x, grad_output.x, alpha),
        elu_backward_from_output_f16(y.y, grad_output.y, alpha),
        elu_backward_from_output_f16(y.z, grad_output.z, alpha),
        elu_backward_from_output_f16(y.w, grad_output.w, alpha),
    );
}

// selu on each lane.
fn selu_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        selu(x.x),
        selu(x.y),
        selu(x.z),
        selu(x.w),
    );
}

// selu on f16 values: f32 arithmetic, one rounding.
fn selu_f16(x: f16) -> f16 {
    return wa_narrow_f16(selu(f32(x)));
}

// selu on each lane.
fn selu_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        selu_f16(x.x),
        selu_f16(x.y),
        selu_f16(x.z),
        selu_f16(x.w),
    );
}

// selu_backward on each lane.
fn selu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        selu_backward(x.x, grad_output.x),
        selu_backward(x.y, grad_output.y),
        selu_backward(x.z, grad_output.z),
        selu_backward(x.w, grad_output.w),
    );
}

// selu_backward on f16 values: f32 arithmetic, one rounding.
fn selu_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(selu_backward(f32(x), f32(grad_output)));
}

// selu_backward on each lane.
fn selu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        selu_backward_f16(x.x, grad_output.x),
        selu_backward_f16(x.y, grad_output.y),
        selu_backward_f16(x.z, grad_output.z),
        selu_backward_f16(x.w, grad_output.w),
    );
}

// celu on each lane.
fn celu_vec4(x: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        celu(x.x, alpha),
        celu(x.y, alpha),
        celu(x.z, alpha),
        celu(x.w, alpha),
    );
}

// celu on f16 values: f32 arithmetic, one rounding.
fn celu_f16(x: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(celu(f32(x), alpha));
}

// celu on each lane.
fn celu_vec4_f16(x: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        celu_f16(x.x, alpha),
        celu_f16(x.y, alpha),
        celu_f16(x.z, alpha),
        celu_f16(x.w, alpha),
    );
}

// celu_backward on each lane.
fn celu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        celu_backward(x.x, grad_output.x, alpha),
        celu_backward(x.y, grad_output.y, alpha),
        celu_backward(x.z, grad_output.z, alpha),
        celu_backward(x.w, grad_output.w, alpha),
    );
}

// celu_backward on f16 values: f32 arithmetic, one rounding.
fn celu_backward_f16(x: f16, grad_output: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(celu_backward(f32(x), f32(grad_output), alpha));
}

// celu_backward on each lane.
fn celu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        celu_backward_f16(x.x, grad_output.x, alpha),
        celu_backward_f16(x.y, grad_output.y, alpha),
        celu_backward_f16(x.z, grad_output.z, alpha),
        celu_backward_f16(x.w, grad_output.w, alpha),
    );
}

// sigmoid on each lane.
fn sigmoid_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        sigmoid(x.x),
        sigmoid(x.y),
        sigmoid(x.z),
        sigmoid(x.w),
    );
}

// sigmoid on f16 values: f32 arithmetic, one rounding.
fn sigmoid_f16(x: f16) -> f16 {
    return wa_narrow_f16(sigmoid(f32(x)));
}

// sigmoid on each lane.
fn sigmoid_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        sigmoid_f16(x.x),
        sigmoid_f16(x.y),
        sigmoid_f16(x.z),
        sigmoid_f16(x.w),
    );
}

// sigmoid_backward on each lane.
fn sigmoid_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        sigmoid_backward(x.x, grad_output.x),
        sigmoid_backward(x.y, grad_output.y),
        sigmoid_backward(x.z, grad_output.z),
        sigmoid_backward(x.w, grad_output.w),
    );
}

// sigmoid_backward on f16 values: f32 arithmetic, one rounding.
fn sigmoid_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(sigmoid_backward(f32(x), f32(grad_output)));
}

// sigmoid_backward on each lane.
fn sigmoid_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        sigmoid_backward_f16(x.x, grad_output.x),
        sigmoid_backward_f16(x.y, grad_output.y),
        sigmoid_backward_f16(x.z, grad_output.z),
        sigmoid_backward_f16(x.w, grad_output.w),
    );
}

// sigmoid_backward_from_output on each lane.
fn sigmoid_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        sigmoid_backward_from_output(y.x, grad_output.x),
        sigmoid_backward_from_output(y.y, grad_output.y),
        sigmoid_backward_from_output(y.z, grad_output.z),
        sigmoid_backward_from_output(y.w, grad_output.w),
    );
}

// sigmoid_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn sigmoid_backward_from_output_f16(y: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(sigmoid_backward_from_output(f32(y), f32(grad_output)));
}

// sigmoid_backward_from_output on each lane.
fn sigmoid_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        sigmoid_backward_from_output_f16(y.x, grad_output.x),
        sigmoid_backward_from_output_f16(y.y, grad_output.y),
        sigmoid_backward_from_output_f16(y.z, grad_output.z),
        sigmoid_backward_from_output_f16(y.w, grad_output.w),
    );
}

// logsigmoid on each lane.
fn logsigmoid_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        logsigmoid(x.x),
        logsigmoid(x.y),
        logsigmoid(x.z),
        logsigmoid(x.w),
    );
}

// logsigmoid on f16 values: f32 arithmetic, one rounding.
fn logsigmoid_f16(x: f16) -> f16 {
    return wa_narrow_f16(logsigmoid(f32(x)));
}

// logsigmoid on each lane.
fn logsigmoid_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        logsigmoid_f16(x.x),
        logsigmoid_f16(x.y),
        logsigmoid_f16(x.z),
        logsigmoid_f16(x.w),
    );
}

// logsigmoid_backward on each lane.
fn logsigmoid_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        logsigmoid_backward(x.x, grad_output.x),
        logsigmoid_backward(x.y, grad_output.y),
        logsigmoid_backward(x.z, grad_output.z),
        logsigmoid_backward(x.w, grad_output.w),
    );
}

// logsigmoid_backward on f16 values: f32 arithmetic, one rounding.
fn logsigmoid_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(logsigmoid_backward(f32(x), f32(grad_output)));
}

// logsigmoid_backward on each lane.
fn logsigmoid_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        logsigmoid_backward_f16(x.x, grad_output.x),
        logsigmoid_backward_f16(x.y, grad_output.y),
        logsigmoid_backward_f16(x.z, grad_output.z),
        logsigmoid_backward_f16(x.w, grad_output.w),
    );
}

// silu on each lane.
fn silu_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        silu(x.x),
        silu(x.y),
        silu(x.z),
        silu(x.w),
    );
}

// silu on f16 values: f32 arithmetic, one rounding.
fn silu_f16(x: f16) -> f16 {
    return wa_narrow_f16(silu(f32(x)));
}

// silu on each lane.
fn silu_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        silu_f16(x.x),
        silu_f16(x.y),
        silu_f16(x.z),
        silu_f16(x.w),
    );
}

// silu_backward on each lane.
fn silu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        silu_backward(x.x, grad_output.x),
        silu_backward(x.y, grad_output.y),
        silu_backward(x.z, grad_output.z),
        silu_backward(x.w, grad_output.w),
    );
}

// silu_backward on f16 values: f32 arithmetic, one rounding.
fn silu_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(silu_backward(f32(x), f32(grad_output)));
}

// silu_backward on each lane.
fn silu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        silu_backward_f16(x.x, grad_output.x),
        silu_backward_f16(x.y, grad_output.y),
        silu_backward_f16(x.z, grad_output.z),
        silu_backward_f16(x.w, grad_output.w),
    );
}

// softplus on each lane.
fn softplus_vec4(x: vec4<f32>, beta: f32, threshold: f32) -> vec4<f32> {
    return vec4<f32>(
        softplus(x.x, beta, threshold),
        softplus(x.y, beta, threshold),
        softplus(x.z, beta, threshold),
        softplus(x.w, beta, threshold),
    );
}

// softplus on f16 values: f32 arithmetic, one rounding.
fn softplus_f16(x: f16, beta: f32, threshold: f32) -> f16 {
    return wa_narrow_f16(softplus(f32(x), beta, threshold));
}

// softplus on each lane.
fn softplus_vec4_f16(x: vec4<f16>, beta: f32, threshold: f32) -> vec4<f16> {
    return vec4<f16>(
        softplus_f16(x.x, beta, threshold),
        softplus_f16(x.y, beta, threshold),
        softplus_f16(x.z, beta, threshold),
        softplus_f16(x.w, beta, threshold),
    );
}

// softplus_backward on each lane.
fn softplus_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>, beta: f32, threshold: f32) -> vec4<f32> {
    return vec4<f32>(
        softplus_backward(x.x, grad_output.x, beta, threshold),
        softplus_backward(x.y, grad_output.y, beta, threshold),
        softplus_backward(x.z, grad_output.z, beta, threshold),
        softplus_backward(x.w, grad_output.w, beta, threshold),
    );
}

// softplus_backward on f16 values: f32 arithmetic, one rounding.
fn softplus_backward_f16(x: f16, grad_output: f16, beta: f32, threshold: f32) -> f16 {
    return wa_narrow_f16(softplus_backward(f32(x), f32(grad_output), beta, threshold));
}

// softplus_backward on each lane.
fn softplus_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>, beta: f32, threshold: f32) -> vec4<f16> {
    return vec4<f16>(
        softplus_backward_f16(x.x, grad_output.x, beta, threshold),
        softplus_backward_f16(x.y, grad_output.y, beta, threshold),
        softplus_backward_f16(x.z, grad_output.z, beta, threshold),
        softplus_backward_f16(x.w, grad_output.w, beta, threshold),
    );
}

// mish on each lane.
fn mish_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        mish(x.x),
        mish(x.y),
        mish(x.z),
        mish(x.w),
    );
}

// mish on f16 values: f32 arithmetic, one rounding.
fn mish_f16(x: f16) -> f16 {
    return wa_narrow_f16(mish(f32(x)));
}

// mish on each lane.
fn mish_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        mish_f16(x.x),
        mish_f16(x.y),
        mish_f16(x.z),
        mish_f16(x.w),
    );
}

// mish_backward on each lane.
fn mish_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        mish_backward(x.x, grad_output.x),
        mish_backward(x.y, grad_output.y),
        mish_backward(x.z, grad_output.z),
        mish_backward(x.w, grad_output.w),
    );
}

// mish_backward on f16 values: f32 arithmetic, one rounding.
fn mish_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(mish_backward(f32(x), f32(grad_output)));
}

// mish_backward on each lane.
fn mish_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        mish_backward_f16(x.x, grad_output.x),
        mish_backward_f16(x.y, grad_output.y),
        mish_backward_f16(x.z, grad_output.z),
        mish_backward_f16(x.w, grad_output.w),
    );
}

// tanh on each lane.
fn tanh_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanh(x.x),
        tanh(x.y),
        tanh(x.z),
        tanh(x.w),
    );
}

// tanh on f16 values: f32 arithmetic, one rounding.
fn tanh_f16(x: f16) -> f16 {
    return wa_narrow_f16(tanh(f32(x)));
}

// tanh on each lane.
fn tanh_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanh_f16(x.x),
        tanh_f16(x.y),
        tanh_f16(x.z),
        tanh_f16(x.w),
    );
}

// tanh_backward on each lane.
fn tanh_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanh_backward(x.x, grad_output.x),
        tanh_backward(x.y, grad_output.y),
        tanh_backward(x.z, grad_output.z),
        tanh_backward(x.w, grad_output.w),
    );
}

// tanh_backward on f16 values: f32 arithmetic, one rounding.
fn tanh_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(tanh_backward(f32(x), f32(grad_output)));
}

// tanh_backward on each lane.
fn tanh_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanh_backward_f16(x.x, grad_output.x),
        tanh_backward_f16(x.y, grad_output.y),
        tanh_backward_f16(x.z, grad_output.z),
        tanh_backward_f16(x.w, grad_output.w),
    );
}

// tanh_backward_from_output on each lane.
fn tanh_backward_from_output_vec4(y: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanh_backward_from_output(y.x, grad_output.x),
        tanh_backward_from_output(y.y, grad_output.y),
        tanh_backward_from_output(y.z, grad_output.z),
        tanh_backward_from_output(y.w, grad_output.w),
    );
}

// tanh_backward_from_output on f16 values: f32 arithmetic, one rounding.
fn tanh_backward_from_output_f16(y: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(tanh_backward_from_output(f32(y), f32(grad_output)));
}

// tanh_backward_from_output on each lane.
fn tanh_backward_from_output_vec4_f16(y: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanh_backward_from_output_f16(y.x, grad_output.x),
        tanh_backward_from_output_f16(y.y, grad_output.y),
        tanh_backward_from_output_f16(y.z, grad_output.z),
        tanh_backward_from_output_f16(y.w, grad_output.w),
    );
}

// softsign on each lane.
fn softsign_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        softsign(x.x),
        softsign(x.y),
        softsign(x.z),
        softsign(x.w),
    );
}

// softsign on f16 values: f32 arithmetic, one rounding.
fn softsign_f16(x: f16) -> f16 {
    return wa_narrow_f16(softsign(f32(x)));
}

// softsign on each lane.
fn softsign_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        softsign_f16(x.x),
        softsign_f16(x.y),
        softsign_f16(x.z),
        softsign_f16(x.w),
    );
}

// softsign_backward on each lane.
fn softsign_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        softsign_backward(x.x, grad_output.x),
        softsign_backward(x.y, grad_output.y),
        softsign_backward(x.z, grad_output.z),
        softsign_backward(x.w, grad_output.w),
    );
}

// softsign_backward on f16 values: f32 arithmetic, one rounding.
fn softsign_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(softsign_backward(f32(x), f32(grad_output)));
}

// softsign_backward on each lane.
fn softsign_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        softsign_backward_f16(x.x, grad_output.x),
        softsign_backward_f16(x.y, grad_output.y),
        softsign_backward_f16(x.z, grad_output.z),
        softsign_backward_f16(x.w, grad_output.w),
    );
}

// gelu on each lane.
fn gelu_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu(x.x),
        gelu(x.y),
        gelu(x.z),
        gelu(x.w),
    );
}

// gelu on f16 values: f32 arithmetic, one rounding.
fn gelu_f16(x: f16) -> f16 {
    return wa_narrow_f16(gelu(f32(x)));
}

// gelu on each lane.
fn gelu_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_f16(x.x),
        gelu_f16(x.y),
        gelu_f16(x.z),
        gelu_f16(x.w),
    );
}

// gelu_backward on each lane.
fn gelu_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu_backward(x.x, grad_output.x),
        gelu_backward(x.y, grad_output.y),
        gelu_backward(x.z, grad_output.z),
        gelu_backward(x.w, grad_output.w),
    );
}

// gelu_backward on f16 values: f32 arithmetic, one rounding.
fn gelu_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(gelu_backward(f32(x), f32(grad_output)));
}

// gelu_backward on each lane.
fn gelu_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_backward_f16(x.x, grad_output.x),
        gelu_backward_f16(x.y, grad_output.y),
        gelu_backward_f16(x.z, grad_output.z),
        gelu_backward_f16(x.w, grad_output.w),
    );
}

// gelu_tanh on each lane.
fn gelu_tanh_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu_tanh(x.x),
        gelu_tanh(x.y),
        gelu_tanh(x.z),
        gelu_tanh(x.w),
    );
}

// gelu_tanh on f16 values: f32 arithmetic, one rounding.
fn gelu_tanh_f16(x: f16) -> f16 {
    return wa_narrow_f16(gelu_tanh(f32(x)));
}

// gelu_tanh on each lane.
fn gelu_tanh_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_tanh_f16(x.x),
        gelu_tanh_f16(x.y),
        gelu_tanh_f16(x.z),
        gelu_tanh_f16(x.w),
    );
}

// gelu_tanh_backward on each lane.
fn gelu_tanh_backward_vec4(x: vec4<f32>, grad_output: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu_tanh_backward(x.x, grad_output.x),
        gelu_tanh_backward(x.y, grad_output.y),
        gelu_tanh_backward(x.z, grad_output.z),
        gelu_tanh_backward(x.w, grad_output.w),
    );
}

// gelu_tanh_backward on f16 values: f32 arithmetic, one rounding.
fn gelu_tanh_backward_f16(x: f16, grad_output: f16) -> f16 {
    return wa_narrow_f16(gelu_tanh_backward(f32(x), f32(grad_output)));
}

// gelu_tanh_backward on each lane.
fn gelu_tanh_backward_vec4_f16(x: vec4<f16>, grad_output: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_tanh_backward_f16(x.x, grad_output.x),
        gelu_tanh_backward_f16(x.y, grad_output.y),
        gelu_tanh_backward_f16(x.z, grad_output.z),
        gelu_tanh_backward_f16(x.w, grad_output.w),
    );
}

// identity_grad on each lane.
fn identity_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        identity_grad(x.x),
        identity_grad(x.y),
        identity_grad(x.z),
        identity_grad(x.w),
    );
}

// identity_grad on f16 values: f32 arithmetic, one rounding.
fn identity_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(identity_grad(f32(x)));
}

// identity_grad on each lane.
fn identity_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        identity_grad_f16(x.x),
        identity_grad_f16(x.y),
        identity_grad_f16(x.z),
        identity_grad_f16(x.w),
    );
}

// relu_grad on each lane.
fn relu_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu_grad(x.x),
        relu_grad(x.y),
        relu_grad(x.z),
        relu_grad(x.w),
    );
}

// relu_grad on f16 values: f32 arithmetic, one rounding.
fn relu_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(relu_grad(f32(x)));
}

// relu_grad on each lane.
fn relu_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu_grad_f16(x.x),
        relu_grad_f16(x.y),
        relu_grad_f16(x.z),
        relu_grad_f16(x.w),
    );
}

// leaky_relu_grad on each lane.
fn leaky_relu_grad_vec4(x: vec4<f32>, negative_slope: f32) -> vec4<f32> {
    return vec4<f32>(
        leaky_relu_grad(x.x, negative_slope),
        leaky_relu_grad(x.y, negative_slope),
        leaky_relu_grad(x.z, negative_slope),
        leaky_relu_grad(x.w, negative_slope),
    );
}

// leaky_relu_grad on f16 values: f32 arithmetic, one rounding.
fn leaky_relu_grad_f16(x: f16, negative_slope: f32) -> f16 {
    return wa_narrow_f16(leaky_relu_grad(f32(x), negative_slope));
}

// leaky_relu_grad on each lane.
fn leaky_relu_grad_vec4_f16(x: vec4<f16>, negative_slope: f32) -> vec4<f16> {
    return vec4<f16>(
        leaky_relu_grad_f16(x.x, negative_slope),
        leaky_relu_grad_f16(x.y, negative_slope),
        leaky_relu_grad_f16(x.z, negative_slope),
        leaky_relu_grad_f16(x.w, negative_slope),
    );
}

// prelu_grad on each lane.
fn prelu_grad_vec4(x: vec4<f32>, weight: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        prelu_grad(x.x, weight.x),
        prelu_grad(x.y, weight.y),
        prelu_grad(x.z, weight.z),
        prelu_grad(x.w, weight.w),
    );
}

// prelu_grad on f16 values: f32 arithmetic, one rounding.
fn prelu_grad_f16(x: f16, weight: f16) -> f16 {
    return wa_narrow_f16(prelu_grad(f32(x), f32(weight)));
}

// prelu_grad on each lane.
fn prelu_grad_vec4_f16(x: vec4<f16>, weight: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        prelu_grad_f16(x.x, weight.x),
        prelu_grad_f16(x.y, weight.y),
        prelu_grad_f16(x.z, weight.z),
        prelu_grad_f16(x.w, weight.w),
    );
}

// rrelu_grad on each lane.
fn rrelu_grad_vec4(x: vec4<f32>, lower: f32, upper: f32) -> vec4<f32> {
    return vec4<f32>(
        rrelu_grad(x.x, lower, upper),
        rrelu_grad(x.y, lower, upper),
        rrelu_grad(x.z, lower, upper),
        rrelu_grad(x.w, lower, upper),
    );
}

// rrelu_grad on f16 values: f32 arithmetic, one rounding.
fn rrelu_grad_f16(x: f16, lower: f32, upper: f32) -> f16 {
    return wa_narrow_f16(rrelu_grad(f32(x), lower, upper));
}

// rrelu_grad on each lane.
fn rrelu_grad_vec4_f16(x: vec4<f16>, lower: f32, upper: f32) -> vec4<f16> {
    return vec4<f16>(
        rrelu_grad_f16(x.x, lower, upper),
        rrelu_grad_f16(x.y, lower, upper),
        rrelu_grad_f16(x.z, lower, upper),
        rrelu_grad_f16(x.w, lower, upper),
    );
}

// rrelu_training_grad on each lane.
fn rrelu_training_grad_vec4(x: vec4<f32>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f32> {
    return vec4<f32>(
        rrelu_training_grad(x.x, lower, upper, seed, index.x),
        rrelu_training_grad(x.y, lower, upper, seed, index.y),
        rrelu_training_grad(x.z, lower, upper, seed, index.z),
        rrelu_training_grad(x.w, lower, upper, seed, index.w),
    );
}

// rrelu_training_grad on f16 values: f32 arithmetic, one rounding.
fn rrelu_training_grad_f16(x: f16, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f16 {
    return wa_narrow_f16(rrelu_training_grad(f32(x), lower, upper, seed, index));
}

// rrelu_training_grad on each lane.
fn rrelu_training_grad_vec4_f16(x: vec4<f16>, lower: f32, upper: f32, seed: vec2<u32>, index: vec4<u32>) -> vec4<f16> {
    return vec4<f16>(
        rrelu_training_grad_f16(x.x, lower, upper, seed, index.x),
        rrelu_training_grad_f16(x.y, lower, upper, seed, index.y),
        rrelu_training_grad_f16(x.z, lower, upper, seed, index.z),
        rrelu_training_grad_f16(x.w, lower, upper, seed, index.w),
    );
}

// hardtanh_grad on each lane.
fn hardtanh_grad_vec4(x: vec4<f32>, min_val: f32, max_val: f32) -> vec4<f32> {
    return vec4<f32>(
        hardtanh_grad(x.x, min_val, max_val),
        hardtanh_grad(x.y, min_val, max_val),
        hardtanh_grad(x.z, min_val, max_val),
        hardtanh_grad(x.w, min_val, max_val),
    );
}

// hardtanh_grad on f16 values: f32 arithmetic, one rounding.
fn hardtanh_grad_f16(x: f16, min_val: f32, max_val: f32) -> f16 {
    return wa_narrow_f16(hardtanh_grad(f32(x), min_val, max_val));
}

// hardtanh_grad on each lane.
fn hardtanh_grad_vec4_f16(x: vec4<f16>, min_val: f32, max_val: f32) -> vec4<f16> {
    return vec4<f16>(
        hardtanh_grad_f16(x.x, min_val, max_val),
        hardtanh_grad_f16(x.y, min_val, max_val),
        hardtanh_grad_f16(x.z, min_val, max_val),
        hardtanh_grad_f16(x.w, min_val, max_val),
    );
}

// relu6_grad on each lane.
fn relu6_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        relu6_grad(x.x),
        relu6_grad(x.y),
        relu6_grad(x.z),
        relu6_grad(x.w),
    );
}

// relu6_grad on f16 values: f32 arithmetic, one rounding.
fn relu6_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(relu6_grad(f32(x)));
}

// relu6_grad on each lane.
fn relu6_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        relu6_grad_f16(x.x),
        relu6_grad_f16(x.y),
        relu6_grad_f16(x.z),
        relu6_grad_f16(x.w),
    );
}

// threshold_grad on each lane.
fn threshold_grad_vec4(x: vec4<f32>, threshold: f32, value: f32) -> vec4<f32> {
    return vec4<f32>(
        threshold_grad(x.x, threshold, value),
        threshold_grad(x.y, threshold, value),
        threshold_grad(x.z, threshold, value),
        threshold_grad(x.w, threshold, value),
    );
}

// threshold_grad on f16 values: f32 arithmetic, one rounding.
fn threshold_grad_f16(x: f16, threshold: f32, value: f32) -> f16 {
    return wa_narrow_f16(threshold_grad(f32(x), threshold, value));
}

// threshold_grad on each lane.
fn threshold_grad_vec4_f16(x: vec4<f16>, threshold: f32, value: f32) -> vec4<f16> {
    return vec4<f16>(
        threshold_grad_f16(x.x, threshold, value),
        threshold_grad_f16(x.y, threshold, value),
        threshold_grad_f16(x.z, threshold, value),
        threshold_grad_f16(x.w, threshold, value),
    );
}

// hardsigmoid_grad on each lane.
fn hardsigmoid_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardsigmoid_grad(x.x),
        hardsigmoid_grad(x.y),
        hardsigmoid_grad(x.z),
        hardsigmoid_grad(x.w),
    );
}

// hardsigmoid_grad on f16 values: f32 arithmetic, one rounding.
fn hardsigmoid_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(hardsigmoid_grad(f32(x)));
}

// hardsigmoid_grad on each lane.
fn hardsigmoid_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardsigmoid_grad_f16(x.x),
        hardsigmoid_grad_f16(x.y),
        hardsigmoid_grad_f16(x.z),
        hardsigmoid_grad_f16(x.w),
    );
}

// hardswish_grad on each lane.
fn hardswish_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        hardswish_grad(x.x),
        hardswish_grad(x.y),
        hardswish_grad(x.z),
        hardswish_grad(x.w),
    );
}

// hardswish_grad on f16 values: f32 arithmetic, one rounding.
fn hardswish_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(hardswish_grad(f32(x)));
}

// hardswish_grad on each lane.
fn hardswish_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        hardswish_grad_f16(x.x),
        hardswish_grad_f16(x.y),
        hardswish_grad_f16(x.z),
        hardswish_grad_f16(x.w),
    );
}

// hardshrink_grad on each lane.
fn hardshrink_grad_vec4(x: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        hardshrink_grad(x.x, lambd),
        hardshrink_grad(x.y, lambd),
        hardshrink_grad(x.z, lambd),
        hardshrink_grad(x.w, lambd),
    );
}

// hardshrink_grad on f16 values: f32 arithmetic, one rounding.
fn hardshrink_grad_f16(x: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(hardshrink_grad(f32(x), lambd));
}

// hardshrink_grad on each lane.
fn hardshrink_grad_vec4_f16(x: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        hardshrink_grad_f16(x.x, lambd),
        hardshrink_grad_f16(x.y, lambd),
        hardshrink_grad_f16(x.z, lambd),
        hardshrink_grad_f16(x.w, lambd),
    );
}

// softshrink_grad on each lane.
fn softshrink_grad_vec4(x: vec4<f32>, lambd: f32) -> vec4<f32> {
    return vec4<f32>(
        softshrink_grad(x.x, lambd),
        softshrink_grad(x.y, lambd),
        softshrink_grad(x.z, lambd),
        softshrink_grad(x.w, lambd),
    );
}

// softshrink_grad on f16 values: f32 arithmetic, one rounding.
fn softshrink_grad_f16(x: f16, lambd: f32) -> f16 {
    return wa_narrow_f16(softshrink_grad(f32(x), lambd));
}

// softshrink_grad on each lane.
fn softshrink_grad_vec4_f16(x: vec4<f16>, lambd: f32) -> vec4<f16> {
    return vec4<f16>(
        softshrink_grad_f16(x.x, lambd),
        softshrink_grad_f16(x.y, lambd),
        softshrink_grad_f16(x.z, lambd),
        softshrink_grad_f16(x.w, lambd),
    );
}

// tanhshrink_grad on each lane.
fn tanhshrink_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanhshrink_grad(x.x),
        tanhshrink_grad(x.y),
        tanhshrink_grad(x.z),
        tanhshrink_grad(x.w),
    );
}

// tanhshrink_grad on f16 values: f32 arithmetic, one rounding.
fn tanhshrink_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(tanhshrink_grad(f32(x)));
}

// tanhshrink_grad on each lane.
fn tanhshrink_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanhshrink_grad_f16(x.x),
        tanhshrink_grad_f16(x.y),
        tanhshrink_grad_f16(x.z),
        tanhshrink_grad_f16(x.w),
    );
}

// elu_grad on each lane.
fn elu_grad_vec4(x: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        elu_grad(x.x, alpha),
        elu_grad(x.y, alpha),
        elu_grad(x.z, alpha),
        elu_grad(x.w, alpha),
    );
}

// elu_grad on f16 values: f32 arithmetic, one rounding.
fn elu_grad_f16(x: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(elu_grad(f32(x), alpha));
}

// elu_grad on each lane.
fn elu_grad_vec4_f16(x: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        elu_grad_f16(x.x, alpha),
        elu_grad_f16(x.y, alpha),
        elu_grad_f16(x.z, alpha),
        elu_grad_f16(x.w, alpha),
    );
}

// selu_grad on each lane.
fn selu_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        selu_grad(x.x),
        selu_grad(x.y),
        selu_grad(x.z),
        selu_grad(x.w),
    );
}

// selu_grad on f16 values: f32 arithmetic, one rounding.
fn selu_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(selu_grad(f32(x)));
}

// selu_grad on each lane.
fn selu_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        selu_grad_f16(x.x),
        selu_grad_f16(x.y),
        selu_grad_f16(x.z),
        selu_grad_f16(x.w),
    );
}

// celu_grad on each lane.
fn celu_grad_vec4(x: vec4<f32>, alpha: f32) -> vec4<f32> {
    return vec4<f32>(
        celu_grad(x.x, alpha),
        celu_grad(x.y, alpha),
        celu_grad(x.z, alpha),
        celu_grad(x.w, alpha),
    );
}

// celu_grad on f16 values: f32 arithmetic, one rounding.
fn celu_grad_f16(x: f16, alpha: f32) -> f16 {
    return wa_narrow_f16(celu_grad(f32(x), alpha));
}

// celu_grad on each lane.
fn celu_grad_vec4_f16(x: vec4<f16>, alpha: f32) -> vec4<f16> {
    return vec4<f16>(
        celu_grad_f16(x.x, alpha),
        celu_grad_f16(x.y, alpha),
        celu_grad_f16(x.z, alpha),
        celu_grad_f16(x.w, alpha),
    );
}

// sigmoid_grad on each lane.
fn sigmoid_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        sigmoid_grad(x.x),
        sigmoid_grad(x.y),
        sigmoid_grad(x.z),
        sigmoid_grad(x.w),
    );
}

// sigmoid_grad on f16 values: f32 arithmetic, one rounding.
fn sigmoid_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(sigmoid_grad(f32(x)));
}

// sigmoid_grad on each lane.
fn sigmoid_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        sigmoid_grad_f16(x.x),
        sigmoid_grad_f16(x.y),
        sigmoid_grad_f16(x.z),
        sigmoid_grad_f16(x.w),
    );
}

// logsigmoid_grad on each lane.
fn logsigmoid_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        logsigmoid_grad(x.x),
        logsigmoid_grad(x.y),
        logsigmoid_grad(x.z),
        logsigmoid_grad(x.w),
    );
}

// logsigmoid_grad on f16 values: f32 arithmetic, one rounding.
fn logsigmoid_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(logsigmoid_grad(f32(x)));
}

// logsigmoid_grad on each lane.
fn logsigmoid_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        logsigmoid_grad_f16(x.x),
        logsigmoid_grad_f16(x.y),
        logsigmoid_grad_f16(x.z),
        logsigmoid_grad_f16(x.w),
    );
}

// silu_grad on each lane.
fn silu_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        silu_grad(x.x),
        silu_grad(x.y),
        silu_grad(x.z),
        silu_grad(x.w),
    );
}

// silu_grad on f16 values: f32 arithmetic, one rounding.
fn silu_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(silu_grad(f32(x)));
}

// silu_grad on each lane.
fn silu_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        silu_grad_f16(x.x),
        silu_grad_f16(x.y),
        silu_grad_f16(x.z),
        silu_grad_f16(x.w),
    );
}

// softplus_grad on each lane.
fn softplus_grad_vec4(x: vec4<f32>, beta: f32, threshold: f32) -> vec4<f32> {
    return vec4<f32>(
        softplus_grad(x.x, beta, threshold),
        softplus_grad(x.y, beta, threshold),
        softplus_grad(x.z, beta, threshold),
        softplus_grad(x.w, beta, threshold),
    );
}

// softplus_grad on f16 values: f32 arithmetic, one rounding.
fn softplus_grad_f16(x: f16, beta: f32, threshold: f32) -> f16 {
    return wa_narrow_f16(softplus_grad(f32(x), beta, threshold));
}

// softplus_grad on each lane.
fn softplus_grad_vec4_f16(x: vec4<f16>, beta: f32, threshold: f32) -> vec4<f16> {
    return vec4<f16>(
        softplus_grad_f16(x.x, beta, threshold),
        softplus_grad_f16(x.y, beta, threshold),
        softplus_grad_f16(x.z, beta, threshold),
        softplus_grad_f16(x.w, beta, threshold),
    );
}

// mish_grad on each lane.
fn mish_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        mish_grad(x.x),
        mish_grad(x.y),
        mish_grad(x.z),
        mish_grad(x.w),
    );
}

// mish_grad on f16 values: f32 arithmetic, one rounding.
fn mish_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(mish_grad(f32(x)));
}

// mish_grad on each lane.
fn mish_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        mish_grad_f16(x.x),
        mish_grad_f16(x.y),
        mish_grad_f16(x.z),
        mish_grad_f16(x.w),
    );
}

// tanh_grad on each lane.
fn tanh_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        tanh_grad(x.x),
        tanh_grad(x.y),
        tanh_grad(x.z),
        tanh_grad(x.w),
    );
}

// tanh_grad on f16 values: f32 arithmetic, one rounding.
fn tanh_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(tanh_grad(f32(x)));
}

// tanh_grad on each lane.
fn tanh_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        tanh_grad_f16(x.x),
        tanh_grad_f16(x.y),
        tanh_grad_f16(x.z),
        tanh_grad_f16(x.w),
    );
}

// softsign_grad on each lane.
fn softsign_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        softsign_grad(x.x),
        softsign_grad(x.y),
        softsign_grad(x.z),
        softsign_grad(x.w),
    );
}

// softsign_grad on f16 values: f32 arithmetic, one rounding.
fn softsign_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(softsign_grad(f32(x)));
}

// softsign_grad on each lane.
fn softsign_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        softsign_grad_f16(x.x),
        softsign_grad_f16(x.y),
        softsign_grad_f16(x.z),
        softsign_grad_f16(x.w),
    );
}

// gelu_grad on each lane.
fn gelu_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu_grad(x.x),
        gelu_grad(x.y),
        gelu_grad(x.z),
        gelu_grad(x.w),
    );
}

// gelu_grad on f16 values: f32 arithmetic, one rounding.
fn gelu_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(gelu_grad(f32(x)));
}

// gelu_grad on each lane.
fn gelu_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_grad_f16(x.x),
        gelu_grad_f16(x.y),
        gelu_grad_f16(x.z),
        gelu_grad_f16(x.w),
    );
}

// gelu_tanh_grad on each lane.
fn gelu_tanh_grad_vec4(x: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(
        gelu_tanh_grad(x.x),
        gelu_tanh_grad(x.y),
        gelu_tanh_grad(x.z),
        gelu_tanh_grad(x.w),
    );
}

// gelu_tanh_grad on f16 values: f32 arithmetic, one rounding.
fn gelu_tanh_grad_f16(x: f16) -> f16 {
    return wa_narrow_f16(gelu_tanh_grad(f32(x)));
}

// gelu_tanh_grad on each lane.
fn gelu_tanh_grad_vec4_f16(x: vec4<f16>) -> vec4<f16> {
    return vec4<f16>(
        gelu_tanh_grad_f16(x.x),
        gelu_tanh_grad_f16(x.y),
        gelu_tanh_grad_f16(x.z),
        gelu_tanh_grad_f16(x.w),
    );
}

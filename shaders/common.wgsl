// Shared by every elementwise kernel: the parameter block, the op-selecting
// constants, the NaN test, the thread-to-element mapping and the careful math
// (exp, expm1, log1p, sigmoid, tanh) the op families build on. Put together
// with a storage layout file and an op family file by `src/shaders.rs`.

// Per-dispatch parameters, filled by `ElementwiseParams` on the host.
struct Params {
    // Elements this dispatch covers.
    len: u32,
    // Global index of this dispatch's first element: chunks of a tensor larger
    // than one binding, and pieces of a streamed tensor, keep their global
    // indices (PReLU's channel, RReLU's random stream).
    base: u32,
    // PReLU: number of weights in use (1, or the channel count).
    channels: u32,
    // PReLU: elements per channel block (product of the dimensions after dim 1).
    inner: u32,
    // Op parameters (negative_slope, alpha, beta, ...), meaning set by the op.
    p0: f32,
    p1: f32,
    p2: f32,
    p3: f32,
    // RReLU (training): the 64-bit seed.
    seed_lo: u32,
    seed_hi: u32,
    // The bits of +inf (0x7f800000): WGSL rejects an infinite constant.
    inf_bits: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

// Which op of the family (pipeline-overridable, so each op gets its own
// specialised pipeline), and whether `backward` receives the forward's output
// instead of its input (for the ops where that is exact).
override OP: u32 = 0u;
override FROM_OUTPUT: bool = false;

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

fn infinity4() -> vec4<f32> {
    return vec4<f32>(bitcast<f32>(params.inf_bits));
}

// A NaN made at run time (WGSL rejects NaN constants).
fn nan4() -> vec4<f32> {
    return vec4<f32>(bitcast<f32>(params.inf_bits | 0x00400000u));
}

// v * 0 as IEEE 754 has it (NaN for NaN or infinite v): compilers fold a
// literal `v * 0.0` to 0.
fn times_zero4(v: vec4<f32>) -> vec4<f32> {
    let bits = bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu);
    return select(vec4<f32>(0.0), nan4(), bits >= vec4<u32>(0x7f800000u));
}

// g times a derivative of sign `direction` too small for any float, at input
// x: a signed 0 for finite g, an infinity for infinite g (the derivative is
// not 0 for finite x), NaN for NaN g, and IEEE's g * 0 for infinite x, where
// the derivative's limit is exactly 0.
fn times_vanishing4(g: vec4<f32>, direction: vec4<f32>, x: vec4<f32>) -> vec4<f32> {
    let max_finite = vec4<f32>(3.4028235e38);
    let magnitude = select(vec4<f32>(0.0), infinity4(), abs4(g) > max_finite);
    let limit = select(sign(g) * sign(direction) * magnitude, g, is_nan4(g));
    return select(times_zero4(g), limit, abs4(x) <= max_finite);
}

// |x| by clearing the sign bit.
fn abs4(x: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu));
}

// 1 / y for y >= 1 of any size: the division on the mantissa only, then
// scaled by the exponent. Some drivers compute 1 / y through a reciprocal
// estimate that loses most of its bits for huge y (lavapipe: 1e-4 relative
// at y ~ 1e21).
fn recip4(y: vec4<f32>) -> vec4<f32> {
    let parts = frexp(y);
    return ldexp(1.0 / parts.fract, -parts.exp);
}

// exp(x) to a few ulps for every x: x = k ln2 + r with |r| <= ln2 / 2 (ln2
// split in two so k * LN2_HI is exact), exp(r) from the builtin (accurate on
// a small argument), then scaled by 2^k. WGSL only promises the builtin to
// 3 + 2|x| ulps, which is 180 ulps at x = -88. Exact 0 below -104 and inf
// above ln(f32::MAX), where WGSL leaves exp and ldexp open.
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.4286068203094172e-06;
const EXP_UNDERFLOW: f32 = -104.0;
const EXP_OVERFLOW: f32 = 88.72283;

fn exp4(x: vec4<f32>) -> vec4<f32> {
    let inside = select(x, vec4<f32>(0.0), is_nan4(x) | (x < vec4<f32>(EXP_UNDERFLOW)) | (x > vec4<f32>(EXP_OVERFLOW)));
    let k = round(inside * LOG2E);
    let r = (inside - k * LN2_HI) - k * LN2_LO;
    let ki = vec4<i32>(k);
    // 2^k in two steps keeps each ldexp exponent inside the normal range.
    let half_k = ki / vec4<i32>(2);
    let scaled = ldexp(ldexp(exp(r), half_k), ki - half_k);
    let limited = select(scaled, vec4<f32>(0.0), x < vec4<f32>(EXP_UNDERFLOW));
    return keep_nan4(x, select(limited, infinity4(), x > vec4<f32>(EXP_OVERFLOW)));
}

// a * b * exp(x) without overflow or underflow on the way (a gradient of
// 1e38 times exp(-100) is a normal number): with a = ma 2^ea, b = mb 2^eb
// (frexp) and exp(x) = exp(r) 2^k, the mantissas multiply in [1/8, 2) and the
// exponents are applied at the end, in two ldexp steps of the same sign.
// Subnormal factors are scaled by 2^64 first (frexp is unreliable on them on
// some drivers); infinite or NaN factors and |x| > 300 are taken apart below.
fn mul_exp4(a: vec4<f32>, b: vec4<f32>, x: vec4<f32>) -> vec4<f32> {
    let min_normal = vec4<f32>(1.1754944e-38);
    let max_finite = vec4<f32>(3.4028235e38);
    let finite_factors = (abs4(a) <= max_finite) & (abs4(b) <= max_finite);
    let in_range = finite_factors & (abs4(x) <= vec4<f32>(300.0));
    let a_tiny = abs4(a) < min_normal;
    let b_tiny = abs4(b) < min_normal;
    let a_scaled = select(a, a * 18446744073709551616.0, a_tiny);
    let b_scaled = select(b, b * 18446744073709551616.0, b_tiny);
    let bounded = select(vec4<f32>(0.0), x, in_range);
    let k = round(bounded * LOG2E);
    let r = (bounded - k * LN2_HI) - k * LN2_LO;
    let fa = frexp(select(vec4<f32>(1.0), a_scaled, in_range));
    let fb = frexp(select(vec4<f32>(1.0), b_scaled, in_range));
    let mantissa = fa.fract * fb.fract * exp(r);
    let unscale = select(vec4<i32>(0), vec4<i32>(-64), a_tiny) + select(vec4<i32>(0), vec4<i32>(-64), b_tiny);
    let total_raw = fa.exp + fb.exp + vec4<i32>(k) + unscale;
    let total = select(total_raw, vec4<i32>(256), total_raw > vec4<i32>(256));
    let half_total = total / vec4<i32>(2);
    let product = ldexp(ldexp(mantissa, half_total), total - half_total);
    // An infinite factor times exp(x) > 0 keeps its sign (and 0 * inf is NaN);
    // past |x| = 300, exp(x) alone decides between 0 and inf.
    let finite_x = abs4(x) <= max_finite;
    let plain = select((a * b) * exp4(x), a * b, !finite_factors & finite_x);
    // (0 times exp(x) is 0 for every finite x, however large; 0 * inf is NaN.)
    let zero_factor = (a == vec4<f32>(0.0)) | (b == vec4<f32>(0.0));
    let huge = select(infinity4(), vec4<f32>(0.0), zero_factor & (abs4(x) <= max_finite));
    let far = sign(a) * sign(b) * select(vec4<f32>(0.0), huge, x > vec4<f32>(0.0));
    let outside = (abs4(x) > vec4<f32>(300.0)) & finite_factors;
    return keep_nan4(x, select(select(plain, far, outside), product, in_range));
}

// expm1(x) / x for |x| <= 1: the degree-10 Taylor polynomial of
// (exp(x) - 1) / x (truncation below 1e-8 relative). 1 at x = 0, so that
// x * ratio keeps every bit of a tiny or subnormal x.
fn expm1_ratio4(x: vec4<f32>) -> vec4<f32> {
    var p = vec4<f32>(1.0 / 39916800.0);
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

// exp(x) - 1 without cancellation: x * expm1_ratio(x) on [-1, 1], exp(x) - 1
// outside, where |result| >= 0.63.
fn expm1_4(x: vec4<f32>) -> vec4<f32> {
    let near_zero = abs4(x) <= vec4<f32>(1.0);
    return select(exp4(x) - 1.0, x * expm1_ratio4(x), near_zero);
}

// log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) <= 1/3, as an
// odd series in s (10 terms: truncation below 1e-10). WGSL's log is only
// promised to an absolute 2^-21 near 1, useless for small e.
fn log1p_unit4(e: vec4<f32>) -> vec4<f32> {
    let s = e / (2.0 + e);
    let z = s * s;
    var p = vec4<f32>(1.0 / 19.0);
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    p = p * z + 1.0;
    return 2.0 * s * p;
}

// sigmoid(x) = 1 / (1 + exp(-x)), from exp(-|x|) so nothing overflows.
fn sigmoid4(x: vec4<f32>) -> vec4<f32> {
    let e = exp4(-abs4(x));
    let numerator = select(e, vec4<f32>(1.0), x >= vec4<f32>(0.0));
    return numerator / (1.0 + e);
}

// log(1 + exp(t)) = max(t, 0) + log1p(exp(-|t|)): no overflow, no cancellation.
fn softplus4(t: vec4<f32>) -> vec4<f32> {
    let positive = select(vec4<f32>(0.0), t, t > vec4<f32>(0.0));
    return positive + log1p_unit4(exp4(-abs4(t)));
}

// tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x: accurate
// near 0 and exactly +-1 far out (some drivers' builtin tanh gives NaN past |x| ~ 88).
fn tanh4(x: vec4<f32>) -> vec4<f32> {
    let t = expm1_4(-2.0 * abs4(x));
    let magnitude = -t / (2.0 + t);
    return keep_nan4(x, select(magnitude, -magnitude, x < vec4<f32>(0.0)));
}

// 1 - tanh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|): no cancellation near |tanh| = 1.
fn sech2_4(x: vec4<f32>) -> vec4<f32> {
    let e = exp4(-2.0 * abs4(x));
    let d = 1.0 + e;
    return 4.0 * e / (d * d);
}

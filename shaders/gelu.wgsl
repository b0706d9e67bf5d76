// Op family "gelu": gelu(x) = x * Phi(x), Phi the standard normal CDF
// ("none"), or x * sigmoid(2 u) with u = sqrt(2 / pi) (x + 0.044715 x^3)
// ("tanh", since 0.5 (1 + tanh u) = sigmoid(2 u)). Twin of `src/cpu/gelu.rs`.
// WGSL has no erf: `normal_cdf4` is written here. NaN in gives NaN out;
// gelu(-inf) = 0, gelu(inf) = inf.

const OP_GELU_NONE: u32 = 0u;
const OP_GELU_TANH: u32 = 1u;

const FRAC_1_SQRT_2: f32 = 0.7071067811865476;
const FRAC_2_SQRT_PI: f32 = 1.1283791670955126;
const FRAC_1_SQRT_2PI: f32 = 0.3989422804014327;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_TANH_KAPPA: f32 = 0.044715;

// exp(-z^2) without the rounding of z^2: z = h + (z - h) with h holding the top
// 12 bits of z, so h^2 is exact and z^2 = h^2 + (z - h)(z + h).
// Past |z| = 11 the result is below f32's smallest subnormal: exactly 0
// (and no inf - inf for infinite z).
fn exp_neg_square4(z: vec4<f32>) -> vec4<f32> {
    let h = bitcast<vec4<f32>>(bitcast<vec4<u32>>(z) & vec4<u32>(0xfffff000u));
    let value = exp4(-(h * h)) * exp4(-((z - h) * (z + h)));
    return select(value, vec4<f32>(0.0), abs4(z) > vec4<f32>(11.0));
}

// erfc(z) for z >= 0.5 to about 1.2e-7 relative: the Chebyshev-fitted
// t exp(-z^2 + P(t)), t = 1 / (1 + z / 2) (Numerical Recipes' erfcc).
fn erfc_tail4(z: vec4<f32>) -> vec4<f32> {
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = vec4<f32>(0.17087277);
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    return t * exp_neg_square4(z) * exp4(p);
}

// erf(z) for |z| < 0.5: its Taylor series (7 terms, truncation below 1e-9).
fn erf_small4(z: vec4<f32>) -> vec4<f32> {
    let w = z * z;
    var p = vec4<f32>(1.0 / 9360.0);
    p = p * w - 1.0 / 1320.0;
    p = p * w + 1.0 / 216.0;
    p = p * w - 1.0 / 42.0;
    p = p * w + 1.0 / 10.0;
    p = p * w - 1.0 / 3.0;
    p = p * w + 1.0;
    return FRAC_2_SQRT_PI * z * p;
}

// Phi(x) = erfc(-x / sqrt 2) / 2, accurate in relative terms in the lower tail.
fn normal_cdf4(x: vec4<f32>) -> vec4<f32> {
    let z = x * FRAC_1_SQRT_2;
    let a = abs4(z);
    let tail = 0.5 * erfc_tail4(a);
    let far = select(tail, 1.0 - tail, x > vec4<f32>(0.0));
    let near = 0.5 + 0.5 * erf_small4(z);
    return select(far, near, a < vec4<f32>(0.5));
}

// phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
fn normal_pdf4(x: vec4<f32>) -> vec4<f32> {
    return FRAC_1_SQRT_2PI * exp_neg_square4(x * FRAC_1_SQRT_2);
}

// The tanh form's 2u.
fn gelu_tanh_inner(x: vec4<f32>) -> vec4<f32> {
    return 2.0 * SQRT_2_OVER_PI * (x + GELU_TANH_KAPPA * x * x * x);
}

// The lower tail (x < -1/sqrt 2, where erfc_tail4 applies) as
// exp(-h^2) times a moderate factor, h the top 12 bits of |x| / sqrt 2:
// Phi(x) = cdf_factor * exp(-h^2), phi(x) = pdf_factor * exp(-h^2). Multiplying
// that exp in last (`mul_exp4`) keeps results such as 1e5 * gelu'(-13), whose
// Phi is subnormal, to full precision.
struct LowerTail {
    cdf_factor: vec4<f32>,
    pdf_factor: vec4<f32>,
    neg_h2: vec4<f32>,
}

fn lower_tail(x: vec4<f32>) -> LowerTail {
    let z = abs4(x) * FRAC_1_SQRT_2;
    let h = bitcast<vec4<f32>>(bitcast<vec4<u32>>(z) & vec4<u32>(0xfffff000u));
    let rest = exp4(-((z - h) * (z + h)));
    let t = 1.0 / (1.0 + 0.5 * z);
    var p = vec4<f32>(0.17087277);
    p = p * t - 0.82215223;
    p = p * t + 1.48851587;
    p = p * t - 1.13520398;
    p = p * t + 0.27886807;
    p = p * t - 0.18628806;
    p = p * t + 0.09678418;
    p = p * t + 0.37409196;
    p = p * t + 1.00002368;
    p = p * t - 1.26551223;
    return LowerTail(0.5 * t * exp4(p) * rest, FRAC_1_SQRT_2PI * rest, -(h * h));
}

// Where the lower tail applies, and where everything in it is exactly 0.
fn in_lower_tail(x: vec4<f32>) -> vec4<bool> {
    return x < vec4<f32>(-FRAC_1_SQRT_2 * 2.0 * 0.5);
}

// Below x = -30 both forms and their gradients are below 1e-190 times x:
// exactly 0 for any f32 gradient (and -inf * 0 would be NaN), so they are
// written as limits; the tail factors above would underflow there anyway.
fn vanished(x: vec4<f32>) -> vec4<bool> {
    return x < vec4<f32>(-30.0);
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    let gone = vanished(x);
    var value: vec4<f32>;
    if (OP == OP_GELU_TANH) {
        let inner = gelu_tanh_inner(x);
        let body = x * sigmoid4(inner);
        // x sigmoid(2u) -> x exp(2u) where 2u < -20 (exp(2u) < 2e-9).
        let tail = mul_exp4(x, vec4<f32>(1.0), inner);
        value = select(body, tail, inner < vec4<f32>(-20.0));
    } else {
        let lower = lower_tail(x);
        let tail = mul_exp4(x, lower.cdf_factor, lower.neg_h2);
        value = select(x * normal_cdf4(x), tail, in_lower_tail(x));
    }
    return keep_nan4(x, select(value, zero, gone));
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    let gone = vanished(x);
    var value: vec4<f32>;
    if (OP == OP_GELU_TANH) {
        // d/dx x s(2u) = s + x * 2 s (1 - s) * sqrt(2/pi) (1 + 3 kappa x^2)
        let inner = gelu_tanh_inner(x);
        let s = sigmoid4(inner);
        let spread = s * sigmoid4(-inner);
        let growth = (2.0 * SQRT_2_OVER_PI) * (1.0 + 3.0 * GELU_TANH_KAPPA * x * x);
        let slope = (x * spread) * growth;
        let body = g * (s + select(slope, zero, spread == zero));
        // -> (1 + x * growth) exp(2u) in the tail.
        let d = 1.0 + x * growth;
        let tail = select(mul_exp4(g, d, inner), times_vanishing4(g, vec4<f32>(-1.0), x), inner < vec4<f32>(-1e10));
        value = select(body, tail, inner < vec4<f32>(-20.0));
    } else {
        // Phi(x) + x phi(x)
        let pdf = normal_pdf4(x);
        let body = g * (normal_cdf4(x) + select(x * pdf, zero, pdf == zero));
        let lower = lower_tail(x);
        let tail = mul_exp4(g, lower.cdf_factor + x * lower.pdf_factor, lower.neg_h2);
        value = select(body, tail, in_lower_tail(x));
    }
    return keep_nan4(x, select(value, times_vanishing4(g, vec4<f32>(-1.0), x), gone));
}

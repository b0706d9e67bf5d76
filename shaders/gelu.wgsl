// Op family "gelu": gelu(x) = x * Phi(x), Phi the standard normal CDF
// (PyTorch's approximate="none"), and gelu_tanh(x) = x * sigmoid(2 u) with
// u = sqrt(2 / pi) (x + 0.044715 x^3) (approximate="tanh", since
// 0.5 (1 + tanh u) = sigmoid(2 u)). Twin of `src/cpu/gelu.rs`. WGSL has no
// erf: `wa_normal_cdf` is written here. NaN in gives NaN out;
// gelu(-inf) = 0, gelu(inf) = inf.

const WA_FRAC_1_SQRT_2: f32 = 0.7071067811865476;
const WA_FRAC_2_SQRT_PI: f32 = 1.1283791670955126;
const WA_FRAC_1_SQRT_2PI: f32 = 0.3989422804014327;
const WA_SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const WA_GELU_TANH_KAPPA: f32 = 0.044715;

// The top 12 bits of z: h * h is exact, and z^2 = h^2 + (z - h)(z + h).
fn wa_high_bits(z: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(z) & 0xfffff000u);
}

// exp(-z^2) without the rounding of z^2. Past |z| = 11 the result is below
// f32's smallest subnormal: exactly 0 (and no inf - inf for infinite z).
fn wa_exp_neg_square(z: f32) -> f32 {
    let h = wa_high_bits(z);
    let value = wa_exp(-(h * h)) * wa_exp(-((z - h) * (z + h)));
    return select(value, 0.0, wa_abs(z) > 11.0);
}

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

// erfc(z) for z >= 0.5 to about 1.2e-7 relative.
fn wa_erfc_tail(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    return t * wa_exp_neg_square(z) * wa_exp(wa_erfc_exponent(t));
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

// Phi(x) = erfc(-x / sqrt 2) / 2, accurate in relative terms in the lower tail.
fn wa_normal_cdf(x: f32) -> f32 {
    let z = x * WA_FRAC_1_SQRT_2;
    let a = wa_abs(z);
    let tail = 0.5 * wa_erfc_tail(a);
    let far = select(tail, 1.0 - tail, x > 0.0);
    let near = 0.5 + 0.5 * wa_erf_small(z);
    return select(far, near, a < 0.5);
}

// phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
fn wa_normal_pdf(x: f32) -> f32 {
    return WA_FRAC_1_SQRT_2PI * wa_exp_neg_square(x * WA_FRAC_1_SQRT_2);
}

// The lower tail (x < -1/sqrt 2, where wa_erfc_tail applies) as exp(-h^2)
// times a moderate factor, h the top 12 bits of |x| / sqrt 2:
// Phi(x) = cdf_factor * exp(-h^2), phi(x) = pdf_factor * exp(-h^2). Multiplying
// that exp in last (`wa_mul_exp`) keeps results such as 1e5 * gelu'(-13), whose
// Phi is subnormal, to full precision.
struct WaLowerTail {
    cdf_factor: f32,
    pdf_factor: f32,
    neg_h2: f32,
}

fn wa_lower_tail(x: f32) -> WaLowerTail {
    let z = wa_abs(x) * WA_FRAC_1_SQRT_2;
    let h = wa_high_bits(z);
    let rest = wa_exp(-((z - h) * (z + h)));
    let t = 1.0 / (1.0 + 0.5 * z);
    return WaLowerTail(0.5 * t * wa_exp(wa_erfc_exponent(t)) * rest, WA_FRAC_1_SQRT_2PI * rest, -(h * h));
}

// Where the lower tail applies.
fn wa_in_lower_tail(x: f32) -> bool {
    return x < -WA_FRAC_1_SQRT_2;
}

// Below x = -30 both forms and their gradients are below 1e-190 times x:
// exactly 0 for any f32 gradient (and -inf * 0 would be NaN), so they are
// written as limits; the tail factors above would underflow there anyway.
fn wa_gelu_vanished(x: f32) -> bool {
    return x < -30.0;
}

fn gelu(x: f32) -> f32 {
    let lower = wa_lower_tail(x);
    let tail = wa_mul_exp(x, lower.cdf_factor, lower.neg_h2);
    let value = select(x * wa_normal_cdf(x), tail, wa_in_lower_tail(x));
    return wa_keep_nan(x, select(value, 0.0, wa_gelu_vanished(x)));
}

// Phi(x) + x phi(x).
fn gelu_backward(x: f32, grad_output: f32) -> f32 {
    let pdf = wa_normal_pdf(x);
    let body = grad_output * (wa_normal_cdf(x) + select(x * pdf, 0.0, pdf == 0.0));
    let lower = wa_lower_tail(x);
    let tail = wa_mul_exp(grad_output, lower.cdf_factor + x * lower.pdf_factor, lower.neg_h2);
    let value = select(body, tail, wa_in_lower_tail(x));
    let gone = wa_times_vanishing(grad_output, -1.0, x);
    return wa_keep_nan(x, select(value, gone, wa_gelu_vanished(x)));
}

// The tanh form's 2u.
fn wa_gelu_tanh_inner(x: f32) -> f32 {
    return 2.0 * WA_SQRT_2_OVER_PI * (x + WA_GELU_TANH_KAPPA * x * x * x);
}

// x sigmoid(2u) -> x exp(2u) where 2u < -20 (exp(2u) < 2e-9).
fn gelu_tanh(x: f32) -> f32 {
    let inner = wa_gelu_tanh_inner(x);
    let body = x * wa_sigmoid(inner);
    let tail = wa_mul_exp(x, 1.0, inner);
    let value = select(body, tail, inner < -20.0);
    return wa_keep_nan(x, select(value, 0.0, wa_gelu_vanished(x)));
}

// d/dx x s(2u) = s + x * 2 s (1 - s) * sqrt(2/pi) (1 + 3 kappa x^2)
// -> (1 + x * growth) exp(2u) in the tail.
fn gelu_tanh_backward(x: f32, grad_output: f32) -> f32 {
    let inner = wa_gelu_tanh_inner(x);
    let s = wa_sigmoid(inner);
    let spread = s * wa_sigmoid(-inner);
    let growth = (2.0 * WA_SQRT_2_OVER_PI) * (1.0 + 3.0 * WA_GELU_TANH_KAPPA * x * x);
    let slope = (x * spread) * growth;
    let body = grad_output * (s + select(slope, 0.0, spread == 0.0));
    let d = 1.0 + x * growth;
    let gone = wa_times_vanishing(grad_output, -1.0, x);
    let tail = select(wa_mul_exp(grad_output, d, inner), gone, inner < -1e10);
    let value = select(body, tail, inner < -20.0);
    return wa_keep_nan(x, select(value, gone, wa_gelu_vanished(x)));
}

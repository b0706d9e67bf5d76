// Op family "gelu": gelu(x) = x * Phi(x), Phi the standard normal CDF
// (PyTorch's approximate="none"), and gelu_tanh(x) = x * sigmoid(2 u) with
// u = sqrt(2 / pi) (x + 0.044715 x^3) (approximate="tanh", since
// 0.5 (1 + tanh u) = sigmoid(2 u)). Twin of `src/cpu/gelu.rs`. WGSL has no
// erf: Phi is written here from erf's series and erfc's tail. NaN in gives NaN out;
// gelu(-inf) = -0, gelu(inf) = inf.

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

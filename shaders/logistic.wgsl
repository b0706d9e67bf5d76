// Op family "logistic": the smooth squashing ops built on exp and log1p:
// sigmoid, logsigmoid, silu, softplus, mish, tanh, softsign. Twin of
// `src/cpu/logistic.rs`. Every formula is arranged so that nothing overflows
// and nothing cancels (see each function); NaN in gives NaN out, infinities
// give the limits.

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

// mish's terms without cancellation, from e = exp(-|x|): tanh(softplus(x))
// = tanh(log(1 + e^x)) is e (e + 2) / (e (e + 2) + 2) for x <= 0, whose
// complement is 2 / (e (e + 2) + 2), and for x > 0 (1 + 2e) / (1 + 2e +
// 2e^2), whose complement is 2e^2 / (1 + 2e + 2e^2).

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

// Op family "logistic": the smooth squashing ops built on exp and log1p:
// sigmoid, logsigmoid, silu, softplus, mish, tanh, softsign. Twin of
// `src/cpu/logistic.rs`. Every formula is arranged so that nothing overflows
// and nothing cancels (see each function); NaN in gives NaN out, infinities
// give the limits.

// Below this the exponential tails are computed as c * exp(x) in one step
// (`wa_mul_exp`): exp(x) there is below 2e-9, so the dropped terms are under
// 1/60 ulp, and no subnormal intermediate (exp(-90) is one) can lose the bits
// of a result that is itself normal (x exp(x), or a gradient of 1e5 times it).
const WA_TAIL: f32 = -20.0;

// Below -1e10 exp(x) is exactly 0 in every form (and -inf * 0 would be NaN).
fn wa_vanishing(x: f32) -> bool {
    return x < -1e10;
}

// `value`, but c * exp(t) where t < WA_TAIL, and exactly 0 where t is
// vanishing (the forward limits: x exp(x) -> 0 as x -> -inf). The tail is
// only computed where some element needs it.
fn wa_with_tail(value: f32, c: f32, t: f32) -> f32 {
    var result = value;
    if (t < WA_TAIL) {
        result = select(wa_mul_exp(c, 1.0, t), 0.0, wa_vanishing(t));
    }
    return result;
}

// g * d * exp(t) for t < WA_TAIL (the gradient's tail), else `value`; where t
// is vanishing, g times a derivative too small for any float (see
// `wa_times_vanishing`), x being the op's input.
fn wa_with_gradient_tail(value: f32, g: f32, d: f32, t: f32, x: f32) -> f32 {
    var result = value;
    if (t < WA_TAIL) {
        result = select(wa_mul_exp(g, d, t), wa_times_vanishing(g, d, x), wa_vanishing(t));
    }
    return result;
}

fn sigmoid(x: f32) -> f32 {
    return wa_keep_nan(x, wa_sigmoid(x));
}

// s(x) s(-x) (from one exp) -> exp(-|x|) in both tails.
fn sigmoid_backward(x: f32, grad_output: f32) -> f32 {
    let pair = wa_sigmoid_pair(x);
    let body = (grad_output * pair.s) * pair.complement;
    return wa_keep_nan(x, wa_with_gradient_tail(body, grad_output, 1.0, -wa_abs(x), x));
}

// y (1 - y), y = sigmoid(x).
fn sigmoid_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(y, grad_output * (y * (1.0 - y)));
}

// log(sigmoid(x)) = -softplus(-x).
fn logsigmoid(x: f32) -> f32 {
    return wa_keep_nan(x, -wa_softplus(-x));
}

// sigmoid(-x) -> exp(-x) in the tail.
fn logsigmoid_backward(x: f32, grad_output: f32) -> f32 {
    let body = grad_output * wa_sigmoid(-x);
    return wa_keep_nan(x, wa_with_gradient_tail(body, grad_output, 1.0, -x, x));
}

// x sigmoid(x), scaled last (`wa_times_sigmoid`): a result that is a
// normal number keeps its bits where exp(x) is subnormal (x < -87.3, down to
// -91.8); 0 past -WA_EXP_LIMIT (|x exp(x)| < 2^-150 there) and at -inf.
fn silu(x: f32) -> f32 {
    return wa_keep_nan(x, select(wa_times_sigmoid(x, x), 0.0, x < -WA_EXP_LIMIT));
}

// s (1 + x (1 - s)) = s + x s (1 - s) -> (1 + x) exp(x) in the tail.
fn silu_backward(x: f32, grad_output: f32) -> f32 {
    let pair = wa_sigmoid_pair(x);
    let s = pair.s;
    let spread = s * pair.complement;
    let body = grad_output * (s + select(x * spread, 0.0, spread == 0.0));
    return wa_keep_nan(x, wa_with_gradient_tail(body, grad_output, 1.0 + x, x, x));
}

// log1p(exp(beta x)) / beta -> exp(beta x) / beta in the tail; x where
// beta x > threshold (the test on the f32 product, as PyTorch).
fn softplus(x: f32, beta: f32, threshold: f32) -> f32 {
    let bx = beta * x;
    let inverse_beta = 1.0 / beta;
    let body = wa_with_tail(wa_softplus(bx) * inverse_beta, inverse_beta, bx);
    return wa_keep_nan(x, select(body, x, bx > threshold));
}

// sigmoid(beta x) -> exp(beta x) in the tail; 1 past the threshold.
fn softplus_backward(x: f32, grad_output: f32, beta: f32, threshold: f32) -> f32 {
    let bx = beta * x;
    let body = wa_with_gradient_tail(grad_output * wa_sigmoid(bx), grad_output, 1.0, bx, x);
    return wa_keep_nan(x, select(body, grad_output, bx > threshold));
}

// tanh(softplus(x)) and 1 - tanh(softplus(x)), without cancellation:
// with e = exp(x), tanh(log(1 + e)) = e (e + 2) / (e (e + 2) + 2); for x > 0
// the same in n = exp(-x): (1 + 2n) / (1 + 2n + 2n^2), whose complement is
// 2n^2 / (1 + 2n + 2n^2).
// Also sigmoid(x), from the same exp(-|x|).
struct WaMishTerms {
    t: f32,
    one_minus_t: f32,
    sigmoid: f32,
}

fn wa_mish_terms(x: f32) -> WaMishTerms {
    let positive = x > 0.0;
    let e = wa_exp(-wa_abs(x));
    let ne = e * (e + 2.0);
    let inverse_negative = 1.0 / (ne + 2.0);
    let t_negative = ne * inverse_negative;
    let c_negative = 2.0 * inverse_negative;
    let inverse_positive = 1.0 / (1.0 + 2.0 * e + 2.0 * e * e);
    let t_positive = (1.0 + 2.0 * e) * inverse_positive;
    let c_positive = 2.0 * e * e * inverse_positive;
    let inverse = 1.0 / (1.0 + e);
    let sigmoid = select(e * inverse, inverse, x >= 0.0);
    return WaMishTerms(
        select(t_negative, t_positive, positive),
        select(c_negative, c_positive, positive),
        sigmoid,
    );
}

// x tanh(log1p(exp(x))) from one exp(-|x|) = e = p 2^k (the forms of
// `wa_mish_terms`): x (1 + 2e) / (1 + 2e + 2e^2) for x > 0, and
// x p (e + 2) / (e (e + 2) + 2) 2^k for x <= 0, scaled last as in `silu`
// (x exp(x) in the far tail keeps its bits where e is subnormal).
fn mish(x: f32) -> f32 {
    let parts = wa_exp_parts(-wa_abs(x));
    let e = wa_scale_pow2(parts.p, parts.k);
    let upper = x * ((1.0 + 2.0 * e) * (1.0 / (1.0 + 2.0 * e + 2.0 * e * e)));
    let inverse_negative = 1.0 / (e * (e + 2.0) + 2.0);
    let lower = wa_scale_pow2(((x * parts.p) * (e + 2.0)) * inverse_negative, parts.k);
    let value = select(select(lower, 0.0, x < -WA_EXP_LIMIT), upper, x > 0.0);
    return wa_keep_nan(x, value);
}

// t + x sigmoid(x) (1 - t^2), (1 - t^2) = (1 - t)(1 + t);
// -> (1 + x) exp(x) in the tail.
fn mish_backward(x: f32, grad_output: f32) -> f32 {
    let terms = wa_mish_terms(x);
    let slope = x * terms.sigmoid * (terms.one_minus_t * (1.0 + terms.t));
    let finite_slope = select(slope, 0.0, (terms.one_minus_t == 0.0) | (terms.t == 0.0));
    let body = grad_output * (terms.t + finite_slope);
    return wa_keep_nan(x, wa_with_gradient_tail(body, grad_output, 1.0 + x, x, x));
}

fn tanh(x: f32) -> f32 {
    return wa_tanh(x);
}

// 4 e / (1 + e)^2, e = exp(-2|x|) -> 4 exp(-2|x|) in the tail.
fn tanh_backward(x: f32, grad_output: f32) -> f32 {
    let body = grad_output * wa_sech2(x);
    return wa_keep_nan(x, wa_with_gradient_tail(body, grad_output, 4.0, -2.0 * wa_abs(x), x));
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

// Op family "logistic": the smooth squashing ops built on exp and log1p:
// sigmoid, logsigmoid, silu, softplus, mish, tanh, softsign. Twin of
// `src/cpu/logistic.rs`. Every formula is arranged so that nothing overflows
// and nothing cancels (see each case); NaN in gives NaN out, infinities give
// the limits. With FROM_OUTPUT, sigmoid and tanh take y = f(x) in backward.

const OP_SIGMOID: u32 = 0u;
const OP_LOGSIGMOID: u32 = 1u;
const OP_SILU: u32 = 2u;
const OP_SOFTPLUS: u32 = 3u;     // p0 = beta, p1 = threshold, p2 = 1 / beta
const OP_MISH: u32 = 4u;
const OP_TANH: u32 = 5u;
const OP_SOFTSIGN: u32 = 6u;

// Below this the exponential tails are computed as c * exp(x) in one step
// (`mul_exp4`): exp(x) there is below 2e-9, so the dropped terms are under
// 1/60 ulp, and no subnormal intermediate (exp(-90) is one) can lose the bits
// of a result that is itself normal (x exp(x), or a gradient of 1e5 times it).
const TAIL: f32 = -20.0;

// 0 for x < -1e10, where exp(x) is exactly 0 in every form (and -inf * 0 would be NaN).
fn vanishing(x: vec4<f32>) -> vec4<bool> {
    return x < vec4<f32>(-1e10);
}

// `value`, but c * exp(t) where t < TAIL, and exactly 0 where t is vanishing
// (the forward limits: x exp(x) -> 0 as x -> -inf).
fn with_tail(value: vec4<f32>, c: vec4<f32>, t: vec4<f32>) -> vec4<f32> {
    let tail = select(mul_exp4(c, vec4<f32>(1.0), t), vec4<f32>(0.0), vanishing(t));
    return select(value, tail, t < vec4<f32>(TAIL));
}

// g * d * exp(t) for t < TAIL (the gradient's tail), else `value`; where t
// is vanishing, g times a derivative too small for any float (see
// `times_vanishing4`), x being the op's input.
fn with_gradient_tail(
    value: vec4<f32>,
    g: vec4<f32>,
    d: vec4<f32>,
    t: vec4<f32>,
    x: vec4<f32>,
) -> vec4<f32> {
    let tail = select(mul_exp4(g, d, t), times_vanishing4(g, d, x), vanishing(t));
    return select(value, tail, t < vec4<f32>(TAIL));
}

// tanh(softplus(x)) and 1 - tanh(softplus(x)), without cancellation:
// with e = exp(x), tanh(log(1 + e)) = e (e + 2) / (e (e + 2) + 2); for x > 0
// the same in n = exp(-x): (1 + 2n) / (1 + 2n + 2n^2), whose complement is
// 2n^2 / (1 + 2n + 2n^2).
struct MishTerms {
    t: vec4<f32>,
    one_minus_t: vec4<f32>,
}

fn mish_terms(x: vec4<f32>) -> MishTerms {
    let positive = x > vec4<f32>(0.0);
    let e = exp4(-abs4(x));
    let ne = e * (e + 2.0);
    let t_negative = ne / (ne + 2.0);
    let c_negative = 2.0 / (ne + 2.0);
    let d = 1.0 + 2.0 * e + 2.0 * e * e;
    let t_positive = (1.0 + 2.0 * e) / d;
    let c_positive = 2.0 * e * e / d;
    return MishTerms(select(t_negative, t_positive, positive), select(c_negative, c_positive, positive));
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    var value: vec4<f32>;
    switch OP {
        case OP_SIGMOID: {
            value = sigmoid4(x);
        }
        case OP_LOGSIGMOID: {
            // log(sigmoid(x)) = -softplus(-x)
            value = -softplus4(-x);
        }
        case OP_SILU: {
            // x exp(x) / (1 + exp(x)) -> x exp(x) in the tail.
            let s = sigmoid4(x);
            value = with_tail(x * s, x, x);
        }
        case OP_SOFTPLUS: {
            // log1p(exp(bx)) / beta -> exp(bx) / beta in the tail.
            let bx = params.p0 * x;
            let body = with_tail(softplus4(bx) * params.p2, vec4<f32>(params.p2), bx);
            value = select(body, x, bx > vec4<f32>(params.p1));
        }
        case OP_MISH: {
            // x tanh(log1p(exp(x))) -> x exp(x) in the tail.
            let terms = mish_terms(x);
            value = with_tail(x * terms.t, x, x);
        }
        case OP_TANH: {
            value = tanh4(x);
        }
        default: {
            // softsign: x / (1 + |x|), +-1 at +-inf.
            let ratio = x * recip4(1.0 + abs4(x));
            value = select(ratio, select(vec4<f32>(1.0), vec4<f32>(-1.0), x < zero), abs4(x) > vec4<f32>(1e30));
        }
    }
    return keep_nan4(x, value);
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    var value: vec4<f32>;
    switch OP {
        case OP_SIGMOID: {
            if (FROM_OUTPUT) {
                value = g * (x * (1.0 - x));
            } else {
                // s(x) s(-x) -> exp(-|x|) in both tails.
                let body = (g * sigmoid4(x)) * sigmoid4(-x);
                value = with_gradient_tail(body, g, vec4<f32>(1.0), -abs4(x), x);
            }
        }
        case OP_LOGSIGMOID: {
            // sigmoid(-x) -> exp(-x) in the tail.
            value = with_gradient_tail(g * sigmoid4(-x), g, vec4<f32>(1.0), -x, x);
        }
        case OP_SILU: {
            // s (1 + x (1 - s)) = s + x s (1 - s) -> (1 + x) exp(x) in the tail.
            let s = sigmoid4(x);
            let spread = s * sigmoid4(-x);
            let body = g * (s + select(x * spread, zero, spread == zero));
            value = with_gradient_tail(body, g, 1.0 + x, x, x);
        }
        case OP_SOFTPLUS: {
            // sigmoid(bx) -> exp(bx) in the tail.
            let bx = params.p0 * x;
            let body = with_gradient_tail(g * sigmoid4(bx), g, vec4<f32>(1.0), bx, x);
            value = select(body, g, bx > vec4<f32>(params.p1));
        }
        case OP_MISH: {
            // t + x sigmoid(x) (1 - t^2), (1 - t^2) = (1 - t)(1 + t);
            // -> (1 + x) exp(x) in the tail.
            let terms = mish_terms(x);
            let slope = x * sigmoid4(x) * (terms.one_minus_t * (1.0 + terms.t));
            let finite_slope = select(slope, zero, (terms.one_minus_t == zero) | (terms.t == zero));
            value = with_gradient_tail(g * (terms.t + finite_slope), g, 1.0 + x, x, x);
        }
        case OP_TANH: {
            if (FROM_OUTPUT) {
                value = g * ((1.0 - x) * (1.0 + x));
            } else {
                // 4 e / (1 + e)^2, e = exp(-2|x|) -> 4 exp(-2|x|) in the tail.
                value = with_gradient_tail(g * sech2_4(x), g, vec4<f32>(4.0), -2.0 * abs4(x), x);
            }
        }
        default: {
            // (g r) r: g r cannot overflow (r <= 1), r r could underflow.
            let r = recip4(1.0 + abs4(x));
            value = (g * r) * r;
        }
    }
    return keep_nan4(x, value);
}

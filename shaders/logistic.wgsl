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
            let s = sigmoid4(x);
            // x * s is -inf * 0 at x = -inf: the limit is 0.
            value = select(x * s, zero, s == zero);
        }
        case OP_SOFTPLUS: {
            let bx = params.p0 * x;
            value = select(softplus4(bx) * params.p2, x, bx > vec4<f32>(params.p1));
        }
        case OP_MISH: {
            let terms = mish_terms(x);
            value = select(x * terms.t, zero, terms.t == zero);
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
                value = (g * sigmoid4(x)) * sigmoid4(-x);
            }
        }
        case OP_LOGSIGMOID: {
            value = g * sigmoid4(-x);
        }
        case OP_SILU: {
            // s (1 + x (1 - s)) = s + x s (1 - s); x s (1 - s) -> 0 where s (1 - s) = 0.
            let s = sigmoid4(x);
            let spread = s * sigmoid4(-x);
            value = g * (s + select(x * spread, zero, spread == zero));
        }
        case OP_SOFTPLUS: {
            let bx = params.p0 * x;
            value = select(g * sigmoid4(bx), g, bx > vec4<f32>(params.p1));
        }
        case OP_MISH: {
            // t + x sigmoid(x) (1 - t^2), (1 - t^2) = (1 - t)(1 + t).
            let terms = mish_terms(x);
            let slope = x * sigmoid4(x) * (terms.one_minus_t * (1.0 + terms.t));
            let finite_slope = select(slope, zero, (terms.one_minus_t == zero) | (terms.t == zero));
            value = g * (terms.t + finite_slope);
        }
        case OP_TANH: {
            if (FROM_OUTPUT) {
                value = g * ((1.0 - x) * (1.0 + x));
            } else {
                value = g * sech2_4(x);
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

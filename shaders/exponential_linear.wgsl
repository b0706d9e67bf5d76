// Op family "exponential_linear": elu, selu and celu, all written as
//     f(x) = scale * x                                      for x > 0
//     f(x) = scale * alpha * (exp(input_scale * x) - 1)     for x <= 0
// with (alpha, scale, input_scale) = (alpha, 1, 1) for elu, PyTorch's
// constants and 1 for selu, and (alpha, 1, 1 / alpha) for celu. Twin of
// `src/cpu/exponential_linear.rs`. `alpha_input_scale` is alpha *
// input_scale rounded once (exactly 1 for celu).
//
// The gradient is computed from the input, as PyTorch does:
//     f'(x) = scale for x > 0, scale * alpha * input_scale * exp(input_scale * x) for x <= 0,
// so f'(0) = alpha * scale * input_scale. From the output (elu with
// alpha >= 0 only): scale for y > 0, else input_scale * (y + alpha * scale).
// NaN in gives NaN out.

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

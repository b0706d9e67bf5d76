// Op family "exponential_linear": elu, selu and celu, all written as
//     f(x) = scale * x                                      for x > 0
//     f(x) = scale * alpha * (exp(input_scale * x) - 1)     for x <= 0
// with (alpha, scale, input_scale) = (alpha, 1, 1) for elu, PyTorch's
// constants and 1 for selu, and (alpha, 1, 1 / alpha) for celu.
// Twin of `src/cpu/exponential_linear.rs`. Parameters: p0 = alpha,
// p1 = scale, p2 = input_scale, p3 = alpha * input_scale (rounded once on
// the host: exactly 1 for celu).
//
// The gradient is computed from the input, as PyTorch does:
//     f'(x) = scale for x > 0, scale * alpha * input_scale * exp(input_scale * x) for x <= 0,
// so f'(0) = alpha * scale * input_scale. With FROM_OUTPUT (elu with
// alpha >= 0 only) it is computed from y = f(x): scale for y > 0, else
// input_scale * (y + alpha * scale). NaN in gives NaN out.

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let alpha = params.p0;
    let scale = params.p1;
    let negative = select(x, vec4<f32>(0.0), x > vec4<f32>(0.0));
    let t = params.p2 * negative;
    // Near 0, alpha * expm1(t) = (alpha * input_scale) * x * (expm1(t) / t):
    // no division and no underflow of t for a large celu alpha.
    let near = (params.p3 * scale) * negative * expm1_ratio4(t);
    // alpha * (exp(t) - 1) as c exp(t) - c: exp(t) alone may overflow where
    // the product does not (celu with a small negative alpha).
    let c = vec4<f32>(alpha * scale);
    let far = mul_exp4(c, vec4<f32>(1.0), t) - c;
    let value = select(select(far, near, abs4(t) <= vec4<f32>(1.0)), scale * x, x > vec4<f32>(0.0));
    return keep_nan4(x, value);
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let alpha = params.p0;
    let scale = params.p1;
    let input_scale = params.p2;
    if (FROM_OUTPUT) {
        let negative = g * (input_scale * (x + alpha * scale));
        return keep_nan4(x, select(negative, g * scale, x > vec4<f32>(0.0)));
    }
    let clipped = select(x, vec4<f32>(0.0), x > vec4<f32>(0.0));
    // t = input_scale * x can overflow for finite x (celu with alpha < 1):
    // keep it finite, since exp(t) > 0 for every finite x.
    let max_finite = vec4<f32>(3.4028235e38);
    let t = input_scale * clipped;
    let t_finite = select(t, sign(t) * max_finite, (abs4(t) > max_finite) & (abs4(clipped) <= max_finite));
    // g * c * exp(t) in one step, free of intermediate overflow and underflow.
    let negative = mul_exp4(g, vec4<f32>(params.p3 * scale), t_finite);
    return keep_nan4(x, select(negative, g * scale, x > vec4<f32>(0.0)));
}

// Op family "exponential_linear": elu and selu, both written as
//     f(x) = scale * x                       for x > 0
//     f(x) = scale * alpha * (exp(x) - 1)    for x <= 0
// with (alpha, scale) = (alpha, 1) for elu and PyTorch's constants for selu.
// Twin of `src/cpu/exponential_linear.rs`. Parameters: p0 = alpha, p1 = scale.
//
// The gradient is computed from the input, as PyTorch does:
//     f'(x) = scale for x > 0, scale * alpha * exp(x) for x <= 0,
// so f'(0) = alpha * scale. NaN in gives NaN out; f(-inf) = -alpha * scale.

// Below this exp(x) is under half the smallest f32 subnormal: exactly 0.
const EXP_UNDERFLOW: f32 = -104.0;

// exp(x) with an exact 0 for very negative x (WGSL leaves exp(-inf) open).
fn exp_nonpositive(x: vec4<f32>) -> vec4<f32> {
    let clamped = select(x, vec4<f32>(EXP_UNDERFLOW), x < vec4<f32>(EXP_UNDERFLOW));
    return select(exp(clamped), vec4<f32>(0.0), x < vec4<f32>(EXP_UNDERFLOW));
}

// exp(x) - 1 for x <= 0 without cancellation near 0: a degree-11 Taylor
// polynomial on [-1, 0] (truncation below 1e-8 relative), exp(x) - 1 further
// out, where the result is at least 0.63 in magnitude.
fn expm1_nonpositive(x: vec4<f32>) -> vec4<f32> {
    let near_zero = x >= vec4<f32>(-1.0);
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
    p = p * x + 1.0;
    let series = p * x;
    return select(exp_nonpositive(x) - 1.0, series, near_zero);
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let alpha = params.p0;
    let scale = params.p1;
    let negative = min_nonpositive(x);
    let value = select((alpha * scale) * expm1_nonpositive(negative), scale * x, x > vec4<f32>(0.0));
    return keep_nan4(x, value);
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let alpha = params.p0;
    let scale = params.p1;
    let negative = min_nonpositive(x);
    let value = select(g * ((alpha * scale) * exp_nonpositive(negative)), g * scale, x > vec4<f32>(0.0));
    return keep_nan4(x, value);
}

// min(x, 0) written with select (WGSL's min is indeterminate on NaN).
fn min_nonpositive(x: vec4<f32>) -> vec4<f32> {
    return select(x, vec4<f32>(0.0), x > vec4<f32>(0.0));
}

// Op family "rectifier": piecewise-linear ops. Twin of `src/cpu/rectifier.rs`.
// For each op: `NAME(x, params)` is f(x) and `NAME_backward(x, grad_output,
// params)` is grad_output * f'(x); `NAME_grad` (f'(x)) and the vec4 and f16
// forms are generated from these. Gradients at the kinks follow PyTorch;
// NaN in gives NaN out in both directions. Selections, not max/min/clamp,
// which WGSL leaves indeterminate on NaN.

fn identity(x: f32) -> f32 {
    return x;
}

fn identity_backward(x: f32, grad_output: f32) -> f32 {
    return grad_output;
}

fn identity_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return grad_output;
}

// A select, not max(): NaN and -0.0 pass through untouched.
fn relu(x: f32) -> f32 {
    return select(x, 0.0, x < 0.0);
}

// relu'(0) = 0, as PyTorch.
fn relu_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, x > 0.0));
}

// y = relu(x) > 0 exactly where x > 0.
fn relu_backward_from_output(y: f32, grad_output: f32) -> f32 {
    return relu_backward(y, grad_output);
}

fn leaky_relu(x: f32, negative_slope: f32) -> f32 {
    return select(x, x * negative_slope, x < 0.0);
}

// leaky_relu'(0) = negative_slope, as PyTorch.
fn leaky_relu_backward(x: f32, grad_output: f32, negative_slope: f32) -> f32 {
    return wa_keep_nan(x, select(grad_output * negative_slope, grad_output, x > 0.0));
}

// For negative_slope >= 0, y > 0 exactly where x > 0.
fn leaky_relu_backward_from_output(y: f32, grad_output: f32, negative_slope: f32) -> f32 {
    return leaky_relu_backward(y, grad_output, negative_slope);
}

// PReLU with the element's channel weight.
fn prelu(x: f32, weight: f32) -> f32 {
    return leaky_relu(x, weight);
}

// prelu'(0) = weight, as PyTorch.
fn prelu_backward(x: f32, grad_output: f32, weight: f32) -> f32 {
    return leaky_relu_backward(x, grad_output, weight);
}

// RReLU's slope in evaluation mode: (lower + upper) / 2, rounded once (the
// halves are exact, so this is the rounded mean and cannot overflow).
fn wa_rrelu_mean_slope(lower: f32, upper: f32) -> f32 {
    return lower * 0.5 + upper * 0.5;
}

// rrelu in evaluation mode (PyTorch's default): leaky_relu with the mean slope.
fn rrelu(x: f32, lower: f32, upper: f32) -> f32 {
    return leaky_relu(x, wa_rrelu_mean_slope(lower, upper));
}

fn rrelu_backward(x: f32, grad_output: f32, lower: f32, upper: f32) -> f32 {
    return leaky_relu_backward(x, grad_output, wa_rrelu_mean_slope(lower, upper));
}

// PCG hash (Jarzynski and Olano, 2020): the counter-based generator of
// RReLU's training-mode slopes. Twin of `cpu::pcg_hash`.
fn wa_pcg_hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// The training-mode slope of element `index` for the 64-bit `seed` (low word
// first): lower + (upper - lower) * u, u uniform in [0, 1) from the top 24
// bits of the hash of (seed, index). Twin of `cpu::rrelu_slope`.
fn wa_rrelu_slope(lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f32 {
    let key = wa_pcg_hash(seed.x ^ wa_pcg_hash(seed.y));
    let u = f32(wa_pcg_hash(index ^ key) >> 8u) * (1.0 / 16777216.0);
    return lower + (upper - lower) * u;
}

// rrelu in training mode: each element draws its slope from (seed, index),
// the same in forward and backward. PyTorch draws a slope for x <= 0.
fn rrelu_training(x: f32, lower: f32, upper: f32, seed: vec2<u32>, index: u32) -> f32 {
    return select(x, x * wa_rrelu_slope(lower, upper, seed, index), x <= 0.0);
}

fn rrelu_training_backward(
    x: f32,
    grad_output: f32,
    lower: f32,
    upper: f32,
    seed: vec2<u32>,
    index: u32,
) -> f32 {
    let slope = wa_rrelu_slope(lower, upper, seed, index);
    return wa_keep_nan(x, select(grad_output * slope, grad_output, x > 0.0));
}

fn hardtanh(x: f32, min_val: f32, max_val: f32) -> f32 {
    return select(select(x, min_val, x < min_val), max_val, x > max_val);
}

// 0 at both bounds, as PyTorch.
fn hardtanh_backward(x: f32, grad_output: f32, min_val: f32, max_val: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, (x > min_val) & (x < max_val)));
}

fn relu6(x: f32) -> f32 {
    return hardtanh(x, 0.0, 6.0);
}

fn relu6_backward(x: f32, grad_output: f32) -> f32 {
    return hardtanh_backward(x, grad_output, 0.0, 6.0);
}

// As PyTorch: x <= threshold ? value : x, so NaN passes through.
fn threshold(x: f32, threshold: f32, value: f32) -> f32 {
    return select(x, value, x <= threshold);
}

fn threshold_backward(x: f32, grad_output: f32, threshold: f32, value: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output, x > threshold));
}

fn hardsigmoid(x: f32) -> f32 {
    let middle = (x + 3.0) * (1.0 / 6.0);
    let low = select(middle, 0.0, x <= -3.0);
    return wa_keep_nan(x, select(low, 1.0, x >= 3.0));
}

// 0 at -3 and 3, as PyTorch.
fn hardsigmoid_backward(x: f32, grad_output: f32) -> f32 {
    return wa_keep_nan(x, select(0.0, grad_output * (1.0 / 6.0), (x > -3.0) & (x < 3.0)));
}

fn hardswish(x: f32) -> f32 {
    let middle = x * (x + 3.0) * (1.0 / 6.0);
    let low = select(middle, 0.0, x <= -3.0);
    return wa_keep_nan(x, select(low, x, x >= 3.0));
}

// 0 at -3, 1 at 3.
fn hardswish_backward(x: f32, grad_output: f32) -> f32 {
    let middle = grad_output * (x * (1.0 / 3.0) + 0.5);
    return wa_keep_nan(x, select(select(0.0, middle, x > -3.0), grad_output, x >= 3.0));
}

// Op family "rectifier": piecewise-linear ops. Twin of `src/cpu/rectifier.rs`.
// OP selects the op; parameters as listed. Gradients at the kinks follow
// PyTorch (see `src/activation.rs`); NaN in gives NaN out in both directions.

const OP_IDENTITY: u32 = 0u;
const OP_RELU: u32 = 1u;
const OP_LEAKY_RELU: u32 = 2u;      // p0 = negative_slope (rrelu in eval mode too)
const OP_RRELU_TRAINING: u32 = 3u;  // p0 = lower, p1 = upper, seed
const OP_HARDTANH: u32 = 4u;        // p0 = min_val, p1 = max_val (relu6: 0, 6)
const OP_THRESHOLD: u32 = 5u;       // p0 = threshold, p1 = value
const OP_HARDSIGMOID: u32 = 6u;
const OP_HARDSWISH: u32 = 7u;

// PCG hash (Jarzynski and Olano, 2020): the counter-based generator of
// RReLU's slopes. Twin of `cpu::rrelu_slope`.
fn pcg_hash(v: vec4<u32>) -> vec4<u32> {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> vec4<u32>(28u)) + 4u)) ^ state) * 277803737u;
    return (word >> vec4<u32>(22u)) ^ word;
}

// The slope of element `index`: lower + (upper - lower) * u, u uniform in [0, 1)
// from the top 24 bits of the hash of (seed, index).
fn rrelu_slope(index: vec4<u32>) -> vec4<f32> {
    let key = pcg_hash(vec4<u32>(params.seed_lo) ^ pcg_hash(vec4<u32>(params.seed_hi)));
    let bits = pcg_hash(index ^ key);
    let u = vec4<f32>(bits >> vec4<u32>(8u)) * (1.0 / 16777216.0);
    return params.p0 + (params.p1 - params.p0) * u;
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    switch OP {
        case OP_RELU: {
            // A select, not max(): NaN and -0.0 pass through untouched.
            return select(x, zero, x < zero);
        }
        case OP_LEAKY_RELU: {
            return select(x, x * params.p0, x < zero);
        }
        case OP_RRELU_TRAINING: {
            // PyTorch draws a slope for x <= 0.
            return select(x, x * rrelu_slope(index), x <= zero);
        }
        case OP_HARDTANH: {
            let low = select(x, vec4<f32>(params.p0), x < vec4<f32>(params.p0));
            return select(low, vec4<f32>(params.p1), x > vec4<f32>(params.p1));
        }
        case OP_THRESHOLD: {
            // As PyTorch: x <= threshold ? value : x, so NaN passes through.
            return select(x, vec4<f32>(params.p1), x <= vec4<f32>(params.p0));
        }
        case OP_HARDSIGMOID: {
            let middle = (x + 3.0) * (1.0 / 6.0);
            let low = select(middle, zero, x <= vec4<f32>(-3.0));
            return keep_nan4(x, select(low, vec4<f32>(1.0), x >= vec4<f32>(3.0)));
        }
        case OP_HARDSWISH: {
            let middle = x * (x + 3.0) * (1.0 / 6.0);
            let low = select(middle, zero, x <= vec4<f32>(-3.0));
            return keep_nan4(x, select(low, x, x >= vec4<f32>(3.0)));
        }
        default: {
            return x;
        }
    }
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let zero = vec4<f32>(0.0);
    var value = g;
    switch OP {
        case OP_RELU: {
            value = select(zero, g, x > zero);
        }
        case OP_LEAKY_RELU: {
            value = select(g * params.p0, g, x > zero);
        }
        case OP_RRELU_TRAINING: {
            value = select(g * rrelu_slope(index), g, x > zero);
        }
        case OP_HARDTANH: {
            value = select(zero, g, (x > vec4<f32>(params.p0)) & (x < vec4<f32>(params.p1)));
        }
        case OP_THRESHOLD: {
            value = select(zero, g, x > vec4<f32>(params.p0));
        }
        case OP_HARDSIGMOID: {
            value = select(zero, g * (1.0 / 6.0), (x > vec4<f32>(-3.0)) & (x < vec4<f32>(3.0)));
        }
        case OP_HARDSWISH: {
            let middle = g * (x * (1.0 / 3.0) + 0.5);
            value = select(select(zero, middle, x > vec4<f32>(-3.0)), g, x >= vec4<f32>(3.0));
        }
        default: {
            return g;
        }
    }
    return keep_nan4(x, value);
}

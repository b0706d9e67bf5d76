// Op family "rectifier": identity, relu and leaky_relu. Twin of
// `src/cpu/rectifier.rs`. `RECTIFIER_OP` is a pipeline-overridable constant set
// from `RectifierOp` on the host, so each op gets its own specialised pipeline.
//
// Gradients at the kink follow PyTorch: relu'(0) = 0 and leaky_relu'(0) =
// negative_slope. Every op returns NaN for a NaN input, in both directions.
// Parameters: p0 = negative_slope (leaky_relu).

override RECTIFIER_OP: u32;

const OP_IDENTITY: u32 = 0u;
const OP_RELU: u32 = 1u;
const OP_LEAKY_RELU: u32 = 2u;

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    switch RECTIFIER_OP {
        case OP_RELU: {
            // A select, not max(): NaN and -0.0 pass through untouched.
            return select(x, vec4<f32>(0.0), x < vec4<f32>(0.0));
        }
        case OP_LEAKY_RELU: {
            return select(x, x * params.p0, x < vec4<f32>(0.0));
        }
        default: {
            return x;
        }
    }
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    switch RECTIFIER_OP {
        case OP_RELU: {
            return keep_nan4(x, select(vec4<f32>(0.0), g, x > vec4<f32>(0.0)));
        }
        case OP_LEAKY_RELU: {
            return keep_nan4(x, select(g * params.p0, g, x > vec4<f32>(0.0)));
        }
        default: {
            return g;
        }
    }
}

// Op family "prelu": leaky ReLU with a learned slope per channel. Twin of
// `src/cpu/prelu.rs`; the weight's own gradient is reduced by
// `prelu_weight_grad.wgsl`.
//
// The channel of element i is (i / inner) % channels, where channels is the
// size of dimension 1 and inner the product of the dimensions after it; a
// single weight (channels == 1) is shared by every element. prelu'(0) = weight
// as in PyTorch; NaN in gives NaN out in both directions. The weight is read
// through the storage layout's `load_weight`, in the tensor's element type.

fn prelu_weight(index: vec4<u32>) -> vec4<f32> {
    if (params.channels <= 1u) {
        return vec4<f32>(load_weight(0u));
    }
    let channel = (index / vec4<u32>(params.inner)) % vec4<u32>(params.channels);
    return vec4<f32>(
        load_weight(channel.x),
        load_weight(channel.y),
        load_weight(channel.z),
        load_weight(channel.w),
    );
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    return select(x, x * prelu_weight(index), x < vec4<f32>(0.0));
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    return keep_nan4(x, select(g * prelu_weight(index), g, x > vec4<f32>(0.0)));
}

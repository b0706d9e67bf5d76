// Storage prelude of `prelu_weight_grad.wgsl` for f32 tensors.

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_weight: array<f32>;

fn load_x(i: u32) -> f32 {
    return x[i];
}

fn load_g(i: u32) -> f32 {
    return g[i];
}

fn store_grad_weight(c: u32, value: f32) {
    grad_weight[c] = value;
}

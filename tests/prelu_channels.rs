//! PReLU with one weight per channel, on every way the kernel finds an
//! element's channel: from its dispatch grid (x: the vec4s of a channel
//! block, y: the channel, z: the outer index; chosen for blocks of whole
//! vec4s that leave at most one in eight of a block's threads idle), by division
//! per thread (blocks of whole vec4s otherwise), per lane (blocks that are not
//! whole vec4s). Forward, backward, in place, fused with a bias, and pieces of
//! a tensor (`first_element`), f32 and f16, bit for bit against the products
//! computed here, on the tests' adapter and on devices whose limits cut the
//! tensor into many dispatches of whole periods and cap the grid.

mod common;

use wgpu_activations::{
    f16, Activation, ActivationError, DType, Epilogue, ForwardBuffers, GpuContext, GpuTensor,
};

/// `[outer, channels, inner...]`: blocks of 1024 (one workgroup of vec4s),
/// 8196 (nine, the last nearly idle), 3072, 1000 (six idle threads), many
/// periods, then blocks the grid does not take: 36 elements (most of a
/// workgroup idle), 1001 (not whole vec4s).
const SHAPES: &[&[usize]] = &[
    &[2, 3, 1024],
    &[3, 2, 8196],
    &[4, 2, 3, 1024],
    &[2, 3, 1000],
    &[20, 2, 1024],
    &[2, 3, 36],
    &[2, 3, 1001],
];

/// Inputs of both signs with magnitudes whose products with the weights are
/// normal in f16 too, and the special values every few elements.
fn inputs(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let magnitude = 0.25 + (state >> 50) as f32 / 4096.0;
            let value = if state & 1 == 0 {
                magnitude
            } else {
                -magnitude
            };
            match i % 97 {
                5 => f32::NAN,
                11 => f32::INFINITY,
                17 => f32::NEG_INFINITY,
                23 => 0.0,
                29 => -0.0,
                _ => value,
            }
        })
        .collect()
}

/// Distinct weights per channel (exact in f16).
fn weights(channels: usize) -> Vec<f32> {
    (0..channels).map(|c| 0.25 + c as f32 / 64.0).collect()
}

/// Rounds to the tensor's element type (exact for every value here in f32).
fn round(dtype: DType, v: f32) -> f32 {
    match dtype {
        DType::F32 => v,
        DType::F16 => f16::from_f32(v).to_f32(),
    }
}

fn upload(ctx: &GpuContext, dtype: DType, data: &[f32], shape: &[usize]) -> GpuTensor {
    match dtype {
        DType::F32 => ctx.upload(data, shape).unwrap(),
        DType::F16 => {
            let halves: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
            ctx.upload_f16(&halves, shape).unwrap()
        }
    }
}

fn download(ctx: &GpuContext, tensor: &GpuTensor) -> Vec<f32> {
    match tensor.dtype() {
        DType::F32 => ctx.download(tensor).unwrap(),
        DType::F16 => ctx
            .download_f16(tensor)
            .unwrap()
            .iter()
            .map(|v| v.to_f32())
            .collect(),
    }
}

fn prelu(x: f32, w: f32) -> f32 {
    if x < 0.0 {
        x * w
    } else {
        x
    }
}

fn prelu_backward(x: f32, g: f32, w: f32) -> f32 {
    if x.is_nan() {
        x
    } else if x > 0.0 {
        g
    } else {
        g * w
    }
}

/// Same bits, or NaN for NaN.
fn assert_same(what: &str, actual: &[f32], expected: impl Fn(usize) -> f32) {
    for (i, &a) in actual.iter().enumerate() {
        let e = expected(i);
        let same = (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits();
        assert!(same, "{what}: element {i}: {a:?}, expected {e:?}");
    }
}

fn check_shape(ctx: &GpuContext, dtype: DType, shape: &[usize]) {
    let op = Activation::Prelu;
    let len: usize = shape.iter().product();
    let what = |form: &str| format!("{form} {dtype:?} {shape:?}");
    let x: Vec<f32> = inputs(len, 1).iter().map(|&v| round(dtype, v)).collect();
    let g: Vec<f32> = inputs(len, 2).iter().map(|&v| round(dtype, v)).collect();
    let w = weights(shape[1]);
    let xt = upload(ctx, dtype, &x, shape);
    let gt = upload(ctx, dtype, &g, shape);
    let wt = upload(ctx, dtype, &w, &[w.len()]);
    let weight_of = |i: usize| w[common::channel_of(i, shape, 1)];

    let forward = |i: usize| round(dtype, prelu(x[i], weight_of(i)));
    let y = ctx.forward(&op, &xt, Some(&wt)).unwrap();
    assert_same(&what("forward"), &download(ctx, &y), forward);

    let backward = |i: usize| round(dtype, prelu_backward(x[i], g[i], weight_of(i)));
    let grads = ctx.backward(&op, &xt, &gt, Some(&wt)).unwrap();
    assert_same(
        &what("backward"),
        &download(ctx, &grads.grad_input),
        backward,
    );

    let mut data = upload(ctx, dtype, &x, shape);
    ctx.forward_in_place(&op, &mut data, Some(&wt)).unwrap();
    assert_same(&what("forward in place"), &download(ctx, &data), forward);

    let mut grad = upload(ctx, dtype, &g, shape);
    ctx.backward_in_place(&op, &xt, &mut grad, Some(&wt))
        .unwrap();
    assert_same(&what("backward in place"), &download(ctx, &grad), backward);

    // A bias along the channels and along the last dimension.
    for bias_dim in [1i64, -1] {
        let bias_len = shape[if bias_dim == 1 { 1 } else { shape.len() - 1 }];
        let bias: Vec<f32> = (0..bias_len)
            .map(|k| round(dtype, k as f32 / 8.0 - 0.5))
            .collect();
        let bias_t = upload(ctx, dtype, &bias, &[bias_len]);
        let epilogue = Epilogue {
            bias: Some(&bias_t),
            bias_dim,
            residual: None,
        };
        let bias_of = |i: usize| {
            if bias_dim == 1 {
                bias[common::channel_of(i, shape, 1)]
            } else {
                bias[i % bias_len]
            }
        };
        let bias_bytes = (bias_len * dtype.size() as usize) as u64;
        let binding = ctx.limits().max_storage_buffer_binding_size;
        if bias_bytes.next_multiple_of(4) > binding {
            // Every thread reads the bias: it must fit one binding.
            let err = ctx
                .forward_fused(&op, &xt, Some(&wt), &epilogue)
                .unwrap_err();
            assert!(
                matches!(err, ActivationError::TooLarge { what: "bias", .. }),
                "{err}"
            );
            continue;
        }
        let y = ctx.forward_fused(&op, &xt, Some(&wt), &epilogue).unwrap();
        assert_same(
            &what(&format!("fused forward, bias along {bias_dim}")),
            &download(ctx, &y),
            |i| round(dtype, prelu(x[i] + bias_of(i), weight_of(i))),
        );
    }

    // The tensor's later periods as a piece (`first_element` on a period),
    // and a piece that starts in its second channel (`first_element` on a
    // block but not a period: the channels found by division).
    let inner: usize = shape[2..].iter().product();
    let period = shape[1] * inner;
    for first in [period, inner] {
        let count = len - first;
        if shape[0] < 2 || !count.is_multiple_of(period) {
            continue;
        }
        let piece_shape: Vec<usize> = [count / period]
            .iter()
            .chain(&shape[1..])
            .copied()
            .collect();
        let input = upload(ctx, dtype, &x[first..], &piece_shape);
        let output = upload(ctx, dtype, &vec![0.0; count], &piece_shape);
        let mut encoder = ctx.create_encoder();
        ctx.encode_forward(
            &mut encoder,
            &op,
            &piece_shape,
            &ForwardBuffers {
                input: input.view(),
                output: output.view(),
                weight: Some(wt.view()),
                first_element: first as u64,
            },
        )
        .unwrap();
        ctx.submit(encoder).unwrap();
        assert_same(
            &what(&format!("piece from element {first}")),
            &download(ctx, &output),
            |i| forward(first + i),
        );
    }
}

fn check_every_shape(ctx: &GpuContext) {
    for dtype in [DType::F32, DType::F16] {
        if dtype == DType::F16 && !ctx.device().features().contains(wgpu::Features::SHADER_F16) {
            eprintln!("f16 skipped: the adapter lacks SHADER_F16");
            continue;
        }
        for shape in SHAPES {
            check_shape(ctx, dtype, shape);
        }
    }
}

#[test]
fn channels_on_the_tests_adapter() {
    let ctx = gpu_or_skip!();
    check_every_shape(ctx);
}

/// A device of `binding`-byte storage bindings at 256-byte offsets and 7
/// workgroups per dimension.
fn limited_context(binding: u64) -> Option<GpuContext> {
    common::custom_context(wgpu::Features::SHADER_F16, |limits| {
        limits.max_storage_buffer_binding_size = binding;
        limits.max_compute_workgroups_per_dimension = 7;
        limits.min_storage_buffer_offset_alignment =
            limits.min_storage_buffer_offset_alignment.max(256);
    })
}

/// 16 KiB bindings (4096 f32) at 256-byte offsets: dispatches of whole
/// periods that start on aligned offsets; 7 workgroups per dimension: the
/// blocks of nine workgroups fall back to division.
#[test]
fn channels_in_many_dispatches() {
    let Some(ctx) = limited_context(16384) else {
        return;
    };
    check_every_shape(&ctx);
}

/// 1 MiB bindings and 7 workgroups per dimension: 20 periods of
/// `[20, 2, 1024]` fit one binding, and go out as dispatches of at most 7
/// (the grid's z).
#[test]
fn channels_with_the_grid_depth_capped() {
    let Some(ctx) = limited_context(1 << 20) else {
        return;
    };
    check_every_shape(&ctx);
}

/// Every thread may read any weight, so the weights are bound whole: more
/// than one binding holds is a clear error, not a validation failure.
#[test]
fn weights_past_one_binding_are_a_clear_error() {
    let Some(ctx) = common::custom_context(wgpu::Features::empty(), |limits| {
        limits.max_storage_buffer_binding_size = 16384;
    }) else {
        return;
    };
    let shape = [1, 5000, 4];
    let x = ctx.upload(&vec![-1.0; 20000], &shape).unwrap();
    let w = ctx.upload(&vec![0.5; 5000], &[5000]).unwrap();
    let err = ctx.forward(&Activation::Prelu, &x, Some(&w)).unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::TooLarge {
                what: "weight",
                len: 5000,
                max: 4096
            }
        ),
        "{err}"
    );
    let err = ctx
        .backward(&Activation::Prelu, &x, &x, Some(&w))
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::TooLarge { what: "weight", .. }),
        "{err}"
    );
    // 4096 weights fit.
    let shape = [1, 4096, 4];
    let x = ctx.upload(&vec![-1.0; 16384], &shape).unwrap();
    let w = ctx.upload(&vec![0.5; 4096], &[4096]).unwrap();
    let y = ctx
        .download(&ctx.forward(&Activation::Prelu, &x, Some(&w)).unwrap())
        .unwrap();
    assert!(y.iter().all(|&v| v == -0.5));
}

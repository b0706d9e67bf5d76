//! The fused forward, `f(x + bias[c]) + residual`, against the plain op: the
//! fused kernel runs the op's own functions on `x + bias` and adds the
//! residual, each sum in f32, so its result is the plain GPU op applied to
//! `x + bias` (summed here in f32) plus the residual (summed here in f32),
//! bit for bit, up to what a GPU may do on its own: contract the op's last
//! product with the residual's addition into one fused multiply-add (one
//! rounding instead of two) and flush subnormals. The plain op's accuracy
//! against the f64 oracle is the differential tests' business.

mod common;

use proptest::prelude::*;
use wgpu_activations::{
    f16, Activation, ActivationError, Epilogue, FusedBackwardBuffers, FusedForwardBuffers,
    GpuContext, GpuTensor,
};

use common::strategies;
use common::{acceptable, channel_of, check_channel_sums, subnormal};

/// Runs the fused forward and checks it against the plain op; f32 storage.
fn check_f32(
    ctx: &GpuContext,
    op: &Activation,
    shape: &[usize],
    x: &[f32],
    bias: Option<(&[f32], i64)>,
    residual: Option<&[f32]>,
) -> Result<(), String> {
    let t: Vec<f32> = match bias {
        None => x.to_vec(),
        Some((b, dim)) => {
            let dim = common::axis(dim, shape.len());
            x.iter()
                .enumerate()
                .map(|(i, &xi)| xi + b[channel_of(i, shape, dim)])
                .collect()
        }
    };
    let flushed: Vec<f32> = t
        .iter()
        .map(|&v| if subnormal(v) { 0.0f32.copysign(v) } else { v })
        .collect();
    let weight = op.uses_weight().then(|| ctx.upload(&[0.25], &[1]).unwrap());
    let plain = |values: &[f32]| -> Vec<f32> {
        let tensor = ctx.upload(values, shape).unwrap();
        ctx.download(&ctx.forward(op, &tensor, weight.as_ref()).unwrap())
            .unwrap()
    };
    let a = plain(&t);
    let a_flushed = plain(&flushed);
    let input = ctx.upload(x, shape).unwrap();
    let bias_tensor = bias.map(|(b, _)| ctx.upload(b, &[b.len()]).unwrap());
    let residual_tensor = residual.map(|r| ctx.upload(r, shape).unwrap());
    let epilogue = Epilogue {
        bias: bias_tensor.as_ref(),
        bias_dim: bias.map_or(-1, |(_, d)| d),
        residual: residual_tensor.as_ref(),
    };
    let y = ctx
        .download(
            &ctx.forward_fused(op, &input, weight.as_ref(), &epilogue)
                .map_err(|e| e.to_string())?,
        )
        .unwrap();
    for i in 0..x.len() {
        let r = residual.map_or(0.0, |r| r[i]);
        let candidates = [a[i], a_flushed[i]];
        // Without a residual the result is the op's value itself.
        let ok = if residual.is_some() {
            acceptable(y[i], &candidates, r)
        } else {
            candidates
                .iter()
                .any(|c| c.to_bits() == y[i].to_bits() || (c.is_nan() && y[i].is_nan()))
                || (subnormal(y[i]) && candidates.iter().any(|&c| c == 0.0 || subnormal(c)))
        };
        if !ok {
            return Err(format!(
                "{op} {shape:?} element {i}: x {:e} t {:e} -> fused {:e} ({:#010x}), plain {:e} + r {:e}",
                x[i],
                t[i],
                y[i],
                y[i].to_bits(),
                a[i],
                r
            ));
        }
    }
    Ok(())
}

/// A shape of 1 to 4 dimensions, a dimension of it and data for it.
fn case() -> impl Strategy<Value = (Vec<usize>, i64, Vec<f32>, Vec<f32>, Vec<f32>)> {
    prop::collection::vec(
        prop_oneof![4 => 1usize..6, 1 => Just(0usize), 1 => 6usize..40],
        1..=4,
    )
    .prop_flat_map(|shape| {
        let len: usize = shape.iter().product();
        let rank = shape.len() as i64;
        (
            Just(shape.clone()),
            -rank..rank,
            prop::collection::vec(strategies::value(), len),
            prop::collection::vec(strategies::value(), 40),
            prop::collection::vec(strategies::value(), len),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Every op, bias along every dimension, with and without each part.
    #[test]
    fn fused_forward_is_the_plain_op_on_x_plus_bias_plus_residual(
        op in strategies::op(),
        (shape, dim, x, bias_values, residual) in case(),
        parts in 0u8..4,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let axis = common::axis(dim, shape.len());
        let bias = (parts & 1 == 1).then(|| (&bias_values[..shape[axis]], dim));
        let residual = (parts & 2 == 2).then_some(&residual[..]);
        if let Err(message) = check_f32(ctx, &op, &shape, &x, bias, residual) {
            return Err(TestCaseError::fail(message));
        }
    }
}

#[test]
fn linear_and_conv_layouts_with_every_part() {
    let ctx = gpu_or_skip!();
    // [batch, features] with the bias along the features (linear), and
    // [N, C, H, W] with the bias along the channels (conv), lengths that are
    // not multiples of 4 and past one workgroup.
    let cases: [(&[usize], i64); 4] = [
        (&[3, 257], -1),
        (&[2, 5, 7, 3], 1),
        (&[2, 8, 4, 4], 1),
        (&[1027], 0),
    ];
    for (shape, dim) in cases {
        let len: usize = shape.iter().product();
        let x: Vec<f32> = (0..len).map(|i| (i % 97) as f32 / 8.0 - 6.0).collect();
        let axis = common::axis(dim, shape.len());
        let b: Vec<f32> = (0..shape[axis]).map(|c| c as f32 * 0.375 - 1.0).collect();
        let r: Vec<f32> = (0..len).map(|i| (i % 13) as f32 - 6.5).collect();
        for op in [
            "relu",
            "gelu",
            "silu",
            "leaky_relu",
            "prelu",
            "sigmoid",
            "elu",
        ] {
            let op = Activation::from_name(op).unwrap();
            for (bias, residual) in [(true, true), (true, false), (false, true), (false, false)] {
                check_f32(
                    ctx,
                    &op,
                    shape,
                    &x,
                    bias.then_some((&b[..], dim)),
                    residual.then_some(&r[..]),
                )
                .unwrap();
            }
        }
    }
}

#[test]
fn documented_example_values() {
    let ctx = gpu_or_skip!();
    let x = ctx
        .upload(&[1.0, -2.0, 3.0, -4.0, 5.0, -6.0], &[2, 3])
        .unwrap();
    let bias = ctx.upload(&[0.5, 0.5, -10.0], &[3]).unwrap();
    let skip = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let epilogue = Epilogue {
        bias: Some(&bias),
        bias_dim: -1,
        residual: Some(&skip),
    };
    let y = ctx
        .forward_fused(&Activation::Relu, &x, None, &epilogue)
        .unwrap();
    assert_eq!(ctx.download(&y).unwrap(), [2.5, 1.0, 1.0, 1.0, 6.5, 1.0]);
    // Along dimension 0 instead: one bias per row.
    let row_bias = ctx.upload(&[10.0, -10.0], &[2]).unwrap();
    let epilogue = Epilogue {
        bias: Some(&row_bias),
        bias_dim: 0,
        residual: None,
    };
    let y = ctx
        .forward_fused(&Activation::Relu, &x, None, &epilogue)
        .unwrap();
    assert_eq!(ctx.download(&y).unwrap(), [11.0, 8.0, 13.0, 0.0, 0.0, 0.0]);
}

#[test]
fn past_one_storage_binding() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    let inner = (max_binding / 4 / 6 + 4099) as usize;
    let shape = [2usize, 3, inner];
    let len: usize = shape.iter().product();
    if len > 300_000_000 {
        return;
    }
    let x: Vec<f32> = (0..len).map(|i| (i % 1001) as f32 / 64.0 - 8.0).collect();
    let r: Vec<f32> = (0..len).map(|i| (i % 7) as f32).collect();
    let b = [0.5f32, -0.25, 4.0];
    let input = ctx.upload(&x, &shape).unwrap();
    let residual = ctx.upload(&r, &shape).unwrap();
    let bias = ctx.upload(&b, &[3]).unwrap();
    let y = ctx
        .forward_fused(
            &Activation::Relu,
            &input,
            None,
            &Epilogue {
                bias: Some(&bias),
                bias_dim: 1,
                residual: Some(&residual),
            },
        )
        .unwrap();
    let y = ctx.download(&y).unwrap();
    for (i, &yi) in y.iter().enumerate() {
        let t = x[i] + b[(i / inner) % 3];
        let expected = if t > 0.0 { t } else { 0.0 } + r[i];
        assert_eq!(yi.to_bits(), expected.to_bits(), "element {i}");
    }
}

#[test]
fn f16_storage_sums_in_f32_and_rounds_once() {
    let ctx = gpu_or_skip!();
    if !ctx.device().features().contains(wgpu::Features::SHADER_F16) {
        return;
    }
    let shape = [4usize, 33];
    let len = 4 * 33;
    let x: Vec<f16> = (0..len)
        .map(|i| f16::from_f32((i % 29) as f32 / 4.0 - 3.5))
        .collect();
    let b: Vec<f16> = (0..33)
        .map(|c| f16::from_f32(c as f32 / 16.0 - 1.0))
        .collect();
    let r: Vec<f16> = (0..len)
        .map(|i| f16::from_f32((i % 5) as f32 - 2.0))
        .collect();
    let input = ctx.upload_f16(&x, &shape).unwrap();
    let bias = ctx.upload_f16(&b, &[33]).unwrap();
    let residual = ctx.upload_f16(&r, &shape).unwrap();
    for name in ["relu", "silu", "gelu"] {
        let op = Activation::from_name(name).unwrap();
        let y = ctx
            .forward_fused(
                &op,
                &input,
                None,
                &Epilogue {
                    bias: Some(&bias),
                    bias_dim: -1,
                    residual: Some(&residual),
                },
            )
            .unwrap();
        let y = ctx.download_f16(&y).unwrap();
        // The op in f32 on the f32 sum x + b, then + r in f32, rounded once.
        let t: Vec<f32> = (0..len)
            .map(|i| x[i].to_f32() + b[i % 33].to_f32())
            .collect();
        let a = ctx
            .download(
                &ctx.forward(&op, &ctx.upload(&t, &shape).unwrap(), None)
                    .unwrap(),
            )
            .unwrap();
        for i in 0..len {
            let expected = f16::from_f32(a[i] + r[i].to_f32());
            let apart = (y[i].to_bits() as i32 - expected.to_bits() as i32).abs();
            assert!(apart <= 1, "{name} element {i}: {} vs {}", y[i], expected);
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let short_bias = ctx.upload(&[1.0; 2], &[2]).unwrap();
    let wrong = ctx.upload(&[1.0; 6], &[3, 2]).unwrap();
    let relu = Activation::Relu;
    let run = |epilogue: Epilogue<'_>| ctx.forward_fused(&relu, &x, None, &epilogue);
    assert!(matches!(
        run(Epilogue {
            bias: Some(&short_bias),
            bias_dim: -1,
            residual: None
        }),
        Err(ActivationError::LengthMismatch { what: "bias", .. })
    ));
    assert!(matches!(
        run(Epilogue {
            bias: Some(&short_bias),
            bias_dim: 2,
            residual: None
        }),
        Err(ActivationError::DimOutOfRange { dim: 2, .. })
    ));
    assert!(matches!(
        run(Epilogue {
            bias: Some(&short_bias),
            bias_dim: -3,
            residual: None
        }),
        Err(ActivationError::DimOutOfRange { dim: -3, .. })
    ));
    assert!(matches!(
        run(Epilogue {
            bias: None,
            bias_dim: -1,
            residual: Some(&wrong)
        }),
        Err(ActivationError::ShapeMismatch {
            what: "residual",
            ..
        })
    ));
    // A bias of 3 values shaped [1, 3]: 1-D only, forward and backward.
    let bias_2d = ctx.upload(&[1.0; 3], &[1, 3]).unwrap();
    let flat = Epilogue {
        bias: Some(&bias_2d),
        bias_dim: -1,
        residual: None,
    };
    assert!(matches!(
        run(flat),
        Err(ActivationError::ShapeMismatch {
            what: "bias (one dimension)",
            ..
        })
    ));
    assert!(matches!(
        ctx.backward_fused(&relu, &x, &x, None, &flat),
        Err(ActivationError::ShapeMismatch {
            what: "bias (one dimension)",
            ..
        })
    ));
    // The recording API: the output may not share a buffer with the bias
    // or the residual.
    let out = ctx.empty(&[2, 3]).unwrap();
    let bias = ctx.upload(&[1.0; 3], &[3]).unwrap();
    let mut encoder = ctx.create_encoder();
    let aliased = ctx.encode_forward_fused(
        &mut encoder,
        &relu,
        &[2, 3],
        &FusedForwardBuffers {
            input: x.view(),
            output: out.view(),
            weight: None,
            bias: Some(bias.view()),
            bias_dim: -1,
            residual: Some(out.view()),
            first_element: 0,
        },
    );
    assert!(matches!(
        aliased,
        Err(ActivationError::AliasedBuffers {
            written: "output",
            other: "residual"
        })
    ));
    // With neither part the fused forward is the plain op, bit for bit.
    let plain: GpuTensor = ctx.forward(&relu, &x, None).unwrap();
    let fused = ctx
        .forward_fused(&relu, &x, None, &Epilogue::default())
        .unwrap();
    assert_eq!(ctx.download(&plain).unwrap(), ctx.download(&fused).unwrap());
}

/// The fused backward against the plain backward on `x + bias` (summed here
/// in f32), and the bias gradient against an f64 sum of that gradient per
/// channel; twice, for the same bits.
fn check_backward(
    ctx: &GpuContext,
    op: &Activation,
    shape: &[usize],
    x: &[f32],
    g: &[f32],
    bias: Option<(&[f32], i64)>,
) -> Result<(), String> {
    let axis = bias.map(|(_, dim)| common::axis(dim, shape.len()));
    let t: Vec<f32> = match (bias, axis) {
        (Some((b, _)), Some(axis)) => x
            .iter()
            .enumerate()
            .map(|(i, &xi)| xi + b[channel_of(i, shape, axis)])
            .collect(),
        _ => x.to_vec(),
    };
    let flushed: Vec<f32> = t
        .iter()
        .map(|&v| if subnormal(v) { 0.0f32.copysign(v) } else { v })
        .collect();
    let weight = op.uses_weight().then(|| ctx.upload(&[0.25], &[1]).unwrap());
    let grad = ctx.upload(g, shape).unwrap();
    let plain = |values: &[f32]| -> (Vec<f32>, Option<Vec<f32>>) {
        let tensor = ctx.upload(values, shape).unwrap();
        let grads = ctx.backward(op, &tensor, &grad, weight.as_ref()).unwrap();
        (
            ctx.download(&grads.grad_input).unwrap(),
            grads.grad_weight.map(|w| ctx.download(&w).unwrap()),
        )
    };
    let (expected, expected_weight) = plain(&t);
    let (expected_flushed, expected_weight_flushed) = plain(&flushed);
    let input = ctx.upload(x, shape).unwrap();
    let bias_tensor = bias.map(|(b, _)| ctx.upload(b, &[b.len()]).unwrap());
    let epilogue = Epilogue {
        bias: bias_tensor.as_ref(),
        bias_dim: bias.map_or(-1, |(_, d)| d),
        residual: None,
    };
    let run = || {
        ctx.backward_fused(op, &input, &grad, weight.as_ref(), &epilogue)
            .map_err(|e| e.to_string())
    };
    let first = run()?;
    let gx = ctx.download(&first.grad_input).unwrap();
    // PReLU's weight gradient at x + bias: the plain one's bits at t.
    let gw = first.grad_weight.as_ref().map(|w| ctx.download(w).unwrap());
    let bits_of = |v: &Option<Vec<f32>>| {
        v.as_ref()
            .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
    };
    if bits_of(&gw) != bits_of(&expected_weight)
        && bits_of(&gw) != bits_of(&expected_weight_flushed)
    {
        let nan_alike = matches!((&gw, &expected_weight), (Some(a), Some(b))
            if a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())));
        if !nan_alike {
            return Err(format!(
                "{op} {shape:?}: grad_weight {gw:?}, the plain backward at x + bias gives {expected_weight:?}"
            ));
        }
    }
    for i in 0..x.len() {
        let same = |e: f32| e.to_bits() == gx[i].to_bits() || (e.is_nan() && gx[i].is_nan());
        let flushed_out = subnormal(gx[i]) || gx[i] == 0.0;
        let ok = same(expected[i])
            || same(expected_flushed[i])
            || (flushed_out && (subnormal(expected[i]) || expected[i] == 0.0));
        if !ok {
            return Err(format!(
                "{op} {shape:?} grad_input[{i}]: x {:e} t {:e} g {:e} -> fused {:e}, plain {:e}",
                x[i], t[i], g[i], gx[i], expected[i]
            ));
        }
    }
    let (Some((b, _)), Some(axis)) = (bias, axis) else {
        if first.grad_bias.is_some() {
            return Err("a bias gradient without a bias".into());
        }
        return Ok(());
    };
    let db = ctx.download(first.grad_bias.as_ref().unwrap()).unwrap();
    let again = ctx.download(run()?.grad_bias.as_ref().unwrap()).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    if bits(&db) != bits(&again) {
        return Err(format!(
            "{op} {shape:?}: grad_bias differs between two runs"
        ));
    }
    if db.len() != b.len() {
        return Err(format!("{op} {shape:?}: grad_bias has {} values", db.len()));
    }
    check_channel_sums(&db, &gx, shape, axis).map_err(|e| format!("{op} {shape:?} {e}"))?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every op, bias along every dimension or none.
    #[test]
    fn fused_backward_is_the_plain_backward_at_x_plus_bias(
        op in strategies::op(),
        (shape, dim, x, bias_values, g) in case(),
        with_bias in any::<bool>(),
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let axis = common::axis(dim, shape.len());
        let bias = with_bias.then(|| (&bias_values[..shape[axis]], dim));
        if let Err(message) = check_backward(ctx, &op, &shape, &x, &g, bias) {
            return Err(TestCaseError::fail(message));
        }
    }
}

#[test]
fn backward_in_linear_and_conv_layouts_and_past_one_binding() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    let big = (max_binding / 4 / 6 + 4099) as usize;
    let cases: [(Vec<usize>, i64); 4] = [
        (vec![3, 257], -1),
        (vec![2, 5, 7, 3], 1),
        (vec![4, 1027], 0),
        (vec![2, 3, big], 1),
    ];
    for (shape, dim) in cases {
        let len: usize = shape.iter().product();
        if len > 300_000_000 {
            continue;
        }
        let x: Vec<f32> = (0..len).map(|i| (i % 97) as f32 / 8.0 - 6.0).collect();
        let g: Vec<f32> = (0..len).map(|i| (i % 11) as f32 / 4.0 - 1.25).collect();
        let axis = common::axis(dim, shape.len());
        let b: Vec<f32> = (0..shape[axis]).map(|c| c as f32 * 0.375 - 1.0).collect();
        let ops: &[&str] = if len > 1 << 20 {
            &["relu"]
        } else {
            &["relu", "gelu", "silu", "elu", "prelu"]
        };
        for op in ops {
            let op = Activation::from_name(op).unwrap();
            check_backward(ctx, &op, &shape, &x, &g, Some((&b, dim))).unwrap();
        }
    }
}

#[test]
fn backward_argument_errors() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let g = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let gx = ctx.empty(&[2, 3]).unwrap();
    let db = ctx.empty(&[3]).unwrap();
    let mut encoder = ctx.create_encoder();
    let without_bias = ctx.encode_backward_fused(
        &mut encoder,
        &Activation::Relu,
        &[2, 3],
        &FusedBackwardBuffers {
            input: x.view(),
            grad_output: g.view(),
            grad_input: gx.view(),
            weight: None,
            bias: None,
            bias_dim: -1,
            grad_bias: Some(db.view()),
            grad_weight: None,
            first_element: 0,
        },
    );
    assert!(matches!(
        without_bias,
        Err(ActivationError::Unsupported { .. })
    ));
    let wrong = ctx.upload(&[1.0; 6], &[3, 2]).unwrap();
    assert!(matches!(
        ctx.backward_fused(&Activation::Relu, &x, &wrong, None, &Epilogue::default()),
        Err(ActivationError::ShapeMismatch {
            what: "grad_output",
            ..
        })
    ));
}

/// Both fused directions recorded into the caller's one compute pass give
/// what the convenience calls give.
#[test]
fn into_the_callers_pass() {
    let ctx = gpu_or_skip!();
    let shape = [4usize, 6];
    let x_values: Vec<f32> = (0..24).map(|i| i as f32 / 4.0 - 3.0).collect();
    let x = ctx.upload(&x_values, &shape).unwrap();
    let g = ctx.upload(&[0.5; 24], &shape).unwrap();
    let r = ctx.upload(&[1.0; 24], &shape).unwrap();
    let b = ctx
        .upload(&[0.25, -0.5, 1.0, 2.0, -3.0, 0.0], &[6])
        .unwrap();
    let op = Activation::from_name("silu").unwrap();
    let epilogue = Epilogue {
        bias: Some(&b),
        bias_dim: -1,
        residual: Some(&r),
    };
    let y_expected = ctx.forward_fused(&op, &x, None, &epilogue).unwrap();
    let grads = ctx.backward_fused(&op, &x, &g, None, &epilogue).unwrap();
    let y = ctx.empty(&shape).unwrap();
    let gx = ctx.empty(&shape).unwrap();
    let db = ctx.empty(&[6]).unwrap();
    let mut encoder = ctx.create_encoder();
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        ctx.encode_forward_fused_in_pass(
            &mut pass,
            &op,
            &shape,
            &FusedForwardBuffers {
                input: x.view(),
                output: y.view(),
                weight: None,
                bias: Some(b.view()),
                bias_dim: -1,
                residual: Some(r.view()),
                first_element: 0,
            },
        )
        .unwrap();
        ctx.encode_backward_fused_in_pass(
            &mut pass,
            &op,
            &shape,
            &FusedBackwardBuffers {
                input: x.view(),
                grad_output: g.view(),
                grad_input: gx.view(),
                weight: None,
                bias: Some(b.view()),
                bias_dim: -1,
                grad_weight: None,
                grad_bias: Some(db.view()),
                first_element: 0,
            },
        )
        .unwrap();
    }
    ctx.submit(encoder).unwrap();
    let bits = |t: &GpuTensor| -> Vec<u32> {
        ctx.download(t)
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    assert_eq!(bits(&y), bits(&y_expected));
    assert_eq!(bits(&gx), bits(&grads.grad_input));
    assert_eq!(bits(&db), bits(grads.grad_bias.as_ref().unwrap()));
}

#[test]
fn prelu_weight_gradient_at_x_plus_bias() {
    let ctx = gpu_or_skip!();
    let shape = [2usize, 3, 4];
    let x: Vec<f32> = (0..24).map(|i| (i as f32 - 11.5) / 3.0).collect();
    let g: Vec<f32> = (0..24).map(|i| 1.0 + (i % 5) as f32 / 4.0).collect();
    let w = ctx.upload(&[0.25f32, -0.5, 2.0], &[3]).unwrap();
    let input = ctx.upload(&x, &shape).unwrap();
    let grad = ctx.upload(&g, &shape).unwrap();
    for (bias_values, dim) in [
        (vec![0.5f32, -1.0, 2.0], 1i64),
        (vec![1.0f32, -2.0, 0.25, 3.0], -1),
    ] {
        let axis = common::axis(dim, 3);
        let t: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &xi)| xi + bias_values[channel_of(i, &shape, axis)])
            .collect();
        let plain = ctx
            .backward(
                &Activation::Prelu,
                &ctx.upload(&t, &shape).unwrap(),
                &grad,
                Some(&w),
            )
            .unwrap();
        let bias = ctx.upload(&bias_values, &[bias_values.len()]).unwrap();
        let fused = ctx
            .backward_fused(
                &Activation::Prelu,
                &input,
                &grad,
                Some(&w),
                &Epilogue {
                    bias: Some(&bias),
                    bias_dim: dim,
                    residual: None,
                },
            )
            .unwrap();
        let download = |t: &GpuTensor| ctx.download(t).unwrap();
        assert_eq!(
            download(fused.grad_weight.as_ref().unwrap()),
            download(plain.grad_weight.as_ref().unwrap()),
            "bias along {dim}"
        );
        assert_eq!(download(&fused.grad_input), download(&plain.grad_input));
        // By hand: sum of t * g where t <= 0, per channel of dim 1.
        let mut by_hand = [0.0f64; 3];
        for i in 0..24 {
            if t[i] <= 0.0 {
                by_hand[channel_of(i, &shape, 1)] += f64::from(t[i]) * f64::from(g[i]);
            }
        }
        let gw = download(fused.grad_weight.as_ref().unwrap());
        for c in 0..3 {
            assert!((f64::from(gw[c]) - by_hand[c]).abs() <= 1e-5 * by_hand[c].abs().max(1.0));
        }
    }
}

/// Per-channel gradient sums over a piece of a tensor need the piece to
/// start on a whole bias block (they count channels from the piece's start);
/// an empty gradient view is never bound or written (an empty binding would
/// cover the rest of the caller's buffer).
#[test]
fn bias_gradient_pieces_and_empty_views() {
    use wgpu_activations::TensorView;
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0, -2.0, 3.0, -4.0], &[1, 4]).unwrap();
    let g = ctx.upload(&[1.0; 4], &[1, 4]).unwrap();
    let gx = ctx.empty(&[1, 4]).unwrap();
    let bias = ctx.upload(&[0.5; 4], &[4]).unwrap();
    let db = ctx.empty(&[4]).unwrap();
    let buffers = |first_element| FusedBackwardBuffers {
        input: x.view(),
        grad_output: g.view(),
        grad_input: gx.view(),
        weight: None,
        bias: Some(bias.view()),
        bias_dim: -1,
        grad_bias: Some(db.view()),
        grad_weight: None,
        first_element,
    };
    for (first_element, whole_blocks) in [(1, false), (6, false), (4, true), (8, true)] {
        let mut encoder = ctx.create_encoder();
        let outcome = ctx.encode_backward_fused(
            &mut encoder,
            &Activation::Relu,
            &[1, 4],
            &buffers(first_element),
        );
        match whole_blocks {
            true => assert!(outcome.is_ok(), "{first_element}: {outcome:?}"),
            false => assert!(
                matches!(outcome, Err(ActivationError::Unsupported { .. })),
                "{first_element}: {outcome:?}"
            ),
        }
    }
    // Shape [2, 0]: no element and no bias channel; the empty gradient view
    // sits at the start of a buffer whose bytes must stay as they are.
    let sentinel = ctx.upload(&[7.0; 4], &[4]).unwrap();
    let empty = ctx.empty(&[2, 0]).unwrap();
    let mut encoder = ctx.create_encoder();
    ctx.encode_backward_fused(
        &mut encoder,
        &Activation::Relu,
        &[2, 0],
        &FusedBackwardBuffers {
            input: empty.view(),
            grad_output: empty.view(),
            grad_input: ctx.empty(&[2, 0]).unwrap().view(),
            weight: None,
            bias: Some(TensorView::new(bias.buffer(), 0, 0)),
            bias_dim: -1,
            grad_bias: Some(TensorView::new(sentinel.buffer(), 0, 0)),
            grad_weight: None,
            first_element: 0,
        },
    )
    .unwrap();
    ctx.submit(encoder).unwrap();
    assert_eq!(ctx.download(&sentinel).unwrap(), [7.0; 4]);
}

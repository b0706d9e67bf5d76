//! The gated ops with the fused epilogue, `op(x + bias[c]) + residual`,
//! against the plain gated op: the fused kernel runs the op's own code on
//! both halves of `x + bias` (the bias runs along any dimension of the
//! joined input, summed in f32) and adds the residual (the output's shape)
//! in f32, so its result is the plain GPU gated op on `x + bias` (summed
//! here in f32) plus the residual, up to what a GPU may do on its own (a
//! fused multiply-add of the last product with the residual, flushed
//! subnormals). Backward: the input's gradient bit for bit against the plain
//! gated backward at `x + bias`, the bias's gradient within the fixed-order
//! reduction's bound of an f64 sum, the same bits twice.

mod common;

use proptest::prelude::*;
use wgpu_activations::{
    ActivationError, Epilogue, GatedActivation, GatedFusedBackwardBuffers,
    GatedFusedForwardBuffers, GpuContext,
};

use common::strategies;
use common::{acceptable, channel_of, check_channel_sums, subnormal};

/// `x + bias[c]` in f32, and the same with subnormals flushed.
fn biased(x: &[f32], shape: &[usize], bias: Option<(&[f32], usize)>) -> (Vec<f32>, Vec<f32>) {
    let t: Vec<f32> = match bias {
        None => x.to_vec(),
        Some((b, axis)) => x
            .iter()
            .enumerate()
            .map(|(i, &xi)| xi + b[channel_of(i, shape, axis)])
            .collect(),
    };
    let flushed = t
        .iter()
        .map(|&v| if subnormal(v) { 0.0f32.copysign(v) } else { v })
        .collect();
    (t, flushed)
}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The fused forward and backward of `op` against the plain gated op.
fn check(
    ctx: &GpuContext,
    op: &GatedActivation,
    shape: &[usize],
    x: &[f32],
    bias: Option<(&[f32], i64)>,
    residual: Option<&[f32]>,
    g: &[f32],
) -> Result<(), String> {
    let axis = bias.map(|(_, d)| common::axis(d, shape.len()));
    let (t, flushed) = biased(x, shape, bias.map(|(b, _)| b).zip(axis));
    let out_shape = op.output_shape(shape).map_err(|e| e.to_string())?;
    let out_len: usize = out_shape.iter().product();
    let plain = |values: &[f32]| -> Vec<f32> {
        let tensor = ctx.upload(values, shape).unwrap();
        ctx.download(&ctx.gated_forward(op, &tensor).unwrap())
            .unwrap()
    };
    let (a, a_flushed) = (plain(&t), plain(&flushed));
    let input = ctx.upload(x, shape).unwrap();
    let bias_tensor = bias.map(|(b, _)| ctx.upload(b, &[b.len()]).unwrap());
    let residual_tensor = residual.map(|r| ctx.upload(&r[..out_len], &out_shape).unwrap());
    let epilogue = Epilogue {
        bias: bias_tensor.as_ref(),
        bias_dim: bias.map_or(-1, |(_, d)| d),
        residual: residual_tensor.as_ref(),
    };
    let y = ctx
        .download(
            &ctx.gated_forward_fused(op, &input, &epilogue)
                .map_err(|e| e.to_string())?,
        )
        .unwrap();
    if y.len() != out_len {
        return Err(format!("{op} {shape:?}: {} outputs", y.len()));
    }
    for o in 0..out_len {
        let candidates = [a[o], a_flushed[o]];
        let ok = match residual {
            Some(r) => acceptable(y[o], &candidates, r[o]),
            None => {
                candidates.iter().any(|&c| same(c, y[o]))
                    || (subnormal(y[o]) && candidates.iter().any(|&c| c == 0.0 || subnormal(c)))
            }
        };
        if !ok {
            return Err(format!(
                "{op} {shape:?} output {o}: fused {:e}, plain {:e} + r {:e}",
                y[o],
                a[o],
                residual.map_or(0.0, |r| r[o])
            ));
        }
    }

    // Backward at x + bias.
    let grad = ctx.upload(&g[..out_len], &out_shape).unwrap();
    let plain_backward = |values: &[f32]| -> Vec<f32> {
        let tensor = ctx.upload(values, shape).unwrap();
        ctx.download(&ctx.gated_backward(op, &tensor, &grad).unwrap())
            .unwrap()
    };
    let (expected, expected_flushed) = (plain_backward(&t), plain_backward(&flushed));
    let no_residual = Epilogue {
        residual: None,
        ..epilogue
    };
    let run = || {
        ctx.gated_backward_fused(op, &input, &grad, &no_residual)
            .map_err(|e| e.to_string())
    };
    let first = run()?;
    let gx = ctx.download(&first.grad_input).unwrap();
    for i in 0..x.len() {
        let flushed_out = subnormal(gx[i]) || gx[i] == 0.0;
        let ok = same(expected[i], gx[i])
            || same(expected_flushed[i], gx[i])
            || (flushed_out && (subnormal(expected[i]) || expected[i] == 0.0));
        if !ok {
            return Err(format!(
                "{op} {shape:?} grad_input[{i}]: t {:e} -> fused {:e}, plain {:e}",
                t[i], gx[i], expected[i]
            ));
        }
    }
    match (bias, axis, &first.grad_bias) {
        (Some((b, _)), Some(axis), Some(grad_bias)) => {
            let db = ctx.download(grad_bias).unwrap();
            let again = ctx.download(run()?.grad_bias.as_ref().unwrap()).unwrap();
            if db
                .iter()
                .zip(&again)
                .any(|(p, q)| p.to_bits() != q.to_bits())
            {
                return Err(format!("{op} {shape:?}: grad_bias differs between runs"));
            }
            if db.len() != b.len() {
                return Err(format!("{op} {shape:?}: grad_bias has {} values", db.len()));
            }
            check_channel_sums(&db, &gx, shape, axis).map_err(|e| format!("{op} {shape:?} {e}"))
        }
        (None, _, None) => Ok(()),
        _ => Err("a bias gradient without a bias, or none with one".into()),
    }
}

/// A gated op along `dim`, a shape of 1 to 3 dimensions whose `dim` is even,
/// a bias dimension and data.
#[allow(clippy::type_complexity)]
fn case() -> impl Strategy<
    Value = (
        GatedActivation,
        Vec<usize>,
        i64,
        Vec<f32>,
        Vec<f32>,
        Vec<f32>,
        Vec<f32>,
    ),
> {
    (
        proptest::sample::select(GatedActivation::OPS),
        prop::collection::vec(
            prop_oneof![4 => 1usize..6, 1 => Just(0usize), 1 => 6usize..20],
            1..=3,
        ),
    )
        .prop_flat_map(|(info, shape)| {
            let rank = shape.len();
            // glu splits any dimension; the `*_and_mul` ops the last.
            let splits = if info.name == "glu" {
                0..rank
            } else {
                rank - 1..rank
            };
            (splits, Just(info)).prop_flat_map(move |(split, info)| {
                let mut shape = shape.clone();
                shape[split] *= 2;
                let len: usize = shape.iter().product();
                let rank = shape.len() as i64;
                (
                    Just(info.default.along(split as i64)),
                    Just(shape.clone()),
                    -rank..rank,
                    prop::collection::vec(strategies::value(), len),
                    prop::collection::vec(strategies::value(), 40),
                    prop::collection::vec(strategies::value(), len),
                    prop::collection::vec(strategies::value(), len),
                )
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every gated op, split along every dimension, bias along every
    /// dimension, with and without each part.
    #[test]
    fn fused_gated_is_the_plain_gated_op_on_x_plus_bias(
        (op, shape, dim, x, bias_values, residual, g) in case(),
        parts in 0u8..4,
    ) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let axis = common::axis(dim, shape.len());
        let bias = (parts & 1 == 1).then(|| (&bias_values[..shape[axis]], dim));
        let residual = (parts & 2 == 2).then_some(&residual[..]);
        if let Err(message) = check(ctx, &op, &shape, &x, bias, residual, &g) {
            return Err(TestCaseError::fail(message));
        }
    }
}

#[test]
fn swiglu_after_a_linear_layer() {
    let ctx = gpu_or_skip!();
    // Three tokens of [gate | up] with d = 4, the projection's bias (8
    // values along the last dimension) and a skip connection.
    let shape = [3usize, 8];
    let x: Vec<f32> = (0..24).map(|i| i as f32 / 4.0 - 3.0).collect();
    let b: Vec<f32> = (0..8).map(|c| c as f32 * 0.5 - 2.0).collect();
    let r: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let g: Vec<f32> = (0..12).map(|i| 1.0 - i as f32 / 8.0).collect();
    for op in [
        GatedActivation::SiluAndMul,
        GatedActivation::GeluAndMul,
        GatedActivation::Glu { dim: -1 },
    ] {
        check(ctx, &op, &shape, &x, Some((&b, -1)), Some(&r), &g).unwrap();
        check(ctx, &op, &shape, &x, Some((&b, 1)), None, &g).unwrap();
    }
    // The relu form is exact: compare with plain arithmetic.
    let input = ctx.upload(&x, &shape).unwrap();
    let bias = ctx.upload(&b, &[8]).unwrap();
    let skip = ctx.upload(&r, &[3, 4]).unwrap();
    let epilogue = Epilogue {
        bias: Some(&bias),
        bias_dim: -1,
        residual: Some(&skip),
    };
    let y = ctx
        .download(
            &ctx.gated_forward_fused(&GatedActivation::ReluAndMul, &input, &epilogue)
                .unwrap(),
        )
        .unwrap();
    for t in 0..3 {
        for k in 0..4 {
            let gate = x[t * 8 + k] + b[k];
            let up = x[t * 8 + 4 + k] + b[4 + k];
            let expected = if gate > 0.0 { gate } else { 0.0 } * up + r[t * 4 + k];
            assert_eq!(y[t * 4 + k], expected, "token {t} feature {k}");
        }
    }
}

#[test]
fn past_one_storage_binding() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    // Rows of [gate | up] with d = 1024: the input spans several bindings.
    let d = 1024usize;
    let rows = (max_binding as usize / 4 / (2 * d)) * 3 / 2 + 7;
    let len = rows * 2 * d;
    if len > 300_000_000 {
        return;
    }
    let shape = [rows, 2 * d];
    let x: Vec<f32> = (0..len).map(|i| (i % 1001) as f32 / 64.0 - 8.0).collect();
    let b: Vec<f32> = (0..2 * d).map(|c| (c % 13) as f32 / 4.0 - 1.5).collect();
    let r: Vec<f32> = (0..rows * d).map(|i| (i % 7) as f32).collect();
    let input = ctx.upload(&x, &shape).unwrap();
    let bias = ctx.upload(&b, &[2 * d]).unwrap();
    let skip = ctx.upload(&r, &[rows, d]).unwrap();
    let epilogue = Epilogue {
        bias: Some(&bias),
        bias_dim: -1,
        residual: Some(&skip),
    };
    let op = GatedActivation::ReluAndMul;
    let y = ctx
        .download(&ctx.gated_forward_fused(&op, &input, &epilogue).unwrap())
        .unwrap();
    for (o, &yo) in y.iter().enumerate() {
        let (row, k) = (o / d, o % d);
        let gate = x[row * 2 * d + k] + b[k];
        let up = x[row * 2 * d + d + k] + b[d + k];
        let expected = if gate > 0.0 { gate } else { 0.0 } * up + r[o];
        assert_eq!(yo.to_bits(), expected.to_bits(), "output {o}");
    }
    // Backward: the bias gradient over every row, against an f64 sum.
    let g: Vec<f32> = (0..rows * d)
        .map(|i| ((i % 5) as f32 - 2.0) / 2.0)
        .collect();
    let grad = ctx.upload(&g, &[rows, d]).unwrap();
    let grads = ctx
        .gated_backward_fused(
            &op,
            &input,
            &grad,
            &Epilogue {
                residual: None,
                ..epilogue
            },
        )
        .unwrap();
    let gx = ctx.download(&grads.grad_input).unwrap();
    for (i, &gxi) in gx.iter().enumerate() {
        let (row, c) = (i / (2 * d), i % (2 * d));
        let k = c % d;
        let gate = x[row * 2 * d + k] + b[k];
        let up = x[row * 2 * d + d + k] + b[d + k];
        let go = g[row * d + k];
        let expected = if c < d {
            if gate > 0.0 {
                go * up
            } else {
                0.0
            }
        } else {
            go * if gate > 0.0 { gate } else { 0.0 }
        };
        assert_eq!(gxi, expected, "grad_input[{i}]");
    }
    let db = ctx.download(grads.grad_bias.as_ref().unwrap()).unwrap();
    check_channel_sums(&db, &gx, &shape, 1).unwrap();
}

#[test]
fn bad_arguments_are_errors() {
    let ctx = gpu_or_skip!();
    let op = GatedActivation::SiluAndMul;
    let x = ctx.upload(&[0.0; 8], &[2, 4]).unwrap();
    let b3 = ctx.upload(&[0.0; 3], &[3]).unwrap();
    let b4 = ctx.upload(&[0.0; 4], &[4]).unwrap();
    let wrong_residual = ctx.upload(&[0.0; 8], &[2, 4]).unwrap();
    let with = |bias, bias_dim, residual| Epilogue {
        bias,
        bias_dim,
        residual,
    };
    // A bias of the wrong length, along a dimension out of range.
    assert!(matches!(
        ctx.gated_forward_fused(&op, &x, &with(Some(&b3), -1, None)),
        Err(ActivationError::ShapeMismatch { .. } | ActivationError::LengthMismatch { .. })
    ));
    assert!(matches!(
        ctx.gated_forward_fused(&op, &x, &with(Some(&b4), 2, None)),
        Err(ActivationError::DimOutOfRange { .. })
    ));
    // The bias is 1-D, forward and backward (as for the elementwise ops).
    let b_2d = ctx.upload(&[0.0; 4], &[1, 4]).unwrap();
    let g_out = ctx.upload(&[0.0; 4], &[2, 2]).unwrap();
    assert!(matches!(
        ctx.gated_forward_fused(&op, &x, &with(Some(&b_2d), -1, None)),
        Err(ActivationError::ShapeMismatch {
            what: "bias (one dimension)",
            ..
        })
    ));
    assert!(matches!(
        ctx.gated_backward_fused(&op, &x, &g_out, &with(Some(&b_2d), -1, None)),
        Err(ActivationError::ShapeMismatch {
            what: "bias (one dimension)",
            ..
        })
    ));
    // The residual has the output's shape, not the input's.
    assert!(matches!(
        ctx.gated_forward_fused(&op, &x, &with(None, -1, Some(&wrong_residual))),
        Err(ActivationError::ShapeMismatch { .. })
    ));
    // grad_bias without a bias; the output over the input.
    let g = ctx.upload(&[0.0; 4], &[2, 2]).unwrap();
    let gx = ctx.empty(&[2, 4]).unwrap();
    let mut encoder = ctx.create_encoder();
    let error = ctx
        .encode_gated_backward_fused(
            &mut encoder,
            &op,
            &[2, 4],
            &GatedFusedBackwardBuffers {
                input: x.view(),
                grad_output: g.view(),
                grad_input: gx.view(),
                bias: None,
                bias_dim: -1,
                grad_bias: Some(b4.view()),
            },
        )
        .unwrap_err();
    assert!(
        matches!(error, ActivationError::Unsupported { .. }),
        "{error}"
    );
    let error = ctx
        .encode_gated_forward_fused(
            &mut encoder,
            &op,
            &[2, 4],
            &GatedFusedForwardBuffers {
                input: x.view(),
                output: x.view(),
                bias: None,
                bias_dim: -1,
                residual: None,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            ActivationError::AliasedBuffers { .. } | ActivationError::LengthMismatch { .. }
        ),
        "{error}"
    );
}

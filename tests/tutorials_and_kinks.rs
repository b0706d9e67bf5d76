//! The tutorials' tables, PyTorch's gradients at the kinks and the special
//! values, computed on the GPU and written out by hand.

mod common;

use wgpu_activations::activation::{SELU_ALPHA, SELU_SCALE};
use wgpu_activations::{Activation, GeluApproximate, GpuContext};

fn forward(ctx: &GpuContext, op: Activation, x: &[f32]) -> Vec<f32> {
    let input = ctx.upload(x, &[x.len()]).unwrap();
    ctx.download(&ctx.forward(&op, &input, None).unwrap())
        .unwrap()
}

fn backward(ctx: &GpuContext, op: Activation, x: &[f32], g: &[f32]) -> Vec<f32> {
    let input = ctx.upload(x, &[x.len()]).unwrap();
    let grad = ctx.upload(g, &[g.len()]).unwrap();
    let grads = ctx.backward(&op, &input, &grad, None).unwrap();
    ctx.download(&grads.grad_input).unwrap()
}

#[test]
fn relu_tutorial_table() {
    let ctx = gpu_or_skip!();
    // "Applying Relu on (1.0) gives 1.0", (-10.0) gives 0.0, (0.0) gives 0.0, ...
    assert_eq!(
        forward(ctx, Activation::Relu, &[1.0, -10.0, 0.0, 15.0, -20.0]),
        [1.0, 0.0, 0.0, 15.0, 0.0]
    );
}

#[test]
fn leaky_relu_tutorial_table() {
    let ctx = gpu_or_skip!();
    assert_eq!(
        forward(
            ctx,
            Activation::LeakyRelu {
                negative_slope: 0.01
            },
            &[1.0, -10.0, 0.0, 15.0, -20.0]
        ),
        [1.0, -10.0 * 0.01f32, 0.0, 15.0, -20.0 * 0.01f32]
    );
    // The tutorial prints them to one decimal: 1.0, -0.1, 0.0, 15.0, -0.2.
    let printed: Vec<String> = forward(
        ctx,
        Activation::LeakyRelu {
            negative_slope: 0.01,
        },
        &[1.0, -10.0, 0.0, 15.0, -20.0],
    )
    .iter()
    .map(|v| format!("{v:.1}"))
    .collect();
    assert_eq!(printed, ["1.0", "-0.1", "0.0", "15.0", "-0.2"]);
}

#[test]
fn numpy_style_relu_table() {
    let ctx = gpu_or_skip!();
    // np.maximum(0, [-2, -1, 0, 1, 2]) = [0, 0, 0, 1, 2]
    assert_eq!(
        forward(ctx, Activation::Relu, &[-2.0, -1.0, 0.0, 1.0, 2.0]),
        [0.0, 0.0, 0.0, 1.0, 2.0]
    );
}

#[test]
fn gradients_at_the_kinks_follow_pytorch() {
    let ctx = gpu_or_skip!();
    let g = [3.0f32; 3];
    let x = [-0.0f32, 0.0, 1e-30];
    assert_eq!(backward(ctx, Activation::Relu, &x, &g), [0.0, 0.0, 3.0]);
    assert_eq!(
        backward(
            ctx,
            Activation::LeakyRelu {
                negative_slope: 0.25
            },
            &x,
            &g
        ),
        [0.75, 0.75, 3.0]
    );
    assert_eq!(
        backward(ctx, Activation::Elu { alpha: 0.5 }, &x, &g),
        [1.5, 1.5, 3.0]
    );
    let selu_at_zero = backward(ctx, Activation::Selu, &[0.0], &[1.0])[0];
    let expected = (SELU_ALPHA * SELU_SCALE) as f32;
    assert!((selu_at_zero - expected).abs() <= 2.0 * f32::EPSILON * expected);
    assert_eq!(
        backward(ctx, Activation::Selu, &[2.0], &[1.0])[0],
        SELU_SCALE as f32
    );

    let input = ctx.upload(&[0.0, -0.0, 2.0, -2.0], &[1, 4]).unwrap();
    let grad = ctx.upload(&[1.0; 4], &[1, 4]).unwrap();
    let weight = ctx.upload(&[0.1, 0.2, 0.3, 0.4], &[4]).unwrap();
    let grads = ctx
        .backward(&Activation::Prelu, &input, &grad, Some(&weight))
        .unwrap();
    assert_eq!(
        ctx.download(&grads.grad_input).unwrap(),
        [0.1, 0.2, 1.0, 0.4]
    );
    assert_eq!(
        ctx.download(&grads.grad_weight.unwrap()).unwrap(),
        [0.0, -0.0, 0.0, -2.0]
    );
}

#[test]
fn special_values() {
    let ctx = gpu_or_skip!();
    let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0];
    let relu = forward(ctx, Activation::Relu, &x);
    assert!(relu[0].is_nan());
    assert_eq!(relu[1..], [f32::INFINITY, 0.0, 0.0, 0.0]);
    assert_eq!(
        relu[3].to_bits(),
        (-0.0f32).to_bits(),
        "relu(-0.0) stays -0.0"
    );

    let leaky = forward(
        ctx,
        Activation::LeakyRelu {
            negative_slope: 0.01,
        },
        &x,
    );
    assert!(leaky[0].is_nan());
    assert_eq!(leaky[1..3], [f32::INFINITY, f32::NEG_INFINITY]);
    assert_eq!(leaky[3].to_bits(), (-0.0f32).to_bits());

    for (alpha, op) in [
        (1.0, Activation::Elu { alpha: 1.0 }),
        (2.5, Activation::Elu { alpha: 2.5 }),
    ] {
        let elu = forward(ctx, op, &x);
        assert!(elu[0].is_nan());
        assert_eq!(elu[1..], [f32::INFINITY, -alpha, 0.0, 0.0], "{op}");
    }
    let selu = forward(ctx, Activation::Selu, &x);
    assert!(selu[0].is_nan());
    assert_eq!(selu[1], f32::INFINITY);
    assert_eq!(selu[2], (-SELU_ALPHA * SELU_SCALE) as f32);

    for op in Activation::all_defaults()
        .into_iter()
        .filter(|op| !op.uses_weight())
    {
        let nan_grad = backward(ctx, op, &[f32::NAN, f32::NAN], &[1.0, 0.0]);
        let identity = op == Activation::Identity;
        assert!(
            identity || nan_grad.iter().all(|v| v.is_nan()),
            "{op}: NaN input must give a NaN gradient, got {nan_grad:?}"
        );
        let far = backward(ctx, op, &[f32::NEG_INFINITY, f32::INFINITY], &[1.0, 1.0]);
        assert!(far.iter().all(|v| v.is_finite()), "{op} at +-inf: {far:?}");
    }
}

/// Results too small for f32 below 0 are -0, as PyTorch's `x * sigmoid(x)`
/// rounds them, at every size of x (each op's underflowing products, its
/// explicit far tail, -inf); the twins agree. (The tolerance checks elsewhere
/// treat the zeros as equal.)
#[test]
fn vanishing_negative_results_are_negative_zeros() {
    let x = [-120.0f32, -151.0, -200.0, -1e10, -3.0e38, f32::NEG_INFINITY];
    let ops = [
        Activation::Silu,
        Activation::Mish,
        Activation::Gelu {
            approximate: GeluApproximate::None,
        },
        Activation::Gelu {
            approximate: GeluApproximate::Tanh,
        },
    ];
    for op in ops {
        for xi in x {
            let twin = wgpu_activations::cpu::forward_scalar(
                &op,
                f64::from(xi),
                0,
                0.0,
                wgpu_activations::cpu::Denormals::Preserve,
            ) as f32;
            assert!(
                twin == 0.0 && twin.is_sign_negative(),
                "twin {op}({xi}) = {twin:?}"
            );
        }
    }
    let ctx = gpu_or_skip!();
    for op in ops {
        let y = forward(ctx, op, &x);
        for (xi, yi) in x.iter().zip(&y) {
            assert_eq!(yi.to_bits(), (-0.0f32).to_bits(), "{op}({xi}) = {yi:?}");
        }
    }
}

#[test]
fn prelu_forward_with_channels() {
    let ctx = gpu_or_skip!();
    // Shape [2, 3, 2]: channel of element i is (i / 2) % 3.
    let x: Vec<f32> = vec![-1.0; 12];
    let input = ctx.upload(&x, &[2, 3, 2]).unwrap();
    let weight = ctx.upload(&[0.1, 0.2, 0.3], &[3]).unwrap();
    let y = ctx
        .forward(&Activation::Prelu, &input, Some(&weight))
        .unwrap();
    assert_eq!(
        ctx.download(&y).unwrap(),
        [-0.1, -0.1, -0.2, -0.2, -0.3, -0.3, -0.1, -0.1, -0.2, -0.2, -0.3, -0.3]
    );
    let shared = ctx.upload(&[0.5], &[1]).unwrap();
    let y = ctx
        .forward(&Activation::Prelu, &input, Some(&shared))
        .unwrap();
    assert_eq!(ctx.download(&y).unwrap(), vec![-0.5; 12]);
}

//! PyTorch's values at a handful of points per op, kinks included, written
//! down from `torch.nn.functional`'s definitions (evaluated to 40 digits with
//! mpmath for the smooth ops), computed on the GPU in f32 and f16.

mod common;

use wgpu_activations::accuracy::ulp_distance;
use wgpu_activations::GeluApproximate;
use wgpu_activations::{f16, Activation, GpuContext, Tolerance};

const XS: [f32; 7] = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0];

fn run(ctx: &GpuContext, op: Activation, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let input = ctx.upload(x, &[x.len()]).unwrap();
    let ones = ctx.upload(&vec![1.0; x.len()], &[x.len()]).unwrap();
    let y = ctx
        .download(&ctx.forward(&op, &input, None).unwrap())
        .unwrap();
    let dx = ctx
        .download(&ctx.backward(&op, &input, &ones, None).unwrap().grad_input)
        .unwrap();
    (y, dx)
}

fn run_with_weight(ctx: &GpuContext, op: Activation, x: &[f32], w: f32) -> (Vec<f32>, Vec<f32>) {
    let input = ctx.upload(x, &[x.len()]).unwrap();
    let weight = ctx.upload(&[w], &[1]).unwrap();
    let ones = ctx.upload(&vec![1.0; x.len()], &[x.len()]).unwrap();
    let y = ctx
        .download(&ctx.forward(&op, &input, Some(&weight)).unwrap())
        .unwrap();
    let dx = ctx
        .download(
            &ctx.backward(&op, &input, &ones, Some(&weight))
                .unwrap()
                .grad_input,
        )
        .unwrap();
    (y, dx)
}

fn run_f16(ctx: &GpuContext, op: Activation, x: &[f32]) -> (Vec<f16>, Vec<f16>) {
    let halves: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
    let input = ctx.upload_f16(&halves, &[x.len()]).unwrap();
    let ones = ctx
        .upload_f16(&vec![f16::ONE; x.len()], &[x.len()])
        .unwrap();
    let y = ctx
        .download_f16(&ctx.forward(&op, &input, None).unwrap())
        .unwrap();
    let dx = ctx
        .download_f16(&ctx.backward(&op, &input, &ones, None).unwrap().grad_input)
        .unwrap();
    (y, dx)
}

/// The op's tolerance in ulps, plus one for rounding the 40-digit value to f32.
fn ulps(tolerance: Tolerance) -> u64 {
    match tolerance {
        Tolerance::Exact => 1,
        Tolerance::Close { ulps, .. } => u64::from(ulps) + 1,
    }
}

fn assert_close(what: &str, actual: &[f32], expected: &[f64], ulps: u64) {
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let e32 = e as f32;
        assert!(
            ulp_distance(a, e32) <= ulps,
            "{what}[{i}] (x = {}): GPU {a:e}, PyTorch {e:e} ({} ulps apart)",
            XS.get(i).copied().unwrap_or(f32::NAN),
            ulp_distance(a, e32)
        );
    }
}

fn assert_close_f16(what: &str, actual: &[f16], expected: &[f64]) {
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let e16 = f16::from_f64(e);
        assert!(
            ulp_distance(a, e16) <= 1,
            "{what} f16[{i}]: GPU {a}, PyTorch {e} (as f16 {e16})"
        );
    }
}

/// (op, f(XS), f'(XS)) from PyTorch's definitions.
fn smooth_table() -> Vec<(Activation, [f64; 7], [f64; 7])> {
    use Activation as A;
    vec![
        (
            A::Gelu {
                approximate: GeluApproximate::None,
            },
            [
                -0.0040496940948902835,
                -0.15865525393145705,
                -0.15426876936299344,
                0.0,
                0.34573123063700656,
                0.8413447460685429,
                2.99595030590511,
            ],
            [
                -0.011945647204183927,
                -0.0833154705876863,
                0.13250487534383715,
                0.5,
                0.8674951246561629,
                1.0833154705876864,
                1.011945647204184,
            ],
        ),
        (
            A::Silu,
            [
                -0.14227761953270035,
                -0.2689414213699951,
                -0.18877033439907273,
                0.0,
                0.3112296656009273,
                0.7310585786300049,
                2.8577223804672998,
            ],
            [
                -0.08810410601516962,
                0.07232948812851327,
                0.2600388126973482,
                0.5,
                0.7399611873026518,
                0.9276705118714867,
                1.0881041060151697,
            ],
        ),
        (
            A::Sigmoid,
            [
                0.04742587317756678,
                0.2689414213699951,
                0.37754066879814546,
                0.5,
                0.6224593312018546,
                0.7310585786300049,
                0.9525741268224333,
            ],
            [
                0.04517665973091213,
                0.19661193324148185,
                0.2350037122015945,
                0.25,
                0.2350037122015945,
                0.19661193324148185,
                0.04517665973091213,
            ],
        ),
        (
            A::Tanh,
            [
                -0.9950547536867305,
                -0.7615941559557649,
                -0.46211715726000974,
                0.0,
                0.46211715726000974,
                0.7615941559557649,
                0.9950547536867305,
            ],
            [
                0.00986603716544019,
                0.4199743416140261,
                0.7864477329659274,
                1.0,
                0.7864477329659274,
                0.4199743416140261,
                0.00986603716544019,
            ],
        ),
        (
            A::Softsign,
            [-0.75, -0.5, -1.0 / 3.0, 0.0, 1.0 / 3.0, 0.5, 0.75],
            [0.0625, 0.25, 4.0 / 9.0, 1.0, 4.0 / 9.0, 0.25, 0.0625],
        ),
        (
            A::Logsigmoid,
            [
                -3.048587351573742,
                -1.3132616875182228,
                -0.9740769841801067,
                -std::f64::consts::LN_2,
                -0.4740769841801067,
                -0.3132616875182228,
                -0.04858735157374206,
            ],
            [
                0.9525741268224333,
                0.7310585786300049,
                0.6224593312018546,
                0.5,
                0.37754066879814546,
                0.2689414213699951,
                0.04742587317756678,
            ],
        ),
        (
            A::Tanhshrink,
            [
                -2.0049452463132695,
                -0.23840584404423512,
                -0.03788284273999024,
                0.0,
                0.03788284273999024,
                0.23840584404423512,
                2.0049452463132695,
            ],
            [
                0.9901339628345598,
                0.580025658385974,
                0.2135522670340726,
                0.0,
                0.2135522670340726,
                0.580025658385974,
                0.9901339628345598,
            ],
        ),
        (
            A::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            [
                0.04858735157374206,
                0.3132616875182228,
                0.4740769841801067,
                std::f64::consts::LN_2,
                0.9740769841801067,
                1.3132616875182228,
                3.048587351573742,
            ],
            [
                0.04742587317756678,
                0.2689414213699951,
                0.37754066879814546,
                0.5,
                0.6224593312018546,
                0.7310585786300049,
                0.9525741268224333,
            ],
        ),
        (
            A::Elu { alpha: 1.0 },
            [
                -0.950212931632136,
                -0.6321205588285577,
                -0.3934693402873666,
                0.0,
                0.5,
                1.0,
                3.0,
            ],
            [
                0.049787068367863944,
                0.36787944117144233,
                0.6065306597126334,
                1.0,
                1.0,
                1.0,
                1.0,
            ],
        ),
        (
            A::Selu,
            [
                -1.670568728767112,
                -1.1113307378125628,
                -0.6917581878028713,
                0.0,
                0.5253504936777402,
                1.0507009873554805,
                3.1521029620664414,
            ],
            [
                0.08753061208026489,
                0.6467686030348141,
                1.0663411530445055,
                1.7580993408473768,
                1.0507009873554805,
                1.0507009873554805,
                1.0507009873554805,
            ],
        ),
        (
            A::Gelu {
                approximate: GeluApproximate::Tanh,
            },
            [
                -0.003637392081773019,
                -0.1588080093917233,
                -0.15428599017485609,
                0.0,
                0.34571400982514394,
                0.8411919906082767,
                2.996362607918227,
            ],
            [
                -0.011584166630969726,
                -0.08296408384578255,
                0.1326300964653577,
                0.5,
                0.8673699035346423,
                1.0829640838457826,
                1.0115841666309697,
            ],
        ),
        (
            A::Mish,
            [
                -0.14564746127562458,
                -0.3034014613741089,
                -0.22074377465173,
                0.0,
                0.37524521130489513,
                0.8650983882673103,
                2.9865350049679575,
            ],
            [
                -0.09339311453232084,
                0.05921675587739495,
                0.2895106779135122,
                0.6,
                0.8864243753577272,
                1.0490362200997922,
                1.0211069109294437,
            ],
        ),
        (
            A::Celu { alpha: 2.0 },
            [
                -1.5537396797031404,
                -0.7869386805747332,
                -0.44239843385719024,
                0.0,
                0.5,
                1.0,
                3.0,
            ],
            [
                0.22313016014842982,
                0.6065306597126334,
                0.7788007830714049,
                1.0,
                1.0,
                1.0,
                1.0,
            ],
        ),
    ]
}

#[test]
fn smooth_ops_match_pytorch() {
    let ctx = gpu_or_skip!();
    for (op, y, dy) in smooth_table() {
        let (gpu_y, gpu_dy) = run(ctx, op, &XS);
        assert_close(&format!("{op}"), &gpu_y, &y, ulps(op.forward_tolerance()));
        assert_close(
            &format!("{op}'"),
            &gpu_dy,
            &dy,
            ulps(op.backward_tolerance()),
        );
        if ctx.device().features().contains(wgpu::Features::SHADER_F16) {
            let (h_y, h_dy) = run_f16(ctx, op, &XS);
            assert_close_f16(&format!("{op}"), &h_y, &y);
            assert_close_f16(&format!("{op}'"), &h_dy, &dy);
        }
    }
}

/// (op, x, f(x), f'(x)).
type PiecewiseCase = (Activation, Vec<f32>, Vec<f32>, Vec<f32>);

/// The piecewise-linear ops at and around their kinks (PReLU with one
/// weight, 0.25).
fn piecewise_table() -> Vec<PiecewiseCase> {
    use Activation as A;
    vec![
        (
            A::Identity,
            vec![-1.5, 0.0, 2.0],
            vec![-1.5, 0.0, 2.0],
            vec![1.0, 1.0, 1.0],
        ),
        (
            A::Prelu,
            vec![-2.0, 0.0, 2.0],
            vec![-0.5, 0.0, 2.0],
            vec![0.25, 0.25, 1.0],
        ),
        (
            A::Relu,
            vec![-1.0, 0.0, 2.0],
            vec![0.0, 0.0, 2.0],
            vec![0.0, 0.0, 1.0],
        ),
        (
            A::LeakyRelu {
                negative_slope: 0.25,
            },
            vec![-2.0, 0.0, 2.0],
            vec![-0.5, 0.0, 2.0],
            vec![0.25, 0.25, 1.0],
        ),
        (
            A::Rrelu {
                lower: 0.125,
                upper: 1.0 / 3.0,
                training: false,
                seed: 0,
            },
            vec![-3.0, 0.0, 2.0],
            vec![-3.0 * 0.22916667, 0.0, 2.0],
            vec![0.22916667, 0.22916667, 1.0],
        ),
        (
            A::Relu6,
            vec![-1.0, 0.0, 3.0, 6.0, 7.0],
            vec![0.0, 0.0, 3.0, 6.0, 6.0],
            vec![0.0, 0.0, 1.0, 0.0, 0.0],
        ),
        (
            A::Hardtanh {
                min_val: -1.0,
                max_val: 1.0,
            },
            vec![-2.0, -1.0, 0.0, 1.0, 2.0],
            vec![-1.0, -1.0, 0.0, 1.0, 1.0],
            vec![0.0, 0.0, 1.0, 0.0, 0.0],
        ),
        (
            A::Hardsigmoid,
            vec![-4.0, -3.0, 0.0, 3.0, 4.0],
            vec![0.0, 0.0, 0.5, 1.0, 1.0],
            vec![0.0, 0.0, 1.0 / 6.0, 0.0, 0.0],
        ),
        (
            A::Hardswish,
            vec![-4.0, -3.0, -1.5, 0.0, 3.0, 4.0],
            vec![0.0, 0.0, -0.375, 0.0, 3.0, 4.0],
            vec![0.0, 0.0, 0.0, 0.5, 1.0, 1.0],
        ),
        (
            A::Threshold {
                threshold: 1.0,
                value: -5.0,
            },
            vec![0.0, 1.0, 2.0],
            vec![-5.0, -5.0, 2.0],
            vec![0.0, 0.0, 1.0],
        ),
        (
            A::Hardshrink { lambd: 0.5 },
            vec![-1.0, -0.5, 0.0, 0.5, 1.0],
            vec![-1.0, 0.0, 0.0, 0.0, 1.0],
            vec![1.0, 0.0, 0.0, 0.0, 1.0],
        ),
        (
            A::Softshrink { lambd: 0.5 },
            vec![-1.0, -0.5, 0.0, 0.5, 1.0],
            vec![-0.5, 0.0, 0.0, 0.0, 0.5],
            vec![1.0, 0.0, 0.0, 0.0, 1.0],
        ),
    ]
}

#[test]
fn every_op_has_pinned_values() {
    let smooth: Vec<&str> = smooth_table().iter().map(|(op, _, _)| op.name()).collect();
    let piecewise: Vec<&str> = piecewise_table()
        .iter()
        .map(|(op, _, _, _)| op.name())
        .collect();
    for info in Activation::OPS {
        assert!(
            smooth.contains(&info.name) || piecewise.contains(&info.name),
            "{} has no PyTorch-pinned values: add them to smooth_table or piecewise_table",
            info.name
        );
    }
}

#[test]
fn piecewise_ops_and_their_kinks_match_pytorch() {
    let ctx = gpu_or_skip!();
    for (op, x, y, dy) in piecewise_table() {
        let (gpu_y, gpu_dy) = if op.uses_weight() {
            run_with_weight(ctx, op, &x, 0.25)
        } else {
            run(ctx, op, &x)
        };
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| ulp_distance(*p, *q) <= 2);
        assert!(close(&gpu_y, &y), "{op}: {gpu_y:?} vs PyTorch {y:?}");
        assert!(close(&gpu_dy, &dy), "{op}': {gpu_dy:?} vs PyTorch {dy:?}");
    }
}

#[test]
fn limits_at_infinity_even_where_pytorch_gives_nan() {
    let ctx = gpu_or_skip!();
    use Activation as A;
    let inf = f32::INFINITY;
    let x = [-inf, inf, -89.0, 89.0, -88.0, 88.0];
    let expect = |op: Activation, want: [f32; 2]| {
        let (y, dy) = run(ctx, op, &x);
        // Bits: the sign of a zero limit counts (-0 below 0, as the values
        // approaching it).
        assert_eq!(
            y[..2].iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{op} at -inf, inf: {y:?}"
        );
        assert!(y.iter().all(|v| !v.is_nan()), "{op}: {y:?}");
        assert!(dy[2..].iter().all(|v| v.is_finite()), "{op}': {dy:?}");
    };
    expect(
        A::Gelu {
            approximate: GeluApproximate::None,
        },
        [-0.0, inf],
    );
    expect(
        A::Gelu {
            approximate: GeluApproximate::Tanh,
        },
        [-0.0, inf],
    );
    expect(A::Silu, [-0.0, inf]);
    expect(A::Mish, [-0.0, inf]);
    expect(A::Softsign, [-1.0, 1.0]);
    expect(A::Sigmoid, [0.0, 1.0]);
    expect(A::Tanh, [-1.0, 1.0]);
    expect(A::Elu { alpha: 1.0 }, [-1.0, inf]);
    expect(A::Celu { alpha: 2.0 }, [-2.0, inf]);
    expect(A::Logsigmoid, [-inf, -0.0]);
    expect(
        A::Softplus {
            beta: 1.0,
            threshold: 20.0,
        },
        [0.0, inf],
    );
    expect(A::Tanhshrink, [-inf, inf]);
    // tanh and sigmoid stay exact far out, where some drivers' builtins give NaN.
    let (y, _) = run(ctx, A::Tanh, &x);
    assert_eq!(y[2..], [-1.0, 1.0, -1.0, 1.0]);
}

#[test]
fn rrelu_training_slopes_are_reproducible_and_shared_with_backward() {
    let ctx = gpu_or_skip!();
    let x: Vec<f32> = (0..4096).map(|i| -1.0 - (i % 13) as f32).collect();
    let op = |seed| Activation::Rrelu {
        lower: 0.125,
        upper: 1.0 / 3.0,
        training: true,
        seed,
    };
    let (a, da) = run(ctx, op(42), &x);
    let (b, _) = run(ctx, op(42), &x);
    let (c, _) = run(ctx, op(43), &x);
    assert_eq!(a, b, "the same seed gives the same slopes");
    assert_ne!(a, c, "another seed gives other slopes");
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..x.len() {
        let slope = a[i] / x[i];
        assert!(
            (0.125 - 1e-6..=1.0 / 3.0 + 1e-6).contains(&slope),
            "slope {slope}"
        );
        assert!(
            (slope - da[i]).abs() <= 2e-7,
            "backward uses the forward's slope: {slope} vs {}",
            da[i]
        );
        distinct.insert(da[i].to_bits());
    }
    assert!(
        distinct.len() > 3000,
        "slopes look random: {} distinct of 4096",
        distinct.len()
    );
    let mean: f32 = da.iter().sum::<f32>() / da.len() as f32;
    assert!(
        (mean - (0.125 + 1.0 / 3.0) / 2.0).abs() < 0.005,
        "uniform in [lower, upper]: mean {mean}"
    );
}

#[test]
fn backward_from_output_equals_backward_from_input() {
    let ctx = gpu_or_skip!();
    let x: Vec<f32> = (-300..=300).map(|i| i as f32 / 37.0).collect();
    for op in [
        Activation::Relu,
        Activation::LeakyRelu {
            negative_slope: 0.01,
        },
        Activation::Elu { alpha: 1.0 },
        Activation::Sigmoid,
        Activation::Tanh,
    ] {
        let input = ctx.upload(&x, &[x.len()]).unwrap();
        let g = ctx.upload(&vec![1.5; x.len()], &[x.len()]).unwrap();
        let y = ctx.forward(&op, &input, None).unwrap();
        let from_output = ctx
            .download(&ctx.backward_from_output(&op, &y, &g).unwrap())
            .unwrap();
        let from_input = ctx
            .download(&ctx.backward(&op, &input, &g, None).unwrap().grad_input)
            .unwrap();
        for i in 0..x.len() {
            let (a, b) = (from_output[i], from_input[i]);
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{op} at {}: from output {a}, from input {b}",
                x[i]
            );
        }
    }
    let y = ctx.upload(&[0.5], &[1]).unwrap();
    let err = ctx
        .backward_from_output(&Activation::Silu, &y, &y)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be computed from the output"),
        "{err}"
    );
    let err = ctx
        .backward_from_output(
            &Activation::LeakyRelu {
                negative_slope: -0.1,
            },
            &y,
            &y,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot be computed from the output"),
        "{err}"
    );
}

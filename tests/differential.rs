//! GPU against the CPU reference for every op, direction, element type and
//! parameter set, over random lengths and values (special values included),
//! through both the tensor API (vec4 kernels) and caller-owned, exactly sized
//! buffers at a non-zero offset (one-element-per-thread kernels).

mod common;

use common::strategies::{length, op, value};
use common::Direction;
use proptest::prelude::*;
use wgpu::util::DeviceExt;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{
    f16, Activation, BackwardBuffers, DType, ForwardBuffers, GpuContext, TensorView,
};

/// Where the data lives for one case.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// `GpuContext::upload` tensors (padded, vec4 kernels).
    Tensors,
    /// Caller buffers holding exactly the data (rounded up to whole words)
    /// after `offset` bytes.
    ExactBuffers { offset: u64 },
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        Just(Placement::Tensors),
        Just(Placement::ExactBuffers { offset: 0 }),
        Just(Placement::ExactBuffers { offset: 256 }),
    ]
}

/// A shape, sometimes with channels (dimension 1) for PReLU.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        length().prop_map(|n| vec![n]),
        (0usize..6, 1usize..7, 1usize..40).prop_map(|(n, c, w)| vec![n, c, w]),
        (1usize..4, 1usize..5, 1usize..6, 1usize..6).prop_map(|(n, c, h, w)| vec![n, c, h, w]),
        (1usize..300, 1usize..9).prop_map(|(n, c)| vec![n, c]),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    op: Activation,
    shape: Vec<usize>,
    x: Vec<f32>,
    g: Vec<f32>,
    weight: Option<Vec<f32>>,
    placement: Placement,
}

fn case() -> impl Strategy<Value = Case> {
    (op(), shape(), placement(), any::<bool>()).prop_flat_map(
        move |(op, shape, placement, shared)| {
            let len: usize = shape.iter().product();
            let channels = if shape.len() >= 2 { shape[1] } else { 1 };
            let weights = if shared { 1 } else { channels };
            (
                proptest::collection::vec(value(), len),
                proptest::collection::vec(value(), len),
                proptest::collection::vec(common::strategies::parameter(), weights),
            )
                .prop_map(move |(x, g, w)| Case {
                    op,
                    shape: shape.clone(),
                    x,
                    g,
                    weight: op.uses_weight().then_some(w),
                    placement,
                })
        },
    )
}

/// The element type of a case's data, with its upload, view and readback.
trait Data: cpu::Float + wgpu_activations::accuracy::Element + bytemuck::Pod + std::fmt::Debug {
    const DTYPE: DType;
    fn from_f32(v: f32) -> Self;
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> wgpu_activations::GpuTensor;
    fn download(ctx: &GpuContext, view: TensorView<'_>) -> Vec<Self>;
}

impl Data for f32 {
    const DTYPE: DType = DType::F32;
    fn from_f32(v: f32) -> Self {
        v
    }
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> wgpu_activations::GpuTensor {
        ctx.upload(data, shape).unwrap()
    }
    fn download(ctx: &GpuContext, view: TensorView<'_>) -> Vec<Self> {
        ctx.read_view(view).unwrap()
    }
}

impl Data for f16 {
    const DTYPE: DType = DType::F16;
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> wgpu_activations::GpuTensor {
        ctx.upload_f16(data, shape).unwrap()
    }
    fn download(ctx: &GpuContext, view: TensorView<'_>) -> Vec<Self> {
        ctx.read_view_f16(view).unwrap()
    }
}

fn raw_buffer<T: Data>(ctx: &GpuContext, offset: u64, data: &[T]) -> wgpu::Buffer {
    let mut bytes = vec![0xA5u8; offset as usize];
    bytes.extend_from_slice(bytemuck::cast_slice(data));
    bytes.resize(bytes.len().div_ceil(4).max(1) * 4, 0x5A);
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test buffer"),
            contents: &bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
}

struct Results<T> {
    y: Vec<T>,
    dx: Vec<T>,
    dw: Option<Vec<T>>,
    /// The gradient from the output `y`, for the ops that allow it.
    dx_from_output: Option<Vec<T>>,
}

/// Runs forward, backward and (where allowed) backward from the output.
fn run_gpu<T: Data>(
    ctx: &GpuContext,
    case: &Case,
    x: &[T],
    g: &[T],
    w: Option<&[T]>,
) -> Results<T> {
    let len = x.len();
    let from_output = case.op.backward_from_output_supported();
    match case.placement {
        Placement::Tensors => {
            let xt = T::upload(ctx, x, &case.shape);
            let gt = T::upload(ctx, g, &case.shape);
            let wt = w.map(|w| T::upload(ctx, w, &[w.len()]));
            let y = ctx.forward(&case.op, &xt, wt.as_ref()).unwrap();
            let grads = ctx.backward(&case.op, &xt, &gt, wt.as_ref()).unwrap();
            let dx_from_output =
                from_output.then(|| ctx.backward_from_output(&case.op, &y, &gt).unwrap());
            Results {
                y: T::download(ctx, y.view()),
                dx: T::download(ctx, grads.grad_input.view()),
                dw: grads.grad_weight.map(|gw| T::download(ctx, gw.view())),
                dx_from_output: dx_from_output.map(|t| T::download(ctx, t.view())),
            }
        }
        Placement::ExactBuffers { offset } => {
            let zeros = vec![T::from_f32(0.0); len];
            let xb = raw_buffer(ctx, offset, x);
            let gb = raw_buffer(ctx, offset, g);
            let yb = raw_buffer(ctx, offset, &zeros);
            let dxb = raw_buffer(ctx, offset, &zeros);
            let dyb = raw_buffer(ctx, offset, &zeros);
            let wb = w.map(|w| raw_buffer(ctx, offset, w));
            let dwb = w.map(|w| raw_buffer(ctx, offset, &vec![T::from_f32(0.0); w.len()]));
            let wlen = w.map_or(0, <[T]>::len);
            let view = |b, n| TensorView::with_dtype(b, offset, n, T::DTYPE);
            let mut encoder = ctx.create_encoder();
            ctx.encode_forward(
                &mut encoder,
                &case.op,
                &case.shape,
                &ForwardBuffers {
                    input: view(&xb, len),
                    output: view(&yb, len),
                    weight: wb.as_ref().map(|w| view(w, wlen)),
                    first_element: 0,
                },
            )
            .unwrap();
            ctx.encode_backward(
                &mut encoder,
                &case.op,
                &case.shape,
                &BackwardBuffers {
                    input: view(&xb, len),
                    grad_output: view(&gb, len),
                    grad_input: view(&dxb, len),
                    weight: wb.as_ref().map(|w| view(w, wlen)),
                    grad_weight: dwb.as_ref().map(|dw| view(dw, wlen)),
                    from_output: false,
                    first_element: 0,
                },
            )
            .unwrap();
            if from_output {
                ctx.encode_backward(
                    &mut encoder,
                    &case.op,
                    &case.shape,
                    &BackwardBuffers {
                        input: view(&yb, len),
                        grad_output: view(&gb, len),
                        grad_input: view(&dyb, len),
                        weight: None,
                        grad_weight: None,
                        from_output: true,
                        first_element: 0,
                    },
                )
                .unwrap();
            }
            ctx.submit(encoder).unwrap();
            Results {
                y: T::download(ctx, view(&yb, len)),
                dx: T::download(ctx, view(&dxb, len)),
                dw: dwb.as_ref().map(|dw| T::download(ctx, view(dw, wlen))),
                dx_from_output: from_output.then(|| T::download(ctx, view(&dyb, len))),
            }
        }
    }
}

/// Tolerance of the PReLU weight gradient: a sum of n terms, added in a fixed
/// tree of depth about log2(n) + 2 (Kahan inside each thread), so the error is
/// bounded by (log2(n) + 4) * eps * sum(|term|), plus one rounding to the
/// element type (and the fixed steps of the subnormal range). Where sum(|term|) overflows f32, partial sums may overflow to
/// inf of either sign (and inf - inf to NaN) although the f64 reference is
/// finite: any result is accepted there.
fn check_weight_grad<T: Data>(shape: &[usize], x: &[T], g: &[T], w: &[T], actual: &[T]) {
    let reference = |dn| cpu::prelu_weight_grad(x, g, shape, w, dn).unwrap();
    let (exact, flushed) = (
        reference(Denormals::Preserve),
        reference(Denormals::FlushToZero),
    );
    let (channels, inner) = wgpu_activations::tensor::prelu_channels(shape);
    let mut magnitudes = vec![0.0f64; w.len()];
    for i in 0..x.len() {
        let c = if w.len() == 1 {
            0
        } else {
            (i / inner) % channels
        };
        let (xi, gi) = (x[i].to_f64(), g[i].to_f64());
        if xi.is_nan() || xi <= 0.0 {
            magnitudes[c] += (xi * gi).abs();
        }
    }
    let n = x.len().max(2) as f64;
    let unit = if T::DTYPE == DType::F16 {
        2f64.powi(-10)
    } else {
        f64::from(f32::EPSILON)
    };
    for i in 0..actual.len() {
        if magnitudes[i] > f64::from(f32::MAX) {
            continue;
        }
        // Plus half a subnormal step per addition, for sums that end up subnormal.
        let bound = (n.log2() + 4.0) * f64::from(f32::EPSILON) * magnitudes[i]
            + n * f64::from(f32::from_bits(1));
        let a = actual[i].to_f64();
        let close = |r: T| {
            let r = r.to_f64();
            if r.is_nan() || a.is_nan() {
                r.is_nan() && a.is_nan()
            } else if r.is_infinite() || a.is_infinite() {
                r == a
            } else {
                (a - r).abs() <= bound + r.abs() * unit
            }
        };
        assert!(
            close(exact[i]) || close(flushed[i]),
            "prelu grad_weight[{i}] ({:?}): GPU {a} vs reference {:?} (bound {bound:e})",
            T::DTYPE,
            exact[i]
        );
    }
}

fn check_case<T: Data>(ctx: &GpuContext, case: &Case) {
    let x: Vec<T> = case.x.iter().map(|&v| T::from_f32(v)).collect();
    let g: Vec<T> = case.g.iter().map(|&v| T::from_f32(v)).collect();
    let w: Option<Vec<T>> = case
        .weight
        .as_ref()
        .map(|w| w.iter().map(|&v| T::from_f32(v)).collect());
    let results = run_gpu(ctx, case, &x, &g, w.as_deref());
    let what = |direction: &str| {
        format!(
            "{} {direction}, {:?}, {:?}",
            case.op,
            T::DTYPE,
            case.placement
        )
    };
    common::assert_matches(
        &what("forward"),
        &case.op,
        Direction::Forward,
        &case.shape,
        &x,
        &[],
        w.as_deref(),
        &results.y,
        case.op.forward_tolerance_for(T::DTYPE),
    );
    common::assert_matches(
        &what("backward"),
        &case.op,
        Direction::Backward,
        &case.shape,
        &x,
        &g,
        w.as_deref(),
        &results.dx,
        case.op.backward_tolerance_for(T::DTYPE),
    );
    if let Some(dy) = &results.dx_from_output {
        common::assert_matches(
            &what("backward from output"),
            &case.op,
            Direction::BackwardFromOutput,
            &case.shape,
            &results.y,
            &g,
            None,
            dy,
            case.op.backward_from_output_tolerance_for(T::DTYPE),
        );
    }
    match (&results.dw, &w) {
        (Some(dw), Some(w)) => check_weight_grad(&case.shape, &x, &g, w, dw),
        _ => assert!(!case.op.uses_weight(), "PReLU returned no weight gradient"),
    }
}

fn has_f16(ctx: &GpuContext) -> bool {
    ctx.device().features().contains(wgpu::Features::SHADER_F16)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_cpu_reference_f32(case in case()) {
        let ctx = match common::gpu() { Some(ctx) => ctx, None => return Ok(()) };
        check_case::<f32>(ctx, &case);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_cpu_reference_f16(case in case()) {
        let ctx = match common::gpu() { Some(ctx) => ctx, None => return Ok(()) };
        if !has_f16(ctx) {
            // Checked by `f16_without_shader_f16_is_an_error` instead.
            return Ok(());
        }
        check_case::<f16>(ctx, &case);
    }
}

/// Every op over a dense sweep of [-12, 12], the special values and the
/// parameter defaults, in both element types: catches what random cases miss.
#[test]
fn every_op_over_a_dense_sweep() {
    let ctx = gpu_or_skip!();
    let mut x: Vec<f32> = (-12_000..=12_000).map(|i| i as f32 * 1e-3).collect();
    x.extend_from_slice(common::strategies::SPECIAL_VALUES);
    x.extend((0..200).map(|i| -(i as f32) * 0.5 - 80.0));
    let g: Vec<f32> = (0..x.len())
        .map(|i| [1.0, -0.5, 3.0, 1e-3][i % 4])
        .collect();
    for op in Activation::all_defaults() {
        for dtype in [DType::F32, DType::F16] {
            if dtype == DType::F16 && !has_f16(ctx) {
                continue;
            }
            let (shape, weight) = if op.uses_weight() {
                (vec![1, x.len()], None)
            } else {
                (vec![x.len()], None::<Vec<f32>>)
            };
            let case = Case {
                op,
                shape: if op.uses_weight() {
                    vec![x.len()]
                } else {
                    shape
                },
                x: x.clone(),
                g: g.clone(),
                weight: if op.uses_weight() {
                    Some(vec![0.25])
                } else {
                    weight
                },
                placement: Placement::Tensors,
            };
            match dtype {
                DType::F32 => check_case::<f32>(ctx, &case),
                DType::F16 => check_case::<f16>(ctx, &case),
            }
        }
    }
}

#[test]
fn f16_without_shader_f16_is_an_error() {
    let ctx = gpu_or_skip!();
    let x = ctx
        .upload_f16(&[f16::from_f32(-1.0), f16::from_f32(2.0)], &[2])
        .unwrap();
    let result = ctx.forward(&Activation::Relu, &x, None);
    if has_f16(ctx) {
        let y = ctx.download_f16(&result.unwrap()).unwrap();
        assert_eq!(y, [f16::from_f32(0.0), f16::from_f32(2.0)]);
    } else {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("SHADER_F16"), "{err}");
    }
}

/// The exponential tails with gradients of every size: where exp(x) is
/// subnormal or 0 but the result is a normal number (1e30 sigmoid'(-100),
/// 1e5 gelu'(-14), exp(beta x) / beta with beta = 1e-20), and past the range
/// where any f32 could lift it (|x| up to 311 and beyond), every op with its
/// defaults and softplus with small and negative betas (x scaled by 1/beta
/// so that beta x runs over the same tails), forward and backward, f32.
/// Besides the usual tolerance, which accepts a 0 wherever flushing a
/// subnormal intermediate would explain it, a result whose exact value is a
/// normal number must not be 0: these kernels have no subnormal
/// intermediate to flush.
#[test]
fn exponential_tails_with_gradients_of_every_size() {
    let ctx = gpu_or_skip!();
    let mut grid: Vec<f32> = Vec::new();
    for i in 0..900 {
        let t = 5.0 + i as f32 * 0.3467;
        grid.push(t);
        grid.push(-t);
    }
    grid.extend_from_slice(&[-299.9, -300.0, -300.1, 299.9, 300.0, 300.1, -1e10, 1e10]);
    grid.extend_from_slice(common::strategies::SPECIAL_VALUES);
    let gradients = [
        1e30f32,
        -3e38,
        f32::MAX,
        1e-30,
        -2e-38,
        1e-40,
        1.0,
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let mut cases: Vec<(Activation, f32)> = Activation::all_defaults()
        .into_iter()
        .filter(|op| !op.uses_weight())
        .map(|op| (op, 1.0))
        .collect();
    cases.push((
        Activation::from_name("gelu")
            .and_then(|op| op.with_parameter("approximate", "tanh"))
            .expect("gelu tanh"),
        1.0,
    ));
    for beta in [1e-3f32, -0.25, 1e-20, 3.0] {
        let op = Activation::from_name("softplus")
            .and_then(|op| op.with_parameter("beta", &beta.to_string()))
            .expect("softplus with beta");
        cases.push((op, beta));
    }
    for (op, beta) in cases {
        let x: Vec<f32> = grid.iter().map(|&v| v / beta).collect();
        // Each x with every gradient in turn (the grid's length is not a
        // multiple of the gradients', so the pairs shift along it).
        let g: Vec<f32> = (0..x.len())
            .map(|i| gradients[i % gradients.len()])
            .collect();
        let case = Case {
            op,
            shape: vec![x.len()],
            x: x.clone(),
            g: g.clone(),
            weight: None,
            placement: Placement::Tensors,
        };
        check_case::<f32>(ctx, &case);
        let results = run_gpu(ctx, &case, &x, &g, None);
        for (i, (&xi, &gi)) in x.iter().zip(&g).enumerate() {
            let exact = [
                (
                    "forward",
                    cpu::forward_scalar(&op, f64::from(xi), i as u64, 0.0, Denormals::Preserve),
                    results.y[i],
                ),
                (
                    "backward",
                    cpu::backward_scalar(
                        &op,
                        f64::from(xi),
                        f64::from(gi),
                        i as u64,
                        0.0,
                        Denormals::Preserve,
                    ),
                    results.dx[i],
                ),
            ];
            for (direction, reference, actual) in exact {
                let normal = reference.abs() >= f64::from(f32::MIN_POSITIVE)
                    && reference.abs() <= f64::from(f32::MAX);
                assert!(
                    !normal || actual != 0.0,
                    "{op} {direction} at x = {xi:e}, g = {gi:e}: 0 where the exact value {reference:e} is a normal number"
                );
            }
        }
    }
}

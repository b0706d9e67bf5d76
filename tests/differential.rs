//! GPU against the CPU reference for every op, direction and parameter, over
//! random lengths and values (special values included), through both the
//! tensor API (vec4 kernels) and caller-owned, exactly sized buffers at a
//! non-zero offset (one-element-per-thread kernels).

mod common;

use common::strategies::{length, parameter, value};
use proptest::prelude::*;
use wgpu::util::DeviceExt;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{
    Activation, BackwardBuffers, ForwardBuffers, GpuContext, TensorView, Tolerance,
};

/// Where the data lives for one case.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// `GpuContext::upload` tensors (padded, vec4 kernels).
    Tensors,
    /// Caller buffers of exactly `offset + 4 * len` bytes, data at `offset`.
    ExactBuffers { offset: u64 },
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        Just(Placement::Tensors),
        Just(Placement::ExactBuffers { offset: 0 }),
        Just(Placement::ExactBuffers { offset: 256 }),
    ]
}

fn op() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Relu),
        parameter().prop_map(|negative_slope| Activation::LeakyRelu { negative_slope }),
        Just(Activation::Prelu),
        parameter().prop_map(|alpha| Activation::Elu { alpha }),
        Just(Activation::Selu),
    ]
}

/// A shape of `len` elements, sometimes with channels (dimension 1) for PReLU.
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
    (op(), shape(), placement(), any::<bool>()).prop_flat_map(|(op, shape, placement, shared)| {
        let len: usize = shape.iter().product();
        let channels = if shape.len() >= 2 { shape[1] } else { 1 };
        let weights = if shared { 1 } else { channels };
        (
            proptest::collection::vec(value(), len),
            proptest::collection::vec(value(), len),
            proptest::collection::vec(parameter(), weights),
        )
            .prop_map(move |(x, g, w)| Case {
                op,
                shape: shape.clone(),
                x,
                g,
                weight: op.uses_weight().then_some(w),
                placement,
            })
    })
}

fn raw_buffer(ctx: &GpuContext, offset: u64, data: &[f32]) -> wgpu::Buffer {
    let mut bytes = vec![0xA5u8; offset as usize];
    bytes.extend_from_slice(bytemuck::cast_slice(data));
    if bytes.is_empty() {
        bytes.resize(4, 0);
    }
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test buffer"),
            contents: &bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
}

/// Runs forward and backward on the GPU; returns (y, grad_input, grad_weight).
fn run_gpu(ctx: &GpuContext, case: &Case) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    match case.placement {
        Placement::Tensors => {
            let x = ctx.upload(&case.x, &case.shape).unwrap();
            let g = ctx.upload(&case.g, &case.shape).unwrap();
            let w = case
                .weight
                .as_ref()
                .map(|w| ctx.upload(w, &[w.len()]).unwrap());
            let y = ctx.forward(&case.op, &x, w.as_ref()).unwrap();
            let grads = ctx.backward(&case.op, &x, &g, w.as_ref()).unwrap();
            (
                ctx.download(&y).unwrap(),
                ctx.download(&grads.grad_input).unwrap(),
                grads.grad_weight.map(|gw| ctx.download(&gw).unwrap()),
            )
        }
        Placement::ExactBuffers { offset } => {
            let len = case.x.len();
            let zeros = vec![0.0f32; len];
            let x = raw_buffer(ctx, offset, &case.x);
            let g = raw_buffer(ctx, offset, &case.g);
            let y = raw_buffer(ctx, offset, &zeros);
            let dx = raw_buffer(ctx, offset, &zeros);
            let w = case.weight.as_ref().map(|w| raw_buffer(ctx, offset, w));
            let dw = case
                .weight
                .as_ref()
                .map(|w| raw_buffer(ctx, offset, &vec![0.0; w.len()]));
            let wlen = case.weight.as_ref().map_or(0, Vec::len);
            fn view(buffer: &wgpu::Buffer, len: usize, offset: u64) -> TensorView<'_> {
                TensorView::new(buffer, offset, len)
            }
            let mut encoder = ctx.create_encoder();
            ctx.encode_forward(
                &mut encoder,
                &case.op,
                &case.shape,
                &ForwardBuffers {
                    input: view(&x, len, offset),
                    output: view(&y, len, offset),
                    weight: w.as_ref().map(|w| view(w, wlen, offset)),
                },
            )
            .unwrap();
            ctx.encode_backward(
                &mut encoder,
                &case.op,
                &case.shape,
                &BackwardBuffers {
                    input: view(&x, len, offset),
                    grad_output: view(&g, len, offset),
                    grad_input: view(&dx, len, offset),
                    weight: w.as_ref().map(|w| view(w, wlen, offset)),
                    grad_weight: dw.as_ref().map(|dw| view(dw, wlen, offset)),
                },
            )
            .unwrap();
            ctx.submit(encoder).unwrap();
            (
                ctx.read_view(view(&y, len, offset)).unwrap(),
                ctx.read_view(view(&dx, len, offset)).unwrap(),
                dw.map(|dw| ctx.read_view(view(&dw, wlen, offset)).unwrap()),
            )
        }
    }
}

/// Tolerance of the PReLU weight gradient: a sum of n terms, added in a fixed
/// tree of depth about log2(n) + 2 (Kahan inside each thread), so the error is
/// bounded by (log2(n) + 4) * eps * sum(|term|), plus one f32 rounding of the result.
/// Where sum(|term|) overflows f32, partial sums in f32 may overflow to inf of
/// either sign (and inf - inf to NaN) although the f64 reference is finite: any
/// result is accepted there.
fn check_weight_grad(case: &Case, actual: &[f32]) {
    let weight = case.weight.as_ref().unwrap();
    let exact =
        cpu::prelu_weight_grad(&case.x, &case.g, &case.shape, weight, Denormals::Preserve).unwrap();
    let flushed = cpu::prelu_weight_grad(
        &case.x,
        &case.g,
        &case.shape,
        weight,
        Denormals::FlushToZero,
    )
    .unwrap();
    let magnitudes = cpu::prelu_weight_grad(
        &case
            .x
            .iter()
            .map(|&v| if v > 0.0 { v } else { -v.abs() })
            .collect::<Vec<_>>(),
        &case.g.iter().map(|v| v.abs()).collect::<Vec<_>>(),
        &case.shape,
        weight,
        Denormals::Preserve,
    )
    .unwrap();
    let n = case.x.len().max(2) as f64;
    for i in 0..actual.len() {
        let bound = (n.log2() + 4.0) * f64::from(f32::EPSILON) * f64::from(magnitudes[i].abs());
        let close = |r: f32| {
            if magnitudes[i].is_infinite() {
                true
            } else if r.is_nan() || actual[i].is_nan() {
                r.is_nan() && actual[i].is_nan()
            } else if r.is_infinite() || actual[i].is_infinite() {
                r == actual[i]
            } else {
                f64::from((actual[i] - r).abs()) <= bound + f64::from(r.abs()) * 1.2e-7
            }
        };
        assert!(
            close(exact[i]) || close(flushed[i]),
            "prelu grad_weight[{i}]: GPU {} vs reference {} (bound {bound:e})",
            actual[i],
            exact[i]
        );
    }
}

fn check_case(ctx: &GpuContext, case: &Case) {
    let (y, dx, dw) = run_gpu(ctx, case);
    let weight = case.weight.as_deref();
    let what = format!("{} forward, {:?}", case.op, case.placement);
    common::assert_matches(
        &what,
        &case.x,
        &y,
        |dn| cpu::forward(&case.op, &case.x, &case.shape, weight, dn).unwrap(),
        case.op.forward_tolerance(),
    );
    let what = format!("{} backward, {:?}", case.op, case.placement);
    common::assert_matches(
        &what,
        &case.x,
        &dx,
        |dn| cpu::backward(&case.op, &case.x, &case.g, &case.shape, weight, dn).unwrap(),
        case.op.backward_tolerance(),
    );
    match dw {
        Some(dw) => check_weight_grad(case, &dw),
        None => assert!(!case.op.uses_weight(), "PReLU returned no weight gradient"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_cpu_reference(case in case()) {
        let ctx = match common::gpu() { Some(ctx) => ctx, None => return Ok(()) };
        check_case(ctx, &case);
    }
}

/// The elementwise ops' tolerances are what the docs say they are.
#[test]
fn tolerances_are_as_documented() {
    for op in Activation::ALL_DEFAULTS {
        let expected = match op {
            Activation::Elu { .. } | Activation::Selu => Tolerance::Ulps(6),
            _ => Tolerance::Exact,
        };
        assert_eq!(op.forward_tolerance(), expected, "{op}");
    }
}

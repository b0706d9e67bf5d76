//! The gated ops (glu, silu_and_mul, gelu_and_mul, gelu_tanh_and_mul,
//! relu_and_mul, fatrelu_and_mul) on the GPU: PyTorch's values from its
//! formulas in f64; property tests against the f64 CPU twin over shapes of
//! 1 to 4 dimensions split first, in the middle and last, joined halves
//! and halves apart, f32 and f16; every pair of special values; lengths 0,
//! 1 and past 65535 * 256; tensors in many pieces and dispatches folded
//! into 2-D grids (devices with tiny limits); caller buffers; errors.
//!
//! Tolerances: each op's activation's ([`GatedActivation::forward_tolerance_for`],
//! [`GatedActivation::backward_tolerance_for`]) on `act(gate)` and on the
//! gate's gradient, and one rounding of the product
//! (`cpu::gated::accepts_product`, `cpu::gated::accepts_gate_gradient`).

mod common;

use proptest::prelude::*;
use wgpu::util::DeviceExt;
use wgpu_activations::accuracy::{ulp_distance, Element};
use wgpu_activations::cpu::gated as twin;
use wgpu_activations::cpu::{self, Denormals, Float};
use wgpu_activations::gated::{GatedGeometry, Half};
use wgpu_activations::{
    f16, ActivationError, DType, GatedActivation, GatedBackwardBuffers, GatedForwardBuffers,
    GatedHalves, GpuContext, GpuTensor, TensorView, Tolerance,
};

trait Elem: Float + Element + bytemuck::Pod + std::fmt::Debug + PartialEq {
    const DTYPE: DType;
    fn of(v: f32) -> Self;
}

impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    fn of(v: f32) -> Self {
        v
    }
}

impl Elem for f16 {
    const DTYPE: DType = DType::F16;
    fn of(v: f32) -> Self {
        f16::from_f32(v)
    }
}

fn has_f16(ctx: &GpuContext) -> bool {
    ctx.device().features().contains(wgpu::Features::SHADER_F16)
}

fn upload<T: Elem>(ctx: &GpuContext, data: &[T], shape: &[usize]) -> GpuTensor {
    match T::DTYPE {
        DType::F32 => ctx.upload(bytemuck::cast_slice(data), shape).unwrap(),
        DType::F16 => ctx.upload_f16(bytemuck::cast_slice(data), shape).unwrap(),
    }
}

fn download<T: Elem>(ctx: &GpuContext, t: &GpuTensor) -> Vec<T> {
    match T::DTYPE {
        DType::F32 => bytemuck::cast_slice(&ctx.download(t).unwrap()).to_vec(),
        DType::F16 => bytemuck::cast_slice(&ctx.download_f16(t).unwrap()).to_vec(),
    }
}

/// Whether `actual` is accepted for the pair `(first, second)`: the output
/// (`g` is `None`), or the gradient of half `which` (0: first, 1: second)
/// for the output's gradient `g`.
fn accepted<T: Elem>(op: &GatedActivation, pair: (T, T), g: Option<(T, usize)>, actual: T) -> bool {
    let act = op.activation();
    let (gate, value, gate_half) = match op.gate() {
        Half::First => (pair.0, pair.1, 0),
        Half::Second => (pair.1, pair.0, 1),
    };
    let forward = op.forward_tolerance_for(T::DTYPE);
    match g {
        None => twin::accepts_product(&act, forward, gate, value, actual),
        Some((g, which)) if which == gate_half => twin::accepts_gate_gradient(
            &act,
            op.backward_tolerance_for(T::DTYPE),
            gate,
            value,
            g,
            actual,
        ),
        Some((g, _)) => twin::accepts_product(&act, forward, gate, g, actual),
    }
}

/// Checks a joined forward and backward of `op` over `x` of `shape`.
fn check_joined<T: Elem>(
    ctx: &GpuContext,
    op: &GatedActivation,
    shape: &[usize],
    x: &[T],
    g: &[T],
) -> Result<(), String> {
    let geometry = op.geometry(shape).unwrap();
    let out_shape = op.output_shape(shape).unwrap();
    let xt = upload(ctx, x, shape);
    let gt = upload(ctx, g, &out_shape);
    let y: Vec<T> = download(ctx, &ctx.gated_forward(op, &xt).map_err(|e| e.to_string())?);
    let gx: Vec<T> = download(
        ctx,
        &ctx.gated_backward(op, &xt, &gt)
            .map_err(|e| e.to_string())?,
    );
    compare(op, &geometry, x, g, &y, &gx, shape)
}

fn compare<T: Elem>(
    op: &GatedActivation,
    geometry: &GatedGeometry,
    x: &[T],
    g: &[T],
    y: &[T],
    gx: &[T],
    shape: &[usize],
) -> Result<(), String> {
    if y.len() != geometry.output_len() || gx.len() != x.len() {
        return Err(format!("{op} {shape:?}: lengths {} {}", y.len(), gx.len()));
    }
    for o in 0..y.len() {
        let (i, h) = twin::pair_index(geometry, o);
        let pair = (x[i], x[i + h]);
        if !accepted(op, pair, None, y[o]) {
            return Err(format!(
                "{op} {shape:?} forward, output {o}: pair {pair:?}: GPU {:?}, CPU {:?}",
                y[o],
                twin::forward_scalar_pair(
                    op,
                    pair.0.to_f64(),
                    pair.1.to_f64(),
                    Denormals::Preserve
                )
            ));
        }
        for (which, index) in [(0, i), (1, i + h)] {
            if !accepted(op, pair, Some((g[o], which)), gx[index]) {
                return Err(format!(
                    "{op} {shape:?} backward, half {which} of output {o}: pair {pair:?}, g {:?}: \
                     GPU {:?}, CPU {:?}",
                    g[o],
                    gx[index],
                    twin::backward_scalar_pair(
                        op,
                        pair.0.to_f64(),
                        pair.1.to_f64(),
                        g[o].to_f64(),
                        Denormals::Preserve
                    )
                ));
            }
        }
    }
    Ok(())
}

/// Checks the two-tensor form over `first`, `second`, `g` (same length).
fn check_split<T: Elem>(
    ctx: &GpuContext,
    op: &GatedActivation,
    shape: &[usize],
    first: &[T],
    second: &[T],
    g: &[T],
) -> Result<(), String> {
    let (a, b, gt) = (
        upload(ctx, first, shape),
        upload(ctx, second, shape),
        upload(ctx, g, shape),
    );
    let y: Vec<T> = download(ctx, &ctx.gated_forward_halves(op, &a, &b).unwrap());
    let (ga, gb) = ctx.gated_backward_halves(op, &a, &b, &gt).unwrap();
    let (ga, gb): (Vec<T>, Vec<T>) = (download(ctx, &ga), download(ctx, &gb));
    for i in 0..first.len() {
        let pair = (first[i], second[i]);
        let ok = accepted(op, pair, None, y[i])
            && accepted(op, pair, Some((g[i], 0)), ga[i])
            && accepted(op, pair, Some((g[i], 1)), gb[i]);
        if !ok {
            return Err(format!(
                "{op} halves apart, element {i}: pair {pair:?}, g {:?}: y {:?}, grads {:?} {:?}",
                g[i], y[i], ga[i], gb[i]
            ));
        }
    }
    Ok(())
}

/// Every gated op, its parameters drawn (fatrelu's threshold).
fn op_strategy() -> impl Strategy<Value = GatedActivation> {
    (
        proptest::sample::select(GatedActivation::OPS),
        -2.0f32..2.0,
        any::<bool>(),
    )
        .prop_map(|(info, threshold, zero)| match info.default {
            GatedActivation::FatreluAndMul { .. } => GatedActivation::FatreluAndMul {
                threshold: if zero { 0.0 } else { threshold },
            },
            other => other,
        })
}

/// A shape of 1 to 4 dimensions and a dim to split (even there): first,
/// middle or last, as a negative or positive index.
fn shape_strategy() -> impl Strategy<Value = (Vec<usize>, i64)> {
    (
        proptest::collection::vec(0usize..6, 1..=4),
        any::<u8>(),
        any::<bool>(),
    )
        .prop_map(|(mut shape, pick, negative)| {
            let rank = shape.len();
            let dim = pick as usize % rank;
            shape[dim] = (shape[dim] / 2).max(1) * 2;
            let dim = if negative {
                dim as i64 - rank as i64
            } else {
                dim as i64
            };
            (shape, dim)
        })
}

fn values(len: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(common::strategies::value(), len)
}

/// Moderate values (their products stay within f32), with the specials.
fn gradient_values(len: usize) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(
        prop_oneof![
            3 => -4.0f32..4.0,
            1 => proptest::sample::select(&[0.0f32, -0.0, 1.0, f32::INFINITY, f32::NAN][..]),
        ],
        len,
    )
}

fn case() -> impl Strategy<Value = (GatedActivation, Vec<usize>, Vec<f32>, Vec<f32>)> {
    (op_strategy(), shape_strategy()).prop_flat_map(|(op, (shape, dim))| {
        let op = op.along(dim);
        let shape = match op {
            GatedActivation::Glu { .. } => shape,
            _ => {
                // The `*_and_mul` ops split the last dimension.
                let mut shape = shape;
                let last = shape.len() - 1;
                shape[last] = (shape[last] / 2).max(1) * 2;
                shape
            }
        };
        let len: usize = shape.iter().product();
        (Just(op), Just(shape), values(len), gradient_values(len / 2))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_the_cpu_twin((op, shape, x, g) in case()) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        check_joined(ctx, &op, &shape, &x, &g).map_err(TestCaseError::fail)?;
        let d = x.len() / 2;
        let (first, second) = (&x[..d], &x[d..]);
        check_split(ctx, &op, &[d], first, second, &g).map_err(TestCaseError::fail)?;
        if has_f16(ctx) {
            let xh: Vec<f16> = x.iter().map(|&v| f16::of(v)).collect();
            let gh: Vec<f16> = g.iter().map(|&v| f16::of(v)).collect();
            check_joined(ctx, &op, &shape, &xh, &gh).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn odd_sizes_are_refused((op, (mut shape, dim)) in (op_strategy(), shape_strategy())) {
        let Some(ctx) = common::gpu() else { return Ok(()) };
        let op = op.along(dim);
        let d = op.resolve_dim(&shape).unwrap();
        shape[d] = shape[d] / 2 * 2 + 1;
        let x = ctx.empty(&shape).unwrap();
        let err = ctx.gated_forward(&op, &x).unwrap_err();
        prop_assert!(matches!(err, ActivationError::OddHalves { .. }), "{}", err);
        prop_assert!(err.to_string().contains("odd"));
    }
}

/// Every pair of special values (zeros, infinities, NaN, kinks, subnormals,
/// huge) through every op, both layouts, f32 and f16.
#[test]
fn special_value_pairs() {
    let ctx = gpu_or_skip!();
    let mut specials: Vec<f32> = common::strategies::SPECIAL_VALUES.to_vec();
    specials.extend([0.25, -0.25, 2.0]); // fatrelu's threshold below
    let n = specials.len();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for &a in &specials {
        for &b in &specials {
            first.push(a);
            second.push(b);
        }
    }
    let g: Vec<f32> = (0..n * n)
        .map(|i| [1.0, -0.5, 0.0, 3.0, f32::INFINITY][i % 5])
        .collect();
    let ops: Vec<GatedActivation> = GatedActivation::OPS
        .iter()
        .map(|info| info.default)
        .chain([GatedActivation::FatreluAndMul { threshold: 0.25 }])
        .collect();
    for op in &ops {
        // Joined along the first dimension: [first; second].
        let op_dim = op.along(0);
        let (x, shape) = match op_dim {
            GatedActivation::Glu { .. } => {
                ([first.clone(), second.clone()].concat(), vec![2, n * n])
            }
            _ => (
                first
                    .iter()
                    .zip(&second)
                    .flat_map(|(&a, &b)| [a, b])
                    .collect(),
                vec![n * n, 2],
            ),
        };
        check_joined(ctx, &op_dim, &shape, &x, &g).unwrap();
        check_split(ctx, op, &[n * n], &first, &second, &g).unwrap();
        if has_f16(ctx) {
            let h = |v: &[f32]| v.iter().map(|&v| f16::of(v)).collect::<Vec<f16>>();
            check_joined(ctx, &op_dim, &shape, &h(&x), &h(&g)).unwrap();
            check_split(ctx, op, &[n * n], &h(&first), &h(&second), &h(&g)).unwrap();
        }
    }
}

// PyTorch's formulas in f64, written down independently of the crate's twin.

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The activation of each op and its derivative, from PyTorch's docs.
fn pytorch_activation(op: &GatedActivation, x: f64) -> (f64, f64) {
    const K: f64 = 0.797_884_560_802_865_4; // sqrt(2 / pi)
    match *op {
        GatedActivation::Glu { .. } => {
            let s = sigmoid(x);
            (s, s * (1.0 - s))
        }
        GatedActivation::SiluAndMul => {
            let s = sigmoid(x);
            (x * s, s * (1.0 + x * (1.0 - s)))
        }
        GatedActivation::GeluAndMul => {
            let cdf = 0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (x * cdf, cdf + x * pdf)
        }
        GatedActivation::GeluTanhAndMul => {
            let inner = K * (x + 0.044715 * x * x * x);
            let t = inner.tanh();
            let d_inner = K * (1.0 + 3.0 * 0.044715 * x * x);
            (
                0.5 * x * (1.0 + t),
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner,
            )
        }
        GatedActivation::ReluAndMul => (x.max(0.0), if x > 0.0 { 1.0 } else { 0.0 }),
        GatedActivation::FatreluAndMul { threshold } => {
            let t = f64::from(threshold);
            if x > t {
                (x, 1.0)
            } else {
                (0.0, 0.0)
            }
        }
    }
}

/// PyTorch's values at a handful of pairs, kinks included, for every op
/// (f32 and f16): output and both halves' gradients.
#[test]
fn pytorch_values() {
    let ctx = gpu_or_skip!();
    let gates: [f32; 8] = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 0.25];
    let values: [f32; 8] = [2.0, -1.5, 0.25, 4.0, -3.0, 1.0, 0.5, -2.0];
    let g: [f32; 8] = [1.0, 0.5, -2.0, 1.0, 3.0, -1.0, 0.25, 1.0];
    let ops = GatedActivation::OPS
        .iter()
        .map(|info| info.default)
        .chain([GatedActivation::FatreluAndMul { threshold: 0.25 }]);
    for op in ops {
        // glu along dim 0 of (2, 8) and dim 1 of (8, 2); the others [8, 16].
        let (first, second) = match op.gate() {
            Half::First => (gates, values),
            Half::Second => (values, gates),
        };
        let mut expected = Vec::new();
        for i in 0..8 {
            let (gate, value) = (f64::from(gates[i]), f64::from(values[i]));
            let (f, df) = pytorch_activation(&op, gate);
            let gi = f64::from(g[i]);
            let grad_gate = gi * value * df;
            let grad_value = gi * f;
            let (ga, gb) = match op.gate() {
                Half::First => (grad_gate, grad_value),
                Half::Second => (grad_value, grad_gate),
            };
            expected.push((f * value, ga, gb));
        }
        // Away from subnormals an activation within k ulps (relative) is
        // within 2k ulps of the product, rounded once more; one more ulp
        // for rounding the f64 value.
        let ulps = |t: Tolerance| match t {
            Tolerance::Exact => 1,
            Tolerance::Close { ulps, .. } => 2 * u64::from(ulps) + 2,
        };
        let shapes: Vec<(GatedActivation, Vec<f32>, Vec<usize>, bool)> = match op {
            GatedActivation::Glu { .. } => vec![
                (op.along(0), [first, second].concat(), vec![2, 8], false),
                (
                    op.along(1),
                    first
                        .iter()
                        .zip(&second)
                        .flat_map(|(&a, &b)| [a, b])
                        .collect(),
                    vec![8, 2],
                    true,
                ),
            ],
            _ => vec![(op, [first, second].concat(), vec![1, 16], false)],
        };
        for (op, x, shape, interleaved) in shapes {
            let xt = ctx.upload(&x, &shape).unwrap();
            let out_shape = op.output_shape(&shape).unwrap();
            let gt = ctx.upload(&g, &out_shape).unwrap();
            let y = ctx.download(&ctx.gated_forward(&op, &xt).unwrap()).unwrap();
            let gx = ctx
                .download(&ctx.gated_backward(&op, &xt, &gt).unwrap())
                .unwrap();
            let (fu, bu) = (ulps(op.forward_tolerance()), ulps(op.backward_tolerance()));
            for (i, &(ye, ga, gb)) in expected.iter().enumerate() {
                let (ia, ib) = if interleaved {
                    (2 * i, 2 * i + 1)
                } else {
                    (i, i + 8)
                };
                let close =
                    |actual: f32, want: f64, ulps: u64| ulp_distance(actual, want as f32) <= ulps;
                assert!(
                    close(y[i], ye, fu),
                    "{op} {shape:?} y[{i}]: {} vs {ye}",
                    y[i]
                );
                assert!(
                    close(gx[ia], ga, bu),
                    "{op} grad a[{i}]: {} vs {ga}",
                    gx[ia]
                );
                assert!(
                    close(gx[ib], gb, bu),
                    "{op} grad b[{i}]: {} vs {gb}",
                    gx[ib]
                );
            }
            if has_f16(ctx) && !interleaved {
                let h: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
                let gh: Vec<f16> = g.iter().map(|&v| f16::from_f32(v)).collect();
                let xt = ctx.upload_f16(&h, &shape).unwrap();
                let gt = ctx.upload_f16(&gh, &out_shape).unwrap();
                let y = ctx
                    .download_f16(&ctx.gated_forward(&op, &xt).unwrap())
                    .unwrap();
                for (i, &(ye, _, _)) in expected.iter().enumerate() {
                    // The inputs are exact in f16: one f16 rounding, plus one ulp.
                    assert!(
                        ulp_distance(y[i], f16::from_f64(ye)) <= 1,
                        "{op} f16 y[{i}]: {} vs {ye}",
                        y[i]
                    );
                }
                let gx = ctx
                    .download_f16(&ctx.gated_backward(&op, &xt, &gt).unwrap())
                    .unwrap();
                for (i, &(_, ga, gb)) in expected.iter().enumerate() {
                    assert!(
                        ulp_distance(gx[i], f16::from_f64(ga)) <= 1,
                        "{op} f16 ga[{i}]"
                    );
                    assert!(
                        ulp_distance(gx[i + 8], f16::from_f64(gb)) <= 1,
                        "{op} f16 gb[{i}]"
                    );
                }
            }
        }
    }
}

#[test]
fn every_op_has_pinned_values() {
    // `pytorch_activation` matches every variant: a new op without a
    // formula does not compile; this checks the registry against it.
    for info in GatedActivation::OPS {
        let (f, _) = pytorch_activation(&info.default, 1.0);
        assert!(f.is_finite(), "{}", info.name);
    }
}

#[test]
fn empty_and_single_pairs() {
    let ctx = gpu_or_skip!();
    for info in GatedActivation::OPS {
        let op = info.default;
        let x = ctx.upload(&[], &[0, 4]).unwrap();
        let y = ctx.gated_forward(&op, &x).unwrap();
        assert_eq!(y.shape(), [0, 2]);
        let g = ctx.upload(&[], &[0, 2]).unwrap();
        assert!(ctx.gated_backward(&op, &x, &g).unwrap().is_empty());
        check_joined(ctx, &op, &[2], &[0.75f32, -2.0], &[1.5f32]).unwrap();
        // Empty, with dimensions beside the 0 that multiply past usize::MAX.
        let x = ctx.upload(&[], &[0, 1 << 40, 1 << 40, 4]).unwrap();
        let y = ctx.gated_forward(&op, &x).unwrap();
        assert_eq!(y.shape(), [0, 1 << 40, 1 << 40, 2]);
        assert!(ctx.gated_backward(&op, &x, &y).unwrap().is_empty());
    }
}

fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
        })
        .collect()
}

/// Bindings of 1 KiB and 7 workgroups per dimension: tensors in many
/// pieces of whole pairs, dispatches folded into 2-D grids; a pair of
/// halves larger than a binding is a clear error.
#[test]
fn tiny_limits_give_pieces_and_grids() {
    let Some(ctx) = common::custom_context(wgpu::Features::SHADER_F16, |l| {
        l.max_storage_buffer_binding_size = 1024;
        l.max_compute_workgroups_per_dimension = 7;
    }) else {
        return;
    };
    for (op, shape) in [
        (GatedActivation::SiluAndMul, vec![500usize, 6]),
        (GatedActivation::Glu { dim: 1 }, vec![40, 6, 5]),
        (GatedActivation::Glu { dim: 0 }, vec![2, 100]),
        (GatedActivation::ReluAndMul, vec![3000, 2]),
    ] {
        let len: usize = shape.iter().product();
        let (x, g) = (data(len, 3), data(len / 2, 4));
        check_joined(&ctx, &op, &shape, &x, &g).unwrap();
        let d = len / 2;
        check_split(&ctx, &op, &[d], &x[..d], &x[d..], &g).unwrap();
    }
    let x = ctx.empty(&[2, 300]).unwrap();
    let err = ctx
        .gated_forward(&GatedActivation::Glu { dim: 0 }, &x)
        .unwrap_err();
    assert!(matches!(err, ActivationError::TooLarge { .. }), "{err}");
}

/// Past 65535 * 256 output elements: a 2-D grid, and (with the default
/// 128 MiB bindings) an input larger than one binding.
#[test]
fn past_65535_workgroups() {
    let ctx = gpu_or_skip!();
    let pairs = 65535 * 256 + 1000;
    let x: Vec<f32> = (0..2 * pairs)
        .map(|i| ((i % 1999) as f32 - 999.0) / 64.0)
        .collect();
    let op = GatedActivation::ReluAndMul;
    let xt = ctx.upload(&x, &[pairs, 2]).unwrap();
    let y = ctx.download(&ctx.gated_forward(&op, &xt).unwrap()).unwrap();
    assert_eq!(y.len(), pairs);
    for (o, &v) in y.iter().enumerate() {
        let expected = x[2 * o].max(0.0) * x[2 * o + 1];
        assert_eq!(v.to_bits(), expected.to_bits(), "output {o}");
    }
}

fn raw_buffer(
    ctx: &GpuContext,
    offset: u64,
    data: &[f32],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    let mut bytes = vec![0xA5u8; offset as usize];
    bytes.extend_from_slice(bytemuck::cast_slice(data));
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test buffer"),
            contents: &bytes,
            usage,
        })
}

/// The recording API over caller buffers at offsets: joined and apart,
/// into the caller's encoder and into the caller's pass; bytes around the
/// views untouched.
#[test]
fn caller_buffers_and_passes() {
    let ctx = gpu_or_skip!();
    let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let offset = u64::from(ctx.limits().min_storage_buffer_offset_alignment);
    let op = GatedActivation::SiluAndMul;
    let shape = [3usize, 10];
    let x = data(30, 7);
    let g = data(15, 8);
    let xb = raw_buffer(ctx, offset, &x, storage);
    let gb = raw_buffer(ctx, offset, &g, storage);
    let yb = raw_buffer(ctx, offset, &[9.0; 16], storage);
    let gxb = raw_buffer(ctx, offset, &[9.0; 31], storage);
    let input = TensorView::new(&xb, offset, 30);
    let mut encoder = ctx.create_encoder();
    ctx.encode_gated_forward(
        &mut encoder,
        &op,
        &shape,
        &GatedForwardBuffers {
            input: GatedHalves::Joined(input),
            output: TensorView::new(&yb, offset, 15),
        },
    )
    .unwrap();
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        ctx.encode_gated_backward_in_pass(
            &mut pass,
            &op,
            &shape,
            &GatedBackwardBuffers {
                input: GatedHalves::Joined(input),
                grad_output: TensorView::new(&gb, offset, 15),
                grad_input: GatedHalves::Joined(TensorView::new(&gxb, offset, 30)),
            },
        )
        .unwrap();
    }
    ctx.submit(encoder).unwrap();
    let y = ctx.read_view(TensorView::new(&yb, offset, 16)).unwrap();
    let gx = ctx.read_view(TensorView::new(&gxb, offset, 31)).unwrap();
    assert_eq!(y[15], 9.0, "past the output");
    assert_eq!(gx[30], 9.0, "past the gradient");
    let geometry = op.geometry(&shape).unwrap();
    compare(&op, &geometry, &x, &g, &y[..15], &gx[..30], &shape).unwrap();

    // Halves apart: two views of one buffer (read-only) are fine.
    let first = TensorView::new(&xb, offset, 15);
    let second_buffer = raw_buffer(ctx, 0, &x[15..], storage);
    let second = TensorView::new(&second_buffer, 0, 15);
    let out = raw_buffer(ctx, 0, &[0.0; 15], storage);
    let mut encoder = ctx.create_encoder();
    ctx.encode_gated_forward(
        &mut encoder,
        &op,
        &[15],
        &GatedForwardBuffers {
            input: GatedHalves::Split { first, second },
            output: TensorView::new(&out, 0, 15),
        },
    )
    .unwrap();
    ctx.submit(encoder).unwrap();
    let y = ctx.read_view(TensorView::new(&out, 0, 15)).unwrap();
    for i in 0..15 {
        let want = cpu::narrow::<f32>(
            twin::forward_scalar_pair(
                &op,
                f64::from(x[i]),
                f64::from(x[15 + i]),
                Denormals::Preserve,
            ),
            Denormals::Preserve,
        );
        assert!(
            twin::accepts_product(
                &op.activation(),
                op.forward_tolerance(),
                x[i],
                x[15 + i],
                y[i]
            ),
            "{i}: {} vs {want}",
            y[i]
        );
    }
}

#[test]
fn bad_arguments_are_errors() {
    let ctx = gpu_or_skip!();
    let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let op = GatedActivation::SiluAndMul;
    let x = ctx.upload(&data(12, 1), &[3, 4]).unwrap();
    // grad_output of the input's shape, not the output's.
    let err = ctx.gated_backward(&op, &x, &x).unwrap_err();
    assert!(
        matches!(err, ActivationError::ShapeMismatch { .. }),
        "{err}"
    );
    // dim out of range, 0-D.
    let err = ctx
        .gated_forward(&GatedActivation::Glu { dim: 2 }, &x)
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::DimOutOfRange { .. }),
        "{err}"
    );
    let scalar = ctx.upload(&[1.0], &[]).unwrap();
    assert!(matches!(
        ctx.gated_forward(&op, &scalar),
        Err(ActivationError::UnsupportedRank { .. })
    ));
    // Halves of different shapes.
    let a = ctx.upload(&[1.0, 2.0], &[2]).unwrap();
    let b = ctx.upload(&[1.0, 2.0, 3.0], &[3]).unwrap();
    assert!(matches!(
        ctx.gated_forward_halves(&op, &a, &b),
        Err(ActivationError::ShapeMismatch { .. })
    ));
    // A non-finite threshold.
    assert!(matches!(
        ctx.gated_forward(
            &GatedActivation::FatreluAndMul {
                threshold: f32::NAN
            },
            &x
        ),
        Err(ActivationError::InvalidParameter { .. })
    ));
    // Aliasing: the output in the input's buffer.
    let buffer = raw_buffer(ctx, 0, &[1.0; 128], storage);
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_gated_forward(
            &mut encoder,
            &op,
            &[4],
            &GatedForwardBuffers {
                input: GatedHalves::Joined(TensorView::new(&buffer, 0, 4)),
                output: TensorView::new(&buffer, 256, 2),
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::AliasedBuffers { .. }),
        "{err}"
    );
    // Wrong lengths, misaligned offsets, missing usage, dtypes.
    let other = raw_buffer(ctx, 0, &[1.0; 128], storage);
    let forward = |input: TensorView<'_>, output: TensorView<'_>| {
        let mut encoder = ctx.create_encoder();
        ctx.encode_gated_forward(
            &mut encoder,
            &op,
            &[4],
            &GatedForwardBuffers {
                input: GatedHalves::Joined(input),
                output,
            },
        )
    };
    assert!(matches!(
        forward(
            TensorView::new(&buffer, 0, 4),
            TensorView::new(&other, 0, 4)
        ),
        Err(ActivationError::LengthMismatch { .. })
    ));
    assert!(matches!(
        forward(
            TensorView::new(&buffer, 4, 4),
            TensorView::new(&other, 0, 2)
        ),
        Err(ActivationError::MisalignedOffset { .. })
    ));
    assert!(matches!(
        forward(
            TensorView::new(&buffer, 0, 4),
            TensorView::new_f16(&other, 0, 2)
        ),
        Err(ActivationError::DtypeMismatch { .. })
    ));
    let uniform = raw_buffer(ctx, 0, &[1.0; 4], wgpu::BufferUsages::UNIFORM);
    assert!(matches!(
        forward(
            TensorView::new(&uniform, 0, 4),
            TensorView::new(&other, 0, 2)
        ),
        Err(ActivationError::MissingUsage { .. })
    ));
    // grad_input laid out unlike the input.
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_gated_backward(
            &mut encoder,
            &op,
            &[4],
            &GatedBackwardBuffers {
                input: GatedHalves::Joined(TensorView::new(&buffer, 0, 4)),
                grad_output: TensorView::new(&buffer, 256, 2),
                grad_input: GatedHalves::Split {
                    first: TensorView::new(&other, 0, 2),
                    second: TensorView::new(&other, 256, 2),
                },
            },
        )
        .unwrap_err();
    assert!(matches!(err, ActivationError::Unsupported { .. }), "{err}");
    // The context still works.
    check_joined(ctx, &op, &[3, 4], &data(12, 1), &data(6, 2)).unwrap();
}

#[test]
fn tensors_of_another_context_and_a_lost_device() {
    let ctx = gpu_or_skip!();
    let other = GpuContext::new().unwrap();
    let x = other.upload(&[1.0, 2.0], &[2]).unwrap();
    assert!(matches!(
        ctx.gated_forward(&GatedActivation::SiluAndMul, &x),
        Err(ActivationError::ForeignTensor { .. })
    ));
    let op = GatedActivation::Glu { dim: -1 };
    let g = other.upload(&[1.0], &[1]).unwrap();
    other.gated_backward(&op, &x, &g).unwrap();
    other.device().destroy();
    let _ = other.device().poll(wgpu::PollType::wait_indefinitely());
    for result in [
        other.gated_forward(&op, &x).map(|_| ()),
        other.gated_backward(&op, &x, &g).map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(ActivationError::DeviceLost(_))),
            "{result:?}"
        );
    }
    let mut encoder = other.device().create_command_encoder(&Default::default());
    let err = other
        .encode_gated_forward(
            &mut encoder,
            &op,
            &[2],
            &GatedForwardBuffers {
                input: GatedHalves::Joined(x.view()),
                output: g.view(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, ActivationError::DeviceLost(_)), "{err}");
}

/// The README's table of the gated ops, generated from the registry
/// (`BLESS=1 cargo test --test gated` rewrites it).
#[test]
fn readme_table_is_current() {
    let mut table = String::from(
        "| op | parameters | forward | gradients (a, b: the halves) | tolerance f32: act(gate) / gate's gradient | f16 (product: +1 f16 ulp unless exact) | where the error comes from |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for info in GatedActivation::OPS {
        let op = info.default;
        let parameters: Vec<String> = info
            .parameters
            .iter()
            .map(|p| format!("`{}={}`", p.name, info.default_value(p.name).unwrap()))
            .collect();
        table += &format!(
            "| `{}` | {} | `{}` | `{}` | {} / {} | {} / {} | {} |\n",
            info.name,
            if parameters.is_empty() {
                "-".to_string()
            } else {
                parameters.join(", ")
            },
            info.summary.replace('|', "\\|"),
            info.gradient.replace('|', "\\|"),
            op.forward_tolerance(),
            op.backward_tolerance(),
            op.forward_tolerance_for(DType::F16),
            op.backward_tolerance_for(DType::F16),
            info.accuracy,
        );
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let (begin, end) = (
        "<!-- generated: gated ops (tests/gated.rs; BLESS=1 cargo test --test gated) -->\n",
        "<!-- end: gated ops -->",
    );
    let start = readme
        .find(begin)
        .expect("README has the gated table markers")
        + begin.len();
    let stop = readme[start..].find(end).expect("end marker") + start;
    if readme[start..stop] != table {
        if std::env::var("BLESS").is_ok() {
            let updated = format!("{}{table}{}", &readme[..start], &readme[stop..]);
            std::fs::write(path, updated).unwrap();
        } else {
            panic!("README's gated table is stale: run BLESS=1 cargo test --test gated");
        }
    }
}

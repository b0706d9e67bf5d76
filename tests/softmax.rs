//! The row ops (softmax, log_softmax, softmin, softmax2d) on the GPU
//! against the f64 CPU twin: property tests over shapes of 1 to 5
//! dimensions, every dimension, the row lengths where the kernels change
//! (1, 2, 3, 127, 128, 129, 4096, 4097, 65537) and special values, in f32
//! and f16, through the tensor API, caller buffers and the caller's pass;
//! PyTorch's values; the special-value rule; subgroup and workgroup-memory
//! reductions giving the same bits; devices with tiny limits (tensors in
//! many pieces, dispatches folded into 2-D grids); errors.

mod common;

use proptest::prelude::*;
use wgpu::util::DeviceExt;
use wgpu_activations::accuracy::Element;
use wgpu_activations::cpu::softmax as twin;
use wgpu_activations::cpu::{self, Denormals, Float};
use wgpu_activations::row::RowTolerance;
use wgpu_activations::{
    f16, ActivationError, DType, GpuContext, RowActivation, RowBackwardBuffers, RowForwardBuffers,
    TensorView,
};

/// An element type of the tests: f32 or f16.
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

fn upload<T: Elem>(ctx: &GpuContext, data: &[T], shape: &[usize]) -> wgpu_activations::GpuTensor {
    match T::DTYPE {
        DType::F32 => ctx.upload(bytemuck::cast_slice(data), shape).unwrap(),
        DType::F16 => ctx.upload_f16(bytemuck::cast_slice(data), shape).unwrap(),
    }
}

fn read<T: Elem>(ctx: &GpuContext, view: TensorView<'_>) -> Vec<T> {
    match T::DTYPE {
        DType::F32 => bytemuck::cast_slice(&ctx.read_view(view).unwrap()).to_vec(),
        DType::F16 => bytemuck::cast_slice(&ctx.read_view_f16(view).unwrap()).to_vec(),
    }
}

/// A caller's buffer holding `data` after `offset` bytes of filler, rounded
/// up to whole words (so a view of it is exactly sized).
fn raw_buffer<T: Elem>(ctx: &GpuContext, offset: u64, data: &[T]) -> wgpu::Buffer {
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

/// Whether `actual` is accepted against the references with IEEE
/// subnormals or flushed to zero (GPUs may flush; that alone is forgiven).
fn accepted<T: Elem>(
    tolerance: RowTolerance,
    actual: T,
    exact: (f64, f64),
    flushed: (f64, f64),
) -> bool {
    let flushed_zero = cpu::narrow::<T>(flushed.0, Denormals::FlushToZero);
    tolerance.accepts(actual, exact.0, exact.1)
        || tolerance.accepts(actual, flushed.0, flushed.1)
        || (!flushed_zero.is_nan()
            && flushed_zero.ordered() == 0
            && !actual.is_nan()
            && actual.ordered() == 0)
}

fn check_forward<T: Elem>(what: &str, op: &RowActivation, shape: &[usize], x: &[T], y: &[T]) {
    let exact = twin::row_forward_reference(op, x, shape, Denormals::Preserve).unwrap();
    let flushed = twin::row_forward_reference(op, x, shape, Denormals::FlushToZero).unwrap();
    let tolerance = op.forward_tolerance_for(T::DTYPE);
    assert_eq!(y.len(), x.len(), "{what}: length");
    for i in 0..x.len() {
        assert!(
            accepted(tolerance, y[i], (exact[i], 0.0), (flushed[i], 0.0)),
            "{what}: {op} {:?} shape {shape:?}: element {i} of {}: x = {:?}: GPU {:?}, reference {:e} \
             (flushed {:e}), tolerance {tolerance}; row: {:?}",
            T::DTYPE,
            x.len(),
            x[i],
            y[i],
            exact[i],
            flushed[i],
            row_of(op, shape, x, i),
        );
    }
}

fn check_backward<T: Elem>(
    what: &str,
    op: &RowActivation,
    shape: &[usize],
    y: &[T],
    g: &[T],
    gx: &[T],
) {
    let exact = twin::row_backward_reference(op, y, g, shape, Denormals::Preserve).unwrap();
    let flushed = twin::row_backward_reference(op, y, g, shape, Denormals::FlushToZero).unwrap();
    let tolerance = op.backward_tolerance_for(T::DTYPE);
    assert_eq!(gx.len(), y.len(), "{what}: length");
    for i in 0..y.len() {
        assert!(
            accepted(
                tolerance,
                gx[i],
                (exact.0[i], exact.1[i]),
                (flushed.0[i], flushed.1[i])
            ),
            "{what}: {op} backward {:?} shape {shape:?}: element {i}: y = {:?}, g = {:?}: GPU {:?}, \
             reference {:e} (scale {:e}; flushed {:e}), tolerance {tolerance}; rows y {:?} g {:?}",
            T::DTYPE,
            y[i],
            g[i],
            gx[i],
            exact.0[i],
            exact.1[i],
            flushed.0[i],
            row_of(op, shape, y, i),
            row_of(op, shape, g, i),
        );
    }
}

/// The row of element `i` (its first 12 values), for messages.
fn row_of<T: Elem>(op: &RowActivation, shape: &[usize], data: &[T], i: usize) -> Vec<T> {
    let geometry = op.geometry(shape).unwrap();
    let (n, inner) = (geometry.n, geometry.inner);
    let r = (i / (n * inner)) * inner + i % inner;
    twin::row_indices(&geometry, r)
        .take(12)
        .map(|k| data[k])
        .collect()
}

/// Where the data lives for one case.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// `GpuContext::upload` tensors and `row_forward` / `row_backward`.
    Tensors,
    /// Exactly sized caller buffers after `offset` bytes, one encoder.
    Buffers { offset: u64 },
    /// Caller buffers, forward and backward in the caller's one pass.
    InPass,
}

/// Forward, then backward from the forward's GPU output: `(y, gx)`.
fn run<T: Elem>(
    ctx: &GpuContext,
    op: &RowActivation,
    shape: &[usize],
    x: &[T],
    g: &[T],
    placement: Placement,
) -> (Vec<T>, Vec<T>) {
    let len = x.len();
    match placement {
        Placement::Tensors => {
            let xt = upload(ctx, x, shape);
            let gt = upload(ctx, g, shape);
            let y = ctx.row_forward(op, &xt).unwrap();
            let gx = ctx.row_backward(op, &y, &gt).unwrap();
            (read(ctx, y.view()), read(ctx, gx.view()))
        }
        Placement::Buffers { .. } | Placement::InPass => {
            let offset = match placement {
                Placement::Buffers { offset } => offset,
                _ => 0,
            };
            let zeros = vec![T::of(0.0); len];
            let (xb, gb) = (raw_buffer(ctx, offset, x), raw_buffer(ctx, offset, g));
            let (yb, gxb) = (
                raw_buffer(ctx, offset, &zeros),
                raw_buffer(ctx, offset, &zeros),
            );
            let view = |b| TensorView::with_dtype(b, offset, len, T::DTYPE);
            let forward = RowForwardBuffers {
                input: view(&xb),
                output: view(&yb),
            };
            let backward = RowBackwardBuffers {
                output: view(&yb),
                grad_output: view(&gb),
                grad_input: view(&gxb),
            };
            let mut encoder = ctx.create_encoder();
            if matches!(placement, Placement::InPass) {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                ctx.encode_row_forward_in_pass(&mut pass, op, shape, &forward)
                    .unwrap();
                ctx.encode_row_backward_in_pass(&mut pass, op, shape, &backward)
                    .unwrap();
            } else {
                ctx.encode_row_forward(&mut encoder, op, shape, &forward)
                    .unwrap();
                ctx.encode_row_backward(&mut encoder, op, shape, &backward)
                    .unwrap();
            }
            ctx.submit(encoder).unwrap();
            (read(ctx, view(&yb)), read(ctx, view(&gxb)))
        }
    }
}

/// Runs `op` forward and backward on `x` and `g` and checks both against
/// the CPU twin; the backward is checked from the GPU's own forward output.
fn check<T: Elem>(
    ctx: &GpuContext,
    what: &str,
    op: &RowActivation,
    shape: &[usize],
    x: &[f32],
    g: &[f32],
    placement: Placement,
) -> (Vec<T>, Vec<T>) {
    let x: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let g: Vec<T> = g.iter().map(|&v| T::of(v)).collect();
    let (y, gx) = run(ctx, op, shape, &x, &g, placement);
    let what = format!("{what} ({placement:?})");
    check_forward(&what, op, shape, &x, &y);
    check_backward(&what, op, shape, &y, &g, &gx);
    (y, gx)
}

/// How a case's values are drawn.
#[derive(Debug, Clone, Copy)]
enum Values {
    Ordinary,
    /// The shared special values (NaN, infinities, subnormals, 1e30, ...).
    Special,
    /// Huge and tiny magnitudes of both signs: 1e30 against -1e30.
    Spread,
    /// Every element the same.
    Equal,
    /// Ordinary values and -inf (masked entries).
    NegativeInfinity,
    /// Ordinary values and the odd +inf.
    PositiveInfinity,
    /// Subnormals and tiny values.
    Tiny,
    /// Far below the maximum: exp underflows.
    Far,
}

fn values(kind: Values, len: usize) -> BoxedStrategy<Vec<f32>> {
    let ordinary = prop_oneof![4 => -8.0f32..8.0, 1 => -30.0f32..30.0];
    let element: BoxedStrategy<f32> = match kind {
        Values::Ordinary => ordinary.boxed(),
        Values::Special => common::strategies::value().boxed(),
        Values::Spread => proptest::sample::select(
            &[
                1e30f32, -1e30, 1e-30, -1e-30, 0.0, 3e38, -3e38, 1.0, 1e20, -1e20,
            ][..],
        )
        .boxed(),
        Values::Equal => {
            return (prop_oneof![ordinary, common::strategies::value()])
                .prop_map(move |v| vec![v; len])
                .boxed()
        }
        Values::NegativeInfinity => {
            prop_oneof![7 => ordinary, 3 => Just(f32::NEG_INFINITY)].boxed()
        }
        Values::PositiveInfinity => prop_oneof![200 => ordinary, 1 => Just(f32::INFINITY)].boxed(),
        Values::Tiny => prop_oneof![
            proptest::sample::select(
                &[1e-40f32, -1e-40, 1e-45, -1e-45, 0.0, -0.0, 1.1754944e-38][..]
            ),
            -1e-3f32..1e-3,
        ]
        .boxed(),
        Values::Far => (-120.0f32..10.0).boxed(),
    };
    proptest::collection::vec(element, len).boxed()
}

fn value_kind() -> impl Strategy<Value = Values> {
    prop_oneof![
        4 => Just(Values::Ordinary),
        2 => Just(Values::Special),
        1 => Just(Values::Spread),
        1 => Just(Values::Equal),
        2 => Just(Values::NegativeInfinity),
        1 => Just(Values::PositiveInfinity),
        1 => Just(Values::Tiny),
        2 => Just(Values::Far),
    ]
}

/// Row lengths where the kernels change: 1 to 3 (one lane), around 128
/// (a subgroup's worth), 4096 (the longest fused row) and 4097 (two chunks).
fn row_length() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => proptest::sample::select(&[1usize, 2, 3, 127, 128, 129][..]),
        4 => 1usize..300,
        1 => Just(4096usize),
        1 => Just(4097usize),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    op: RowActivation,
    shape: Vec<usize>,
    x: Vec<f32>,
    g: Vec<f32>,
    placement: Placement,
    /// The row kernels' budget of elements per lane: 16 is the GPU
    /// default, 64 lavapipe's, 4 the smallest.
    elements_per_lane: u32,
}

/// A shape of 1 to 5 dimensions with the row length at a random dimension
/// (given as a positive or a negative `dim`), the others small (0 at times:
/// an empty tensor).
fn case() -> impl Strategy<Value = Case> {
    (
        1usize..=5,
        0usize..5,
        row_length(),
        proptest::collection::vec(prop_oneof![10 => 1usize..=3, 1 => Just(0usize)], 4),
        any::<bool>(),
        proptest::sample::select(RowActivation::OPS),
        value_kind(),
        prop_oneof![
            Just(Placement::Tensors),
            Just(Placement::Buffers { offset: 0 }),
            Just(Placement::Buffers { offset: 256 }),
            Just(Placement::InPass),
        ],
        proptest::sample::select(vec![4u32, 16, 64]),
    )
        .prop_flat_map(
            |(rank, d, n, others, negative, info, kind, placement, elements_per_lane)| {
                let d = d % rank;
                let mut shape: Vec<usize> = others[..rank - 1].to_vec();
                if n > 300 {
                    let mut budget = 4;
                    for size in &mut shape {
                        *size = (*size).min(budget).max(usize::from(*size > 0));
                        budget /= (*size).max(1);
                    }
                }
                shape.insert(d, n);
                let dim = if negative {
                    d as i64 - rank as i64
                } else {
                    d as i64
                };
                let op = match (info.with_dim)(dim) {
                    RowActivation::Softmax2d if !(3..=4).contains(&rank) => {
                        RowActivation::Softmax { dim }
                    }
                    op => op,
                };
                let len: usize = shape.iter().product();
                let g = prop_oneof![
                    5 => proptest::collection::vec(-4.0f32..4.0, len),
                    1 => proptest::collection::vec(common::strategies::value(), len),
                ];
                (values(kind, len), g).prop_map(move |(x, g)| Case {
                    op,
                    shape: shape.clone(),
                    x,
                    g,
                    placement,
                    elements_per_lane,
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_cpu_twin_f32(case in case()) {
        let ctx = match common::gpu() { Some(ctx) => ctx, None => return Ok(()) };
        let ctx = &ctx.clone().with_row_elements_per_lane(case.elements_per_lane).unwrap();
        check::<f32>(ctx, "proptest", &case.op, &case.shape, &case.x, &case.g, case.placement);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn gpu_matches_cpu_twin_f16(case in case()) {
        let ctx = match common::gpu() { Some(ctx) => ctx, None => return Ok(()) };
        let ctx = &ctx.clone().with_row_elements_per_lane(case.elements_per_lane).unwrap();
        if !has_f16(ctx) {
            return Ok(());
        }
        check::<f16>(ctx, "proptest", &case.op, &case.shape, &case.x, &case.g, case.placement);
    }
}

/// Deterministic data: ordinary values with a slow trend, so that rows
/// differ and the maximum moves around.
fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let h = (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 8) % 20_011;
            h as f32 / 997.0 - 10.0
        })
        .collect()
}

#[test]
fn long_rows_along_every_dimension() {
    let ctx = gpu_or_skip!();
    let cases: &[(&[usize], i64)] = &[
        (&[65537], 0),
        (&[3, 65537], -1),
        (&[2, 131072], 1),
        (&[2, 65537, 3], 1),
        (&[70000, 2], 0),
        (&[5000, 4], -2),
        (&[2, 4097, 33], 1),
    ];
    for &(shape, dim) in cases {
        let len: usize = shape.iter().product();
        for info in RowActivation::OPS {
            let op = (info.with_dim)(dim);
            if op.resolve_dim(shape).is_err() {
                continue;
            }
            // The GPU default budget and lavapipe's: different chunks.
            for elements_per_lane in [16, 64] {
                let ctx = &ctx
                    .clone()
                    .with_row_elements_per_lane(elements_per_lane)
                    .unwrap();
                let what = format!("long rows {shape:?}, {elements_per_lane} per lane");
                check::<f32>(
                    ctx,
                    &what,
                    &op,
                    shape,
                    &data(len, 1),
                    &data(len, 2),
                    Placement::Tensors,
                );
                if has_f16(ctx) {
                    check::<f16>(
                        ctx,
                        &what,
                        &op,
                        shape,
                        &data(len, 3),
                        &data(len, 4),
                        Placement::Tensors,
                    );
                }
            }
        }
    }
}

#[test]
fn all_equal_rows_are_uniform_at_every_length() {
    let ctx = gpu_or_skip!();
    for n in [1usize, 2, 3, 127, 128, 129, 4096, 4097, 65537] {
        let x = vec![0.75f32; 2 * n];
        let g = data(2 * n, 5);
        for shape in [vec![2, n], vec![n, 2]] {
            let dim = if shape[0] == 2 { 1 } else { 0 };
            for info in RowActivation::OPS.iter().take(3) {
                let op = (info.with_dim)(dim);
                let (y, _) = check::<f32>(ctx, "equal", &op, &shape, &x, &g, Placement::Tensors);
                let expected = if op.kernel().log {
                    -(n as f64).ln()
                } else {
                    1.0 / n as f64
                };
                for v in y {
                    assert!(
                        (f64::from(v) - expected).abs()
                            <= expected.abs() * 4.0 * f64::from(f32::EPSILON),
                        "{op} n = {n}: {v} against {expected}"
                    );
                }
            }
        }
    }
}

#[test]
fn special_values_follow_the_documented_rule() {
    let ctx = gpu_or_skip!();
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    // (row, softmax, log_softmax)
    let rows: &[(&[f32], &[f32], &[f32])] = &[
        (&[1.0, nan, 2.0], &[nan, nan, nan], &[nan, nan, nan]),
        (&[1.0, -inf], &[1.0, 0.0], &[0.0, -inf]),
        (&[1.0, inf, -inf], &[0.0, 1.0, 0.0], &[-inf, 0.0, -inf]),
        (&[inf, 2.0, inf], &[nan, nan, nan], &[nan, nan, nan]),
        (&[-inf, -inf], &[nan, nan], &[nan, nan]),
        (&[-inf], &[1.0], &[0.0]),
        (&[inf], &[1.0], &[0.0]),
        (&[nan], &[nan], &[nan]),
        (&[1e30, -1e30], &[1.0, 0.0], &[0.0, -2e30]),
        (&[3e38, -3e38], &[1.0, 0.0], &[0.0, -inf]),
    ];
    let same = |a: f32, b: f32| (a.is_nan() && b.is_nan()) || a == b;
    for &(row, softmax, log_softmax) in rows {
        // Alone (the fused pass), and padded with -inf to 5000 elements
        // (the chunked passes): -inf entries change nothing but their own.
        for padded in [false, true] {
            let mut x = row.to_vec();
            if padded {
                x.splice(0..0, std::iter::repeat_n(-inf, 5000 - row.len()));
            }
            let n = x.len();
            for (op, expected) in [
                (RowActivation::Softmax { dim: 0 }, softmax),
                (RowActivation::LogSoftmax { dim: 0 }, log_softmax),
            ] {
                if padded && row.iter().all(|v| *v == -inf) && row.len() == 1 {
                    continue; // padding adds more -inf: no longer one element
                }
                let xt = ctx.upload(&x, &[n]).unwrap();
                let y = ctx.download(&ctx.row_forward(&op, &xt).unwrap()).unwrap();
                let got = &y[n - row.len()..];
                assert!(
                    got.iter().zip(expected).all(|(a, b)| same(*a, *b)),
                    "{op} of {row:?} (padded {padded}): {got:?}, expected {expected:?}"
                );
                if padded && !expected[0].is_nan() {
                    let filler = if op.kernel().log { -inf } else { 0.0 };
                    assert!(
                        y[..n - row.len()].iter().all(|v| *v == filler),
                        "{op} {row:?}"
                    );
                }
                check::<f32>(
                    ctx,
                    "special",
                    &op,
                    &[n],
                    &x,
                    &data(n, 9),
                    Placement::Tensors,
                );
            }
        }
    }
}

#[test]
fn empty_dimensions_give_empty_outputs() {
    let ctx = gpu_or_skip!();
    for shape in [vec![0usize], vec![3, 0, 2], vec![0, 5], vec![4, 0]] {
        for dim in [0i64, -1] {
            let op = RowActivation::LogSoftmax { dim };
            let x = ctx.upload(&[], &shape).unwrap();
            let y = ctx.row_forward(&op, &x).unwrap();
            assert_eq!(y.shape(), &shape[..]);
            assert!(ctx.download(&y).unwrap().is_empty());
            let gx = ctx.row_backward(&op, &y, &x).unwrap();
            assert!(ctx.download(&gx).unwrap().is_empty());
        }
    }
    // Empty shapes whose other dimensions multiply past usize::MAX: still
    // empty outputs at once, on the GPU and in the CPU twin (no overflow,
    // no loop over the rows).
    let huge: &[&[usize]] = &[
        &[0, 1 << 33, 1 << 33],
        &[1 << 40, 0, 1 << 40],
        &[0, 3, 1 << 63],
        &[1 << 62, 1 << 62, 0],
    ];
    for shape in huge {
        for dim in [0i64, 1, -1] {
            let op = RowActivation::Softmax { dim };
            let x = ctx.upload(&[], shape).unwrap();
            let y = ctx.row_forward(&op, &x).unwrap();
            assert_eq!(y.shape(), *shape);
            let gx = ctx.row_backward(&op, &y, &x).unwrap();
            assert!(ctx.download(&gx).unwrap().is_empty());
            let none: &[f32] = &[];
            let y = twin::row_forward(&op, none, shape, Denormals::Preserve).unwrap();
            assert!(y.is_empty());
            let gx = twin::row_backward(&op, none, none, shape, Denormals::Preserve).unwrap();
            assert!(gx.is_empty());
        }
    }
    // A 0-D tensor is one row of one element.
    let x = ctx.upload(&[3.5], &[]).unwrap();
    let y = ctx
        .row_forward(&RowActivation::Softmax { dim: -1 }, &x)
        .unwrap();
    assert_eq!(ctx.download(&y).unwrap(), [1.0]);
}

/// PyTorch's values: its formulas (`exp(x - max) / sum`, `(x - max) -
/// log(sum)`, `softmax(-x)`; the backward from the output) evaluated with
/// mpmath at 120 digits on f32 inputs by `tests/softmax_values.py`; the
/// backward's `y` is the f32 rounding of the forward's value.
struct Pinned {
    op: &'static str,
    dim: i64,
    shape: &'static [usize],
    x: &'static [f64],
    y: &'static [f64],
    g: &'static [f64],
    grad_input: &'static [f64],
}

#[rustfmt::skip]
const PINNED: &[Pinned] = &[
    Pinned {
        op: "softmax",
        dim: 0,
        shape: &[3],
        x: &[1.0, 2.0, 3.0],
        y: &[0.09003057317038046, 0.24472847105479764, 0.6652409557748219],
        g: &[0.5, -1.0, 2.0],
        grad_input: &[-0.05678846747976299, -0.5214597756920208, 0.5782482515966672],
    },
    Pinned {
        op: "log_softmax",
        dim: -1,
        shape: &[3],
        x: &[1.0, 2.0, 3.0],
        y: &[-2.40760596444438, -1.4076059644443804, -0.4076059644443803],
        g: &[0.5, -1.0, 2.0],
        grad_input: &[0.3649541297128735, -1.3670926914490718, 1.002138577735278],
    },
    Pinned {
        op: "softmin",
        dim: 0,
        shape: &[3],
        x: &[1.0, 2.0, 3.0],
        y: &[0.6652409557748219, 0.24472847105479764, 0.09003057317038046],
        g: &[0.5, -1.0, 2.0],
        grad_input: &[-0.15436707038788722, 0.31030423996719625, -0.15593717157571552],
    },
    Pinned {
        op: "softmax",
        dim: 0,
        shape: &[2, 3],
        x: &[0.5, -1.25, 3.0, 2.0, 2.0, -0.75],
        y: &[0.18242552380635635, 0.03732688734412946, 0.9770226300899744, 0.8175744761936437, 0.9626731126558705, 0.022977369910025615],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0],
        grad_input: &[0.037286612445732725, -0.03144189182637758, -0.022449448026256036, -0.03728662125548965, 0.03144189417570997, 0.022449410345365475],
    },
    Pinned {
        op: "softmax",
        dim: 1,
        shape: &[2, 3],
        x: &[0.5, -1.25, 3.0, 2.0, 2.0, -0.75],
        y: &[0.07487121456204028, 0.01301066620537013, 0.9121181192325896, 0.4845130582303077, 0.4845130582303077, 0.030973883539384538],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0],
        grad_input: &[-0.10097590000716838, -0.03706297896116828, 0.13803885142113792, 0.04676239827406503, -0.1349299933599224, 0.08816759937420053],
    },
    Pinned {
        op: "log_softmax",
        dim: 0,
        shape: &[2, 3],
        x: &[0.5, -1.25, 3.0, 2.0, 2.0, -0.75],
        y: &[-1.7014132779827524, -3.288041371687783, -0.02324546437242503, -0.2014132779827524, -0.038041371687783126, -3.773245464372425],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0],
        grad_input: &[0.3631808565745037, -0.9580072509625811, -2.8851131473332696, -0.3631808597030628, 0.9580072515598336, 2.8851131629347857],
    },
    Pinned {
        op: "softmin",
        dim: -1,
        shape: &[2, 3],
        x: &[0.5, -1.25, 3.0, 2.0, 2.0, -0.75],
        y: &[0.14626966267757346, 0.8417237922628198, 0.01200654505960676, 0.05668088562774064, 0.05668088562774064, 0.8866382287445187],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0],
        grad_input: &[-0.18204369552317984, 0.2149965635646649, -0.03295287497588829, 0.1369976848356728, 0.1582530164152686, -0.2952507211216382],
    },
    Pinned {
        op: "softmax",
        dim: 0,
        shape: &[2],
        x: &[1.0000000150474662e+30, -1.0000000150474662e+30],
        y: &[1.0, 0.0],
        g: &[0.5, -1.0],
        grad_input: &[0.0, 0.0],
    },
    Pinned {
        op: "log_softmax",
        dim: 0,
        shape: &[2],
        x: &[1.0000000150474662e+30, -1.0000000150474662e+30],
        y: &[0.0, -2.0000000300949324e+30],
        g: &[0.5, -1.0],
        grad_input: &[1.0, -1.0],
    },
    Pinned {
        op: "log_softmax",
        dim: 0,
        shape: &[2],
        x: &[0.0, -40.0],
        y: &[-4.248354255291589e-18, -40.0],
        g: &[0.5, -1.0],
        grad_input: &[1.0, -1.0],
    },
    Pinned {
        op: "softmax",
        dim: 0,
        shape: &[3],
        x: &[0.0, -80.0, -20.0],
        y: &[0.9999999979388464, 1.8048513841253392e-35, 2.0611536181902037e-09],
        g: &[0.5, -1.0, 2.0],
        grad_input: &[-4.1223073843355e-09, -2.707277000317413e-35, 3.0917305297549156e-09],
    },
    Pinned {
        op: "log_softmax",
        dim: 0,
        shape: &[4],
        x: &[10.0, 10.0, 10.0, 10.0],
        y: &[-1.3862943611198906, -1.3862943611198906, -1.3862943611198906, -1.3862943611198906],
        g: &[0.5, -1.0, 2.0, 0.25],
        grad_input: &[0.0625000016665725, -1.4374999983334276, 1.5625000016665724, -0.18749999833342748],
    },
    Pinned {
        op: "softmax",
        dim: 0,
        shape: &[1],
        x: &[7.0],
        y: &[1.0],
        g: &[0.5],
        grad_input: &[0.0],
    },
    Pinned {
        op: "log_softmax",
        dim: 1,
        shape: &[2, 2, 2],
        x: &[-3.0, 0.25, 0.0010000000474974513, 100.0, -100.0, 50.0, 1.0, 2.0],
        y: &[-3.0495399483273276, -99.75, -0.048539948279830006, -4.77667210522021e-44, -101.0, -1.4251640827409352e-21, -1.368539471173853e-44, -48.0],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0, 1.0, -2.0],
        grad_input: &[0.3815482188096219, -1.0, -0.3815482089471367, 1.0, -0.125, 2.0, 0.125, -2.0],
    },
    Pinned {
        op: "softmax",
        dim: -3,
        shape: &[1, 3, 2, 2],
        x: &[0.10000000149011612, 0.20000000298023224, 0.30000001192092896, 0.4000000059604645, -0.10000000149011612, -0.20000000298023224, -0.30000001192092896, -0.4000000059604645, 1.5, -1.5, 2.5, -2.5],
        y: &[0.17024375143758905, 0.5396643690234808, 0.09457315574968705, 0.6647379611629608, 0.13938379440592197, 0.3617478425314287, 0.05190284710010062, 0.29868601593813227, 0.690372454156489, 0.09858778844509042, 0.8535239971502123, 0.03657602289890699],
        g: &[0.5, -1.0, 2.0, 0.25, -0.125, 3.0, 1.0, -2.0, 0.75, -0.5, 1.25, -3.0],
        grad_input: &[-0.01455213887290363, -0.8074918423824236, 0.06544896252954868, 0.5257516294492666, -0.09902915375225874, 0.9057133945225563, -0.015983694990360453, -0.43580811296278554, 0.11358128390085653, -0.0982215558377457, -0.049465228559117946, -0.08994352253168432],
    },
];

/// `a` and `b` agree to f64 precision (NaN and infinities exactly).
fn agree(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-14 * b.abs().max(1e-300)
}

#[test]
fn pytorch_values() {
    let ctx = gpu_or_skip!();
    let dn = Denormals::Preserve;
    for p in PINNED {
        let op = RowActivation::parse(p.op, &[("dim", &p.dim.to_string())]).unwrap();
        let x: Vec<f32> = p.x.iter().map(|&v| v as f32).collect();
        let y32: Vec<f32> = p.y.iter().map(|&v| v as f32).collect();
        let g: Vec<f32> = p.g.iter().map(|&v| v as f32).collect();
        // The CPU twin is PyTorch's formula, to f64 precision.
        let y_twin = twin::row_forward_reference(&op, &x, p.shape, dn).unwrap();
        let (gx_twin, scales) = twin::row_backward_reference(&op, &y32, &g, p.shape, dn).unwrap();
        for i in 0..x.len() {
            assert!(
                agree(y_twin[i], p.y[i]),
                "{op} {:?}: twin {} vs {}",
                p.x,
                y_twin[i],
                p.y[i]
            );
            assert!(
                agree(gx_twin[i], p.grad_input[i]) || (gx_twin[i] - p.grad_input[i]).abs() < 1e-300,
                "{op} backward: twin {} vs {}",
                gx_twin[i],
                p.grad_input[i]
            );
        }
        // The GPU, within the op's tolerance of PyTorch's values.
        let y = ctx
            .download(
                &ctx.row_forward(&op, &ctx.upload(&x, p.shape).unwrap())
                    .unwrap(),
            )
            .unwrap();
        let gx = ctx
            .download(
                &ctx.row_backward(
                    &op,
                    &ctx.upload(&y32, p.shape).unwrap(),
                    &ctx.upload(&g, p.shape).unwrap(),
                )
                .unwrap(),
            )
            .unwrap();
        let forward = op.forward_tolerance();
        let backward = op.backward_tolerance();
        for i in 0..x.len() {
            let flushed = |v: f32, r: f64| v == 0.0 && (r as f32).abs() < f32::MIN_POSITIVE;
            assert!(
                forward.accepts(y[i], p.y[i], 0.0) || flushed(y[i], p.y[i]),
                "{op} {:?}: GPU {} vs PyTorch {}",
                p.x,
                y[i],
                p.y[i]
            );
            assert!(
                backward.accepts(gx[i], p.grad_input[i], scales[i])
                    || flushed(gx[i], p.grad_input[i]),
                "{op} backward {:?}: GPU {} vs PyTorch {}",
                p.x,
                gx[i],
                p.grad_input[i]
            );
        }
    }
}

/// Shapes and dims that take every pass and layout.
const LAYOUTS: &[(&[usize], i64)] = &[
    (&[300, 128], -1),
    (&[1000, 3], -1),
    (&[1000, 3], 0),
    (&[7, 129], 1),
    (&[3, 4096], 1),
    (&[2, 4097], 1),
    (&[4, 300, 7], 1),
    (&[2, 70, 33], -2),
    (&[2, 5000, 3], 1),
    (&[6, 5], 0),
];

#[test]
fn subgroup_and_workgroup_reductions_give_the_same_bits() {
    let ctx = gpu_or_skip!();
    let plain = common::custom_context(wgpu::Features::SHADER_F16, |_| {}).unwrap();
    assert!(!plain.device().features().contains(wgpu::Features::SUBGROUP));
    if !ctx.device().features().contains(wgpu::Features::SUBGROUP) {
        eprintln!("the adapter has no subgroup operations: both run the workgroup-memory path");
    }
    for &(shape, dim) in LAYOUTS {
        let len: usize = shape.iter().product();
        let (x, g) = (data(len, 11), data(len, 12));
        for info in RowActivation::OPS.iter().take(3) {
            let op = (info.with_dim)(dim);
            let what = format!("{shape:?} without subgroups");
            let (y_plain, gx_plain) =
                check::<f32>(&plain, &what, &op, shape, &x, &g, Placement::Tensors);
            let xt = ctx.upload(&x, shape).unwrap();
            let y = ctx.row_forward(&op, &xt).unwrap();
            let gx = ctx
                .row_backward(&op, &y, &ctx.upload(&g, shape).unwrap())
                .unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let (y, gx) = (ctx.download(&y).unwrap(), ctx.download(&gx).unwrap());
            assert!(
                bits(&y) == bits(&y_plain),
                "{op} {shape:?}: forward bits differ"
            );
            assert!(
                bits(&gx) == bits(&gx_plain),
                "{op} {shape:?}: backward bits differ"
            );
            // And again: the same bits on every run.
            let again = ctx.download(&ctx.row_forward(&op, &xt).unwrap()).unwrap();
            assert!(
                bits(&again) == bits(&y),
                "{op} {shape:?}: not deterministic"
            );
        }
    }
}

/// Forward and backward of every softmax-type op on `shapes`, through each
/// placement (f16 through tensors), on `ctx`.
fn every_op_on(ctx: &GpuContext, what: &str, shapes: &[(&[usize], i64)]) {
    for &(shape, dim) in shapes {
        let len: usize = shape.iter().product();
        let (x, g) = (data(len, 21), data(len, 22));
        for info in RowActivation::OPS.iter().take(3) {
            let op = (info.with_dim)(dim);
            for placement in [
                Placement::Tensors,
                Placement::Buffers { offset: 256 },
                Placement::InPass,
            ] {
                check::<f32>(ctx, what, &op, shape, &x, &g, placement);
            }
            if has_f16(ctx) {
                check::<f16>(ctx, what, &op, shape, &x, &g, Placement::Tensors);
            }
        }
    }
}

#[test]
fn small_bindings_split_tensors_into_pieces() {
    // 8 KiB bindings at 256-byte offsets: pieces of whole blocks of rows,
    // and chunks of one block's rows (the rows longer than a binding, or
    // strided over one), on shapes that take every pass.
    let Some(ctx) = common::custom_context(wgpu::Features::all(), |limits| {
        limits.max_storage_buffer_binding_size = 8192;
        limits.min_storage_buffer_offset_alignment =
            limits.min_storage_buffer_offset_alignment.max(256);
    }) else {
        return;
    };
    every_op_on(
        &ctx,
        "small bindings",
        &[
            (&[8000, 1], 1),
            (&[12, 3000], -1),
            (&[3, 700, 5], 1),
            (&[100, 30], -1),
            (&[1, 1, 400], 1),
            (&[2, 9, 100], 1),
            (&[1, 24, 100], 1),
            (&[2, 5000, 3], 1),
        ],
    );
    // A slice along the other dimensions larger than a binding cannot be
    // bound: refused, not mangled.
    let x = ctx.upload(&vec![0.0; 3 * 3000], &[3, 3000]).unwrap();
    let err = ctx
        .row_forward(&RowActivation::Softmax { dim: 0 }, &x)
        .unwrap_err();
    assert!(matches!(err, ActivationError::TooLarge { .. }), "{err}");
}

#[test]
fn small_workgroup_limits_fold_dispatches_into_2d_grids() {
    // At most 4 workgroups per dimension: the fused pass (12 workgroups),
    // partials and normalize (10), combine (5 and 6) in 2-D grids.
    let Some(ctx) = common::custom_context(wgpu::Features::all(), |limits| {
        limits.max_compute_workgroups_per_dimension = 4;
    }) else {
        return;
    };
    every_op_on(
        &ctx,
        "small grids",
        &[(&[3000, 1], 1), (&[5, 5000], -1), (&[2, 5000, 3], 1)],
    );
    // Past 16 workgroups, a dispatch cannot be folded: refused.
    let x = ctx.upload(&vec![0.0; 5000], &[5000, 1]).unwrap();
    let err = ctx
        .row_forward(&RowActivation::Softmax { dim: 1 }, &x)
        .unwrap_err();
    assert!(matches!(err, ActivationError::TooLarge { .. }), "{err}");
}

fn storage(ctx: &GpuContext, floats: usize, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (floats * 4) as u64,
        usage,
        mapped_at_creation: false,
    })
}

#[test]
fn bad_arguments_are_errors() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let err = ctx
        .row_forward(&RowActivation::Softmax { dim: 2 }, &x)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax: dim 2 is out of range for a tensor of shape [2, 3] (expected -2 to 1)"
    );
    let err = ctx
        .row_forward(&RowActivation::LogSoftmax { dim: -3 }, &x)
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::DimOutOfRange { dim: -3, .. }),
        "{err}"
    );
    let err = ctx.row_forward(&RowActivation::Softmax2d, &x).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmax2d expects a 3-D (C, H, W) or 4-D (N, C, H, W) input; got shape [2, 3]"
    );
    let err = RowActivation::parse("softmin", &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "softmin needs dim (PyTorch's softmin has no default for it)"
    );
    let g = ctx.upload(&[1.0; 6], &[3, 2]).unwrap();
    let op = RowActivation::Softmax { dim: -1 };
    assert!(matches!(
        ctx.row_backward(&op, &x, &g).unwrap_err(),
        ActivationError::ShapeMismatch { .. }
    ));

    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let a = storage(ctx, 512, usage);
    let b = storage(ctx, 512, usage);
    let record = |buffers: RowForwardBuffers<'_>, shape: &[usize]| {
        let mut encoder = ctx.create_encoder();
        ctx.encode_row_forward(&mut encoder, &op, shape, &buffers)
    };
    let view = |buffer, offset, len| TensorView::new(buffer, offset, len);
    let ok = record(
        RowForwardBuffers {
            input: view(&a, 0, 6),
            output: view(&b, 0, 6),
        },
        &[2, 3],
    );
    assert!(ok.is_ok());
    let err = record(
        RowForwardBuffers {
            input: view(&a, 0, 6),
            output: view(&a, 256, 6),
        },
        &[2, 3],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::AliasedBuffers { .. }),
        "{err}"
    );
    let err = record(
        RowForwardBuffers {
            input: view(&a, 4, 6),
            output: view(&b, 0, 6),
        },
        &[2, 3],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::MisalignedOffset { .. }),
        "{err}"
    );
    let err = record(
        RowForwardBuffers {
            input: view(&a, 0, 5),
            output: view(&b, 0, 6),
        },
        &[2, 3],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::LengthMismatch { .. }),
        "{err}"
    );
    let err = record(
        RowForwardBuffers {
            input: view(&a, 0, 600),
            output: view(&b, 0, 600),
        },
        &[600],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::BufferTooSmall { .. }),
        "{err}"
    );
    let half = TensorView::new_f16(&b, 0, 6);
    let err = record(
        RowForwardBuffers {
            input: view(&a, 0, 6),
            output: half,
        },
        &[2, 3],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::DtypeMismatch { .. }),
        "{err}"
    );
    let uniform = storage(ctx, 16, wgpu::BufferUsages::UNIFORM);
    let err = record(
        RowForwardBuffers {
            input: view(&uniform, 0, 6),
            output: view(&b, 0, 6),
        },
        &[2, 3],
    )
    .unwrap_err();
    assert!(matches!(err, ActivationError::MissingUsage { .. }), "{err}");
    let err = record(
        RowForwardBuffers {
            input: view(&a, 0, 6),
            output: view(&b, 0, 6),
        },
        &[3, 3],
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::LengthMismatch { .. }),
        "{err}"
    );
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_row_backward(
            &mut encoder,
            &op,
            &[2, 3],
            &RowBackwardBuffers {
                output: view(&a, 0, 6),
                grad_output: view(&b, 0, 6),
                grad_input: view(&b, 256, 6),
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::AliasedBuffers { .. }),
        "{err}"
    );
    // Tensors of another context.
    let other = common::custom_context(wgpu::Features::empty(), |_| {}).unwrap();
    let theirs = other.upload(&[1.0; 6], &[2, 3]).unwrap();
    let err = ctx.row_forward(&op, &theirs).unwrap_err();
    assert!(
        matches!(err, ActivationError::ForeignTensor { .. }),
        "{err}"
    );
    // The context still works.
    let y = ctx.download(&ctx.row_forward(&op, &x).unwrap()).unwrap();
    assert!(y.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-7), "{y:?}");
}

#[test]
fn a_lost_device_is_reported() {
    let Some(ctx) = common::custom_context(wgpu::Features::empty(), |_| {}) else {
        return;
    };
    let x = ctx.upload(&[1.0, 2.0], &[2]).unwrap();
    ctx.device().destroy();
    let err = ctx
        .row_forward(&RowActivation::Softmax { dim: 0 }, &x)
        .unwrap_err();
    assert!(matches!(err, ActivationError::DeviceLost(_)), "{err}");
}

/// The README's table of the row ops, from their definitions.
fn row_table() -> String {
    let mut out = String::from(
        "| op | parameters | forward | gradient (from the output y) | tolerance: forward | backward | where the error comes from |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for info in RowActivation::OPS {
        let op = (info.with_dim)(-1);
        let parameters: Vec<String> = info
            .parameters
            .iter()
            .map(|p| format!("`{}` (required)", p.name))
            .collect();
        let cells = [
            format!("`{}`", info.name),
            parameters.join(", "),
            format!("`{}`", info.summary),
            format!("`{}`", info.gradient),
            op.forward_tolerance().to_string(),
            op.backward_tolerance().to_string(),
            info.accuracy.to_string(),
        ];
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[test]
fn readme_table_is_generated_from_the_definitions() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let mut readme = std::fs::read_to_string(&path).unwrap();
    let begin =
        "<!-- generated: row ops (tests/softmax.rs; BLESS=1 cargo test --test softmax) -->\n";
    let end = "<!-- end: row ops -->";
    let start = readme
        .find(begin)
        .expect("README.md lacks the row ops marker")
        + begin.len();
    let stop = start
        + readme[start..]
            .find(end)
            .expect("README.md lacks the end marker");
    let table = row_table();
    if std::env::var_os("BLESS").is_some() {
        readme.replace_range(start..stop, &table);
        std::fs::write(&path, readme).unwrap();
        return;
    }
    assert!(
        readme[start..stop] == table,
        "README.md's row ops table is not the definitions': run `BLESS=1 cargo test --test softmax`.\n{table}"
    );
}

#[test]
fn elements_per_lane_is_a_power_of_two_from_4_to_64() {
    let ctx = gpu_or_skip!();
    let default = if ctx.adapter_info().device_type == wgpu::DeviceType::Cpu {
        64
    } else {
        16
    };
    assert_eq!(ctx.row_elements_per_lane(), default);
    for bad in [0, 1, 2, 3, 12, 128] {
        let err = ctx.clone().with_row_elements_per_lane(bad).unwrap_err();
        assert!(
            matches!(err, ActivationError::InvalidParameter { .. }),
            "{bad}: {err}"
        );
    }
    for good in [4, 8, 16, 32, 64] {
        let handle = ctx.clone().with_row_elements_per_lane(good).unwrap();
        assert_eq!(handle.row_elements_per_lane(), good);
    }
    // Per handle: the context it was cloned from keeps its default.
    assert_eq!(ctx.row_elements_per_lane(), default);
}

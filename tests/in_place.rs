//! In place: the forward overwrites its input, the backward overwrites the
//! output's gradient (PReLU's weight gradient read before), the backward
//! from the output likewise. Every op of the registry, f32 and f16, vec4 and
//! one-element-per-thread layouts, in passes of their own and in the
//! caller's one pass, on the adapter's limits and on a device whose small
//! bindings split tensors into chunks: bit for bit what the out-of-place
//! kernels write, bytes around the range untouched. Then the errors.

mod common;

use common::strategies::SPECIAL_VALUES;
use wgpu::util::DeviceExt;
use wgpu_activations::activation::{ParameterKind, ParameterValue};
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{
    f16, Activation, ActivationError, BackwardBuffers, BackwardInPlaceBuffers, DType,
    ForwardBuffers, ForwardInPlaceBuffers, GpuContext, TensorView,
};

/// Every op of the registry, with each value of its flags and choices (so
/// that every WGSL function of it runs: rrelu's training mode, gelu's tanh
/// approximation), and a seed that is not 0.
fn every_op() -> Vec<Activation> {
    let mut ops = Vec::new();
    for info in Activation::OPS {
        let mut variants = vec![info.default];
        for parameter in info.parameters {
            let values: Vec<ParameterValue> = match parameter.kind {
                ParameterKind::Flag => vec![ParameterValue::Flag(true)],
                ParameterKind::Choice(names) => {
                    names.iter().map(|n| ParameterValue::Choice(n)).collect()
                }
                ParameterKind::Integer => vec![ParameterValue::Integer(0x1234_5678_9abc)],
                _ => continue,
            };
            let mut more = Vec::new();
            for op in &variants {
                for value in &values {
                    more.push(op.set_parameter(parameter.name, *value).unwrap());
                }
            }
            if parameter.kind == ParameterKind::Integer {
                variants = more;
            } else {
                variants.extend(more);
            }
        }
        for op in variants {
            if op.validate().is_ok() && !ops.contains(&op) {
                ops.push(op);
            }
        }
    }
    assert!(ops.len() > Activation::OPS.len(), "{ops:?}");
    ops
}

fn has_f16(ctx: &GpuContext) -> bool {
    ctx.device().features().contains(wgpu::Features::SHADER_F16)
}

/// Deterministic values: the special ones, then ordinary and large ones.
fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32)
                .wrapping_add(seed)
                .wrapping_mul(2_654_435_761)
                .rotate_right(7);
            match (i + seed as usize) % 5 {
                _ if i < SPECIAL_VALUES.len() => {
                    SPECIAL_VALUES[(i + seed as usize) % SPECIAL_VALUES.len()]
                }
                0 => (h % 20_011) as f32 / 1250.0 - 8.0,
                1 => (h % 2_000_003) as f32 - 1e6,
                2 => f32::from_bits(h),
                _ => (h % 4001) as f32 / 250.0 - 8.0,
            }
        })
        .collect()
}

/// `values` as the bytes of `dtype`.
fn bytes_of(values: &[f32], dtype: DType) -> Vec<u8> {
    match dtype {
        DType::F32 => bytemuck::cast_slice(values).to_vec(),
        DType::F16 => {
            let halves: Vec<f16> = values.iter().map(|&v| f16::from_f32(v)).collect();
            bytemuck::cast_slice(&halves).to_vec()
        }
    }
}

/// How the data is placed in its buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// At byte 256, with room for whole vec4s after it: the vec4 kernels.
    Vec4,
    /// At byte 256, the buffer ending at the data's last word: an odd
    /// length does not fill its last vec4, so one element per thread.
    Scalar,
}

const OFFSET: u64 = 256;

/// A buffer holding `data` (elements of `dtype`) at `OFFSET`, framed by a
/// pattern that must survive every op.
fn framed(ctx: &GpuContext, data: &[u8], dtype: DType, layout: Layout) -> wgpu::Buffer {
    let len = data.len() as u64 / dtype.size();
    let end = match layout {
        Layout::Vec4 => OFFSET + len.div_ceil(4) * 4 * dtype.size() + 64,
        Layout::Scalar => OFFSET + (data.len() as u64).div_ceil(4) * 4,
    };
    let mut bytes: Vec<u8> = (0..end).map(|i| 0xA5 ^ (i as u8)).collect();
    bytes[OFFSET as usize..OFFSET as usize + data.len()].copy_from_slice(data);
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("in-place test"),
            contents: &bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
}

/// Every word of `buffer`.
fn words(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<u32> {
    let all = ctx.read_view(TensorView::whole(buffer)).unwrap();
    all.iter().map(|v| v.to_bits()).collect()
}

/// Where the ops are recorded.
enum Recorder<'e> {
    Passes(&'e mut wgpu::CommandEncoder),
    OnePass(Box<wgpu::ComputePass<'static>>),
}

impl Recorder<'_> {
    fn forward(
        &mut self,
        ctx: &GpuContext,
        op: &Activation,
        shape: &[usize],
        b: &ForwardBuffers<'_>,
    ) {
        match self {
            Recorder::Passes(e) => ctx.encode_forward(e, op, shape, b),
            Recorder::OnePass(p) => ctx.encode_forward_in_pass(p, op, shape, b),
        }
        .unwrap_or_else(|e| panic!("{op} forward: {e}"))
    }

    fn backward(
        &mut self,
        ctx: &GpuContext,
        op: &Activation,
        shape: &[usize],
        b: &BackwardBuffers<'_>,
    ) {
        match self {
            Recorder::Passes(e) => ctx.encode_backward(e, op, shape, b),
            Recorder::OnePass(p) => ctx.encode_backward_in_pass(p, op, shape, b),
        }
        .unwrap_or_else(|e| panic!("{op} backward: {e}"))
    }

    fn forward_in_place(
        &mut self,
        ctx: &GpuContext,
        op: &Activation,
        shape: &[usize],
        b: &ForwardInPlaceBuffers<'_>,
    ) {
        match self {
            Recorder::Passes(e) => ctx.encode_forward_in_place(e, op, shape, b),
            Recorder::OnePass(p) => ctx.encode_forward_in_place_in_pass(p, op, shape, b),
        }
        .unwrap_or_else(|e| panic!("{op} forward in place: {e}"))
    }

    fn backward_in_place(
        &mut self,
        ctx: &GpuContext,
        op: &Activation,
        shape: &[usize],
        b: &BackwardInPlaceBuffers<'_>,
    ) {
        match self {
            Recorder::Passes(e) => ctx.encode_backward_in_place(e, op, shape, b),
            Recorder::OnePass(p) => ctx.encode_backward_in_place_in_pass(p, op, shape, b),
        }
        .unwrap_or_else(|e| panic!("{op} backward in place: {e}"))
    }
}

/// Runs `op` out of place and in place over the same data and checks that
/// the in-place buffers end up with the out-of-place results, bit for bit,
/// every byte around them included: forward, backward (PReLU's weight
/// gradient too), and backward from the output (from the in-place forward's
/// buffer, recorded after it).
fn check_op(
    ctx: &GpuContext,
    what: &str,
    op: &Activation,
    shape: &[usize],
    dtype: DType,
    layout: Layout,
    in_one_pass: bool,
) {
    let len: usize = shape.iter().product();
    let what = format!("{what}: {op} {dtype:?} {layout:?} {shape:?} one pass {in_one_pass}");
    let view = |buffer| TensorView::with_dtype(buffer, OFFSET, len, dtype);
    let x = bytes_of(&values(len, 1), dtype);
    let g = bytes_of(&values(len, 2), dtype);
    let zeros = vec![0u8; x.len()];
    let channels = shape.get(1).copied().unwrap_or(1);
    let w = bytes_of(&values(channels, 3)[..], dtype);
    // Out of place: x -> y, (x, g) -> gx, (y, g) -> gy.
    let (x_buffer, g_buffer) = (
        framed(ctx, &x, dtype, layout),
        framed(ctx, &g, dtype, layout),
    );
    let y = framed(ctx, &zeros, dtype, layout);
    let gx = framed(ctx, &zeros, dtype, layout);
    let gy = framed(ctx, &zeros, dtype, layout);
    // In place: x2 <- f(x2), g2 <- backward(x, g2), g3 <- from_output(x2, g3).
    let x2 = framed(ctx, &x, dtype, layout);
    let g2 = framed(ctx, &g, dtype, layout);
    let g3 = framed(ctx, &g, dtype, layout);
    let prelu = op.uses_weight();
    let weight_buffer = framed(ctx, &w, dtype, Layout::Vec4);
    let weight_view = TensorView::with_dtype(&weight_buffer, OFFSET, channels, dtype);
    let weight = prelu.then_some(weight_view);
    let gw = framed(ctx, &vec![0u8; w.len()], dtype, Layout::Vec4);
    let gw2 = framed(ctx, &vec![0u8; w.len()], dtype, Layout::Vec4);
    let gw_view = |buffer| prelu.then(|| TensorView::with_dtype(buffer, OFFSET, channels, dtype));
    let from_output = op.backward_from_output_supported();

    let mut encoder = ctx.create_encoder();
    {
        let mut recorder = if in_one_pass {
            Recorder::OnePass(Box::new(
                encoder
                    .begin_compute_pass(&Default::default())
                    .forget_lifetime(),
            ))
        } else {
            Recorder::Passes(&mut encoder)
        };
        recorder.forward(
            ctx,
            op,
            shape,
            &ForwardBuffers {
                input: view(&x_buffer),
                output: view(&y),
                weight,
                first_element: 0,
            },
        );
        recorder.backward(
            ctx,
            op,
            shape,
            &BackwardBuffers {
                input: view(&x_buffer),
                grad_output: view(&g_buffer),
                grad_input: view(&gx),
                weight,
                grad_weight: gw_view(&gw),
                from_output: false,
                first_element: 0,
            },
        );
        if from_output {
            recorder.backward(
                ctx,
                op,
                shape,
                &BackwardBuffers {
                    input: view(&y),
                    grad_output: view(&g_buffer),
                    grad_input: view(&gy),
                    weight: None,
                    grad_weight: None,
                    from_output: true,
                    first_element: 0,
                },
            );
        }
        recorder.forward_in_place(
            ctx,
            op,
            shape,
            &ForwardInPlaceBuffers {
                data: view(&x2),
                weight,
                first_element: 0,
            },
        );
        recorder.backward_in_place(
            ctx,
            op,
            shape,
            &BackwardInPlaceBuffers {
                input: view(&x_buffer),
                grad_output: view(&g2),
                weight,
                grad_weight: gw_view(&gw2),
                from_output: false,
                first_element: 0,
            },
        );
        if from_output {
            recorder.backward_in_place(
                ctx,
                op,
                shape,
                &BackwardInPlaceBuffers {
                    input: view(&x2),
                    grad_output: view(&g3),
                    weight: None,
                    grad_weight: None,
                    from_output: true,
                    first_element: 0,
                },
            );
        }
    }
    ctx.submit(encoder).unwrap();

    let same = |name: &str, expected: &wgpu::Buffer, actual: &wgpu::Buffer| {
        let (expected, actual) = (words(ctx, expected), words(ctx, actual));
        let bad = expected.iter().zip(&actual).position(|(a, b)| a != b);
        assert!(
            bad.is_none() && expected.len() == actual.len(),
            "{what}: {name} in place differs at word {bad:?} of {} (out of place {:#x?}, in place {:#x?})",
            expected.len(),
            bad.map(|i| expected[i]),
            bad.map(|i| actual[i]),
        );
    };
    same("forward", &y, &x2);
    same("backward", &gx, &g2);
    if prelu {
        same("weight gradient", &gw, &gw2);
    }
    if from_output {
        same("backward from the output", &gy, &g3);
    }
    // The out-of-place results are right (so that equal means right).
    if dtype == DType::F32 && layout == Layout::Vec4 && !in_one_pass {
        let xs = values(len, 1);
        let y_values = ctx.read_view(view(&y)).unwrap();
        common::assert_matches(
            &what,
            op,
            common::Direction::Forward,
            shape,
            &xs,
            &[],
            prelu.then(|| values(channels, 3)).as_deref(),
            &y_values,
            op.forward_tolerance(),
        );
    }
}

/// Every op, both element types, both layouts, passes of their own and one pass.
fn every_op_on(ctx: &GpuContext, what: &str, shape: &[usize]) {
    let mut dtypes = vec![DType::F32];
    if has_f16(ctx) {
        dtypes.push(DType::F16);
    } else {
        eprintln!("{what}: no SHADER_F16 on this adapter: f16 skipped");
    }
    for op in every_op() {
        for &dtype in &dtypes {
            for layout in [Layout::Vec4, Layout::Scalar] {
                for in_one_pass in [false, true] {
                    check_op(ctx, what, &op, shape, dtype, layout, in_one_pass);
                }
            }
        }
    }
}

#[test]
fn every_op_in_place_is_bit_identical_to_out_of_place() {
    let ctx = gpu_or_skip!();
    // 3 x 5 x 67 = 1005 elements: 5 PReLU channels, a partial last vec4.
    every_op_on(ctx, "adapter limits", &[3, 5, 67]);
}

/// A device of 8 KiB storage bindings at 256-byte offsets.
fn small_bindings_context() -> Option<GpuContext> {
    common::custom_context(wgpu::Features::SHADER_F16, |limits| {
        limits.max_storage_buffer_binding_size = 8192;
        limits.min_storage_buffer_offset_alignment =
            limits.min_storage_buffer_offset_alignment.max(256);
    })
}

#[test]
fn tensors_past_one_binding_in_place_are_bit_identical_in_chunks() {
    let Some(ctx) = small_bindings_context() else {
        return;
    };
    // 2 x 3 x 1001 = 6006 elements: 3 f32 bindings of 2048 elements, 2 of
    // f16; chunks start mid-channel.
    let shape = [2, 3, 1001];
    assert!(shape.iter().product::<usize>() as u64 * 4 > 2 * 8192);
    every_op_on(&ctx, "8 KiB bindings", &shape);
}

#[test]
fn convenience_api_in_place() {
    let ctx = gpu_or_skip!();
    let shape = [4, 3, 33];
    let len: usize = shape.iter().product();
    // Finite values, so that PReLU's weight gradient (a sum) can be checked
    // against the CPU twin: it must come from grad_output, not from the
    // gradient that overwrites it.
    let finite = |seed: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 250.0 - 4.0)
            .collect()
    };
    let (x, g) = (finite(5), finite(6));
    let grad = ctx.upload(&g, &shape).unwrap();
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    for op in every_op() {
        let weights = [vec![0.25f32, -0.5, 2.0], vec![0.125]];
        for w in &weights[..if op.uses_weight() { 2 } else { 1 }] {
            let weight = op.uses_weight().then(|| ctx.upload(w, &[w.len()]).unwrap());
            let weight = weight.as_ref();
            let input = ctx.upload(&x, &shape).unwrap();
            let y = ctx.forward(&op, &input, weight).unwrap();
            let mut in_place = ctx.upload(&x, &shape).unwrap();
            ctx.forward_in_place(&op, &mut in_place, weight).unwrap();
            let y_bits = bits(ctx.download(&y).unwrap());
            assert_eq!(y_bits, bits(ctx.download(&in_place).unwrap()), "{op}");

            let grads = ctx.backward(&op, &input, &grad, weight).unwrap();
            let mut g2 = ctx.upload(&g, &shape).unwrap();
            let grad_weight = ctx.backward_in_place(&op, &input, &mut g2, weight).unwrap();
            assert_eq!(
                bits(ctx.download(&grads.grad_input).unwrap()),
                bits(ctx.download(&g2).unwrap()),
                "{op}"
            );
            assert_eq!(grad_weight.is_some(), op.uses_weight(), "{op}");
            if let (Some(expected), Some(actual)) = (&grads.grad_weight, &grad_weight) {
                let actual_values = ctx.download(actual).unwrap();
                assert_eq!(
                    bits(ctx.download(expected).unwrap()),
                    bits(actual_values.clone()),
                    "{op} weight gradient ({} weights)",
                    w.len()
                );
                // Computed from grad_output, not from what overwrote it.
                let reference =
                    cpu::prelu_weight_grad(&x, &g, &shape, w, Denormals::Preserve).unwrap();
                for (gpu, exact) in actual_values.iter().zip(&reference) {
                    assert!(
                        ((gpu - exact) / exact).abs() < 1e-5,
                        "{op}: weight gradient {gpu} vs {exact}"
                    );
                }
            }

            if op.backward_from_output_supported() {
                let expected = ctx.backward_from_output(&op, &y, &grad).unwrap();
                // The whole step in place: one tensor for y, one for its gradient.
                let mut g3 = ctx.upload(&g, &shape).unwrap();
                ctx.backward_from_output_in_place(&op, &in_place, &mut g3)
                    .unwrap();
                assert_eq!(
                    bits(ctx.download(&expected).unwrap()),
                    bits(ctx.download(&g3).unwrap()),
                    "{op} from the output"
                );
            }
        }
    }
}

#[test]
fn in_place_f16_tensors() {
    let ctx = gpu_or_skip!();
    if !has_f16(ctx) {
        eprintln!("no SHADER_F16: skipped");
        return;
    }
    let x: Vec<f16> = values(37, 7).into_iter().map(f16::from_f32).collect();
    let g: Vec<f16> = values(37, 8).into_iter().map(f16::from_f32).collect();
    let op = Activation::Sigmoid;
    let bits = |v: Vec<f16>| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let input = ctx.upload_f16(&x, &[37]).unwrap();
    let y = ctx
        .download_f16(&ctx.forward(&op, &input, None).unwrap())
        .unwrap();
    let mut t = ctx.upload_f16(&x, &[37]).unwrap();
    ctx.forward_in_place(&op, &mut t, None).unwrap();
    assert_eq!(bits(ctx.download_f16(&t).unwrap()), bits(y));
    let mut grad = ctx.upload_f16(&g, &[37]).unwrap();
    let expected = ctx
        .backward_from_output(&op, &t, &ctx.upload_f16(&g, &[37]).unwrap())
        .unwrap();
    ctx.backward_from_output_in_place(&op, &t, &mut grad)
        .unwrap();
    assert_eq!(
        bits(ctx.download_f16(&grad).unwrap()),
        bits(ctx.download_f16(&expected).unwrap())
    );
}

#[test]
fn a_training_step_with_one_buffer_per_activation() {
    // relu then sigmoid forward, sigmoid backward from its output, every op
    // in place on two buffers (activations, gradient), in one encoder.
    let ctx = gpu_or_skip!();
    let x = values(1000, 9);
    let g = values(1000, 10);
    let shape = [1000];
    let data = ctx.upload(&x, &shape).unwrap();
    let grad = ctx.upload(&g, &shape).unwrap();
    let mut encoder = ctx.create_encoder();
    let ops = [Activation::Relu, Activation::Sigmoid];
    for op in &ops {
        let buffers = ForwardInPlaceBuffers {
            data: data.view(),
            weight: None,
            first_element: 0,
        };
        ctx.encode_forward_in_place(&mut encoder, op, &shape, &buffers)
            .unwrap();
    }
    // Sigmoid's gradient from its output, which overwrote its input.
    let buffers = BackwardInPlaceBuffers {
        input: data.view(),
        grad_output: grad.view(),
        weight: None,
        grad_weight: None,
        from_output: true,
        first_element: 0,
    };
    ctx.encode_backward_in_place(&mut encoder, &ops[1], &shape, &buffers)
        .unwrap();
    ctx.submit(encoder).unwrap();
    let relu = cpu::forward(&ops[0], &x, &shape, None, Denormals::Preserve).unwrap();
    let y = ctx.download(&data).unwrap();
    common::assert_matches(
        "sigmoid of relu",
        &ops[1],
        common::Direction::Forward,
        &shape,
        &relu,
        &[],
        None,
        &y,
        ops[1].forward_tolerance(),
    );
    common::assert_matches(
        "sigmoid backward from its output",
        &ops[1],
        common::Direction::BackwardFromOutput,
        &shape,
        &y,
        &g,
        None,
        &ctx.download(&grad).unwrap(),
        ops[1].backward_from_output_tolerance_for(DType::F32),
    );
}

// ------------------------------------------------------------------ errors

fn storage(ctx: &GpuContext, floats: usize) -> wgpu::Buffer {
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test"),
            contents: bytemuck::cast_slice(&vec![1.0f32; floats]),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
}

#[test]
fn out_of_place_entry_points_refuse_the_same_range_and_name_the_in_place_ones() {
    let ctx = gpu_or_skip!();
    let data = storage(ctx, 128);
    let x = storage(ctx, 8);
    let same = TensorView::new(&data, 0, 8);
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_forward(
            &mut encoder,
            &Activation::Relu,
            &[8],
            &ForwardBuffers {
                input: same,
                output: same,
                weight: None,
                first_element: 0,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::SameRange {
                written: "output",
                other: "input",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("encode_forward_in_place"), "{err}");
    let err = {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        ctx.encode_backward_in_pass(
            &mut pass,
            &Activation::Relu,
            &[8],
            &BackwardBuffers {
                input: TensorView::new(&x, 0, 8),
                grad_output: same,
                grad_input: same,
                weight: None,
                grad_weight: None,
                from_output: false,
                first_element: 0,
            },
        )
        .unwrap_err()
    };
    assert!(
        matches!(
            err,
            ActivationError::SameRange {
                written: "grad_input",
                other: "grad_output",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("encode_backward_in_place"),
        "{err}"
    );
    // Partial overlap, and another range of the same buffer, stay
    // aliasing errors.
    let big = storage(ctx, 384);
    for offset in [256u64, 512] {
        let err = ctx
            .encode_forward(
                &mut encoder,
                &Activation::Relu,
                &[128],
                &ForwardBuffers {
                    input: TensorView::new(&big, 0, 128),
                    output: TensorView::new(&big, offset, 128),
                    weight: None,
                    first_element: 0,
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            ActivationError::AliasedBuffers {
                written: "output",
                other: "input"
            },
            "{offset}"
        );
    }
    // Still usable.
    ctx.submit(encoder).unwrap();
}

#[test]
fn in_place_aliasing_errors() {
    let ctx = gpu_or_skip!();
    let data = storage(ctx, 256);
    let x = storage(ctx, 8);
    let w = storage(ctx, 4);
    let mut encoder = ctx.create_encoder();
    // The weight in the data's buffer.
    let err = ctx
        .encode_forward_in_place(
            &mut encoder,
            &Activation::Prelu,
            &[8],
            &ForwardInPlaceBuffers {
                data: TensorView::new(&data, 0, 8),
                weight: Some(TensorView::new(&data, 256, 1)),
                first_element: 0,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::AliasedBuffers {
                written: "data",
                other: "weight"
            }
        ),
        "{err}"
    );
    let backward = |input, grad_output, weight, grad_weight| BackwardInPlaceBuffers {
        input,
        grad_output,
        weight,
        grad_weight,
        from_output: false,
        first_element: 0,
    };
    let cases = [
        // x and the gradient overlapping, or in one buffer.
        (
            backward(
                TensorView::new(&data, 0, 128),
                TensorView::new(&data, 256, 128),
                None,
                None,
            ),
            Activation::Relu,
            ("grad_output", "input"),
        ),
        (
            backward(
                TensorView::new(&data, 0, 128),
                TensorView::new(&data, 0, 128),
                None,
                None,
            ),
            Activation::Relu,
            ("grad_output", "input"),
        ),
        // The weight gradient over the gradient it reads.
        (
            backward(
                TensorView::new(&x, 0, 8),
                TensorView::new(&data, 0, 8),
                Some(TensorView::new(&w, 0, 1)),
                Some(TensorView::new(&data, 256, 1)),
            ),
            Activation::Prelu,
            ("grad_weight", "grad_output"),
        ),
        // The weight gradient over the weight: written first, in place, it
        // would change the weight the kernel then reads.
        (
            backward(
                TensorView::new(&x, 0, 8),
                TensorView::new(&data, 0, 8),
                Some(TensorView::new(&w, 0, 1)),
                Some(TensorView::new(&w, 0, 1)),
            ),
            Activation::Prelu,
            ("grad_weight", "weight"),
        ),
    ];
    for (buffers, op, (written, other)) in cases {
        let err = ctx
            .encode_backward_in_place(&mut encoder, &op, &[buffers.input.len()], &buffers)
            .unwrap_err();
        assert_eq!(
            err,
            ActivationError::AliasedBuffers { written, other },
            "{buffers:?}"
        );
    }
    ctx.submit(encoder).unwrap();
}

#[test]
fn in_place_errors_are_errors_not_panics() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0, -1.0, 0.5, 2.0], &[4]).unwrap();
    let mut g = ctx.upload(&[1.0; 4], &[4]).unwrap();
    // Foreign tensors.
    let other = GpuContext::new().unwrap();
    let mut theirs = other.upload(&[1.0; 4], &[4]).unwrap();
    fn foreign<T>(r: Result<T, ActivationError>) -> bool {
        matches!(r, Err(ActivationError::ForeignTensor { .. }))
    }
    assert!(foreign(ctx.forward_in_place(
        &Activation::Relu,
        &mut theirs,
        None
    )));
    assert!(foreign(ctx.backward_in_place(
        &Activation::Relu,
        &x,
        &mut theirs,
        None
    )));
    assert!(foreign(ctx.backward_in_place(
        &Activation::Relu,
        &theirs,
        &mut g,
        None
    )));
    assert!(foreign(ctx.backward_from_output_in_place(
        &Activation::Relu,
        &theirs,
        &mut g
    )));
    let w_theirs = other.upload(&[0.25], &[1]).unwrap();
    assert!(foreign(ctx.backward_in_place(
        &Activation::Prelu,
        &x,
        &mut g,
        Some(&w_theirs)
    )));
    // Wrong dtype (checked whether or not the adapter has f16).
    let mut h = ctx.upload_f16(&[f16::ONE; 4], &[4]).unwrap();
    let err = ctx
        .backward_in_place(&Activation::Relu, &x, &mut h, None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::DtypeMismatch {
                what: "grad_output",
                ..
            }
        ),
        "{err}"
    );
    // Shapes, weights, parameters, gradients from the output.
    let mut g5 = ctx.upload(&[1.0; 5], &[5]).unwrap();
    assert!(matches!(
        ctx.backward_in_place(&Activation::Relu, &x, &mut g5, None),
        Err(ActivationError::ShapeMismatch { .. })
    ));
    let mut t = ctx.upload(&[1.0, -1.0, 0.5, 2.0], &[4]).unwrap();
    assert!(matches!(
        ctx.forward_in_place(&Activation::Prelu, &mut t, None),
        Err(ActivationError::WeightArgument { .. })
    ));
    assert!(matches!(
        ctx.forward_in_place(
            &Activation::LeakyRelu {
                negative_slope: f32::NAN
            },
            &mut t,
            None
        ),
        Err(ActivationError::InvalidParameter { .. })
    ));
    assert!(matches!(
        ctx.backward_from_output_in_place(&Activation::Silu, &x, &mut g),
        Err(ActivationError::Unsupported { .. })
    ));
    // Nothing ran: t and g are as they were.
    assert_eq!(ctx.download(&t).unwrap(), [1.0, -1.0, 0.5, 2.0]);
    assert_eq!(ctx.download(&g).unwrap(), [1.0; 4]);
    // A destroyed caller buffer is a validation error.
    let gone = storage(ctx, 8);
    gone.destroy();
    let mut encoder = ctx.create_encoder();
    let result = ctx
        .encode_forward_in_place(
            &mut encoder,
            &Activation::Relu,
            &[8],
            &ForwardInPlaceBuffers {
                data: TensorView::new(&gone, 0, 8),
                weight: None,
                first_element: 0,
            },
        )
        .and_then(|()| ctx.submit(encoder).map(drop));
    assert!(
        matches!(result, Err(ActivationError::Validation(_))),
        "{result:?}"
    );
}

#[test]
fn lost_device_in_place() {
    if common::gpu().is_none() {
        return;
    }
    let ctx = GpuContext::new().unwrap();
    let x = ctx.upload(&[-1.0, 1.0], &[2]).unwrap();
    let mut t = ctx.upload(&[-1.0, 1.0], &[2]).unwrap();
    let mut g = ctx.upload(&[1.0, 1.0], &[2]).unwrap();
    let w = ctx.upload(&[0.25], &[1]).unwrap();
    ctx.device().destroy();
    let _ = ctx.device().poll(wgpu::PollType::wait_indefinitely());
    let lost = |r: Result<(), ActivationError>| {
        assert!(matches!(r, Err(ActivationError::DeviceLost(_))), "{r:?}")
    };
    lost(ctx.forward_in_place(&Activation::Relu, &mut t, None));
    lost(
        ctx.backward_in_place(&Activation::Prelu, &x, &mut g, Some(&w))
            .map(drop),
    );
    lost(ctx.backward_from_output_in_place(&Activation::Relu, &x, &mut g));
    let mut encoder = ctx.create_encoder();
    lost(ctx.encode_forward_in_place(
        &mut encoder,
        &Activation::Relu,
        &[2],
        &ForwardInPlaceBuffers {
            data: t.view(),
            weight: None,
            first_element: 0,
        },
    ));
}

//! The recording API over caller-owned buffers, on a device the caller made.

mod common;

use wgpu::util::DeviceExt;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{
    f16, Activation, ActivationError, BackwardBuffers, DType, ForwardBuffers, GpuContext,
    TensorView,
};

fn storage_buffer(device: &wgpu::Device, data: &[f32]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("caller buffer"),
        contents: bytemuck::cast_slice(data),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    })
}

/// A device and queue made the way a renderer would, then wrapped.
fn callers_context() -> Option<GpuContext> {
    common::gpu()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .ok()?;
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).ok()?;
    Some(GpuContext::from_device(device, queue))
}

/// Records `b = leaky_relu(a); c = elu(b); dx = elu'(b) * grad` on the
/// caller's device, each op in a pass of its own or all in the caller's one
/// pass, and checks the chain against the CPU reference.
fn chain_of_ops(ctx: &GpuContext, in_one_pass: bool) {
    let device = ctx.device().clone();
    let x: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) / 50.0).collect();
    let g: Vec<f32> = (0..1001).map(|i| (i % 7) as f32 - 3.0).collect();
    let n = x.len();
    let a = storage_buffer(&device, &x);
    let b = storage_buffer(&device, &vec![0.0; n]);
    let c = storage_buffer(&device, &vec![0.0; n]);
    let grad = storage_buffer(&device, &g);
    let dx = storage_buffer(&device, &vec![0.0; n]);
    let view = |buffer| TensorView::new(buffer, 0, n);
    let leaky = Activation::LeakyRelu {
        negative_slope: 0.01,
    };
    let elu = Activation::Elu { alpha: 1.0 };
    let shape = [n];
    let forwards = [(leaky, &a, &b), (elu, &b, &c)];
    let backward = BackwardBuffers {
        input: view(&b),
        grad_output: view(&grad),
        grad_input: view(&dx),
        weight: None,
        grad_weight: None,
        from_output: false,
        first_element: 0,
    };

    let mut encoder = device.create_command_encoder(&Default::default());
    if in_one_pass {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        for (op, input, output) in forwards {
            let buffers = ForwardBuffers {
                input: view(input),
                output: view(output),
                weight: None,
                first_element: 0,
            };
            ctx.encode_forward_in_pass(&mut pass, &op, &shape, &buffers)
                .unwrap();
        }
        ctx.encode_backward_in_pass(&mut pass, &elu, &shape, &backward)
            .unwrap();
    } else {
        for (op, input, output) in forwards {
            let buffers = ForwardBuffers {
                input: view(input),
                output: view(output),
                weight: None,
                first_element: 0,
            };
            ctx.encode_forward(&mut encoder, &op, &shape, &buffers)
                .unwrap();
        }
        ctx.encode_backward(&mut encoder, &elu, &shape, &backward)
            .unwrap();
    }
    ctx.queue().submit([encoder.finish()]);

    let b_ref = cpu::forward(&leaky, &x, &shape, None, Denormals::Preserve).unwrap();
    assert_eq!(ctx.read_view(view(&b)).unwrap(), b_ref);
    common::assert_matches(
        "elu of leaky_relu",
        &elu,
        common::Direction::Forward,
        &shape,
        &b_ref,
        &[],
        None,
        &ctx.read_view(view(&c)).unwrap(),
        elu.forward_tolerance(),
    );
    common::assert_matches(
        "elu backward",
        &elu,
        common::Direction::Backward,
        &shape,
        &b_ref,
        &g,
        None,
        &ctx.read_view(view(&dx)).unwrap(),
        elu.backward_tolerance(),
    );
}

#[test]
fn chain_of_ops_in_one_submission_on_callers_device() {
    let Some(ctx) = callers_context() else { return };
    chain_of_ops(&ctx, false);
}

#[test]
fn chain_of_ops_in_the_callers_one_pass() {
    let Some(ctx) = callers_context() else { return };
    chain_of_ops(&ctx, true);
}

#[test]
fn bytes_past_the_view_are_untouched() {
    let ctx = gpu_or_skip!();
    let sentinel = 123.25f32;
    // 80 floats: a view of 5 at offset 0 (vec4 kernel, partial last vec4) and
    // a view of 3 at byte offset 256 (64 floats in; scalar kernel).
    let mut data = vec![sentinel; 80];
    data[..5].copy_from_slice(&[-1.0, 2.0, -3.0, 4.0, -5.0]);
    data[64..67].copy_from_slice(&[-6.0, 7.0, -8.0]);
    let input = storage_buffer(ctx.device(), &data);
    let output = storage_buffer(ctx.device(), &vec![sentinel; 80]);
    let mut encoder = ctx.create_encoder();
    for (offset, len) in [(0u64, 5usize), (256, 3)] {
        ctx.encode_forward(
            &mut encoder,
            &Activation::Relu,
            &[len],
            &ForwardBuffers {
                input: TensorView::new(&input, offset, len),
                output: TensorView::new(&output, offset, len),
                weight: None,
                first_element: 0,
            },
        )
        .unwrap();
    }
    ctx.submit(encoder).unwrap();
    let out = ctx.read_view(TensorView::whole(&output)).unwrap();
    let mut expected = vec![sentinel; 80];
    expected[..5].copy_from_slice(&[0.0, 2.0, 0.0, 4.0, 0.0]);
    expected[64..67].copy_from_slice(&[0.0, 7.0, 0.0]);
    assert_eq!(out, expected);
}

/// The same for f16, whose vec4 layout stores four halves as two words:
/// the lanes after a partial vec4's last element share a word with it and
/// must keep their bits.
#[test]
fn f16_bytes_past_the_view_are_untouched() {
    let ctx = gpu_or_skip!();
    if !ctx.device().features().contains(wgpu::Features::SHADER_F16) {
        eprintln!("skipped: the adapter lacks SHADER_F16");
        return;
    }
    let half = |v: &[f32]| -> Vec<f16> { v.iter().map(|&x| f16::from_f32(x)).collect() };
    let sentinel = 123.25f32;
    // 160 halves: views of 5 and 6 at offset 0 (vec4 kernel, a partial last
    // vec4 ending inside a word and on one) and of 3 at byte offset 256
    // (128 halves in; scalar kernel).
    for len in [5usize, 6] {
        let mut data = vec![sentinel; 160];
        data[..6].copy_from_slice(&[-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]);
        data[128..131].copy_from_slice(&[-6.0, 7.0, -8.0]);
        let bytes = |v: &[f32]| bytemuck::cast_slice::<f16, u8>(&half(v)).to_vec();
        let buffer = |contents: &[u8]| {
            ctx.device()
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("caller buffer"),
                    contents,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                })
        };
        let input = buffer(&bytes(&data));
        let output = buffer(&bytes(&vec![sentinel; 160]));
        let mut encoder = ctx.create_encoder();
        for (offset, len) in [(0u64, len), (256, 3)] {
            ctx.encode_forward(
                &mut encoder,
                &Activation::Relu,
                &[len],
                &ForwardBuffers {
                    input: TensorView::new_f16(&input, offset, len),
                    output: TensorView::new_f16(&output, offset, len),
                    weight: None,
                    first_element: 0,
                },
            )
            .unwrap();
        }
        ctx.submit(encoder).unwrap();
        let out = ctx
            .read_view_f16(TensorView::with_dtype(&output, 0, 160, DType::F16))
            .unwrap();
        let mut expected = vec![sentinel; 160];
        expected[..len].copy_from_slice(&[0.0, 2.0, 0.0, 4.0, 0.0, 6.0][..len]);
        expected[128..131].copy_from_slice(&[0.0, 7.0, 0.0]);
        assert_eq!(out, half(&expected), "view of {len}");
    }
}

#[test]
fn wgpu_validation_errors_are_returned_not_panicked() {
    let ctx = gpu_or_skip!();
    let input = storage_buffer(ctx.device(), &[1.0; 8]);
    let output = storage_buffer(ctx.device(), &[1.0; 8]);
    input.destroy();
    let mut encoder = ctx.create_encoder();
    let recorded = ctx.encode_forward(
        &mut encoder,
        &Activation::Relu,
        &[8],
        &ForwardBuffers {
            input: TensorView::new(&input, 0, 8),
            output: TensorView::new(&output, 0, 8),
            weight: None,
            first_element: 0,
        },
    );
    // wgpu reports the destroyed buffer either when the bind group is made
    // or when the commands are submitted; both come back as an error.
    let result = recorded.and_then(|()| ctx.submit(encoder).map(|_| ()));
    assert!(
        matches!(result, Err(ActivationError::Validation(_))),
        "{result:?}"
    );
}

#[test]
fn one_context_shared_by_threads() {
    let ctx = gpu_or_skip!();
    std::thread::scope(|scope| {
        for t in 0..4 {
            scope.spawn(move || {
                for round in 0..10 {
                    let x: Vec<f32> = (0..333)
                        .map(|i| (i + t * 1000 + round) as f32 - 500.0)
                        .collect();
                    let input = ctx.upload(&x, &[x.len()]).unwrap();
                    let y = ctx.forward(&Activation::Relu, &input, None).unwrap();
                    let expected: Vec<f32> = x.iter().map(|v| v.max(0.0)).collect();
                    assert_eq!(ctx.download(&y).unwrap(), expected);
                }
            });
        }
    });
}

/// More distinct parameter blocks than the uniform arena keeps (16384): the
/// calls past it get buffers of their own, made with their parameters. Each
/// op's min_val is its own and shows in its output, so a call that ran with
/// another's (or no) parameters fails.
#[test]
fn parameter_blocks_past_the_arena() {
    let Some(ctx) = callers_context() else {
        return;
    };
    const OPS: usize = 16384 + 100;
    let device = ctx.device();
    let x = [-1000.0f32, 0.25, 200.0, -0.0];
    let input = storage_buffer(device, &x);
    let slot = u64::from(device.limits().min_storage_buffer_offset_alignment).max(16);
    let output = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("outputs"),
        size: OPS as u64 * slot,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    // Distinct and exact: -1 - i / 1024.
    let min_val = |i: usize| -1.0 - i as f32 / 1024.0;
    let mut encoder = ctx.create_encoder();
    for i in 0..OPS {
        let op = Activation::Hardtanh {
            min_val: min_val(i),
            max_val: 100.0,
        };
        let buffers = ForwardBuffers {
            input: TensorView::new(&input, 0, x.len()),
            output: TensorView::new(&output, i as u64 * slot, x.len()),
            weight: None,
            first_element: 0,
        };
        ctx.encode_forward(&mut encoder, &op, &[x.len()], &buffers)
            .unwrap();
    }
    ctx.submit(encoder).unwrap();
    let all = ctx
        .read_view(TensorView::new(&output, 0, OPS * slot as usize / 4))
        .unwrap();
    let per_slot = slot as usize / 4;
    for i in 0..OPS {
        let y = &all[i * per_slot..i * per_slot + x.len()];
        assert_eq!(
            y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            [min_val(i), 0.25, 100.0, -0.0f32]
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            "op {i} (past the arena: {})",
            i >= 16384
        );
    }
}

//! Sizes past the dispatch limit (more than 65535 x 256 elements, folded into
//! a 2-D grid) and past one storage binding (processed in chunks), and the
//! PReLU weight gradient over millions of elements per channel.

mod common;

use wgpu::util::DeviceExt;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{Activation, BackwardBuffers, ForwardBuffers, GpuContext, TensorView};

/// 65535 workgroups of 256 threads, plus a few elements.
const PAST_ONE_DIMENSION: usize = 65535 * 256 + 5;

fn data(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i.wrapping_mul(2654435761) % 20011) as f32 - 10005.0) / 997.0)
        .collect()
}

fn first_mismatch(a: &[f32], b: &[f32]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

#[test]
fn scalar_kernel_past_65535_workgroups() {
    let ctx = gpu_or_skip!();
    // An exactly sized buffer of a length that is not a multiple of 4 runs the
    // one-element-per-thread kernel: 65536 workgroups, folded into 2-D.
    let len = PAST_ONE_DIMENSION;
    let x = data(len);
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let input = ctx
        .device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(&x),
            usage,
        });
    let output = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: len as u64 * 4,
        usage,
        mapped_at_creation: false,
    });
    let op = Activation::LeakyRelu {
        negative_slope: 0.125,
    };
    let mut encoder = ctx.create_encoder();
    ctx.encode_forward(
        &mut encoder,
        &op,
        &[len],
        &ForwardBuffers {
            input: TensorView::new(&input, 0, len),
            output: TensorView::new(&output, 0, len),
            weight: None,
            first_element: 0,
        },
    )
    .unwrap();
    ctx.submit(encoder).unwrap();
    let gpu = ctx.read_view(TensorView::new(&output, 0, len)).unwrap();
    let reference = cpu::forward(&op, &x, &[len], None, Denormals::Preserve).unwrap();
    assert_eq!(first_mismatch(&gpu, &reference), None);
}

#[test]
fn vec4_kernel_and_prelu_channels_past_65535_x_256_elements() {
    let ctx = gpu_or_skip!();
    // More than 65535 x 256 elements in 3 channels, through the vec4 kernel.
    // (Its workgroups only pass 65535 beyond 4 x 65535 x 256 elements, which
    // lavapipe's 128 MiB binding limit splits into chunks first: the fold
    // itself is exercised by the scalar test above.)
    let shape = [2, 3, 2_796_203];
    let len: usize = shape.iter().product();
    assert!(len > 65535 * 256);
    let x = data(len);
    let weight = [0.5, -0.25, 2.0];
    let input = ctx.upload(&x, &shape).unwrap();
    let w = ctx.upload(&weight, &[3]).unwrap();
    let y = ctx.forward(&Activation::Prelu, &input, Some(&w)).unwrap();
    let reference = cpu::forward(
        &Activation::Prelu,
        &x,
        &shape,
        Some(&weight),
        Denormals::Preserve,
    )
    .unwrap();
    assert_eq!(first_mismatch(&ctx.download(&y).unwrap(), &reference), None);
}

#[test]
fn tensor_larger_than_one_storage_binding_runs_in_chunks() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    let len = (max_binding / 4 + 1_000_003) as usize;
    if len as u64 * 4 > ctx.limits().max_buffer_size || len > 300_000_000 {
        eprintln!("skipping: this device's binding limit ({max_binding} bytes) is too large to exceed here");
        return;
    }
    let x = data(len);
    let g: Vec<f32> = x.iter().map(|v| v * 0.5 + 1.0).collect();
    let shape = [len];
    let input = ctx.upload(&x, &shape).unwrap();
    let grad = ctx.upload(&g, &shape).unwrap();
    let y = ctx.forward(&Activation::Relu, &input, None).unwrap();
    let reference = cpu::forward(&Activation::Relu, &x, &shape, None, Denormals::Preserve).unwrap();
    assert_eq!(first_mismatch(&ctx.download(&y).unwrap(), &reference), None);
    let grads = ctx
        .backward(
            &Activation::LeakyRelu {
                negative_slope: 0.01,
            },
            &input,
            &grad,
            None,
        )
        .unwrap();
    let reference = cpu::backward(
        &Activation::LeakyRelu {
            negative_slope: 0.01,
        },
        &x,
        &g,
        &shape,
        None,
        Denormals::Preserve,
    )
    .unwrap();
    assert_eq!(
        first_mismatch(&ctx.download(&grads.grad_input).unwrap(), &reference),
        None
    );
}

fn prelu_weight_grad(
    ctx: &GpuContext,
    x: &[f32],
    g: &[f32],
    shape: &[usize],
    w: &[f32],
) -> Vec<f32> {
    let input = ctx.upload(x, shape).unwrap();
    let grad = ctx.upload(g, shape).unwrap();
    let weight = ctx.upload(w, &[w.len()]).unwrap();
    let grad_input = ctx.empty(shape).unwrap();
    let grad_weight = ctx.empty(&[w.len()]).unwrap();
    let mut encoder = ctx.create_encoder();
    ctx.encode_backward(
        &mut encoder,
        &Activation::Prelu,
        shape,
        &BackwardBuffers {
            input: input.view(),
            grad_output: grad.view(),
            grad_input: grad_input.view(),
            weight: Some(weight.view()),
            grad_weight: Some(grad_weight.view()),
            from_output: false,
            first_element: 0,
        },
    )
    .unwrap();
    ctx.submit(encoder).unwrap();
    ctx.download(&grad_weight).unwrap()
}

#[test]
fn prelu_weight_grad_is_accurate_and_deterministic_over_millions() {
    let ctx = gpu_or_skip!();
    // 3 channels of 4 x 1_000_000 = 4 million elements each, every term
    // positive (x < 0, g < 0), where a running f32 sum would lose ~1e-3 relative.
    let shape = [4, 3, 1_000_000];
    let len: usize = shape.iter().product();
    let x: Vec<f32> = (0..len).map(|i| -0.1 - (i % 1000) as f32 * 1e-3).collect();
    let g: Vec<f32> = (0..len).map(|i| -1.0 - (i % 7) as f32 * 0.1).collect();
    let w = [0.25, 0.25, 0.25];
    let first = prelu_weight_grad(ctx, &x, &g, &shape, &w);
    let reference = cpu::prelu_weight_grad(&x, &g, &shape, &w, Denormals::Preserve).unwrap();
    for (gpu, exact) in first.iter().zip(&reference) {
        let relative = ((gpu - exact) / exact).abs();
        // log2(4e6) + 4 = 26 eps bound; observed is far smaller.
        assert!(
            relative < 26.0 * f32::EPSILON,
            "GPU {gpu} vs reference {exact}: {relative:e}"
        );
    }
    for _ in 0..3 {
        let again = prelu_weight_grad(ctx, &x, &g, &shape, &w);
        assert_eq!(
            first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            again.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "same inputs must give the same bits"
        );
    }
    // A shared weight sums every element.
    let shared = prelu_weight_grad(ctx, &x, &g, &shape, &[0.25]);
    let reference = cpu::prelu_weight_grad(&x, &g, &shape, &[0.25], Denormals::Preserve).unwrap();
    assert!(((shared[0] - reference[0]) / reference[0]).abs() < 27.0 * f32::EPSILON);
}

#[test]
fn empty_tensors() {
    let ctx = gpu_or_skip!();
    let empty = ctx.upload(&[], &[0, 3]).unwrap();
    for op in Activation::all_defaults()
        .into_iter()
        .filter(|op| !op.uses_weight())
    {
        let y = ctx.forward(&op, &empty, None).unwrap();
        assert!(ctx.download(&y).unwrap().is_empty());
    }
    let w = ctx.upload(&[0.1, 0.2, 0.3], &[3]).unwrap();
    let grads = ctx
        .backward(&Activation::Prelu, &empty, &empty, Some(&w))
        .unwrap();
    assert!(ctx.download(&grads.grad_input).unwrap().is_empty());
    assert_eq!(
        ctx.download(&grads.grad_weight.unwrap()).unwrap(),
        [0.0, 0.0, 0.0]
    );
}

#[test]
fn prelu_weight_grad_past_one_storage_binding() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    let elements_past = (max_binding / 4) as usize + 2_000_000;
    if elements_past > 200_000_000 {
        eprintln!("skipping: this device's binding limit ({max_binding} bytes) is too large to exceed here");
        return;
    }
    // Channels of an odd inner size, so that the binding pieces start
    // mid-channel and mid-block.
    let (n, c) = (2, 3);
    let inner = elements_past.div_ceil(n * c) | 1;
    let shape = [n, c, inner];
    let len: usize = shape.iter().product();
    assert!(len as u64 * 4 > max_binding);
    let x: Vec<f32> = (0..len).map(|i| -0.5 - (i % 997) as f32 * 1e-3).collect();
    let g: Vec<f32> = (0..len).map(|i| 1.0 + (i % 13) as f32 * 0.01).collect();
    for w in [&[0.1f32, 0.2, 0.3][..], &[0.25][..]] {
        let first = prelu_weight_grad(ctx, &x, &g, &shape, w);
        let reference = cpu::prelu_weight_grad(&x, &g, &shape, w, Denormals::Preserve).unwrap();
        for (gpu, exact) in first.iter().zip(&reference) {
            let relative = ((gpu - exact) / exact).abs();
            assert!(
                relative < 30.0 * f32::EPSILON,
                "{} weights: GPU {gpu} vs reference {exact}: {relative:e}",
                w.len()
            );
        }
        let again = prelu_weight_grad(ctx, &x, &g, &shape, w);
        assert_eq!(
            first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            again.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "same inputs must give the same bits"
        );
    }
}

/// PReLU finds each element's weight three ways (one shared weight; one
/// channel per vec4 when channel blocks are whole vec4s; per lane otherwise):
/// each gives the CPU's bits, forward and backward, also over a tensor past
/// one storage binding (chunks start on whole vec4s) and over a view whose
/// first element is not on a vec4 of the logical tensor.
#[test]
fn prelu_weights_per_thread_per_lane_and_shared_match_the_cpu() {
    let ctx = gpu_or_skip!();
    let max_binding = ctx.limits().max_storage_buffer_binding_size;
    let past_binding = (max_binding / 4 / 8 + 4096) as usize * 4;
    let shapes: [&[usize]; 5] = [
        &[4, 5, 12],
        &[4, 5, 7],
        &[3, 1, 1000],
        &[2, 4, past_binding],
        &[64, 3, 2, 2],
    ];
    for shape in shapes {
        let len: usize = shape.iter().product();
        if len > 300_000_000 {
            continue;
        }
        let channels = shape[1];
        let x = data(len);
        let g: Vec<f32> = data(len).iter().rev().copied().collect();
        let weight: Vec<f32> = (0..channels).map(|c| 0.25 - 0.125 * c as f32).collect();
        let input = ctx.upload(&x, shape).unwrap();
        let grad = ctx.upload(&g, shape).unwrap();
        let w = ctx.upload(&weight, &[channels]).unwrap();
        let y = ctx.forward(&Activation::Prelu, &input, Some(&w)).unwrap();
        let reference = cpu::forward(
            &Activation::Prelu,
            &x,
            shape,
            Some(&weight),
            Denormals::Preserve,
        )
        .unwrap();
        assert_eq!(
            first_mismatch(&ctx.download(&y).unwrap(), &reference),
            None,
            "forward {shape:?}"
        );
        let gx = ctx
            .backward(&Activation::Prelu, &input, &grad, Some(&w))
            .unwrap();
        let reference = cpu::backward(
            &Activation::Prelu,
            &x,
            &g,
            shape,
            Some(&weight),
            Denormals::Preserve,
        )
        .unwrap();
        assert_eq!(
            first_mismatch(&ctx.download(&gx.grad_input).unwrap(), &reference),
            None,
            "backward {shape:?}"
        );
    }
    // A [2, 3, 8] piece whose first element is element 2 of the whole
    // tensor: its vec4s straddle channel blocks.
    let shape = [2usize, 3, 8];
    let whole = data(72);
    let x = &whole[2..50];
    let weight = [0.5f32, -0.25, 2.0];
    let input = ctx.upload(x, &shape).unwrap();
    let w = ctx.upload(&weight, &[3]).unwrap();
    let output = ctx.empty(&shape).unwrap();
    let mut encoder = ctx.create_encoder();
    ctx.encode_forward(
        &mut encoder,
        &Activation::Prelu,
        &shape,
        &ForwardBuffers {
            input: input.view(),
            output: output.view(),
            weight: Some(w.view()),
            first_element: 2,
        },
    )
    .unwrap();
    ctx.submit(encoder).unwrap();
    let gpu = ctx.download(&output).unwrap();
    let reference = cpu::forward(
        &Activation::Prelu,
        &whole,
        &[3, 3, 8],
        Some(&weight),
        Denormals::Preserve,
    )
    .unwrap();
    assert_eq!(
        first_mismatch(&gpu, &reference[2..50]),
        None,
        "piece from 2"
    );
}

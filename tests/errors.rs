//! Bad input gets a clear error, never a panic: one test per error the issue names.

mod common;

use wgpu::util::DeviceExt;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{
    Activation, ActivationError, BackwardBuffers, ForwardBuffers, GpuContext, TensorView,
};

fn buffer(ctx: &GpuContext, floats: usize, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test"),
            contents: bytemuck::cast_slice(&vec![1.0f32; floats]),
            usage,
        })
}

fn storage(ctx: &GpuContext, floats: usize) -> wgpu::Buffer {
    buffer(
        ctx,
        floats,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    )
}

fn forward_views(
    ctx: &GpuContext,
    op: Activation,
    shape: &[usize],
    input: TensorView<'_>,
    output: TensorView<'_>,
    weight: Option<TensorView<'_>>,
) -> Result<(), ActivationError> {
    let mut encoder = ctx.create_encoder();
    ctx.encode_forward(
        &mut encoder,
        &op,
        shape,
        &ForwardBuffers {
            input,
            output,
            weight,
            first_element: 0,
        },
    )
}

#[test]
fn invalid_parameters() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0, -1.0], &[2]).unwrap();
    for op in [
        Activation::LeakyRelu {
            negative_slope: f32::NAN,
        },
        Activation::LeakyRelu {
            negative_slope: f32::INFINITY,
        },
        Activation::Elu { alpha: f32::NAN },
        Activation::Elu {
            alpha: f32::NEG_INFINITY,
        },
    ] {
        let err = ctx.forward(&op, &x, None).unwrap_err();
        assert!(
            matches!(err, ActivationError::InvalidParameter { .. }),
            "{op}: {err}"
        );
        let err = ctx.backward(&op, &x, &x, None).unwrap_err();
        assert!(
            matches!(err, ActivationError::InvalidParameter { .. }),
            "{op}: {err}"
        );
        let err = cpu::forward(&op, &[1.0], &[1], None, Denormals::Preserve).unwrap_err();
        assert!(
            matches!(err, ActivationError::InvalidParameter { .. }),
            "{op}: {err}"
        );
    }
}

#[test]
fn prelu_weight_count_and_presence() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[1.0; 12], &[2, 3, 2]).unwrap();
    let two = ctx.upload(&[0.1, 0.2], &[2]).unwrap();
    let err = ctx.forward(&Activation::Prelu, &x, Some(&two)).unwrap_err();
    assert_eq!(
        err,
        ActivationError::PreluWeightCount {
            channels: 3,
            actual: 2
        }
    );
    assert!(err.to_string().contains("expected 1 or 3"), "{err}");
    let err = ctx
        .backward(&Activation::Prelu, &x, &x, Some(&two))
        .unwrap_err();
    assert!(matches!(err, ActivationError::PreluWeightCount { .. }));
    let err = ctx.forward(&Activation::Prelu, &x, None).unwrap_err();
    assert!(
        matches!(err, ActivationError::WeightArgument { .. }),
        "{err}"
    );
    let err = ctx.forward(&Activation::Relu, &x, Some(&two)).unwrap_err();
    assert!(
        matches!(err, ActivationError::WeightArgument { .. }),
        "{err}"
    );
    // A 1-d input has one channel: only a single weight fits.
    let line = ctx.upload(&[1.0; 3], &[3]).unwrap();
    let three = ctx.upload(&[0.1, 0.2, 0.3], &[3]).unwrap();
    let err = ctx
        .forward(&Activation::Prelu, &line, Some(&three))
        .unwrap_err();
    assert_eq!(
        err,
        ActivationError::PreluWeightCount {
            channels: 1,
            actual: 3
        }
    );
}

#[test]
fn length_mismatches() {
    let ctx = gpu_or_skip!();
    let err = ctx.upload(&[1.0, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert!(matches!(
        err,
        ActivationError::LengthMismatch {
            expected: 4,
            actual: 3,
            ..
        }
    ));
    let x = ctx.upload(&[1.0; 4], &[4]).unwrap();
    let g = ctx.upload(&[1.0; 5], &[5]).unwrap();
    let err = ctx.backward(&Activation::Relu, &x, &g, None).unwrap_err();
    assert!(
        matches!(err, ActivationError::ShapeMismatch { .. }),
        "{err}"
    );
    let input = storage(ctx, 8);
    let output = storage(ctx, 8);
    let err = forward_views(
        ctx,
        Activation::Relu,
        &[8],
        TensorView::new(&input, 0, 8),
        TensorView::new(&output, 0, 7),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, ActivationError::LengthMismatch { what: "output", .. }),
        "{err}"
    );
}

#[test]
fn buffer_too_small_misaligned_or_without_storage() {
    let ctx = gpu_or_skip!();
    let input = storage(ctx, 8);
    let output = storage(ctx, 8);
    let err = forward_views(
        ctx,
        Activation::Relu,
        &[9],
        TensorView::new(&input, 0, 9),
        TensorView::new(&output, 0, 9),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::BufferTooSmall {
                what: "input",
                needed: 36,
                available: 32
            }
        ),
        "{err}"
    );

    let big_in = storage(ctx, 128);
    let big_out = storage(ctx, 128);
    let err = forward_views(
        ctx,
        Activation::Relu,
        &[4],
        TensorView::new(&big_in, 4, 4),
        TensorView::new(&big_out, 0, 4),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::MisalignedOffset {
                what: "input",
                offset: 4,
                ..
            }
        ),
        "{err}"
    );

    let uniform_only = buffer(
        ctx,
        8,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_SRC,
    );
    let err = forward_views(
        ctx,
        Activation::Relu,
        &[8],
        TensorView::new(&input, 0, 8),
        TensorView::new(&uniform_only, 0, 8),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ActivationError::MissingUsage {
            what: "output",
            usage: "STORAGE"
        }
    );

    let no_copy = buffer(ctx, 8, wgpu::BufferUsages::STORAGE);
    let err = ctx.read_view(TensorView::new(&no_copy, 0, 8)).unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::MissingUsage {
                usage: "COPY_SRC",
                ..
            }
        ),
        "{err}"
    );
    let err = ctx.read_view(TensorView::new(&input, 0, 9)).unwrap_err();
    assert!(
        matches!(err, ActivationError::BufferTooSmall { .. }),
        "{err}"
    );
}

#[test]
fn aliased_input_and_output() {
    let ctx = gpu_or_skip!();
    let data = storage(ctx, 128);
    let err = forward_views(
        ctx,
        Activation::Relu,
        &[8],
        TensorView::new(&data, 0, 8),
        TensorView::new(&data, 256, 8),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::AliasedBuffers {
                written: "output",
                other: "input"
            }
        ),
        "{err}"
    );

    // The exact same range is what the in-place entry points do: the error
    // names them.
    let same = TensorView::new(&data, 0, 8);
    let err = forward_views(ctx, Activation::Relu, &[8], same, same, None).unwrap_err();
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
    assert_eq!(
        err.to_string(),
        "output is the same range as input: to overwrite input in place, use \
         GpuContext::encode_forward_in_place (or encode_forward_in_place_in_pass)"
    );

    let x = storage(ctx, 8);
    let g = storage(ctx, 8);
    let w = storage(ctx, 1);
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_backward(
            &mut encoder,
            &Activation::Prelu,
            &[8],
            &BackwardBuffers {
                input: TensorView::new(&x, 0, 8),
                grad_output: TensorView::new(&g, 0, 8),
                grad_input: TensorView::new(&data, 0, 8),
                weight: Some(TensorView::new(&w, 0, 1)),
                grad_weight: Some(TensorView::new(&data, 0, 1)),
                from_output: false,
                first_element: 0,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ActivationError::AliasedBuffers {
                written: "grad_weight",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn errors_leave_the_context_usable() {
    let ctx = gpu_or_skip!();
    let x = ctx.upload(&[-1.0, 1.0], &[2]).unwrap();
    assert!(ctx
        .forward(
            &Activation::LeakyRelu {
                negative_slope: f32::NAN
            },
            &x,
            None
        )
        .is_err());
    let y = ctx.forward(&Activation::Relu, &x, None).unwrap();
    assert_eq!(ctx.download(&y).unwrap(), [0.0, 1.0]);
}

#[test]
fn error_messages_name_the_problem() {
    let err = ActivationError::InvalidParameter {
        op: "leaky_relu",
        name: "negative_slope",
        value: f32::NAN,
        reason: "must be a finite number",
    };
    assert_eq!(
        err.to_string(),
        "leaky_relu: invalid negative_slope = NaN: must be a finite number"
    );
}

#[test]
fn lost_device_is_reported() {
    if common::gpu().is_none() {
        return;
    }
    let ctx = GpuContext::new().unwrap();
    let x = ctx.upload(&[-1.0, 1.0], &[2]).unwrap();
    ctx.device().destroy();
    let _ = ctx.device().poll(wgpu::PollType::wait_indefinitely());
    let err = ctx.forward(&Activation::Relu, &x, None).unwrap_err();
    assert!(matches!(err, ActivationError::DeviceLost(_)), "{err}");
    let err = ctx.download(&x).unwrap_err();
    assert!(matches!(err, ActivationError::DeviceLost(_)), "{err}");
}

#[test]
fn messages_name_what_is_wrong() {
    let ctx = gpu_or_skip!();
    // Same element count, other shape: the message names both shapes.
    let x = ctx.upload(&[1.0; 6], &[2, 3]).unwrap();
    let g = ctx.upload(&[1.0; 6], &[3, 2]).unwrap();
    let err = ctx.backward(&Activation::Relu, &x, &g, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "grad_output has shape [3, 2], expected [2, 3]"
    );
    // A shape whose element count overflows: no "18446744073709551615 elements".
    let err = ctx.empty(&[usize::MAX, 2]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "shape [{}, 2] has more elements than this machine can address",
            usize::MAX
        )
    );
    assert!(!err.to_string().contains("at most"), "{err}");
}

#[test]
fn tensors_of_another_context_are_refused() {
    let ctx = gpu_or_skip!();
    let other = GpuContext::new().unwrap();
    let theirs = other.upload(&[1.0, -1.0], &[2]).unwrap();
    let ours = ctx.upload(&[1.0, -1.0], &[2]).unwrap();
    let foreign = |err: ActivationError| matches!(err, ActivationError::ForeignTensor { .. });
    assert!(foreign(
        ctx.forward(&Activation::Relu, &theirs, None).unwrap_err()
    ));
    assert!(foreign(
        ctx.backward(&Activation::Relu, &ours, &theirs, None)
            .unwrap_err()
    ));
    assert!(foreign(ctx.download(&theirs).unwrap_err()));
    let mut encoder = ctx.create_encoder();
    let err = ctx
        .encode_forward(
            &mut encoder,
            &Activation::Relu,
            &[2],
            &ForwardBuffers {
                input: ours.view(),
                output: theirs.view(),
                weight: None,
                first_element: 0,
            },
        )
        .unwrap_err();
    assert!(foreign(err.clone()), "{err}");
    assert_eq!(
        err.to_string(),
        "output belongs to another GpuContext (another device); use tensors of this context"
    );
    // Clones are the same context.
    let clone = ctx.clone();
    assert_eq!(
        clone
            .download(&clone.forward(&Activation::Relu, &ours, None).unwrap())
            .unwrap(),
        [1.0, 0.0]
    );
}

/// Lengths and shapes whose byte counts or channel blocks pass 64 bits:
/// an error (the view cannot fit any buffer) or, for an empty shape, nothing
/// to do; never an overflow (a panic in builds with overflow checks, a
/// wrapped size passing the checks in others).
#[test]
fn lengths_past_64_bits() {
    let ctx = gpu_or_skip!();
    let b = storage(ctx, 16);
    let out = storage(ctx, 16);
    for len in [1usize << 62, usize::MAX] {
        assert!(matches!(
            ctx.read_view(TensorView::new(&b, 0, len)),
            Err(ActivationError::BufferTooSmall { .. })
        ));
        assert!(matches!(
            ctx.read_view_f16(TensorView::new_f16(&b, 0, len)),
            Err(ActivationError::BufferTooSmall { .. })
        ));
        let (input, output) = (TensorView::new(&b, 0, len), TensorView::new(&out, 0, len));
        assert!(forward_views(ctx, Activation::Relu, &[len], input, output, None).is_err());
    }
    // PReLU over an empty shape whose channel block passes usize::MAX.
    let empty = storage(ctx, 4);
    let weight = storage(ctx, 4);
    let empty_out = storage(ctx, 4);
    let shape = [0, 1, 1 << 40, 1 << 40];
    forward_views(
        ctx,
        Activation::Prelu,
        &shape,
        TensorView::new(&empty, 0, 0),
        TensorView::new(&empty_out, 0, 0),
        Some(TensorView::new(&weight, 0, 1)),
    )
    .unwrap();
}

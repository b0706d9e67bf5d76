//! Device loss (what a driver reset or a removed GPU looks like, made here
//! with `device.destroy()`): every public call returns `Err(DeviceLost)`,
//! never a panic or a hang, for contexts from `new()` and from
//! `from_device()`, with and without a poll in between, with work in
//! flight, and with the pipelines and bind groups already cached.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use wgpu_activations::{
    f16, Activation, ActivationError, BackwardBuffers, BackwardInPlaceBuffers, DeviceLossCheck,
    Epilogue, ForwardBuffers, ForwardInPlaceBuffers, FusedForwardBuffers, GatedActivation,
    GatedFusedForwardBuffers, GpuContext, GpuTensor, TensorView,
};

/// A fresh context with its own device: `new()`, or a device made as a
/// renderer would and handed over with `from_device()`.
fn fresh(from_device: bool) -> Option<GpuContext> {
    common::gpu()?;
    if !from_device {
        return Some(GpuContext::new().expect("a second device"));
    }
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .ok()?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        required_features: adapter.features() & wgpu::Features::SHADER_F16,
        ..Default::default()
    }))
    .ok()?;
    Some(GpuContext::from_device(device, queue))
}

/// What a test holds when it destroys the device.
struct Setup {
    ctx: GpuContext,
    x: GpuTensor,
    g: GpuTensor,
    w: GpuTensor,
    y: GpuTensor,
    out: GpuTensor,
    /// Two elements: a gated op's output shape for `x`.
    half: GpuTensor,
    /// Overwritten by the in-place calls.
    in_place: Mutex<GpuTensor>,
}

/// A context with tensors uploaded and every op's pipeline and bind group
/// already used once (so that nothing is created after the loss).
fn warmed_up(from_device: bool) -> Option<Setup> {
    let ctx = fresh(from_device)?;
    let x = ctx.upload(&[1.0, -2.0, 3.0, -4.0], &[4]).unwrap();
    let g = ctx.upload(&[1.0; 4], &[4]).unwrap();
    let w = ctx.upload(&[0.25], &[1]).unwrap();
    let y = ctx.forward(&Activation::Relu, &x, None).unwrap();
    let out = ctx.empty(&[4]).unwrap();
    let half = ctx.upload(&[0.5, -0.5], &[2]).unwrap();
    let in_place = Mutex::new(ctx.upload(&[1.0; 4], &[4]).unwrap());
    let setup = Setup {
        ctx,
        x,
        g,
        w,
        y,
        out,
        half,
        in_place,
    };
    for call in calls() {
        (call.run)(&setup).unwrap_or_else(|e| panic!("{} before the loss: {e}", call.name));
    }
    Some(setup)
}

struct Call {
    name: &'static str,
    run: fn(&Setup) -> Result<(), ActivationError>,
}

fn forward_buffers(s: &Setup) -> ForwardBuffers<'_> {
    ForwardBuffers {
        input: s.x.view(),
        output: s.out.view(),
        weight: None,
        first_element: 0,
    }
}

fn backward_buffers(s: &Setup) -> BackwardBuffers<'_> {
    BackwardBuffers {
        input: s.x.view(),
        grad_output: s.g.view(),
        grad_input: s.out.view(),
        weight: None,
        grad_weight: None,
        from_output: false,
        first_element: 0,
    }
}

/// Every public call that touches the device.
fn calls() -> Vec<Call> {
    vec![
        Call {
            name: "upload",
            run: |s| s.ctx.upload(&[1.0, 2.0], &[2]).map(drop),
        },
        Call {
            name: "upload_f16",
            run: |s| s.ctx.upload_f16(&[f16::ONE], &[1]).map(drop),
        },
        Call {
            name: "empty",
            run: |s| s.ctx.empty(&[8]).map(drop),
        },
        Call {
            name: "forward",
            run: |s| s.ctx.forward(&Activation::Silu, &s.x, None).map(drop),
        },
        Call {
            name: "forward_fused",
            run: |s| {
                let epilogue = Epilogue {
                    bias: Some(&s.g),
                    bias_dim: -1,
                    residual: Some(&s.g),
                };
                s.ctx
                    .forward_fused(&Activation::Silu, &s.x, None, &epilogue)
                    .map(drop)
            },
        },
        Call {
            name: "backward_fused",
            run: |s| {
                let epilogue = Epilogue {
                    bias: Some(&s.g),
                    bias_dim: -1,
                    residual: None,
                };
                s.ctx
                    .backward_fused(&Activation::Silu, &s.x, &s.g, None, &epilogue)
                    .map(drop)
            },
        },
        Call {
            name: "encode_forward_fused",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                s.ctx.encode_forward_fused(
                    &mut encoder,
                    &Activation::Silu,
                    &[4],
                    &FusedForwardBuffers {
                        input: s.x.view(),
                        output: s.out.view(),
                        weight: None,
                        bias: Some(s.g.view()),
                        bias_dim: 0,
                        residual: Some(s.g.view()),
                        first_element: 0,
                    },
                )
            },
        },
        Call {
            name: "backward_fused (prelu, weight gradient)",
            run: |s| {
                let epilogue = Epilogue {
                    bias: Some(&s.g),
                    bias_dim: 0,
                    residual: None,
                };
                s.ctx
                    .backward_fused(&Activation::Prelu, &s.x, &s.g, Some(&s.w), &epilogue)
                    .map(drop)
            },
        },
        Call {
            name: "gated_forward_fused",
            run: |s| {
                let epilogue = Epilogue {
                    bias: Some(&s.g),
                    bias_dim: 0,
                    residual: Some(&s.half),
                };
                s.ctx
                    .gated_forward_fused(&GatedActivation::SiluAndMul, &s.x, &epilogue)
                    .map(drop)
            },
        },
        Call {
            name: "gated_backward_fused",
            run: |s| {
                let epilogue = Epilogue {
                    bias: Some(&s.g),
                    bias_dim: 0,
                    residual: None,
                };
                s.ctx
                    .gated_backward_fused(&GatedActivation::SiluAndMul, &s.x, &s.half, &epilogue)
                    .map(drop)
            },
        },
        Call {
            name: "encode_gated_forward_fused",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                s.ctx.encode_gated_forward_fused(
                    &mut encoder,
                    &GatedActivation::SiluAndMul,
                    &[4],
                    &GatedFusedForwardBuffers {
                        input: s.x.view(),
                        output: TensorView::new(s.out.buffer(), 0, 2),
                        bias: Some(s.g.view()),
                        bias_dim: 0,
                        residual: Some(s.half.view()),
                    },
                )
            },
        },
        Call {
            name: "forward (prelu)",
            run: |s| {
                s.ctx
                    .forward(&Activation::Prelu, &s.x, Some(&s.w))
                    .map(drop)
            },
        },
        Call {
            name: "backward (prelu, weight gradient)",
            run: |s| {
                s.ctx
                    .backward(&Activation::Prelu, &s.x, &s.g, Some(&s.w))
                    .map(drop)
            },
        },
        Call {
            name: "backward_from_output",
            run: |s| {
                s.ctx
                    .backward_from_output(&Activation::Relu, &s.y, &s.g)
                    .map(drop)
            },
        },
        Call {
            name: "forward_in_place",
            run: |s| {
                let mut t = s.in_place.lock().unwrap();
                s.ctx.forward_in_place(&Activation::Relu, &mut t, None)
            },
        },
        Call {
            name: "backward_in_place (prelu, weight gradient)",
            run: |s| {
                let mut t = s.in_place.lock().unwrap();
                s.ctx
                    .backward_in_place(&Activation::Prelu, &s.x, &mut t, Some(&s.w))
                    .map(drop)
            },
        },
        Call {
            name: "backward_from_output_in_place",
            run: |s| {
                let mut t = s.in_place.lock().unwrap();
                s.ctx
                    .backward_from_output_in_place(&Activation::Relu, &s.y, &mut t)
            },
        },
        Call {
            name: "download",
            run: |s| s.ctx.download(&s.y).map(drop),
        },
        Call {
            name: "read_view",
            run: |s| {
                s.ctx
                    .read_view(TensorView::new(s.y.buffer(), 0, 4))
                    .map(drop)
            },
        },
        Call {
            name: "encode_forward",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                s.ctx
                    .encode_forward(&mut encoder, &Activation::Relu, &[4], &forward_buffers(s))
            },
        },
        Call {
            name: "encode_backward",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                s.ctx
                    .encode_backward(&mut encoder, &Activation::Relu, &[4], &backward_buffers(s))
            },
        },
        Call {
            name: "encode_forward_in_pass",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                let mut pass = encoder.begin_compute_pass(&Default::default());
                s.ctx.encode_forward_in_pass(
                    &mut pass,
                    &Activation::Relu,
                    &[4],
                    &forward_buffers(s),
                )
            },
        },
        Call {
            name: "encode_backward_in_pass",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                let mut pass = encoder.begin_compute_pass(&Default::default());
                s.ctx.encode_backward_in_pass(
                    &mut pass,
                    &Activation::Relu,
                    &[4],
                    &backward_buffers(s),
                )
            },
        },
        Call {
            name: "encode_forward_in_place",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                s.ctx.encode_forward_in_place(
                    &mut encoder,
                    &Activation::Relu,
                    &[4],
                    &ForwardInPlaceBuffers {
                        data: s.out.view(),
                        weight: None,
                        first_element: 0,
                    },
                )
            },
        },
        Call {
            name: "encode_backward_in_place_in_pass",
            run: |s| {
                let mut encoder = s.ctx.create_encoder();
                let mut pass = encoder.begin_compute_pass(&Default::default());
                s.ctx.encode_backward_in_place_in_pass(
                    &mut pass,
                    &Activation::Relu,
                    &[4],
                    &BackwardInPlaceBuffers {
                        input: s.x.view(),
                        grad_output: s.out.view(),
                        weight: None,
                        grad_weight: None,
                        from_output: false,
                        first_element: 0,
                    },
                )
            },
        },
        Call {
            name: "submit",
            run: |s| s.ctx.submit(s.ctx.create_encoder()).map(drop),
        },
    ]
}

/// Runs every call after the loss: each must be `Err(DeviceLost)`, none may panic.
fn every_call_reports_the_loss(setup: &Setup, when: &str) {
    for call in calls() {
        let result = catch_unwind(AssertUnwindSafe(|| (call.run)(setup)));
        match result {
            Ok(Err(ActivationError::DeviceLost(_))) => {}
            Ok(other) => panic!("{} {when}: {other:?}, expected DeviceLost", call.name),
            Err(panic) => panic!(
                "{} {when}: panicked: {:?}",
                call.name,
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            ),
        }
    }
}

fn check(from_device: bool, poll_first: bool) {
    let Some(setup) = warmed_up(from_device) else {
        return;
    };
    setup.ctx.device().destroy();
    if poll_first {
        let _ = setup.ctx.device().poll(wgpu::PollType::wait_indefinitely());
    }
    every_call_reports_the_loss(
        &setup,
        &format!("after destroy (from_device: {from_device}, poll first: {poll_first})"),
    );
}

#[test]
fn own_device_destroyed() {
    check(false, false);
}

#[test]
fn own_device_destroyed_then_polled() {
    check(false, true);
}

#[test]
fn callers_device_destroyed() {
    check(true, false);
}

#[test]
fn callers_device_destroyed_then_polled() {
    check(true, true);
}

#[test]
fn destroyed_with_work_in_flight() {
    for from_device in [false, true] {
        let Some(setup) = warmed_up(from_device) else {
            return;
        };
        // A few million elements of gelu submitted, then the device destroyed
        // before they finish.
        let len = 1 << 22;
        let big = setup.ctx.upload(&vec![0.5; len], &[len]).unwrap();
        let y = setup
            .ctx
            .forward(
                &Activation::Gelu {
                    approximate: wgpu_activations::GeluApproximate::None,
                },
                &big,
                None,
            )
            .unwrap();
        setup.ctx.device().destroy();
        let read = catch_unwind(AssertUnwindSafe(|| setup.ctx.download(&y)));
        assert!(
            matches!(read, Ok(Err(ActivationError::DeviceLost(_)))),
            "download of work in flight (from_device: {from_device}): {:?}",
            read.map(|r| r.map(|v| v.len()))
        );
        every_call_reports_the_loss(&setup, "with work in flight");
    }
}

#[test]
fn destroyed_before_anything_was_made() {
    for from_device in [false, true] {
        let Some(ctx) = fresh(from_device) else {
            return;
        };
        ctx.device().destroy();
        let upload = catch_unwind(AssertUnwindSafe(|| ctx.upload(&[1.0], &[1])));
        assert!(
            matches!(upload, Ok(Err(ActivationError::DeviceLost(_)))),
            "from_device: {from_device}"
        );
    }
}

/// `DeviceLossCheck::OnError`: no probe per call, so a recording call may
/// return `Ok` after a loss (wgpu drops the work), but nothing panics, the
/// first call that uploads or reads back reports `DeviceLost`, and from then
/// on every call does; a context that made its device also learns of the
/// loss from wgpu's callback once the device is polled.
#[test]
fn on_error_check_reports_the_loss_at_the_next_upload_or_readback() {
    for (from_device, poll_first) in [(false, false), (true, false), (false, true)] {
        let Some(mut setup) = warmed_up(from_device) else {
            return;
        };
        setup.ctx = setup
            .ctx
            .clone()
            .with_device_loss_check(DeviceLossCheck::OnError);
        assert_eq!(setup.ctx.device_loss_check(), DeviceLossCheck::OnError);
        setup.ctx.device().destroy();
        let when = format!("OnError (from_device: {from_device}, poll first: {poll_first})");
        if poll_first {
            let _ = setup.ctx.device().poll(wgpu::PollType::wait_indefinitely());
            // wgpu ran this context's device-lost callback: no probe needed.
            every_call_reports_the_loss(&setup, &when);
            continue;
        }
        for call in calls() {
            let result = catch_unwind(AssertUnwindSafe(|| (call.run)(&setup)));
            match result {
                Ok(Ok(())) | Ok(Err(ActivationError::DeviceLost(_))) => {}
                Ok(other) => panic!("{} {when}: {other:?}, expected Ok or DeviceLost", call.name),
                Err(_) => panic!("{} {when}: panicked", call.name),
            }
        }
        let read = catch_unwind(AssertUnwindSafe(|| setup.ctx.download(&setup.x)));
        assert!(
            matches!(read, Ok(Err(ActivationError::DeviceLost(_)))),
            "download {when}: {:?}",
            read.map(|r| r.map(|v| v.len()))
        );
        every_call_reports_the_loss(&setup, &format!("{when}, after the download"));
    }
}

//! Shared by the GPU test binaries: one device per test binary, and the
//! comparison of GPU results with the CPU reference.

#![allow(dead_code)]

pub mod strategies;

use std::sync::OnceLock;

use wgpu_activations::cpu::Denormals;
use wgpu_activations::{GpuContext, Tolerance};

/// The test binary's one GPU context, or `None` outside CI when no adapter
/// exists. In CI (`CI` set to anything but `false`/`0`) a missing adapter
/// fails the test that asked for it.
pub fn gpu() -> Option<&'static GpuContext> {
    static CONTEXT: OnceLock<Result<GpuContext, String>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        GpuContext::new()
            .inspect(|ctx| eprintln!("GPU tests run on {}", ctx.adapter_description()))
            .map_err(|e| e.to_string())
    });
    match context {
        Ok(ctx) => Some(ctx),
        Err(error) if in_ci() => panic!("CI requires a GPU adapter (lavapipe will do): {error}"),
        Err(error) => {
            eprintln!("skipping GPU test: {error}");
            None
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Returns from the test when there is no GPU (outside CI only).
#[macro_export]
macro_rules! gpu_or_skip {
    () => {
        match common::gpu() {
            Some(ctx) => ctx,
            None => return,
        }
    };
}

/// Checks `actual` against the reference in both denormal modes: each element
/// must be within `tolerance` of the IEEE reference or of the flush-to-zero one.
/// `x` gives the input of each element for input-dependent tolerances.
pub fn assert_matches(
    what: &str,
    x: &[f32],
    actual: &[f32],
    reference: impl Fn(Denormals) -> Vec<f32>,
    tolerance: Tolerance,
) {
    let exact = reference(Denormals::Preserve);
    let flushed = reference(Denormals::FlushToZero);
    assert_eq!(actual.len(), exact.len(), "{what}: length");
    for i in 0..actual.len() {
        let ok = tolerance.accepts(x[i], actual[i], exact[i])
            || tolerance.accepts(x[i], actual[i], flushed[i])
            || (flushed[i] == 0.0 && actual[i] == 0.0);
        assert!(
            ok,
            "{what}: element {i} (x = {:e} / {:#010x}): GPU {:e} ({:#010x}), reference {:e} ({:#010x}), flushed reference {:e}, tolerance {tolerance:?}",
            x[i],
            x[i].to_bits(),
            actual[i],
            actual[i].to_bits(),
            exact[i],
            exact[i].to_bits(),
            flushed[i],
        );
    }
}

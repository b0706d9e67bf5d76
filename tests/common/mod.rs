//! Shared by the GPU test binaries: one device per test binary, and the
//! comparison of GPU results with the CPU reference.

#![allow(dead_code)]

pub mod strategies;

use std::sync::OnceLock;

use wgpu_activations::accuracy::Element;
use wgpu_activations::cpu::{self, Denormals, Float};
use wgpu_activations::tensor::prelu_channels;
use wgpu_activations::{Activation, GpuContext, Tolerance};

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

/// Which of an op's results is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `f(x)`.
    Forward,
    /// `g * f'(x)`.
    Backward,
    /// `g * f'(x)` computed from `y = f(x)` (the `x` argument holds y).
    BackwardFromOutput,
}

/// Checks each element of `actual` against the CPU reference: accepted if
/// within `tolerance` of the reference evaluated (at the tolerance's input
/// perturbations) either with IEEE subnormals or with flush-to-zero.
#[allow(clippy::too_many_arguments)]
pub fn assert_matches<T: Float + Element + std::fmt::Debug>(
    what: &str,
    op: &Activation,
    direction: Direction,
    shape: &[usize],
    x: &[T],
    g: &[T],
    weight: Option<&[T]>,
    actual: &[T],
    tolerance: Tolerance,
) {
    assert_eq!(actual.len(), x.len(), "{what}: length");
    let (channels, inner) = prelu_channels(shape);
    let perturbations = tolerance.input_perturbations();
    for i in 0..x.len() {
        let weight_of = |dn| {
            weight.map_or(0.0, |w| {
                let c = if w.len() == 1 {
                    0
                } else {
                    (i / inner) % channels
                };
                cpu::widen(w[c], dn)
            })
        };
        let references = |dn: Denormals| -> Vec<T> {
            perturbations
                .iter()
                .map(|p| {
                    let xi = cpu::widen(x[i], dn) * (1.0 + p);
                    let gi = g.get(i).map_or(0.0, |&v| cpu::widen(v, dn));
                    let value = match direction {
                        Direction::Forward => {
                            cpu::forward_scalar(op, xi, i as u64, weight_of(dn), dn)
                        }
                        Direction::Backward => {
                            cpu::backward_scalar(op, xi, gi, i as u64, weight_of(dn), dn)
                        }
                        Direction::BackwardFromOutput => {
                            cpu::backward_from_output_scalar(op, xi, gi).unwrap()
                        }
                    };
                    cpu::narrow(value, dn)
                })
                .collect()
        };
        let exact = references(Denormals::Preserve);
        let flushed = references(Denormals::FlushToZero);
        let zero = |v: T| !v.is_nan() && v.ordered() == 0;
        let ok = tolerance.accepts(actual[i], &exact)
            || tolerance.accepts(actual[i], &flushed)
            || (zero(flushed[0]) && zero(actual[i]));
        assert!(
            ok,
            "{what}: element {i} of {}: x = {:?} (bits {:#x}), g = {:?}: GPU {:?} (bits {:#x}), \
             reference {:?}, flushed reference {:?}, tolerance {tolerance:?}",
            x.len(),
            x[i],
            x[i].bits(),
            g.get(i),
            actual[i],
            actual[i].bits(),
            exact,
            flushed,
        );
    }
}

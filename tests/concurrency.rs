//! Threads sharing one context from its first call, each call with a
//! parameter block new to the context: every call writes a slot of a shared
//! uniform page with `Queue::write_buffer` while other threads submit work
//! that binds the same page.
//!
//! Before the pages were created initialized, wgpu-core could zero-fill a
//! slot one thread had just written while another thread submitted (it
//! decides what to zero-fill before it takes the pending writes, and a page
//! bound with a dynamic offset counts as used whole): the kernel then ran
//! with `len` = 0 and its output stayed zero. With that bug this test lost
//! 5 to 11 calls in each of 6 runs on lavapipe (Mesa 22.3.6, 2 cores);
//! with 256-byte slots (a page every 256 calls) versus the adapter's own
//! alignment (512 calls) it caught the bug in 6 of 6 runs rather than 5.

mod common;

use std::sync::Barrier;

use wgpu_activations::Activation;

const ROUNDS: usize = 20;
const THREADS: usize = 6;
/// Calls per thread and round: 1200 new parameter blocks per round fill
/// four 256-slot pages and start a fifth (a page's first submissions are
/// where the race was).
const CALLS: usize = 200;

#[test]
fn many_threads_with_new_parameters_on_fresh_contexts() {
    if common::gpu().is_none() {
        return;
    }
    let x = [1.0f32, 2.0, 3.0, 4.0];
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let ctx = common::custom_context(wgpu::Features::empty(), |limits| {
            // 256-byte slots: a new page every 256 calls.
            limits.min_uniform_buffer_offset_alignment = 256;
        })
        .expect("the tests' adapter gave a device before");
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (ctx, barrier) = (&ctx, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        let input = ctx.upload(&x, &[x.len()]).unwrap();
                        // Each call's min_val is its own, so its block is new;
                        // x >= 1 comes back unchanged, and an input read as
                        // zeros would come back as min_val, not 0.
                        let outputs: Vec<_> = (0..CALLS)
                            .map(|i| {
                                let op = Activation::Hardtanh {
                                    min_val: 0.5 + (t * CALLS + i) as f32 * 1e-4,
                                    max_val: 100.0,
                                };
                                (op, ctx.forward(&op, &input, None).unwrap())
                            })
                            .collect();
                        outputs
                            .into_iter()
                            .filter_map(|(op, output)| {
                                let y = ctx.download(&output).unwrap();
                                (y != x)
                                    .then(|| format!("round {round}, thread {t}, {op:?}: {y:?}"))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                failures.extend(worker.join().unwrap());
            }
        });
    }
    assert!(
        failures.is_empty(),
        "{} calls lost:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

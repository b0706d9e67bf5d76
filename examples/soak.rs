//! A soak: many threads sharing one `GpuContext`, each making thousands of
//! small calls (upload, forward, backward, download, and recording into its
//! own encoder over its own buffers), every result checked, the process's
//! resident memory sampled as it goes. It is the evidence for the README's
//! "Reliability" section: results correct from every thread, memory flat.
//!
//! ```sh
//! cargo run --release --example soak -- [THREADS] [CALLS_PER_THREAD]   # default 16 6250
//! ```
//!
//! Each thread takes ops from the registry in turn. The first result of each
//! (op, direction) is checked against the CPU reference with the op's
//! documented tolerance; every later one must have the same bits
//! (the kernels are deterministic), so a race between threads, a bind group
//! or uniform slot handed to the wrong call, or a stale cache shows up as a
//! mismatch. Exits non-zero on any error or mismatch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{Activation, DType, ForwardBuffers, GpuContext, TensorView};

/// Elements per call: small dispatches, as a renderer's per-frame work.
const LEN: usize = 1021;

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn values(seed: usize) -> Vec<f32> {
    (0..LEN)
        .map(|i| {
            let t = ((i * 7919 + seed * 104_729) % 20_011) as f32 / 20_011.0;
            (t - 0.5) * 16.0
        })
        .collect()
}

/// Whether `gpu` is within the op's tolerance of the CPU reference.
fn check_forward(op: &Activation, x: &[f32], gpu: &[f32]) -> Result<(), String> {
    let tolerance = op.forward_tolerance_for(DType::F32);
    for (i, (&xi, &yi)) in x.iter().zip(gpu).enumerate() {
        let references: Vec<f32> = tolerance
            .input_perturbations()
            .iter()
            .map(|d| {
                let x = f64::from(xi) * (1.0 + d);
                cpu::forward_scalar(op, x, i as u64, 0.25, Denormals::Preserve) as f32
            })
            .collect();
        if !tolerance.accepts(yi, &references) {
            return Err(format!(
                "{op} forward at x = {xi:e}: gpu {yi:e}, cpu {:e}",
                references[0]
            ));
        }
    }
    Ok(())
}

fn check_backward(op: &Activation, x: &[f32], g: &[f32], gpu: &[f32]) -> Result<(), String> {
    let tolerance = op.backward_tolerance_for(DType::F32);
    for (i, ((&xi, &gi), &di)) in x.iter().zip(g).zip(gpu).enumerate() {
        let references: Vec<f32> = tolerance
            .input_perturbations()
            .iter()
            .map(|d| {
                let x = f64::from(xi) * (1.0 + d);
                let g = f64::from(gi);
                cpu::backward_scalar(op, x, g, i as u64, 0.25, Denormals::Preserve) as f32
            })
            .collect();
        if !tolerance.accepts(di, &references) {
            return Err(format!(
                "{op} backward at x = {xi:e}: gpu {di:e}, cpu {:e}",
                references[0]
            ));
        }
    }
    Ok(())
}

type Seen = Mutex<HashMap<(String, u8, usize), Vec<u32>>>;

/// Checks `result` against the first result seen for (op, kind, data set),
/// checking that first one against the CPU with `first_check`.
fn agree(
    seen: &Seen,
    op: &Activation,
    kind: u8,
    data: usize,
    result: &[f32],
    first_check: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let bits: Vec<u32> = result.iter().map(|v| v.to_bits()).collect();
    let key = (op.to_string(), kind, data);
    let mut seen = seen.lock().unwrap();
    match seen.get(&key) {
        Some(first) if *first == bits => Ok(()),
        Some(_) => Err(format!(
            "{op} (call kind {kind}): bits differ from the first run"
        )),
        None => {
            first_check()?;
            seen.insert(key, bits);
            Ok(())
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(6250);
    let ctx = match GpuContext::new() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("no GPU: {e}");
            std::process::exit(1);
        }
    };
    println!("adapter: {}", ctx.adapter_description());
    // PReLU needs a weight tensor; its weight (0.25) is what the checks use.
    let ops: Vec<Activation> = Activation::all_defaults()
        .into_iter()
        .filter(|op| !op.uses_weight())
        .collect();
    let seen: Seen = Mutex::new(HashMap::new());
    let done = AtomicU64::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let peak = Mutex::new(0.0f64);
    let started = Instant::now();
    let start_mib = resident_mib();
    let mut samples = Vec::new();

    std::thread::scope(|scope| {
        for t in 0..threads {
            let (ctx, ops, seen, done, failures) = (&ctx, &ops, &seen, &done, &failures);
            scope.spawn(move || {
                // Four data sets, shared by threads t, t + 4, ...
                let data = t % 4;
                let x = values(data);
                let g = values(data + 5);
                // This thread's own buffers for the recording API.
                let input = ctx.upload(&x, &[LEN]).expect("upload");
                let output = ctx.empty(&[LEN]).expect("empty");
                for call in 0..calls {
                    let op = &ops[(call + t) % ops.len()];
                    let outcome = (|| -> Result<(), String> {
                        let err = |e: wgpu_activations::ActivationError| format!("{op}: {e}");
                        match call % 3 {
                            0 => {
                                let tensor = ctx.upload(&x, &[LEN]).map_err(err)?;
                                let y = ctx.forward(op, &tensor, None).map_err(err)?;
                                let y = ctx.download(&y).map_err(err)?;
                                agree(seen, op, 0, data, &y, || check_forward(op, &x, &y))
                            }
                            1 => {
                                let tx = ctx.upload(&x, &[LEN]).map_err(err)?;
                                let tg = ctx.upload(&g, &[LEN]).map_err(err)?;
                                let grads = ctx.backward(op, &tx, &tg, None).map_err(err)?;
                                let d = ctx.download(&grads.grad_input).map_err(err)?;
                                agree(seen, op, 1, data, &d, || check_backward(op, &x, &g, &d))
                            }
                            _ => {
                                let mut encoder = ctx.create_encoder();
                                ctx.encode_forward(
                                    &mut encoder,
                                    op,
                                    &[LEN],
                                    &ForwardBuffers {
                                        input: TensorView::new(input.buffer(), 0, LEN),
                                        output: TensorView::new(output.buffer(), 0, LEN),
                                        weight: None,
                                        first_element: 0,
                                    },
                                )
                                .map_err(err)?;
                                ctx.submit(encoder).map_err(err)?;
                                let y = ctx.download(&output).map_err(err)?;
                                agree(seen, op, 0, data, &y, || check_forward(op, &x, &y))
                            }
                        }
                    })();
                    if let Err(e) = outcome {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("thread {t}, call {call}: {e}"));
                        return;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // Sample memory while the threads run.
        let total = (threads * calls) as u64;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let now = resident_mib();
            let mut p = peak.lock().unwrap();
            *p = p.max(now);
            let finished = done.load(Ordering::Relaxed);
            samples.push((finished, now));
            if finished >= total || !failures.lock().unwrap().is_empty() {
                break;
            }
        }
    });

    let seconds = started.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    println!(
        "{threads} threads x {calls} calls: {total} calls in {seconds:.1} s ({:.0} calls/s)",
        total as f64 / seconds
    );
    // Memory after the first tenth (caches and pools warm) against the end.
    let warm = samples
        .iter()
        .find(|(n, _)| *n >= total / 10)
        .map_or(start_mib, |s| s.1);
    let end = resident_mib();
    println!(
        "resident memory: {start_mib:.0} MiB at start, {warm:.0} MiB after 10% of the calls, \
         {end:.0} MiB at the end, peak {:.0} MiB",
        *peak.lock().unwrap()
    );
    let failures = failures.into_inner().unwrap();
    if failures.is_empty() {
        println!(
            "all results agree ({} op/direction pairs checked against the CPU reference)",
            seen.lock().unwrap().len()
        );
    } else {
        for f in &failures {
            eprintln!("FAIL {f}");
        }
        std::process::exit(1);
    }
}

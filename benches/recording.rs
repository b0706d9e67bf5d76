//! What small dispatches cost: the CPU time and heap allocations of
//! recording one op with `GpuContext::encode_forward` (steady state: the same
//! buffers and parameters again), for 1, 4096 and 2^20 elements; 1000 ops of
//! 4096 elements recorded into one encoder and submitted once, against one
//! convenience `forward` per op waited for; and the process's memory over
//! 100,000 recorded ops. A bench, not a test: `cargo bench --bench recording`.
//! `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` choose the adapter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wgpu_activations::{Activation, ForwardBuffers, GpuContext, GpuTensor};

/// Counts heap allocations (all threads).
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Resident memory of this process in KiB (Linux; 0 elsewhere).
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn record(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    op: &Activation,
    input: &GpuTensor,
    output: &GpuTensor,
) {
    ctx.encode_forward(
        encoder,
        op,
        input.shape(),
        &ForwardBuffers {
            input: input.view(),
            output: output.view(),
            weight: None,
            first_element: 0,
        },
    )
    .expect("record");
}

fn wait(ctx: &GpuContext) {
    ctx.device()
        .poll(wgpu::PollType::wait_indefinitely())
        .expect("poll");
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let ctx = GpuContext::new().expect("a GPU adapter (lavapipe will do)");
    println!("adapter: {}", ctx.adapter_description());
    // BENCH_OP picks the op (default relu: the cost of a dispatch itself).
    let op = Activation::from_name(&std::env::var("BENCH_OP").unwrap_or_else(|_| "relu".into()))
        .expect("BENCH_OP: an op name");

    println!("\n## Recording one op (steady state), {op}\n");
    println!(
        "| elements | CPU time per op (encode_forward) | heap allocations per op, ours + wgpu's |"
    );
    println!("|---:|---:|---:|");
    const RECORDS: usize = 2000;
    for len in [1usize, 4096, 1 << 20] {
        let input = ctx.upload(&vec![0.5; len], &[len]).unwrap();
        let output = ctx.empty(&[len]).unwrap();
        // Warm up: pipeline, parameter block and bind group made once.
        let mut encoder = ctx.create_encoder();
        record(&ctx, &mut encoder, &op, &input, &output);
        ctx.submit(encoder).unwrap();
        wait(&ctx);
        let mut best = Duration::MAX;
        let mut allocations_per_op = 0.0;
        for _ in 0..3 {
            let mut encoder = ctx.create_encoder();
            let before = allocations();
            let start = Instant::now();
            for _ in 0..RECORDS {
                record(&ctx, &mut encoder, &op, &input, &output);
            }
            let elapsed = start.elapsed();
            allocations_per_op = (allocations() - before) as f64 / RECORDS as f64;
            best = best.min(elapsed);
            drop(encoder);
        }
        println!(
            "| {len} | {:.2} us | {allocations_per_op:.2} |",
            micros(best / RECORDS as u32)
        );
    }

    println!("\n## 1000 ops of 4096 elements, {op}\n");
    const OPS: usize = 1000;
    let len = 4096;
    let input = ctx.upload(&vec![0.5; len], &[len]).unwrap();
    let output = ctx.empty(&[len]).unwrap();
    let batched = || {
        let start = Instant::now();
        let mut encoder = ctx.create_encoder();
        for _ in 0..OPS {
            record(&ctx, &mut encoder, &op, &input, &output);
        }
        ctx.submit(encoder).unwrap();
        wait(&ctx);
        start.elapsed()
    };
    let one_by_one = || {
        let start = Instant::now();
        for _ in 0..OPS {
            let y = ctx.forward(&op, &input, None).unwrap();
            wait(&ctx);
            drop(y);
        }
        start.elapsed()
    };
    // The same, each op writing its own output (no write-after-write
    // ordering between the dispatches).
    let outputs: Vec<GpuTensor> = (0..OPS).map(|_| ctx.empty(&[len]).unwrap()).collect();
    let batched_distinct = || {
        let start = Instant::now();
        let mut encoder = ctx.create_encoder();
        for output in &outputs {
            record(&ctx, &mut encoder, &op, &input, output);
        }
        ctx.submit(encoder).unwrap();
        wait(&ctx);
        start.elapsed()
    };
    batched();
    batched_distinct();
    one_by_one();
    let median = |f: &dyn Fn() -> Duration| {
        let mut times: Vec<Duration> = (0..5).map(|_| f()).collect();
        times.sort();
        times[2]
    };
    let batched_time = median(&batched);
    let single_time = median(&one_by_one);
    let distinct_time = median(&batched_distinct);
    println!("| form | per op | total |");
    println!("|---|---:|---:|");
    println!(
        "| recorded into one encoder, one submission | {:.2} us | {:.2} ms |",
        micros(batched_time / OPS as u32),
        batched_time.as_secs_f64() * 1e3
    );
    println!(
        "| the same, each op writing its own output | {:.2} us | {:.2} ms |",
        micros(distinct_time / OPS as u32),
        distinct_time.as_secs_f64() * 1e3
    );
    println!(
        "| `forward` + wait, one submission per op | {:.2} us | {:.2} ms |",
        micros(single_time / OPS as u32),
        single_time.as_secs_f64() * 1e3
    );
    println!(
        "\nbatched / one by one: **{:.1}x faster per op**",
        single_time.as_secs_f64() / batched_time.as_secs_f64()
    );

    println!("\n## Memory over 100,000 recorded ops (4096 elements, submitted 1000 at a time)\n");
    println!("| ops recorded | resident memory |");
    println!("|---:|---:|");
    let start_kib = resident_kib();
    println!("| 0 | {} MiB |", start_kib / 1024);
    let mut recorded = 0;
    let mut last_kib = start_kib;
    for round in 1..=100 {
        let mut encoder = ctx.create_encoder();
        for _ in 0..1000 {
            record(&ctx, &mut encoder, &op, &input, &output);
        }
        ctx.submit(encoder).unwrap();
        wait(&ctx);
        recorded += 1000;
        if round % 25 == 0 {
            last_kib = resident_kib();
            println!("| {recorded} | {} MiB |", last_kib / 1024);
        }
    }
    println!(
        "\ngrowth over 100,000 ops: {} KiB",
        last_kib as i64 - start_kib as i64
    );
}

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

use wgpu_activations::{Activation, DeviceLossCheck, ForwardBuffers, GpuContext, GpuTensor};

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

/// A plain copy kernel straight on wgpu, with one output per dispatch.
struct RawCopy {
    pipeline: wgpu::ComputePipeline,
    bind_groups: Vec<wgpu::BindGroup>,
    workgroups: u32,
}

impl RawCopy {
    fn new(ctx: &GpuContext, len: usize, count: usize) -> Self {
        let device = ctx.device();
        let source = "@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;\n\
             @group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;\n\
             @compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id: vec3<u32>) {\n\
                 if (id.x < arrayLength(&a)) { b[id.x] = a[id.x]; }\n\
             }";
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("copy"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("copy"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let input = ctx.upload(&vec![1.0; len], &[len]).unwrap();
        let bind_groups = (0..count)
            .map(|_| {
                let output = ctx.empty(&[len]).unwrap();
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: input.buffer().as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: output.buffer().as_entire_binding(),
                        },
                    ],
                })
            })
            .collect();
        RawCopy {
            pipeline,
            bind_groups,
            workgroups: (len as u32 / 4).div_ceil(256),
        }
    }

    fn one_pass(&self, ctx: &GpuContext) -> Duration {
        let start = Instant::now();
        let mut encoder = ctx.create_encoder();
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            for group in &self.bind_groups {
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(self.workgroups, 1, 1);
            }
        }
        ctx.queue().submit([encoder.finish()]);
        wait(ctx);
        start.elapsed()
    }

    fn one_by_one(&self, ctx: &GpuContext) -> Duration {
        let start = Instant::now();
        for group in &self.bind_groups {
            let mut encoder = ctx.create_encoder();
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(self.workgroups, 1, 1);
            }
            ctx.queue().submit([encoder.finish()]);
            wait(ctx);
        }
        start.elapsed()
    }
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
        "| elements | CPU time per op (encode_forward) | heap allocations per op, ours + wgpu's | \
         the same into the caller's pass (encode_forward_in_pass) | \
         into the pass with DeviceLossCheck::OnError |"
    );
    println!("|---:|---:|---:|---:|---:|");
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
        // Into one pass: wgpu makes no pass per op.
        let buffers = ForwardBuffers {
            input: input.view(),
            output: output.view(),
            weight: None,
            first_element: 0,
        };
        let in_pass = |ctx: &GpuContext| {
            let mut encoder = ctx.create_encoder();
            let mut pass = encoder.begin_compute_pass(&Default::default());
            ctx.encode_forward_in_pass(&mut pass, &op, input.shape(), &buffers)
                .unwrap();
            let before = allocations();
            let start = Instant::now();
            for _ in 0..RECORDS {
                ctx.encode_forward_in_pass(&mut pass, &op, input.shape(), &buffers)
                    .unwrap();
            }
            let elapsed = start.elapsed();
            let allocations = (allocations() - before) as f64 / RECORDS as f64;
            (micros(elapsed / RECORDS as u32), allocations)
        };
        let (probed, probed_allocations) = in_pass(&ctx);
        let on_error = ctx.clone().with_device_loss_check(DeviceLossCheck::OnError);
        let (unprobed, unprobed_allocations) = in_pass(&on_error);
        println!(
            "| {len} | {:.2} us | {allocations_per_op:.2} | {probed:.2} us, \
             {probed_allocations:.3} allocations | {unprobed:.2} us, \
             {unprobed_allocations:.3} allocations |",
            micros(best / RECORDS as u32),
        );
    }

    // The same count for wgpu alone: one pass with one dispatch.
    let raw = RawCopy::new(&ctx, 4096, 1);
    let mut encoder = ctx.create_encoder();
    let before = allocations();
    for _ in 0..RECORDS {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&raw.pipeline);
        pass.set_bind_group(0, &raw.bind_groups[0], &[]);
        pass.dispatch_workgroups(raw.workgroups, 1, 1);
    }
    let raw_allocations = (allocations() - before) as f64 / RECORDS as f64;
    drop(encoder);
    println!(
        "\nwgpu alone, one compute pass with one dispatch and no dynamic offset: \
         {raw_allocations:.2} heap allocations (a pass with a dynamic offset adds its offset \
         list: 2; into the caller's pass this crate allocates nothing)"
    );

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
    // The same into the caller's one compute pass.
    let one_pass = || {
        let start = Instant::now();
        let mut encoder = ctx.create_encoder();
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for output in &outputs {
                ctx.encode_forward_in_pass(
                    &mut pass,
                    &op,
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
        }
        ctx.submit(encoder).unwrap();
        wait(&ctx);
        start.elapsed()
    };
    batched();
    batched_distinct();
    one_pass();
    one_by_one();
    let median = |f: &dyn Fn() -> Duration| {
        let mut times: Vec<Duration> = (0..5).map(|_| f()).collect();
        times.sort();
        times[2]
    };
    // wgpu alone, no library: a copy kernel dispatched 1000 times in one
    // pass, and once per submission waited for: the driver's floor.
    let floor = RawCopy::new(&ctx, len, OPS);
    floor.one_pass(&ctx);
    floor.one_by_one(&ctx);
    let raw_one_pass = median(&|| floor.one_pass(&ctx));
    let raw_one_by_one = median(&|| floor.one_by_one(&ctx));
    let batched_time = median(&batched);
    let single_time = median(&one_by_one);
    let distinct_time = median(&batched_distinct);
    let one_pass_time = median(&one_pass);
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
        "| the same, all in the caller's one compute pass (`encode_forward_in_pass`) | {:.2} us | {:.2} ms |",
        micros(one_pass_time / OPS as u32),
        one_pass_time.as_secs_f64() * 1e3
    );
    println!(
        "| `forward` + wait, one submission per op | {:.2} us | {:.2} ms |",
        micros(single_time / OPS as u32),
        single_time.as_secs_f64() * 1e3
    );
    println!(
        "| wgpu alone: a copy kernel, 1000 dispatches in one pass | {:.2} us | {:.2} ms |",
        micros(raw_one_pass / OPS as u32),
        raw_one_pass.as_secs_f64() * 1e3
    );
    println!(
        "| wgpu alone: a copy kernel, one submission + wait per dispatch | {:.2} us | {:.2} ms |",
        micros(raw_one_by_one / OPS as u32),
        raw_one_by_one.as_secs_f64() * 1e3
    );
    println!(
        "\nthe driver's own ratio (wgpu alone, one by one / one pass): {:.1}x",
        raw_one_by_one.as_secs_f64() / raw_one_pass.as_secs_f64()
    );
    println!(
        "per op, one by one / batched: {:.1}x (one encoder), {:.1}x (own outputs), **{:.1}x (one pass)**",
        single_time.as_secs_f64() / batched_time.as_secs_f64(),
        single_time.as_secs_f64() / distinct_time.as_secs_f64(),
        single_time.as_secs_f64() / one_pass_time.as_secs_f64()
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

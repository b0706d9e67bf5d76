//! Recording an op into the caller's compute pass allocates nothing in
//! steady state (pipelines, parameter blocks and bind groups cached) under
//! `DeviceLossCheck::OnError`; the default check's probe is the only
//! allocation, and this binary counts it too so that a regression in either
//! shows. Counted with a global allocator, so this binary holds one test.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use wgpu_activations::{Activation, DeviceLossCheck, ForwardBuffers, GpuContext};

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

/// Heap allocations made while `records` ops are recorded into one pass
/// (after one warm-up op in the same pass).
fn allocations_recording(ctx: &GpuContext, op: &Activation, records: usize) -> u64 {
    let len = 4099;
    let input = ctx.upload(&vec![0.5; len], &[len]).unwrap();
    let output = ctx.empty(&[len]).unwrap();
    let buffers = ForwardBuffers {
        input: input.view(),
        output: output.view(),
        weight: None,
        first_element: 0,
    };
    let mut encoder = ctx.create_encoder();
    let count = {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        ctx.encode_forward_in_pass(&mut pass, op, &[len], &buffers)
            .unwrap();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..records {
            ctx.encode_forward_in_pass(&mut pass, op, &[len], &buffers)
                .unwrap();
        }
        ALLOCATIONS.load(Ordering::Relaxed) - before
    };
    ctx.submit(encoder).unwrap();
    let y = ctx.download(&output).unwrap();
    let expected = ctx
        .download(&ctx.forward(op, &input, None).unwrap())
        .unwrap();
    assert_eq!(y, expected, "{op}: the recorded ops computed the op");
    count
}

#[test]
fn recording_into_a_pass_allocates_nothing_without_the_probe() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    const RECORDS: usize = 2000;
    let ops = [
        Activation::Relu,
        Activation::from_name("gelu").unwrap(),
        Activation::from_name("leaky_relu").unwrap(),
    ];
    let unprobed = ctx.clone().with_device_loss_check(DeviceLossCheck::OnError);
    for op in &ops {
        let count = allocations_recording(&unprobed, op, RECORDS);
        // wgpu's command lists in the pass grow by doubling: a few dozen
        // reallocations over 2000 ops (19 measured for relu), none per op.
        assert!(
            count <= (RECORDS / 40) as u64,
            "{op}: {count} heap allocations over {RECORDS} recorded ops with OnError"
        );
        let probed = allocations_recording(ctx, op, RECORDS);
        assert!(
            probed >= RECORDS as u64,
            "{op}: the default check probes every call ({probed} allocations over {RECORDS})"
        );
    }
}

//! The row ops' accuracy, measured: softmax, log_softmax and softmin forward
//! and backward on the GPU against the f64 CPU twin, over random rows of
//! the lengths where the kernels change (up to 262144: the chunked passes),
//! contiguous and strided, with ordinary, logit-like and wide values, in f32
//! and f16. Prints, for each op, direction, element type and row length, the
//! largest distance in ulps from the reference and, for the gradients, the
//! largest error beyond the tolerance's ulps in units of `eps * scale` (see
//! `RowTolerance`): the evidence behind the tolerances in the README.
//!
//! Run: `cargo run --release --example softmax_accuracy [ELEMENTS]`
//! (default 1048576 elements per row length and value kind).

use wgpu_activations::accuracy::Element;
use wgpu_activations::cpu::softmax as twin;
use wgpu_activations::cpu::{self, Denormals, Float};
use wgpu_activations::{f16, DType, GpuContext, GpuTensor, RowActivation};

/// splitmix64: reproducible inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
}

#[derive(Clone, Copy)]
enum Kind {
    /// Uniform in [-4, 4].
    Ordinary,
    /// Uniform in [-30, 30]: logits.
    Logits,
    /// Uniform in [-110, 10]: probabilities down to exp's underflow.
    Wide,
}

impl Kind {
    fn range(self) -> (f32, f32) {
        match self {
            Kind::Ordinary => (-4.0, 4.0),
            Kind::Logits => (-30.0, 30.0),
            Kind::Wide => (-110.0, 10.0),
        }
    }
}

/// Worst errors seen.
#[derive(Default, Clone, Copy)]
struct Worst {
    /// Largest ulp distance from the rounded reference (preserving or
    /// flushing subnormals, whichever is closer).
    ulps: u64,
    /// Largest error beyond `tolerance.ulps` ulps, in `eps * scale`.
    scaled: f64,
}

trait Elem: Float + Element + bytemuck::Pod + PartialEq {
    const DTYPE: DType;
    fn of(v: f32) -> Self;
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> GpuTensor;
    fn download(ctx: &GpuContext, tensor: &GpuTensor) -> Vec<Self>;
    /// The distance from |self| to the next value up.
    fn ulp(self) -> f64;
}

impl Elem for f32 {
    const DTYPE: DType = DType::F32;
    fn of(v: f32) -> Self {
        v
    }
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> GpuTensor {
        ctx.upload(data, shape).expect("upload")
    }
    fn download(ctx: &GpuContext, tensor: &GpuTensor) -> Vec<Self> {
        ctx.download(tensor).expect("download")
    }
    fn ulp(self) -> f64 {
        let a = self.abs();
        f64::from(f32::from_bits(a.to_bits() + 1)) - f64::from(a)
    }
}

impl Elem for f16 {
    const DTYPE: DType = DType::F16;
    fn of(v: f32) -> Self {
        f16::from_f32(v)
    }
    fn upload(ctx: &GpuContext, data: &[Self], shape: &[usize]) -> GpuTensor {
        ctx.upload_f16(data, shape).expect("upload")
    }
    fn download(ctx: &GpuContext, tensor: &GpuTensor) -> Vec<Self> {
        ctx.download_f16(tensor).expect("download")
    }
    fn ulp(self) -> f64 {
        let a = f16::from_bits(self.to_bits() & 0x7fff);
        f16::from_bits(a.to_bits() + 1).to_f64() - a.to_f64()
    }
}

/// The distance of `actual` from the reference (the closer of the two
/// subnormal modes), and its error beyond `ulps` ulps in `eps * scale`.
fn error<T: Elem>(actual: T, exact: (f64, f64), flushed: (f64, f64), ulps: u32) -> (u64, f64) {
    let mut best = (u64::MAX, f64::INFINITY);
    for (reference, scale) in [exact, flushed] {
        let rounded = cpu::narrow::<T>(reference, Denormals::Preserve);
        if actual.is_nan() || rounded.is_nan() {
            let same = actual.is_nan() && rounded.is_nan();
            best = if same {
                (0, 0.0)
            } else {
                (u64::MAX, f64::INFINITY)
            };
            continue;
        }
        let distance = wgpu_activations::ulp_distance(actual, rounded);
        let flushed_zero = actual.ordered() == 0 && rounded.to_f64().abs() < T::MIN_POSITIVE;
        let distance = if flushed_zero { 0 } else { distance };
        let ulp = rounded.ulp();
        let beyond = ((actual.to_f64() - reference).abs() - f64::from(ulps) * ulp).max(0.0);
        let scaled = if beyond == 0.0 || distance == 0 {
            0.0
        } else if scale > 0.0 {
            beyond / (f64::from(f32::EPSILON) * scale)
        } else {
            f64::INFINITY
        };
        if (distance, scaled) < best {
            best = (distance, scaled);
        }
    }
    best
}

fn measure<T: Elem>(
    ctx: &GpuContext,
    op: &RowActivation,
    shape: &[usize],
    x: &[f32],
    g: &[f32],
) -> (Worst, Worst) {
    let x: Vec<T> = x.iter().map(|&v| T::of(v)).collect();
    let g: Vec<T> = g.iter().map(|&v| T::of(v)).collect();
    let y_tensor = ctx
        .row_forward(op, &T::upload(ctx, &x, shape))
        .expect("forward");
    let gx_tensor = ctx
        .row_backward(op, &y_tensor, &T::upload(ctx, &g, shape))
        .expect("backward");
    let (y, gx) = (T::download(ctx, &y_tensor), T::download(ctx, &gx_tensor));
    let reference = |dn| twin::row_forward_reference(op, &x, shape, dn).expect("twin");
    let (exact, flushed) = (
        reference(Denormals::Preserve),
        reference(Denormals::FlushToZero),
    );
    let mut forward = Worst::default();
    let tolerance = op.forward_tolerance_for(T::DTYPE).ulps;
    for (i, &v) in y.iter().enumerate() {
        let (ulps, scaled) = error(v, (exact[i], 0.0), (flushed[i], 0.0), tolerance);
        forward.ulps = forward.ulps.max(ulps);
        forward.scaled = forward.scaled.max(scaled);
    }
    let reference = |dn| twin::row_backward_reference(op, &y, &g, shape, dn).expect("twin");
    let (exact, flushed) = (
        reference(Denormals::Preserve),
        reference(Denormals::FlushToZero),
    );
    let mut backward = Worst::default();
    let tolerance = op.backward_tolerance_for(T::DTYPE).ulps;
    for (i, &v) in gx.iter().enumerate() {
        let (ulps, scaled) = error(
            v,
            (exact.0[i], exact.1[i]),
            (flushed.0[i], flushed.1[i]),
            tolerance,
        );
        backward.ulps = backward.ulps.max(ulps);
        backward.scaled = backward.scaled.max(scaled);
    }
    (forward, backward)
}

fn main() {
    let elements: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1 << 20);
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let has_f16 = ctx.device().features().contains(wgpu::Features::SHADER_F16);
    println!("adapter: {}", ctx.adapter_description());
    println!(
        "{elements} elements per row length and value kind; ulps: largest distance from the \
         reference; scaled: largest gradient error beyond the tolerance's ulps, in eps * scale\n"
    );
    println!(
        "{:<12} {:>7} {:>6}  {:>11} {:>11} {:>8}  {:>11} {:>11} {:>8}",
        "op", "n", "inner", "fwd f32", "bwd f32", "scaled", "fwd f16", "bwd f16", "scaled"
    );
    let mut rng = Rng(12345);
    for info in RowActivation::OPS.iter().take(3) {
        for (n, inner) in [
            (1usize, 1usize),
            (2, 1),
            (3, 1),
            (127, 1),
            (128, 1),
            (129, 1),
            (1000, 1),
            (4096, 1),
            (4097, 1),
            (65537, 1),
            (262_144, 1),
            (3, 7),
            (129, 5),
            (512, 64),
            (5000, 3),
        ] {
            let mut totals = [Worst::default(); 4];
            for kind in [Kind::Ordinary, Kind::Logits, Kind::Wide] {
                let outer = (elements / (n * inner)).max(1);
                let shape = [outer, n, inner];
                let len = outer * n * inner;
                let (lo, hi) = kind.range();
                let x: Vec<f32> = (0..len).map(|_| rng.uniform(lo, hi)).collect();
                let g: Vec<f32> = (0..len).map(|_| rng.uniform(-2.0, 2.0)).collect();
                let op = (info.with_dim)(1);
                let mut results = vec![measure::<f32>(&ctx, &op, &shape, &x, &g)];
                if has_f16 {
                    results.push(measure::<f16>(&ctx, &op, &shape, &x, &g));
                }
                for (k, (forward, backward)) in results.into_iter().enumerate() {
                    for (slot, worst) in [(2 * k, forward), (2 * k + 1, backward)] {
                        totals[slot].ulps = totals[slot].ulps.max(worst.ulps);
                        totals[slot].scaled = totals[slot].scaled.max(worst.scaled);
                    }
                }
            }
            println!(
                "{:<12} {n:>7} {inner:>6}  {:>11} {:>11} {:>8.2}  {:>11} {:>11} {:>8.2}",
                info.name,
                totals[0].ulps,
                totals[1].ulps,
                totals[1].scaled,
                totals[2].ulps,
                totals[3].ulps,
                totals[3].scaled,
            );
        }
    }
}

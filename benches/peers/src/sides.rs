//! Running one op on each side: timed, and once over the accuracy sweep.

use std::time::{Duration, Instant};

use burn::tensor::{DType, Device, DeviceKind, Tensor, TensorData};
use wgpu_activations::{
    Activation, BackwardBuffers, ForwardBuffers, GpuContext, GpuTensor, Result as OursResult,
};

use crate::ops::{Op, PRELU_WEIGHT};

/// Median, first and spread of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The first call: pipeline or kernel compilation, burn's autotune, first touch of memory.
    pub first: Duration,
    /// The median of the timed repeats (mean of the middle two for an even count).
    pub median: Duration,
    /// The fastest timed repeat.
    pub min: Duration,
    /// The slowest timed repeat.
    pub max: Duration,
}

fn summarize(first: Duration, mut times: Vec<Duration>) -> Timing {
    times.sort();
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    };
    Timing {
        first,
        median,
        min: times[0],
        max: times[n - 1],
    }
}

/// A measurement: one call of it returns the time of the part it measures.
pub type Sampler<'a> = Box<dyn FnMut() -> Duration + 'a>;

/// Measures two samplers interleaved, so that a change in the machine's load
/// hits both alike: each is called `warmup` times (its first call is kept as
/// `first`), then `repeats` rounds call one and the other, alternating which
/// goes first.
pub fn measure_pair(
    warmup: u32,
    repeats: u32,
    mut a: Sampler<'_>,
    mut b: Sampler<'_>,
) -> (Timing, Timing) {
    let first_a = a();
    for _ in 1..warmup {
        a();
    }
    let first_b = b();
    for _ in 1..warmup {
        b();
    }
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..repeats.max(1) {
        if round % 2 == 0 {
            ta.push(a());
            tb.push(b());
        } else {
            tb.push(b());
            ta.push(a());
        }
    }
    (summarize(first_a, ta), summarize(first_b, tb))
}

/// Forward or backward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `y = f(x)`: reads x, writes y.
    Forward,
    /// `dx = g * f'(x)`: reads x and g, writes dx.
    Backward,
}

impl Direction {
    /// Tensors read plus written by the op.
    pub fn tensors_moved(self) -> u64 {
        match self {
            Direction::Forward => 2,
            Direction::Backward => 3,
        }
    }

    /// As printed.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

// ---------------------------------------------------------------- ours

/// wgpu-activations through its recording API.
pub struct Ours {
    /// The context (its own device on the default adapter).
    pub ctx: GpuContext,
}

/// Device buffers of one size.
pub struct OursBuffers {
    x: GpuTensor,
    g: GpuTensor,
    out: GpuTensor,
    weight: GpuTensor,
    shape: Vec<usize>,
}

impl Ours {
    /// `GpuContext::new()`: the adapter `WGPU_BACKEND` / `WGPU_ADAPTER_NAME` choose.
    pub fn new() -> OursResult<Self> {
        Ok(Ours {
            ctx: GpuContext::new()?,
        })
    }

    /// Uploads x and g; allocates the output.
    pub fn buffers(&self, x: &[f32], g: &[f32]) -> OursResult<OursBuffers> {
        let shape = vec![x.len()];
        Ok(OursBuffers {
            x: self.ctx.upload(x, &shape)?,
            g: self.ctx.upload(g, &shape)?,
            out: self.ctx.empty(&shape)?,
            weight: self.ctx.upload(&[PRELU_WEIGHT], &[1])?,
            shape,
        })
    }

    /// Records one op into a new encoder, submits it and waits for the device.
    pub fn run(&self, op: &Activation, dir: Direction, b: &OursBuffers) -> OursResult<()> {
        let weight = op.uses_weight().then(|| b.weight.view());
        let mut encoder = self.ctx.create_encoder();
        match dir {
            Direction::Forward => self.ctx.encode_forward(
                &mut encoder,
                op,
                &b.shape,
                &ForwardBuffers {
                    input: b.x.view(),
                    output: b.out.view(),
                    weight,
                    first_element: 0,
                },
            )?,
            Direction::Backward => self.ctx.encode_backward(
                &mut encoder,
                op,
                &b.shape,
                &BackwardBuffers {
                    input: b.x.view(),
                    grad_output: b.g.view(),
                    grad_input: b.out.view(),
                    weight,
                    grad_weight: None,
                    from_output: false,
                    first_element: 0,
                },
            )?,
        }
        self.ctx.submit(encoder)?;
        self.ctx
            .device()
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("poll");
        Ok(())
    }

    /// Wall clock from recording to completion of one op.
    pub fn sampler<'a>(
        &'a self,
        op: &'a Activation,
        dir: Direction,
        b: &'a OursBuffers,
    ) -> Sampler<'a> {
        Box::new(move || {
            let start = Instant::now();
            self.run(op, dir, b).expect("wgpu-activations op");
            start.elapsed()
        })
    }

    /// The op's result over `x` (and `g` backward), read back.
    pub fn evaluate(&self, op: &Activation, dir: Direction, x: &[f32], g: &[f32]) -> Vec<f32> {
        let b = self.buffers(x, g).expect("upload");
        self.run(op, dir, &b).expect("wgpu-activations op");
        self.ctx.download(&b.out).expect("download")
    }
}

// ---------------------------------------------------------------- burn

/// burn 0.22.1 on its wgpu backend (default features: fusion and autotune on).
pub struct Burn {
    /// `Device::wgpu(DeviceKind::DefaultDevice)`.
    pub device: Device,
    /// The same device with autodiff.
    pub autodiff: Device,
}

fn upload(data: &[f32], device: &Device) -> Tensor<1> {
    let t = Tensor::<1>::from_data(TensorData::new(data.to_vec(), [data.len()]), device);
    assert_eq!(t.dtype(), DType::F32, "burn's default float type is f32");
    t
}

fn download(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("f32 data")
}

impl Burn {
    /// The default wgpu device, as `burn::tensor::Device::wgpu` picks it.
    pub fn new() -> Self {
        let device = Device::wgpu(DeviceKind::DefaultDevice);
        let autodiff = device.clone().autodiff();
        Burn { device, autodiff }
    }

    /// The adapter's name, as burn's runtime reports it.
    pub fn adapter_name(&self) -> String {
        self.device
            .identity()
            .map_or_else(|| "unknown".into(), |identity| identity.name)
    }

    /// Forward: `op(x)` then `device.sync()`. Backward: `(op(x) * g).sum()`
    /// is built and run (untimed), then `loss.backward()`, `x.grad(..)` and
    /// `device.sync()` are timed.
    pub fn sampler<'a>(&'a self, op: &Op, dir: Direction, x: &[f32], g: &[f32]) -> Sampler<'a> {
        match dir {
            Direction::Forward => {
                let device = &self.device;
                let f = (op.burn)(device);
                let x = upload(x, device);
                device.sync().expect("sync");
                Box::new(move || {
                    device.sync().expect("sync");
                    let start = Instant::now();
                    let y = f(x.clone());
                    device.sync().expect("sync");
                    let elapsed = start.elapsed();
                    drop(y);
                    elapsed
                })
            }
            Direction::Backward => {
                let device = &self.autodiff;
                let f = (op.burn)(device);
                let x = upload(x, device).require_grad();
                let g = upload(g, device);
                device.sync().expect("sync");
                Box::new(move || {
                    let loss = (f(x.clone()) * g.clone()).sum();
                    device.sync().expect("sync");
                    let start = Instant::now();
                    let grads = loss.backward();
                    let dx = x.grad(&grads).expect("x has a gradient");
                    device.sync().expect("sync");
                    let elapsed = start.elapsed();
                    drop((dx, grads, loss));
                    elapsed
                })
            }
        }
    }

    /// The op's result over `x` (backward: the gradient of `(op(x) * g).sum()`
    /// with respect to x), read back.
    pub fn evaluate(&self, op: &Op, dir: Direction, x: &[f32], g: &[f32]) -> Vec<f32> {
        match dir {
            Direction::Forward => {
                let f = (op.burn)(&self.device);
                download(f(upload(x, &self.device)))
            }
            Direction::Backward => {
                let device = &self.autodiff;
                let f = (op.burn)(device);
                let xt = upload(x, device).require_grad();
                let loss = (f(xt.clone()) * upload(g, device)).sum();
                let grads = loss.backward();
                download(xt.grad(&grads).expect("x has a gradient"))
            }
        }
    }
}

//! The dying-ReLU problem, measured: the same small multilayer perceptron is
//! trained three times on the same synthetic regression task, with ReLU,
//! Leaky ReLU (negative_slope 0.01) and PReLU (one weight per hidden unit,
//! learned through its GPU gradient), from the same initial weights and the
//! same mini-batches, at a moderate and at a high learning rate (plain SGD,
//! the gradient's norm clipped at 100 so that no run diverges).
//!
//! Every activation forward and backward pass runs on the GPU (PReLU's
//! weight gradient too); the small matrix products run on the CPU. It prints
//! the loss curve of each run and, at the end, the fraction of dead units:
//! hidden units whose activation has a zero gradient on every training
//! example, so that no example can ever change their incoming weights again.
//! A ReLU unit dies when its pre-activation is negative on every input; Leaky
//! ReLU and PReLU keep a gradient there (the tutorials' argument for them).
//!
//! Run: `cargo run --release --example dying_relu`

use wgpu_activations::{Activation, GpuContext, Result};

/// Inputs per example.
const INPUTS: usize = 2;
/// Units in each of the two hidden layers.
const HIDDEN: usize = 64;
/// Training examples.
const EXAMPLES: usize = 2048;
/// Examples per SGD step.
const BATCH: usize = 64;
/// SGD steps per run.
const STEPS: usize = 2000;
/// The loss is reported every this many steps.
const REPORT_EVERY: usize = 250;
/// Learning rates compared.
const LEARNING_RATES: [f32; 2] = [0.01, 0.02];
/// Largest global norm of one step's gradient (larger ones are scaled down).
const CLIP_NORM: f64 = 100.0;
/// PyTorch's `nn.PReLU` initial weight.
const PRELU_INIT: f32 = 0.25;

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let ctx = GpuContext::new()?;
    println!("adapter: {}", ctx.adapter_description());
    let data = Dataset::new(EXAMPLES, 7);
    println!(
        "task: y = sin(2 x1) cos(x2) + x1/2 on {EXAMPLES} points of [-3, 3]^2; MLP {INPUTS}-{HIDDEN}-{HIDDEN}-1, \
         SGD on mean squared error, batch {BATCH}, {STEPS} steps\n"
    );
    let variants = [
        ("relu", Activation::Relu),
        (
            "leaky_relu",
            Activation::LeakyRelu {
                negative_slope: 0.01,
            },
        ),
        ("prelu", Activation::Prelu),
    ];
    let mut summary = Vec::new();
    for learning_rate in LEARNING_RATES {
        println!("learning rate {learning_rate}: training loss (whole set)");
        print!("{:>6}", "step");
        for (name, _) in &variants {
            print!(" {name:>12}");
        }
        println!();
        let mut models: Vec<Mlp> = variants.iter().map(|&(_, op)| Mlp::new(op, 42)).collect();
        let dead_at_start = models
            .iter()
            .map(|model| Ok(model.unit_fractions(&ctx, &data)?.dead))
            .collect::<Result<Vec<_>>>()?;
        let mut batches = Rng::new(99);
        for step in 0..=STEPS {
            if step % REPORT_EVERY == 0 {
                print!("{step:>6}");
                for model in &models {
                    print!(" {:>12.5}", model.loss(&ctx, &data)?);
                }
                println!();
            }
            if step == STEPS {
                break;
            }
            let batch: Vec<usize> = (0..BATCH)
                .map(|_| batches.below(EXAMPLES as u64) as usize)
                .collect();
            for model in &mut models {
                model.train_step(&ctx, &data, &batch, learning_rate)?;
            }
        }
        for (((name, _), model), start) in variants.iter().zip(&models).zip(dead_at_start) {
            let after = model.unit_fractions(&ctx, &data)?;
            summary.push(Outcome {
                learning_rate,
                name,
                dead_at_start: start,
                dead: after.dead,
                negative: after.negative,
                prelu_weights: model.prelu_weight_range(),
            });
        }
        println!();
    }

    println!(
        "dead units: zero gradient on all {EXAMPLES} examples (hidden layer 1 / layer 2), at the start and \
         after training;\nunits whose pre-activation is negative on every example, after training; \
         PReLU's learned weights"
    );
    println!(
        "{:>5} {:<11} {:>15} {:>15} {:>15}  PReLU weights",
        "lr", "activation", "dead at start", "dead after", "all negative"
    );
    let percent = |f: [f32; 2]| format!("{:.1}% / {:.1}%", 100.0 * f[0], 100.0 * f[1]);
    for outcome in summary {
        let weights = outcome
            .prelu_weights
            .map_or(String::from("-"), |(lo, hi)| format!("{lo:.3} .. {hi:.3}"));
        println!(
            "{:>5} {:<11} {:>15} {:>15} {:>15}  {weights}",
            outcome.learning_rate,
            outcome.name,
            percent(outcome.dead_at_start),
            percent(outcome.dead),
            percent(outcome.negative),
        );
    }
    Ok(())
}

/// Per hidden layer, fractions of its units.
struct UnitFractions {
    /// Zero activation gradient on every example.
    dead: [f32; 2],
    /// Pre-activation negative or zero on every example.
    negative: [f32; 2],
}

/// What one training run ended with.
struct Outcome {
    learning_rate: f32,
    name: &'static str,
    /// Per hidden layer, fractions of dead units before the first step.
    dead_at_start: [f32; 2],
    /// The same after the last step.
    dead: [f32; 2],
    /// Per hidden layer, fractions of units negative on every example.
    negative: [f32; 2],
    /// PReLU only: the smallest and largest learned weight.
    prelu_weights: Option<(f32, f32)>,
}

/// The regression task: `y = sin(2 x1) cos(x2) + x1 / 2` on uniform points.
struct Dataset {
    inputs: Vec<f32>,
    targets: Vec<f32>,
}

impl Dataset {
    fn new(examples: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let inputs: Vec<f32> = (0..examples * INPUTS)
            .map(|_| rng.uniform(-3.0, 3.0))
            .collect();
        let targets = inputs
            .chunks_exact(INPUTS)
            .map(|x| (2.0 * x[0]).sin() * x[1].cos() + 0.5 * x[0])
            .collect();
        Dataset { inputs, targets }
    }

    fn rows(&self, indices: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let x = indices
            .iter()
            .flat_map(|&i| &self.inputs[i * INPUTS..(i + 1) * INPUTS])
            .copied()
            .collect();
        let y = indices.iter().map(|&i| self.targets[i]).collect();
        (x, y)
    }

    fn all(&self) -> Vec<usize> {
        (0..self.targets.len()).collect()
    }
}

/// A dense layer `z = x W + b`, `W` row-major `[inputs, outputs]`.
struct Dense {
    inputs: usize,
    outputs: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// He initialisation, as for ReLU networks.
    fn new(inputs: usize, outputs: usize, rng: &mut Rng) -> Self {
        let std = (2.0 / inputs as f32).sqrt();
        Dense {
            inputs,
            outputs,
            weight: (0..inputs * outputs).map(|_| std * rng.normal()).collect(),
            bias: vec![0.0; outputs],
        }
    }

    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let rows = x.len() / self.inputs;
        let mut z = Vec::with_capacity(rows * self.outputs);
        for row in x.chunks_exact(self.inputs) {
            for o in 0..self.outputs {
                let mut sum = self.bias[o];
                for (i, &xi) in row.iter().enumerate() {
                    sum += xi * self.weight[i * self.outputs + o];
                }
                z.push(sum);
            }
        }
        z
    }

    /// The gradients for the weights, the bias and the input `x`, given the
    /// gradient `grad_z` of the output.
    fn gradients(&self, x: &[f32], grad_z: &[f32]) -> DenseGradients {
        let mut input = Vec::with_capacity(x.len());
        for gr in grad_z.chunks_exact(self.outputs) {
            for i in 0..self.inputs {
                let w = &self.weight[i * self.outputs..(i + 1) * self.outputs];
                input.push(w.iter().zip(gr).map(|(w, g)| w * g).sum());
            }
        }
        let mut weight = vec![0.0; self.weight.len()];
        for (xr, gr) in x
            .chunks_exact(self.inputs)
            .zip(grad_z.chunks_exact(self.outputs))
        {
            for (i, &xi) in xr.iter().enumerate() {
                for (o, &g) in gr.iter().enumerate() {
                    weight[i * self.outputs + o] += xi * g;
                }
            }
        }
        let mut bias = vec![0.0; self.outputs];
        for gr in grad_z.chunks_exact(self.outputs) {
            for (b, g) in bias.iter_mut().zip(gr) {
                *b += g;
            }
        }
        DenseGradients {
            weight,
            bias,
            input,
        }
    }
}

/// The gradients of one [`Dense`] layer.
struct DenseGradients {
    weight: Vec<f32>,
    bias: Vec<f32>,
    input: Vec<f32>,
}

/// `INPUTS -> HIDDEN -> HIDDEN -> 1`, the activation after both hidden layers.
struct Mlp {
    op: Activation,
    layers: [Dense; 3],
    /// PReLU only: one weight per unit of each hidden layer.
    prelu_weights: [Vec<f32>; 2],
}

/// What the forward pass keeps for the backward pass.
struct Trace {
    /// Input of each dense layer.
    inputs: [Vec<f32>; 3],
    /// Pre-activation of each hidden layer.
    pre_activations: [Vec<f32>; 2],
    prediction: Vec<f32>,
}

impl Mlp {
    fn new(op: Activation, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Mlp {
            op,
            layers: [
                Dense::new(INPUTS, HIDDEN, &mut rng),
                Dense::new(HIDDEN, HIDDEN, &mut rng),
                Dense::new(HIDDEN, 1, &mut rng),
            ],
            prelu_weights: [vec![PRELU_INIT; HIDDEN], vec![PRELU_INIT; HIDDEN]],
        }
    }

    fn weight(&self, layer: usize) -> Option<&[f32]> {
        self.op
            .uses_weight()
            .then(|| &self.prelu_weights[layer][..])
    }

    /// The activation of hidden layer `layer` over `z` (`rows x HIDDEN`), on the GPU.
    fn activate(&self, ctx: &GpuContext, layer: usize, z: &[f32]) -> Result<Vec<f32>> {
        let shape = [z.len() / HIDDEN, HIDDEN];
        let z = ctx.upload(z, &shape)?;
        let weight = match self.weight(layer) {
            Some(w) => Some(ctx.upload(w, &[HIDDEN])?),
            None => None,
        };
        ctx.download(&ctx.forward(&self.op, &z, weight.as_ref())?)
    }

    /// The activation's gradient on the GPU: the gradient for `z` and, for
    /// PReLU, for the layer's weights.
    fn activation_gradient(
        &self,
        ctx: &GpuContext,
        layer: usize,
        z: &[f32],
        grad_output: &[f32],
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let shape = [z.len() / HIDDEN, HIDDEN];
        let z = ctx.upload(z, &shape)?;
        let grad_output = ctx.upload(grad_output, &shape)?;
        let weight = match self.weight(layer) {
            Some(w) => Some(ctx.upload(w, &[HIDDEN])?),
            None => None,
        };
        let gradients = ctx.backward(&self.op, &z, &grad_output, weight.as_ref())?;
        let grad_weight = match &gradients.grad_weight {
            Some(gw) => Some(ctx.download(gw)?),
            None => None,
        };
        Ok((ctx.download(&gradients.grad_input)?, grad_weight))
    }

    fn forward(&self, ctx: &GpuContext, x: Vec<f32>) -> Result<Trace> {
        let z1 = self.layers[0].forward(&x);
        let a1 = self.activate(ctx, 0, &z1)?;
        let z2 = self.layers[1].forward(&a1);
        let a2 = self.activate(ctx, 1, &z2)?;
        let prediction = self.layers[2].forward(&a2);
        Ok(Trace {
            inputs: [x, a1, a2],
            pre_activations: [z1, z2],
            prediction,
        })
    }

    fn loss(&self, ctx: &GpuContext, data: &Dataset) -> Result<f32> {
        let (x, y) = data.rows(&data.all());
        let trace = self.forward(ctx, x)?;
        Ok(mean_squared_error(&trace.prediction, &y))
    }

    /// One SGD step on `batch`, the gradient's global norm clipped to
    /// [`CLIP_NORM`].
    fn train_step(
        &mut self,
        ctx: &GpuContext,
        data: &Dataset,
        batch: &[usize],
        learning_rate: f32,
    ) -> Result<()> {
        let (x, y) = data.rows(batch);
        let trace = self.forward(ctx, x)?;
        let scale = 2.0 / batch.len() as f32;
        let mut grad: Vec<f32> = trace
            .prediction
            .iter()
            .zip(&y)
            .map(|(p, t)| scale * (p - t))
            .collect();
        let mut dense = Vec::with_capacity(3);
        let mut prelu = [None, None];
        for layer in [2, 1, 0] {
            let grad_z = if layer == 2 {
                grad
            } else {
                let (grad_z, grad_weight) =
                    self.activation_gradient(ctx, layer, &trace.pre_activations[layer], &grad)?;
                prelu[layer] = grad_weight;
                grad_z
            };
            let gradients = self.layers[layer].gradients(&trace.inputs[layer], &grad_z);
            grad = gradients.input.clone();
            dense.push((layer, gradients));
        }
        let squares: f64 = dense
            .iter()
            .flat_map(|(_, g)| g.weight.iter().chain(&g.bias))
            .chain(prelu.iter().flatten().flatten())
            .map(|&g| f64::from(g).powi(2))
            .sum();
        let step = learning_rate * (CLIP_NORM / squares.sqrt().max(1e-30)).min(1.0) as f32;
        for (layer, gradients) in dense {
            let target = &mut self.layers[layer];
            for (w, g) in target.weight.iter_mut().zip(&gradients.weight) {
                *w -= step * g;
            }
            for (b, g) in target.bias.iter_mut().zip(&gradients.bias) {
                *b -= step * g;
            }
        }
        for (weights, gradient) in self.prelu_weights.iter_mut().zip(&prelu) {
            for (w, g) in weights.iter_mut().zip(gradient.iter().flatten()) {
                *w -= step * g;
            }
        }
        Ok(())
    }

    /// Per hidden layer, the fractions of units that are dead (their
    /// activation's gradient, computed on the GPU with a gradient of ones, is
    /// zero on every example) and of units whose pre-activation is negative
    /// or zero on every example.
    fn unit_fractions(&self, ctx: &GpuContext, data: &Dataset) -> Result<UnitFractions> {
        let (x, _) = data.rows(&data.all());
        let trace = self.forward(ctx, x)?;
        let fraction_of_units = |all: &dyn Fn(usize) -> bool| {
            (0..HIDDEN).filter(|&unit| all(unit)).count() as f32 / HIDDEN as f32
        };
        let mut fractions = UnitFractions {
            dead: [0.0; 2],
            negative: [0.0; 2],
        };
        for layer in 0..2 {
            let z = &trace.pre_activations[layer];
            let ones = vec![1.0; z.len()];
            let (slopes, _) = self.activation_gradient(ctx, layer, z, &ones)?;
            let column = |values: &[f32], unit: usize| -> Vec<f32> {
                values.iter().skip(unit).step_by(HIDDEN).copied().collect()
            };
            fractions.dead[layer] =
                fraction_of_units(&|unit| column(&slopes, unit).iter().all(|&s| s == 0.0));
            fractions.negative[layer] =
                fraction_of_units(&|unit| column(z, unit).iter().all(|&v| v <= 0.0));
        }
        Ok(fractions)
    }

    fn prelu_weight_range(&self) -> Option<(f32, f32)> {
        self.op.uses_weight().then(|| {
            self.prelu_weights
                .iter()
                .flatten()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &w| {
                    (lo.min(w), hi.max(w))
                })
        })
    }
}

fn mean_squared_error(prediction: &[f32], target: &[f32]) -> f32 {
    let sum: f64 = prediction
        .iter()
        .zip(target)
        .map(|(p, t)| f64::from(p - t).powi(2))
        .sum();
    (sum / target.len() as f64) as f32
}

/// SplitMix64: a small, reproducible generator for weights and batches.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f32 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

//! The activation inside your own shader: a 2-layer MLP forward pass,
//! `y = W2 act(W1 x + b1) + b2`, where your matmul shader applies the
//! activation in its epilogue (one pass over the hidden layer), against the
//! same matmul followed by a separate activation dispatch
//! (`GpuContext::encode_forward`). Both give the same bits: the epilogue
//! calls the same WGSL function as the crate's kernel. The time of both is
//! printed for the adapter in use.
//!
//! ```sh
//! cargo run --release --example epilogue [OP]   # OP: gelu (default), silu, relu, ...
//! ```

#[path = "../benches/common/mod.rs"]
mod common;

use wgpu::util::DeviceExt;
use wgpu_activations::activation::ParameterValue;
use wgpu_activations::{wgsl, Activation, ForwardBuffers, GpuContext, TensorView};

const BATCH: u32 = 512;
const INPUTS: u32 = 128;
const HIDDEN: u32 = 512;
const OUTPUTS: u32 = 64;
const REPEATS: u32 = 7;

/// Your matmul: `out[r][c] = epilogue(sum_k a[r][k] w[k][c] + bias[c])`.
/// `EPILOGUE` is replaced by the activation's call, or by `acc`.
const MATMUL: &str = r#"
struct Dims { rows: u32, inner: u32, cols: u32, pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.y;
    let c = id.x;
    if (r >= dims.rows || c >= dims.cols) {
        return;
    }
    var acc = bias[c];
    for (var k = 0u; k < dims.inner; k = k + 1u) {
        acc = acc + a[r * dims.inner + k] * w[k * dims.cols + c];
    }
    out[r * dims.cols + c] = EPILOGUE;
}
"#;

fn main() {
    if let Err(error) = run() {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

/// A matmul pipeline with its buffers bound.
struct Matmul {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

impl Matmul {
    #[allow(clippy::too_many_arguments)]
    fn new(
        ctx: &GpuContext,
        source: &str,
        rows: u32,
        inner: u32,
        cols: u32,
        a: &wgpu::Buffer,
        w: &wgpu::Buffer,
        bias: &wgpu::Buffer,
        out: &wgpu::Buffer,
    ) -> Self {
        let device = ctx.device();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("matmul"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("matmul"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let dims = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dims"),
            contents: bytemuck::cast_slice(&[rows, inner, cols, 0]),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[&dims, a, w, bias, out]
                .iter()
                .enumerate()
                .map(|(i, buffer)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: buffer.as_entire_binding(),
                })
                .collect::<Vec<_>>(),
        });
        Matmul {
            pipeline,
            bind_group,
            groups: (cols.div_ceil(16), rows.div_ceil(16)),
        }
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.groups.0, self.groups.1, 1);
    }
}

/// Deterministic values in [-scale, scale].
fn values(len: u32, seed: u32, scale: f32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i ^ seed).wrapping_mul(2_654_435_761).rotate_left(13);
            (h % 20_001) as f32 / 10_000.0 * scale - scale
        })
        .collect()
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "gelu".into());
    let op = Activation::from_name(&name)?;
    if op.uses_weight() {
        return Err(format!("{name}: pick an op without a weight tensor").into());
    }
    let ctx = GpuContext::new()?;
    println!("adapter: {}", ctx.adapter_description());
    println!("MLP {INPUTS}-{HIDDEN}-{OUTPUTS} on a batch of {BATCH}, activation {op}");
    let device = ctx.device();
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let buffer = |data: &[f32]| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: bytemuck::cast_slice(data),
            usage,
        })
    };
    let x = buffer(&values(BATCH * INPUTS, 1, 1.0));
    let w1 = buffer(&values(INPUTS * HIDDEN, 2, 0.1));
    let b1 = buffer(&values(HIDDEN, 3, 0.5));
    let w2 = buffer(&values(HIDDEN * OUTPUTS, 4, 0.05));
    let b2 = buffer(&values(OUTPUTS, 5, 0.5));
    let hidden = buffer(&vec![0.0; (BATCH * HIDDEN) as usize]);
    let activated = buffer(&vec![0.0; (BATCH * HIDDEN) as usize]);
    let fused_out = buffer(&vec![0.0; (BATCH * OUTPUTS) as usize]);
    let separate_out = buffer(&vec![0.0; (BATCH * OUTPUTS) as usize]);

    // The op's call with its parameters as literals, as you would write it.
    let names = wgsl::functions(&op);
    let arguments: Vec<String> = std::iter::once("acc".to_string())
        .chain(
            op.wgsl_call()
                .args
                .iter()
                .map(|arg| match op.parameter(arg) {
                    Some(ParameterValue::Integer(seed)) => {
                        format!("vec2<u32>({}u, {}u)", seed as u32, (seed >> 32) as u32)
                    }
                    Some(value) => value.to_text(),
                    // rrelu's training stream: the element's index.
                    None => "r * dims.cols + c".to_string(),
                }),
        )
        .collect();
    let epilogue = format!("{}({})", names.forward, arguments.join(", "));
    let fused_source = format!(
        "{}\n{}",
        wgsl::function(&op),
        MATMUL.replace("EPILOGUE", &epilogue)
    );
    let plain_source = MATMUL.replace("EPILOGUE", "acc");

    let layer1_fused = Matmul::new(
        &ctx,
        &fused_source,
        BATCH,
        INPUTS,
        HIDDEN,
        &x,
        &w1,
        &b1,
        &activated,
    );
    let layer1_plain = Matmul::new(
        &ctx,
        &plain_source,
        BATCH,
        INPUTS,
        HIDDEN,
        &x,
        &w1,
        &b1,
        &hidden,
    );
    let layer2_fused = Matmul::new(
        &ctx,
        &plain_source,
        BATCH,
        HIDDEN,
        OUTPUTS,
        &activated,
        &w2,
        &b2,
        &fused_out,
    );
    let layer2_separate = Matmul::new(
        &ctx,
        &plain_source,
        BATCH,
        HIDDEN,
        OUTPUTS,
        &activated,
        &w2,
        &b2,
        &separate_out,
    );
    let len = (BATCH * HIDDEN) as usize;
    let shape = [BATCH as usize, HIDDEN as usize];

    let fused = |encoder: &mut wgpu::CommandEncoder| {
        layer1_fused.record(encoder);
        layer2_fused.record(encoder);
    };
    let separate = |encoder: &mut wgpu::CommandEncoder| {
        layer1_plain.record(encoder);
        ctx.encode_forward(
            encoder,
            &op,
            &shape,
            &ForwardBuffers {
                input: TensorView::new(&hidden, 0, len),
                output: TensorView::new(&activated, 0, len),
                weight: None,
                first_element: 0,
            },
        )
        .expect("record the activation");
        layer2_separate.record(encoder);
    };
    let fused_time = common::time_op(&ctx, 1, REPEATS, &fused);
    let fused_y = ctx.read_view(TensorView::new(&fused_out, 0, (BATCH * OUTPUTS) as usize))?;
    let separate_time = common::time_op(&ctx, 1, REPEATS, &separate);
    let separate_y = ctx.read_view(TensorView::new(
        &separate_out,
        0,
        (BATCH * OUTPUTS) as usize,
    ))?;

    let same = fused_y
        .iter()
        .zip(&separate_y)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    println!(
        "activation in the matmul epilogue:      {:8.3} ms",
        fused_time.as_secs_f64() * 1e3
    );
    println!(
        "matmul, then a separate activation:     {:8.3} ms",
        separate_time.as_secs_f64() * 1e3
    );
    println!(
        "outputs identical bit for bit: {same} ({} values, y[0] = {})",
        fused_y.len(),
        fused_y[0]
    );
    if !same {
        return Err("the two forms disagree".into());
    }
    Ok(())
}

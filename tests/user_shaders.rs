//! The WGSL functions inside a user's own shader: a small matrix multiply
//! whose epilogue adds a bias and applies the activation (forward) and its
//! backward, written here as a user would, importing the library as a plain
//! string and (feature `naga-oil`) as a naga_oil module. Every op, checked
//! against the CPU reference under the op's tolerance.

mod common;

use common::Direction;
use wgpu::util::DeviceExt;
use wgpu_activations::activation::ParameterValue;
use wgpu_activations::{wgsl, Activation, GeluApproximate, GpuContext};

/// Rows, inner dimension and columns of the user's matmul.
const M: usize = 32;
const K: usize = 4;
const N: usize = 40;

/// The incoming gradient the epilogue's backward multiplies.
const GRAD: f32 = -1.5;
/// PReLU's weight in the user's shader.
const PRELU_WEIGHT: f32 = 0.25;

/// Every op with parameters that select each of its WGSL functions.
fn every_function_op() -> Vec<Activation> {
    let mut ops = Activation::all_defaults();
    ops.push(Activation::Rrelu {
        lower: 0.1,
        upper: 0.3,
        training: true,
        seed: 0x1234_5678_9abc_def0,
    });
    ops.push(Activation::Gelu {
        approximate: GeluApproximate::Tanh,
    });
    ops.push(Activation::LeakyRelu {
        negative_slope: 0.2,
    });
    ops
}

/// The op's call as a user writes it: its function with literal parameters.
fn call(function: &str, op: &Activation, leading: &str) -> String {
    let mut args = vec![leading.to_string()];
    for name in op.wgsl_call().args {
        args.push(match (*name, op.parameter(name)) {
            ("weight", _) => format!("{PRELU_WEIGHT:?}"),
            ("index", _) => "index".to_string(),
            (_, Some(ParameterValue::Number(v))) => format!("{v:?}"),
            (_, Some(ParameterValue::Integer(seed))) => {
                format!("vec2<u32>({}u, {}u)", seed as u32, (seed >> 32) as u32)
            }
            (other, value) => panic!("{op}: argument {other} = {value:?}"),
        });
    }
    format!("{function}({})", args.join(", "))
}

/// The user's shader body: `out_y = f(A W + b)`, `out_dy = GRAD * f'(A W + b)`.
fn user_shader(op: &Activation) -> String {
    let names = wgsl::functions(op);
    format!(
        r#"
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_z: array<f32>;
@group(0) @binding(4) var<storage, read_write> out_y: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_dy: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {{
    let row = id.y;
    let col = id.x;
    if (row >= {M}u || col >= {N}u) {{
        return;
    }}
    var acc = bias[col];
    for (var k = 0u; k < {K}u; k = k + 1u) {{
        acc = acc + a[row * {K}u + k] * w[k * {N}u + col];
    }}
    let index = row * {N}u + col;
    out_z[index] = acc;
    out_y[index] = {forward};
    out_dy[index] = {backward};
}}
"#,
        forward = call(names.forward, op, "acc"),
        backward = call(&names.backward, op, &format!("acc, {GRAD:?}")),
    )
}

/// A, W and b whose products and sums are exact in f32, so the
/// pre-activations are known exactly: values on a grid of 1/64 in about
/// [-10, 10], kinks (0, -3, 3, 6, +-0.5, +-1) included.
fn operands() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = (0..M * K)
        .map(|i| ((i * 37 % 41) as f32 - 20.0) / 8.0)
        .collect();
    let w: Vec<f32> = (0..K * N)
        .map(|i| ((i * 13 % 9) as f32 - 4.0) / 8.0)
        .collect();
    let b: Vec<f32> = (0..N)
        .map(|i| [0.0, -3.0, 3.0, 6.0, 0.5, -0.5, 1.0, -1.0][i % 8] + (i / 8) as f32 / 64.0)
        .collect();
    (a, w, b)
}

fn storage(ctx: &GpuContext, data: &[f32]) -> wgpu::Buffer {
    ctx.device()
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("user buffer"),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        })
}

/// Runs the user's module and returns (z, y, dy).
fn run(ctx: &GpuContext, module: wgpu::ShaderModule) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = ctx.device();
    let (a, w, b) = operands();
    let inputs = [storage(ctx, &a), storage(ctx, &w), storage(ctx, &b)];
    let outputs: Vec<wgpu::Buffer> = (0..3).map(|_| storage(ctx, &[0.0; M * N])).collect();
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("user matmul"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let entries: Vec<wgpu::BindGroupEntry> = inputs
        .iter()
        .chain(&outputs)
        .enumerate()
        .map(|(i, buffer)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: buffer.as_entire_binding(),
        })
        .collect();
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut encoder = ctx.create_encoder();
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(N.div_ceil(8) as u32, M.div_ceil(8) as u32, 1);
    }
    ctx.submit(encoder).unwrap();
    let read = |buffer: &wgpu::Buffer| {
        ctx.read_view(wgpu_activations::TensorView::new(buffer, 0, M * N))
            .unwrap()
    };
    (read(&outputs[0]), read(&outputs[1]), read(&outputs[2]))
}

/// z must be the exact A W + b; y and dy within the op's tolerance of the
/// CPU reference at z.
fn check(what: &str, op: &Activation, (z, y, dy): (Vec<f32>, Vec<f32>, Vec<f32>)) {
    let (a, w, b) = operands();
    for row in 0..M {
        for col in 0..N {
            let exact: f64 = f64::from(b[col])
                + (0..K)
                    .map(|k| f64::from(a[row * K + k]) * f64::from(w[k * N + col]))
                    .sum::<f64>();
            assert_eq!(
                f64::from(z[row * N + col]),
                exact,
                "{what}: z[{row}][{col}]"
            );
        }
    }
    let weight = op.uses_weight().then_some([PRELU_WEIGHT]);
    let shape = [M * N];
    common::assert_matches(
        &format!("{what}: {op}"),
        op,
        Direction::Forward,
        &shape,
        &z,
        &[],
        weight.as_ref().map(|w| &w[..]),
        &y,
        op.forward_tolerance(),
    );
    let g = vec![GRAD; M * N];
    common::assert_matches(
        &format!("{what}: {op} backward"),
        op,
        Direction::Backward,
        &shape,
        &z,
        &g,
        weight.as_ref().map(|w| &w[..]),
        &dy,
        op.backward_tolerance(),
    );
    let distinct: std::collections::BTreeSet<u32> = z.iter().map(|v| v.to_bits()).collect();
    assert!(
        distinct.len() > 200,
        "{what}: only {} distinct z",
        distinct.len()
    );
}

#[test]
fn matmul_epilogue_with_the_plain_string_for_every_op() {
    let ctx = gpu_or_skip!();
    for op in every_function_op() {
        // What the op needs and nothing more, pasted before the user's code.
        let source = format!("{}\n{}", wgsl::function(&op), user_shader(&op));
        let module = ctx
            .catching(|| {
                ctx.device()
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some("user shader"),
                        source: wgpu::ShaderSource::Wgsl(source.into()),
                    })
            })
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        check("plain string", &op, run(ctx, module));
    }
}

#[test]
fn matmul_epilogue_with_the_whole_library() {
    let ctx = gpu_or_skip!();
    // The whole library, once, with several ops' epilogues in one module.
    let ops = [
        Activation::Gelu {
            approximate: GeluApproximate::None,
        },
        Activation::Silu,
    ];
    for op in ops {
        let source = format!("{}\n{}", wgsl::source(), user_shader(&op));
        let module = ctx
            .device()
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("user shader"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        check("whole library", &op, run(ctx, module));
    }
}

#[cfg(feature = "naga-oil")]
#[test]
fn matmul_epilogue_through_naga_oil_for_every_op() {
    use naga_oil::compose::{Composer, NagaModuleDescriptor, ShaderType};
    use std::borrow::Cow;
    let ctx = gpu_or_skip!();
    let mut composer = Composer::default();
    if let Err(e) = composer.add_composable_module(wgsl::naga_oil::composable_module(false)) {
        panic!("{}", e.emit_to_string(&composer));
    }
    for op in every_function_op() {
        let names = wgsl::functions(&op);
        let body = user_shader(&op);
        // Bevy style: import the functions by name from the module.
        let source = format!(
            "#import {}::{{{}, {}}}\n{body}",
            wgsl::naga_oil::IMPORT_PATH,
            names.forward,
            names.backward
        );
        let module = composer
            .make_naga_module(NagaModuleDescriptor {
                source: &source,
                file_path: "user.wgsl",
                shader_type: ShaderType::Wgsl,
                ..Default::default()
            })
            .unwrap_or_else(|e| panic!("{op}: {}", e.emit_to_string(&composer)));
        let module = ctx
            .catching(|| {
                ctx.device()
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some("user shader (naga_oil)"),
                        source: wgpu::ShaderSource::Naga(Cow::Owned(module)),
                    })
            })
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        check("naga_oil", &op, run(ctx, module));
    }
}

//! The floor under issue 10's speed targets on this adapter: what the
//! plainest formula of each exp-family op costs, written the way a
//! framework without accuracy promises writes it (one builtin `exp`, `log`
//! or `tanh` per op, WGSL's own precision: 3 + 2|x| ulps for `exp`, no care
//! for tails, overflow or NaN), and the library's op beside it, both against
//! an identity kernel of the same harness, timed in alternation in one run
//! over 2^24 f32 (typical values, as in `throughput`).
//!
//! The plain kernels are bare vec4 kernels (`dst[i] = f(src[i])`, one vec4
//! per invocation, workgroups of 256, the index from `workgroup_id` and
//! `local_invocation_index` as in the library: llvmpipe runs a kernel
//! indexed by `global_invocation_id` about 15% slower), the layout of the
//! library's elementwise kernels; the first row of each direction is the
//! plain identity (`x`, and for the backward `g` reading `x` as relu
//! backward does), the baseline of every ratio, and the library's identity
//! or relu backward beside it shows that the harness is the library's equal.
//! Where the plain formula is below a target, no formula built on the same
//! builtins meets it on this adapter; the last column is what the library's
//! accuracy (its own exp, tails, NaN and overflow handling) costs over the
//! plain formula.
//!
//! A bench, not a test: `cargo bench --bench floor`. Environment:
//! `BENCH_REPEATS` (default 7), `WGPU_BACKEND` / `WGPU_ADAPTER_NAME`.

use std::time::Duration;

mod common;
use common::{env_or, time_against, typical};

use wgpu_activations::{Activation, BackwardBuffers, ForwardBuffers, GpuContext};

/// Dispatches per timed submission, as in `throughput`.
const OPS_PER_SUBMISSION: usize = 8;
const WORKGROUP_SIZE: u32 = 256;

/// A plain kernel: what it computes, the library's op it stands for
/// (timed beside it), its WGSL body computing `y` from `x` (vec4), and
/// whether it is a backward (reads the gradient `g` too: three tensors).
struct Plain {
    name: &'static str,
    op: &'static str,
    body: &'static str,
    backward: bool,
}

const fn plain(name: &'static str, op: &'static str, body: &'static str, backward: bool) -> Plain {
    Plain {
        name,
        op,
        body,
        backward,
    }
}

const KERNELS: &[Plain] = &[
    plain("x", "identity", "let y = x;", false),
    plain("exp(x)", "", "let y = exp(x);", false),
    plain("x / (1 + |x|)", "softsign", "let y = x / (1.0 + abs(x));", false),
    plain("1 / (1 + exp(-x))", "sigmoid", "let y = 1.0 / (1.0 + exp(-x));", false),
    plain("tanh(x) (builtin)", "tanh", "let y = tanh(x);", false),
    plain(
        "x > 0 ? x : exp(x) - 1",
        "elu",
        "let y = select(exp(x) - 1.0, x, x > vec4<f32>(0.0));",
        false,
    ),
    plain("x / (1 + exp(-x))", "silu", "let y = x / (1.0 + exp(-x));", false),
    plain("log(1 + exp(x))", "softplus", "let y = log(1.0 + exp(x));", false),
    plain(
        "x tanh(log(1 + exp(x)))",
        "mish",
        "let y = x * tanh(log(1.0 + exp(x)));",
        false,
    ),
    plain(
        "x Phi(x), erf by Abramowitz-Stegun 7.1.26 (1.5e-7 absolute)",
        "gelu",
        "let z = abs(x) * 0.70710678;
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erf_abs = 1.0 - poly * exp(-z * z);
    let y = 0.5 * x * (1.0 + select(erf_abs, -erf_abs, x < vec4<f32>(0.0)));",
        false,
    ),
    // Reads x too (a select that never takes it), as relu backward does.
    plain(
        "g (x read)",
        "relu",
        "let y = select(g, x, g == vec4<f32>(1.2345e-31));",
        true,
    ),
    plain(
        "g s (1 - s), s = 1 / (1 + exp(-x))",
        "sigmoid",
        "let s = 1.0 / (1.0 + exp(-x));
    let y = g * s * (1.0 - s);",
        true,
    ),
    plain(
        "g (x > 0 ? 1 : exp(x))",
        "elu",
        "let y = g * select(exp(x), vec4<f32>(1.0), x > vec4<f32>(0.0));",
        true,
    ),
    plain(
        "g s (1 + x (1 - s))",
        "silu",
        "let s = 1.0 / (1.0 + exp(-x));
    let y = g * s * (1.0 + x * (1.0 - s));",
        true,
    ),
    plain(
        "g (1 - tanh(x)^2)",
        "tanh",
        "let t = tanh(x);
    let y = g * (1.0 - t * t);",
        true,
    ),
];

fn kernel_source(body: &str, with_gradient: bool) -> String {
    let (gradient_binding, gradient_load) = if with_gradient {
        (
            "@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;\n",
            "    let g = grad[i];\n",
        )
    } else {
        ("", "")
    };
    format!(
        "@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
{gradient_binding}
@compute @workgroup_size({WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) local: u32) {{
    let i = workgroup.x * {WORKGROUP_SIZE}u + local;
    if (i >= arrayLength(&dst)) {{
        return;
    }}
    let x = src[i];
{gradient_load}    {body}
    dst[i] = y;
}}
"
    )
}

fn main() {
    let ctx = GpuContext::new().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let repeats = env_or("BENCH_REPEATS", 7).max(1);
    let len = 1usize << 24;
    let shape = [len];
    let device = ctx.device();

    let data = typical(len);
    let x = ctx.upload(&data, &shape).expect("upload");
    let g = ctx
        .upload(&data.iter().rev().copied().collect::<Vec<_>>(), &shape)
        .expect("upload");
    let out = ctx.empty(&shape).expect("allocate");

    println!("adapter: {}", ctx.adapter_description());
    println!(
        "elements: 2^24 f32 (64 MiB per buffer), typical values, median of {repeats} x {OPS_PER_SUBMISSION} dispatches\n"
    );

    let groups = (len as u32 / 4).div_ceil(WORKGROUP_SIZE);
    let pipelines: Vec<_> = KERNELS
        .iter()
        .map(|kernel| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.name),
                source: wgpu::ShaderSource::Wgsl(
                    kernel_source(kernel.body, kernel.backward).into(),
                ),
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
            let mut entries = vec![
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: x.buffer().as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: out.buffer().as_entire_binding(),
                },
            ];
            if kernel.backward {
                entries.push(wgpu::BindGroupEntry {
                    binding: 2,
                    resource: g.buffer().as_entire_binding(),
                });
            }
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.name),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            (pipeline, bind_group)
        })
        .collect();
    let record = |index: usize| {
        let (pipeline, bind_group) = &pipelines[index];
        move |encoder: &mut wgpu::CommandEncoder| {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
    };
    let library = |op: Activation, backward: bool| {
        let (ctx, shape, x, g, out) = (&ctx, &shape, &x, &g, &out);
        move |encoder: &mut wgpu::CommandEncoder| {
            if backward {
                ctx.encode_backward(
                    encoder,
                    &op,
                    shape,
                    &BackwardBuffers {
                        input: x.view(),
                        grad_output: g.view(),
                        grad_input: out.view(),
                        weight: None,
                        grad_weight: None,
                        from_output: false,
                        first_element: 0,
                    },
                )
            } else {
                ctx.encode_forward(
                    encoder,
                    &op,
                    shape,
                    &ForwardBuffers {
                        input: x.view(),
                        output: out.view(),
                        weight: None,
                        first_element: 0,
                    },
                )
            }
            .expect("encode");
        }
    };
    let baseline_index = |backward: bool| {
        KERNELS
            .iter()
            .position(|kernel| kernel.backward == backward)
            .expect("the first kernel of each direction is its identity")
    };
    let forward_identity = record(baseline_index(false));
    let backward_identity = record(baseline_index(true));

    println!(
        "Ratios: throughput against the plain identity kernel (forward; the backward rows against the plain\n\
         `g` kernel that reads x too, as relu backward does), the median of alternating rounds.\n"
    );
    println!("| op | dir | plain formula | plain: time | plain: ratio | library: time | library: ratio | library time / plain time |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    for (index, kernel) in KERNELS.iter().enumerate() {
        let baseline: &dyn Fn(&mut wgpu::CommandEncoder) = if kernel.backward {
            &backward_identity
        } else {
            &forward_identity
        };
        let (plain_time, plain_ratio) =
            time_against(&ctx, OPS_PER_SUBMISSION, repeats, baseline, &record(index));
        let ms = |time: Duration| format!("{:.3} ms", time.as_secs_f64() * 1e3);
        let (op_name, library_columns) = if kernel.op.is_empty() {
            ("-", "- | - | -".to_string())
        } else {
            let op = Activation::from_name(kernel.op).expect("op");
            let (time, ratio) = time_against(
                &ctx,
                OPS_PER_SUBMISSION,
                repeats,
                baseline,
                &library(op, kernel.backward),
            );
            (
                kernel.op,
                format!(
                    "{} | {ratio:.2}x | {:.2}",
                    ms(time),
                    time.as_secs_f64() / plain_time.as_secs_f64()
                ),
            )
        };
        let direction = if kernel.backward {
            "backward"
        } else {
            "forward"
        };
        println!(
            "| {op_name} | {direction} | `{}` | {} | {plain_ratio:.2}x | {library_columns} |",
            kernel.name,
            ms(plain_time)
        );
    }
}

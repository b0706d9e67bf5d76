//! End-to-end tests of the `wgpu-activations` binary: every command, on the
//! GPU (lavapipe will do), against the library's own (non-streamed) results
//! and the CPU reference, and every bad input the tool must refuse with one
//! line on stderr, a non-zero exit and no output file.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use npyz::WriterBuilder;
use wgpu_activations::cpu::{self, Denormals};
use wgpu_activations::{f16, Activation, DType, GpuContext};

use common::Direction;

const CHUNK_ENV: &str = "WGPU_ACTIVATIONS_CHUNK_ELEMENTS";
const F16_VIA_F32_ENV: &str = "WGPU_ACTIVATIONS_F16_VIA_F32";

// ---------------------------------------------------------------- helpers

/// A runtime directory for the Vulkan loader (it complains on stderr
/// without one), shared by every run.
fn runtime_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"))
        .path()
}

/// Runs the binary with `args` and extra environment `env`.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-activations"));
    command
        .args(args)
        .env_remove(CHUNK_ENV)
        .env_remove(F16_VIA_F32_ENV);
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        command.env("XDG_RUNTIME_DIR", runtime_dir());
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tool's stderr, without what a driver may print on its own (newer
/// Mesa warns that lavapipe is not conformant).
fn tool_stderr(output: &Output) -> String {
    text(&output.stderr)
        .lines()
        .filter(|line| !line.contains("not a conformant") && !line.starts_with("MESA"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Asserts a successful run with nothing on stderr.
#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        text(&output.stderr)
    );
    assert_eq!(tool_stderr(output), "", "stderr of a successful run");
}

/// Asserts a failed run: non-zero exit, one stderr line starting with
/// `error:` that contains `needle`, no panic.
#[track_caller]
fn assert_error(output: &Output, needle: &str) -> String {
    let stderr = tool_stderr(output);
    assert!(
        !output.status.success(),
        "expected a failure, stderr: {stderr}"
    );
    assert_ne!(output.status.code(), Some(101), "exit code of a panic");
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("RUST_BACKTRACE")
            && !stderr.contains("internal error"),
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "expected {needle:?} in: {stderr}"
    );
    assert_eq!(text(&output.stdout), "", "stdout of a failed run");
    lines[0].to_string()
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temporary directory"))
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).to_string_lossy().into_owned()
    }

    /// Every file name in the directory.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// An .npy file written by hand: header text `dict`, then `data`.
fn raw_npy(path: &str, dict: &str, data: &[u8]) {
    let unpadded = 10 + dict.len() + 1;
    let padding = unpadded.div_ceil(64) * 64 - unpadded;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    fs::write(path, bytes).unwrap();
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn npy_dict(descr: &str, fortran: bool, shape: &[usize]) -> String {
    format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {}, }}",
        if fortran { "True" } else { "False" },
        shape_text(shape)
    )
}

/// An f32 array written with npyz (an independent writer).
fn write_f32(path: &str, data: &[f32], shape: &[usize]) {
    let file = fs::File::create(path).unwrap();
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .unwrap();
    writer.extend(data.iter().copied()).unwrap();
    writer.finish().unwrap();
}

fn write_f16(path: &str, data: &[f16], shape: &[usize]) {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_npy(path, &npy_dict("<f2", false, shape), &bytes);
}

/// An array read back with npyz's header parser: dtype, shape, data bytes.
fn read_npy(path: &str) -> (String, Vec<usize>, Vec<u8>) {
    let mut file = std::io::BufReader::new(fs::File::open(path).unwrap());
    let header = npyz::NpyHeader::from_reader(&mut file).unwrap();
    assert_eq!(header.order(), npyz::Order::C);
    let descr = match header.dtype() {
        npyz::DType::Plain(ty) => ty.to_string(),
        other => panic!("unexpected dtype {other:?}"),
    };
    let shape = header.shape().iter().map(|&d| d as usize).collect();
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut data).unwrap();
    (descr, shape, data)
}

fn read_f32(path: &str, shape: &[usize]) -> Vec<f32> {
    let (descr, actual_shape, data) = read_npy(path);
    assert_eq!(descr, "<f4", "{path}");
    assert_eq!(actual_shape, shape, "{path}");
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{path}");
    values
}

fn read_f16(path: &str, shape: &[usize]) -> Vec<f16> {
    let (descr, actual_shape, data) = read_npy(path);
    assert_eq!(descr, "<f2", "{path}");
    assert_eq!(actual_shape, shape, "{path}");
    let values: Vec<f16> = data
        .chunks_exact(2)
        .map(|b| f16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{path}");
    values
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn bits16(values: &[f16]) -> Vec<u16> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// `len` values spread over [-12, 12], with the special values and kinks
/// up front.
fn data(len: usize, salt: usize) -> Vec<f32> {
    let special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        3.0,
        -3.0,
        0.5,
        -0.5,
        6.0,
        1e-30,
        -88.5,
    ];
    (0..len)
        .map(|i| {
            if i < special.len() && salt == 0 {
                special[i]
            } else {
                let k = (i + 31 * salt).wrapping_mul(2_654_435_761) % 24_001;
                (k as f32 - 12_000.0) / 1000.0
            }
        })
        .collect()
}

/// The library's forward result for f32 data, in one piece.
fn library_forward(
    ctx: &GpuContext,
    op: &Activation,
    x: &[f32],
    shape: &[usize],
    w: Option<&[f32]>,
) -> Vec<f32> {
    let x = ctx.upload(x, shape).unwrap();
    let w = w.map(|w| ctx.upload(w, &[w.len()]).unwrap());
    ctx.download(&ctx.forward(op, &x, w.as_ref()).unwrap())
        .unwrap()
}

/// The library's backward result: (grad_input, grad_weight).
fn library_backward(
    ctx: &GpuContext,
    op: &Activation,
    x: &[f32],
    g: &[f32],
    shape: &[usize],
    w: Option<&[f32]>,
) -> (Vec<f32>, Option<Vec<f32>>) {
    let x = ctx.upload(x, shape).unwrap();
    let g = ctx.upload(g, shape).unwrap();
    let w = w.map(|w| ctx.upload(w, &[w.len()]).unwrap());
    let grads = ctx.backward(op, &x, &g, w.as_ref()).unwrap();
    (
        ctx.download(&grads.grad_input).unwrap(),
        grads.grad_weight.map(|gw| ctx.download(&gw).unwrap()),
    )
}

/// The environment that sets the chunk size (none for "").
fn chunk_env(chunk: &str) -> Vec<(&'static str, &str)> {
    if chunk.is_empty() {
        vec![]
    } else {
        vec![(CHUNK_ENV, chunk)]
    }
}

fn has_f16(ctx: &GpuContext) -> bool {
    ctx.device().features().contains(wgpu::Features::SHADER_F16)
}

// ------------------------------------------------------------------ list

#[test]
fn list_shows_every_op_with_its_parameters_and_defaults() {
    let output = run(&["list"]);
    assert_ok(&output);
    let stdout = text(&output.stdout);
    // One entry per op; a long parameter list puts the formula on an
    // indented second line.
    let mut lines: Vec<String> = Vec::new();
    for line in stdout.lines() {
        match lines.last_mut() {
            Some(entry) if line.starts_with(' ') => entry.push_str(line),
            _ => lines.push(line.to_string()),
        }
    }
    // The row ops (softmax and its family) follow, with `--dim DIM`.
    assert_eq!(
        lines.len(),
        Activation::OPS.len()
            + wgpu_activations::RowActivation::OPS.len()
            + wgpu_activations::GatedActivation::OPS.len(),
        "{stdout}"
    );
    for (info, line) in Activation::OPS.iter().zip(&lines) {
        assert!(line.starts_with(&format!("{} ", info.name)), "{line}");
        for p in info.parameters {
            let default = info.default_value(p.name).unwrap().to_text();
            let flag = format!("--{} {}", p.name.replace('_', "-"), default);
            assert!(line.contains(&flag), "{line} lacks {flag}");
        }
        assert!(line.contains(info.summary), "{line}");
    }
    assert!(stdout.contains("--negative-slope 0.01"));
    assert!(stdout.contains("--approximate none"));
    assert!(stdout.contains("--min-val -1.0 --max-val 1.0"));
    let prelu = lines.iter().find(|l| l.starts_with("prelu ")).unwrap();
    assert!(prelu.contains("--weight W.npy"), "{prelu}");
}

/// The README's `wgpu-activations list` blocks are the real output: its
/// lines in order, `...` standing for one or more lines left out, the
/// block's end the output's end unless it ends with `...`; `| tail -N`
/// compares with the last N lines.
#[test]
fn readme_list_output_is_the_real_output() {
    let output = run(&["list"]);
    assert_ok(&output);
    let stdout = text(&output.stdout);
    let real: Vec<&str> = stdout.lines().collect();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut blocks = 0;
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(command) = line.strip_prefix("$ wgpu-activations list") else {
            continue;
        };
        blocks += 1;
        let expected = match command.strip_prefix(" | tail -") {
            Some(count) => &real[real.len() - count.parse::<usize>().unwrap()..],
            None if command.is_empty() => &real[..],
            None => panic!("README: unexpected command {line:?}"),
        };
        let shown: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with("$ "))
            .collect();
        let mut at = 0;
        let mut skipping = false;
        for shown_line in &shown {
            if *shown_line == "..." {
                skipping = true;
                continue;
            }
            if skipping {
                let found = expected[at + 1..]
                    .iter()
                    .position(|l| l == shown_line)
                    .unwrap_or_else(|| panic!("README's {line:?} shows {shown_line:?}, not in the real output:\n{stdout}"));
                at += 1 + found;
                skipping = false;
            } else {
                assert_eq!(
                    expected.get(at),
                    Some(shown_line),
                    "README's {line:?}; real output:\n{stdout}"
                );
            }
            at += 1;
        }
        if !skipping {
            assert_eq!(
                at,
                expected.len(),
                "README's {line:?} ends early; real output:\n{stdout}"
            );
        }
    }
    assert_eq!(blocks, 2, "README's list blocks");
}

#[test]
fn usage_errors_are_one_line() {
    assert_error(&run(&["frobnicate"]), "frobnicate");
    assert_error(&run(&["forward"]), "missing OP");
    assert_error(&run(&["forward", "relu", "x.npy"]), "missing OUTPUT.npy");
    assert_error(
        &run(&["backward", "relu", "x.npy", "g.npy"]),
        "missing GRAD_INPUT.npy",
    );
    assert_error(
        &run(&["forward", "relu", "a", "b", "c"]),
        "unexpected argument 'c'",
    );
    assert_error(
        &run(&["forward", "relu", "-q", "a", "b"]),
        "unknown option '-q'",
    );
    let help = run(&["forward", "--help"]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("INPUT.npy"));
}

// --------------------------------------------------------------- adapter

#[test]
fn adapter_flag_lists_and_picks_adapters() {
    let ctx = gpu_or_skip!();
    let name = &ctx.adapter_info().name;
    let output = run(&["--adapter"]);
    assert_ok(&output);
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("adapters:\n"), "{stdout}");
    assert!(stdout.contains(name.as_str()), "{stdout}");
    assert!(stdout.contains("chosen (default): "), "{stdout}");

    // Picked by a piece of its name, in any case.
    let piece = name.chars().take(4).collect::<String>().to_uppercase();
    let output = run(&["--adapter", &piece]);
    assert_ok(&output);
    assert!(
        text(&output.stdout).contains(&format!("chosen (--adapter {piece}): {name}")),
        "{}",
        text(&output.stdout)
    );

    let dir = Dir::new();
    let (x, y) = (dir.path("x.npy"), dir.path("y.npy"));
    write_f32(&x, &[1.0, -1.0], &[2]);
    for args in [
        vec!["--adapter", &piece, "forward", "relu", &x, &y],
        vec!["forward", "relu", &x, &y, "--adapter", &piece],
    ] {
        assert_ok(&run(&args));
        assert_eq!(read_f32(&y, &[2]), [1.0, 0.0]);
    }
    // --verbose names the adapter on stderr, stdout stays empty.
    let output = run(&["forward", "relu", "--verbose", &x, &y]);
    assert!(output.status.success());
    assert!(text(&output.stderr).contains(&format!("adapter: {name}")));
    assert_eq!(text(&output.stdout), "");

    fs::remove_file(&y).unwrap();
    let output = run(&[
        "--adapter",
        "no-such-adapter-anywhere",
        "forward",
        "relu",
        &x,
        &y,
    ]);
    assert_error(&output, "no-such-adapter-anywhere");
    assert!(!Path::new(&y).exists());
    let output = run_with(
        &["forward", "relu", &x, &y],
        &[("WGPU_ADAPTER_NAME", "no-such-adapter-anywhere")],
    );
    assert_error(&output, "no GPU adapter");
    // No output, and no temporary file left beside it.
    assert_eq!(dir.names(), ["x.npy"]);
}

// ------------------------------------------------------- forward, backward

/// The ops and parameters run through forward and backward.
fn op_cases() -> Vec<(Vec<&'static str>, Activation)> {
    let parse = |name, params: &[(&str, &str)]| Activation::parse(name, params).unwrap();
    vec![
        (vec!["relu"], Activation::Relu),
        (
            vec!["leaky_relu", "--negative-slope", "0.2"],
            parse("leaky_relu", &[("negative_slope", "0.2")]),
        ),
        (
            vec!["elu", "--alpha=0.5"],
            parse("elu", &[("alpha", "0.5")]),
        ),
        (
            vec!["gelu", "--approximate", "tanh"],
            parse("gelu", &[("approximate", "tanh")]),
        ),
        (
            vec!["hardtanh", "--min-val", "-2", "--max-val", "3"],
            parse("hardtanh", &[("min_val", "-2"), ("max_val", "3")]),
        ),
        (
            vec!["softplus", "--beta", "2", "--threshold", "15"],
            parse("softplus", &[("beta", "2"), ("threshold", "15")]),
        ),
        (
            vec!["rrelu", "--training", "--seed", "7"],
            parse("rrelu", &[("training", "true"), ("seed", "7")]),
        ),
        (
            vec!["threshold", "--threshold", "0.5", "--value", "-4"],
            parse("threshold", &[("threshold", "0.5"), ("value", "-4")]),
        ),
        (vec!["mish"], Activation::Mish),
    ]
}

#[test]
fn forward_equals_the_library_and_the_reference() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [257];
    let x = data(257, 0);
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    write_f32(&xp, &x, &shape);
    for (args, op) in op_cases() {
        let mut full = vec!["forward"];
        full.extend(&args);
        full.extend([xp.as_str(), yp.as_str()]);
        assert_ok(&run(&full));
        let y = read_f32(&yp, &shape);
        let expected = library_forward(ctx, &op, &x, &shape, None);
        assert_eq!(bits(&y), bits(&expected), "{args:?}");
        common::assert_matches(
            &format!("{args:?}"),
            &op,
            Direction::Forward,
            &shape,
            &x,
            &[],
            None,
            &y,
            op.forward_tolerance(),
        );
    }
}

#[test]
fn backward_equals_the_library_and_the_reference() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [2, 3, 5];
    let x = data(30, 0);
    let g = data(30, 1);
    let (xp, gp, dxp) = (dir.path("x.npy"), dir.path("g.npy"), dir.path("dx.npy"));
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    for (args, op) in op_cases() {
        let mut full = vec!["backward"];
        full.extend(&args);
        full.extend([xp.as_str(), gp.as_str(), dxp.as_str()]);
        assert_ok(&run(&full));
        let dx = read_f32(&dxp, &shape);
        let (expected, _) = library_backward(ctx, &op, &x, &g, &shape, None);
        assert_eq!(bits(&dx), bits(&expected), "{args:?}");
        common::assert_matches(
            &format!("{args:?}"),
            &op,
            Direction::Backward,
            &shape,
            &x,
            &g,
            None,
            &dx,
            op.backward_tolerance(),
        );
    }
}

#[test]
fn rrelu_training_is_deterministic_and_independent_of_chunking() {
    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [4, 75];
    let x: Vec<f32> = data(300, 2).iter().map(|v| -v.abs() - 0.5).collect();
    let g = data(300, 3);
    let (xp, gp) = (dir.path("x.npy"), dir.path("g.npy"));
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    let forward = |seed: &str, out: &str, chunk: Option<&str>| {
        let out = dir.path(out);
        let env: Vec<(&str, &str)> = chunk.map(|c| (CHUNK_ENV, c)).into_iter().collect();
        let args = [
            "forward",
            "rrelu",
            "--training",
            "true",
            "--seed",
            seed,
            &xp,
            &out,
        ];
        assert_ok(&run_with(&args, &env));
        read_f32(&out, &shape)
    };
    let a = forward("42", "a.npy", None);
    let b = forward("42", "b.npy", None);
    let c = forward("42", "c.npy", Some("7"));
    let d = forward("43", "d.npy", None);
    assert_eq!(bits(&a), bits(&b), "same seed, same slopes");
    assert_eq!(bits(&a), bits(&c), "chunked in 7s");
    assert_ne!(bits(&a), bits(&d), "another seed");
    // Every slope within [lower, upper] (defaults 1/8, 1/3).
    for (y, x) in a.iter().zip(&x) {
        let slope = y / x;
        assert!((0.124..=0.334).contains(&slope), "{x} -> {y}");
    }
    // Backward draws the same slopes.
    let dx = dir.path("dx.npy");
    for chunk in ["1000", "13"] {
        let args = [
            "backward",
            "rrelu",
            "--seed=42",
            "--training",
            &xp,
            &gp,
            &dx,
        ];
        assert_ok(&run_with(&args, &[(CHUNK_ENV, chunk)]));
        let grad = read_f32(&dx, &shape);
        for i in 0..300 {
            let slope = a[i] / x[i];
            let expected = g[i] * slope;
            assert!(
                (grad[i] - expected).abs() <= 1e-6 * expected.abs().max(1.0),
                "element {i}: {} vs {expected}",
                grad[i]
            );
        }
    }
}

#[test]
fn streaming_in_many_chunks_equals_one_chunk_bit_for_bit() {
    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [7, 143]; // 1001 elements: not a multiple of 4
    let n = 1001;
    let x = data(n, 0);
    let g = data(n, 5);
    let xh: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
    let gh: Vec<f16> = g.iter().map(|&v| f16::from_f32(v)).collect();
    let (xp, gp, xhp, ghp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("xh.npy"),
        dir.path("gh.npy"),
    );
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    write_f16(&xhp, &xh, &shape);
    write_f16(&ghp, &gh, &shape);
    let out = dir.path("out.npy");
    let results = |args: &[&str], half: bool| -> Vec<Vec<u32>> {
        ["", "1", "3", "64", "1000"]
            .iter()
            .map(|chunk| {
                let env = chunk_env(chunk);
                let mut full = args.to_vec();
                full.push(&out);
                assert_ok(&run_with(&full, &env));
                if half {
                    bits16(&read_f16(&out, &shape))
                        .into_iter()
                        .map(u32::from)
                        .collect()
                } else {
                    bits(&read_f32(&out, &shape))
                }
            })
            .collect()
    };
    for (args, half) in [
        (vec!["forward", "silu", &xp], false),
        (vec!["backward", "gelu", &xp, &gp], false),
        (vec!["forward", "elu", "--alpha", "0.7", &xhp], true),
        (vec!["backward", "hardswish", &xhp, &ghp], true),
    ] {
        let all = results(&args, half);
        for (i, chunked) in all.iter().enumerate().skip(1) {
            assert_eq!(chunked, &all[0], "{args:?}, chunking #{i}");
        }
    }
}

#[test]
fn prelu_per_channel_weight_and_its_gradient() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    // 4 channels of 5 elements, batch 3: a period of 20.
    let shape = [3, 4, 5];
    let n = 60;
    let x = data(n, 0);
    let g = data(n, 4);
    let w = [0.25f32, -0.5, 2.0, 0.0];
    let (xp, gp, wp) = (dir.path("x.npy"), dir.path("g.npy"), dir.path("w.npy"));
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    write_f32(&wp, &w, &[4]);
    let (yp, dxp, dwp) = (dir.path("y.npy"), dir.path("dx.npy"), dir.path("dw.npy"));

    let op = Activation::Prelu;
    let y_ref = cpu::forward(&op, &x, &shape, Some(&w), Denormals::Preserve).unwrap();
    let dx_ref = cpu::backward(&op, &x, &g, &shape, Some(&w), Denormals::Preserve).unwrap();
    let dw_ref = cpu::prelu_weight_grad(&x, &g, &shape, &w, Denormals::Preserve).unwrap();
    let (dx_lib, dw_lib) = library_backward(ctx, &op, &x, &g, &shape, Some(&w));
    let dw_lib = dw_lib.unwrap();
    let y_lib = library_forward(ctx, &op, &x, &shape, Some(&w));
    assert_eq!(bits(&y_lib), bits(&y_ref));

    // Unchunked; whole periods (40); channel blocks gathered (7, 13); pieces
    // of one block (3, 1).
    for chunk in ["", "40", "13", "7", "3", "1"] {
        let env = chunk_env(chunk);
        assert_ok(&run_with(
            &["forward", "prelu", "--weight", &wp, &xp, &yp],
            &env,
        ));
        assert_eq!(
            bits(&read_f32(&yp, &shape)),
            bits(&y_lib),
            "chunk {chunk:?}"
        );
        let args = [
            "backward",
            "prelu",
            "--weight",
            &wp,
            &xp,
            &gp,
            &dxp,
            "--grad-weight",
            &dwp,
        ];
        assert_ok(&run_with(&args, &env));
        assert_eq!(
            bits(&read_f32(&dxp, &shape)),
            bits(&dx_lib),
            "chunk {chunk:?}"
        );
        assert_eq!(
            bits(&read_f32(&dxp, &shape)),
            bits(&dx_ref),
            "chunk {chunk:?}"
        );
        let dw = read_f32(&dwp, &[4]);
        if chunk.is_empty() {
            // One chunk: the library's own reduction.
            assert_eq!(bits(&dw), bits(&dw_lib));
        }
        let scale: Vec<f64> = (0..4)
            .map(|c| {
                (0..n)
                    .filter(|i| (i / 5) % 4 == c)
                    .map(|i| f64::from(x[i] * g[i]).abs())
                    .filter(|v| v.is_finite())
                    .sum::<f64>()
            })
            .collect();
        for c in 0..4 {
            let (a, b) = (f64::from(dw[c]), f64::from(dw_ref[c]));
            if b.is_nan() {
                assert!(a.is_nan(), "channel {c}: {a} vs NaN (chunk {chunk:?})");
            } else if b.is_infinite() {
                assert_eq!(a, b, "channel {c} (chunk {chunk:?})");
            } else {
                let tolerance = 1e-6 * scale[c].max(1.0);
                assert!(
                    (a - b).abs() <= tolerance,
                    "channel {c}: {a} vs {b} (chunk {chunk:?})"
                );
            }
        }
    }

    // A shared weight of shape (1,), a 2-D input (inner 1), and the weight's
    // shape kept in the gradient's file.
    let w1 = [0.125f32];
    let w1p = dir.path("w1.npy");
    write_f32(&w1p, &w1, &[1]);
    let shape2 = [15, 4];
    let x2 = data(60, 7);
    let g2 = data(60, 8);
    let (x2p, g2p) = (dir.path("x2.npy"), dir.path("g2.npy"));
    write_f32(&x2p, &x2, &shape2);
    write_f32(&g2p, &g2, &shape2);
    for (weight, wpath, wshape) in [(&w1[..], &w1p, vec![1usize]), (&w[..], &wp, vec![4])] {
        for chunk in ["1000", "6", "1"] {
            let args = [
                "backward",
                "prelu",
                "--weight",
                wpath,
                &x2p,
                &g2p,
                &dxp,
                "--grad-weight",
                &dwp,
            ];
            assert_ok(&run_with(&args, &[(CHUNK_ENV, chunk)]));
            let dx = read_f32(&dxp, &shape2);
            let expected =
                cpu::backward(&op, &x2, &g2, &shape2, Some(weight), Denormals::Preserve).unwrap();
            assert_eq!(bits(&dx), bits(&expected), "chunk {chunk}");
            let dw = read_f32(&dwp, &wshape);
            let dw_ref =
                cpu::prelu_weight_grad(&x2, &g2, &shape2, weight, Denormals::Preserve).unwrap();
            for (a, b) in dw.iter().zip(&dw_ref) {
                assert!(
                    (a.is_nan() && b.is_nan())
                        || a == b
                        || (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{a} vs {b} (chunk {chunk})"
                );
            }
        }
    }
}

#[test]
fn float16_round_trip() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [3, 43]; // 129 elements: odd
    let x: Vec<f16> = data(129, 0).iter().map(|&v| f16::from_f32(v)).collect();
    let g: Vec<f16> = data(129, 9).iter().map(|&v| f16::from_f32(v)).collect();
    let (xp, gp, yp) = (dir.path("x.npy"), dir.path("g.npy"), dir.path("y.npy"));
    write_f16(&xp, &x, &shape);
    write_f16(&gp, &g, &shape);
    let cases = [
        (
            vec!["hardtanh", "--min-val", "-2"],
            Activation::parse("hardtanh", &[("min_val", "-2")]).unwrap(),
        ),
        (vec!["gelu"], Activation::parse("gelu", &[]).unwrap()),
        (vec!["sigmoid"], Activation::Sigmoid),
    ];
    // Natively where the adapter has SHADER_F16, and through f32.
    let paths: &[&[(&str, &str)]] = if has_f16(ctx) {
        &[&[], &[(F16_VIA_F32_ENV, "1")]]
    } else {
        &[&[]]
    };
    for env in paths {
        for (args, op) in &cases {
            let mut full = vec!["forward"];
            full.extend(args);
            full.extend([xp.as_str(), yp.as_str()]);
            assert_ok(&run_with(&full, env));
            let y = read_f16(&yp, &shape);
            if env.is_empty() && has_f16(ctx) {
                let xt = ctx.upload_f16(&x, &shape).unwrap();
                let expected = ctx
                    .download_f16(&ctx.forward(op, &xt, None).unwrap())
                    .unwrap();
                assert_eq!(bits16(&y), bits16(&expected), "{args:?}");
            }
            common::assert_matches(
                &format!("{args:?} {env:?}"),
                op,
                Direction::Forward,
                &shape,
                &x,
                &[],
                None,
                &y,
                op.forward_tolerance_for(DType::F16),
            );

            let mut full = vec!["backward"];
            full.extend(args);
            full.extend([xp.as_str(), gp.as_str(), yp.as_str()]);
            assert_ok(&run_with(&full, env));
            let dx = read_f16(&yp, &shape);
            common::assert_matches(
                &format!("{args:?} {env:?}"),
                op,
                Direction::Backward,
                &shape,
                &x,
                &g,
                None,
                &dx,
                op.backward_tolerance_for(DType::F16),
            );
        }
    }
    // PReLU in f16 with its weight gradient, 3 channels, in chunks.
    let shape = [43, 3];
    write_f16(&xp, &x, &shape);
    write_f16(&gp, &g, &shape);
    let w: Vec<f16> = [0.25f32, -0.5, 1.5]
        .iter()
        .map(|&v| f16::from_f32(v))
        .collect();
    let wp = dir.path("w.npy");
    let dwp = dir.path("dw.npy");
    write_f16(&wp, &w, &[3]);
    let args = [
        "backward",
        "prelu",
        "--weight",
        &wp,
        &xp,
        &gp,
        &yp,
        "--grad-weight",
        &dwp,
    ];
    assert_ok(&run_with(&args, &[(CHUNK_ENV, "20")]));
    let dx = read_f16(&yp, &shape);
    common::assert_matches(
        "prelu f16",
        &Activation::Prelu,
        Direction::Backward,
        &shape,
        &x,
        &g,
        Some(&w),
        &dx,
        Activation::Prelu.backward_tolerance_for(DType::F16),
    );
    let dw = read_f16(&dwp, &[3]);
    let dw_ref = cpu::prelu_weight_grad(&x, &g, &shape, &w, Denormals::Preserve).unwrap();
    for (a, b) in dw.iter().zip(&dw_ref) {
        let (a, b) = (a.to_f64(), b.to_f64());
        assert!(
            (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 2e-2 * b.abs().max(1.0),
            "{a} vs {b}"
        );
    }
}

#[test]
fn arrays_of_any_shape() {
    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let (xp, gp, yp) = (dir.path("x.npy"), dir.path("g.npy"), dir.path("y.npy"));
    for shape in [
        vec![],
        vec![0],
        vec![0, 3],
        vec![3],
        vec![257],
        vec![2, 3, 4],
        vec![1, 1, 1, 5],
    ] {
        let n: usize = shape.iter().product();
        let x = data(n, 3);
        let g = data(n, 6);
        write_f32(&xp, &x, &shape);
        write_f32(&gp, &g, &shape);
        assert_ok(&run(&["forward", "relu6", &xp, &yp]));
        let y = read_f32(&yp, &shape);
        let expected =
            cpu::forward(&Activation::Relu6, &x, &shape, None, Denormals::Preserve).unwrap();
        assert_eq!(bits(&y), bits(&expected), "{shape:?}");
        assert_ok(&run(&["backward", "relu6", &xp, &gp, &yp]));
        let dx = read_f32(&yp, &shape);
        let expected = cpu::backward(
            &Activation::Relu6,
            &x,
            &g,
            &shape,
            None,
            Denormals::Preserve,
        )
        .unwrap();
        assert_eq!(bits(&dx), bits(&expected), "{shape:?}");
    }
    // The output may replace the input.
    write_f32(&xp, &[-1.0, 2.0, -3.0], &[3]);
    assert_ok(&run(&["forward", "relu", &xp, &xp]));
    assert_eq!(read_f32(&xp, &[3]), [0.0, 2.0, 0.0]);
}

// ------------------------------------------------------------ bad inputs

/// Every bad input of the issue: exit != 0, one line, no output file, and
/// a file already at the output path left as it was.
#[test]
fn bad_inputs_fail_cleanly_without_output() {
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    let shape = [2, 3];
    let x = data(6, 1);
    write_f32(&p("x.npy"), &x, &shape);
    write_f32(&p("g.npy"), &x, &shape);
    write_f32(&p("g_other_shape.npy"), &x, &[3, 2]);
    write_f32(&p("w3.npy"), &[0.1, 0.2, 0.3], &[3]);
    write_f32(&p("w2.npy"), &[0.1, 0.2], &[2]);
    write_f16(&p("g16.npy"), &[f16::ONE; 6], &shape);
    write_f16(&p("w3_f16.npy"), &[f16::ONE; 3], &[3]);
    raw_npy(
        &p("w3_fortran.npy"),
        &npy_dict("<f4", true, &[3]),
        &[0u8; 12],
    );
    raw_npy(
        &p("w3_truncated.npy"),
        &npy_dict("<f4", false, &[3]),
        &[0u8; 8],
    );
    fs::write(
        p("text.npy"),
        "just some text, long enough to have a header\n",
    )
    .unwrap();
    fs::write(p("tiny.npy"), b"\x93NUM").unwrap();
    fs::write(p("empty.npy"), "").unwrap();
    let f32_bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_npy(
        &p("truncated.npy"),
        &npy_dict("<f4", false, &shape),
        &f32_bytes[..22],
    );
    let full = fs::read(p("x.npy")).unwrap();
    fs::write(p("truncated_header.npy"), &full[..40]).unwrap();
    raw_npy(&p("f64.npy"), &npy_dict("<f8", false, &[6]), &[0u8; 48]);
    raw_npy(&p("i32.npy"), &npy_dict("<i4", false, &[6]), &[0u8; 24]);
    raw_npy(
        &p("big_endian.npy"),
        &npy_dict(">f4", false, &[6]),
        &[0u8; 24],
    );
    raw_npy(
        &p("fortran.npy"),
        &npy_dict("<f4", true, &shape),
        &f32_bytes,
    );
    raw_npy(
        &p("structured.npy"),
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }",
        &f32_bytes,
    );
    raw_npy(
        &p("huge_shape.npy"),
        &npy_dict("<f4", false, &[1 << 40, 1 << 40]),
        &f32_bytes,
    );
    raw_npy(
        &p("garbage_header.npy"),
        "{'descr': '<f4', 'shape': (6,",
        &f32_bytes,
    );

    let (xp, gp, out, w3, w2) = (
        p("x.npy"),
        p("g.npy"),
        p("out.npy"),
        p("w3.npy"),
        p("w2.npy"),
    );
    let missing = p("missing.npy");
    let bad_file = |name: &str| p(name);
    let cases: Vec<(Vec<String>, &str)> = {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let fwd = |file: &str| s(&["forward", "relu", file, &out]);
        vec![
            (s(&["forward", "reluu", &xp, &out]), "unknown op 'reluu'"),
            (
                s(&["forward", "Leaky-ReLU", &xp, &out]),
                "did you mean 'leaky_relu'",
            ),
            (
                s(&["forward", "relu", "--alpha", "1", &xp, &out]),
                "relu has no parameter --alpha",
            ),
            (
                s(&["forward", "leaky_relu", "--slope", "1", &xp, &out]),
                "its parameters: --negative-slope",
            ),
            (
                s(&[
                    "forward",
                    "leaky_relu",
                    "--negative-slope",
                    "nan",
                    &xp,
                    &out,
                ]),
                "negative_slope",
            ),
            (
                s(&[
                    "forward",
                    "leaky_relu",
                    "--negative-slope",
                    "steep",
                    &xp,
                    &out,
                ]),
                "cannot read negative_slope",
            ),
            (
                s(&["forward", "elu", "--alpha", "1", "--alpha", "2", &xp, &out]),
                "given twice",
            ),
            (
                s(&[
                    "forward",
                    "hardtanh",
                    "--min-val",
                    "1",
                    "--max-val",
                    "0",
                    &xp,
                    &out,
                ]),
                "max_val",
            ),
            (
                s(&["forward", "gelu", "--approximate", "sigmoid", &xp, &out]),
                "approximate",
            ),
            (
                s(&["forward", "rrelu", "--lower", "-1", &xp, &out]),
                "lower",
            ),
            (s(&["forward", "rrelu", "--seed", "1.5", &xp, &out]), "seed"),
            (s(&["forward", "prelu", &xp, &out]), "needs --weight"),
            (
                s(&["forward", "relu", "--weight", &w3, &xp, &out]),
                "only for prelu",
            ),
            (fwd(&missing), "No such file"),
            (fwd(&bad_file("text.npy")), "not an .npy file"),
            (fwd(&bad_file("tiny.npy")), "not an .npy file"),
            (fwd(&bad_file("empty.npy")), "not an .npy file"),
            (fwd(&bad_file("truncated.npy")), "truncated"),
            (fwd(&bad_file("truncated_header.npy")), "truncated"),
            (fwd(&bad_file("f64.npy")), "unsupported dtype <f8"),
            (fwd(&bad_file("i32.npy")), "unsupported dtype <i4"),
            (fwd(&bad_file("big_endian.npy")), "big-endian"),
            (fwd(&bad_file("fortran.npy")), "Fortran"),
            (fwd(&bad_file("structured.npy")), "structured"),
            (fwd(&bad_file("huge_shape.npy")), "too many elements"),
            (
                fwd(&bad_file("garbage_header.npy")),
                "malformed .npy header",
            ),
            (fwd(&dir.0.path().to_string_lossy()), "directory"),
            (
                s(&[
                    "backward",
                    "relu",
                    &xp,
                    &bad_file("g_other_shape.npy"),
                    &out,
                ]),
                "must be the same",
            ),
            (
                s(&["backward", "relu", &xp, &bad_file("g16.npy"), &out]),
                "float16",
            ),
            (
                s(&["backward", "relu", &xp, &missing, &out]),
                "No such file",
            ),
            (
                s(&["forward", "prelu", "--weight", &w2, &xp, &out]),
                "prelu weight has 2 values; expected 1 or 3",
            ),
            (
                s(&[
                    "backward",
                    "prelu",
                    "--weight",
                    &w2,
                    &xp,
                    &gp,
                    &out,
                    "--grad-weight",
                    &p("gw.npy"),
                ]),
                "prelu weight has 2 values",
            ),
            (
                s(&["forward", "prelu", "--weight", &missing, &xp, &out]),
                "No such file",
            ),
            (
                s(&["forward", "prelu", "--weight", &p("w3_f16.npy"), &xp, &out]),
                "the weight must have the input's dtype",
            ),
            (
                s(&[
                    "forward",
                    "prelu",
                    "--weight",
                    &p("w3_fortran.npy"),
                    &xp,
                    &out,
                ]),
                "Fortran",
            ),
            (
                s(&[
                    "forward",
                    "prelu",
                    "--weight",
                    &p("w3_truncated.npy"),
                    &xp,
                    &out,
                ]),
                "truncated",
            ),
            (
                s(&[
                    "backward",
                    "relu",
                    &xp,
                    &gp,
                    &out,
                    "--grad-weight",
                    &p("gw.npy"),
                ]),
                "only for prelu",
            ),
            (
                s(&[
                    "backward",
                    "prelu",
                    "--weight",
                    &w3,
                    &xp,
                    &gp,
                    &out,
                    "--grad-weight",
                    &out,
                ]),
                "same file",
            ),
            (
                s(&["forward", "relu", &xp, &p("no/such/dir/out.npy")]),
                "cannot create",
            ),
            (
                s(&["forward", "relu", &xp, &format!("{out}/")]),
                "not a file name",
            ),
            (
                s(&[
                    "backward",
                    "prelu",
                    "--weight",
                    &w3,
                    &xp,
                    &gp,
                    &out,
                    "--grad-weight",
                    &format!("{}/", p("gw.npy")),
                ]),
                "not a file name",
            ),
        ]
    };
    let before = dir.names();
    for (args, needle) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args);
        let line = assert_error(&output, needle);
        assert!(!Path::new(&out).exists(), "{args:?} left {out}: {line}");
        assert!(!Path::new(&p("gw.npy")).exists(), "{args:?}");
        assert_eq!(dir.names(), before, "{args:?} left files behind");

        // An existing output file is left as it was.
        fs::write(&out, "precious").unwrap();
        let again = run(&args);
        assert_error(&again, needle);
        assert_eq!(fs::read_to_string(&out).unwrap(), "precious", "{args:?}");
        fs::remove_file(&out).unwrap();
    }
}

/// A failure after the outputs were begun (here: no such adapter) leaves
/// files already at both output paths as they were, and no temporary file.
#[test]
fn late_failures_keep_existing_outputs() {
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    let shape = [2, 3, 2];
    write_f32(&p("x.npy"), &data(12, 0), &shape);
    write_f32(&p("g.npy"), &data(12, 1), &shape);
    write_f32(&p("w.npy"), &[0.1, 0.2, 0.3], &[3]);
    fs::write(p("dx.npy"), "precious dx").unwrap();
    fs::write(p("dw.npy"), "precious dw").unwrap();
    let before = dir.names();
    let (xp, gp, wp, dxp, dwp) = (p("x.npy"), p("g.npy"), p("w.npy"), p("dx.npy"), p("dw.npy"));
    let args = [
        "backward",
        "prelu",
        "--weight",
        &wp,
        &xp,
        &gp,
        &dxp,
        "--grad-weight",
        &dwp,
    ];
    let mut cases = vec![(
        ("WGPU_ADAPTER_NAME", "no-such-adapter-anywhere"),
        "no-such-adapter-anywhere",
    )];
    // Past the device's creation: a bad chunk size, found when streaming.
    if common::gpu().is_some() {
        cases.push(((CHUNK_ENV, "zero"), "expected a positive number"));
    }
    for (env, needle) in cases {
        assert_error(&run_with(&args, &[env]), needle);
        assert_eq!(fs::read_to_string(&dxp).unwrap(), "precious dx");
        assert_eq!(fs::read_to_string(&dwp).unwrap(), "precious dw");
        assert_eq!(dir.names(), before);
    }
}

/// Where the files are fine but the output cannot be made, nothing is left
/// behind either (the temporary file is removed).
#[test]
fn unwritable_output_leaves_nothing() {
    let dir = Dir::new();
    let xp = dir.path("x.npy");
    write_f32(&xp, &[1.0], &[1]);
    let sub = PathBuf::from(dir.path("sub"));
    fs::create_dir(&sub).unwrap();
    // The output path is a directory: refused before anything is written.
    let output = run(&["forward", "relu", &xp, &sub.to_string_lossy()]);
    assert_error(&output, "is a directory");
    assert_eq!(fs::read_dir(&sub).unwrap().count(), 0);
    assert_eq!(dir.names(), ["sub", "x.npy"]);
}

// ------------------------------------------- .npy headers as numpy reads them

/// An .npy file of format `version` (1, 2 or 3) with header text `dict`,
/// padded as numpy pads it, then `data`. Versions 1 and 2 take the text as
/// Latin-1 (every character below U+0100), version 3 as UTF-8.
fn versioned_npy(path: &str, version: u8, dict: &str, data: &[u8]) {
    let mut header: Vec<u8> = if version == 3 {
        dict.as_bytes().to_vec()
    } else {
        dict.chars()
            .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 header"))
            .collect()
    };
    let prefix = if version == 1 { 10 } else { 12 };
    let unpadded = prefix + header.len() + 1;
    header.resize(header.len() + unpadded.div_ceil(64) * 64 - unpadded, b' ');
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend([version, 0]);
    if version == 1 {
        bytes.extend((header.len() as u16).to_le_bytes());
    } else {
        bytes.extend((header.len() as u32).to_le_bytes());
    }
    bytes.extend(header);
    bytes.extend(data);
    fs::write(path, bytes).unwrap();
}

/// Files numpy 2.4 reads as little-endian float32 or float16 arrays in C
/// order, whatever their spelling, are read as numpy reads them: same
/// dtype, same shape, same data.
#[test]
fn every_spelling_numpy_reads_is_read() {
    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    let f = "'fortran_order': False";
    // (header, version, float16, shape); numpy 2.4.6's reading of each.
    let cases: Vec<(String, u8, bool, Vec<usize>)> = vec![
        (
            format!("{{'descr': 'f4', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '<f', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '=f4', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '|f4', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': 'float32', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': u'<f4', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '()f4', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': 'f +04', {f}, 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '<e', {f}, 'shape': (2, 3)}}"),
            1,
            true,
            vec![2, 3],
        ),
        (
            format!("{{'descr': 'half', {f}, 'shape': (2, 3)}}"),
            2,
            true,
            vec![2, 3],
        ),
        (
            format!("{{'descr': '\\x17', {f}, 'shape': (2, 3)}}"),
            3,
            true,
            vec![2, 3],
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (+5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (0x2, 0b11)}}"),
            1,
            false,
            vec![2, 3],
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (5L,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("# saved by hand\n{{'descr': '<f4', # float32\n {f},\n 'shape': (5,)}}"),
            1,
            false,
            vec![5],
        ),
        (
            format!("{{\"de\" 'scr': '''<f4''',\r\n {f}, 'shape': ((5),)}} # ünïcode ✓"),
            3,
            false,
            vec![5],
        ),
        (
            format!("\x0c  {{'descr': '<f4', {f}, 'shape': (5,)}}"),
            2,
            false,
            vec![5],
        ),
    ];
    for (dict, version, half, shape) in cases {
        let n: usize = shape.iter().product();
        let x = data(n, 5);
        if half {
            let x16: Vec<f16> = x.iter().map(|&v| f16::from_f32(v)).collect();
            let bytes: Vec<u8> = x16.iter().flat_map(|v| v.to_le_bytes()).collect();
            versioned_npy(&xp, version, &dict, &bytes);
            assert_ok(&run(&["forward", "relu", &xp, &yp]));
            let y = read_f16(&yp, &shape);
            let expected: Vec<f16> = x16.iter().map(|v| v.max(f16::ZERO)).collect();
            assert_eq!(bits16(&y), bits16(&expected), "{dict:?}");
        } else {
            let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
            versioned_npy(&xp, version, &dict, &bytes);
            assert_ok(&run(&["forward", "relu", &xp, &yp]));
            let expected: Vec<f32> = x.iter().map(|v| v.max(0.0)).collect();
            assert_eq!(bits(&read_f32(&yp, &shape)), bits(&expected), "{dict:?}");
        }
    }
}

/// Files numpy 2.4 refuses, or reads otherwise than the tool would, are
/// refused with one line, before any output exists.
#[test]
fn headers_numpy_refuses_are_refused() {
    let dir = Dir::new();
    let (xp, out) = (dir.path("x.npy"), dir.path("out.npy"));
    let f = "'fortran_order': False";
    let data = [0u8; 64];
    let dims65 = format!("({})", "1, ".repeat(65));
    let long = format!(
        "{{'descr': '<f4', {f}, 'shape': (5,)}} #{}",
        "x".repeat(10_000)
    );
    // (header, version, what the message says)
    let cases: Vec<(String, u8, &str)> = vec![
        // numpy reads float32 (3,), the old reader read float16 (5,).
        (
            format!("{{'descr': '<f2', {f}, 'shape': (5,), 'descr': '<f4', 'shape': (3,)}}"),
            1,
            "the key 'descr' twice",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (3,), 'sha' 'pe': (2,)}}"),
            1,
            "the key 'shape' twice",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (3,), 'x': 1}}"),
            1,
            "the key 'x'",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': {dims65}}}"),
            1,
            "at most 64",
        ),
        (long, 2, "max_header_size"),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (05,)}}"),
            1,
            "leading zeros",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': [5]}}"),
            1,
            "not a tuple",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (True,)}}"),
            1,
            "not a tuple of integers",
        ),
        (
            format!("{{'descr': '\\<f4', {f}, 'shape': (5,)}}"),
            1,
            "unsupported dtype",
        ),
        (
            format!("{{'descr': '<f4 ', {f}, 'shape': (5,)}}"),
            1,
            "unsupported dtype",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (0, 4611686018427387904)}}"),
            1,
            "too many elements",
        ),
        (
            format!("{{'descr': '<f2', {f}, 'shape': (4611686018427387904, 0)}}"),
            1,
            "too many elements",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (5l,)}}"),
            1,
            "run into a name",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (5L,)}}"),
            3,
            "run into a name",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (5,)}};"),
            1,
            "malformed .npy header",
        ),
        (
            format!("\n  {{'descr': '<f4', {f}, 'shape': (5,)}}"),
            1,
            "indented",
        ),
        (
            format!("{{'descr': '<f4', {f}, 'shape': (5,)}}\0"),
            1,
            "NUL",
        ),
        (
            format!("{{'descr': '1f4', {f}, 'shape': (5,)}}"),
            1,
            "subarray",
        ),
        (
            format!("{{'descr': ('<f4', ()), {f}, 'shape': (5,)}}"),
            1,
            "subarray",
        ),
        (
            format!("{{'descr': b'<f4', {f}, 'shape': (5,)}}"),
            1,
            "not a type string",
        ),
    ];
    for (dict, version, needle) in &cases {
        versioned_npy(&xp, *version, dict, &data);
        let output = run(&["forward", "relu", &xp, &out]);
        assert_error(&output, needle);
        assert_eq!(dir.names(), ["x.npy"], "{dict:?}");
    }
    // Format versions other than 1.0, 2.0 and 3.0.
    versioned_npy(
        &xp,
        1,
        &format!("{{'descr': '<f4', {f}, 'shape': (5,)}}"),
        &data,
    );
    let mut bytes = fs::read(&xp).unwrap();
    bytes[6] = 4;
    fs::write(&xp, &bytes).unwrap();
    assert_error(&run(&["forward", "relu", &xp, &out]), "version 4.0");
    assert_eq!(dir.names(), ["x.npy"]);
}

/// A header or a file name holding terminal control sequences (set the
/// window title, clear the screen, reorder the text) is shown escaped.
#[test]
fn error_lines_escape_control_sequences() {
    let dir = Dir::new();
    let out = dir.path("out.npy");
    let evil = "\x1b]0;owned\x07\x1b[2J\x1b[31m\u{9b}1m\u{202e}";
    let f = "'fortran_order': False";
    let headers = [
        format!("{{'descr': '{evil}', {f}, 'shape': (5,)}}"),
        format!("{{'descr': '<f4', {f}, 'shape': (5,{evil})}}"),
        format!("{{'descr': '<f4', {f}, 'shape': (5,), '{evil}': 1}}"),
        format!("{{'descr': '<f4', {f}, 'shape': [{evil}]}}"),
    ];
    let is_raw = |c: char| c.is_control() || c == '\u{202e}';
    for (i, dict) in headers.iter().enumerate() {
        let xp = dir.path(&format!("x{i}.npy"));
        versioned_npy(&xp, 3, dict, &[0u8; 20]);
        let output = run(&["forward", "relu", &xp, &out]);
        let line = assert_error(&output, "");
        assert!(!line.chars().any(is_raw), "{line:?}");
        assert!(
            line.contains("\\x1b") || line.contains("malformed"),
            "{line}"
        );
    }
    // In a file name (from the command line, or a directory listing).
    let named = dir.path(&format!("{evil}.npy"));
    let output = run(&["forward", "relu", &named, &out]);
    let line = assert_error(&output, "No such file");
    assert!(!line.chars().any(is_raw), "{line:?}");
    assert!(line.contains("\\x1b]0;owned\\x07\\x1b[2J"), "{line}");
    assert!(!Path::new(&out).exists());
}

// ------------------------------------------------------------------ signals

/// A float32 .npy file of zeros of `shape`, its data a hole in the file:
/// made at once, whatever its size, and taking no disk space.
fn sparse_f32(path: &str, shape: &[usize]) {
    raw_npy(path, &npy_dict("<f4", false, shape), &[]);
    let file = fs::OpenOptions::new().append(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    let data: u64 = shape.iter().map(|&d| d as u64).product::<u64>() * 4;
    file.set_len(len + data).unwrap();
}

/// A running tool, killed (SIGKILL) if the test ends first.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
impl Running {
    /// The tool run as `command` (`XDG_RUNTIME_DIR` set if missing), with
    /// SIGINT, SIGTERM and SIGHUP at their default action whatever this
    /// test runs under (`nohup cargo test` would pass SIGHUP on ignored).
    fn spawn(command: &mut Command) -> Running {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            command.env("XDG_RUNTIME_DIR", runtime_dir());
        }
        // SAFETY: between fork and exec only `signal`, which is
        // async-signal-safe, is called.
        unsafe {
            command.pre_exec(|| {
                for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        Running(command.spawn().expect("the binary runs"))
    }

    /// Waits until `outputs` hidden temporary outputs exist in `dir` and
    /// data is being written (past the 1 MiB write buffer): true, or false
    /// if the run ended first.
    fn wait_streaming(&mut self, dir: &Dir, outputs: usize) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let temps: Vec<String> = dir
                .names()
                .into_iter()
                .filter(|n| n.starts_with(".wgpu-activations-"))
                .collect();
            let written = temps
                .iter()
                .filter_map(|t| fs::metadata(dir.path(t)).ok())
                .map(|m| m.len())
                .max()
                .unwrap_or(0);
            if temps.len() == outputs && written >= 1 << 20 {
                return true;
            }
            if self.0.try_wait().unwrap().is_some() {
                return false;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no temporary output after 120 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Sends `signal` (`INT`, `TERM`, `HUP`) to the run.
    fn signal(&self, signal: &str) {
        let pid = self.0.id().to_string();
        let kill = Command::new("sh")
            .args(["-c", &format!("kill -s {signal} \"$1\""), "sh", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// Waits for the run to end (`what` says what should have ended it).
    fn wait_end(&mut self, what: &str) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what} did not end the run"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// Interrupted by SIGINT (Ctrl-C), SIGTERM or SIGHUP while streaming a
/// large input, the tool removes its hidden temporary outputs, leaves the
/// files at the output paths as they were, and dies of the signal (a shell
/// reports 130, 143, 129). Both a single output and the two outputs of a
/// backward pass with --grad-weight.
#[cfg(unix)]
#[test]
fn signals_remove_temporary_outputs() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    // 256 MiB of input, 64 channels for prelu.
    let shape = [1024, 64, 1024];
    sparse_f32(&p("x.npy"), &shape);
    sparse_f32(&p("g.npy"), &shape);
    write_f32(&p("w.npy"), &[0.25; 64], &[64]);
    fs::write(p("y.npy"), "precious y").unwrap();
    fs::write(p("gw.npy"), "precious gw").unwrap();
    let before = dir.names();
    let temporaries = || -> Vec<String> {
        dir.names()
            .into_iter()
            .filter(|n| n.starts_with(".wgpu-activations-"))
            .collect()
    };
    let (x, g, w, y, gw) = (p("x.npy"), p("g.npy"), p("w.npy"), p("y.npy"), p("gw.npy"));
    let forward = vec!["forward", "relu", &x, &y];
    let backward = vec![
        "backward",
        "prelu",
        "--weight",
        &w,
        &x,
        &g,
        &y,
        "--grad-weight",
        &gw,
    ];
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        for args in [&forward, &backward] {
            let outputs = if args == &forward { 1 } else { 2 };
            // Smaller chunks (a slower run) if the run ends before the
            // signal reaches it.
            let mut signalled = false;
            for chunk in ["65536", "8192", "1024"] {
                let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-activations"));
                command
                    .args(args)
                    .env(CHUNK_ENV, chunk)
                    .env_remove(F16_VIA_F32_ENV)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let mut running = Running::spawn(&mut command);
                if running.wait_streaming(&dir, outputs) {
                    running.signal(signal);
                }
                let status = running.wait_end(&format!("SIG{signal}"));
                // Files at the outputs: as they were, or (a run that ended
                // before the signal) complete.
                assert_eq!(temporaries(), Vec::<String>::new(), "SIG{signal} {args:?}");
                if status.success() {
                    fs::write(&y, "precious y").unwrap();
                    fs::write(&gw, "precious gw").unwrap();
                    continue;
                }
                assert_eq!(status.signal(), Some(number), "SIG{signal}: {status:?}");
                assert_eq!(fs::read_to_string(&y).unwrap(), "precious y");
                assert_eq!(fs::read_to_string(&gw).unwrap(), "precious gw");
                assert_eq!(dir.names(), before);
                signalled = true;
                break;
            }
            assert!(signalled, "every run ended before SIG{signal} reached it");
        }
    }
}

// ------------------------------------------------------------- row ops
// softmax, log_softmax, softmin and softmax2d: `--dim`, the backward's
// first file the forward's output, pieces of whole rows.

use wgpu_activations::RowActivation;

/// The library's row op forward (`backward`: from `y` and `g`) in one piece.
fn library_row(
    ctx: &GpuContext,
    op: &RowActivation,
    shape: &[usize],
    x: &[f32],
    g: Option<&[f32]>,
) -> Vec<f32> {
    let x = ctx.upload(x, shape).unwrap();
    let out = match g {
        None => ctx.row_forward(op, &x).unwrap(),
        Some(g) => ctx
            .row_backward(op, &x, &ctx.upload(g, shape).unwrap())
            .unwrap(),
    };
    ctx.download(&out).unwrap()
}

#[test]
fn row_ops_forward_and_backward_equal_the_library_in_any_pieces() {
    let Some(ctx) = common::gpu() else { return };
    let dir = Dir::new();
    let shape = [4usize, 3, 5, 2];
    let len: usize = shape.iter().product();
    let x: Vec<f32> = data(len, 1);
    let g: Vec<f32> = data(len, 2).iter().map(|v| v / 4.0).collect();
    let (xp, gp, yp, gxp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("y.npy"),
        dir.path("gx.npy"),
    );
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    for (name, dim) in [
        ("softmax", "1"),
        ("log_softmax", "-1"),
        ("softmin", "0"),
        ("softmax", "-2"),
        ("softmax2d", ""),
    ] {
        let op = if dim.is_empty() {
            RowActivation::parse(name, &[]).unwrap()
        } else {
            RowActivation::parse(name, &[("dim", dim)]).unwrap()
        };
        let y_lib = library_row(ctx, &op, &shape, &x, None);
        // The backward takes the forward's output.
        let gx_lib = library_row(ctx, &op, &shape, &y_lib, Some(&g));
        let dim_args: Vec<&str> = if dim.is_empty() {
            vec![]
        } else {
            vec!["--dim", dim]
        };
        // One piece, and pieces of 7 elements (a block of whole rows is
        // larger: one block per piece) and of 61 (several blocks).
        for chunk in [None, Some("7"), Some("61")] {
            let env: Vec<(&str, &str)> = chunk.iter().map(|c| (CHUNK_ENV, *c)).collect();
            let mut args = vec!["forward", name];
            args.extend(&dim_args);
            args.extend([xp.as_str(), yp.as_str()]);
            assert_ok(&run_with(&args, &env));
            let y = read_f32(&yp, &shape);
            assert_eq!(bits(&y), bits(&y_lib), "{op} forward, chunk {chunk:?}");
            let mut args = vec!["backward", name];
            args.extend(&dim_args);
            args.extend([yp.as_str(), gp.as_str(), gxp.as_str()]);
            assert_ok(&run_with(&args, &env));
            let gx = read_f32(&gxp, &shape);
            assert_eq!(bits(&gx), bits(&gx_lib), "{op} backward, chunk {chunk:?}");
        }
        // Against the CPU twin, within the op's tolerance.
        let y = read_f32(&yp, &shape);
        let reference =
            cpu::softmax::row_forward_reference(&op, &x, &shape, Denormals::Preserve).unwrap();
        let tolerance = op.forward_tolerance();
        assert!(
            (0..len).all(|i| tolerance.accepts(y[i], reference[i], 0.0)),
            "{op}"
        );
    }
}

#[test]
fn row_ops_on_float16_files() {
    let Some(ctx) = common::gpu() else { return };
    let dir = Dir::new();
    let shape = [2usize, 3, 4, 5];
    let len: usize = shape.iter().product();
    let x: Vec<f16> = data(len, 3)
        .iter()
        .map(|&v| f16::from_f32(v / 2.0))
        .collect();
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    write_f16(&xp, &x, &shape);
    let op = RowActivation::Softmax2d;
    let tolerance = op.forward_tolerance_for(DType::F16);
    let reference =
        cpu::softmax::row_forward_reference(&op, &x, &shape, Denormals::Preserve).unwrap();
    // On the GPU in f16 (where the adapter has it), and as f32.
    let mut runs = vec![vec![]];
    if has_f16(ctx) {
        runs.push(vec![(F16_VIA_F32_ENV, "1")]);
    }
    for env in runs {
        assert_ok(&run_with(&["forward", "softmax2d", &xp, &yp], &env));
        let y = read_f16(&yp, &shape);
        assert!(
            (0..len).all(|i| tolerance.accepts(y[i], reference[i], 0.0)),
            "{env:?}"
        );
    }
}

#[test]
fn row_ops_on_empty_dimensions_write_empty_arrays() {
    if common::gpu().is_none() {
        return;
    }
    let dir = Dir::new();
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    write_f32(&xp, &[], &[3, 0]);
    assert_ok(&run(&["forward", "log_softmax", "--dim", "1", &xp, &yp]));
    assert_eq!(read_f32(&yp, &[3, 0]), Vec::<f32>::new());
}

#[test]
fn row_op_errors_are_one_line_without_output() {
    let dir = Dir::new();
    let (xp, gp, out) = (dir.path("x.npy"), dir.path("g.npy"), dir.path("out.npy"));
    write_f32(&xp, &data(12, 1), &[4, 3]);
    write_f32(&gp, &data(12, 2), &[4, 3]);
    let s = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            s(&["forward", "softmax", &xp, &out]),
            "softmax needs --dim DIM",
        ),
        (
            s(&["forward", "softmax", "--dim", "2", &xp, &out]),
            "dim 2 is out of range for a tensor of shape [4, 3] (expected -2 to 1)",
        ),
        (
            s(&["forward", "log_softmax", "--dim", "-3", &xp, &out]),
            "dim -3 is out of range",
        ),
        (
            s(&["forward", "softmax", "--dim", "one", &xp, &out]),
            "cannot read dim = 'one' as an integer",
        ),
        (
            s(&["forward", "softmax", "--dim", "1", "--dim", "0", &xp, &out]),
            "--dim is given twice",
        ),
        (
            s(&["forward", "softmax", "--axis", "1", &xp, &out]),
            "softmax has no parameter --axis; its parameters: --dim",
        ),
        (
            s(&["forward", "softmax2d", "--dim", "1", &xp, &out]),
            "softmax2d takes no parameters",
        ),
        (
            s(&["forward", "softmax2d", &xp, &out]),
            "softmax2d expects a 3-D (C, H, W) or 4-D (N, C, H, W) input; got shape [4, 3]",
        ),
        (
            s(&[
                "forward", "softmax", "--dim", "1", "--weight", &gp, &xp, &out,
            ]),
            "takes no weight",
        ),
        (
            s(&["backward", "softmin", "--dim", "0", &xp, &gp]),
            "missing GRAD_INPUT.npy (OUTPUT.npy is the forward's output",
        ),
        (
            s(&["forward", "Softmax", "--dim", "1", &xp, &out]),
            "did you mean 'softmax'",
        ),
        (
            s(&["forward", "log-softmax", "--dim", "1", &xp, &out]),
            "did you mean 'log_softmax'",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args);
        assert_error(&output, needle);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!Path::new(&out).exists(), "{args:?} left an output");
    }
    // The help says what the backward's first file is.
    let help = run(&["backward", "--help"]);
    for needle in [
        "forward's OUTPUT as the first file",
        "backward ROW_OP --dim DIM OUTPUT.npy GRAD_OUTPUT.npy GRAD_INPUT.npy",
    ] {
        assert!(
            text(&help.stdout).contains(needle),
            "{}",
            text(&help.stdout)
        );
    }
    let list = text(&run(&["list"]).stdout);
    for info in RowActivation::OPS {
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("{} ", info.name)) && l.contains(info.summary)),
            "{list}"
        );
    }
    assert!(
        list.lines()
            .any(|l| l.starts_with("softmax ") && l.contains(" --dim DIM ")),
        "{list}"
    );
}

// glu, silu_and_mul, ...: `--dim` (glu) and `--threshold` (fatrelu_and_mul),
// an output with the split dimension halved, a backward whose gradient has
// the output's shape, pieces of whole pairs of halves.

use wgpu_activations::GatedActivation;

#[test]
fn gated_ops_forward_and_backward_equal_the_library_in_any_pieces() {
    let Some(ctx) = common::gpu() else { return };
    let dir = Dir::new();
    let shape = [4usize, 4, 6];
    let len: usize = shape.iter().product();
    let x: Vec<f32> = data(len, 3);
    let (xp, gp, yp, gxp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("y.npy"),
        dir.path("gx.npy"),
    );
    write_f32(&xp, &x, &shape);
    for (name, flags) in [
        ("glu", vec![]),
        ("glu", vec!["--dim", "1"]),
        ("glu", vec!["--dim", "0"]),
        ("silu_and_mul", vec![]),
        ("gelu_and_mul", vec![]),
        ("gelu_tanh_and_mul", vec![]),
        ("relu_and_mul", vec![]),
        ("fatrelu_and_mul", vec!["--threshold", "0.5"]),
    ] {
        let pairs: Vec<(&str, &str)> = flags
            .chunks(2)
            .map(|p| (p[0].trim_start_matches("--"), p[1]))
            .collect();
        let op = GatedActivation::parse(name, &pairs).unwrap();
        let out_shape = op.output_shape(&shape).unwrap();
        let g: Vec<f32> = data(len / 2, 4);
        write_f32(&gp, &g, &out_shape);
        let xt = ctx.upload(&x, &shape).unwrap();
        let y_lib = ctx.download(&ctx.gated_forward(&op, &xt).unwrap()).unwrap();
        let gt = ctx.upload(&g, &out_shape).unwrap();
        let gx_lib = ctx
            .download(&ctx.gated_backward(&op, &xt, &gt).unwrap())
            .unwrap();
        // One piece, pieces of one pair block (7 < a block), of 50.
        for chunk in [None, Some("7"), Some("50")] {
            let env: Vec<(&str, &str)> = chunk.iter().map(|c| (CHUNK_ENV, *c)).collect();
            let mut args = vec!["forward", name];
            args.extend(&flags);
            args.extend([xp.as_str(), yp.as_str()]);
            assert_ok(&run_with(&args, &env));
            let y = read_f32(&yp, &out_shape);
            assert_eq!(bits(&y), bits(&y_lib), "{op} forward, chunk {chunk:?}");
            let mut args = vec!["backward", name];
            args.extend(&flags);
            args.extend([xp.as_str(), gp.as_str(), gxp.as_str()]);
            assert_ok(&run_with(&args, &env));
            let gx = read_f32(&gxp, &shape);
            assert_eq!(bits(&gx), bits(&gx_lib), "{op} backward, chunk {chunk:?}");
        }
        // Against the CPU twin: act(gate) within the activation's
        // tolerance, times the value, rounded once.
        let y = read_f32(&yp, &out_shape);
        let geometry = op.geometry(&shape).unwrap();
        let close = y.iter().enumerate().all(|(o, &v)| {
            let (i, h) = cpu::gated::pair_index(&geometry, o);
            let (gate, value) = match op.gate() {
                wgpu_activations::gated::Half::First => (x[i], x[i + h]),
                wgpu_activations::gated::Half::Second => (x[i + h], x[i]),
            };
            cpu::gated::accepts_product(&op.activation(), op.forward_tolerance(), gate, value, v)
        });
        assert!(close, "{op}: {y:?}");
    }
}

#[test]
fn gated_ops_on_float16_files() {
    let Some(ctx) = common::gpu() else { return };
    let dir = Dir::new();
    let shape = [5usize, 8];
    let x: Vec<f16> = data(40, 5).iter().map(|&v| f16::from_f32(v)).collect();
    let (xp, yp) = (dir.path("x.npy"), dir.path("y.npy"));
    write_f16(&xp, &x, &shape);
    assert_ok(&run(&["forward", "silu_and_mul", &xp, &yp]));
    let y = read_f16(&yp, &[5, 4]);
    if has_f16(ctx) {
        let xt = ctx.upload_f16(&x, &shape).unwrap();
        let y_lib = ctx
            .download_f16(
                &ctx.gated_forward(&GatedActivation::SiluAndMul, &xt)
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(bits16(&y), bits16(&y_lib));
    }
    let reference = cpu::gated::forward(
        &GatedActivation::SiluAndMul,
        &x,
        &shape,
        Denormals::Preserve,
    )
    .unwrap();
    assert!(y
        .iter()
        .zip(&reference)
        .all(|(a, b)| wgpu_activations::ulp_distance(*a, *b) <= 1));
}

#[test]
fn gated_errors_are_one_line_and_leave_no_output() {
    let dir = Dir::new();
    let (xp, odd, yp) = (dir.path("x.npy"), dir.path("odd.npy"), dir.path("y.npy"));
    write_f32(&xp, &data(12, 1), &[2, 6]);
    write_f32(&odd, &data(10, 1), &[2, 5]);
    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (
            vec!["forward", "glu", "--dim", "2", &xp, &yp],
            "dim 2 is out of range",
            2,
        ),
        (
            vec!["forward", "glu", "--dim", "x", &xp, &yp],
            "cannot read dim",
            2,
        ),
        (
            vec!["forward", "silu_and_mul", &odd, &yp],
            "which is odd",
            2,
        ),
        (
            vec!["forward", "glu", "--dim", "1", &odd, &yp],
            "has size 5",
            2,
        ),
        (
            vec!["forward", "silu_and_mul", "--dim", "0", &xp, &yp],
            "no parameter --dim",
            2,
        ),
        (
            vec!["forward", "fatrelu_and_mul", "--threshold", "nan", &xp, &yp],
            "threshold",
            2,
        ),
        (
            vec!["backward", "silu_and_mul", &xp, &xp, &yp],
            "must have the output's shape",
            1,
        ),
        (
            vec!["backward", "relu_and_mul", &xp, &xp],
            "missing GRAD_INPUT.npy",
            2,
        ),
    ];
    for (args, needle, code) in cases {
        let output = run(&args);
        assert_error(&output, needle);
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        assert!(!Path::new(&yp).exists(), "{args:?} left an output");
    }
    assert_eq!(dir.names(), ["odd.npy", "x.npy"]);
}

// ------------------------------------------------------ fused epilogue

/// The library's fused forward in one piece: `op(x + b) + r`.
fn library_fused_forward(
    ctx: &GpuContext,
    op: &Activation,
    (x, shape): (&[f32], &[usize]),
    w: Option<&[f32]>,
    bias: Option<(&[f32], i64)>,
    r: Option<&[f32]>,
) -> Vec<f32> {
    let x = ctx.upload(x, shape).unwrap();
    let w = w.map(|w| ctx.upload(w, &[w.len()]).unwrap());
    let b = bias.map(|(b, _)| ctx.upload(b, &[b.len()]).unwrap());
    let r = r.map(|r| ctx.upload(r, shape).unwrap());
    let epilogue = wgpu_activations::Epilogue {
        bias: b.as_ref(),
        bias_dim: bias.map_or(-1, |(_, d)| d),
        residual: r.as_ref(),
    };
    ctx.download(&ctx.forward_fused(op, &x, w.as_ref(), &epilogue).unwrap())
        .unwrap()
}

/// The library's fused backward in one piece: (grad_input, grad_bias).
fn library_fused_backward(
    ctx: &GpuContext,
    op: &Activation,
    (x, g, shape): (&[f32], &[f32], &[usize]),
    w: Option<&[f32]>,
    (b, dim): (&[f32], i64),
) -> (Vec<f32>, Vec<f32>) {
    let x = ctx.upload(x, shape).unwrap();
    let g = ctx.upload(g, shape).unwrap();
    let w = w.map(|w| ctx.upload(w, &[w.len()]).unwrap());
    let b = ctx.upload(b, &[b.len()]).unwrap();
    let epilogue = wgpu_activations::Epilogue {
        bias: Some(&b),
        bias_dim: dim,
        residual: None,
    };
    let grads = ctx
        .backward_fused(op, &x, &g, w.as_ref(), &epilogue)
        .unwrap();
    (
        ctx.download(&grads.grad_input).unwrap(),
        ctx.download(&grads.grad_bias.unwrap()).unwrap(),
    )
}

/// Sums of `values` over every index but `dim`'s, in f64, with the sum of
/// their magnitudes.
fn channel_sums(values: &[f32], shape: &[usize], dim: usize) -> Vec<(f64, f64)> {
    let mut sums = vec![(0.0f64, 0.0f64); shape[dim]];
    for (i, &v) in values.iter().enumerate() {
        let c = common::channel_of(i, shape, dim);
        sums[c].0 += f64::from(v);
        sums[c].1 += f64::from(v).abs();
    }
    sums
}

/// The command line's bias gradient `db` against the sums of the library's
/// `grad_input` per channel of `dim` (pieces add their f32 sums in f64, in
/// order): within 8 eps of the magnitudes' sum, NaN or the same infinity
/// where the terms hold one.
fn assert_bias_grad(db: &[f32], dx_lib: &[f32], shape: &[usize], dim: usize, context: &str) {
    let eps = f64::from(f32::EPSILON);
    for (c, (sum, magnitude)) in channel_sums(dx_lib, shape, dim).iter().enumerate() {
        if sum.is_nan() || sum.is_infinite() {
            // A NaN or an infinity among the terms.
            assert!(
                db[c].is_nan() && sum.is_nan() || f64::from(db[c]) == *sum,
                "{context}: grad_bias[{c}] = {} vs {sum}",
                db[c]
            );
            continue;
        }
        let error = (f64::from(db[c]) - sum).abs();
        assert!(
            error <= 8.0 * eps * magnitude + f64::from(f32::MIN_POSITIVE),
            "{context}: grad_bias[{c}] = {} vs {sum}",
            db[c]
        );
    }
}

#[test]
fn fused_bias_and_residual_stream_like_the_library() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [3, 4, 5];
    let n = 60;
    let x = data(n, 0);
    let g = data(n, 4);
    let r = data(n, 7);
    let (xp, gp, rp, bp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("r.npy"),
        dir.path("b.npy"),
    );
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &g, &shape);
    write_f32(&rp, &r, &shape);
    let (yp, dxp, dbp) = (dir.path("y.npy"), dir.path("dx.npy"), dir.path("db.npy"));
    let cases: Vec<(Vec<&str>, Activation)> = vec![
        (vec!["relu"], Activation::Relu),
        (
            vec!["gelu", "--approximate", "tanh"],
            Activation::parse("gelu", &[("approximate", "tanh")]).unwrap(),
        ),
        (vec!["silu"], Activation::Silu),
    ];
    // A linear layer's bias (last dim), a convolution's (1), and dim 0.
    for (dim, dim_text) in [(2usize, "-1"), (1, "1"), (0, "0")] {
        let b: Vec<f32> = (0..shape[dim]).map(|c| c as f32 * 0.75 - 1.3).collect();
        write_f32(&bp, &b, &[b.len()]);
        for (op_args, op) in &cases {
            let y_lib = library_fused_forward(
                ctx,
                op,
                (&x, &shape),
                None,
                Some((&b, dim as i64)),
                Some(&r),
            );
            let (dx_lib, _) =
                library_fused_backward(ctx, op, (&x, &g, &shape), None, (&b, dim as i64));
            // Unchunked; whole periods; channel blocks gathered; pieces of one block.
            for chunk in ["", "40", "13", "7", "3", "1"] {
                let env = chunk_env(chunk);
                let context = format!("{op_args:?} bias dim {dim} chunk {chunk:?}");
                let mut args = vec!["forward"];
                args.extend(op_args);
                args.extend(["--bias", &bp, "--bias-dim", dim_text, "--residual", &rp]);
                args.extend([xp.as_str(), yp.as_str()]);
                assert_ok(&run_with(&args, &env));
                assert_eq!(bits(&read_f32(&yp, &shape)), bits(&y_lib), "{context}");

                let mut args = vec!["backward"];
                args.extend(op_args);
                args.extend(["--bias", &bp, "--bias-dim", dim_text, "--grad-bias", &dbp]);
                // The forward's --residual is accepted and changes nothing.
                if chunk == "7" {
                    args.extend(["--residual", &rp]);
                }
                args.extend([xp.as_str(), gp.as_str(), dxp.as_str()]);
                assert_ok(&run_with(&args, &env));
                let dx = read_f32(&dxp, &shape);
                assert_eq!(bits(&dx), bits(&dx_lib), "{context}");
                let db = read_f32(&dbp, &[shape[dim]]);
                assert_bias_grad(&db, &dx_lib, &shape, dim, &context);
            }
        }
    }
    // Without a bias: the residual alone.
    let y_lib = library_fused_forward(ctx, &Activation::Relu, (&x, &shape), None, None, Some(&r));
    for chunk in ["", "7"] {
        let env = chunk_env(chunk);
        assert_ok(&run_with(
            &["forward", "relu", "--residual", &rp, &xp, &yp],
            &env,
        ));
        assert_eq!(bits(&read_f32(&yp, &shape)), bits(&y_lib));
    }
}

#[test]
fn fused_bias_keeps_prelu_channels_and_rrelu_indices() {
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let shape = [3, 4, 5];
    let n = 60;
    let x = data(n, 1);
    let (xp, wp, bp, yp) = (
        dir.path("x.npy"),
        dir.path("w.npy"),
        dir.path("b.npy"),
        dir.path("y.npy"),
    );
    write_f32(&xp, &x, &shape);
    let b = [0.5f32, -1.5, 2.0, -0.25];
    write_f32(&bp, &b, &[4]);
    // PReLU's channels and the bias's along dim 1: any chunking; the
    // weight's gradient at x + bias summed over the pieces.
    let g = data(n, 3);
    let (gp, dxp, dwp, dbp) = (
        dir.path("g.npy"),
        dir.path("dx.npy"),
        dir.path("dw.npy"),
        dir.path("db.npy"),
    );
    write_f32(&gp, &g, &shape);
    for w in [vec![0.25f32], vec![0.25, -0.5, 2.0, 0.0]] {
        write_f32(&wp, &w, &[w.len()]);
        let y_lib = library_fused_forward(
            ctx,
            &Activation::Prelu,
            (&x, &shape),
            Some(&w),
            Some((&b, 1)),
            None,
        );
        let (xt, gt, wt, bt) = (
            ctx.upload(&x, &shape).unwrap(),
            ctx.upload(&g, &shape).unwrap(),
            ctx.upload(&w, &[w.len()]).unwrap(),
            ctx.upload(&b, &[4]).unwrap(),
        );
        let grads = ctx
            .backward_fused(
                &Activation::Prelu,
                &xt,
                &gt,
                Some(&wt),
                &wgpu_activations::Epilogue {
                    bias: Some(&bt),
                    bias_dim: 1,
                    residual: None,
                },
            )
            .unwrap();
        let dx_lib = ctx.download(&grads.grad_input).unwrap();
        let dw_lib = ctx.download(grads.grad_weight.as_ref().unwrap()).unwrap();
        for chunk in ["", "40", "13", "7", "3", "1"] {
            let env = chunk_env(chunk);
            let args = [
                "forward",
                "prelu",
                "--weight",
                &wp,
                "--bias",
                &bp,
                "--bias-dim",
                "1",
                &xp,
                &yp,
            ];
            assert_ok(&run_with(&args, &env));
            assert_eq!(
                bits(&read_f32(&yp, &shape)),
                bits(&y_lib),
                "weights {} chunk {chunk:?}",
                w.len()
            );
            let args = [
                "backward",
                "prelu",
                "--weight",
                &wp,
                "--bias",
                &bp,
                "--bias-dim",
                "1",
                "--grad-weight",
                &dwp,
                "--grad-bias",
                &dbp,
                &xp,
                &gp,
                &dxp,
            ];
            assert_ok(&run_with(&args, &env));
            let context = format!("weights {} chunk {chunk:?}", w.len());
            assert_eq!(bits(&read_f32(&dxp, &shape)), bits(&dx_lib), "{context}");
            // Summed over pieces in f64: within a few roundings of the
            // library's one-piece sums.
            let dw = read_f32(&dwp, &[w.len()]);
            for (c, (&got, &want)) in dw.iter().zip(&dw_lib).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{context}: grad_weight[{c}] {got} vs {want}"
                );
            }
        }
    }
    // Per-channel weights with a bias along another dimension: one piece,
    // or a clear error where the file would need several.
    let b5: Vec<f32> = (0..5).map(|c| c as f32 - 2.0).collect();
    write_f32(&bp, &b5, &[5]);
    let w = [0.25f32, -0.5, 2.0, 0.0];
    write_f32(&wp, &w, &[4]);
    let y_lib = library_fused_forward(
        ctx,
        &Activation::Prelu,
        (&x, &shape),
        Some(&w),
        Some((&b5, -1)),
        None,
    );
    let args = ["forward", "prelu", "--weight", &wp, "--bias", &bp, &xp, &yp];
    assert_ok(&run(&args));
    assert_eq!(bits(&read_f32(&yp, &shape)), bits(&y_lib));
    fs::remove_file(&yp).unwrap();
    assert_error(
        &run_with(&args, &[(CHUNK_ENV, "7")]),
        "cannot be streamed in pieces",
    );
    assert!(!Path::new(&yp).exists());

    // RReLU's random slopes follow each element's index in the whole tensor.
    let op = Activation::parse("rrelu", &[("training", "true"), ("seed", "9")]).unwrap();
    let y_lib = library_fused_forward(ctx, &op, (&x, &shape), None, Some((&b, 1)), None);
    for chunk in ["", "13", "3"] {
        let env = chunk_env(chunk);
        let args = [
            "forward",
            "rrelu",
            "--training",
            "--seed",
            "9",
            "--bias",
            &bp,
            "--bias-dim",
            "1",
            &xp,
            &yp,
        ];
        write_f32(&bp, &b, &[4]);
        assert_ok(&run_with(&args, &env));
        assert_eq!(
            bits(&read_f32(&yp, &shape)),
            bits(&y_lib),
            "chunk {chunk:?}"
        );
    }
}

#[test]
fn fused_epilogue_flags_are_checked_before_any_output() {
    let dir = Dir::new();
    let shape = [3, 4, 5];
    let x = data(60, 0);
    let (xp, gp, bp, b16p, rp, yp, dbp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("b.npy"),
        dir.path("b16.npy"),
        dir.path("r.npy"),
        dir.path("y.npy"),
        dir.path("db.npy"),
    );
    write_f32(&xp, &x, &shape);
    write_f32(&gp, &x, &shape);
    write_f32(&bp, &[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    write_f16(&b16p, &[f16::ONE; 5], &[5]);
    write_f32(&rp, &x[..20], &[4, 5]);
    let before = dir.names();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "forward",
                "relu",
                "--bias",
                &bp,
                "--bias-dim",
                "3",
                &xp,
                &yp,
            ],
            "--bias-dim 3 is out of range",
        ),
        (
            vec![
                "forward",
                "relu",
                "--bias",
                &bp,
                "--bias-dim",
                "x",
                &xp,
                &yp,
            ],
            "expected an integer dimension",
        ),
        (
            vec![
                "forward",
                "relu",
                "--bias",
                &bp,
                "--bias-dim",
                "1",
                &xp,
                &yp,
            ],
            "expected [4]",
        ),
        (
            vec!["forward", "relu", "--bias", &b16p, &xp, &yp],
            "the bias must have the input's dtype",
        ),
        (
            vec!["forward", "relu", "--residual", &rp, &xp, &yp],
            "the residual has shape [4, 5]",
        ),
        (
            vec!["forward", "relu", "--grad-bias", &dbp, &xp, &yp],
            "--grad-bias needs --bias",
        ),
        (
            vec![
                "forward",
                "relu",
                "--bias",
                &bp,
                "--grad-bias",
                &dbp,
                &xp,
                &yp,
            ],
            "--grad-bias is only for backward",
        ),
        (
            vec!["forward", "relu", "--bias-dim", "1", &xp, &yp],
            "--bias-dim needs --bias",
        ),
        (
            vec!["backward", "relu", "--residual", &rp, &xp, &gp, &yp],
            "the residual has shape [4, 5]",
        ),
        (
            vec![
                "backward",
                "relu",
                "--bias",
                &bp,
                "--grad-bias",
                &yp,
                &xp,
                &gp,
                &yp,
            ],
            "are the same file",
        ),
        (
            vec!["forward", "softmax", "--dim", "1", "--bias", &bp, &xp, &yp],
            "--bias is only for elementwise and gated ops",
        ),
        (
            vec![
                "forward",
                "softmax",
                "--dim",
                "1",
                "--residual",
                &rp,
                &xp,
                &yp,
            ],
            "--residual is only for elementwise and gated ops",
        ),
    ];
    for (args, needle) in cases {
        assert_error(&run(&args), needle);
        assert_eq!(dir.names(), before, "{args:?} left a file");
    }
}

#[test]
fn gated_ops_take_the_fused_epilogue() {
    use wgpu_activations::{Epilogue, GatedActivation};
    let ctx = gpu_or_skip!();
    let dir = Dir::new();
    let (xp, gp, rp, bp) = (
        dir.path("x.npy"),
        dir.path("g.npy"),
        dir.path("r.npy"),
        dir.path("b.npy"),
    );
    let (yp, dxp, dbp) = (dir.path("y.npy"), dir.path("dx.npy"), dir.path("db.npy"));
    // SwiGLU after a linear layer (the bias over the 2d features), and glu
    // along 1 with the bias along 1 and along 2.
    let cases: Vec<(Vec<&str>, GatedActivation, Vec<usize>, i64)> = vec![
        (
            vec!["silu_and_mul"],
            GatedActivation::SiluAndMul,
            vec![3, 8],
            -1,
        ),
        (
            vec!["glu", "--dim", "1"],
            GatedActivation::Glu { dim: 1 },
            vec![3, 4, 5],
            1,
        ),
        (
            vec!["glu", "--dim", "1"],
            GatedActivation::Glu { dim: 1 },
            vec![3, 4, 5],
            2,
        ),
    ];
    for (op_args, op, shape, dim) in cases {
        let n: usize = shape.iter().product();
        let out_shape = op.output_shape(&shape).unwrap();
        let axis = wgpu_activations::tensor::wrap_dim("bias", dim, shape.len(), &shape).unwrap();
        let x = data(n, 2);
        let g = data(n / 2, 5);
        let r = data(n / 2, 6);
        let b: Vec<f32> = (0..shape[axis]).map(|c| c as f32 * 0.5 - 1.0).collect();
        write_f32(&xp, &x, &shape);
        write_f32(&gp, &g, &out_shape);
        write_f32(&rp, &r, &out_shape);
        write_f32(&bp, &b, &[b.len()]);
        let (xt, gt, rt, bt) = (
            ctx.upload(&x, &shape).unwrap(),
            ctx.upload(&g, &out_shape).unwrap(),
            ctx.upload(&r, &out_shape).unwrap(),
            ctx.upload(&b, &[b.len()]).unwrap(),
        );
        let epilogue = Epilogue {
            bias: Some(&bt),
            bias_dim: dim,
            residual: Some(&rt),
        };
        let y_lib = ctx
            .download(&ctx.gated_forward_fused(&op, &xt, &epilogue).unwrap())
            .unwrap();
        let grads = ctx
            .gated_backward_fused(
                &op,
                &xt,
                &gt,
                &Epilogue {
                    residual: None,
                    ..epilogue
                },
            )
            .unwrap();
        let dx_lib = ctx.download(&grads.grad_input).unwrap();
        let dim_text = dim.to_string();
        for chunk in ["", "40", "20", "7", "1"] {
            let env = chunk_env(chunk);
            let context = format!("{op} bias dim {dim} chunk {chunk:?}");
            let mut args = vec!["forward"];
            args.extend(&op_args);
            args.extend(["--bias", &bp, "--bias-dim", &dim_text, "--residual", &rp]);
            args.extend([xp.as_str(), yp.as_str()]);
            assert_ok(&run_with(&args, &env));
            assert_eq!(bits(&read_f32(&yp, &out_shape)), bits(&y_lib), "{context}");

            let mut args = vec!["backward"];
            args.extend(&op_args);
            args.extend(["--bias", &bp, "--bias-dim", &dim_text, "--grad-bias", &dbp]);
            args.extend([xp.as_str(), gp.as_str(), dxp.as_str()]);
            assert_ok(&run_with(&args, &env));
            assert_eq!(bits(&read_f32(&dxp, &shape)), bits(&dx_lib), "{context}");
            let db = read_f32(&dbp, &[b.len()]);
            assert_bias_grad(&db, &dx_lib, &shape, axis, &context);
        }
    }
    // A bias along a dimension before the split one: one piece, or an error
    // where the file needs several.
    let shape = [3usize, 8];
    write_f32(&xp, &data(24, 2), &shape);
    write_f32(&bp, &[0.5, -0.5, 1.0], &[3]);
    let args = [
        "forward",
        "silu_and_mul",
        "--bias",
        &bp,
        "--bias-dim",
        "0",
        &xp,
        &yp,
    ];
    assert_ok(&run(&args));
    fs::remove_file(&yp).unwrap();
    assert_error(
        &run_with(&args, &[(CHUNK_ENV, "8")]),
        "before the split dimension",
    );
    assert!(!Path::new(&yp).exists());
}

/// A signal the tool was started with ignored (`nohup`, a script's
/// background job) stays ignored: SIGHUP sent while streaming does not end
/// the run, which finishes and writes its output.
#[cfg(unix)]
#[test]
fn ignored_signals_stay_ignored() {
    use std::process::Stdio;

    let _ctx = gpu_or_skip!();
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    let shape = [256, 64, 1024];
    sparse_f32(&p("x.npy"), &shape);
    let (x, y) = (p("x.npy"), p("y.npy"));
    let mut signalled = false;
    for chunk in ["8192", "1024"] {
        // `trap '' HUP` sets SIGHUP to ignored, and exec keeps it so.
        let mut command = Command::new("sh");
        command
            .args(["-c", "trap '' HUP; exec \"$0\" \"$@\""])
            .arg(env!("CARGO_BIN_EXE_wgpu-activations"))
            .args(["forward", "relu", &x, &y])
            .env(CHUNK_ENV, chunk)
            .env_remove(F16_VIA_F32_ENV)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut running = Running::spawn(&mut command);
        if running.wait_streaming(&dir, 1) {
            running.signal("HUP");
            signalled = true;
        }
        let status = running.wait_end("the run");
        assert!(
            status.success(),
            "an ignored SIGHUP ended the run: {status:?}"
        );
        assert_eq!(read_npy(&y).1, shape);
        if signalled {
            break;
        }
    }
    assert!(signalled, "every run ended before SIGHUP reached it");
}

/// Files that are not regular: a FIFO as input is refused at once (opening
/// it would wait for a writer), a FIFO (or device) at an output path is
/// refused and left as it was rather than replaced by a regular file.
#[cfg(unix)]
#[test]
fn special_files_are_refused() {
    use std::os::unix::fs::FileTypeExt;
    use std::time::{Duration, Instant};

    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    write_f32(&p("x.npy"), &[1.0, -2.0], &[2]);
    let fifo = p("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (x, y) = (p("x.npy"), p("y.npy"));
    for args in [
        ["forward", "relu", fifo.as_str(), y.as_str()],
        ["forward", "relu", x.as_str(), fifo.as_str()],
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-activations"));
        command.args(args);
        command.stdout(std::process::Stdio::null());
        command.stderr(std::process::Stdio::piped());
        let mut running = Running(command.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while running.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{args:?} hangs");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(running.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(
            running.0.wait().unwrap().code(),
            Some(1),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(!Path::new(&y).exists());
    }
}

/// Failing writes to stderr (`2>/dev/full`) do not abort the tool: a failed
/// run still exits 1 and leaves no file behind.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_does_not_abort() {
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    write_f32(&p("x.npy"), &[1.0, -2.0], &[2]);
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wgpu-activations"))
        .args([
            "forward",
            "relu",
            "--negative-slope",
            "1",
            &p("x.npy"),
            &p("y.npy"),
        ])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{:?}", output.status);
    assert_eq!(dir.names(), ["x.npy"]);
    // A run that succeeds with its verbose lines lost.
    let _ctx = gpu_or_skip!();
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wgpu-activations"));
    command
        .args(["forward", "relu", "-v", &p("x.npy"), &p("y.npy")])
        .stderr(full);
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        command.env("XDG_RUNTIME_DIR", runtime_dir());
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert_eq!(dir.names(), ["x.npy", "y.npy"]);
}

/// Refused arguments beyond the op's own: a PReLU weight of more than one
/// dimension (as PyTorch), `--bias` on a 0-d input, `--adapter` twice.
#[test]
fn more_usage_errors() {
    let dir = Dir::new();
    let p = |name: &str| dir.path(name);
    write_f32(&p("x.npy"), &[1.0; 6], &[2, 3]);
    write_f32(&p("w.npy"), &[0.25; 3], &[3, 1]);
    write_f32(&p("s.npy"), &[1.0], &[]);
    write_f32(&p("b.npy"), &[1.0], &[1]);
    let (x, w, s, b, y) = (p("x.npy"), p("w.npy"), p("s.npy"), p("b.npy"), p("y.npy"));
    let output = run(&["forward", "prelu", "--weight", &w, &x, &y]);
    assert_error(&output, "expected a scalar or a 1-D array");
    let output = run(&["forward", "relu", "--bias", &b, &s, &y]);
    assert_error(&output, "has no dimension for a bias");
    let output = run(&[
        "--adapter",
        "a",
        "forward",
        "relu",
        &x,
        &y,
        "--adapter",
        "b",
    ]);
    assert_error(&output, "--adapter is given twice");
    assert!(!Path::new(&y).exists());
}

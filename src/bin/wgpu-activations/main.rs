//! `wgpu-activations`: PyTorch's activation functions and their gradients
//! over .npy files, on the GPU.
//!
//! ```text
//! wgpu-activations list
//! wgpu-activations forward  OP [--PARAM VALUE]... [--bias B.npy [--bias-dim D]] [--residual R.npy] INPUT.npy OUTPUT.npy
//! wgpu-activations backward OP [--PARAM VALUE]... [--bias B.npy [--bias-dim D] [--grad-bias GB.npy]] INPUT.npy GRAD_OUTPUT.npy GRAD_INPUT.npy [--grad-weight GW.npy]
//! wgpu-activations backward ROW_OP --dim DIM OUTPUT.npy GRAD_OUTPUT.npy GRAD_INPUT.npy
//! wgpu-activations --adapter [NAME]
//! ```
//!
//! Arrays of any size are streamed through the GPU in chunks. Outputs are
//! written to a temporary file beside the output and renamed into place only
//! on success: a failed run leaves no output file (and an existing one as it
//! was).

/// `eprintln!` that ignores a failed write (stderr closed or full: `2>/dev/full`)
/// instead of panicking, so that the run still ends with its exit status and
/// no file left behind.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod args;
mod cleanup;
mod error;
mod header;
mod npy;
mod stream;
mod text;

use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wgpu_activations::tensor::{prelu_channels, wrap_dim};
use wgpu_activations::{describe_adapter, AdapterOptions, GpuContext};

use crate::args::Mode;
use crate::cleanup::TempFile;
use crate::error::{one_line, CliError, Result};
use crate::npy::{header_bytes, io_message, parent_dir, NpyFile};

/// Inputs at least this large get a progress bar (on a terminal).
const PROGRESS_BYTES: u64 = 64 << 20;

const AFTER_HELP: &str = "\
OP is a torch.nn.functional name; `wgpu-activations list` shows each op with its parameters and \
defaults. Parameters use PyTorch's argument names in kebab case: `--negative-slope 0.2`, \
`--approximate tanh`, `--training --seed 7`. prelu takes `--weight W.npy` (1 value, or one per \
channel: dimension 1 of the input) and, in backward, writes the weight's gradient with \
`--grad-weight GW.npy`.

Fused epilogue (elementwise and gated ops): `--bias B.npy` adds a bias before the op, one \
value per index of dimension `--bias-dim D` of the input (default -1, a linear layer's; 1 for \
a convolution's channels; a gated op's bias is added to both halves), and `--residual R.npy` \
(forward, the output's shape) adds a tensor after it, in the same pass: OUTPUT = OP(INPUT + \
B) + R. Backward with `--bias` gives the gradients at INPUT + B and writes the bias's gradient \
with `--grad-bias GB.npy` (and prelu's with `--grad-weight`); the residual's gradient is \
GRAD_OUTPUT itself (backward accepts `--residual` as forward does, checks its shape and dtype, \
and reads nothing more from it).

softmax, log_softmax and softmin take `--dim DIM` (required; negative counts from the end), \
softmax2d none (dim -3 of a 3-D or 4-D input). Their backward takes the forward's OUTPUT, not \
its input, as its first file (the gradient is computed from it, as in PyTorch): \
`wgpu-activations backward log_softmax --dim -1 y.npy g.npy gx.npy`.

Arrays: .npy files of float32 (<f4) or float16 (<f2), C order, any shape; outputs keep the \
shape and dtype. Files of any size are streamed through the GPU in chunks.

Environment: WGPU_BACKEND (vulkan, metal, dx12) limits the backends, WGPU_ADAPTER_NAME picks \
an adapter by name like --adapter NAME.";

#[derive(Debug, Parser)]
#[command(
    name = "wgpu-activations",
    version,
    about = "PyTorch's activation functions and their gradients over .npy files, on the GPU",
    after_help = AFTER_HELP,
    arg_required_else_help = true
)]
struct Cli {
    /// Alone: list the GPU adapters and show the one chosen. With NAME: use
    /// the first adapter whose name contains NAME (case-insensitive).
    #[arg(long, value_name = "NAME", num_args = 0..=1, global = true)]
    adapter: Option<Option<String>>,

    /// Print the adapter, the chunking and the time taken to stderr.
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every op with its parameters and their defaults.
    List,
    /// OUTPUT = OP(INPUT).
    #[command(
        override_usage = "wgpu-activations forward OP [--PARAM VALUE]... INPUT.npy OUTPUT.npy",
        after_help = "The ops and their parameters: `wgpu-activations list`.\n\
                      Example: wgpu-activations forward leaky_relu --negative-slope 0.2 x.npy y.npy\n\
                      Fused epilogue (elementwise and gated ops): OUTPUT = OP(INPUT + B) + R with \
                      --bias B.npy [--bias-dim D] (default -1) --residual R.npy, in one pass: \
                      wgpu-activations forward silu --bias b.npy --residual r.npy x.npy y.npy"
    )]
    Forward {
        /// The op, its parameters (`--negative-slope 0.2`) and the files.
        #[arg(
            value_name = "ARGS",
            trailing_var_arg = true,
            allow_hyphen_values = true,
            num_args = 1..
        )]
        args: Vec<String>,
    },
    /// The gradient for the op's input from the gradient of its output:
    /// GRAD_INPUT = GRAD_OUTPUT * OP'(INPUT) elementwise; from the forward's
    /// OUTPUT for softmax and its family; and prelu's weight gradient.
    #[command(
        override_usage = "wgpu-activations backward OP [--PARAM VALUE]... INPUT.npy GRAD_OUTPUT.npy \
                          GRAD_INPUT.npy [--grad-weight GW.npy]\n       \
                          wgpu-activations backward ROW_OP --dim DIM OUTPUT.npy GRAD_OUTPUT.npy \
                          GRAD_INPUT.npy   (softmax, log_softmax, softmin, softmax2d)",
        after_help = "The ops and their parameters: `wgpu-activations list`.\n\
                      Example: wgpu-activations backward prelu --weight w.npy x.npy gy.npy gx.npy \
                      --grad-weight gw.npy\n\
                      softmax, log_softmax, softmin and softmax2d take the forward's OUTPUT as \
                      the first file: wgpu-activations backward softmax --dim 1 y.npy gy.npy gx.npy\n\
                      Fused epilogue: --bias B.npy [--bias-dim D] gives the gradients at INPUT + B \
                      and --grad-bias GB.npy writes the bias's: wgpu-activations backward silu \
                      --bias b.npy --grad-bias gb.npy x.npy gy.npy gx.npy"
    )]
    Backward {
        /// The op, its parameters (`--weight W.npy` for prelu), the files, and
        /// for prelu `--grad-weight GW.npy`.
        #[arg(
            value_name = "ARGS",
            trailing_var_arg = true,
            allow_hyphen_values = true,
            num_args = 1..
        )]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        say!(
            "error: internal error{at}: {} (please report it)",
            one_line(&message)
        );
    }));
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.message.is_empty() {
                say!("error: {}", error.one_line());
            }
            ExitCode::from(error.code)
        }
    }
}

fn run() -> Result<()> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                // Help goes to stdout and exits 0; a bare command's help exits 2.
                let _ = error.print();
                return if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    Err(CliError::usage(""))
                } else {
                    Ok(())
                };
            }
            let text = error.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ");
            return Err(CliError::usage(format!("{first} (see --help)")));
        }
    };
    let adapter = cli.adapter.clone();
    match cli.command {
        None => show_adapters(adapter.flatten()),
        Some(Command::List) => {
            print_stdout(&args::op_table());
            Ok(())
        }
        Some(Command::Forward { args }) => {
            run_op(Mode::Forward, &args, adapter.flatten(), cli.verbose)
        }
        Some(Command::Backward { args }) => {
            run_op(Mode::Backward, &args, adapter.flatten(), cli.verbose)
        }
    }
}

/// Writes to stdout, quietly stopping on a closed pipe (`| head`).
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `--adapter [NAME]` without a command.
fn show_adapters(name: Option<String>) -> Result<()> {
    let mut options = AdapterOptions::from_env();
    if let Some(name) = &name {
        options.adapter_name = Some(name.clone());
    }
    let adapters = options.available_adapters();
    if adapters.is_empty() {
        return Err(CliError::run(
            "no GPU adapter found (WGPU_BACKEND limits the backends searched). Without a GPU, \
             install a software Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers)",
        ));
    }
    let chosen = GpuContext::with_options(&options).map_err(|e| CliError::run(e.to_string()))?;
    let chosen = describe_adapter(chosen.adapter_info());
    let mut text = String::from("adapters:\n");
    for info in &adapters {
        text.push_str(&format!("  {}\n", describe_adapter(info)));
    }
    let how = match (&name, std::env::var("WGPU_ADAPTER_NAME")) {
        (Some(name), _) => format!("--adapter {name}"),
        (None, Ok(name)) => format!("WGPU_ADAPTER_NAME={name}"),
        (None, Err(_)) => "default".into(),
    };
    text.push_str(&format!("chosen ({how}): {chosen}\n"));
    print_stdout(&text);
    Ok(())
}

/// An output file being written: a temporary file beside it, renamed into
/// place by [`Output::commit`]; dropped, it is deleted (on a signal too).
struct Output {
    path: String,
    file: BufWriter<TempFile>,
}

impl Output {
    fn create(path: &str) -> Result<Output> {
        let target = Path::new(path);
        if target.is_dir() {
            return Err(CliError::run(format!("{path}: is a directory")));
        }
        // The output replaces a regular file only: not a FIFO or a device
        // (renaming over /dev/null would replace the device node).
        if let Ok(metadata) = std::fs::metadata(target) {
            if !metadata.is_file() {
                return Err(CliError::run(format!(
                    "{path}: not a regular file (an output is written beside it and renamed \
                     into place, which would replace it)"
                )));
            }
        }
        if path.ends_with('/') || path.ends_with(std::path::MAIN_SEPARATOR) {
            return Err(CliError::run(format!(
                "{path}: not a file name (it ends with a separator)"
            )));
        }
        let dir = parent_dir(target);
        let mut builder = tempfile::Builder::new();
        builder.prefix(".wgpu-activations-").suffix(".npy.tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let file = TempFile::new_in(&builder, dir).map_err(|e| {
            CliError::run(format!(
                "{path}: cannot create a file in {}: {}",
                dir.display(),
                io_message(&e)
            ))
        })?;
        Ok(Output {
            path: path.to_string(),
            file: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write_error(&self, error: &std::io::Error) -> CliError {
        CliError::run(format!("{}: {}", self.path, io_message(error)))
    }

    /// Flushes the file: what can still fail before [`Flushed::commit`].
    fn flush(self) -> Result<Flushed> {
        let path = self.path;
        let file = self
            .file
            .into_inner()
            .map_err(|e| CliError::run(format!("{path}: {}", io_message(e.error()))))?;
        Ok(Flushed { path, file })
    }
}

/// An output written in full, not yet in place; dropped, it is deleted.
struct Flushed {
    path: String,
    file: TempFile,
}

impl Flushed {
    /// Renames the file to its path, with `permissions` (those of the file it
    /// replaces) where there was one.
    fn commit(mut self, permissions: Option<std::fs::Permissions>) -> Result<()> {
        let path = self.path;
        let fail = |e: std::io::Error| CliError::run(format!("{path}: {}", io_message(&e)));
        if let Some(permissions) = permissions {
            self.file.set_permissions(permissions).map_err(fail)?;
        }
        self.file.persist(Path::new(&path)).map_err(fail)?;
        Ok(())
    }
}

/// The permissions of the regular file at `path`, if there is one.
fn existing_permissions(path: &str) -> Option<std::fs::Permissions> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions())
}

/// Renames the outputs into place, all or none: with several, each
/// existing file they replace is first moved aside (to a temporary name
/// beside it) and moved back if a later step fails, so that a failure
/// leaves every existing output as it was. A signal waits until it is done.
fn commit_all(flushed: Vec<Flushed>) -> Result<()> {
    let _renaming = (flushed.len() > 1).then(cleanup::renaming);
    let permissions: Vec<_> = flushed
        .iter()
        .map(|f| existing_permissions(&f.path))
        .collect();
    if flushed.len() <= 1 {
        for (file, permissions) in flushed.into_iter().zip(permissions) {
            file.commit(permissions)?;
        }
        return Ok(());
    }
    // (target, where it was moved: deleted when dropped)
    let mut aside: Vec<(String, tempfile::TempPath)> = Vec::new();
    let mut placed: Vec<String> = Vec::new();
    let outcome = (|| -> Result<()> {
        for file in &flushed {
            if std::fs::symlink_metadata(&file.path).is_err() {
                continue;
            }
            let target = Path::new(&file.path);
            let fail = |e: std::io::Error| {
                CliError::run(format!(
                    "{}: cannot move it aside to replace it: {}",
                    file.path,
                    io_message(&e)
                ))
            };
            let backup = tempfile::Builder::new()
                .prefix(".wgpu-activations-")
                .suffix(".npy.old")
                .tempfile_in(parent_dir(target))
                .map_err(fail)?
                .into_temp_path();
            std::fs::rename(target, &backup).map_err(fail)?;
            aside.push((file.path.clone(), backup));
        }
        for (file, permissions) in flushed.into_iter().zip(permissions) {
            let path = file.path.clone();
            file.commit(permissions)?;
            placed.push(path);
        }
        Ok(())
    })();
    if outcome.is_err() {
        // Undo: the new files out, the old ones back.
        for path in &placed {
            if !aside.iter().any(|(target, _)| target == path) {
                let _ = std::fs::remove_file(path);
            }
        }
        for (target, backup) in &aside {
            let _ = std::fs::rename(backup, target);
        }
    }
    outcome
}

/// `forward` and `backward`.
fn run_op(mode: Mode, tokens: &[String], adapter: Option<String>, verbose: bool) -> Result<()> {
    let parsed = args::parse(mode, tokens)?;
    if parsed.help {
        let mut command = Cli::command();
        if let Some(sub) = command.find_subcommand_mut(mode.name()) {
            let _ = sub.print_long_help();
        }
        return Ok(());
    }
    if adapter.is_some() && parsed.adapter.is_some() {
        return Err(CliError::usage(
            "--adapter is given twice (before and after the command)",
        ));
    }
    let verbose = verbose || parsed.verbose;
    let op: stream::Op = match (parsed.op, parsed.row_op, parsed.gated_op) {
        (Some(op), _, _) => op.into(),
        (None, Some(row), _) => stream::Op::Row(row),
        (None, None, Some(gated)) => stream::Op::Gated(gated),
        (None, None, None) => return Err(CliError::usage("missing OP")),
    };
    let files = &parsed.files;

    // Everything about the inputs is checked before any output is created
    // and before the GPU is touched.
    let input = NpyFile::open(&files[0])?;
    if let stream::Op::Row(row) = op {
        row.geometry(&input.shape)
            .map_err(|e| CliError::usage(format!("{}: {e}", input.path)))?;
    }
    // The output's shape: a gated op halves the split dimension.
    let output_shape = match op {
        stream::Op::Gated(gated) => gated
            .output_shape(&input.shape)
            .map_err(|e| CliError::usage(format!("{}: {e}", input.path)))?,
        _ => input.shape.clone(),
    };
    let grad_output = match mode {
        Mode::Forward => None,
        Mode::Backward => {
            let grad = NpyFile::open(&files[1])?;
            if grad.shape != output_shape {
                if let stream::Op::Gated(gated) = op {
                    return Err(CliError::run(format!(
                        "{} has shape {:?} but {gated} of {} (shape {:?}) has shape {:?}: the \
                         gradient of the output must have the output's shape",
                        grad.path, grad.shape, input.path, input.shape, output_shape
                    )));
                }
                return Err(CliError::run(format!(
                    "{} has shape {:?} but {} has shape {:?}: they must be the same",
                    grad.path, grad.shape, input.path, input.shape
                )));
            }
            if grad.dtype != input.dtype {
                return Err(CliError::run(format!(
                    "{} is {} but {} is {}: they must be the same",
                    grad.path,
                    grad.dtype.name(),
                    input.path,
                    input.dtype.name()
                )));
            }
            Some(grad)
        }
    };
    let weight = match &parsed.weight {
        None => None,
        Some(path) => {
            let mut weight = NpyFile::open(path)?;
            if weight.shape.len() > 1 {
                // As PyTorch: "Expected `weight` to be a scalar or 1D tensor".
                return Err(CliError::run(format!(
                    "{path}: prelu weight has shape {:?}; expected a scalar or a 1-D array",
                    weight.shape
                )));
            }
            let (channels, _) = prelu_channels(&input.shape);
            if weight.len != 1 && weight.len != channels {
                let expected = if channels == 1 {
                    format!(
                        "expected 1 ({} has one channel: shape {:?})",
                        input.path, input.shape
                    )
                } else {
                    format!(
                        "expected 1 or {channels} (one per channel: dimension 1 of {}, shape {:?})",
                        input.path, input.shape
                    )
                };
                return Err(CliError::run(format!(
                    "{path}: prelu weight has {} values; {expected}",
                    weight.len
                )));
            }
            same_dtype(&weight, "weight", &input)?;
            let bytes = weight.read_all()?;
            Some((weight.shape.clone(), bytes))
        }
    };

    let bias = match &parsed.bias {
        None => None,
        Some(path) => Some(open_bias(path, parsed.bias_dim.unwrap_or(-1), &input)?),
    };
    let residual = match &parsed.residual {
        None => None,
        Some(path) => {
            let residual = NpyFile::open(path)?;
            if residual.shape != output_shape {
                return Err(CliError::run(format!(
                    "{path}: the residual has shape {:?} but {} has shape {:?}: they must be the \
                     same (the residual is added to the op's output)",
                    residual.shape, input.path, output_shape
                )));
            }
            same_dtype(&residual, "residual", &input)?;
            Some(residual)
        }
    };

    let output_path = files.last().map(String::as_str).unwrap_or_default();
    let extra_outputs = [
        ("--grad-weight", parsed.grad_weight.as_deref()),
        ("--grad-bias", parsed.grad_bias.as_deref()),
    ];
    for (i, (flag, path)) in extra_outputs.iter().enumerate() {
        let Some(path) = path else { continue };
        if same_file(path, output_path) {
            return Err(CliError::usage(format!(
                "{flag} {path} and the {} are the same file",
                match mode {
                    Mode::Forward => "output",
                    Mode::Backward => "gradient for the input",
                }
            )));
        }
        for (other_flag, other) in &extra_outputs[..i] {
            if matches!(other, Some(other) if same_file(path, other)) {
                return Err(CliError::usage(format!(
                    "{flag} {path} and {other_flag} are the same file"
                )));
            }
        }
    }
    let mut output = Output::create(output_path)?;
    let grad_weight_output = parsed
        .grad_weight
        .as_deref()
        .map(Output::create)
        .transpose()?;
    let grad_bias_output = parsed
        .grad_bias
        .as_deref()
        .map(Output::create)
        .transpose()?;

    let mut options = AdapterOptions::from_env();
    if let Some(name) = adapter.or(parsed.adapter.clone()) {
        options.adapter_name = Some(name);
    }
    output
        .file
        .write_all(&header_bytes(
            input.dtype,
            match mode {
                Mode::Forward => &output_shape,
                Mode::Backward => &input.shape,
            },
        ))
        .map_err(|e| output.write_error(&e))?;
    let (dtype, shape, len) = (input.dtype, input.shape.clone(), input.len);
    let weight_len = weight
        .as_ref()
        .map_or(0, |(_, bytes)| bytes.len() / dtype.size() as usize);
    let mut grad_weight = vec![0.0f64; weight_len];
    let mut grad_bias = vec![0.0f64; bias.as_ref().map_or(0, |b| b.channels)];
    if len > 0 {
        let ctx = GpuContext::with_options(&options).map_err(|e| CliError::run(e.to_string()))?;
        if verbose {
            say!("adapter: {}", ctx.adapter_description());
        }
        let total_bytes = len as u64 * dtype.size();
        let progress = if std::io::stderr().is_terminal() && total_bytes >= PROGRESS_BYTES {
            let bar =
                ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        } else {
            ProgressBar::hidden()
        };
        let job = stream::Job {
            op,
            dtype,
            shape: &shape,
            len,
            input: stream::Source {
                name: input.path.clone(),
                file: input.file,
            },
            grad_output: grad_output.map(|g| stream::Source {
                name: g.path.clone(),
                file: g.file,
            }),
            weight: weight.as_ref().map(|(_, bytes)| bytes.as_slice()),
            grad_weight: grad_weight_output.is_some(),
            bias: bias.as_ref().map(|b| stream::Bias {
                values: &b.bytes,
                dim: b.dim,
            }),
            // Backward takes --residual as forward does (checked above) but
            // does not read it: it does not change the gradients.
            residual: residual
                .filter(|_| mode == Mode::Forward)
                .map(|r| stream::Source {
                    name: r.path.clone(),
                    file: r.file,
                }),
            grad_bias: grad_bias_output.is_some(),
            output_name: &output.path,
        };
        let outcome = stream::run(&ctx, job, &mut output.file, &progress, verbose);
        progress.finish_and_clear();
        let outcome = outcome?;
        if let Some(sums) = outcome.grad_weight {
            grad_weight = sums;
        }
        if let Some(sums) = outcome.grad_bias {
            grad_bias = sums;
        }
    }
    // Every output written in full before any replaces a file.
    let mut flushed = vec![output.flush()?];
    let small_outputs = [
        (
            grad_weight_output,
            weight.as_ref().map(|(shape, _)| shape.clone()),
            &grad_weight,
        ),
        (
            grad_bias_output,
            bias.as_ref().map(|b| vec![b.channels]),
            &grad_bias,
        ),
    ];
    for (small, shape, sums) in small_outputs {
        if let (Some(mut small), Some(shape)) = (small, shape) {
            let bytes = stream::narrow(sums, dtype);
            npy::write_small(&mut small.file, dtype, &shape, &bytes)
                .map_err(|e| small.write_error(&e))?;
            flushed.push(small.flush()?);
        }
    }
    commit_all(flushed)
}

/// The fused epilogue's bias: its values (the input's dtype) and the
/// dimension it runs along.
struct BiasFile {
    bytes: Vec<u8>,
    /// The dimension, counted from the front.
    dim: usize,
    channels: usize,
}

/// Checks that the extra `file` (`what`: a weight, bias or residual) has the
/// input's dtype.
fn same_dtype(file: &NpyFile, what: &str, input: &NpyFile) -> Result<()> {
    if file.dtype != input.dtype {
        return Err(CliError::run(format!(
            "{} is {} but {} is {}: the {what} must have the input's dtype",
            file.path,
            file.dtype.name(),
            input.path,
            input.dtype.name()
        )));
    }
    Ok(())
}

/// Opens and checks `--bias`: 1-D, `input.shape[dim]` values of the input's dtype.
fn open_bias(path: &str, dim: i64, input: &NpyFile) -> Result<BiasFile> {
    let rank = input.shape.len() as i64;
    if rank == 0 {
        return Err(CliError::usage(format!(
            "--bias: {} is 0-d (shape []): it has no dimension for a bias to run along",
            input.path
        )));
    }
    let dim = wrap_dim("bias", dim, input.shape.len(), &input.shape).map_err(|_| {
        CliError::usage(format!(
            "--bias-dim {dim} is out of range for {} of shape {:?} (expected {} to {})",
            input.path,
            input.shape,
            -rank,
            rank - 1
        ))
    })?;
    let channels = input.shape[dim];
    let mut bias = NpyFile::open(path)?;
    if bias.shape.len() != 1 || bias.len != channels {
        return Err(CliError::run(format!(
            "{path}: the bias has shape {:?}; expected [{channels}] (one value per index of \
             dimension {dim} of {}, shape {:?}; --bias-dim chooses the dimension)",
            bias.shape, input.path, input.shape
        )));
    }
    same_dtype(&bias, "bias", input)?;
    Ok(BiasFile {
        bytes: bias.read_all()?,
        dim,
        channels,
    })
}

/// Whether two paths name the same file (or would).
fn same_file(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let resolve = |p: &str| {
        let path = Path::new(p);
        let dir = parent_dir(path).canonicalize().ok()?;
        Some(dir.join(path.file_name()?))
    };
    matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flushed(dir: &Path, path: &Path, content: &str) -> Flushed {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".wgpu-activations-").suffix(".npy.tmp");
        let mut file = TempFile::new_in(&builder, dir).unwrap();
        file.write_all(content.as_bytes()).unwrap();
        Flushed {
            path: path.to_str().unwrap().to_string(),
            file,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Several outputs go into place all or none: where a later rename
    /// fails, the outputs already renamed are undone (the old file back, a
    /// new one removed) and nothing is left beside them.
    #[test]
    fn outputs_are_committed_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (a, b, c) = (d.join("a.npy"), d.join("b.npy"), d.join("c.npy"));
        std::fs::write(&a, "old a").unwrap();
        std::fs::write(&c, "old c").unwrap();
        // The third output's directory does not exist: its rename fails
        // after the first two are in place.
        let missing = d.join("missing").join("d.npy");
        let outcome = commit_all(vec![
            flushed(d, &a, "new a"),
            flushed(d, &b, "new b"),
            flushed(d, &c, "new c"),
            flushed(d, &missing, "new d"),
        ]);
        assert!(outcome.is_err());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        assert_eq!(std::fs::read_to_string(&c).unwrap(), "old c");
        assert_eq!(names(d), ["a.npy", "c.npy"]);
        // All succeed: every output in place, the old files gone.
        let outcome = commit_all(vec![flushed(d, &a, "new a"), flushed(d, &b, "new b")]);
        assert!(outcome.is_ok());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        assert_eq!(names(d), ["a.npy", "b.npy", "c.npy"]);
    }

    /// A replaced output keeps the permissions of the file it replaces.
    #[cfg(unix)]
    #[test]
    fn a_replaced_output_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npy");
        std::fs::write(&a, "old").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
        commit_all(vec![flushed(dir.path(), &a, "new")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

//! The arguments after `forward` / `backward`: `OP [--PARAM VALUE]... FILES`.
//!
//! Which `--PARAM` flags exist depends on OP, so they are parsed here, not by
//! clap: PyTorch's argument names in kebab case (or snake case), values as
//! `--name VALUE` or `--name=VALUE`; `--training` alone means true.

use wgpu_activations::{Activation, ActivationError, GatedActivation, RowActivation};

use crate::error::{CliError, Result};

/// Which command the arguments are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    Backward,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Forward => "forward",
            Mode::Backward => "backward",
        }
    }

    fn files(self) -> &'static [&'static str] {
        match self {
            Mode::Forward => &["INPUT.npy", "OUTPUT.npy"],
            Mode::Backward => &["INPUT.npy", "GRAD_OUTPUT.npy", "GRAD_INPUT.npy"],
        }
    }

    /// The files of a row op: its backward takes the forward's output.
    fn row_files(self) -> &'static [&'static str] {
        match self {
            Mode::Forward => self.files(),
            Mode::Backward => &["OUTPUT.npy", "GRAD_OUTPUT.npy", "GRAD_INPUT.npy"],
        }
    }
}

/// The parsed arguments of one `forward` or `backward` run.
#[derive(Debug, Default)]
pub struct OpArgs {
    pub op: Option<Activation>,
    /// A row op (softmax and its family) instead of `op`.
    pub row_op: Option<RowActivation>,
    /// A gated op (glu, silu_and_mul, ...) instead of `op`.
    pub gated_op: Option<GatedActivation>,
    /// The files, in the order of [`Mode::files`].
    pub files: Vec<String>,
    pub weight: Option<String>,
    pub grad_weight: Option<String>,
    /// The fused epilogue: `--bias B.npy` added before the op along
    /// `--bias-dim` (default -1), `--residual R.npy` added after it, and in
    /// backward the bias's gradient written to `--grad-bias GB.npy`.
    pub bias: Option<String>,
    pub bias_dim: Option<i64>,
    pub residual: Option<String>,
    pub grad_bias: Option<String>,
    pub adapter: Option<String>,
    pub verbose: bool,
    /// `--help` was given: print the help and nothing else.
    pub help: bool,
}

/// `--flag` spelled as the op's parameter name (`negative_slope`).
fn snake(flag: &str) -> String {
    flag.replace('-', "_")
}

/// A parameter name as a flag (`--negative-slope`).
pub fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

fn is_bool(text: &str) -> bool {
    matches!(text, "true" | "false" | "True" | "False" | "1" | "0")
}

/// Whether a token is an option rather than a file or a value: `-x`,
/// `--name`, but not `-` or a negative number.
fn is_option(token: &str) -> bool {
    let mut chars = token.chars();
    chars.next() == Some('-')
        && matches!(chars.next(), Some(c) if c == '-' || c.is_ascii_alphabetic())
}

/// Parses `OP [--PARAM VALUE]... FILES` for `mode`.
pub fn parse(mode: Mode, tokens: &[String]) -> Result<OpArgs> {
    let mut args = OpArgs::default();
    let mut positional: Vec<String> = Vec::new();
    // (name as typed, value)
    let mut parameters: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        i += 1;
        if token == "--" {
            positional.extend(tokens[i..].iter().cloned());
            break;
        }
        if !is_option(token) {
            positional.push(token.clone());
            continue;
        }
        match token.as_str() {
            "-h" | "--help" => {
                args.help = true;
                continue;
            }
            "-v" | "--verbose" => {
                args.verbose = true;
                continue;
            }
            _ => {}
        }
        let Some(body) = token.strip_prefix("--") else {
            return Err(CliError::usage(format!(
                "unknown option '{token}' (parameters are --name VALUE)"
            )));
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        let value = match inline {
            Some(value) => value,
            None if snake(name) == "training" => {
                // A boolean flag: `--training` alone, or `--training false`.
                match tokens.get(i) {
                    Some(next) if is_bool(next) => {
                        i += 1;
                        next.clone()
                    }
                    _ => "true".to_string(),
                }
            }
            None => match tokens.get(i) {
                Some(next) if !is_option(next) || next.parse::<f64>().is_ok() => {
                    i += 1;
                    next.clone()
                }
                _ => return Err(CliError::usage(format!("--{name} needs a value"))),
            },
        };
        match snake(name).as_str() {
            "weight" => set_once(&mut args.weight, "--weight", value)?,
            "grad_weight" => set_once(&mut args.grad_weight, "--grad-weight", value)?,
            "bias" => set_once(&mut args.bias, "--bias", value)?,
            "residual" => set_once(&mut args.residual, "--residual", value)?,
            "grad_bias" => set_once(&mut args.grad_bias, "--grad-bias", value)?,
            "bias_dim" => {
                let dim = value.parse::<i64>().map_err(|_| {
                    CliError::usage(format!(
                        "--bias-dim {value:?}: expected an integer dimension (negative counts \
                         from the end)"
                    ))
                })?;
                if args.bias_dim.replace(dim).is_some() {
                    return Err(CliError::usage("--bias-dim is given twice"));
                }
            }
            "adapter" => set_once(&mut args.adapter, "--adapter", value)?,
            _ => parameters.push((name.to_string(), value)),
        }
    }
    if args.help {
        return Ok(args);
    }

    let mut positional = positional.into_iter();
    let Some(op_name) = positional.next() else {
        return Err(CliError::usage(format!(
            "missing OP: {} OP [--PARAM VALUE]... {} (see `wgpu-activations list`)",
            mode.name(),
            mode.files().join(" ")
        )));
    };
    if let Some(info) = RowActivation::info_by_name(&op_name) {
        return parse_row_op(mode, info.name, &parameters, positional.collect(), args);
    }
    if let Some(info) = GatedActivation::info_by_name(&op_name) {
        return parse_gated_op(mode, info.name, &parameters, positional.collect(), args);
    }
    let op = op_from_name(&op_name)?;
    // The op's parameters, checked by name here (to name the flags in the
    // message), then parsed and validated by the library.
    let known = op.info().parameters;
    let mut pairs: Vec<(String, &str)> = Vec::new();
    for (name, value) in &parameters {
        let key = snake(name);
        if !known.iter().any(|p| p.name == key) {
            return Err(CliError::usage(unknown_parameter(&op, name)));
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(CliError::usage(format!("--{name} is given twice")));
        }
        pairs.push((key, value));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let op = Activation::parse(op.name(), &pairs).map_err(|e| CliError::usage(e.to_string()))?;

    args.files = positional.collect();
    let wanted = mode.files();
    if args.files.len() < wanted.len() {
        return Err(CliError::usage(format!(
            "{} {op_name} needs {} after the op; missing {}",
            mode.name(),
            wanted.join(" "),
            wanted[args.files.len()..].join(" ")
        )));
    }
    if args.files.len() > wanted.len() {
        return Err(CliError::usage(format!(
            "unexpected argument '{}': {} takes {}",
            args.files[wanted.len()],
            mode.name(),
            wanted.join(" ")
        )));
    }

    match (op.uses_weight(), &args.weight) {
        (true, None) => {
            return Err(CliError::usage(format!(
                "{} needs --weight W.npy (1 value, or one per channel: dimension 1 of the input)",
                op.name()
            )))
        }
        (false, Some(_)) => {
            return Err(CliError::usage(format!(
                "--weight is only for prelu; {} takes no weight",
                op.name()
            )))
        }
        _ => {}
    }
    if args.grad_weight.is_some() {
        if mode == Mode::Forward {
            return Err(CliError::usage(
                "--grad-weight is only for backward (the gradient of prelu's weight)",
            ));
        }
        if !op.uses_weight() {
            return Err(CliError::usage(format!(
                "--grad-weight is only for prelu; {} has no weight",
                op.name()
            )));
        }
    }
    check_epilogue(mode, &args)?;
    args.op = Some(op);
    Ok(args)
}

/// The fused epilogue's flags of an elementwise or gated op, checked
/// against each other and the mode.
fn check_epilogue(mode: Mode, args: &OpArgs) -> Result<()> {
    if args.bias.is_none() {
        if args.bias_dim.is_some() {
            return Err(CliError::usage(
                "--bias-dim needs --bias B.npy (the dimension the bias runs along)",
            ));
        }
        if args.grad_bias.is_some() {
            return Err(CliError::usage(
                "--grad-bias needs --bias B.npy: the forward's bias (the gradient is taken at \
                 INPUT + bias)",
            ));
        }
    }
    match mode {
        Mode::Forward => {
            if args.grad_bias.is_some() {
                return Err(CliError::usage(
                    "--grad-bias is only for backward (the gradient of the bias)",
                ));
            }
        }
        Mode::Backward => {}
    }
    Ok(())
}

/// An error if the fused epilogue's flags are given to an op that has none.
fn reject_epilogue(args: &OpArgs, name: &str, what: &str) -> Result<()> {
    let given = [
        (args.bias.is_some(), "--bias"),
        (args.bias_dim.is_some(), "--bias-dim"),
        (args.residual.is_some(), "--residual"),
        (args.grad_bias.is_some(), "--grad-bias"),
    ];
    match given.iter().find(|(set, _)| *set) {
        Some((_, flag)) => Err(CliError::usage(format!(
            "{flag} is only for elementwise and gated ops; {name} is {what}"
        ))),
        None => Ok(()),
    }
}

/// The rest of the arguments of a row op: its parameters (`--dim`) and
/// files; no weight.
fn parse_row_op(
    mode: Mode,
    name: &str,
    parameters: &[(String, String)],
    files: Vec<String>,
    mut args: OpArgs,
) -> Result<OpArgs> {
    let info = RowActivation::info_by_name(name).expect("a row op");
    let flags: Vec<String> = info.parameters.iter().map(|p| flag(p.name)).collect();
    let mut pairs: Vec<(String, &str)> = Vec::new();
    for (flag_name, value) in parameters {
        let key = snake(flag_name);
        if !info.parameters.iter().any(|p| p.name == key) {
            let known = if flags.is_empty() {
                format!("{name} takes no parameters")
            } else {
                format!("its parameters: {}", flags.join(", "))
            };
            return Err(CliError::usage(format!(
                "{name} has no parameter --{flag_name}; {known}"
            )));
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(CliError::usage(format!("--{flag_name} is given twice")));
        }
        pairs.push((key, value));
    }
    if let Some(required) = info
        .parameters
        .iter()
        .find(|p| !pairs.iter().any(|(k, _)| *k == p.name))
    {
        return Err(CliError::usage(format!(
            "{name} needs {} DIM (the dimension to normalize along; negative counts from the end)",
            flag(required.name)
        )));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let op = RowActivation::parse(name, &pairs).map_err(|e| CliError::usage(e.to_string()))?;
    reject_epilogue(&args, name, "a row op (it normalizes whole rows)")?;
    if args.weight.is_some() || args.grad_weight.is_some() {
        return Err(CliError::usage(format!(
            "--weight and --grad-weight are only for prelu; {name} takes no weight"
        )));
    }
    let wanted = mode.row_files();
    if files.len() < wanted.len() {
        let hint = if mode == Mode::Backward {
            " (OUTPUT.npy is the forward's output: the gradient is computed from it)"
        } else {
            ""
        };
        return Err(CliError::usage(format!(
            "{} {name} needs {} after the op; missing {}{hint}",
            mode.name(),
            wanted.join(" "),
            wanted[files.len()..].join(" ")
        )));
    }
    if files.len() > wanted.len() {
        return Err(CliError::usage(format!(
            "unexpected argument '{}': {} {name} takes {}",
            files[wanted.len()],
            mode.name(),
            wanted.join(" ")
        )));
    }
    args.files = files;
    args.row_op = Some(op);
    Ok(args)
}

/// The rest of the arguments of a gated op: its parameters (`--dim` for
/// glu, `--threshold` for fatrelu_and_mul, both optional) and files; no
/// weight. Backward takes the forward's input and the gradient of its
/// output (the output's shape) and writes the input's gradient.
fn parse_gated_op(
    mode: Mode,
    name: &str,
    parameters: &[(String, String)],
    files: Vec<String>,
    mut args: OpArgs,
) -> Result<OpArgs> {
    let info = GatedActivation::info_by_name(name).expect("a gated op");
    let flags: Vec<String> = info.parameters.iter().map(|p| flag(p.name)).collect();
    let mut pairs: Vec<(String, &str)> = Vec::new();
    for (flag_name, value) in parameters {
        let key = snake(flag_name);
        if !info.parameters.iter().any(|p| p.name == key) {
            let known = if flags.is_empty() {
                format!("{name} takes no parameters (it splits the last dimension)")
            } else {
                format!("its parameters: {}", flags.join(", "))
            };
            return Err(CliError::usage(format!(
                "{name} has no parameter --{flag_name}; {known}"
            )));
        }
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(CliError::usage(format!("--{flag_name} is given twice")));
        }
        pairs.push((key, value));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let op = GatedActivation::parse(name, &pairs).map_err(|e| CliError::usage(e.to_string()))?;
    check_epilogue(mode, &args)?;
    if args.weight.is_some() || args.grad_weight.is_some() {
        return Err(CliError::usage(format!(
            "--weight and --grad-weight are only for prelu; {name} takes no weight"
        )));
    }
    let wanted = mode.files();
    if files.len() < wanted.len() {
        let hint = if mode == Mode::Backward {
            " (GRAD_OUTPUT.npy has the output's shape: the split dimension halved)"
        } else {
            ""
        };
        return Err(CliError::usage(format!(
            "{} {name} needs {} after the op; missing {}{hint}",
            mode.name(),
            wanted.join(" "),
            wanted[files.len()..].join(" ")
        )));
    }
    if files.len() > wanted.len() {
        return Err(CliError::usage(format!(
            "unexpected argument '{}': {} {name} takes {}",
            files[wanted.len()],
            mode.name(),
            wanted.join(" ")
        )));
    }
    args.files = files;
    args.gated_op = Some(op);
    Ok(args)
}

fn set_once(slot: &mut Option<String>, flag: &str, value: String) -> Result<()> {
    if slot.is_some() {
        return Err(CliError::usage(format!("{flag} is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

/// The op named `name`, with a suggestion for near misses (`ReLU`, `leaky-relu`).
fn op_from_name(name: &str) -> Result<Activation> {
    match Activation::from_name(name) {
        Ok(op) => Ok(op),
        Err(ActivationError::UnknownOp(_)) => {
            let normalized = name.to_lowercase().replace('-', "_");
            let names = Activation::OPS
                .iter()
                .map(|op| op.name)
                .chain(RowActivation::OPS.iter().map(|op| op.name))
                .chain(GatedActivation::OPS.iter().map(|op| op.name));
            let hint = names
                .into_iter()
                .find(|op| *op == normalized || op.replace('_', "") == normalized)
                .map(|op| format!("; did you mean '{op}'?"))
                .unwrap_or_else(|| " (`wgpu-activations list` shows the ops)".into());
            Err(CliError::usage(format!("unknown op '{name}'{hint}")))
        }
        Err(error) => Err(CliError::usage(error.to_string())),
    }
}

/// The message for a parameter `op` does not have, naming those it has.
fn unknown_parameter(op: &Activation, name: &str) -> String {
    let known: Vec<String> = op.info().parameters.iter().map(|p| flag(p.name)).collect();
    let mut message = format!("{} has no parameter --{name}", op.name());
    if known.is_empty() {
        message.push_str(&format!("; {} takes no parameters", op.name()));
    } else {
        message.push_str(&format!("; its parameters: {}", known.join(", ")));
    }
    if op.uses_weight() {
        message.push_str(" (its weight is given with --weight W.npy)");
    }
    message
}

/// One line per op for `list`: name, parameters with defaults, formula.
pub fn op_table() -> String {
    let rows: Vec<(String, String, &str)> = Activation::OPS
        .iter()
        .map(|info| {
            let mut parameters: Vec<String> = info
                .parameters
                .iter()
                .map(|p| {
                    let default = info.default_value(p.name).map(|v| v.to_text());
                    format!("{} {}", flag(p.name), default.unwrap_or_default())
                })
                .collect();
            if info.default.uses_weight() {
                parameters.push("--weight W.npy".into());
            }
            (info.name.to_string(), parameters.join(" "), info.summary)
        })
        .chain(RowActivation::OPS.iter().map(|info| {
            let parameters: Vec<String> = info
                .parameters
                .iter()
                .map(|p| format!("{} DIM", flag(p.name)))
                .collect();
            (info.name.to_string(), parameters.join(" "), info.summary)
        }))
        .chain(GatedActivation::OPS.iter().map(|info| {
            let parameters: Vec<String> = info
                .parameters
                .iter()
                .map(|p| {
                    let default = info.default_value(p.name).map(|v| v.to_text());
                    format!("{} {}", flag(p.name), default.unwrap_or_default())
                })
                .collect();
            (info.name.to_string(), parameters.join(" "), info.summary)
        }))
        .collect();
    let name_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    // Aligned, but one long list (rrelu's) does not push every formula
    // right: its formula goes on the next line, in the formula column.
    let parameter_width = rows
        .iter()
        .map(|r| r.1.len())
        .filter(|&w| w <= 32)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, parameters, summary) in rows {
        if parameters.len() > parameter_width {
            let indent = name_width + parameter_width + 4;
            out.push_str(&format!(
                "{name:<name_width$}  {parameters}\n{:indent$}{summary}\n",
                ""
            ));
        } else {
            out.push_str(&format!(
                "{name:<name_width$}  {parameters:<parameter_width$}  {summary}\n"
            ));
        }
    }
    out
}

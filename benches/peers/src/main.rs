//! wgpu-activations and burn 0.22.1 (wgpu backend, default features) side by
//! side, in one process, on the default adapter: median throughput of every op
//! both have, forward and backward, at 2^24 and 2^16 f32, and the largest
//! relative error of each against an f64 reference. See README.md.
//!
//! ```text
//! cargo run --release -- [--ops gelu,tanh] [--sizes 24,16] [--dirs forward,backward]
//!     [--repeats N | --repeats-large N --repeats-small N] [--warmup N]
//!     [--no-accuracy] [--no-timing] [--softmax]  (softmax: issue 12's shapes only)
//! ```
//! Each flag has an environment twin: `PEERS_OPS`, `PEERS_SIZES`, `PEERS_DIRS`,
//! `PEERS_REPEATS`, `PEERS_REPEATS_LARGE`, `PEERS_REPEATS_SMALL`,
//! `PEERS_WARMUP`, `PEERS_ACCURACY=0`, `PEERS_TIMING=0`. Flags win.

mod accuracy;
mod ops;
mod reference;
mod sides;
mod softmax;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use accuracy::{max_derivative_abs_error, max_error, non_finite, MaxError};
use ops::Op;
use sides::{Burn, Direction, Ours, Timing};
use wgpu_activations::{Activation, GeluApproximate};

const USAGE: &str = "usage: wgpu-activations-peers [--ops a,b] [--sizes 24,16] \
[--dirs forward,backward] [--repeats N] [--repeats-large N] [--repeats-small N] \
[--warmup N] [--no-accuracy] [--no-timing] [--softmax]
ops: identity relu leaky_relu prelu elu selu celu gelu gelu_tanh silu mish sigmoid tanh \
softsign logsigmoid tanhshrink softplus relu6 hardtanh hardsigmoid hardswish threshold \
hardshrink softshrink";

/// Keeps cubecl's on-disk environment (burn's persistent autotune cache,
/// among others) in this crate's `target/cubecl` rather than in the `target/`
/// of the outermost `Cargo.toml` above the working directory (the main
/// package's). Everything else is read as cubecl reads it (`cubecl.toml`,
/// `CUBECL_*`). Returns the directory and whether it held anything before.
fn pin_cubecl_cache() -> (std::path::PathBuf, bool) {
    use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("cubecl");
    let reused = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
    config.environment.path = CacheConfig::Directory(dir.clone());
    CubeClRuntimeConfig::set(config);
    (dir, reused)
}

/// What to run.
struct Config {
    ops: Option<Vec<String>>,
    log2_sizes: Vec<u32>,
    dirs: Vec<Direction>,
    repeats_large: u32,
    repeats_small: u32,
    warmup: u32,
    accuracy: bool,
    timing: bool,
    /// Softmax along issue 12's shapes instead of the elementwise ops.
    softmax: bool,
}

/// Sizes from 2^20 up count as large.
const LARGE_LOG2: u32 = 20;

fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_number(flag: &str, s: &str) -> u32 {
    s.trim().parse().unwrap_or_else(|_| {
        eprintln!("error: {flag} wants a number, got {s:?}\n{USAGE}");
        std::process::exit(2)
    })
}

fn parse_dirs(s: &str) -> Vec<Direction> {
    parse_list(s)
        .iter()
        .map(|d| match d.as_str() {
            "forward" | "fwd" => Direction::Forward,
            "backward" | "bwd" => Direction::Backward,
            other => {
                eprintln!("error: unknown direction {other:?}\n{USAGE}");
                std::process::exit(2)
            }
        })
        .collect()
}

impl Config {
    fn from_env_and_args() -> Config {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut settings: HashMap<&str, String> = HashMap::new();
        for (key, var) in [
            ("ops", "PEERS_OPS"),
            ("sizes", "PEERS_SIZES"),
            ("dirs", "PEERS_DIRS"),
            ("repeats", "PEERS_REPEATS"),
            ("repeats-large", "PEERS_REPEATS_LARGE"),
            ("repeats-small", "PEERS_REPEATS_SMALL"),
            ("warmup", "PEERS_WARMUP"),
            ("accuracy", "PEERS_ACCURACY"),
            ("timing", "PEERS_TIMING"),
        ] {
            if let Some(v) = env(var) {
                settings.insert(key, v);
            }
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let key = match flag.as_str() {
                "--ops" => "ops",
                "--sizes" => "sizes",
                "--dirs" => "dirs",
                "--repeats" => "repeats",
                "--repeats-large" => "repeats-large",
                "--repeats-small" => "repeats-small",
                "--warmup" => "warmup",
                "--no-accuracy" => {
                    settings.insert("accuracy", "0".into());
                    continue;
                }
                "--no-timing" => {
                    settings.insert("timing", "0".into());
                    continue;
                }
                "--softmax" => {
                    settings.insert("softmax", "1".into());
                    continue;
                }
                // `cargo bench` style harness flags are ignored.
                "--bench" => continue,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0)
                }
                other => {
                    eprintln!("error: unknown argument {other:?}\n{USAGE}");
                    std::process::exit(2)
                }
            };
            let value = inline.or_else(|| args.next()).unwrap_or_else(|| {
                eprintln!("error: {flag} wants a value\n{USAGE}");
                std::process::exit(2)
            });
            settings.insert(key, value);
        }
        let repeats = settings
            .get("repeats")
            .map(|v| parse_number("--repeats", v));
        Config {
            ops: settings.get("ops").map(|v| parse_list(v)),
            log2_sizes: settings.get("sizes").map_or(vec![24, 16], |v| {
                parse_list(v)
                    .iter()
                    .map(|s| parse_number("--sizes", s))
                    .collect()
            }),
            dirs: settings
                .get("dirs")
                .map_or(vec![Direction::Forward, Direction::Backward], |v| {
                    parse_dirs(v)
                }),
            repeats_large: settings
                .get("repeats-large")
                .map(|v| parse_number("--repeats-large", v))
                .or(repeats)
                .unwrap_or(15),
            repeats_small: settings
                .get("repeats-small")
                .map(|v| parse_number("--repeats-small", v))
                .or(repeats)
                .unwrap_or(51),
            warmup: settings
                .get("warmup")
                .map_or(2, |v| parse_number("--warmup", v))
                .max(1),
            accuracy: settings.get("accuracy").is_none_or(|v| v != "0"),
            timing: settings.get("timing").is_none_or(|v| v != "0"),
            softmax: settings.contains_key("softmax"),
        }
    }

    fn repeats(&self, log2: u32) -> u32 {
        if log2 >= LARGE_LOG2 {
            self.repeats_large
        } else {
            self.repeats_small
        }
    }
}

/// Today's date (UTC), from the system clock.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Our crate's commit, if the checkout is a git work tree.
fn our_commit() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&[
                "status",
                "--porcelain",
                "--",
                "src",
                "shaders",
                "Cargo.toml",
            ])
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}, with uncommitted changes")
            } else {
                rev
            }
        }
        None => "unknown commit".into(),
    }
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn gbs(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

fn fmt_gbs(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_ms(t: Duration) -> String {
    let ms = t.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

fn fmt_err(e: f64) -> String {
    if e == 0.0 {
        "0".into()
    } else if e.is_infinite() {
        "inf".into()
    } else {
        format!("{e:.1e}")
    }
}

fn fmt_max(m: &MaxError) -> String {
    if m.error == 0.0 {
        "0".into()
    } else {
        format!(
            "{} at x = {:e} (gave {:e})",
            fmt_err(m.error),
            m.at,
            m.value
        )
    }
}

/// The results of one op and direction over the accuracy sweep.
struct Evaluated {
    ours: Vec<f32>,
    burn: Vec<f32>,
}

fn main() {
    let config = Config::from_env_and_args();
    let all = ops::all();
    let selected: Vec<&Op> = match &config.ops {
        None => all.iter().collect(),
        Some(names) => names
            .iter()
            .map(|n| {
                all.iter().find(|op| op.name == n).unwrap_or_else(|| {
                    eprintln!("error: unknown op {n:?}\n{USAGE}");
                    std::process::exit(2)
                })
            })
            .collect(),
    };
    let started = Instant::now();
    let (cache_dir, cache_reused) = pin_cubecl_cache();

    let ours = Ours::new().unwrap_or_else(|e| {
        eprintln!("error: wgpu-activations: {e}");
        std::process::exit(1)
    });
    let burn = Burn::new();
    let ours_adapter = ours.ctx.adapter_description();
    let burn_adapter = burn.adapter_name();
    eprintln!("ours: {ours_adapter}\nburn: {burn_adapter}");
    if !ours_adapter.starts_with(&burn_adapter) {
        eprintln!("warning: the two libraries are on different adapters");
    }
    if config.softmax {
        println!("adapter: {ours_adapter}; burn 0.22.1; {}", today());
        softmax::run(
            &ours.ctx,
            &burn.device,
            config.warmup,
            config.repeats_large,
        );
        return;
    }

    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "# wgpu-activations vs burn: activation throughput and accuracy\n"
    )
    .unwrap();
    writeln!(w, "- Date: {} (UTC)", today()).unwrap();
    writeln!(w, "- Adapter (ours): `{ours_adapter}`").unwrap();
    writeln!(
        w,
        "- Adapter (burn, `Device::identity()`): `{burn_adapter}`"
    )
    .unwrap();
    writeln!(
        w,
        "- Versions: wgpu-activations {} ({}), burn {} (burn-wgpu {}, cubecl-wgpu {}; default \
         features: fusion and autotune on, WGSL), wgpu {}",
        env!("PEERS_LOCK_WGPU_ACTIVATIONS"),
        our_commit(),
        env!("PEERS_LOCK_BURN"),
        env!("PEERS_LOCK_BURN_WGPU"),
        env!("PEERS_LOCK_CUBECL_WGPU"),
        env!("PEERS_LOCK_WGPU"),
    )
    .unwrap();
    writeln!(
        w,
        "- cubecl cache (burn's persistent autotune results): `{}`, {}",
        cache_dir.display(),
        if cache_reused {
            "reused from an earlier run (burn's first calls skip the autotune it remembers)"
        } else {
            "empty before this run (burn's first calls include autotuning)"
        }
    )
    .unwrap();
    writeln!(
        w,
        "- Host: {} CPU threads available to the process{}; load average (1, 5, 15 min) at the \
         start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("LP_NUM_THREADS").map_or(String::new(), |v| format!(", LP_NUM_THREADS={v}")),
        load_average()
    )
    .unwrap();
    writeln!(
        w,
        "- Timing: f32, x[i] = (i mod 4096) / 256 - 8 (in [-8, 8)), g[i] = 0.5 + 0.25 (i mod 4); \
         {} warm-up call(s) per library (the first is reported as \"first\"), then the median \
         of {} (sizes >= 2^{LARGE_LOG2}) or {} (smaller) timed calls per library, ours and \
         burn interleaved (alternating which goes first), one op per call, wall clock from \
         recording/launch to completion. Ours: record into a new encoder, submit, \
         `device.poll(wait)`. Burn forward: `op(x)` then `device.sync()`. Burn backward: \
         `loss = (op(x) * g).sum()` built and run untimed, then `loss.backward()`, `x.grad()`, \
         `device.sync()` timed. GB/s = (2 forward, 3 backward) x 4 bytes x n / median time.",
        config.warmup, config.repeats_large, config.repeats_small
    )
    .unwrap();
    writeln!(
        w,
        "- Accuracy: max over a sweep ({} points: [-20, 20] step 1/256, 8 points per octave \
         over 2^-40..1 on both signs, decades 1e-1..1e-37, tails +-20.5..+-1e4 incl. +-88, \
         +-100, +-1e3, and +-0) of `|a - r| / max(|r|, 2^-126)`, `a` the library's f32 result, \
         `r` the unrounded f64 reference (wgpu-activations' CPU reference; backward: \
         `g * f'(x)` with g = 0.5, 0.75, 1, 1.25 in turn), taking the smaller of the errors \
         against the IEEE and the flush-to-zero reference (WGSL lets a device flush \
         subnormals). NaN against a number, or a wrong infinity, is `inf`. Rounding the exact \
         value to f32 alone costs up to 6e-8. Backward errors leave out the kinks (x where f \
         has no derivative; listed at the end with the value each library picks).",
        accuracy::sweep().len()
    )
    .unwrap();
    writeln!(
        w,
        "- Ops burn 0.22.1 lacks (not timed): {}",
        ops::BURN_LACKS.join(", ")
    )
    .unwrap();
    writeln!(w).unwrap();

    // Accuracy first: it is quick and fails fast.
    let xs = accuracy::sweep();
    let gs = accuracy::sweep_grad(xs.len());
    let mut evaluated: HashMap<(&str, &str), Evaluated> = HashMap::new();
    if config.accuracy {
        for op in &selected {
            for &dir in &config.dirs {
                eprintln!("accuracy: {} {}", op.name, dir.name());
                evaluated.insert(
                    (op.name, dir.name()),
                    Evaluated {
                        ours: ours.evaluate(&op.ours, dir, &xs, &gs),
                        burn: burn.evaluate(op, dir, &xs, &gs),
                    },
                );
            }
        }
    }
    // Backward errors leave out the kinks, where any subgradient is valid.
    let max_of = |op: &Op, dir: Direction, keep: &dyn Fn(f32) -> bool| {
        let e = evaluated.get(&(op.name, dir.name()))?;
        let backward = dir == Direction::Backward;
        let keep = |x: f32| keep(x) && !(backward && op.kinks.contains(&x));
        Some((
            max_error(&op.ours, backward, &xs, &gs, &e.ours, keep),
            max_error(&op.ours, backward, &xs, &gs, &e.burn, keep),
        ))
    };

    // Timing.
    let mut timings: HashMap<(&str, &str, u32), (Timing, Timing)> = HashMap::new();
    if config.timing {
        for &log2 in &config.log2_sizes {
            let n = 1usize << log2;
            let x: Vec<f32> = (0..n).map(|i| (i % 4096) as f32 / 256.0 - 8.0).collect();
            let g = accuracy::sweep_grad(n);
            let buffers = ours.buffers(&x, &g).expect("upload");
            let repeats = config.repeats(log2);
            for op in &selected {
                for &dir in &config.dirs {
                    let (t_ours, t_burn) = sides::measure_pair(
                        config.warmup,
                        repeats,
                        ours.sampler(&op.ours, dir, &buffers),
                        burn.sampler(op, dir, &x, &g),
                    );
                    let bytes = dir.tensors_moved() * 4 * n as u64;
                    eprintln!(
                        "[{:>6.0} s] 2^{log2} {:<11} {:<8} ours {:>8} ms {:>7} GB/s | burn {:>8} ms \
                         {:>7} GB/s | ours/burn {:.2}",
                        started.elapsed().as_secs_f64(),
                        op.name,
                        dir.name(),
                        fmt_ms(t_ours.median),
                        fmt_gbs(gbs(bytes, t_ours.median)),
                        fmt_ms(t_burn.median),
                        fmt_gbs(gbs(bytes, t_burn.median)),
                        t_burn.median.as_secs_f64() / t_ours.median.as_secs_f64(),
                    );
                    timings.insert((op.name, dir.name(), log2), (t_ours, t_burn));
                }
            }
        }
    }

    // The main table: one row per op and direction.
    writeln!(w, "## Throughput (GB/s, median) and max relative error\n").unwrap();
    let mut header = String::from("| op: ours / burn | dir |");
    let mut rule = String::from("|---|---|");
    if config.timing {
        for log2 in &config.log2_sizes {
            write!(
                header,
                " ours 2^{log2} | burn 2^{log2} | ours/burn 2^{log2} |"
            )
            .unwrap();
            rule.push_str("---:|---:|---:|");
        }
    }
    if config.accuracy {
        header.push_str(" ours max rel err | burn max rel err |");
        rule.push_str("---:|---:|");
    }
    writeln!(w, "{header}\n{rule}").unwrap();
    for op in &selected {
        for &dir in &config.dirs {
            let mut row = format!("| {} / `{}` | {} |", op.ours, op.burn_call, dir.name());
            if config.timing {
                for &log2 in &config.log2_sizes {
                    let (o, b) = timings[&(op.name, dir.name(), log2)];
                    let bytes = dir.tensors_moved() * 4 * (1u64 << log2);
                    write!(
                        row,
                        " {} | {} | {:.2} |",
                        fmt_gbs(gbs(bytes, o.median)),
                        fmt_gbs(gbs(bytes, b.median)),
                        b.median.as_secs_f64() / o.median.as_secs_f64()
                    )
                    .unwrap();
                }
            }
            if let Some((o, b)) = max_of(op, dir, &|_| true) {
                write!(row, " {} | {} |", fmt_err(o.error), fmt_err(b.error)).unwrap();
            }
            writeln!(w, "{row}").unwrap();
        }
    }
    writeln!(w).unwrap();

    if config.timing {
        writeln!(
            w,
            "## Times (ms): median [min, max] of the timed calls, and the first call\n"
        )
        .unwrap();
        writeln!(
            w,
            "| op | dir | size | ours median [min, max] | ours first | burn median [min, max] | burn first |"
        )
        .unwrap();
        writeln!(w, "|---|---|---|---:|---:|---:|---:|").unwrap();
        for &log2 in &config.log2_sizes {
            for op in &selected {
                for &dir in &config.dirs {
                    let (o, b) = timings[&(op.name, dir.name(), log2)];
                    writeln!(
                        w,
                        "| {} | {} | 2^{log2} | {} [{}, {}] | {} | {} [{}, {}] | {} |",
                        op.name,
                        dir.name(),
                        fmt_ms(o.median),
                        fmt_ms(o.min),
                        fmt_ms(o.max),
                        fmt_ms(o.first),
                        fmt_ms(b.median),
                        fmt_ms(b.min),
                        fmt_ms(b.max),
                        fmt_ms(b.first),
                    )
                    .unwrap();
                }
            }
        }
        writeln!(w).unwrap();
    }

    if config.accuracy {
        writeln!(w, "## Where the largest errors are\n").unwrap();
        writeln!(
            w,
            "| op | dir | ours: max (all) | burn: max (all) | ours: max for abs(x) <= 1 | burn: max for abs(x) <= 1 |"
        )
        .unwrap();
        writeln!(w, "|---|---|---|---|---|---|").unwrap();
        for op in &selected {
            for &dir in &config.dirs {
                if let (Some((oa, ba)), Some((on, bn))) = (
                    max_of(op, dir, &|_| true),
                    max_of(op, dir, &|x: f32| x.abs() <= 1.0),
                ) {
                    writeln!(
                        w,
                        "| {} | {} | {} | {} | {} | {} |",
                        op.name,
                        dir.name(),
                        fmt_max(&oa),
                        fmt_max(&ba),
                        fmt_max(&on),
                        fmt_max(&bn)
                    )
                    .unwrap();
                }
            }
        }
        writeln!(w).unwrap();
        claims(w, &selected, &xs, &gs, &evaluated);
        kinks(w, &selected, &xs, &gs, &evaluated);
        non_finite_results(w, &selected, &config.dirs, &xs, &gs, &evaluated);
    }

    writeln!(
        w,
        "Total run time: {:.0} s; load average at the end: {}.",
        started.elapsed().as_secs_f64(),
        load_average()
    )
    .unwrap();
    print!("{out}");
}

/// A labelled set of inputs.
type Band = (String, Box<dyn Fn(f32) -> bool>);

/// A table of the forward max relative error of `ops`, burn beside ours, per band of inputs.
fn band_table(
    w: &mut String,
    ops: &[&Op],
    bands: &[Band],
    xs: &[f32],
    gs: &[f32],
    evaluated: &HashMap<(&str, &str), Evaluated>,
) {
    let mut header = String::from("| x |");
    let mut rule = String::from("|---|");
    for op in ops {
        write!(header, " burn {0} | ours {0} |", op.name).unwrap();
        rule.push_str("---:|---:|");
    }
    writeln!(w, "{header}\n{rule}").unwrap();
    for (label, keep) in bands {
        let mut row = format!("| {label} |");
        for op in ops {
            let e = &evaluated[&(op.name, "forward")];
            for results in [&e.burn, &e.ours] {
                let m = max_error(&op.ours, false, xs, gs, results, keep);
                write!(row, " {} |", fmt_err(m.error)).unwrap();
            }
        }
        writeln!(w, "{row}").unwrap();
    }
    writeln!(w).unwrap();
}

/// The issue's claims about burn, checked on this run's sweep.
fn claims(
    w: &mut String,
    selected: &[&Op],
    xs: &[f32],
    gs: &[f32],
    evaluated: &HashMap<(&str, &str), Evaluated>,
) {
    writeln!(w, "## The issue's claims about burn, checked\n").unwrap();
    let find = |name: &str| selected.iter().find(|op| op.name == name).copied();
    let has_forward = |op: &&Op| evaluated.contains_key(&(op.name, "forward"));

    if let Some(gelu) = find("gelu").filter(has_forward) {
        writeln!(
            w,
            "Claim 1, \"burn's erf-gelu loses relative accuracy for x < -5\". Forward max \
             relative error of gelu (erf) by range of x:\n"
        )
        .unwrap();
        let mut bands: Vec<Band> = vec![("x >= 0".into(), Box::new(|x: f32| x >= 0.0))];
        for k in 0..6 {
            let (lo, hi) = (-(k as f32) - 1.0, 0.0 - k as f32);
            bands.push((
                format!("[{lo}, {hi})"),
                Box::new(move |x: f32| x >= lo && x < hi),
            ));
        }
        bands.push((
            "[-10, -6)".into(),
            Box::new(|x: f32| (-10.0..-6.0).contains(&x)),
        ));
        bands.push(("x < -10".into(), Box::new(|x: f32| x < -10.0)));
        band_table(w, &[gelu], &bands, xs, gs, evaluated);
    }

    if let (Some(gelu), Some(e)) = (find("gelu"), evaluated.get(&("gelu", "backward"))) {
        let tanh = Activation::Gelu {
            approximate: GeluApproximate::Tanh,
        };
        let within = |x: f32| x.abs() <= 3.0;
        writeln!(
            w,
            "Claim 2, \"burn's gelu backward is the tanh approximation's derivative\". Max \
             absolute error of the derivative, `|dx - g f'(x)| / g`, over abs(x) <= 3 (an \
             absolute measure, since f' crosses 0 at x = -0.75):\n\n\
             | against | burn | ours |\n|---|---|---|\n\
             | erf gelu's derivative (the op asked for) | {} | {} |\n\
             | tanh approximation's derivative | {} | {} |\n",
            fmt_max(&max_derivative_abs_error(
                &gelu.ours, xs, gs, &e.burn, within
            )),
            fmt_max(&max_derivative_abs_error(
                &gelu.ours, xs, gs, &e.ours, within
            )),
            fmt_max(&max_derivative_abs_error(&tanh, xs, gs, &e.burn, within)),
            fmt_max(&max_derivative_abs_error(&tanh, xs, gs, &e.ours, within)),
        )
        .unwrap();
    }

    let near: Vec<&Op> = ["elu", "tanh"]
        .iter()
        .filter_map(|n| find(n))
        .filter(has_forward)
        .collect();
    if !near.is_empty() {
        writeln!(
            w,
            "Claim 3, \"burn's elu and tanh are off by up to 6.5e-6 relative near 0\". Forward \
             max relative error by decade of abs(x) (last row: only the multiples of 1/256 in \
             [-1, 1], a plain grid):\n"
        )
        .unwrap();
        let mut bands: Vec<Band> = vec![(
            "abs(x) in [0.1, 1]".into(),
            Box::new(|x: f32| (0.1..=1.0).contains(&x.abs())),
        )];
        for k in 1..8 {
            let hi = 10f32.powi(-k);
            let lo = 10f32.powi(-k - 1);
            bands.push((
                format!("abs(x) in [1e-{}, 1e-{k})", k + 1),
                Box::new(move |x: f32| x.abs() >= lo && x.abs() < hi),
            ));
        }
        bands.push((
            "abs(x) in (0, 1e-8)".into(),
            Box::new(|x: f32| x != 0.0 && x.abs() < 1e-8),
        ));
        bands.push((
            "k/256 in [-1, 1]".into(),
            Box::new(|x: f32| x.abs() <= 1.0 && (x * 256.0).fract() == 0.0),
        ));
        band_table(w, &near, &bands, xs, gs, evaluated);
    }
}

/// The gradient each library gives at the kinks, beside PyTorch's choice.
fn kinks(
    w: &mut String,
    selected: &[&Op],
    xs: &[f32],
    gs: &[f32],
    evaluated: &HashMap<(&str, &str), Evaluated>,
) {
    let rows: Vec<String> = selected
        .iter()
        .filter(|op| !op.kinks.is_empty())
        .filter_map(|op| {
            let e = evaluated.get(&(op.name, "backward"))?;
            let mut row = String::new();
            for &k in op.kinks {
                let Some(i) = xs.iter().position(|&x| x.to_bits() == k.to_bits()) else {
                    continue;
                };
                let g = gs[i];
                let reference =
                    reference::reference(&op.ours, k, Some(g), ops::PRELU_WEIGHT, false);
                writeln!(
                    row,
                    "| {} | {k} | {} | {} | {} |",
                    op.name,
                    (reference / f64::from(g)) as f32,
                    e.ours[i] / g,
                    e.burn[i] / g,
                )
                .unwrap();
            }
            Some(row)
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    writeln!(
        w,
        "## Gradient at the kinks (f'(x) = dx / g; any subgradient is valid, so these points \
         are left out of the backward errors)\n\n\
         | op | x | PyTorch (reference) | ours | burn |\n|---|---|---:|---:|---:|"
    )
    .unwrap();
    for row in rows {
        w.push_str(&row);
    }
    writeln!(w).unwrap();
}

/// Ops and directions where a library gives NaN or an infinity for a finite reference.
fn non_finite_results(
    w: &mut String,
    selected: &[&Op],
    dirs: &[Direction],
    xs: &[f32],
    gs: &[f32],
    evaluated: &HashMap<(&str, &str), Evaluated>,
) {
    writeln!(
        w,
        "## NaN or infinity where the reference is finite (points of the sweep)\n"
    )
    .unwrap();
    let mut any = false;
    for op in selected {
        for &dir in dirs {
            let Some(e) = evaluated.get(&(op.name, dir.name())) else {
                continue;
            };
            let backward = dir == Direction::Backward;
            for (lib, results) in [("ours", &e.ours), ("burn", &e.burn)] {
                if let Some((count, smallest)) = non_finite(&op.ours, backward, xs, gs, results) {
                    any = true;
                    writeln!(
                        w,
                        "- {lib}: {} {}: {count} points, from abs(x) = {smallest:e}",
                        op.name,
                        dir.name()
                    )
                    .unwrap();
                }
            }
        }
    }
    if !any {
        writeln!(w, "- none").unwrap();
    }
    writeln!(w).unwrap();
}

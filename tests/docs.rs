//! The README's tables of ops and tolerances are generated from the op
//! definitions (`Activation::OPS`): a new op without its rows, or a changed
//! tolerance, fails here. `BLESS=1 cargo test --test docs` rewrites them.

use std::path::Path;

use wgpu_activations::activation::{OpInfo, ParameterKind, ParameterValue};
use wgpu_activations::Activation;

/// `| a | b |` rows (a `|` inside a cell is escaped).
fn row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// The op's parameters with their defaults, as PyTorch writes them.
fn parameters(info: &OpInfo) -> String {
    let listed: Vec<String> = info
        .parameters
        .iter()
        .map(|p| {
            let default = info.default_value(p.name).unwrap();
            format!("`{} = {default}`", p.name)
        })
        .collect();
    if info.default.uses_weight() {
        return "weight tensor (1 value, or one per channel: dimension 1)".into();
    }
    listed.join(", ")
}

fn ops_table() -> String {
    let mut out = row(&[
        "op".into(),
        "parameters (defaults)".into(),
        "f(x)".into(),
        "gradient at the kinks".into(),
    ]);
    out.push_str("|---|---|---|---|\n");
    for info in Activation::OPS {
        out.push_str(&row(&[
            format!("`{}`", info.name),
            parameters(info),
            format!("`{}`", info.summary),
            info.kinks.to_string(),
        ]));
    }
    out
}

/// The op with its defaults, and with each other value of its flags and
/// choices (rrelu's `training`, gelu's `approximate`), where the tolerances
/// differ.
fn variants(info: &OpInfo) -> Vec<(String, Activation)> {
    let mut variants = vec![(info.name.to_string(), info.default)];
    for p in info.parameters {
        let others: Vec<ParameterValue> = match p.kind {
            ParameterKind::Flag => vec![ParameterValue::Flag(true)],
            ParameterKind::Choice(names) => names[1..]
                .iter()
                .map(|n| ParameterValue::Choice(n))
                .collect(),
            _ => vec![],
        };
        for value in others {
            let op = info.default.set_parameter(p.name, value).unwrap();
            let same = variants.iter().any(|(_, v)| {
                v.forward_tolerance() == op.forward_tolerance()
                    && v.backward_tolerance() == op.backward_tolerance()
            });
            if !same {
                variants.push((
                    format!("{} ({}={})", info.name, p.name, value.to_text()),
                    op,
                ));
            }
        }
    }
    variants
}

fn accuracy_table() -> String {
    let mut out = row(&[
        "op".into(),
        "forward".into(),
        "backward".into(),
        "where the error comes from".into(),
    ]);
    out.push_str("|---|---|---|---|\n");
    for info in Activation::OPS {
        for (name, op) in variants(info) {
            out.push_str(&row(&[
                format!("`{name}`"),
                op.forward_tolerance().to_string(),
                op.backward_tolerance().to_string(),
                info.accuracy.to_string(),
            ]));
        }
    }
    out
}

/// Checks (or with BLESS, writes) the text between the README's markers
/// `<!-- generated: NAME -->` and `<!-- end: NAME -->`.
fn check_section(readme: &mut String, name: &str, table: &str) {
    let begin =
        format!("<!-- generated: {name} (tests/docs.rs; BLESS=1 cargo test --test docs) -->\n");
    let end = format!("<!-- end: {name} -->");
    let start = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.md lacks the marker {begin}"))
        + begin.len();
    let stop = start
        + readme[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("README.md lacks the marker {end}"));
    if std::env::var_os("BLESS").is_some() {
        readme.replace_range(start..stop, table);
        return;
    }
    assert!(
        readme[start..stop] == *table,
        "README.md's {name} table is not the one the op definitions give: \
         run `BLESS=1 cargo test --test docs`.\nExpected:\n{table}"
    );
}

#[test]
fn readme_tables_are_generated_from_the_definitions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let mut readme = std::fs::read_to_string(&path).unwrap();
    check_section(&mut readme, "ops", &ops_table());
    check_section(&mut readme, "accuracy", &accuracy_table());
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, readme).unwrap();
    }
}

#[test]
fn every_op_has_rows_in_the_tables() {
    let (ops, accuracy) = (ops_table(), accuracy_table());
    for info in Activation::OPS {
        let cell = format!("| `{}", info.name);
        assert!(ops.contains(&cell), "{}", info.name);
        assert!(accuracy.contains(&cell), "{}", info.name);
    }
    // rrelu's training mode has its own tolerances, so its own row.
    assert!(accuracy.contains("`rrelu (training=true)`"), "{accuracy}");
}

//! Reads the versions this build resolved from Cargo.lock, for the report.

fn main() {
    println!("cargo::rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for wanted in [
        "burn",
        "burn-wgpu",
        "cubecl-wgpu",
        "wgpu",
        "wgpu-activations",
    ] {
        let mut versions: Vec<&str> = Vec::new();
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line.trim() == format!("name = \"{wanted}\"") {
                if let Some(v) = lines
                    .next()
                    .and_then(|l| l.trim().strip_prefix("version = "))
                {
                    versions.push(v.trim_matches('"'));
                }
            }
        }
        let key = wanted.replace('-', "_").to_uppercase();
        let value = if versions.is_empty() {
            "?".to_string()
        } else {
            versions.join(" + ")
        };
        println!("cargo::rustc-env=PEERS_LOCK_{key}={value}");
    }
}

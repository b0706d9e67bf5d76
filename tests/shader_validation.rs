//! Every WGSL module the crate can build is parsed and validated by naga: no
//! GPU needed, so shader errors are caught on any machine.

use wgpu_activations::shaders::{self, DType, OpFamily, StorageLayout};

fn validate(name: &str, source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
}

#[test]
fn every_elementwise_module_validates() {
    for family in OpFamily::ALL {
        for layout in StorageLayout::ALL {
            let source = shaders::elementwise_module(family, layout);
            validate(&format!("{family:?} / {layout:?}"), &source);
            for entry in ["fn forward(", "fn backward("] {
                assert!(
                    source.contains(entry),
                    "{family:?} / {layout:?} lacks {entry}"
                );
            }
            for constant in ["override OP", "override FROM_OUTPUT"] {
                assert!(source.contains(constant), "{family:?} lacks {constant}");
            }
        }
    }
}

#[test]
fn prelu_weight_grad_modules_validate() {
    for dtype in [DType::F32, DType::F16] {
        validate(
            &format!("prelu_weight_grad {dtype:?}"),
            &shaders::prelu_weight_grad_module(dtype),
        );
    }
}

#[test]
fn shader_constants_match_host_constants() {
    assert!(shaders::COMMON.contains(&format!(
        "const WORKGROUP_SIZE: u32 = {}u;",
        shaders::WORKGROUP_SIZE
    )));
    assert!(shaders::PRELU_WEIGHT_GRAD.contains(&format!(
        "const CHUNK: u32 = {}u;",
        shaders::WEIGHT_GRAD_CHUNK
    )));
}

#[test]
fn no_kernel_uses_nan_unsafe_builtins() {
    // WGSL's max/min/clamp are indeterminate on NaN; kernels must use select.
    let mut sources = vec![
        shaders::COMMON,
        shaders::PRELU_WEIGHT_GRAD,
        shaders::REDUCE_F32,
        shaders::REDUCE_F16,
    ];
    sources.extend(OpFamily::ALL.iter().map(|f| f.source()));
    sources.extend(StorageLayout::ALL.iter().map(|l| l.source()));
    for source in sources {
        for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for builtin in ["max(", "min(", "clamp("] {
                let uses = line.match_indices(builtin).any(|(i, _)| {
                    i == 0
                        || !line.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && line.as_bytes()[i - 1] != b'_'
                });
                assert!(!uses, "NaN-unsafe builtin {builtin} in: {line}");
            }
        }
    }
}

//! The public WGSL library ([`wgpu_activations::wgsl`]) is parsed and
//! validated by naga, whole and op by op: no GPU needed, so shader errors are
//! caught on any machine. (Every kernel module is validated by the library's
//! unit tests.) Also: the shipped `.wgsl` files are the library's text, every
//! op's functions exist with the documented names and parameters, and no
//! shader uses WGSL's NaN-indeterminate `max`/`min`/`clamp`.

use std::path::Path;

use wgpu_activations::activation::ParameterValue;
use wgpu_activations::{wgsl, Activation, GeluApproximate};

fn validate(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
    module
}

/// Every op with parameters that select each of its WGSL functions.
fn every_function_op() -> Vec<Activation> {
    let mut ops = Activation::all_defaults();
    ops.push(Activation::Rrelu {
        lower: 0.1,
        upper: 0.3,
        training: true,
        seed: 7,
    });
    ops.push(Activation::Gelu {
        approximate: GeluApproximate::Tanh,
    });
    ops
}

fn function<'a>(module: &'a naga::Module, name: &str) -> Option<&'a naga::Function> {
    module
        .functions
        .iter()
        .map(|(_, f)| f)
        .find(|f| f.name.as_deref() == Some(name))
}

fn argument_names(f: &naga::Function) -> Vec<String> {
    f.arguments
        .iter()
        .map(|a| a.name.clone().unwrap_or_default())
        .collect()
}

#[test]
fn the_whole_library_validates() {
    validate("source()", wgsl::source());
    validate("source_f16()", wgsl::source_f16());
}

#[test]
fn each_ops_functions_validate_alone() {
    for op in every_function_op() {
        validate(&format!("function({op})"), &wgsl::function(&op));
        validate(&format!("function_f16({op})"), &wgsl::function_f16(&op));
    }
}

#[test]
fn every_op_has_its_documented_functions_and_parameters() {
    let module = validate("source_f16()", wgsl::source_f16());
    for op in every_function_op() {
        let names = wgsl::functions(&op);
        let call = op.wgsl_call();
        assert_eq!(names.forward, call.function);
        let mut stems = vec![
            (names.forward.to_string(), vec!["x"]),
            (names.grad.clone(), vec!["x"]),
            (names.backward.clone(), vec!["x", "grad_output"]),
        ];
        if let Some(from_output) = &names.backward_from_output {
            stems.push((from_output.clone(), vec!["y", "grad_output"]));
        }
        for (stem, leading) in stems {
            let expected: Vec<String> = leading
                .iter()
                .map(|s| s.to_string())
                .chain(call.args.iter().map(|s| s.to_string()))
                .collect();
            for form in ["", "_vec4", "_f16", "_vec4_f16"] {
                let name = format!("{stem}{form}");
                let f = function(&module, &name)
                    .unwrap_or_else(|| panic!("{op}: no WGSL function {name}"));
                let mut arguments = argument_names(f);
                // A wrapper renames a parameter named like the function it calls.
                for a in &mut arguments {
                    if let Some(stripped) = a.strip_suffix('_') {
                        *a = stripped.to_string();
                    }
                }
                assert_eq!(arguments, expected, "{op}: {name}");
            }
        }
        // Every argument of the call is a parameter of the op, or one of the
        // per-element values the kernels provide.
        for arg in call.args {
            assert!(
                matches!(*arg, "weight" | "index")
                    || matches!(
                        op.parameter(arg),
                        Some(ParameterValue::Number(_) | ParameterValue::Integer(_))
                    ),
                "{op}: WGSL argument {arg} is not a parameter"
            );
        }
        assert!(
            !names.signature.is_empty(),
            "{op}: no signature for {}",
            names.forward
        );
    }
}

#[test]
fn helpers_use_the_reserved_prefix() {
    // Every function of the library is an op's public function (in some
    // form) or a `wa_` helper: nothing else can collide with a user's names.
    let module = validate("source_f16()", wgsl::source_f16());
    let public: Vec<String> = every_function_op()
        .iter()
        .flat_map(|op| {
            let names = wgsl::functions(op);
            let mut stems = vec![names.forward.to_string(), names.grad, names.backward];
            stems.extend(names.backward_from_output);
            stems
        })
        .collect();
    for (_, f) in module.functions.iter() {
        let name = f.name.clone().unwrap_or_default();
        let is_public = public.iter().any(|stem| {
            ["", "_vec4", "_f16", "_vec4_f16"]
                .iter()
                .any(|form| name == format!("{stem}{form}"))
        });
        assert!(
            is_public || name.starts_with("wa_"),
            "{name} is neither an op's function nor a wa_ helper"
        );
    }
    for (_, ty) in module.types.iter() {
        if let (Some(name), naga::TypeInner::Struct { .. }) = (&ty.name, &ty.inner) {
            // (naga's own `__frexp_result_f32` and the like are predeclared.)
            assert!(
                name.starts_with("Wa") || name.starts_with("__"),
                "struct {name} lacks the Wa prefix"
            );
        }
    }
}

#[test]
fn shipped_files_are_the_library() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/generated");
    for (file, text) in [
        ("wgpu_activations.wgsl", wgsl::source()),
        ("wgpu_activations_f16.wgsl", wgsl::source_f16()),
    ] {
        let path = dir.join(file);
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let shipped = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to write it)", path.display()));
        assert!(
            shipped == text,
            "{} differs from the library: run `BLESS=1 cargo test --test shader_validation`",
            path.display()
        );
    }
}

#[test]
fn no_shader_uses_nan_unsafe_builtins() {
    // WGSL's max/min/clamp are indeterminate on NaN: shaders use select.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for builtin in ["max(", "min(", "clamp("] {
                let uses = line.match_indices(builtin).any(|(i, _)| {
                    i == 0
                        || !line.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && line.as_bytes()[i - 1] != b'_'
                });
                assert!(
                    !uses,
                    "{}: NaN-unsafe builtin {builtin} in: {line}",
                    path.display()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} shader files found");
}

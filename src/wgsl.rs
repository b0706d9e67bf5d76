//! The activation functions as WGSL, for your own shaders: a matmul or conv
//! epilogue, a fragment shader that evaluates a small MLP, a post-process
//! pass. These are the functions the crate's own kernels call, so the
//! accuracy table of [`crate::activation`] holds for your shaders too.
//!
//! # The functions
//!
//! For every op, with its parameters (PyTorch's names, `f32`) after the
//! per-element arguments:
//!
//! | WGSL function | what it returns |
//! |---|---|
//! | `NAME(x, params...) -> f32` | `f(x)` |
//! | `NAME_grad(x, params...) -> f32` | `f'(x)` (PyTorch's value at the kinks) |
//! | `NAME_backward(x, grad_output, params...) -> f32` | `grad_output * f'(x)`, keeping the far tails exact where the product is a normal number although `f'(x)` alone is not |
//! | `NAME_backward_from_output(y, grad_output, params...) -> f32` | the same from `y = f(x)`, for the ops of [`crate::Activation::backward_from_output_supported`] |
//! | `NAME_vec4(...)`, `NAME_grad_vec4(...)`, ... | the same on `vec4<f32>` (parameters stay `f32`) |
//! | `NAME_f16(...)`, `NAME_vec4_f16(...)`, ... | `f16` / `vec4<f16>` values, f32 arithmetic, one rounding ([`source_f16`] only) |
//!
//! `NAME` is the op's PyTorch name ([`functions`] lists each op's names and
//! signatures), except `gelu_tanh` for `gelu(approximate="tanh")` and
//! `rrelu_training(x, lower, upper, seed: vec2<u32>, index: u32)` for rrelu in
//! training mode (the element's slope drawn from the seed and the element's
//! index). PReLU's `weight` is the element's channel weight. Helpers are named
//! `wa_*` (and `Wa*`, `WA_*`): that prefix is reserved.
//!
//! # Three ways in
//!
//! - **A string**: [`source`] (every function) or [`function`] (what one op
//!   needs), to concatenate with your shader before `create_shader_module`.
//! - **naga_oil** (feature `naga-oil`): [`naga_oil::composable_module`] is a
//!   ready `ComposableModuleDescriptor` with
//!   `#define_import_path wgpu_activations`, for
//!   `#import wgpu_activations::{gelu, silu_vec4}` in Bevy-style shaders.
//! - **Files**: the crate ships `shaders/generated/wgpu_activations.wgsl` and
//!   `shaders/generated/wgpu_activations_f16.wgsl`, the same text as
//!   [`source`] and [`source_f16`] (a test keeps them equal).
//!
//! ```
//! use wgpu_activations::{wgsl, Activation};
//! let shader = format!(
//!     "{}\n@group(0) @binding(0) var<storage, read_write> data: array<vec4<f32>>;\n\
//!      @compute @workgroup_size(64)\n\
//!      fn main(@builtin(global_invocation_id) id: vec3<u32>) {{\n\
//!          data[id.x] = leaky_relu_vec4(data[id.x], 0.2);\n\
//!      }}",
//!     wgsl::function(&Activation::LeakyRelu { negative_slope: 0.2 }),
//! );
//! assert!(shader.contains("fn leaky_relu_vec4("));
//! ```

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::activation::Activation;

/// `shaders/math.wgsl`: the shared helpers (`wa_exp`, `wa_sigmoid`, ...).
pub const MATH_SOURCE: &str = include_str!("../shaders/math.wgsl");
/// `shaders/f16.wgsl`: the f16 rounding helper.
pub const F16_SOURCE: &str = include_str!("../shaders/f16.wgsl");

/// An op family's shader file: its public scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilySource {
    /// The family's name, its file's stem (`rectifier`).
    pub name: &'static str,
    /// The file's text.
    pub source: &'static str,
}

/// Every op family's file under `shaders/`, each beside its CPU twin of the
/// same name under `src/cpu/`.
pub const FAMILIES: [FamilySource; 5] = [
    FamilySource {
        name: "rectifier",
        source: include_str!("../shaders/rectifier.wgsl"),
    },
    FamilySource {
        name: "shrink",
        source: include_str!("../shaders/shrink.wgsl"),
    },
    FamilySource {
        name: "exponential_linear",
        source: include_str!("../shaders/exponential_linear.wgsl"),
    },
    FamilySource {
        name: "logistic",
        source: include_str!("../shaders/logistic.wgsl"),
    },
    FamilySource {
        name: "gelu",
        source: include_str!("../shaders/gelu.wgsl"),
    },
];

/// The WGSL names of one op's functions (see the module docs for what each
/// returns). The vec4 and f16 forms add `_vec4`, `_f16` and `_vec4_f16`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Functions {
    /// `f(x)`: `gelu`.
    pub forward: &'static str,
    /// `f'(x)`: `gelu_grad`.
    pub grad: String,
    /// `grad_output * f'(x)`: `gelu_backward`.
    pub backward: String,
    /// The gradient from the output, where the op allows it.
    pub backward_from_output: Option<String>,
    /// The scalar forward's signature, as declared: `gelu(x: f32) -> f32`.
    pub signature: String,
}

/// The names and forward signature of `op`'s functions.
pub fn functions(op: &Activation) -> Functions {
    let forward = op.wgsl_call().function;
    let signature = library()
        .item(forward)
        .and_then(|item| item.signature.as_ref())
        .map(|s| s.declaration(forward))
        .unwrap_or_default();
    Functions {
        forward,
        grad: format!("{forward}_grad"),
        backward: format!("{forward}_backward"),
        backward_from_output: op
            .backward_from_output_supported()
            .then(|| format!("{forward}_backward_from_output")),
        signature,
    }
}

/// Every function, f32 and vec4 forms: paste it into a shader, or
/// concatenate it with one.
pub fn source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| library().render(None, false))
}

/// Every function with the f16 forms too, starting with `enable f16;` (so it
/// must open the shader; the device needs `wgpu::Features::SHADER_F16`).
pub fn source_f16() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| library().render(None, true))
}

/// What `op` needs and nothing more: its forward, gradient and backward
/// functions (f32 and vec4) with the helpers they call.
pub fn function(op: &Activation) -> String {
    library().render(Some(&op_roots(op, false)), false)
}

/// [`function`] with the f16 forms, starting with `enable f16;`.
pub fn function_f16(op: &Activation) -> String {
    library().render(Some(&op_roots(op, true)), true)
}

/// The public names of `op`'s functions in every form.
fn op_roots(op: &Activation, f16: bool) -> Vec<String> {
    let names = functions(op);
    let mut stems = vec![
        names.forward.to_string(),
        names.grad.clone(),
        names.backward.clone(),
    ];
    stems.extend(names.backward_from_output.clone());
    let mut roots = Vec::new();
    for stem in stems {
        roots.push(format!("{stem}_vec4"));
        if f16 {
            roots.push(format!("{stem}_f16"));
            roots.push(format!("{stem}_vec4_f16"));
        }
        roots.push(stem);
    }
    roots
}

/// The closure of `roots` (item names) as a module, f16 forms included when
/// `f16` is set. For the crate's kernels.
pub(crate) fn closure_source(roots: &[String], f16: bool) -> String {
    library().render(Some(roots), f16)
}

/// naga_oil's composable module of the functions (feature `naga-oil`).
#[cfg(feature = "naga-oil")]
pub mod naga_oil {
    use naga_oil::compose::{ComposableModuleDescriptor, ShaderLanguage};

    /// The import path: `#import wgpu_activations::gelu`.
    pub const IMPORT_PATH: &str = "wgpu_activations";

    /// The module's source: [`super::source`] (or [`super::source_f16`])
    /// under `#define_import_path wgpu_activations`.
    pub fn module_source(f16: bool) -> &'static str {
        use std::sync::OnceLock;
        static F32: OnceLock<String> = OnceLock::new();
        static F16: OnceLock<String> = OnceLock::new();
        let (cell, body) = if f16 {
            (&F16, super::source_f16())
        } else {
            (&F32, super::source())
        };
        cell.get_or_init(|| {
            // The enable directive must stay first; the import path follows it.
            match body.strip_prefix("enable f16;\n") {
                Some(rest) => format!("enable f16;\n#define_import_path {IMPORT_PATH}\n{rest}"),
                None => format!("#define_import_path {IMPORT_PATH}\n{body}"),
            }
        })
    }

    /// A ready descriptor: `composer.add_composable_module(composable_module(false))?`,
    /// then `#import wgpu_activations::{gelu, silu_vec4}` in your shaders.
    /// With `f16`, the composer needs `naga::valid::Capabilities::SHADER_FLOAT16`.
    pub fn composable_module(f16: bool) -> ComposableModuleDescriptor<'static> {
        ComposableModuleDescriptor {
            source: module_source(f16),
            file_path: if f16 {
                "wgpu_activations_f16.wgsl"
            } else {
                "wgpu_activations.wgsl"
            },
            language: ShaderLanguage::Wgsl,
            as_name: None,
            additional_imports: &[],
            shader_defs: Default::default(),
        }
    }
}

/// One top-level declaration of the library: a function, constant, private
/// variable or struct, with the comment lines right above it.
#[derive(Debug)]
struct Item {
    name: String,
    text: String,
    /// Indices of the items it refers to.
    deps: Vec<usize>,
    /// Only in f16 modules.
    f16: bool,
    /// A function's parameters, for the public scalar functions.
    signature: Option<Signature>,
}

/// A scalar function's parameters (name, WGSL type) and return type.
#[derive(Debug, Clone)]
struct Signature {
    parameters: Vec<(String, String)>,
    returns: String,
}

impl Signature {
    fn declaration(&self, name: &str) -> String {
        let parameters: Vec<String> = self
            .parameters
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        format!("{name}({}) -> {}", parameters.join(", "), self.returns)
    }
}

/// The parsed library: the hand-written items of `shaders/`, then the
/// generated `_grad`, `_vec4` and f16 forms.
#[derive(Debug)]
struct Library {
    items: Vec<Item>,
}

fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(Library::parse)
}

/// Whether a parameter varies per element (vec4 and f16 forms change its
/// type) rather than being one of the op's parameters.
fn per_element(name: &str) -> bool {
    matches!(name, "x" | "y" | "grad_output" | "weight" | "index")
}

/// The declarations of a source file, in order. An item starts at a line
/// that begins (column 0) with `fn `, `const `, `var<private> ` or `struct `
/// and ends where its braces close (or at its `;`); the `//` lines right
/// above it belong to it. Other lines (file headers) are dropped.
fn split_items(source: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let keyword = ["fn ", "const ", "var<private> ", "struct "]
            .into_iter()
            .find(|k| line.starts_with(k));
        let Some(keyword) = keyword else {
            if line.starts_with("//") {
                comment.push(line);
            } else {
                comment.clear();
            }
            continue;
        };
        let rest = &line[keyword.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let mut text: Vec<&str> = std::mem::take(&mut comment);
        text.push(line);
        // A function's or struct's braces close it; a constant's `;` ends it.
        let braced = keyword == "fn " || keyword == "struct ";
        let mut depth = brace_depth(line);
        let mut opened = line.contains('{');
        let mut done = if braced {
            opened && depth == 0
        } else {
            line.trim_end().ends_with(';')
        };
        while !done {
            let Some(next) = lines.next() else { break };
            text.push(next);
            depth += brace_depth(next);
            opened |= next.contains('{');
            done = if braced {
                opened && depth == 0
            } else {
                next.trim_end().ends_with(';')
            };
        }
        items.push((name, text.join("\n")));
    }
    items
}

fn brace_depth(line: &str) -> i32 {
    let code = line.split("//").next().unwrap_or("");
    code.matches('{').count() as i32 - code.matches('}').count() as i32
}

/// The identifiers in `text` outside comments.
fn identifiers(text: &str) -> BTreeSet<&str> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                found.insert(word);
            }
        }
    }
    found
}

/// The signature of `fn name(a: T, ...) -> R {`, parameters possibly over
/// several lines.
fn parse_signature(text: &str) -> Option<Signature> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let open = code.find('(')?;
    let close = code.find(')')?;
    let parameters = code[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, ty) = p.split_once(':')?;
            Some((name.trim().to_string(), ty.trim().to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    let after = &code[close + 1..];
    let returns = after
        .split_once("->")?
        .1
        .split('{')
        .next()?
        .trim()
        .to_string();
    Some(Signature {
        parameters,
        returns,
    })
}

impl Library {
    fn parse() -> Library {
        let mut raw: Vec<(String, String, bool)> = Vec::new();
        for (name, text) in split_items(MATH_SOURCE) {
            raw.push((name, text, false));
        }
        for (name, text) in split_items(F16_SOURCE) {
            raw.push((name, text, true));
        }
        let mut public: Vec<(String, Signature)> = Vec::new();
        for family in FAMILIES {
            for (name, text) in split_items(family.source) {
                if !name.starts_with("wa_") && !name.starts_with("Wa") && !name.starts_with("WA_") {
                    if let Some(signature) = parse_signature(&text) {
                        public.push((name.clone(), signature));
                    }
                }
                raw.push((name, text, false));
            }
        }
        // f'(x) from each backward: grad_output = 1.
        let mut grads = Vec::new();
        for (name, signature) in &public {
            let Some(stem) = name.strip_suffix("_backward") else {
                continue;
            };
            let rest: Vec<(String, String)> = signature
                .parameters
                .iter()
                .filter(|(n, _)| n != "grad_output")
                .cloned()
                .collect();
            let args: Vec<String> = signature
                .parameters
                .iter()
                .map(|(n, _)| {
                    if n == "grad_output" {
                        "1.0".to_string()
                    } else {
                        n.clone()
                    }
                })
                .collect();
            let grad = Signature {
                parameters: rest,
                returns: signature.returns.clone(),
            };
            let text = format!(
                "// f'(x) of {stem}: {name} with grad_output = 1.\nfn {} {{\n    return {name}({});\n}}",
                grad.declaration(&format!("{stem}_grad")),
                args.join(", ")
            );
            grads.push((format!("{stem}_grad"), grad, text));
        }
        for (name, signature, text) in grads {
            raw.push((name.clone(), text, false));
            public.push((name, signature));
        }
        // The vec4 and f16 forms of every public function.
        for (name, signature) in &public {
            raw.push((
                format!("{name}_vec4"),
                lane_wrapper(name, signature, "_vec4", "vec4<f32>", "vec4<u32>", None),
                false,
            ));
            raw.push((format!("{name}_f16"), f16_wrapper(name, signature), true));
            raw.push((
                format!("{name}_vec4_f16"),
                lane_wrapper(
                    &format!("{name}_f16"),
                    &f16_signature(signature),
                    "_vec4_f16",
                    "vec4<f16>",
                    "vec4<u32>",
                    Some(name),
                ),
                true,
            ));
        }
        let names: Vec<String> = raw.iter().map(|(n, _, _)| n.clone()).collect();
        let items = raw
            .into_iter()
            .map(|(name, text, f16)| {
                let referenced = identifiers(&text);
                let deps = names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n != name && referenced.contains(n.as_str()))
                    .map(|(i, _)| i)
                    .collect();
                let signature = public
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, s)| s.clone());
                Item {
                    name,
                    text,
                    deps,
                    f16,
                    signature,
                }
            })
            .collect();
        Library { items }
    }

    fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.name == name)
    }

    /// The items reachable from `roots` (every item if `None`), in library
    /// order, f16 items only if `f16`.
    fn render(&self, roots: Option<&[String]>, f16: bool) -> String {
        let mut keep = vec![roots.is_none(); self.items.len()];
        if let Some(roots) = roots {
            let mut stack: Vec<usize> = roots
                .iter()
                .filter_map(|r| self.items.iter().position(|item| item.name == *r))
                .collect();
            while let Some(i) = stack.pop() {
                if !keep[i] {
                    keep[i] = true;
                    stack.extend(&self.items[i].deps);
                }
            }
        }
        let mut out = String::new();
        if f16 {
            out.push_str("enable f16;\n");
        }
        out.push_str(concat!(
            "// wgpu-activations ",
            env!("CARGO_PKG_VERSION"),
            ": activation functions and their gradients (generated; see the crate's `wgsl` module).\n"
        ));
        for (item, kept) in self.items.iter().zip(keep) {
            if kept && (f16 || !item.f16) {
                out.push('\n');
                out.push_str(&item.text);
                out.push('\n');
            }
        }
        out
    }
}

/// `fn {name}{suffix}(...)` applying `name` lane by lane: per-element
/// parameters of type `f32`/`f16` become `value_type`, `u32` ones
/// `index_type`. `doc_name` names the scalar function in the comment.
fn lane_wrapper(
    name: &str,
    signature: &Signature,
    suffix: &str,
    value_type: &str,
    index_type: &str,
    doc_name: Option<&str>,
) -> String {
    let stem = doc_name.unwrap_or(name);
    let wrapper = format!("{stem}{suffix}");
    let rename = |n: &str| {
        if n == name {
            format!("{n}_")
        } else {
            n.to_string()
        }
    };
    let parameters: Vec<String> = signature
        .parameters
        .iter()
        .map(|(n, t)| {
            let ty = if per_element(n) {
                if t == "u32" {
                    index_type
                } else {
                    value_type
                }
            } else {
                t.as_str()
            };
            format!("{}: {ty}", rename(n))
        })
        .collect();
    let lanes: Vec<String> = ["x", "y", "z", "w"]
        .iter()
        .map(|lane| {
            let args: Vec<String> = signature
                .parameters
                .iter()
                .map(|(n, _)| {
                    if per_element(n) {
                        format!("{}.{lane}", rename(n))
                    } else {
                        rename(n)
                    }
                })
                .collect();
            format!("{name}({})", args.join(", "))
        })
        .collect();
    format!(
        "// {stem} on each lane.\nfn {wrapper}({}) -> {value_type} {{\n    return {value_type}(\n        {},\n    );\n}}",
        parameters.join(", "),
        lanes.join(",\n        ")
    )
}

/// The f16 form's signature: per-element `f32` parameters become `f16`.
fn f16_signature(signature: &Signature) -> Signature {
    Signature {
        parameters: signature
            .parameters
            .iter()
            .map(|(n, t)| {
                let ty = if per_element(n) && t == "f32" {
                    "f16".to_string()
                } else {
                    t.clone()
                };
                (n.clone(), ty)
            })
            .collect(),
        returns: "f16".into(),
    }
}

/// `fn {name}_f16(...)`: widened arguments, f32 arithmetic, one rounding.
fn f16_wrapper(name: &str, signature: &Signature) -> String {
    let rename = |n: &str| {
        if n == name {
            format!("{n}_")
        } else {
            n.to_string()
        }
    };
    let half = f16_signature(signature);
    let parameters: Vec<String> = half
        .parameters
        .iter()
        .map(|(n, t)| format!("{}: {t}", rename(n)))
        .collect();
    let args: Vec<String> = half
        .parameters
        .iter()
        .map(|(n, t)| {
            if t == "f16" {
                format!("f32({})", rename(n))
            } else {
                rename(n)
            }
        })
        .collect();
    format!(
        "// {name} on f16 values: f32 arithmetic, one rounding.\nfn {name}_f16({}) -> f16 {{\n    return wa_narrow_f16({name}({}));\n}}",
        parameters.join(", "),
        args.join(", ")
    )
}

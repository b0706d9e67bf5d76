//! How the gated kernels' WGSL is put together (private): the parameter
//! block `GatedParams`, the workgroup size, the library functions of the
//! op's activation (the elementwise ones, [`crate::wgsl`]), the scalar
//! storage prelude, the bindings of the layout (joined halves or two
//! tensors; forward or backward), the template `shaders/gated.wgsl` and the
//! op's glue. Parameters travel in a uniform buffer: the text depends on the
//! activation's function, the gate, the element type, the layout and the
//! direction, never on the shape or parameter values.

use super::{kernel_arguments, preamble, strip_enable, StorageLayout};
use crate::activation::WgslCall;
use crate::gated::{GatedActivation, Half};
use crate::tensor::DType;

/// `shaders/gated.wgsl`.
const TEMPLATE: &str = include_str!("../../shaders/gated.wgsl");

uniform_struct! {
    /// The gated kernels' parameter block: one dispatch over bound windows.
    GatedParams as "GatedParams" {
        /// Output elements of the dispatch.
        len: u32,
        /// Global index of the dispatch's first output element.
        first_output: u32,
        /// Joined halves: elements in one half of a block (`d * inner`).
        half: u32,
        /// Global index of the first element of the joined input's window
        /// (and its gradient's).
        in_window: u32,
        /// Global index of the first element of the output's window (and of
        /// the gradient of the output's, and the separate halves').
        out_window: u32,
        /// The activation's numbers, in the order of its `WgslCall::args`.
        p0: f32,
        p1: f32,
        p2: f32,
        p3: f32,
        /// The fused bias: its length (the input's size along its
        /// dimension) and the elements of one of its channel blocks.
        bias_channels: u32,
        bias_inner: u32,
        /// `half`'s magic number and shifts (`division_magic`): the first
        /// half's block of an output element without a division.
        half_magic: u32,
        half_shifts: u32,
        /// The same for `bias_inner` and `bias_channels` (shifts packed as
        /// `inner | channels << 16`): an element's bias channel without a
        /// division.
        bias_inner_magic: u32,
        bias_channels_magic: u32,
        bias_shifts: u32,
    }
}

/// Everything the text of a gated module depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct GatedModuleKey {
    pub call: WgslCall,
    pub gate: Half,
    pub dtype: DType,
    pub joined: bool,
    pub backward: bool,
    /// The fused epilogue: a bias added to both halves of the joined input
    /// before the op, a residual added to the forward's output.
    pub bias: bool,
    pub residual: bool,
}

impl GatedModuleKey {
    pub(crate) fn of(op: &GatedActivation, dtype: DType, joined: bool, backward: bool) -> Self {
        GatedModuleKey {
            call: op.activation().wgsl_call(),
            gate: op.gate(),
            dtype,
            joined,
            backward,
            bias: false,
            residual: false,
        }
    }

    /// The same with the fused epilogue's parts.
    pub(crate) fn with_epilogue(self, bias: bool, residual: bool) -> Self {
        GatedModuleKey {
            bias,
            residual,
            ..self
        }
    }
}

/// The bindings of `key`'s layout and their accessors.
fn bindings(key: &GatedModuleKey) -> String {
    let read = |binding: u32, name: &str| {
        format!("@group(0) @binding({binding}) var<storage, read> {name}: array<Stored>;\n")
    };
    let write = |binding: u32, name: &str| {
        format!("@group(0) @binding({binding}) var<storage, read_write> {name}: array<Stored>;\n")
    };
    let mut text = String::from("@group(0) @binding(0) var<uniform> params: GatedParams;\n");
    if key.joined && key.bias {
        // The bias of the input element at window index `i`, by its global
        // index; the sum is f32, rounded once, as in the elementwise kernels.
        text += &read(1, "src");
        text += &read(6, "bias");
        text += &super::division_helpers("bias_");
        text += "fn bias_at(i: u32) -> f32 {\n    \
                 let block = bias_divide(i + params.in_window, params.bias_inner_magic, params.bias_shifts & 0xffffu);\n    \
                 let channel = block - bias_divide(block, params.bias_channels_magic, params.bias_shifts >> 16u) * params.bias_channels;\n    \
                 return widen(bias[channel]);\n}\n\
                 fn read_first(i: u32) -> f32 {\n    return widen(src[i]) + bias_at(i);\n}\n\
                 fn read_second(j: u32) -> f32 {\n    return widen(src[j]) + bias_at(j);\n}\n";
    } else if key.joined {
        text += &read(1, "src");
        text += "fn read_first(i: u32) -> f32 {\n    return widen(src[i]);\n}\n\
                 fn read_second(j: u32) -> f32 {\n    return widen(src[j]);\n}\n";
    } else {
        text += &read(1, "src_first");
        text += &read(2, "src_second");
        text += "fn read_first(i: u32) -> f32 {\n    return widen(src_first[i]);\n}\n\
                 fn read_second(j: u32) -> f32 {\n    return widen(src_second[j]);\n}\n";
    }
    if !key.backward {
        text += &write(4, "dst");
        if key.residual {
            // Output-shaped, at binding 3 (the backward's output gradient).
            text += &read(3, "residual");
            text += "fn write_output(o: u32, v: f32) {\n    \
                     dst[o] = narrow(v + widen(residual[o]));\n}\n";
        } else {
            text += "fn write_output(o: u32, v: f32) {\n    dst[o] = narrow(v);\n}\n";
        }
        return text;
    }
    text += &read(3, "grad");
    text += "fn read_grad(o: u32) -> f32 {\n    return widen(grad[o]);\n}\n";
    if key.joined {
        text += &write(4, "dst");
        text += "fn write_first(i: u32, v: f32) {\n    dst[i] = narrow(v);\n}\n\
                 fn write_second(j: u32, v: f32) {\n    dst[j] = narrow(v);\n}\n";
    } else {
        text += &write(4, "dst_first");
        text += &write(5, "dst_second");
        text += "fn write_first(i: u32, v: f32) {\n    dst_first[i] = narrow(v);\n}\n\
                 fn write_second(j: u32, v: f32) {\n    dst_second[j] = narrow(v);\n}\n";
    }
    text
}

/// The op's glue: its activation applied to the gate, times the value, and
/// the gradients `act_backward(gate, g * value)`, `g * act(gate)`.
fn glue(op: &GatedActivation, key: &GatedModuleKey) -> String {
    let act = op.activation();
    let call = act.wgsl_call();
    let extra: String = kernel_arguments(&act)
        .iter()
        .map(|a| format!(", {a}"))
        .collect();
    let (gate, value) = match key.gate {
        Half::First => ("first", "second"),
        Half::Second => ("second", "first"),
    };
    let (grad_first, grad_second) = match key.gate {
        Half::First => ("grad_gate", "grad_value"),
        Half::Second => ("grad_value", "grad_gate"),
    };
    let f = call.function;
    if key.backward {
        format!(
            "// The op: {op}, backward.\n\
             fn apply_backward(first: f32, second: f32, g: f32) -> Grads {{\n    \
                 let grad_gate = {f}_backward({gate}, g * {value}{extra});\n    \
                 let grad_value = g * {f}({gate}{extra});\n    \
                 return Grads({grad_first}, {grad_second});\n}}\n\
             fn run(o: u32, i: u32, j: u32) {{\n    \
                 let grads = apply_backward(read_first(i), read_second(j), read_grad(o));\n    \
                 write_first(i, grads.first);\n    \
                 write_second(j, grads.second);\n}}\n"
        )
    } else {
        format!(
            "// The op: {op}, forward.\n\
             fn apply_forward(first: f32, second: f32) -> f32 {{\n    \
                 return {f}({gate}{extra}) * {value};\n}}\n\
             fn run(o: u32, i: u32, j: u32) {{\n    \
                 write_output(o, apply_forward(read_first(i), read_second(j)));\n}}\n"
        )
    }
}

/// The complete WGSL of `op`'s gated module for `key` (entry point `main`).
pub(crate) fn gated_module(op: &GatedActivation, key: &GatedModuleKey) -> String {
    let f16 = key.dtype == DType::F16;
    let f = key.call.function;
    let roots = [
        f.to_string(),
        format!("{f}_backward"),
        "wa_narrow_f16".to_string(),
    ];
    [
        preamble(key.dtype, GatedParams::WGSL),
        strip_enable(&crate::wgsl::closure_source(&roots, f16)),
        StorageLayout::Scalar(key.dtype).prelude(),
        format!("const JOINED: bool = {};\n", key.joined),
        super::division_helpers("half_"),
        bindings(key),
        TEMPLATE.to_string(),
        glue(op, key),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, source: &str) -> naga::Module {
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

    #[test]
    fn every_gated_module_validates_with_naga() {
        for info in GatedActivation::OPS {
            let op = info.default;
            for dtype in [DType::F32, DType::F16] {
                for joined in [false, true] {
                    for backward in [false, true] {
                        for (bias, residual) in [(false, false), (true, false), (true, true)] {
                            if (bias && !joined) || (residual && backward) {
                                continue;
                            }
                            let key = GatedModuleKey::of(&op, dtype, joined, backward)
                                .with_epilogue(bias, residual);
                            let module = parse(&format!("{op} {key:?}"), &gated_module(&op, &key));
                            assert_eq!(module.entry_points.len(), 1);
                            assert_eq!(
                                module.entry_points[0].workgroup_size,
                                [super::super::WORKGROUP_SIZE, 1, 1]
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn gated_params_match_their_wgsl_struct() {
        let op = GatedActivation::SiluAndMul;
        let key = GatedModuleKey::of(&op, DType::F32, true, false);
        let module = parse("gated", &gated_module(&op, &key));
        let (_, ty) = module
            .types
            .iter()
            .find(|(_, ty)| ty.name.as_deref() == Some(GatedParams::WGSL_NAME))
            .expect("GatedParams");
        let naga::TypeInner::Struct { members, span } = &ty.inner else {
            panic!("GatedParams is not a struct");
        };
        let wgsl: Vec<(String, usize)> = members
            .iter()
            .map(|m| (m.name.clone().unwrap(), m.offset as usize))
            .collect();
        let rust: Vec<(String, usize)> = GatedParams::layout()
            .into_iter()
            .map(|(n, o)| (n.to_string(), o))
            .collect();
        assert_eq!(wgsl, rust);
        assert_eq!(*span as usize, std::mem::size_of::<GatedParams>());
    }
}

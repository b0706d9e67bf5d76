// The gated kernels: one template for every gated op, element type, layout
// of the halves (joined in one tensor, or two tensors) and direction.
// `src/shaders/gated.rs` puts it together after the parameter block
// `GatedParams`, `WORKGROUP_SIZE`, the library functions of the op's
// activation (the elementwise ones: `silu`, `silu_backward`, ...), the
// scalar storage prelude (`Stored`, `widen`, `narrow`), the bindings with
// their accessors (`read_first`, `read_second`, and `read_grad`,
// `write_first`, `write_second` in backward, `write_output` in forward),
// and before the op's glue (`apply_forward`, `apply_backward`: the
// activation applied to the gate, times the value).
//
// One thread per output element `o` (global index `params.first_output +
// thread`). Joined halves: the first-half partner of `o` is input element
// `o + (o / half) * half` (`o / half` by a multiplication with half's magic
// number: `half_divide`) and the second-half one is `half` further, `half`
// being the elements of one half of a block (`d * inner`); two tensors: both
// are element `o`. Indices are global, minus the start of the bound windows
// (`in_window` for the joined input and its gradient, `out_window` for the
// rest).

struct Grads {
    first: f32,
    second: f32,
}

// Linear thread index over a dispatch folded into a 2-D grid of workgroups.
fn linear_thread(workgroup: vec3<u32>, workgroups: vec3<u32>, local: u32) -> u32 {
    return (workgroup.y * workgroups.x + workgroup.x) * WORKGROUP_SIZE + local;
}

// The index in the bound window of the first-half element of output `o`.
fn first_index(o: u32) -> u32 {
    if (JOINED) {
        return o + half_divide(o, params.half_magic, params.half_shifts) * params.half - params.in_window;
    }
    return o - params.out_window;
}

// The index of the second-half partner of the first-half element `i`.
fn second_index(i: u32) -> u32 {
    if (JOINED) {
        return i + params.half;
    }
    return i;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
) {
    let t = linear_thread(workgroup, workgroups, local);
    if (t >= params.len) {
        return;
    }
    let o = params.first_output + t;
    let i = first_index(o);
    let j = second_index(i);
    run(o - params.out_window, i, j);
}

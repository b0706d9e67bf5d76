// The backward passes of the row kernels (`softmax.wgsl` has the layout,
// the reductions and the numerics), from the forward's output y (`src`) and
// the gradient of the output g (`grad`): softmax `y (g - sum(g y))`, softmin
// its negation (NEGATE), log_softmax `g - exp(y) sum(g)` (LOG_OUTPUT).

@group(0) @binding(2) var<storage, read> grad: array<Stored>;

// The sum of a chunk, each lane's values first, then over the row's lanes:
// sum(g y) (softmax, softmin) or sum(g) (log_softmax).
fn backward_reduce(
    work: Work,
    lane: u32,
    ys: ptr<function, array<f32, PER_THREAD>>,
    gs: ptr<function, array<f32, PER_THREAD>>,
) -> vec2<f32> {
    var sum = vec2<f32>(0.0, 0.0);
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        let inside = in_row(work, j);
        // Without a branch: outside the row, element 0 of the window is read
        // and ignored (on lavapipe a branch per element costs more than the
        // arithmetic).
        let q = select(0u, at(work, j), inside) / VEC;
        let y_loaded = widen(src[q]);
        let g_loaded = widen(grad[q]);
        for (var c = 0u; c < VEC; c = c + 1u) {
            let y = select(0.0, value_component(y_loaded, c), inside);
            let g = select(0.0, value_component(g_loaded, c), inside);
            sum = select(sum, pair_add(sum, vec2<f32>(select(g * y, g, LOG_OUTPUT), 0.0)), inside);
            (*ys)[k + c] = y;
            (*gs)[k + c] = g;
        }
    }
    return reduce_sum(sum, lane, ROW_LEVELS, LANE_STRIDE);
}

// The gradient of one element from its output y, its gradient g and the
// row's sum. log_softmax's exp(y) total is one product without underflow on
// the way (exp(-120) is 0 in f32, but exp(-120) 1e20 is not). Where g - total
// overflows although both are finite (gradients near f32's limit), y g -
// y total is taken instead: y <= 1 keeps each product finite.
fn backward_output(y: f32, g: f32, total: f32) -> f32 {
    if (LOG_OUTPUT) {
        return g - wa_mul_exp(total, 1.0, y);
    }
    let difference = select(g - total, total - g, NEGATE);
    let split = select(y * g - y * total, y * total - y * g, NEGATE);
    let overflowed = !is_finite(difference) & is_finite(g) & is_finite(total);
    return select(y * difference, split, overflowed);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fused(ids: Ids) {
    let lane = lane_of(ids);
    let work = work_of(ids, lane);
    if (!work.valid) {
        return;
    }
    var ys: array<f32, PER_THREAD>;
    var gs: array<f32, PER_THREAD>;
    let sum = backward_reduce(work, lane, &ys, &gs);
    let total = sum.x + sum.y;
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        if (in_row(work, j)) {
            var gx = Value();
            for (var c = 0u; c < VEC; c = c + 1u) {
                gx = with_component(gx, c, backward_output(ys[k + c], gs[k + c], total));
            }
            dst[at(work, j) / VEC] = narrow(gx);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn partials(ids: Ids) {
    let lane = lane_of(ids);
    let work = work_of(ids, lane);
    if (!work.valid) {
        return;
    }
    var ys: array<f32, PER_THREAD>;
    var gs: array<f32, PER_THREAD>;
    let sum = backward_reduce(work, lane, &ys, &gs);
    if (work.has_row & (row_thread(lane) == 0u)) {
        let chunk = work.first / CHUNK;
        scratch[work.row * params.total_chunks + chunk] = vec4<f32>(sum, 0.0, 0.0);
    }
}

// One workgroup per row (`row_first` = 0, `row_count` = rows): the sum of
// the row's chunk sums.
@compute @workgroup_size(WORKGROUP_SIZE)
fn combine(ids: Ids) {
    let lane = lane_of(ids);
    let row = ids.workgroup.y * ids.workgroups.x + ids.workgroup.x;
    if (row >= params.row_count) {
        return;
    }
    let first = row * params.total_chunks;
    var sum = vec2<f32>(0.0, 0.0);
    for (var c = lane; c < params.total_chunks; c = c + WORKGROUP_SIZE) {
        sum = pair_add(sum, scratch[first + c].xy);
    }
    sum = reduce_sum(sum, lane, WORKGROUP_LEVELS, 1u);
    if (lane == 0u) {
        scratch[params.stats_base + row] = vec4<f32>(sum, 0.0, 0.0);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize(ids: Ids) {
    let lane = lane_of(ids);
    let work = work_of(ids, lane);
    if (!work.has_row) {
        return;
    }
    let stats = scratch[params.stats_base + work.row];
    let total = stats.x + stats.y;
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        let inside = j < params.n;
        // Computed without a branch (element 0 of the window read outside
        // the row), stored with one.
        let q = select(0u, at(work, j), inside) / VEC;
        let y = widen(src[q]);
        let g = widen(grad[q]);
        var gx = Value();
        for (var c = 0u; c < VEC; c = c + 1u) {
            gx = with_component(gx, c, backward_output(value_component(y, c), value_component(g, c), total));
        }
        let stored = narrow(gx);
        if (inside) {
            dst[q] = stored;
        }
    }
}

// The forward passes of the row kernels (`softmax.wgsl` has the layout,
// the reductions and the numerics): softmax, log_softmax (LOG_OUTPUT) and
// softmin (NEGATE: softmax of -x).

// The input as the op sees it (softmin: -x): load q, VEC elements.
fn load_x(q: u32) -> Value {
    let x = widen(src[q]);
    return select(x, -x, NEGATE);
}

// A row's statistics: its maximum, the sum of exp(x - max), the log of that
// sum (log_softmax only), and whether the row has no limit.
struct Stats {
    max: f32,
    total: f32,
    log_total: f32,
    nan: bool,
}

fn stats_of(m: f32, sum: vec2<f32>, log_total: f32) -> Stats {
    var s: Stats;
    s.max = m;
    s.total = sum.x + sum.y;
    s.log_total = log_total;
    // An infinite (or NaN) maximum has a limit only if one entry equals it.
    s.nan = !is_finite(m) & (s.total != 1.0);
    return s;
}

fn log_of(sum: vec2<f32>) -> f32 {
    if (LOG_OUTPUT) {
        return log_pair(sum);
    }
    return 0.0;
}

// The output of input x (as the op sees it) whose exp(x - max) is e.
fn forward_output(x: f32, e: f32, s: Stats) -> f32 {
    var y: f32;
    if (LOG_OUTPUT) {
        let d = x - s.max;
        let exact = (d - s.log_total) + shift_error(x, s.max, d);
        // 0 - log(sum), not -log(sum): +0 where the sum is 1, as PyTorch's
        // (x - max) - log(sum) (hidden: a compiler may fold 0 - v to -v).
        y = select(exact, hide(0.0) - s.log_total, x == s.max);
    } else {
        y = e / s.total;
    }
    return select(y, wa_nan(), s.nan);
}

// The maximum and the sum of exp(x - max) of a chunk, each lane's values
// first, then over the row's lanes; `values` becomes exp(x - max)
// (softmax) or stays x (log_softmax, which needs x).
struct Reduced {
    max: f32,
    sum: vec2<f32>,
}

fn forward_reduce(work: Work, lane: u32, values: ptr<function, array<f32, PER_THREAD>>) -> Reduced {
    // Without branches: elements outside the row read element 0 of the
    // window and are then ignored through selects (on lavapipe a branch per
    // element costs more than the arithmetic).
    var m = -wa_infinity();
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        let inside = in_row(work, j);
        let loaded = load_x(select(0u, at(work, j), inside) / VEC);
        for (var c = 0u; c < VEC; c = c + 1u) {
            let x = select(-wa_infinity(), value_component(loaded, c), inside);
            (*values)[k + c] = x;
            m = max_nan(m, x);
        }
    }
    m = reduce_max(m, lane, ROW_LEVELS, LANE_STRIDE);
    var sum = vec2<f32>(0.0, 0.0);
    for (var k = 0u; k < PER_THREAD; k = k + 1u) {
        let inside = in_row(work, element_j(work, k));
        let e = exp_below((*values)[k], m);
        sum = select(sum, pair_add(sum, vec2<f32>(e, 0.0)), inside);
        if (!LOG_OUTPUT) {
            (*values)[k] = e;
        }
    }
    return Reduced(m, reduce_sum(sum, lane, ROW_LEVELS, LANE_STRIDE));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fused(ids: Ids) {
    let lane = lane_of(ids);
    let work = work_of(ids, lane);
    if (!work.valid) {
        return;
    }
    var values: array<f32, PER_THREAD>;
    let reduced = forward_reduce(work, lane, &values);
    let s = stats_of(reduced.max, reduced.sum, log_of(reduced.sum));
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        if (in_row(work, j)) {
            var y = Value();
            for (var c = 0u; c < VEC; c = c + 1u) {
                // values[k + c] is exp(x - max) for softmax, x for
                // log_softmax: forward_output reads the one its op needs.
                y = with_component(y, c, forward_output(values[k + c], values[k + c], s));
            }
            dst[at(work, j) / VEC] = narrow(y);
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
    var values: array<f32, PER_THREAD>;
    let reduced = forward_reduce(work, lane, &values);
    if (work.has_row & (row_thread(lane) == 0u)) {
        let chunk = work.first / CHUNK;
        scratch[work.row * params.total_chunks + chunk] = vec4<f32>(reduced.max, reduced.sum, 0.0);
    }
}

// One workgroup per row (`row_first` = 0, `row_count` = rows): the row
// maximum M is the maximum of the chunk maxima, and each chunk's sum,
// relative to its own maximum, is rescaled once by exp(chunk max - M).
@compute @workgroup_size(WORKGROUP_SIZE)
fn combine(ids: Ids) {
    let lane = lane_of(ids);
    let row = ids.workgroup.y * ids.workgroups.x + ids.workgroup.x;
    if (row >= params.row_count) {
        return;
    }
    let first = row * params.total_chunks;
    var m = -wa_infinity();
    for (var c = lane; c < params.total_chunks; c = c + WORKGROUP_SIZE) {
        m = max_nan(m, scratch[first + c].x);
    }
    m = reduce_max(m, lane, WORKGROUP_LEVELS, 1u);
    var sum = vec2<f32>(0.0, 0.0);
    for (var c = lane; c < params.total_chunks; c = c + WORKGROUP_SIZE) {
        let partial = scratch[first + c];
        let f = exp_below(partial.x, m);
        sum = pair_add(sum, vec2<f32>(partial.y * f, partial.z * f));
    }
    sum = reduce_sum(sum, lane, WORKGROUP_LEVELS, 1u);
    if (lane == 0u) {
        scratch[params.stats_base + row] = vec4<f32>(m, sum, log_of(sum));
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
    let s = stats_of(stats.x, stats.yz, stats.w);
    for (var k = 0u; k < PER_THREAD; k = k + VEC) {
        let j = element_j(work, k);
        let inside = j < params.n;
        // Computed without a branch (element 0 of the window read outside
        // the row), stored with one.
        let q = select(0u, at(work, j), inside) / VEC;
        let loaded = load_x(q);
        var y = Value();
        for (var c = 0u; c < VEC; c = c + 1u) {
            let x = value_component(loaded, c);
            y = with_component(y, c, forward_output(x, exp_below(x, s.max), s));
        }
        let stored = narrow(y);
        if (inside) {
            dst[q] = stored;
        }
    }
}

// Op family "shrink": hardshrink, softshrink, tanhshrink. Twin of
// `src/cpu/shrink.rs`. Parameters: p0 = lambd. Gradients are 0 at +-lambd
// (PyTorch); NaN in gives NaN out.

const OP_HARDSHRINK: u32 = 0u;
const OP_SOFTSHRINK: u32 = 1u;
const OP_TANHSHRINK: u32 = 2u;

// x - tanh(x) without cancellation near 0: for |x| < 0.8, x^3 times the
// Taylor series of (x - tanh x) / x^3 in x^2 (15 terms, truncation below 1e-8);
// beyond, x - tanh(x) loses at most log2(0.8 / (0.8 - tanh 0.8)) ~ 2.6 bits.
fn tanhshrink4(x: vec4<f32>) -> vec4<f32> {
    let z = x * x;
    var p = vec4<f32>(1.0597268320104654e-06);
    p = p * z - 2.6147711512907546e-06;
    p = p * z + 6.451689215655431e-06;
    p = p * z - 1.5918905069328964e-05;
    p = p * z + 3.927832388331683e-05;
    p = p * z - 9.691537956929451e-05;
    p = p * z + 2.3912911424355248e-04;
    p = p * z - 5.90027440945586e-04;
    p = p * z + 1.4558343870513183e-03;
    p = p * z - 3.592128036572481e-03;
    p = p * z + 8.863235529902197e-03;
    p = p * z - 2.1869488536155203e-02;
    p = p * z + 5.396825396825397e-02;
    p = p * z - 0.13333333333333333;
    p = p * z + 0.3333333333333333;
    let series = p * z * x;
    let direct = x - tanh4(x);
    // x - tanh(x) for infinite x is +-inf.
    let value = select(direct, series, abs4(x) < vec4<f32>(0.8));
    return select(value, x, abs4(x) > vec4<f32>(1e30));
}

fn forward_op(x: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let lambd = vec4<f32>(params.p0);
    let zero = vec4<f32>(0.0);
    switch OP {
        case OP_HARDSHRINK: {
            // As PyTorch: -lambd <= x <= lambd gives 0; NaN fails both tests and passes.
            return select(x, zero, (x >= -lambd) & (x <= lambd));
        }
        case OP_SOFTSHRINK: {
            let shrunk = select(select(zero, x + lambd, x < -lambd), x - lambd, x > lambd);
            return keep_nan4(x, shrunk);
        }
        default: {
            return keep_nan4(x, tanhshrink4(x));
        }
    }
}

fn backward_op(x: vec4<f32>, g: vec4<f32>, index: vec4<u32>) -> vec4<f32> {
    let lambd = vec4<f32>(params.p0);
    switch OP {
        case OP_HARDSHRINK, OP_SOFTSHRINK: {
            let inside = (x >= -lambd) & (x <= lambd);
            return keep_nan4(x, select(g, vec4<f32>(0.0), inside));
        }
        default: {
            // (g t) t: g t cannot overflow (|t| <= 1), t t could underflow.
            let t = tanh4(x);
            return keep_nan4(x, (g * t) * t);
        }
    }
}

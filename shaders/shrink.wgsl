// Op family "shrink": hardshrink, softshrink, tanhshrink. Twin of
// `src/cpu/shrink.rs`. Gradients are 0 at +-lambd (PyTorch); NaN in gives
// NaN out.

// As PyTorch: -lambd <= x <= lambd gives 0; NaN fails both tests and passes.
fn hardshrink(x: f32, lambd: f32) -> f32 {
    return select(x, 0.0, (x >= -lambd) & (x <= lambd));
}

fn hardshrink_backward(x: f32, grad_output: f32, lambd: f32) -> f32 {
    return wa_keep_nan(x, select(grad_output, 0.0, (x >= -lambd) & (x <= lambd)));
}

fn softshrink(x: f32, lambd: f32) -> f32 {
    let shrunk = select(select(0.0, x + lambd, x < -lambd), x - lambd, x > lambd);
    return wa_keep_nan(x, shrunk);
}

fn softshrink_backward(x: f32, grad_output: f32, lambd: f32) -> f32 {
    return hardshrink_backward(x, grad_output, lambd);
}

// x - tanh(x) without cancellation near 0: for |x| < 0.8, x^3 times the
// Taylor series of (x - tanh x) / x^3 in x^2 (15 terms, truncation below 1e-8);
// beyond, x - tanh(x) loses at most log2(0.8 / (0.8 - tanh 0.8)) ~ 2.6 bits.
fn tanhshrink(x: f32) -> f32 {
    let z = x * x;
    var p = 1.0597268320104654e-06;
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
    let direct = x - wa_tanh(x);
    // x - tanh(x) for infinite x is +-inf.
    let value = select(select(direct, series, wa_abs(x) < 0.8), x, wa_abs(x) > 1e30);
    return wa_keep_nan(x, value);
}

// (g t) t: g t cannot overflow (|t| <= 1), t t could underflow.
fn tanhshrink_backward(x: f32, grad_output: f32) -> f32 {
    let t = wa_tanh(x);
    return wa_keep_nan(x, (grad_output * t) * t);
}

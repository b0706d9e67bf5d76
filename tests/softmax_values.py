# PyTorch's formulas for softmax, log_softmax and softmin (forward and backward,
# the backward from the forward's output) evaluated with mpmath at 120 digits (enough for log(1 + 1e-44)),
# on f32 inputs; prints Rust tables for tests/softmax.rs.
import mpmath, numpy as np
mpmath.mp.dps = 120

def f32(v):
    return float(np.float32(v))

def rows_of(shape, dim):
    shape = list(shape)
    dim = dim % len(shape)
    outer = int(np.prod(shape[:dim])); n = shape[dim]; inner = int(np.prod(shape[dim+1:]))
    for o in range(outer):
        for i in range(inner):
            yield [o*n*inner + j*inner + i for j in range(n)]

def softmax(x):
    m = max(x)
    e = [mpmath.exp(mpmath.mpf(v) - m) for v in x]
    s = mpmath.fsum(e)
    return [v / s for v in e]

def log_softmax(x):
    m = max(x)
    s = mpmath.fsum([mpmath.exp(mpmath.mpf(v) - m) for v in x])
    return [(mpmath.mpf(v) - m) - mpmath.log(s) for v in x]

def softmin(x):
    return softmax([-v for v in x])

def softmax_bw(y, g):
    d = mpmath.fsum([mpmath.mpf(a)*b for a, b in zip(y, g)])
    return [mpmath.mpf(a) * (b - d) for a, b in zip(y, g)]

def log_softmax_bw(y, g):
    s = mpmath.fsum([mpmath.mpf(b) for b in g])
    return [b - mpmath.exp(a) * s for a, b in zip(y, g)]

def softmin_bw(y, g):
    return [-v for v in softmax_bw(y, g)]

OPS = {"softmax": (softmax, softmax_bw), "log_softmax": (log_softmax, log_softmax_bw), "softmin": (softmin, softmin_bw)}

CASES = [
    ("softmax", [1.0, 2.0, 3.0], [3], 0),
    ("log_softmax", [1.0, 2.0, 3.0], [3], -1),
    ("softmin", [1.0, 2.0, 3.0], [3], 0),
    ("softmax", [0.5, -1.25, 3.0, 2.0, 2.0, -0.75], [2, 3], 0),
    ("softmax", [0.5, -1.25, 3.0, 2.0, 2.0, -0.75], [2, 3], 1),
    ("log_softmax", [0.5, -1.25, 3.0, 2.0, 2.0, -0.75], [2, 3], 0),
    ("softmin", [0.5, -1.25, 3.0, 2.0, 2.0, -0.75], [2, 3], -1),
    ("softmax", [1e30, -1e30], [2], 0),
    ("log_softmax", [1e30, -1e30], [2], 0),
    ("log_softmax", [0.0, -40.0], [2], 0),
    ("softmax", [0.0, -80.0, -20.0], [3], 0),
    ("log_softmax", [10.0, 10.0, 10.0, 10.0], [4], 0),
    ("softmax", [7.0], [1], 0),
    ("log_softmax", [-3.0, 0.25, 1e-3, 100.0, -100.0, 50.0, 1.0, 2.0], [2, 2, 2], 1),
    ("softmax", [0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4, 1.5, -1.5, 2.5, -2.5], [1, 3, 2, 2], -3),
]
G = [0.5, -1.0, 2.0, 0.25, -0.125, 3.0, 1.0, -2.0, 0.75, -0.5, 1.25, -3.0]

def fmt(v):
    v = float(v)
    if v == float("inf"): return "f64::INFINITY"
    if v == float("-inf"): return "f64::NEG_INFINITY"
    r = repr(v)
    if "e" not in r and "." not in r: r += ".0"
    return r

print("const PINNED: &[Pinned] = &[")
for op, x, shape, dim in CASES:
    x = [f32(v) for v in x]
    fw, bw = OPS[op]
    y = [None]*len(x)
    for idx in rows_of(shape, dim):
        out = fw([x[i] for i in idx])
        for i, v in zip(idx, out):
            y[i] = v
    y32 = [f32(float(v)) for v in y]
    g = [f32(v) for v in G[:len(x)]]
    gx = [None]*len(x)
    for idx in rows_of(shape, dim):
        out = bw([y32[i] for i in idx], [g[i] for i in idx])
        for i, v in zip(idx, out):
            gx[i] = v
    print("    Pinned {")
    print(f'        op: "{op}",')
    print(f"        dim: {dim},")
    print(f"        shape: &{shape},")
    print(f"        x: &[{', '.join(fmt(v) for v in x)}],")
    print(f"        y: &[{', '.join(fmt(v) for v in y)}],")
    print(f"        g: &[{', '.join(fmt(v) for v in g)}],")
    print(f"        grad_input: &[{', '.join(fmt(v) for v in gx)}],")
    print("    },")
print("];")

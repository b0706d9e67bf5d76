//! The ops both libraries have, with the same parameters on both sides.

use burn::tensor::activation as act;
use burn::tensor::{Device, Tensor};
use wgpu_activations::{Activation, GeluApproximate};

/// PReLU's single weight, on both sides.
pub const PRELU_WEIGHT: f32 = 0.25;

/// One op, on both sides.
pub struct Op {
    /// Our registry's name (`--ops` takes these).
    pub name: &'static str,
    /// Ours, with the parameters used.
    pub ours: Activation,
    /// What is called on burn's side, as text for the table.
    pub burn_call: &'static str,
    /// Builds burn's op for tensors on `device` (PReLU's weight lives there).
    pub burn: fn(&Device) -> BurnOp,
    /// Inputs where the op has no derivative (a corner or a jump): any
    /// subgradient is valid there, so backward errors are not taken there;
    /// the values each library picks are listed separately.
    pub kinks: &'static [f32],
}

/// Burn's op over a rank-1 tensor.
pub type BurnOp = Box<dyn Fn(Tensor<1>) -> Tensor<1>>;

macro_rules! plain {
    ($f:expr) => {
        |_: &Device| -> BurnOp { Box::new($f) }
    };
}

/// Every op `burn::tensor::activation` 0.22.1 has that we have too, with
/// identity (`x * 1.0` in burn) as the baseline.
pub fn all() -> Vec<Op> {
    vec![
        Op {
            name: "identity",
            ours: Activation::Identity,
            burn_call: "x.mul_scalar(1.0)",
            burn: plain!(|x: Tensor<1>| x.mul_scalar(1.0)),
            kinks: &[],
        },
        Op {
            name: "relu",
            ours: Activation::Relu,
            burn_call: "relu(x)",
            burn: plain!(act::relu),
            kinks: &[0.0],
        },
        Op {
            name: "leaky_relu",
            ours: Activation::LeakyRelu {
                negative_slope: 0.01,
            },
            burn_call: "leaky_relu(x, 0.01)",
            burn: plain!(|x| act::leaky_relu(x, 0.01)),
            kinks: &[0.0],
        },
        Op {
            name: "prelu",
            ours: Activation::Prelu,
            burn_call: "prelu(x, [0.25])",
            burn: |device: &Device| -> BurnOp {
                let weight = Tensor::<1>::from_floats([PRELU_WEIGHT], device);
                Box::new(move |x| act::prelu(x, weight.clone()))
            },
            kinks: &[0.0],
        },
        Op {
            name: "elu",
            ours: Activation::Elu { alpha: 1.0 },
            burn_call: "elu(x, 1.0)",
            burn: plain!(|x| act::elu(x, 1.0)),
            kinks: &[],
        },
        Op {
            name: "selu",
            ours: Activation::Selu,
            burn_call: "selu(x)",
            burn: plain!(act::selu),
            kinks: &[0.0],
        },
        Op {
            name: "celu",
            ours: Activation::Celu { alpha: 1.0 },
            burn_call: "celu(x, 1.0)",
            burn: plain!(|x| act::celu(x, 1.0)),
            kinks: &[],
        },
        Op {
            name: "gelu",
            ours: Activation::Gelu {
                approximate: GeluApproximate::None,
            },
            burn_call: "gelu(x)",
            burn: plain!(act::gelu),
            kinks: &[],
        },
        Op {
            name: "gelu_tanh",
            ours: Activation::Gelu {
                approximate: GeluApproximate::Tanh,
            },
            burn_call: "gelu_approximate(x)",
            burn: plain!(act::gelu_approximate),
            kinks: &[],
        },
        Op {
            name: "silu",
            ours: Activation::Silu,
            burn_call: "silu(x)",
            burn: plain!(act::silu),
            kinks: &[],
        },
        Op {
            name: "mish",
            ours: Activation::Mish,
            burn_call: "mish(x)",
            burn: plain!(act::mish),
            kinks: &[],
        },
        Op {
            name: "sigmoid",
            ours: Activation::Sigmoid,
            burn_call: "sigmoid(x)",
            burn: plain!(act::sigmoid),
            kinks: &[],
        },
        Op {
            name: "tanh",
            ours: Activation::Tanh,
            burn_call: "tanh(x)",
            burn: plain!(act::tanh),
            kinks: &[],
        },
        Op {
            name: "softsign",
            ours: Activation::Softsign,
            burn_call: "softsign(x)",
            burn: plain!(act::softsign),
            kinks: &[],
        },
        Op {
            name: "logsigmoid",
            ours: Activation::Logsigmoid,
            burn_call: "log_sigmoid(x)",
            burn: plain!(act::log_sigmoid),
            kinks: &[],
        },
        Op {
            name: "tanhshrink",
            ours: Activation::Tanhshrink,
            burn_call: "tanhshrink(x)",
            burn: plain!(act::tanhshrink),
            kinks: &[],
        },
        Op {
            name: "softplus",
            ours: Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            burn_call: "softplus(x, 1.0)",
            burn: plain!(|x| act::softplus(x, 1.0)),
            kinks: &[],
        },
        Op {
            name: "relu6",
            ours: Activation::Relu6,
            burn_call: "relu6(x)",
            burn: plain!(act::relu6),
            kinks: &[0.0, 6.0],
        },
        Op {
            name: "hardtanh",
            ours: Activation::Hardtanh {
                min_val: -1.0,
                max_val: 1.0,
            },
            burn_call: "hardtanh(x, -1, 1)",
            burn: plain!(|x| act::hardtanh(x, -1.0, 1.0)),
            kinks: &[-1.0, 1.0],
        },
        Op {
            name: "hardsigmoid",
            ours: Activation::Hardsigmoid,
            burn_call: "hard_sigmoid(x, 1/6, 0.5)",
            burn: plain!(|x| act::hard_sigmoid(x, 1.0 / 6.0, 0.5)),
            kinks: &[-3.0, 3.0],
        },
        Op {
            name: "hardswish",
            ours: Activation::Hardswish,
            burn_call: "hard_swish(x)",
            burn: plain!(act::hard_swish),
            kinks: &[-3.0, 3.0],
        },
        Op {
            name: "threshold",
            ours: Activation::Threshold {
                threshold: 1.0,
                value: 0.0,
            },
            burn_call: "threshold(x, 1, 0)",
            burn: plain!(|x| act::threshold(x, 1.0, 0.0)),
            kinks: &[1.0],
        },
        Op {
            name: "hardshrink",
            ours: Activation::Hardshrink { lambd: 0.5 },
            burn_call: "hard_shrink(x, 0.5)",
            burn: plain!(|x| act::hard_shrink(x, 0.5)),
            kinks: &[-0.5, 0.5],
        },
        Op {
            name: "softshrink",
            ours: Activation::Softshrink { lambd: 0.5 },
            burn_call: "soft_shrink(x, 0.5)",
            burn: plain!(|x| act::soft_shrink(x, 0.5)),
            kinks: &[-0.5, 0.5],
        },
    ]
}

/// Our ops burn 0.22.1 does not have (listed in the output, not timed).
pub const BURN_LACKS: &[&str] = &["rrelu (eval and training)"];

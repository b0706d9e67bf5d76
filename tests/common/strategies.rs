//! proptest strategies shared by the differential tests. The op strategy is
//! derived from the registry ([`Activation::OPS`]): a new op is covered
//! without touching the tests.

use proptest::prelude::*;
use wgpu_activations::activation::{ParameterKind, ParameterValue};
use wgpu_activations::Activation;

/// Values every op must get right: zeros of both signs, the kinks, infinities,
/// NaN, subnormals, huge and tiny magnitudes, and exp's underflow region.
pub const SPECIAL_VALUES: &[f32] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e-45,
    -1e-45,
    1e-40,
    -1e-40,
    -1.1754942e-38,
    f32::MIN_POSITIVE,
    -f32::MIN_POSITIVE,
    1e30,
    -1e30,
    f32::MAX,
    f32::MIN,
    88.0,
    -88.0,
    89.0,
    -89.0,
    -103.0,
    -105.0,
    1e-7,
    -1e-7,
];

/// One f32 input: a special value, an ordinary value, or arbitrary bits.
pub fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => proptest::sample::select(SPECIAL_VALUES),
        4 => -8.0f32..8.0,
        2 => -1e6f32..1e6,
        1 => any::<u32>().prop_map(f32::from_bits),
    ]
}

/// Lengths: the edge cases (empty, 1, 3, one vec4, a partial workgroup) and random ones.
pub fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(3),
        Just(4),
        Just(5),
        Just(257),
        0usize..3000,
    ]
}

/// Scalar parameters (negative_slope, alpha): defaults, zero, negative, large, tiny, random.
pub fn parameter() -> impl Strategy<Value = f32> {
    prop_oneof![
        proptest::sample::select(&[0.01f32, 1.0, 0.0, -0.0, -0.5, 2.0, 1e-30, 1e10, 0.2][..]),
        -5.0f32..5.0,
    ]
}

/// A value of a parameter of `kind`.
pub fn parameter_value(kind: ParameterKind) -> BoxedStrategy<ParameterValue> {
    match kind {
        ParameterKind::Number => parameter().prop_map(ParameterValue::Number).boxed(),
        ParameterKind::Flag => any::<bool>().prop_map(ParameterValue::Flag).boxed(),
        ParameterKind::Integer => any::<u64>().prop_map(ParameterValue::Integer).boxed(),
        ParameterKind::Choice(names) => proptest::sample::select(names)
            .prop_map(ParameterValue::Choice)
            .boxed(),
        ParameterKind::SignedInteger => {
            any::<i64>().prop_map(ParameterValue::SignedInteger).boxed()
        }
    }
}

/// Every op of the registry, each of its parameters drawn by its kind; ops
/// whose parameters break the op's rules are drawn again.
pub fn op() -> impl Strategy<Value = Activation> {
    proptest::sample::select(Activation::OPS)
        .prop_flat_map(|info| {
            let values: Vec<BoxedStrategy<ParameterValue>> = info
                .parameters
                .iter()
                .map(|p| parameter_value(p.kind))
                .collect();
            (Just(info), values)
        })
        .prop_map(|(info, values)| {
            info.parameters
                .iter()
                .zip(values)
                .fold(info.default, |op, (p, value)| {
                    op.set_parameter(p.name, value)
                        .expect("a value of the parameter's kind")
                })
        })
        .prop_filter("parameters within the op's rules", |op| {
            op.validate().is_ok()
        })
}

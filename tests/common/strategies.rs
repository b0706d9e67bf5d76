//! proptest strategies shared by the differential tests.

use proptest::prelude::*;

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

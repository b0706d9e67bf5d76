//! The WGSL sources, embedded at compile time, and how they are put together.
//!
//! An elementwise kernel is three files concatenated: `common.wgsl` (the
//! parameter block and helpers), a storage layout (`elementwise_vec4_f32.wgsl`
//! or `elementwise_scalar_f32.wgsl`: the bindings and the `forward` /
//! `backward` entry points) and an op family (`rectifier.wgsl`, ...: the
//! `forward_op` / `backward_op` functions). The family's op is chosen by a
//! pipeline-overridable constant, and parameters travel in a uniform buffer:
//! the text itself never changes at run time.

/// `shaders/common.wgsl`.
pub const COMMON: &str = include_str!("../shaders/common.wgsl");
/// `shaders/elementwise_vec4_f32.wgsl`.
pub const ELEMENTWISE_VEC4_F32: &str = include_str!("../shaders/elementwise_vec4_f32.wgsl");
/// `shaders/elementwise_scalar_f32.wgsl`.
pub const ELEMENTWISE_SCALAR_F32: &str = include_str!("../shaders/elementwise_scalar_f32.wgsl");
/// `shaders/rectifier.wgsl`.
pub const RECTIFIER: &str = include_str!("../shaders/rectifier.wgsl");
/// `shaders/prelu.wgsl`.
pub const PRELU: &str = include_str!("../shaders/prelu.wgsl");
/// `shaders/exponential_linear.wgsl`.
pub const EXPONENTIAL_LINEAR: &str = include_str!("../shaders/exponential_linear.wgsl");
/// `shaders/prelu_weight_grad.wgsl` (stands alone).
pub const PRELU_WEIGHT_GRAD: &str = include_str!("../shaders/prelu_weight_grad.wgsl");

/// A family of elementwise ops sharing one shader file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpFamily {
    /// `rectifier.wgsl`: identity, relu, leaky_relu.
    Rectifier,
    /// `prelu.wgsl`: prelu (binds a weight buffer).
    Prelu,
    /// `exponential_linear.wgsl`: elu, selu.
    ExponentialLinear,
}

impl OpFamily {
    /// Every family.
    pub const ALL: [OpFamily; 3] = [
        OpFamily::Rectifier,
        OpFamily::Prelu,
        OpFamily::ExponentialLinear,
    ];

    /// The family's WGSL.
    pub fn source(self) -> &'static str {
        match self {
            OpFamily::Rectifier => RECTIFIER,
            OpFamily::Prelu => PRELU,
            OpFamily::ExponentialLinear => EXPONENTIAL_LINEAR,
        }
    }

    /// The name of the family's op-selecting override constant, if it has one.
    pub fn op_constant(self) -> Option<&'static str> {
        match self {
            OpFamily::Rectifier => Some("RECTIFIER_OP"),
            OpFamily::Prelu | OpFamily::ExponentialLinear => None,
        }
    }

    /// Whether the family binds a weight buffer at binding 4.
    pub fn binds_weight(self) -> bool {
        self == OpFamily::Prelu
    }

    /// Short name, for labels.
    pub fn name(self) -> &'static str {
        match self {
            OpFamily::Rectifier => "rectifier",
            OpFamily::Prelu => "prelu",
            OpFamily::ExponentialLinear => "exponential_linear",
        }
    }
}

/// How an elementwise kernel reads and writes its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageLayout {
    /// One vec4 of f32 per thread: every bound range 16-byte aligned and
    /// holding whole vec4s.
    Vec4F32,
    /// One f32 per thread: any 4-byte-aligned range.
    ScalarF32,
}

impl StorageLayout {
    /// Every layout.
    pub const ALL: [StorageLayout; 2] = [StorageLayout::Vec4F32, StorageLayout::ScalarF32];

    /// The layout's WGSL.
    pub fn source(self) -> &'static str {
        match self {
            StorageLayout::Vec4F32 => ELEMENTWISE_VEC4_F32,
            StorageLayout::ScalarF32 => ELEMENTWISE_SCALAR_F32,
        }
    }

    /// Elements each thread handles.
    pub fn elements_per_thread(self) -> u64 {
        match self {
            StorageLayout::Vec4F32 => 4,
            StorageLayout::ScalarF32 => 1,
        }
    }
}

/// The complete WGSL of one elementwise kernel module.
pub fn elementwise_module(family: OpFamily, layout: StorageLayout) -> String {
    [COMMON, layout.source(), family.source()].join("\n")
}

/// Threads per workgroup in every kernel (`WORKGROUP_SIZE` in the WGSL).
pub const WORKGROUP_SIZE: u32 = 256;

/// Elements one workgroup of `partial_sums` in `prelu_weight_grad.wgsl` adds (`CHUNK`).
pub const WEIGHT_GRAD_CHUNK: u32 = 4096;

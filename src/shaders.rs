//! The WGSL sources, embedded at compile time, and how they are put together.
//!
//! An elementwise kernel is three files concatenated: `common.wgsl` (the
//! parameter block, the op-selecting constants and the careful math), a
//! storage layout (`elementwise_{vec4,scalar}_{f32,f16}.wgsl`: the bindings
//! and the `forward` / `backward` entry points) and an op family
//! (`rectifier.wgsl`, ...: the `forward_op` / `backward_op` functions). The
//! family's op is chosen by the pipeline-overridable constant `OP`, and
//! parameters travel in a uniform buffer: the text never changes at run time.
//! Each family has a CPU twin of the same name in `src/cpu/`.

/// `shaders/common.wgsl`.
pub const COMMON: &str = include_str!("../shaders/common.wgsl");
/// `shaders/elementwise_vec4_f32.wgsl`.
pub const ELEMENTWISE_VEC4_F32: &str = include_str!("../shaders/elementwise_vec4_f32.wgsl");
/// `shaders/elementwise_scalar_f32.wgsl`.
pub const ELEMENTWISE_SCALAR_F32: &str = include_str!("../shaders/elementwise_scalar_f32.wgsl");
/// `shaders/elementwise_vec4_f16.wgsl`.
pub const ELEMENTWISE_VEC4_F16: &str = include_str!("../shaders/elementwise_vec4_f16.wgsl");
/// `shaders/elementwise_scalar_f16.wgsl`.
pub const ELEMENTWISE_SCALAR_F16: &str = include_str!("../shaders/elementwise_scalar_f16.wgsl");
/// `shaders/prelu_weight_grad.wgsl`, after a `reduce_*` storage prelude.
pub const PRELU_WEIGHT_GRAD: &str = include_str!("../shaders/prelu_weight_grad.wgsl");
/// `shaders/reduce_f32.wgsl`.
pub const REDUCE_F32: &str = include_str!("../shaders/reduce_f32.wgsl");
/// `shaders/reduce_f16.wgsl`.
pub const REDUCE_F16: &str = include_str!("../shaders/reduce_f16.wgsl");

/// A family of elementwise ops sharing one shader file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpFamily {
    /// `rectifier.wgsl`: identity, relu, leaky_relu, rrelu, relu6, hardtanh,
    /// threshold, hardsigmoid, hardswish.
    Rectifier,
    /// `prelu.wgsl`: prelu (reads the weight binding).
    Prelu,
    /// `shrink.wgsl`: hardshrink, softshrink, tanhshrink.
    Shrink,
    /// `exponential_linear.wgsl`: elu, selu, celu.
    ExponentialLinear,
    /// `logistic.wgsl`: sigmoid, logsigmoid, silu, softplus, mish, tanh, softsign.
    Logistic,
    /// `gelu.wgsl`: gelu (erf and tanh forms).
    Gelu,
}

impl OpFamily {
    /// Every family.
    pub const ALL: [OpFamily; 6] = [
        OpFamily::Rectifier,
        OpFamily::Prelu,
        OpFamily::Shrink,
        OpFamily::ExponentialLinear,
        OpFamily::Logistic,
        OpFamily::Gelu,
    ];

    /// The family's WGSL.
    pub fn source(self) -> &'static str {
        match self {
            OpFamily::Rectifier => include_str!("../shaders/rectifier.wgsl"),
            OpFamily::Prelu => include_str!("../shaders/prelu.wgsl"),
            OpFamily::Shrink => include_str!("../shaders/shrink.wgsl"),
            OpFamily::ExponentialLinear => include_str!("../shaders/exponential_linear.wgsl"),
            OpFamily::Logistic => include_str!("../shaders/logistic.wgsl"),
            OpFamily::Gelu => include_str!("../shaders/gelu.wgsl"),
        }
    }

    /// Whether the family binds a weight buffer at binding 4.
    pub fn binds_weight(self) -> bool {
        self == OpFamily::Prelu
    }

    /// The family's name (its file's stem).
    pub fn name(self) -> &'static str {
        match self {
            OpFamily::Rectifier => "rectifier",
            OpFamily::Prelu => "prelu",
            OpFamily::Shrink => "shrink",
            OpFamily::ExponentialLinear => "exponential_linear",
            OpFamily::Logistic => "logistic",
            OpFamily::Gelu => "gelu",
        }
    }
}

/// The element type of a tensor in memory. Arithmetic is f32 for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE 754.
    F32,
    /// 16-bit IEEE 754 (needs the adapter's `SHADER_F16`).
    F16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }

    /// `"f32"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
        }
    }

    /// The WGSL that must open a module using this type.
    pub fn enable_directive(self) -> &'static str {
        match self {
            DType::F32 => "",
            DType::F16 => "enable f16;\n",
        }
    }
}

/// How an elementwise kernel reads and writes its buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageLayout {
    /// One vec4 per thread: every bound range aligned to a vec4 and holding
    /// whole vec4s.
    Vec4(DType),
    /// One element per thread: any range.
    Scalar(DType),
}

impl StorageLayout {
    /// Every layout.
    pub const ALL: [StorageLayout; 4] = [
        StorageLayout::Vec4(DType::F32),
        StorageLayout::Scalar(DType::F32),
        StorageLayout::Vec4(DType::F16),
        StorageLayout::Scalar(DType::F16),
    ];

    /// The layout's WGSL.
    pub fn source(self) -> &'static str {
        match self {
            StorageLayout::Vec4(DType::F32) => ELEMENTWISE_VEC4_F32,
            StorageLayout::Scalar(DType::F32) => ELEMENTWISE_SCALAR_F32,
            StorageLayout::Vec4(DType::F16) => ELEMENTWISE_VEC4_F16,
            StorageLayout::Scalar(DType::F16) => ELEMENTWISE_SCALAR_F16,
        }
    }

    /// The element type.
    pub fn dtype(self) -> DType {
        match self {
            StorageLayout::Vec4(dtype) | StorageLayout::Scalar(dtype) => dtype,
        }
    }

    /// Elements each thread handles.
    pub fn elements_per_thread(self) -> u64 {
        match self {
            StorageLayout::Vec4(_) => 4,
            StorageLayout::Scalar(_) => 1,
        }
    }
}

/// The complete WGSL of one elementwise kernel module.
pub fn elementwise_module(family: OpFamily, layout: StorageLayout) -> String {
    [
        layout.dtype().enable_directive(),
        COMMON,
        layout.source(),
        family.source(),
    ]
    .join("\n")
}

/// The complete WGSL of the PReLU weight-gradient module for `dtype`.
pub fn prelu_weight_grad_module(dtype: DType) -> String {
    let storage = match dtype {
        DType::F32 => REDUCE_F32,
        DType::F16 => REDUCE_F16,
    };
    [dtype.enable_directive(), storage, PRELU_WEIGHT_GRAD].join("\n")
}

/// Threads per workgroup in every kernel (`WORKGROUP_SIZE` in the WGSL).
pub const WORKGROUP_SIZE: u32 = 256;

/// Elements one workgroup of `partial_sums` in `prelu_weight_grad.wgsl` adds (`CHUNK`).
pub const WEIGHT_GRAD_CHUNK: u32 = 4096;

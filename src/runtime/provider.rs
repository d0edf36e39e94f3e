//! Execution providers a user can ask for by name.

use ort::ep;

/// Where a model runs. `Cpu` always works; the others need an ONNX Runtime
/// build that carries them (e.g. the `onnxruntime-gpu` wheel for CUDA and
/// TensorRT) and the hardware, and fall back to `Cpu` when they cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExecutionProvider {
    /// ONNX Runtime's default CPU provider.
    #[default]
    Cpu,
    /// NVIDIA CUDA.
    Cuda,
    /// NVIDIA TensorRT (with CUDA for the parts TensorRT does not take).
    TensorRt,
    /// Intel OpenVINO.
    OpenVino,
}

impl ExecutionProvider {
    /// Every provider, in the order documented to users.
    pub const ALL: [ExecutionProvider; 4] = [Self::Cpu, Self::Cuda, Self::TensorRt, Self::OpenVino];

    /// The name users write in `execution-provider=`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::TensorRt => "tensorrt",
            Self::OpenVino => "openvino",
        }
    }

    /// Parses a user-written name (case-insensitive).
    pub fn from_name(name: &str) -> Result<Self, UnknownProvider> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownProvider(name.to_string()))
    }

    /// The providers to register with ONNX Runtime, most preferred first.
    /// Each is registered with `error_on_failure`, so that a provider that
    /// cannot start fails the session build instead of being silently
    /// skipped: we then fall back to CPU ourselves and say so.
    pub(crate) fn dispatches(self) -> Vec<ep::ExecutionProviderDispatch> {
        match self {
            Self::Cpu => Vec::new(),
            Self::Cuda => vec![ep::CUDA::default().build().error_on_failure()],
            Self::TensorRt => vec![
                ep::TensorRT::default().build().error_on_failure(),
                ep::CUDA::default().build().error_on_failure(),
            ],
            Self::OpenVino => vec![ep::OpenVINO::default().build().error_on_failure()],
        }
    }
}

/// A provider name gst-dl does not know; its message lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProvider(pub String);

impl std::fmt::Display for UnknownProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = ExecutionProvider::ALL.iter().map(|p| p.name()).collect();
        write!(
            f,
            "unknown execution provider '{}'; use one of: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownProvider {}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for provider in ExecutionProvider::ALL {
            assert_eq!(ExecutionProvider::from_name(provider.name()), Ok(provider));
        }
        assert_eq!(
            ExecutionProvider::from_name(" CUDA "),
            Ok(ExecutionProvider::Cuda)
        );
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = ExecutionProvider::from_name("rocm")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'rocm'"), "{err}");
        assert!(err.contains("cpu, cuda, tensorrt, openvino"), "{err}");
    }
}

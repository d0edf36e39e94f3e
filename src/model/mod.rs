//! What a model wants and gives: its declared inputs and outputs, the one
//! image input we feed, and its labels. Plain Rust; `runtime::session` fills
//! [`ModelInfo`] from ONNX Runtime.

pub mod image_input;
pub mod labels;
pub mod metadata;
pub mod zero_config;

pub use image_input::{ImageInput, InputElement, TensorLayout};

/// Element type of a declared tensor, as far as we care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementType {
    /// 32-bit float.
    F32,
    /// 8-bit unsigned integer.
    U8,
    /// Anything else, by ONNX Runtime's name for it (`String`, `Int64`, a
    /// sequence...): fine for outputs we convert, not for an image input.
    Other(String),
}

/// A declared input or output: its name, element type and shape, where `None`
/// is a dynamic (symbolic) dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name in the graph.
    pub name: String,
    /// Its element type.
    pub element: ElementType,
    /// Its shape; `None` marks a dynamic dimension.
    pub shape: Vec<Option<usize>>,
}

impl TensorInfo {
    /// The shape as users read it: `[batch?, 3, 320, 320]`.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

/// Formats a declared shape with `?` for dynamic dimensions.
pub fn shape_text(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string()))
        .collect();
    format!("[{}]", dims.join(","))
}

/// Everything the ONNX file declares that we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Graph inputs that must be fed (initializers listed as inputs excluded).
    pub inputs: Vec<TensorInfo>,
    /// Graph outputs, in graph order.
    pub outputs: Vec<TensorInfo>,
    /// How many initializers the graph also lists among its inputs. ONNX
    /// Runtime then treats them as overridable and cannot fold constants,
    /// which can cost a large factor in speed (CenterFace: 14 vs 40 fps).
    pub overridable_initializers: usize,
    /// The file's `metadata_props` (key -> value), which exporters such as
    /// Ultralytics fill with the task, class names and input size
    /// ([`metadata::ModelMetadata`] reads them).
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl ModelInfo {
    /// One line per output, for logs and error messages.
    pub fn outputs_text(&self) -> String {
        let parts: Vec<String> = self
            .outputs
            .iter()
            .map(|o| format!("{} {}", o.name, o.shape_text()))
            .collect();
        parts.join(", ")
    }
}

//! The single image input a video model is fed through, and its size.

use super::{ElementType, ModelInfo, TensorInfo, shape_text};
use crate::frame::Size;
pub use crate::preprocess::TensorLayout;

/// Element type of the image input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputElement {
    /// Normalised floats: (pixel - mean) / std.
    F32,
    /// Raw 0..255 pixels.
    U8,
}

/// The image input of a model: what we must produce for each frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInput {
    /// Input name in the graph.
    pub name: String,
    /// Element type.
    pub element: InputElement,
    /// Channel placement.
    pub layout: TensorLayout,
    /// Fixed batch size, or `None` when the batch dimension is dynamic.
    pub batch: Option<usize>,
    /// Fixed height, or `None` when dynamic.
    pub height: Option<usize>,
    /// Fixed width, or `None` when dynamic.
    pub width: Option<usize>,
}

/// Dynamic sizes default to the frame size rounded up to this multiple, which
/// every common stride-32 detector backbone needs.
pub const DYNAMIC_SIZE_MULTIPLE: usize = 32;

impl ImageInput {
    /// Finds the image input of a model. `layout` overrides the layout
    /// guessed from the shape (channels = 3 at position 1 or 3).
    pub fn from_model(info: &ModelInfo, layout: Option<TensorLayout>) -> Result<Self, String> {
        let input = match info.inputs.as_slice() {
            [only] => only,
            [] => return Err("the model declares no inputs".to_string()),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|i| format!("{} {}", i.name, i.shape_text()))
                    .collect();
                return Err(format!(
                    "the model has {} inputs ({}); only models with a single image input can be fed from video",
                    many.len(),
                    names.join(", ")
                ));
            }
        };
        let element = match &input.element {
            ElementType::F32 => InputElement::F32,
            ElementType::U8 => InputElement::U8,
            ElementType::Other(other) => {
                return Err(format!(
                    "input '{}' has element type {other}; only float32 and uint8 image inputs are supported",
                    input.name
                ));
            }
        };
        if input.shape.len() != 4 {
            return Err(format!(
                "input '{}' has shape {} ({} dimensions); an image input needs 4: NCHW or NHWC",
                input.name,
                input.shape_text(),
                input.shape.len()
            ));
        }
        let layout = layout.unwrap_or_else(|| guess_layout(input));
        let (channels, height, width) = match layout {
            TensorLayout::Nchw => (input.shape[1], input.shape[2], input.shape[3]),
            TensorLayout::Nhwc => (input.shape[3], input.shape[1], input.shape[2]),
        };
        if channels.is_some_and(|c| c != 3) {
            return Err(format!(
                "input '{}' has shape {}: read as {layout:?} it has {} channels, but 3 (RGB or BGR) are needed; \
                 set input-layout if the layout was guessed wrong",
                input.name,
                input.shape_text(),
                channels.unwrap_or(0)
            ));
        }
        if [height, width].contains(&Some(0)) || input.shape[0] == Some(0) {
            return Err(format!(
                "input '{}' declares a zero-sized dimension {}",
                input.name,
                input.shape_text()
            ));
        }
        Ok(Self {
            name: input.name.clone(),
            element,
            layout,
            batch: input.shape[0],
            height,
            width,
        })
    }

    /// The input size to use for frames of `frame` size.
    /// Fixed dimensions are the model's; a requested size must agree with
    /// them. Dynamic ones take the request, else the frame size rounded up to
    /// `multiple` (detectors: [`DYNAMIC_SIZE_MULTIPLE`]; frame-to-frame
    /// models run at the frame's own size: 1).
    pub fn resolve_size(
        &self,
        requested: (Option<usize>, Option<usize>),
        frame: Size,
        multiple: usize,
    ) -> Result<Size, String> {
        let width = resolve_dim("width", self.width, requested.0, frame.width, multiple)?;
        let height = resolve_dim("height", self.height, requested.1, frame.height, multiple)?;
        Ok(Size::new(width, height))
    }

    /// The declared shape, for messages.
    pub fn shape_text(&self) -> String {
        let c = Some(3);
        match self.layout {
            TensorLayout::Nchw => shape_text(&[self.batch, c, self.height, self.width]),
            TensorLayout::Nhwc => shape_text(&[self.batch, self.height, self.width, c]),
        }
    }

    /// The concrete tensor shape for `batch` frames of `size`.
    pub fn tensor_shape(&self, batch: usize, size: Size) -> [usize; 4] {
        let Size { width, height } = size;
        match self.layout {
            TensorLayout::Nchw => [batch, 3, height, width],
            TensorLayout::Nhwc => [batch, height, width, 3],
        }
    }
}

fn guess_layout(input: &TensorInfo) -> TensorLayout {
    let channels_first = input.shape[1] == Some(3);
    let channels_last = input.shape[3] == Some(3);
    if channels_last && !channels_first {
        TensorLayout::Nhwc
    } else {
        TensorLayout::Nchw
    }
}

fn resolve_dim(
    what: &str,
    fixed: Option<usize>,
    requested: Option<usize>,
    frame: usize,
    multiple: usize,
) -> Result<usize, String> {
    match (fixed, requested) {
        (Some(fixed), Some(requested)) if fixed != requested => Err(format!(
            "input-{what}={requested} was requested but the model's input {what} is fixed at {fixed}; \
             leave input-{what} unset"
        )),
        (Some(fixed), _) => Ok(fixed),
        (None, Some(requested)) if requested > 0 => Ok(requested),
        (None, _) => Ok(frame.max(1).div_ceil(multiple.max(1)) * multiple.max(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(inputs: Vec<TensorInfo>) -> ModelInfo {
        ModelInfo {
            inputs,
            outputs: Vec::new(),
            overridable_initializers: 0,
            metadata: Default::default(),
        }
    }

    fn tensor(name: &str, element: ElementType, shape: &[Option<usize>]) -> TensorInfo {
        TensorInfo {
            name: name.to_string(),
            element,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn reads_a_fixed_nchw_float_input() {
        let info = model(vec![tensor(
            "images",
            ElementType::F32,
            &[Some(1), Some(3), Some(320), Some(256)],
        )]);
        let input = ImageInput::from_model(&info, None).unwrap();
        assert_eq!(input.layout, TensorLayout::Nchw);
        assert_eq!(input.element, InputElement::F32);
        assert_eq!(
            (input.batch, input.width, input.height),
            (Some(1), Some(256), Some(320))
        );
        assert_eq!(
            input.resolve_size((None, None), Size::new(1920, 1080), DYNAMIC_SIZE_MULTIPLE),
            Ok(Size::new(256, 320))
        );
        assert_eq!(input.tensor_shape(4, Size::new(256, 320)), [4, 3, 320, 256]);
    }

    #[test]
    fn detects_nhwc_and_uint8() {
        let info = model(vec![tensor(
            "x",
            ElementType::U8,
            &[None, Some(300), Some(300), Some(3)],
        )]);
        let input = ImageInput::from_model(&info, None).unwrap();
        assert_eq!(input.layout, TensorLayout::Nhwc);
        assert_eq!(input.element, InputElement::U8);
        assert_eq!(input.batch, None);
        assert_eq!(input.tensor_shape(2, Size::new(300, 300)), [2, 300, 300, 3]);
    }

    #[test]
    fn dynamic_sizes_round_the_frame_up_to_32_or_take_the_request() {
        let info = model(vec![tensor(
            "x",
            ElementType::F32,
            &[None, Some(3), None, None],
        )]);
        let input = ImageInput::from_model(&info, None).unwrap();
        assert_eq!(
            input.resolve_size((None, None), Size::new(176, 144), DYNAMIC_SIZE_MULTIPLE),
            Ok(Size::new(192, 160))
        );
        assert_eq!(
            input.resolve_size((None, None), Size::new(176, 144), 1),
            Ok(Size::new(176, 144))
        );
        assert_eq!(
            input.resolve_size(
                (Some(640), None),
                Size::new(1280, 720),
                DYNAMIC_SIZE_MULTIPLE
            ),
            Ok(Size::new(640, 736))
        );
    }

    #[test]
    fn a_request_that_contradicts_a_fixed_size_is_refused() {
        let info = model(vec![tensor(
            "x",
            ElementType::F32,
            &[Some(1), Some(3), Some(224), Some(224)],
        )]);
        let input = ImageInput::from_model(&info, None).unwrap();
        let err = input
            .resolve_size(
                (Some(320), None),
                Size::new(640, 480),
                DYNAMIC_SIZE_MULTIPLE,
            )
            .unwrap_err();
        assert!(err.contains("fixed at 224"), "{err}");
    }

    #[test]
    fn layout_override_wins() {
        let info = model(vec![tensor(
            "x",
            ElementType::F32,
            &[Some(1), Some(3), Some(3), Some(3)],
        )]);
        let input = ImageInput::from_model(&info, Some(TensorLayout::Nhwc)).unwrap();
        assert_eq!(input.layout, TensorLayout::Nhwc);
    }

    #[test]
    fn unfeedable_inputs_are_explained() {
        let two = model(vec![
            tensor("a", ElementType::F32, &[Some(1), Some(3), Some(8), Some(8)]),
            tensor("b", ElementType::F32, &[Some(1), Some(3), Some(8), Some(8)]),
        ]);
        assert!(
            ImageInput::from_model(&two, None)
                .unwrap_err()
                .contains("2 inputs")
        );
        let five_d = model(vec![tensor(
            "v",
            ElementType::F32,
            &[Some(1), Some(3), Some(4), Some(8), Some(8)],
        )]);
        assert!(
            ImageInput::from_model(&five_d, None)
                .unwrap_err()
                .contains("5 dimensions")
        );
        let text = model(vec![tensor(
            "s",
            ElementType::Other("String".into()),
            &[Some(1)],
        )]);
        assert!(
            ImageInput::from_model(&text, None)
                .unwrap_err()
                .contains("element type String")
        );
        let gray = model(vec![tensor(
            "g",
            ElementType::F32,
            &[Some(1), Some(1), Some(8), Some(8)],
        )]);
        assert!(
            ImageInput::from_model(&gray, None)
                .unwrap_err()
                .contains("1 channels")
        );
    }
}

//! GObject enum types for element properties (so `gst-inspect-1.0` lists the
//! choices), with their mapping to the library's own types, and the parsing
//! of per-channel property strings. Shared by `dlinfer` and `dltransform`.

mod decoder_choice;

use gst::glib;

pub use decoder_choice::DecoderChoice;

use crate::decode::SoftmaxMode;
use crate::frame_output::MaskMode;
use crate::preprocess::{ChannelOrder, ScaleMode, TensorLayout};
use crate::runtime::Spin;

/// The nick of an enum property's value, as users write it in pipelines
/// and messages (`letterbox`, not `Letterbox`).
pub fn nick(choice: impl glib::value::ToValue) -> String {
    glib::EnumValue::from_value(&choice.to_value())
        .map_or_else(String::new, |(_, value)| value.nick().to_owned())
}

/// `softmax`: whether classification applies a softmax.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlSoftmax")]
pub enum SoftmaxChoice {
    #[default]
    #[enum_value(
        name = "Auto: apply unless the output already sums to 1",
        nick = "auto"
    )]
    Auto,
    #[enum_value(name = "Always apply softmax to the scores", nick = "true")]
    Always,
    #[enum_value(name = "Never: the scores are probabilities already", nick = "false")]
    Never,
}

impl From<SoftmaxChoice> for SoftmaxMode {
    fn from(choice: SoftmaxChoice) -> Self {
        match choice {
            SoftmaxChoice::Auto => SoftmaxMode::Auto,
            SoftmaxChoice::Always => SoftmaxMode::Always,
            SoftmaxChoice::Never => SoftmaxMode::Never,
        }
    }
}

/// `spin`: whether ONNX Runtime's idle threads spin for work.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlSpin")]
pub enum SpinChoice {
    #[default]
    #[enum_value(
        name = "Auto: sleep; where the first runs show the model busy nearly all the time, try spinning and keep it if runs come faster",
        nick = "auto"
    )]
    Auto,
    #[enum_value(
        name = "Always spin (the model has the cores to itself)",
        nick = "true"
    )]
    On,
    #[enum_value(name = "Never spin (leave the cores to decoders)", nick = "false")]
    Off,
}

impl From<SpinChoice> for Spin {
    fn from(choice: SpinChoice) -> Self {
        match choice {
            SpinChoice::Auto => Spin::Auto,
            SpinChoice::On => Spin::On,
            SpinChoice::Off => Spin::Off,
        }
    }
}

/// `scale-mode`: how a frame is fitted into the model input.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlScaleMode")]
pub enum ScaleModeChoice {
    #[default]
    #[enum_value(
        name = "Stretch: whole frame to the whole input, aspect ratio not kept",
        nick = "stretch"
    )]
    Stretch,
    #[enum_value(
        name = "Letterbox: fit inside keeping the aspect ratio, pad the rest",
        nick = "letterbox"
    )]
    Letterbox,
    #[enum_value(
        name = "Center crop: cover keeping the aspect ratio, cut the overhang",
        nick = "center-crop"
    )]
    CenterCrop,
}

impl From<ScaleModeChoice> for ScaleMode {
    fn from(choice: ScaleModeChoice) -> Self {
        match choice {
            ScaleModeChoice::Stretch => ScaleMode::Stretch,
            ScaleModeChoice::Letterbox => ScaleMode::Letterbox,
            ScaleModeChoice::CenterCrop => ScaleMode::CenterCrop,
        }
    }
}

/// `input-color`: channel order the model expects.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlInputColor")]
pub enum InputColorChoice {
    #[default]
    #[enum_value(name = "RGB", nick = "rgb")]
    Rgb,
    #[enum_value(name = "BGR (OpenCV / Caffe models)", nick = "bgr")]
    Bgr,
}

impl From<InputColorChoice> for ChannelOrder {
    fn from(choice: InputColorChoice) -> Self {
        match choice {
            InputColorChoice::Rgb => ChannelOrder::Rgb,
            InputColorChoice::Bgr => ChannelOrder::Bgr,
        }
    }
}

/// `input-layout`: tensor layout, or auto from the input shape.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlInputLayout")]
pub enum InputLayoutChoice {
    #[default]
    #[enum_value(
        name = "Auto: from the input shape (3 channels at position 1 or 3)",
        nick = "auto"
    )]
    Auto,
    #[enum_value(name = "NCHW (PyTorch exports)", nick = "nchw")]
    Nchw,
    #[enum_value(name = "NHWC (TensorFlow exports)", nick = "nhwc")]
    Nhwc,
}

impl InputLayoutChoice {
    /// The forced layout, or `None` for auto.
    pub fn layout(self) -> Option<TensorLayout> {
        match self {
            Self::Auto => None,
            Self::Nchw => Some(TensorLayout::Nchw),
            Self::Nhwc => Some(TensorLayout::Nhwc),
        }
    }
}

/// `mask-mode`: what a one-channel output (mask, depth) becomes.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlMaskMode")]
pub enum MaskModeChoice {
    #[default]
    #[enum_value(name = "Gray: the mask as a gray picture", nick = "gray")]
    Gray,
    #[enum_value(
        name = "Alpha: the input frame with the mask as its alpha channel (RGBA out)",
        nick = "alpha"
    )]
    Alpha,
    #[enum_value(
        name = "Cutout: the input frame where the mask is high, background-color elsewhere",
        nick = "cutout"
    )]
    Cutout,
}

impl MaskModeChoice {
    /// The library's mask mode; `background` (`0xAARRGGBB`, alpha ignored)
    /// is what a cutout shows where the mask is low.
    pub fn with_background(self, background: u32) -> MaskMode {
        match self {
            Self::Gray => MaskMode::Gray,
            Self::Alpha => MaskMode::Alpha,
            Self::Cutout => MaskMode::Cutout {
                background: [
                    (background >> 16) as u8,
                    (background >> 8) as u8,
                    background as u8,
                ],
            },
        }
    }
}

/// Parses a per-channel value: one number for all three channels, or three
/// separated by commas (or spaces), e.g. `123.675,116.28,103.53`.
pub fn parse_channel_values(property: &str, text: &str) -> Result<[f32; 3], String> {
    let values: Result<Vec<f32>, _> = text
        .split([',', ' '])
        .filter(|v| !v.is_empty())
        .map(|v| v.trim().parse::<f32>())
        .collect();
    let bad = || {
        format!(
            "{property}='{text}' is not valid: give one number or three separated by commas, e.g. 0,0,0"
        )
    };
    match values.map_err(|_| bad())?.as_slice() {
        [all] if all.is_finite() => Ok([*all; 3]),
        [r, g, b] if [r, g, b].iter().all(|v| v.is_finite()) => Ok([*r, *g, *b]),
        _ => Err(bad()),
    }
}

/// Formats per-channel values back for the property getter.
pub fn format_channel_values(values: [f32; 3]) -> String {
    format!("{},{},{}", values[0], values[1], values[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks_are_what_pipelines_write() {
        assert_eq!(nick(ScaleModeChoice::CenterCrop), "center-crop");
        let yolov8 = crate::decode::DecoderKind::from_name("yolov8").unwrap();
        assert_eq!(nick(DecoderChoice::decoder(yolov8)), "yolov8");
    }

    #[test]
    fn channel_values_take_one_or_three_numbers() {
        assert_eq!(parse_channel_values("input-std", "255"), Ok([255.0; 3]));
        assert_eq!(
            parse_channel_values("input-mean", "123.675, 116.28,103.53"),
            Ok([123.675, 116.28, 103.53])
        );
        let err = parse_channel_values("input-mean", "1,2").unwrap_err();
        assert!(err.contains("input-mean='1,2'"), "{err}");
        assert!(parse_channel_values("input-std", "abc").is_err());
        assert!(parse_channel_values("input-std", "nan").is_err());
        assert_eq!(format_channel_values([0.5, 1.0, 2.0]), "0.5,1,2");
    }

    #[test]
    fn every_decoder_choice_but_auto_names_a_decoder() {
        let ssd = crate::decode::DecoderKind::from_name("ssd").unwrap();
        assert_eq!(DecoderChoice::AUTO.kind(), None);
        assert_eq!(DecoderChoice::decoder(ssd).kind(), Some(ssd));
    }
}

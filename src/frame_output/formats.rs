//! The pixel formats a frame-to-frame model element reads and writes
//! (`crate::video` names them for GStreamer caps).

use super::MaskMode;
use crate::frame::PixelFormat;

/// Input and output formats, each in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSets {
    pub input: Vec<PixelFormat>,
    pub output: Vec<PixelFormat>,
}

/// Input formats: everything the preprocessing reads but GRAY8.
pub fn input_formats() -> Vec<PixelFormat> {
    formats(|p| p != PixelFormat::Gray8)
}

/// Output formats, in order of preference: packed RGB with 3 or 4 bytes
/// (colour first), and GRAY8 for masks.
pub fn output_formats() -> Vec<PixelFormat> {
    formats(|p| {
        matches!(
            p,
            PixelFormat::Rgb
                | PixelFormat::Bgr
                | PixelFormat::Rgba
                | PixelFormat::Bgra
                | PixelFormat::Rgbx
                | PixelFormat::Bgrx
                | PixelFormat::Gray8
        )
    })
}

/// The formats for a model output of `channels` (`None` before the model's
/// output is known: any it may have) in `mask_mode`. A picture (3 channels)
/// is written in colour from any input; a mask with `alpha` or `cutout`
/// reads the input's pixels as packed RGB, and `alpha` needs an output with
/// an alpha byte.
pub fn formats_for(mask_mode: MaskMode, channels: Option<usize>) -> FormatSets {
    let packed_in = || formats(|p| !p.is_yuv() && p != PixelFormat::Gray8);
    let color_out = || {
        let mut all = output_formats();
        all.retain(|&p| p != PixelFormat::Gray8);
        all
    };
    let (input, output) = match (channels, mask_mode) {
        (Some(3), _) => (input_formats(), color_out()),
        (_, MaskMode::Alpha) => (packed_in(), vec![PixelFormat::Rgba, PixelFormat::Bgra]),
        (_, MaskMode::Cutout { .. }) => (packed_in(), color_out()),
        (_, MaskMode::Gray) => (input_formats(), output_formats()),
    };
    FormatSets { input, output }
}

/// The formats that pass `keep`, in [`PixelFormat::ALL`]'s order.
fn formats(keep: impl Fn(PixelFormat) -> bool) -> Vec<PixelFormat> {
    PixelFormat::ALL.into_iter().filter(|&p| keep(p)).collect()
}

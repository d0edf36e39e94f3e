//! Model output tensor -> video frame, for frame-to-frame models (GAN, style
//! transfer, super-resolution, matting / background removal, depth).
//!
//! The reverse of [`preprocess`](crate::preprocess), on the same frame
//! vocabulary ([`crate::frame`]). This is everything `dltransform` does that
//! is not GStreamer:
//! - [`OutputGeometry`]: what a model makes of frames of one size (its input
//!   and output, the output frame's size), the one place the output frame is
//!   sized; [`frame_dims_from_shape`] reads a frame out of an output shape
//!   (`size.rs`).
//! - [`Renderer`]: one frame's model output into an output frame, as the
//!   element's settings say (`render.rs`); [`formats_for`]: the pixel
//!   formats it reads and writes (`formats.rs`).
//! - [`write_color_frame`]: a 3-channel (or 1-channel) output of one frame,
//!   `[C, H, W]` or `[H, W, C]`, into a packed RGB / BGR / RGBA / ... frame;
//!   [`write_color_region`]: a part of it, such as a letterboxed frame's
//!   picture without the bars ([`FrameRegion::pixels_in`]) (`color.rs`).
//! - [`write_mask_frame`] / [`MaskWriter`]: a one-channel output (mask, depth)
//!   as gray, as the input frame's alpha, or as a cutout over a solid
//!   background, resampled to the frame size (`mask.rs`, `resample.rs`);
//!   [`FrameRegion`]: the frame's part of a mask (or of a picture, in whole
//!   [`Rect`](crate::frame::Rect) pixels) when it was letterboxed or cropped
//!   into the model input (`region.rs`); [`normalize_min_max`] for models
//!   whose raw output needs it (U2-Net).
//! - [`TilePlan`], [`extract_tile`], [`TileBlender`]: running a fully
//!   convolutional model tile by tile on frames too large to run whole, with
//!   seamless blending (`tile.rs`, `blend.rs`); [`Tiler`] holds a frame's
//!   plan, tensor and blender together (`tiler.rs`).
//!
//! Decisions:
//! - Value -> byte: `clamp(round(value * scale + offset), 0, 255)`, rounding
//!   half away from zero (`0.5 * 255 = 127.5 -> 128`), NaN -> 0; `value *
//!   scale + offset` is computed in `f32` as written (no fused multiply-add).
//!   Alpha and padding bytes are 255 unless a mask sets alpha.
//! - Masks are resampled bilinearly in `f32` before the mapping, pixel-centre
//!   aligned (`src = (dst + 0.5) * src_size / dst_size - 0.5`, clamped to the
//!   mask) like OpenCV `INTER_LINEAR`; `a + (b - a) * f`, so constant regions
//!   stay exact. With a [`FrameRegion`] the source is the frame's part of the
//!   mask (`src = start + (dst + 0.5) * extent / dst_size - 0.5`), clamped to
//!   the mask samples it touches: a letterbox's bars never blend in, a centre
//!   crop's cut edges repeat the mask's edge.
//! - A colour output is not resampled: a letterboxed frame's picture is cut
//!   out of it whole pixels at a time. The region's edges, scaled from the
//!   model input to the output, are rounded to the nearest pixel, halves up
//!   ([`FrameRegion::pixels_in`]); caps and copy use that same rectangle.
//! - Cutout blends with the quantised alpha byte `A`:
//!   `out = round((in * A + bg * (255 - A)) / 255)`, exactly what compositing
//!   the [`MaskMode::Alpha`] output over `bg` gives.
//! - Tiling: tiles spread evenly with at least the requested overlap, linear
//!   cross-fades over the middle half of each overlap (the outer quarters,
//!   where a convolution sees a tile's padding, never count), a running
//!   weighted mean; see
//!   [`TilePlan`] and [`TileBlender`].
//!
//! Nothing here panics on wrong lengths or shapes: everything is validated
//! first and reported as an [`OutputError`]. The per-frame functions do not
//! allocate (except the convenience [`write_mask_frame`], see there).

mod blend;
mod color;
mod error;
mod formats;
mod mask;
mod pixels;
mod region;
mod render;
mod resample;
mod size;
#[cfg(test)]
mod tests;
mod tile;
mod tiler;

pub use blend::TileBlender;
pub use color::{write_color_frame, write_color_region};
pub use error::OutputError;
pub use formats::{FormatSets, formats_for, input_formats, output_formats};
pub use mask::{MaskMode, MaskWriter, normalize_min_max, write_mask_frame};
pub use region::FrameRegion;
pub use render::Renderer;
pub use size::{OutputGeometry, frame_dims_from_shape, frame_dims_of_output};
pub use tile::{TilePlan, extract_tile, extract_tile_layout};
pub use tiler::Tiler;

use crate::preprocess::{ChannelOrder, TensorLayout};

/// How model output values become pixel bytes:
/// `byte = clamp(round(value * scale + offset), 0, 255)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputMapping {
    pub scale: f32,
    pub offset: f32,
    /// Channel order of a 3-channel output.
    pub channel_order: ChannelOrder,
    /// Layout of a 3-channel output (one channel reads the same either way).
    pub layout: TensorLayout,
}

impl Default for OutputMapping {
    /// Outputs in `0..=1`: scale 255, offset 0, RGB, NCHW.
    fn default() -> Self {
        Self {
            scale: 255.0,
            offset: 0.0,
            channel_order: ChannelOrder::Rgb,
            layout: TensorLayout::Nchw,
        }
    }
}

impl OutputMapping {
    /// Maps outputs in `lo..=hi` to `0..=255` (RGB, NCHW):
    /// `scale = 255 / (hi - lo)`, `offset = -lo * scale`. E.g. `(-1, 1)` for
    /// `tanh` GAN outputs (scale 127.5, offset 127.5), `(0, 255)` for
    /// pixel-valued style transfer outputs (scale 1, offset 0). `lo == hi`
    /// gives a non-finite scale, which the write functions reject.
    pub fn from_range(lo: f32, hi: f32) -> Self {
        let scale = 255.0 / (hi - lo);
        Self {
            scale,
            offset: -lo * scale,
            ..Self::default()
        }
    }
}

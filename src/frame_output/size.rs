//! The output frame's size, decided once per input frame size (caps
//! negotiation), and reading a frame's dims out of a model output shape.
//!
//! Why the model is run before sizing: a model may declare its output height
//! and width dynamic, and models that pad or crop internally (to multiples
//! of 8, say) do not give exactly `k` times their input. So the element runs
//! the model once on a blank input of the size it will be fed, reads the
//! output's dims ([`frame_dims_of_output`]), and [`OutputGeometry::new`]
//! turns them into the output frame's size. The size depends only on the
//! input frame's size: one run per caps is enough.

use super::pixels::check_size;
use super::{FrameRegion, OutputError};
use crate::frame::{Size, TensorDims};
use crate::preprocess::{FrameMapping, ScaleMode, TensorLayout};

/// What a model makes of frames of one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputGeometry {
    /// The size of one model run's input (a tile's when tiling).
    pub model_input: Size,
    /// Channels of the chosen output: 3 (a picture) or 1 (a mask).
    pub channels: usize,
    /// The size of one model run's output (a tile's when tiling).
    pub model_output: Size,
    /// The part of a 3-channel output that becomes the output frame: the
    /// picture without the bars with a letterbox, else the whole output
    /// (what the model saw).
    pub picture: FrameRegion,
    /// The output frame's size.
    pub output_frame: Size,
    /// Upscale factor of a tiled model (output tile / input tile); 1 untiled.
    pub tile_scale: usize,
}

impl OutputGeometry {
    /// The model input of one tile of a `tile` x `tile` tiling of `frame`:
    /// the tile, or the frame where it is smaller.
    pub fn tile_input(frame: Size, tile: usize) -> Size {
        frame.min(Size::new(tile, tile))
    }

    /// The geometry of frames of `frame` size, each fed to the model as a
    /// `model_input` (placed by `scale_mode`; or cut into tiles of that size
    /// when `tiled`, see [`OutputGeometry::tile_input`]), whose output for one
    /// input is `output`.
    ///
    /// The output frame is: for a mask (1 channel), the input frame's size
    /// (masks are resampled over it); tiled, `k` times the frame (`k` the
    /// tile's upscale factor, which must be whole and the same both ways);
    /// else the model's output, less a letterbox's bars
    /// ([`FrameRegion::pixels_in`]). Tiles are never scaled, so never have
    /// bars.
    pub fn new(
        frame: Size,
        model_input: Size,
        output: TensorDims,
        tiled: bool,
        scale_mode: ScaleMode,
    ) -> Result<Self, OutputError> {
        check_size("frame", frame)?;
        check_size("model input", model_input)?;
        check_size("model output", output.size())?;
        let TensorDims { channels, .. } = output;
        let model_output = output.size();
        if channels != 1 && channels != 3 {
            return Err(OutputError::FrameChannels {
                channels,
                output: model_output,
            });
        }
        let tile_scale = if tiled {
            let k = model_output.width / model_input.width;
            if model_output != model_input.scaled(k) {
                return Err(OutputError::TileNotMultiple {
                    tile: model_input,
                    output: model_output,
                });
            }
            k
        } else {
            1
        };
        let picture =
            if channels == 3 && !tiled && scale_mode == ScaleMode::Letterbox {
                // Only sizes make a placement fail, and both were checked above.
                let placement = FrameMapping::for_placement(scale_mode, frame, model_input)
                    .map_err(|_| OutputError::ZeroSize {
                        what: "frame",
                        width: frame.width,
                        height: frame.height,
                    })?;
                FrameRegion::from_mapping(&placement, model_input)
            } else {
                FrameRegion::whole()
            };
        let output_frame = match (channels, tiled) {
            (1, _) => frame,
            (_, true) => frame.scaled(tile_scale),
            (_, false) => picture.pixels_in(model_output).size(),
        };
        Ok(Self {
            model_input,
            channels,
            model_output,
            picture,
            output_frame,
            tile_scale,
        })
    }
}

/// Reads one frame's dims from a model output shape: `[N, C, H, W]` (NCHW)
/// or `[N, H, W, C]` (NHWC) by `layout`; `[N, H, W]` and `[H, W]` are
/// one-channel (masks, depth maps). Every dim must be positive; `N` may be
/// any batch size.
pub fn frame_dims_from_shape(
    shape: &[i64],
    layout: TensorLayout,
) -> Result<TensorDims, OutputError> {
    let bad = || OutputError::BadShape {
        shape: shape.to_vec(),
    };
    let mut dims = [0usize; 4];
    if shape.len() > dims.len() {
        return Err(bad());
    }
    for (dim, &d) in dims.iter_mut().zip(shape) {
        *dim = usize::try_from(d).ok().filter(|&d| d > 0).ok_or_else(bad)?;
    }
    let frame = |channels, height, width| TensorDims {
        channels,
        height,
        width,
    };
    match (&dims[..shape.len()], layout) {
        (&[_, c, h, w], TensorLayout::Nchw) | (&[_, h, w, c], TensorLayout::Nhwc) => {
            Ok(frame(c, h, w))
        }
        (&[_, h, w], _) | (&[h, w], _) => Ok(frame(1, h, w)),
        _ => Err(bad()),
    }
}

/// [`frame_dims_from_shape`] of one frame's output, whose batch dimension
/// was already removed (`[C, H, W]`, `[H, W, C]`, `[H, W]`). Does not
/// allocate (but to report a bad shape).
pub fn frame_dims_of_output(
    shape: &[usize],
    layout: TensorLayout,
) -> Result<TensorDims, OutputError> {
    let mut with_batch = [1i64; 5];
    let len = shape.len() + 1;
    if len > with_batch.len() {
        return Err(OutputError::BadShape {
            shape: std::iter::once(1)
                .chain(shape.iter().map(|&d| i64::try_from(d).unwrap_or(-1)))
                .collect(),
        });
    }
    for (dim, &d) in with_batch[1..].iter_mut().zip(shape) {
        *dim = i64::try_from(d).unwrap_or(-1);
    }
    frame_dims_from_shape(&with_batch[..len], layout)
}

//! One frame's model output -> one output frame, as an element's settings say.

use super::{
    FrameRegion, MaskMode, MaskWriter, OutputError, OutputMapping, frame_dims_of_output,
    normalize_min_max, write_color_region,
};
use crate::frame::{FrameMut, FrameView};
use crate::preprocess::TensorLayout;

/// Turns model outputs into output frames: a picture (3 channels) is cut
/// out of the output and written as it is, a mask (1 channel) is resampled
/// over the input frame in its [`MaskMode`]. Keeps its buffers between
/// frames: after the first frame it does not allocate. One per stream.
#[derive(Debug)]
pub struct Renderer {
    /// Value -> byte; its layout is each call's.
    mapping: OutputMapping,
    /// The part of a 3-channel output written (see
    /// [`OutputGeometry::picture`](super::OutputGeometry::picture)).
    picture: FrameRegion,
    mask_mode: MaskMode,
    /// Min-max normalise each output before the mapping.
    normalize: bool,
    mask_writer: MaskWriter,
    normalized: Vec<f32>,
}

impl Renderer {
    /// A renderer writing `picture` of 3-channel outputs, and masks whose
    /// frame lies in them as `mask_region` says (where the preprocessing
    /// placed the frame in the model input; the whole mask for tiles, which
    /// are blended back into the whole frame before).
    pub fn new(
        mapping: OutputMapping,
        picture: FrameRegion,
        mask_region: FrameRegion,
        mask_mode: MaskMode,
        normalize: bool,
    ) -> Self {
        Self {
            mapping,
            picture,
            mask_mode,
            normalize,
            mask_writer: MaskWriter::for_region(mask_region),
            normalized: Vec::new(),
        }
    }

    /// Writes one frame's output (`tensor`, of `shape` with the batch
    /// dimension removed, in `layout`) into `out`. `input` is the frame the
    /// output was made from: masks in [`MaskMode::Alpha`] and
    /// [`MaskMode::Cutout`] read its pixels.
    pub fn render(
        &mut self,
        tensor: &[f32],
        shape: &[usize],
        layout: TensorLayout,
        input: &FrameView,
        out: &mut FrameMut,
    ) -> Result<(), OutputError> {
        let dims = frame_dims_of_output(shape, layout)?;
        let mut data = tensor;
        if self.normalize {
            self.normalized.clear();
            self.normalized.extend_from_slice(data);
            normalize_min_max(&mut self.normalized);
            data = &self.normalized;
        }
        let mapping = OutputMapping {
            layout,
            ..self.mapping
        };
        if dims.channels == 1 {
            self.mask_writer.write(
                data,
                dims.size(),
                &mapping,
                self.mask_mode,
                Some(input),
                out,
            )
        } else {
            // The same rectangle the caps were sized by: the output frame
            // has exactly its size.
            let shown = self.picture.pixels_in(dims.size());
            write_color_region(data, dims, shown, &mapping, out)
        }
    }
}

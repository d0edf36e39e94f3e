//! One frame run tile by tile: cut from its preprocessed tensor, the tiles'
//! outputs blended back into one.

use super::{OutputError, TileBlender, TilePlan, extract_tile_layout};
use crate::frame::{Size, TensorDims};
use crate::preprocess::TensorLayout;

/// A [`TilePlan`] with what running it per frame needs: the whole frame's
/// input tensor (preprocessed at the frame's own size, 3 channels, in the
/// model's layout) that tiles are cut from, and the [`TileBlender`] their
/// outputs go to. Allocated once; per frame it does not allocate.
#[derive(Debug, Clone)]
pub struct Tiler {
    blender: TileBlender,
    layout: TensorLayout,
    frame_tensor: Vec<f32>,
}

impl Tiler {
    /// Tiles of `tile` pixels square overlapping by `overlap` over frames of
    /// `frame` size, for a model in `layout` whose output tile is
    /// `scale_factor` times its input tile (see [`TilePlan::new`]).
    pub fn new(
        frame: Size,
        tile: usize,
        overlap: usize,
        scale_factor: usize,
        layout: TensorLayout,
    ) -> Result<Self, OutputError> {
        let plan = TilePlan::new(frame, tile, overlap, scale_factor)?;
        Ok(Self {
            blender: TileBlender::new(plan),
            layout,
            frame_tensor: vec![0.0; 3 * frame.area()],
        })
    }

    pub fn plan(&self) -> &TilePlan {
        self.blender.plan()
    }

    /// Starts a frame (tile outputs added for the last one are dropped) and
    /// gives its whole input tensor, to preprocess the frame into.
    pub fn start_frame(&mut self) -> &mut [f32] {
        self.blender.reset();
        &mut self.frame_tensor
    }

    /// Cuts tile `index` out of the frame tensor into `out`, one model input.
    pub fn cut_tile(&self, index: usize, out: &mut [f32]) -> Result<(), OutputError> {
        let plan = self.blender.plan();
        let tile = plan.tiles().get(index).ok_or(OutputError::TileIndex {
            index,
            count: plan.tiles().len(),
        })?;
        let dims = TensorDims::new(3, plan.frame_size());
        extract_tile_layout(&self.frame_tensor, dims, self.layout, tile, out)
    }

    /// Blends tile `index`'s model output (`shape` without the batch
    /// dimension, in the model's layout) into the frame's.
    pub fn add_output(
        &mut self,
        index: usize,
        output: &[f32],
        shape: &[usize],
    ) -> Result<(), OutputError> {
        let channels = match self.layout {
            TensorLayout::Nchw => shape.first(),
            TensorLayout::Nhwc => shape.last(),
        };
        self.blender
            .add_tile_layout(index, output, channels.copied().unwrap_or(1), self.layout)
    }

    /// The frame's blended output and its shape `[C, H, W]` (always NCHW),
    /// once every tile's output was added.
    pub fn finish(&mut self) -> Result<(&[f32], [usize; 3]), OutputError> {
        let dims = self.blender.output_dims();
        let blended = self.blender.finish()?;
        Ok((blended, [dims.channels, dims.height, dims.width]))
    }
}

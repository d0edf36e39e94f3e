//! Running a frame-to-frame model: the output that becomes the frame, what
//! a model makes of an input of a given size (run once on a blank input),
//! and one frame run tile by tile.

use std::sync::Arc;

use super::BatchRunner;
use super::batch_runner::InputSlot;
use super::batcher::FrameDecoder;
use super::error::InferenceError;
use crate::decode::{DecodeError, OutputView, select_output};
use crate::frame::Size;
use crate::frame_output::Tiler;
use crate::model::ImageInput;
use crate::preprocess::FrameMapping;
use crate::runtime::SharedSession;

/// One frame's chosen output, copied out of the run (to render where the
/// output buffer is).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedOutput {
    /// Per-frame shape (batch dimension removed).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl OwnedOutput {
    /// The borrowed view renderers take.
    pub fn view(&self) -> OutputView<'_> {
        OutputView {
            name: "output",
            shape: &self.shape,
            data: &self.data,
        }
    }
}

/// Picks the output that becomes the frame: `output_name`, else the first.
#[derive(Debug, Clone)]
pub struct OutputPicker {
    /// The `output-name` property.
    pub output_name: Option<String>,
}

impl OutputPicker {
    fn pick<'o, 'a>(
        &self,
        outputs: &'o [OutputView<'a>],
    ) -> Result<&'o OutputView<'a>, InferenceError> {
        select_output(outputs, self.output_name.as_deref(), &[]).map_err(|error| self.failed(error))
    }

    fn failed(&self, error: DecodeError) -> InferenceError {
        let reading = match &self.output_name {
            Some(name) => format!("output-name={name}"),
            None => "the first output".to_string(),
        };
        InferenceError::Decode { reading, error }
    }
}

impl FrameDecoder for OutputPicker {
    type Results = OwnedOutput;

    fn decode(
        &self,
        outputs: &[OutputView<'_>],
        _mapping: &FrameMapping,
    ) -> Result<OwnedOutput, InferenceError> {
        let output = self.pick(outputs)?;
        Ok(OwnedOutput {
            shape: output.shape.to_vec(),
            data: output.data.to_vec(),
        })
    }
}

/// The shape (batch dimension removed) of the output `picker` chooses when
/// the model runs once on a blank input of `size`: how a model whose output
/// size is not declared sizes its output.
pub fn probe_output_shape(
    session: Arc<SharedSession>,
    input: ImageInput,
    size: Size,
    picker: &OutputPicker,
) -> Result<Vec<usize>, InferenceError> {
    let mut runner = BatchRunner::new(session, input, size, 1);
    match runner.slot(0) {
        InputSlot::F32(slot) => slot.fill(0.0),
        InputSlot::U8(slot) => slot.fill(0),
    }
    let mut shape = Err(picker.failed(DecodeError::NoOutputs));
    runner.run(1, |_, outputs| {
        shape = picker.pick(outputs).map(|output| output.shape.to_vec());
    })?;
    shape
}

/// Why a frame could not be run tile by tile.
#[derive(Debug, Clone, PartialEq)]
pub enum TilingError {
    /// A run or reading its output failed.
    Inference(InferenceError),
    /// Cutting a tile or blending its output failed.
    Tiles(crate::frame_output::OutputError),
    /// The model's input is not float32 (tiles are cut from a float tensor).
    NeedsFloatInput,
}

impl std::fmt::Display for TilingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TilingError::Inference(why) => why.fmt(f),
            TilingError::Tiles(why) => write!(f, "cannot tile the frame: {why}"),
            TilingError::NeedsFloatInput => f.write_str("tiling needs a float32 model input"),
        }
    }
}

impl std::error::Error for TilingError {}

/// Runs the frame `tiler` holds (see [`Tiler::start_frame`]) tile by tile,
/// `per_run` tiles a run, blending each tile's chosen output into the
/// frame's; [`Tiler::finish`] then gives the blended output.
pub fn run_tiles(
    tiler: &mut Tiler,
    runner: &mut BatchRunner,
    per_run: usize,
    picker: &OutputPicker,
) -> Result<(), TilingError> {
    let tiles = tiler.plan().tiles().len();
    for first in (0..tiles).step_by(per_run.max(1)) {
        let chunk = first..tiles.min(first + per_run.max(1));
        for (slot, tile) in chunk.clone().enumerate() {
            let InputSlot::F32(out) = runner.slot(slot) else {
                return Err(TilingError::NeedsFloatInput);
            };
            tiler.cut_tile(tile, out).map_err(TilingError::Tiles)?;
        }
        let mut failure = None;
        runner
            .run(chunk.len(), |slot, views| {
                let added = picker
                    .pick(views)
                    .map_err(TilingError::Inference)
                    .and_then(|view| {
                        tiler
                            .add_output(first + slot, view.data, view.shape)
                            .map_err(TilingError::Tiles)
                    });
                if let Err(why) = added {
                    failure.get_or_insert(why);
                }
            })
            .map_err(|e| TilingError::Inference(e.into()))?;
        if let Some(why) = failure {
            return Err(why);
        }
    }
    Ok(())
}

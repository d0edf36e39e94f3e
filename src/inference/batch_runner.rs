//! The input tensor of a batch and running it through the session.

use std::sync::Arc;

use crate::decode::OutputView;
use crate::frame::{FrameView, Size};
use crate::model::{ImageInput, InputElement};
use crate::preprocess::{PreprocessError, Preprocessor};
use crate::runtime::session::InputData;
use crate::runtime::{RunError, SharedSession};

/// The tensor storage for `capacity` frames, allocated once per caps.
enum InputTensor {
    F32(Vec<f32>),
    U8(Vec<u8>),
}

/// A frame's slot in the batch tensor, to preprocess into.
pub enum InputSlot<'a> {
    /// Float input slot.
    F32(&'a mut [f32]),
    /// Raw 8-bit input slot.
    U8(&'a mut [u8]),
}

/// Runs batches of preprocessed frames through a model.
///
/// A model with a dynamic batch dimension gets one run per batch; a model
/// with a fixed batch `b` gets runs of `b` frames, the last one padded with
/// zeros whose outputs are ignored (so `batch-size=4` works on a batch-1
/// model as four runs).
pub struct BatchRunner {
    session: Arc<SharedSession>,
    input: ImageInput,
    size: Size,
    slot_len: usize,
    tensor: InputTensor,
}

impl BatchRunner {
    /// Allocates the tensor for batches of up to `batch_size` frames of a
    /// model input of `size`.
    pub fn new(
        session: Arc<SharedSession>,
        input: ImageInput,
        size: Size,
        batch_size: usize,
    ) -> Self {
        let slot_len = 3 * size.area();
        let chunk = input.batch.unwrap_or(1).max(1);
        // Room for whole fixed-size chunks: the last may need padding.
        let slots = batch_size.max(1).div_ceil(chunk) * chunk;
        let tensor = match input.element {
            InputElement::F32 => InputTensor::F32(vec![0.0; slots * slot_len]),
            InputElement::U8 => InputTensor::U8(vec![0; slots * slot_len]),
        };
        Self {
            session,
            input,
            size,
            slot_len,
            tensor,
        }
    }

    /// A runner for the same model and sizes with a tensor of its own, so
    /// one batch can be filled while another runs.
    pub fn with_new_tensor(&self) -> Self {
        let tensor = match &self.tensor {
            InputTensor::F32(data) => InputTensor::F32(vec![0.0; data.len()]),
            InputTensor::U8(data) => InputTensor::U8(vec![0; data.len()]),
        };
        Self {
            session: self.session.clone(),
            input: self.input.clone(),
            tensor,
            ..*self
        }
    }

    /// The model input size.
    pub fn input_size(&self) -> Size {
        self.size
    }

    /// Preprocesses `frame` into batch slot `slot`.
    pub fn fill_slot(
        &mut self,
        slot: usize,
        preprocessor: &Preprocessor,
        frame: &FrameView,
    ) -> Result<(), PreprocessError> {
        match self.slot(slot) {
            InputSlot::F32(out) => preprocessor.run_f32(frame, out),
            InputSlot::U8(out) => preprocessor.run_u8(frame, out),
        }
    }

    /// Batch slot `slot`, to fill directly (tiles, probes).
    pub fn slot(&mut self, slot: usize) -> InputSlot<'_> {
        let range = slot * self.slot_len..(slot + 1) * self.slot_len;
        match &mut self.tensor {
            InputTensor::F32(data) => InputSlot::F32(&mut data[range]),
            InputTensor::U8(data) => InputSlot::U8(&mut data[range]),
        }
    }

    /// Runs the first `frames` slots and calls `per_frame(index, outputs)`
    /// for each frame with its outputs (batch dimension removed).
    pub fn run(
        &mut self,
        frames: usize,
        mut per_frame: impl FnMut(usize, &[OutputView<'_>]),
    ) -> Result<(), RunError> {
        let chunk = self.input.batch.unwrap_or(frames).max(1);
        let mut start = 0;
        while start < frames {
            let real = chunk.min(frames - start);
            let range = start * self.slot_len..(start + chunk) * self.slot_len;
            // Padding slots of a fixed-batch model: zeros, not a stale frame.
            let padding = (start + real) * self.slot_len..range.end;
            let shape = self.input.tensor_shape(chunk, self.size);
            let data = match &mut self.tensor {
                InputTensor::F32(data) => {
                    data[padding].fill(0.0);
                    InputData::F32(&data[range])
                }
                InputTensor::U8(data) => {
                    data[padding].fill(0);
                    InputData::U8(&data[range])
                }
            };
            self.session
                .run(&self.input.name, &shape, data, |outputs| {
                    for frame in 0..real {
                        let views: Vec<OutputView<'_>> = outputs
                            .iter()
                            .map(|output| {
                                frame_view(output.name, &output.shape, &output.data, frame, chunk)
                            })
                            .collect();
                        per_frame(start + frame, &views);
                    }
                })?;
            start += real;
        }
        Ok(())
    }
}

/// One frame's part of an output whose first dimension is the batch; an
/// output without one (its first dimension is not the chunk size) is given
/// whole to every frame.
fn frame_view<'a>(
    name: &'a str,
    shape: &'a [usize],
    data: &'a [f32],
    frame: usize,
    chunk: usize,
) -> OutputView<'a> {
    match shape.first() {
        Some(&batch) if batch == chunk && !data.is_empty() => {
            let per_frame = data.len() / batch;
            OutputView {
                name,
                shape: &shape[1..],
                data: &data[frame * per_frame..(frame + 1) * per_frame],
            }
        }
        _ => OutputView { name, shape, data },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_batched_outputs_per_frame() {
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let shape = [3usize, 2, 2];
        let view = frame_view("out", &shape, &data, 1, 3);
        assert_eq!(view.shape, &[2, 2]);
        assert_eq!(view.data, &[4.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn outputs_without_a_batch_dimension_are_shared() {
        let data = [3.0f32];
        let shape = [1usize];
        let view = frame_view("count", &shape, &data, 1, 2);
        assert_eq!((view.shape, view.data), (&shape[..], &data[..]));
    }
}

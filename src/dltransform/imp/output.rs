//! dltransform's output frames: a buffer from the negotiated pool, the
//! model's output rendered into it, whole or tile by tile.

use gst_base::subclass::base_transform::{InputBuffer, PrepareOutputBufferSuccess};
use gst_base::subclass::prelude::*;

use super::{DlTransform, Formats, Negotiated, State};
use crate::decode::OutputView;
use crate::element_support::lock;
use crate::frame_output::Renderer;
use crate::inference::{OutputPicker, run_tiles};
use crate::preprocess::TensorLayout;
use crate::video::{frame_mut, frame_view};

impl DlTransform {
    pub(super) fn stream_error(&self, what: &str, why: impl std::fmt::Display) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Failed, ("{}: {}", what, why));
        gst::FlowError::Error
    }

    /// An output buffer for `input` from the negotiated pool, with its timestamps.
    pub(super) fn output_buffer(&self, input: &gst::Buffer) -> Result<gst::Buffer, gst::FlowError> {
        match self.parent_prepare_output_buffer(InputBuffer::Readable(input.as_ref()))? {
            PrepareOutputBufferSuccess::Buffer(buffer) => Ok(buffer),
            PrepareOutputBufferSuccess::InputBuffer => {
                Err(self.stream_error("Cannot allocate an output frame", "in-place output"))
            }
        }
    }

    /// Renders one frame's model output (in `layout`) into a new output
    /// buffer for `input`.
    pub(super) fn render(
        &self,
        renderer: &mut Renderer,
        formats: &Formats,
        output: &OutputView<'_>,
        layout: TensorLayout,
        input: &gst::Buffer,
    ) -> Result<gst::Buffer, gst::FlowError> {
        let mut outbuf = self.output_buffer(input)?;
        {
            let in_frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                input.as_ref(),
                &formats.in_info,
            )
            .map_err(|_| self.stream_error("Cannot map a frame", "readable"))?;
            let mut out_frame = gst_video::VideoFrameRef::from_buffer_ref_writable(
                outbuf.make_mut(),
                &formats.out_info,
            )
            .map_err(|_| self.stream_error("Cannot map the output frame", "writable"))?;
            renderer
                .render(
                    output.data,
                    output.shape,
                    layout,
                    &frame_view(&in_frame, formats.in_format),
                    &mut frame_mut(&mut out_frame, formats.out_format),
                )
                .map_err(|e| self.stream_error("Cannot turn the model's output into a frame", e))?;
        }
        Ok(outbuf)
    }

    /// Runs one frame tile by tile and blends the tiles into its output.
    pub(super) fn run_tiled(
        &self,
        state: &mut State,
        input: &gst::Buffer,
    ) -> Result<gst::Buffer, gst::FlowError> {
        let wanted = lock(&self.settings).model.output_name.clone();
        let per_run = state.core.batch_size.max(1);
        let negotiated = state
            .negotiated
            .as_mut()
            .ok_or(gst::FlowError::NotNegotiated)?;
        let Negotiated {
            formats,
            renderer,
            tiler,
            ..
        } = negotiated;
        let (preprocessor, batcher) = state
            .core
            .negotiated_parts()
            .ok_or(gst::FlowError::NotNegotiated)?;
        let runner = batcher.runner();
        let tiler = tiler.as_mut().ok_or(gst::FlowError::NotNegotiated)?;
        {
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                input.as_ref(),
                &formats.in_info,
            )
            .map_err(|_| self.stream_error("Cannot map a frame", "readable"))?;
            preprocessor
                .run_f32(&frame_view(&frame, formats.in_format), tiler.start_frame())
                .map_err(|e| self.stream_error("Cannot preprocess a frame", e))?;
        }
        run_tiles(
            tiler,
            runner,
            per_run,
            &OutputPicker {
                output_name: wanted,
            },
        )
        .map_err(|e| self.stream_error("Cannot run the frame tile by tile", e))?;
        let (blended, shape) = tiler
            .finish()
            .map_err(|e| self.stream_error("Cannot blend the tiles", e))?;
        let view = OutputView {
            name: "tiled",
            shape: &shape,
            data: blended,
        };
        self.render(renderer, formats, &view, TensorLayout::Nchw, input)
    }
}

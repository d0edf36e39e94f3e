//! From preprocessed frames to per-frame results: the input tensor of a
//! batch, running it in chunks the model accepts, and decoding each frame's
//! outputs into results in frame coordinates. No GObject here: the elements
//! call these.

pub mod batch_runner;
pub mod batcher;
pub mod error;
pub mod frame_outputs;
pub mod instances;
pub mod results;
pub mod worker;

pub use batch_runner::{BatchRunner, InputSlot};
pub use batcher::{Batcher, FrameDecoder, Released, is_inference_frame};
pub use error::{Fault, InferenceError, WorkerError};
pub use frame_outputs::{OutputPicker, OwnedOutput, TilingError, probe_output_shape, run_tiles};
pub use results::{FrameResults, PostprocessConfig, PostprocessSettings, decode_frame};

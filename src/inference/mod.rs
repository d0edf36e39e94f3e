//! From preprocessed frames to per-frame results: the input tensor of a
//! batch, running it in chunks the model accepts, and decoding each frame's
//! outputs into results in frame coordinates. No GObject here: the elements
//! call these.

pub mod batch_runner;
pub mod pipelined;
pub mod results;
pub mod worker;

pub use batch_runner::{BatchRunner, InputSlot};
pub use pipelined::{BatchPipeline, FinishedBatch, PostprocessSettings};
pub use results::{FrameResults, PostprocessConfig, decode_frame};

//! Getting results out of the pipeline: one JSON line per frame (DeepDetect's
//! predict keys) and embeddings as a `.npy` matrix with a JSON Lines index.
//! Plain Rust: `dlpublish` feeds these from the buffers' metadata.

pub mod instance_record;
pub mod line_file;
pub mod mqtt;
pub mod npy;
pub mod record;

pub use line_file::LineFile;
pub use line_file::sync_to_disk;
pub use npy::NpyWriter;
pub use record::{BoundingBox, ClassEntry, EventEntry, FrameRecord, IndexRow};

//! Why inference on a batch of frames failed, told apart so that an element
//! reports each failure in the GStreamer error domain that names it: a frame
//! the preprocessing cannot read is the stream's format, outputs the decoder
//! cannot read are the stream's decoding, a failed run or a lost inference
//! thread is the library's.

use std::fmt;

use crate::decode::DecodeError;
use crate::preprocess::PreprocessError;
use crate::runtime::RunError;

/// Why the inference thread could not do a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerError {
    /// The thread could not be started (the text is the system's reason).
    Spawn(String),
    /// A job panicked; the text is the panic's message.
    Panicked(String),
    /// The thread is gone, so the job's result never came.
    Stopped,
    /// A job was submitted while the previous one's result was not taken.
    Busy,
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::Spawn(why) => write!(f, "cannot start the inference thread: {why}"),
            WorkerError::Panicked(why) => write!(f, "the inference thread panicked: {why}"),
            WorkerError::Stopped => f.write_str("the inference thread has stopped"),
            WorkerError::Busy => {
                f.write_str("a batch was started before the previous one finished")
            }
        }
    }
}

impl std::error::Error for WorkerError {}

/// Why a frame or a batch could not be inferred.
#[derive(Debug, Clone, PartialEq)]
pub enum InferenceError {
    /// A frame could not be turned into the model's input.
    Preprocess(PreprocessError),
    /// ONNX Runtime could not run the batch.
    Run(RunError),
    /// The model's outputs do not fit what the element reads from them.
    Decode {
        /// What was reading them (`decoder=yolov8`, `output-name=x`...).
        reading: String,
        /// What did not fit.
        error: DecodeError,
    },
    /// The inference thread failed.
    Worker(WorkerError),
    /// A run gave fewer frames' outputs than it was given frames.
    MissingResults,
}

impl InferenceError {
    /// Where the fault lies, for the element's choice of error domain.
    pub fn fault(&self) -> Fault {
        match self {
            InferenceError::Preprocess(_) => Fault::StreamFormat,
            InferenceError::Decode { .. } => Fault::StreamDecode,
            InferenceError::Run(_) | InferenceError::Worker(_) | InferenceError::MissingResults => {
                Fault::Library
            }
        }
    }
}

/// Which part of the system an [`InferenceError`] blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The frames are of a kind the element cannot read.
    StreamFormat,
    /// The model's outputs cannot be read as the settings say.
    StreamDecode,
    /// ONNX Runtime or the element's own machinery failed.
    Library,
}

impl fmt::Display for InferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InferenceError::Preprocess(why) => write!(f, "cannot preprocess a frame: {why}"),
            InferenceError::Run(why) => write!(f, "inference failed: {why}"),
            InferenceError::Decode { reading, error } => {
                write!(f, "cannot read the model's outputs with {reading}: {error}")
            }
            InferenceError::Worker(why) => write!(f, "inference failed: {why}"),
            InferenceError::MissingResults => {
                f.write_str("inference failed: the run gave fewer results than it had frames")
            }
        }
    }
}

impl std::error::Error for InferenceError {}

impl From<PreprocessError> for InferenceError {
    fn from(error: PreprocessError) -> Self {
        InferenceError::Preprocess(error)
    }
}

impl From<RunError> for InferenceError {
    fn from(error: RunError) -> Self {
        InferenceError::Run(error)
    }
}

impl From<WorkerError> for InferenceError {
    fn from(error: WorkerError) -> Self {
        InferenceError::Worker(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_blames_its_part() {
        let run = InferenceError::from(RunError::Failed("bad shape".into()));
        assert_eq!(run.fault(), Fault::Library);
        assert_eq!(
            run.to_string(),
            "inference failed: ONNX Runtime failed to run the model: bad shape"
        );
        let worker = InferenceError::from(WorkerError::Panicked("boom".into()));
        assert_eq!(worker.fault(), Fault::Library);
        assert_eq!(
            worker.to_string(),
            "inference failed: the inference thread panicked: boom"
        );
        let decode = InferenceError::Decode {
            reading: "decoder=features".into(),
            error: DecodeError::NoOutputs,
        };
        assert_eq!(decode.fault(), Fault::StreamDecode);
        assert!(
            decode
                .to_string()
                .starts_with("cannot read the model's outputs with decoder=features: "),
            "{decode}"
        );
    }
}

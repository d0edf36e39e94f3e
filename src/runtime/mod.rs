//! ONNX Runtime: finding and loading the library once per process, execution
//! providers with an explicit fallback, and sessions shared per model.

pub mod library;
pub mod provider;
pub mod session;

pub use library::{RuntimeLoadError, ensure_loaded};
pub use provider::ExecutionProvider;
pub use session::{SessionError, SessionOptions, SharedSession, open_shared_session};

//! ONNX Runtime: finding and loading the library once per process, execution
//! providers with an explicit fallback, and sessions shared per model.

pub mod library;
pub mod provider;
pub mod session;
mod shared_arena;
pub mod spin;

pub use library::{RuntimeLoadError, ensure_loaded};
pub use provider::{ExecutionProvider, UnknownProvider};
pub use session::{
    RunError, SessionError, SessionOptions, SharedSession, open_remote_session, open_shared_session,
};
pub use spin::{Spin, SpinDecision};

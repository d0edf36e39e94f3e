//! Why a page could not be resolved, worded for the person running the pipeline.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to get yt-dlp, for [`ResolveError::ProgramMissing`].
pub const INSTALL_HINT: &str = "pip install yt-dlp (the project's set-up installs it into .venv)";

/// Why [`resolve`](super::resolve) gave no media URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The program could not be started: not found, or not executable.
    ProgramMissing {
        program: PathBuf,
        install_hint: String,
    },
    /// The program ran past the deadline and was killed.
    Timeout { after: Duration, page_url: String },
    /// The program exited unsuccessfully (or could not be started for a reason
    /// other than being missing); `message` is what it said on stderr — yt-dlp's
    /// own `ERROR:` lines.
    Failed {
        page_url: String,
        message: String,
        /// `None` when it was killed by a signal or never started.
        exit_code: Option<i32>,
    },
    /// The program succeeded but printed neither usable JSON nor a URL.
    BadOutput { detail: String },
}

impl ResolveError {
    /// Classifies an error from spawning `program`.
    pub(crate) fn from_spawn(program: &Path, page_url: &str, error: &io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
                ResolveError::ProgramMissing {
                    program: program.to_path_buf(),
                    install_hint: INSTALL_HINT.to_owned(),
                }
            }
            _ => ResolveError::Failed {
                page_url: page_url.to_owned(),
                message: format!("could not start {}: {error}", program.display()),
                exit_code: None,
            },
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::ProgramMissing {
                program,
                install_hint,
            } => write!(
                f,
                "cannot run {}: not found or not executable; install yt-dlp with `{install_hint}`, \
                 or point the element at it with its program setting",
                program.display()
            ),
            ResolveError::Timeout { after, page_url } => write!(
                f,
                "resolving {page_url} took longer than {:.1} s, so yt-dlp was stopped; \
                 check the network and the URL, or allow more time",
                after.as_secs_f64()
            ),
            ResolveError::Failed {
                page_url,
                message,
                exit_code,
            } => {
                write!(f, "yt-dlp could not resolve {page_url}: {message}")?;
                match exit_code {
                    Some(code) => write!(f, " (exit status {code})"),
                    None => Ok(()),
                }
            }
            ResolveError::BadOutput { detail } => write!(
                f,
                "yt-dlp's output gave no media URL: {detail} (expected the JSON of \
                 --dump-single-json with a \"url\", or a bare http(s) URL on a line of its own)"
            ),
        }
    }
}

impl std::error::Error for ResolveError {}

//! Resolving a web page to a playable media URL with
//! [yt-dlp](https://github.com/yt-dlp/yt-dlp), for the `ytdlsrc` element
//! (`ytdl://https://www.youtube.com/watch?v=...`).
//!
//! Plain Rust, no GStreamer: [`resolve`] runs yt-dlp as a subprocess, waits
//! for it with a deadline and parses what it prints. It blocks, so the element
//! calls it on its own thread, never on a streaming thread.
//!
//! # What is run
//!
//! ```text
//! <program> --dump-single-json --no-playlist --no-warnings --no-progress --color never
//!           -f <format> <extra_args...> -- <page_url>
//! ```
//!
//! `-J`/`--dump-single-json` implies `--simulate`: nothing is downloaded, yt-dlp
//! only extracts and picks a format. The user's yt-dlp configuration files are
//! read as usual (cookies, proxies); put `--ignore-config` in `extra_args` to
//! avoid that. Stdin is `/dev/null`, so a prompt can never hang the element.
//!
//! # Which URL is taken from yt-dlp's JSON
//!
//! * The top-level `url` when the format selector picked a single format
//!   (the usual case, and always the case with [`DEFAULT_FORMAT`]); with its
//!   `http_headers`.
//! * For a merged selection such as `bestvideo+bestaudio` there is no
//!   top-level `url`: the **video** one of `requested_formats` is taken (the
//!   first whose `vcodec` is not `"none"`), with its own `http_headers`; the
//!   audio is dropped. Use a single-format selector to get sound.
//! * For a playlist (`_type: "playlist"`, e.g. a page with several `<video>`
//!   tags even with `--no-playlist`) the first entry that has a URL.
//!
//! # Stand-ins ("pluggable stream processors")
//!
//! `program` need not be yt-dlp. Any executable can stand in if, given the
//! arguments above (the page URL is always the last one, after `--`), it
//!
//! * prints on stdout either a JSON object in yt-dlp's shape — at least
//!   `{"url": "https://..."}`, optionally `title` (string), `duration`
//!   (seconds, number), `http_headers` (object of strings) and `extractor` —
//!   or just a bare URL: the first line whose first word starts with
//!   `http://` or `https://` gives the URL (that word), other lines are
//!   ignored; a URL holding control characters is refused, and headers with
//!   a NUL, CR or LF, or a title or extractor with a NUL, are ignored
//!   (GStreamer's C strings end at a NUL);
//! * exits with status 0 on success; on failure exits non-zero and says why on
//!   stderr, ideally on lines starting with `ERROR:` as yt-dlp does (those are
//!   passed on to the user; without any, the last few stderr lines are).
//!
//! It may ignore the arguments it does not understand.

mod error;
mod output;
mod request;
mod run;
mod uri;

#[cfg(test)]
mod tests;

use std::process::{Command, Stdio};

pub use error::{INSTALL_HINT, ResolveError};
pub use output::{Resolved, failure_message, parse_stdout};
pub use request::{DEFAULT_FORMAT, DEFAULT_TIMEOUT, ResolveRequest, default_program};
pub use uri::{URI_SCHEME, page_url_from_uri};

/// Resolves `request.page_url` to a media URL by running `request.program`.
///
/// Blocks for as long as the program runs, at most `request.timeout`; on
/// timeout the program (and its process group, on Unix) is killed and reaped
/// before [`ResolveError::Timeout`] is returned.
pub fn resolve(request: &ResolveRequest) -> Result<Resolved, ResolveError> {
    let mut command = Command::new(&request.program);
    command
        .args(request.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let finished = match run::run_with_deadline(command, request.timeout) {
        Ok(run::Outcome::Finished(finished)) => finished,
        Ok(run::Outcome::TimedOut) => {
            return Err(ResolveError::Timeout {
                after: request.timeout,
                page_url: request.page_url.clone(),
            });
        }
        Err(error) => {
            return Err(ResolveError::from_spawn(
                &request.program,
                &request.page_url,
                &error,
            ));
        }
    };

    if !finished.status.success() {
        return Err(ResolveError::Failed {
            page_url: request.page_url.clone(),
            message: output::failure_message(&finished.stderr, &finished.status),
            exit_code: finished.status.code(),
        });
    }
    output::parse_stdout(&finished.stdout).map_err(|detail| ResolveError::BadOutput {
        detail: with_stderr_tail(detail, &finished.stderr),
    })
}

/// Appends what the program said on stderr, if anything, to a parse error.
fn with_stderr_tail(detail: String, stderr: &[u8]) -> String {
    match output::stderr_tail(stderr) {
        Some(tail) => format!("{detail}; its stderr ended with: {tail}"),
        None => detail,
    }
}

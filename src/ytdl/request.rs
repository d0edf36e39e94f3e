//! What to resolve and how: the page, yt-dlp's format selector, the program.

use std::path::PathBuf;
use std::time::Duration;

/// yt-dlp's `-f` selector used unless the user picks another.
///
/// Alternatives are tried left to right (`/`), the first that matches wins:
///
/// 1. `best[height<=?720]` — the best *progressive* format (video and audio in
///    one file, which is what `best` means in yt-dlp) up to 720 lines;
/// 2. `bestvideo[height<=?720]` — else the best video-only format up to 720
///    lines (no sound, but no merging needed);
/// 3. `best` — else the best progressive format of any height (and, when a
///    site has only video-only or only audio-only formats, the best of those);
/// 4. `best*` — else the best format with video or audio, video preferred
///    (yt-dlp's default sort puts `hasvid` first): e.g. only 1080p video-only
///    plus audio-only formats, where 3 would fail with "Requested format is
///    not available".
///
/// The `?` in `<=?` keeps formats whose height is unknown: without it they are
/// excluded, and the generic extractor (plain media URLs, `<video>` tags)
/// never knows the height. For the same reason there is no `[vcodec!=none]`
/// filter: the generic extractor reports `vcodec: null`, which such a filter
/// excludes, while `best` already requires video and audio ("not `none`",
/// unknown allowed). Checked against yt-dlp 2026.10.26 with
/// `--load-info-json` on YouTube-like format lists.
pub const DEFAULT_FORMAT: &str = "best[height<=?720]/bestvideo[height<=?720]/best/best*";

/// How long [`ResolveRequest::new`] lets yt-dlp run: sites that need a
/// JavaScript challenge solved (YouTube) can take several seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One resolution: which page, which format, which program, how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// The page (or media) URL handed to yt-dlp, e.g. from [`page_url_from_uri`](super::page_url_from_uri).
    pub page_url: String,
    /// yt-dlp's `-f` format selector; [`DEFAULT_FORMAT`] unless chosen.
    pub format: String,
    /// yt-dlp, or a stand-in (see the module docs).
    pub program: PathBuf,
    /// Passed after `-f <format>` and before `-- <page_url>`, e.g.
    /// `["--cookies", "cookies.txt"]` or `["--ignore-config"]`.
    pub extra_args: Vec<String>,
    /// The program is killed after this long; `Duration::MAX` waits forever.
    pub timeout: Duration,
}

impl ResolveRequest {
    /// A request with [`DEFAULT_FORMAT`], [`default_program`], no extra
    /// arguments and [`DEFAULT_TIMEOUT`].
    pub fn new(page_url: impl Into<String>) -> Self {
        ResolveRequest {
            page_url: page_url.into(),
            format: DEFAULT_FORMAT.to_owned(),
            program: default_program(),
            extra_args: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The arguments the program is run with (for logging, too).
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--dump-single-json",
            "--no-playlist",
            "--no-warnings",
            "--no-progress",
            "--color",
            "never",
            "-f",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        args.push(self.format.clone());
        args.extend(self.extra_args.iter().cloned());
        args.push("--".to_owned());
        args.push(self.page_url.clone());
        args
    }
}

/// The project venv's yt-dlp, `<CARGO_MANIFEST_DIR>/.venv/bin/yt-dlp`, if it
/// exists (`scripts/setup.sh` installs it there); else `yt-dlp`, looked up in
/// `PATH` when run.
pub fn default_program() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/yt-dlp");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("yt-dlp")
    }
}

//! yt-dlp's output parsers on arbitrary bytes: its JSON (or a stand-in's
//! bare URL) on stdout, and the failure reason on stderr.
//!
//! What they return goes into GStreamer (`uri` and header properties, bus
//! messages, tags), so besides not panicking: a media URL is non-empty and
//! free of control characters, no string holds NUL, no header a line break,
//! and a failure message stays short.

#![no_main]

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use gstdl::ytdl::{failure_message, parse_stdout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(resolved) = parse_stdout(bytes) {
        let url = &resolved.media_url;
        assert!(!url.is_empty());
        assert!(
            !url.contains(|c: char| c.is_control()),
            "control character in the media URL {url:?}"
        );
        let texts = [resolved.title.as_deref(), resolved.extractor.as_deref()];
        for text in texts.into_iter().flatten() {
            assert!(!text.contains('\0'), "NUL in {text:?}");
        }
        for (name, value) in &resolved.http_headers {
            let clean = |text: &str| !text.contains(['\0', '\r', '\n']);
            assert!(
                clean(name) && clean(value),
                "NUL or line break in the header {name:?}: {value:?}"
            );
        }
    }

    // The exit status from the last two bytes, so both kinds occur.
    let raw = bytes.last().map_or(0, |&code| {
        i32::from(code) << 8 | i32::from(bytes.len() as u8 & 1) * 9
    });
    let message = failure_message(bytes, &ExitStatus::from_raw(raw));
    assert!(!message.is_empty());
    // Three lines of at most 500 characters, an ellipsis each and separators.
    assert!(
        message.chars().count() <= 3 * 501 + 2 * 2,
        "{} characters",
        message.chars().count()
    );
});

//! The labels-file parser on arbitrary bytes: invalid UTF-8, CRLF and lone
//! CR line ends, byte-order marks, NUL bytes, blank and huge lines.
//!
//! Labels end up in GStreamer metadata (C strings) and in drawn text, so
//! beyond not panicking, every label must be one line without NUL, trimmed
//! of whitespace and byte-order marks, ids must follow the lines, and the
//! parse must not depend on whether lines end in LF or CRLF.

#![no_main]

use gstdl::model::labels::{label_for, labels_from_bytes, parse_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(labels) = labels_from_bytes(bytes) else {
        return;
    };
    assert!(!labels.is_empty());
    let text = std::str::from_utf8(bytes).expect("only UTF-8 parses");
    assert!(
        labels.len() <= text.split(['\n', '\r']).count(),
        "more labels than lines"
    );
    assert!(
        !labels.last().unwrap().is_empty(),
        "a trailing blank label: {labels:?}"
    );
    for label in &labels {
        let blank = |c: char| c.is_whitespace() || c == '\u{feff}';
        assert_eq!(
            label,
            label.trim_matches(blank),
            "untrimmed (or a byte-order mark): {label:?}"
        );
        assert!(
            !label.contains(['\n', '\0']),
            "a line end or NUL in {label:?}"
        );
        // A `\r` inside a line stays only where lines end in `\n` (`\r\r\n`
        // from a CRLF file converted twice); without any `\n` it ends lines.
        assert!(
            !label.contains('\r') || text.contains('\n'),
            "a classic Mac line end in {label:?}"
        );
    }
    // Unix and Windows line ends read alike.
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    assert_eq!(parse_labels(&crlf), labels, "CRLF changes the labels");
    // Every id has a name to show.
    for id in 0..=labels.len() {
        assert!(!label_for(&labels, id).is_empty());
    }
});

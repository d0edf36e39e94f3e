//! Reading what yt-dlp (or a stand-in) printed: the media URL and what comes
//! with it from stdout, the reason for a failure from stderr.

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

/// What a page resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The chosen format's direct URL (for HLS formats, the `.m3u8` playlist).
    pub media_url: String,
    /// The page's title as the extractor reports it.
    pub title: Option<String>,
    /// The duration, when the extractor knows it (the generic one does not).
    pub duration: Option<Duration>,
    /// Headers the media server expects (yt-dlp's `http_headers` of the chosen
    /// format: `User-Agent`, `Referer`, ...), in the order printed; to be set
    /// on the HTTP source (souphttpsrc's `user-agent` and `extra-headers`).
    pub http_headers: Vec<(String, String)>,
    /// yt-dlp's extractor name, e.g. `youtube`, `generic`, `html5`.
    pub extractor: Option<String>,
}

/// Entries of a playlist are searched this deep for one with a URL.
const MAX_PLAYLIST_DEPTH: usize = 4;
/// At most this many stderr lines are passed on to the user.
const MAX_STDERR_LINES: usize = 3;
/// Each passed-on stderr line is cut to this many characters.
const MAX_LINE_CHARS: usize = 500;

/// The parts of yt-dlp's info dict used here; every other key is ignored.
#[derive(Debug, Default, Deserialize)]
struct Info {
    url: Option<String>,
    title: Option<String>,
    duration: Option<f64>,
    http_headers: Option<Headers>,
    extractor: Option<String>,
    /// Set instead of `url` when formats are merged (`bestvideo+bestaudio`).
    requested_formats: Option<Vec<Format>>,
    /// A playlist's videos; yt-dlp writes `null` for one that failed.
    entries: Option<Vec<Option<Info>>>,
}

#[derive(Debug, Deserialize)]
struct Format {
    url: Option<String>,
    vcodec: Option<String>,
    http_headers: Option<Headers>,
}

/// A JSON object of strings, kept in the order printed. Pairs with a NUL,
/// CR or LF in the name or value are dropped: no real header holds one, a
/// CR or LF would end the header early, and a NUL would cut it short in
/// GStreamer (glib panics on one in debug builds).
#[derive(Debug, Default, Clone)]
struct Headers(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut headers = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    let is_clean = |text: &str| !text.contains(['\0', '\r', '\n']);
                    if is_clean(&name) && is_clean(&value) {
                        headers.push((name, value));
                    }
                }
                Ok(Headers(headers))
            }
        }

        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// Reads a successful run's stdout: yt-dlp's JSON, or a bare URL from a
/// stand-in, as described in the [module docs](super). [`resolve`](super::resolve)
/// calls it; it is public for callers that run yt-dlp themselves.
///
/// # Errors
///
/// Why nothing usable was printed: the detail of
/// [`ResolveError::BadOutput`](super::ResolveError::BadOutput).
pub fn parse_stdout(stdout: &[u8]) -> Result<Resolved, String> {
    let resolved = read_stdout(stdout)?;
    // No URL holds raw control characters, and a NUL would cut it short in
    // GStreamer (glib panics on one in debug builds).
    if resolved.media_url.contains(char::is_control) {
        return Err(format!(
            "the URL it printed holds control characters: {:?}",
            cut(&resolved.media_url, 200)
        ));
    }
    Ok(resolved)
}

/// [`parse_stdout`] before the URL is checked.
fn read_stdout(stdout: &[u8]) -> Result<Resolved, String> {
    let text = String::from_utf8_lossy(stdout);
    let text = text.trim();
    if text.is_empty() {
        return Err("it printed nothing on stdout".to_owned());
    }
    if text == "null" {
        return Err("it printed `null`, which yt-dlp does when extraction failed".to_owned());
    }
    if text.starts_with('{') {
        let info: Info = serde_json::from_str(text)
            .map_err(|error| format!("its stdout is not the JSON expected: {error}"))?;
        return from_info(info, 0).ok_or_else(|| {
            "its JSON has no \"url\", no \"requested_formats\" and no \"entries\" with a URL"
                .to_owned()
        });
    }
    let url = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .find(|word| is_http_url(word))
        .ok_or_else(|| {
            format!(
                "its stdout holds no JSON object and no line starting with an http(s) URL; it began: {:?}",
                cut(text, 200)
            )
        })?;
    Ok(Resolved {
        media_url: url.to_owned(),
        title: None,
        duration: None,
        http_headers: Vec::new(),
        extractor: None,
    })
}

/// The URL, headers and details of an info dict; `None` if it has no URL.
fn from_info(info: Info, depth: usize) -> Option<Resolved> {
    // A NUL would cut the text short in GStreamer (glib panics on one in
    // debug builds); such a title or name is taken as unknown.
    let title = info
        .title
        .filter(|title| !title.trim().is_empty() && !title.contains('\0'));
    let extractor = info
        .extractor
        .filter(|name| !name.is_empty() && !name.contains('\0'));

    let chosen = if let Some(url) = info.url.filter(|url| !url.is_empty()) {
        Some((url, info.http_headers.unwrap_or_default()))
    } else if let Some(formats) = info.requested_formats {
        video_format(formats)
            .map(|(url, headers)| (url, headers.or(info.http_headers).unwrap_or_default()))
    } else {
        None
    };
    if let Some((media_url, headers)) = chosen {
        return Some(Resolved {
            media_url,
            title,
            duration: info
                .duration
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok()),
            http_headers: headers.0,
            extractor,
        });
    }

    // A playlist (`_type` "playlist" or "multi_video"): its first entry that resolves.
    if depth >= MAX_PLAYLIST_DEPTH {
        return None;
    }
    let mut found = info
        .entries?
        .into_iter()
        .flatten()
        .find_map(|entry| from_info(entry, depth + 1))?;
    found.title = found.title.or(title);
    found.extractor = found.extractor.or(extractor);
    Some(found)
}

/// The video one of merged formats (the first whose `vcodec` is not "none"),
/// else the first with a URL.
fn video_format(formats: Vec<Format>) -> Option<(String, Option<Headers>)> {
    let with_url = || {
        formats
            .iter()
            .filter(|f| f.url.as_deref().is_some_and(|u| !u.is_empty()))
    };
    let format = with_url()
        .find(|f| f.vcodec.as_deref() != Some("none"))
        .or_else(|| with_url().next())?;
    Some((format.url.clone()?, format.http_headers.clone()))
}

fn is_http_url(word: &str) -> bool {
    let lower = word.get(..8).unwrap_or(word).to_ascii_lowercase();
    (lower.starts_with("http://") && word.len() > 7)
        || (lower.starts_with("https://") && word.len() > 8)
}

/// Why the program failed, from its stderr: yt-dlp's `ERROR:` lines (at most
/// a few), else the last few lines, else the exit status.
pub fn failure_message(stderr: &[u8], status: &ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let errors: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("ERROR:"))
        .take(MAX_STDERR_LINES)
        .collect();
    if !errors.is_empty() {
        return join_lines(&errors);
    }
    if let Some(tail) = stderr_tail(stderr) {
        return tail;
    }
    match status.code() {
        Some(code) => format!("it exited with status {code} and printed nothing on stderr"),
        None => format!("it was stopped ({status}) and printed nothing on stderr"),
    }
}

/// The last few non-empty lines of stderr, if any.
pub(crate) fn stderr_tail(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(MAX_STDERR_LINES)..];
    (!tail.is_empty()).then(|| join_lines(tail))
}

fn join_lines(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| cut(line, MAX_LINE_CHARS))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` cut to `max` characters, with an ellipsis if it was longer.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn single_format_json() {
        let json = br#"{"id": "x", "title": "Carphone (1)", "duration": 12.5, "extractor": "html5",
            "formats": [{"url": "http://a/other.mp4"}],
            "url": "http://127.0.0.1:8000/clip.mp4", "vcodec": null,
            "http_headers": {"User-Agent": "Mozilla/5.0", "Referer": "http://127.0.0.1:8000/page.html"}}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!(resolved.media_url, "http://127.0.0.1:8000/clip.mp4");
        assert_eq!(resolved.title.as_deref(), Some("Carphone (1)"));
        assert_eq!(resolved.duration, Some(Duration::from_millis(12_500)));
        assert_eq!(resolved.extractor.as_deref(), Some("html5"));
        assert_eq!(
            resolved.http_headers,
            headers(&[
                ("User-Agent", "Mozilla/5.0"),
                ("Referer", "http://127.0.0.1:8000/page.html")
            ])
        );
    }

    #[test]
    fn merged_formats_take_the_video() {
        let json = br#"{"title": "T", "duration": 3, "url": null, "http_headers": {"A": "top"},
            "requested_formats": [
                {"url": "https://x/audio", "vcodec": "none", "acodec": "mp4a", "http_headers": {"A": "audio"}},
                {"url": "https://x/video", "vcodec": "avc1", "acodec": "none", "http_headers": {"A": "video"}}
            ]}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!(resolved.media_url, "https://x/video");
        assert_eq!(resolved.http_headers, headers(&[("A", "video")]));
        assert_eq!(resolved.duration, Some(Duration::from_secs(3)));

        // No headers on the format: the top-level ones.
        let json =
            br#"{"http_headers": {"A": "top"}, "requested_formats": [{"url": "https://x/v"}]}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!(resolved.http_headers, headers(&[("A", "top")]));
    }

    #[test]
    fn playlist_takes_the_first_entry_with_a_url() {
        let json = br#"{"_type": "playlist", "title": "Two", "extractor": "generic",
            "entries": [null, {"title": "Two (1)", "formats": []},
                        {"url": "http://h/clip2.mp4", "http_headers": {"User-Agent": "u"}},
                        {"url": "http://h/clip3.mp4", "title": "Two (3)"}]}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!(resolved.media_url, "http://h/clip2.mp4");
        assert_eq!(
            resolved.title.as_deref(),
            Some("Two"),
            "the playlist's title fills in"
        );
        assert_eq!(resolved.extractor.as_deref(), Some("generic"));
        assert_eq!(resolved.http_headers, headers(&[("User-Agent", "u")]));
    }

    #[test]
    fn bare_url() {
        let out = b"\n  resolving...\nhttps://cdn.example/v.m3u8  (hls)\nhttp://later/x\n";
        let resolved = parse_stdout(out).unwrap();
        assert_eq!(resolved.media_url, "https://cdn.example/v.m3u8");
        assert_eq!(resolved.title, None);
        assert!(resolved.http_headers.is_empty());
    }

    #[test]
    fn unusable_output_says_why() {
        for (out, expected) in [
            (&b""[..], "printed nothing"),
            (b" \n", "printed nothing"),
            (b"null\n", "`null`"),
            (b"{\"title\": \"t\"}", "no \"url\""),
            (b"{\"url\": 3}", "not the JSON expected"),
            (b"{\"url\": \"http://x\"", "not the JSON expected"),
            (
                b"{\"url\": \"http://x\", \"duration\": \"long\"}",
                "not the JSON expected",
            ),
            (b"ftp://x/y\nhttp://\n", "no JSON object and no line"),
        ] {
            let error = parse_stdout(out).expect_err(&String::from_utf8_lossy(out));
            assert!(error.contains(expected), "{out:?}: {error}");
        }
    }

    #[test]
    fn urls_with_control_characters_are_refused() {
        // The fuzzer's find: "\nhttp://\0\0\0;" gave the URL "http://\0\0\0;".
        let error = parse_stdout(b"\nhttp://\0\0\0;").unwrap_err();
        assert_eq!(
            error,
            r#"the URL it printed holds control characters: "http://\0\0\0;""#
        );
        let error = parse_stdout(br#"{"url": "https://x/a\u0000b"}"#).unwrap_err();
        assert!(error.contains("control characters"), "{error}");
        let error = parse_stdout(br#"{"url": "https://x/a\r\nHost: y"}"#).unwrap_err();
        assert!(error.contains("control characters"), "{error}");
    }

    #[test]
    fn headers_with_line_breaks_or_nul_are_dropped() {
        // The fuzzer's find: a header named "User-Age\r\nnt".
        let json = br#"{"url": "http://x/a", "http_headers": {"User-Age\r\nnt": "u",
            "Referer": "http://x/\u0000", "Accept": "a\nb", "Cookie": "c=1"}}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!(resolved.http_headers, headers(&[("Cookie", "c=1")]));
    }

    #[test]
    fn titles_and_extractors_with_nul_are_unknown() {
        // The fuzzer's find: an extractor name holding "\u0000".
        let json = br#"{"url": "http://x/a", "title": "a\u0000b", "extractor": "gen\u0000eric"}"#;
        let resolved = parse_stdout(json).unwrap();
        assert_eq!((resolved.title, resolved.extractor), (None, None));
    }

    #[test]
    fn negative_or_huge_duration_is_unknown() {
        let resolved = parse_stdout(br#"{"url": "http://x/a", "duration": -1}"#).unwrap();
        assert_eq!(resolved.duration, None);
        let resolved = parse_stdout(br#"{"url": "http://x/a", "duration": 1e300}"#).unwrap();
        assert_eq!(resolved.duration, None);
    }

    #[cfg(unix)]
    #[test]
    fn failure_message_prefers_error_lines() {
        use std::os::unix::process::ExitStatusExt;
        let status = ExitStatus::from_raw(1 << 8);
        let stderr = b"[generic] Extracting URL: http://x\nWARNING: w\nERROR: [generic] Unsupported URL: http://x\n  \nERROR: second\nERROR: third\nERROR: fourth\n";
        assert_eq!(
            failure_message(stderr, &status),
            "ERROR: [generic] Unsupported URL: http://x; ERROR: second; ERROR: third"
        );
        let stderr =
            b"Traceback (most recent call last):\n  File x\n    boom()\nValueError: bad\n\n";
        assert_eq!(
            failure_message(stderr, &status),
            "File x; boom(); ValueError: bad"
        );
        assert_eq!(
            failure_message(b"", &status),
            "it exited with status 1 and printed nothing on stderr"
        );
        let killed = ExitStatus::from_raw(9);
        assert!(
            failure_message(b"", &killed).contains("signal: 9"),
            "{}",
            failure_message(b"", &killed)
        );
        let long = format!("ERROR: {}", "x".repeat(2000));
        let message = failure_message(long.as_bytes(), &status);
        assert_eq!(message.chars().count(), MAX_LINE_CHARS + 1);
        assert!(message.ends_with('…'));
    }
}

//! Where a resource's video comes from (`source`) and where a stream's
//! goes (`video_out`): read from the client's text and checked (files
//! inside `--allow-dir`, pipelines only with `--allow-pipelines`).

use std::path::{Path, PathBuf};

use gst::glib;

use super::access::{AccessError, AllowedDirs};
use super::dd::DdError;

/// Extensions of URLs played directly; other `http(s)` URLs are pages that
/// yt-dlp resolves (YouTube and every site it knows).
const MEDIA_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "ts", "m3u8", "mpd", "flv", "ogv", "ogg", "mjpeg",
    "mjpg",
];
/// URL schemes of live streams, played directly.
const STREAM_SCHEMES: &[&str] = &["rtsp", "rtsps", "rtmp", "srt", "udp", "rtp"];

/// Where a resource's video comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A local file (resolved, inside `--allow-dir`).
    File(PathBuf),
    /// A media or stream URL, played by `uridecodebin`.
    Url(String),
    /// A page URL resolved by yt-dlp through `ytdlsrc`.
    Page(String),
    /// A raw pipeline description giving video (only with `--allow-pipelines`).
    Pipeline(String),
}

impl Source {
    /// Reads a resource's `source`.
    pub fn parse(text: &str, dirs: &AllowedDirs, allow_pipelines: bool) -> Result<Source, DdError> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file://") {
            return Source::parse(path, dirs, allow_pipelines);
        }
        if text.starts_with('/') {
            return readable(dirs, text).map(Source::File);
        }
        if let Some(page) = text
            .strip_prefix("ytdl://")
            .or_else(|| text.strip_prefix("ytdl:"))
        {
            return Ok(Source::Page(page.to_owned()));
        }
        if let Some((scheme, rest)) = text.split_once("://")
            && !rest.is_empty()
            && !text.contains(' ')
        {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "http" || scheme == "https" {
                return Ok(if is_media_url(rest) {
                    Source::Url(text.to_owned())
                } else {
                    Source::Page(text.to_owned())
                });
            }
            if STREAM_SCHEMES.contains(&scheme.as_str()) {
                return Ok(Source::Url(text.to_owned()));
            }
            return Err(DdError::service_input(format!(
                "source {text:?}: the URL scheme {scheme:?} is not one gst-dl plays (http, https, {})",
                STREAM_SCHEMES.join(", ")
            )));
        }
        if text.contains('!')
            || gst::ElementFactory::find(text.split_whitespace().next().unwrap_or("")).is_some()
        {
            if !allow_pipelines {
                return Err(DdError::forbidden(format!(
                    "source {text:?} is a GStreamer pipeline, which the server refuses: a pipeline can read \
                     anything the server can. Give a file, a URL or a page URL, or start the server with \
                     --allow-pipelines"
                )));
            }
            return Ok(Source::Pipeline(text.to_owned()));
        }
        Err(DdError::service_input(format!(
            "source {text:?} is neither an absolute file path, an http(s) URL, a page URL nor a pipeline"
        )))
    }

    /// The URI that `uridecodebin` plays, for every kind but a pipeline.
    pub(super) fn uri(&self) -> Result<Option<String>, String> {
        Ok(match self {
            Source::File(path) => Some(
                glib::filename_to_uri(path, None)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .to_string(),
            ),
            Source::Url(url) => Some(url.clone()),
            Source::Page(page) => Some(format!("ytdl://{page}")),
            Source::Pipeline(_) => None,
        })
    }
}

fn is_media_url(rest: &str) -> bool {
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let Some((_, last)) = path.rsplit_once('/') else {
        return false;
    };
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| MEDIA_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(ext)))
}

/// A path that may be read, or the DeepDetect error saying why not.
pub fn readable(dirs: &AllowedDirs, text: &str) -> Result<PathBuf, DdError> {
    dirs.readable(text).map_err(access_error)
}

/// A path that may be written, or the DeepDetect error saying why not.
pub fn writable(dirs: &AllowedDirs, text: &str) -> Result<PathBuf, DdError> {
    dirs.writable(text).map_err(access_error)
}

fn access_error(e: AccessError) -> DdError {
    match e {
        AccessError::Outside(m) => DdError::forbidden(m),
        AccessError::Missing(m) | AccessError::Invalid(m) => DdError::service_input(m),
    }
}

/// Where a stream's video goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A video file (resolved, inside `--allow-dir`), encoded by its extension.
    File(PathBuf),
    /// A pipeline description starting with `appsrc` (only with `--allow-pipelines`).
    Pipeline(String),
}

/// Containers a file output may have, by extension.
const FILE_MUXERS: &[(&str, &str)] = &[
    ("mp4", "mp4mux"),
    ("m4v", "mp4mux"),
    ("mov", "qtmux"),
    ("mkv", "matroskamux"),
];

impl Output {
    /// Reads a stream's `output.video_out`.
    pub fn parse(text: &str, dirs: &AllowedDirs, allow_pipelines: bool) -> Result<Output, DdError> {
        let text = text.trim();
        if text.starts_with('/') {
            let path = writable(dirs, text)?;
            muxer_for(&path).map_err(DdError::service_input)?;
            return Ok(Output::File(path));
        }
        let first = text
            .split(|c: char| c.is_whitespace() || c == '!')
            .next()
            .unwrap_or("");
        if text.contains('!') || first == "appsrc" {
            if !allow_pipelines {
                return Err(DdError::forbidden(format!(
                    "video_out {text:?} is a GStreamer pipeline, which the server refuses: a pipeline can write \
                     anywhere the server can. Give a file path, or start the server with --allow-pipelines"
                )));
            }
            if first != "appsrc" {
                return Err(DdError::service_input(format!(
                    "video_out {text:?} must start with appsrc (the stream's frames enter there), as in \
                     \"appsrc ! videoconvert ! jpegenc ! rtpjpegpay ! udpsink host=localhost port=5000\""
                )));
            }
            return Ok(Output::Pipeline(text.to_owned()));
        }
        Err(DdError::service_input(format!(
            "video_out {text:?} is neither an absolute file path nor a pipeline starting with appsrc"
        )))
    }
}

pub(super) fn muxer_for(path: &Path) -> Result<&'static str, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    FILE_MUXERS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, muxer)| *muxer)
        .ok_or_else(|| {
            let known: Vec<_> = FILE_MUXERS.iter().map(|(e, _)| format!(".{e}")).collect();
            format!(
                "video_out {}: gst-dl writes {} files (H.264); name the file with one of these extensions",
                path.display(),
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (tempfile::TempDir, AllowedDirs) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clip.mp4"), b"x").unwrap();
        let dirs = AllowedDirs::new(&[dir.path().to_path_buf()]).unwrap();
        (dir, dirs)
    }

    #[test]
    fn sources_are_told_apart() {
        let _ = gst::init();
        let (dir, dirs) = dirs();
        let clip = dir.path().join("clip.mp4");
        let parse = |t: &str, allow| Source::parse(t, &dirs, allow);
        assert_eq!(
            parse(clip.to_str().unwrap(), false).unwrap(),
            Source::File(clip.canonicalize().unwrap())
        );
        assert_eq!(
            parse("https://www.youtube.com/watch?v=XnZH4izf_rI", false).unwrap(),
            Source::Page("https://www.youtube.com/watch?v=XnZH4izf_rI".into())
        );
        assert_eq!(
            parse("http://127.0.0.1:1/clip.mp4?x=1", false).unwrap(),
            Source::Url("http://127.0.0.1:1/clip.mp4?x=1".into())
        );
        assert_eq!(
            parse("ytdl://http://127.0.0.1:1/clip.mp4", false).unwrap(),
            Source::Page("http://127.0.0.1:1/clip.mp4".into())
        );
        assert_eq!(
            parse("rtsp://cam/1", false).unwrap(),
            Source::Url("rtsp://cam/1".into())
        );
        let e = parse("videotestsrc ! video/x-raw", false).unwrap_err();
        assert_eq!(e.http.as_u16(), 403);
        assert!(e.dd_msg.contains("--allow-pipelines"));
        assert_eq!(
            parse("videotestsrc num-buffers=3", true).unwrap(),
            Source::Pipeline("videotestsrc num-buffers=3".into())
        );
        assert_eq!(parse("/etc/passwd", false).unwrap_err().http.as_u16(), 403);
        assert_eq!(parse("ftp://x/y", false).unwrap_err().dd_code, 1005);
    }

    #[test]
    fn outputs_are_files_with_a_known_container_or_appsrc_pipelines() {
        let (dir, dirs) = dirs();
        let out = dir.path().join("out.mp4");
        assert!(matches!(
            Output::parse(out.to_str().unwrap(), &dirs, false).unwrap(),
            Output::File(_)
        ));
        let e =
            Output::parse(dir.path().join("out.xyz").to_str().unwrap(), &dirs, false).unwrap_err();
        assert!(e.dd_msg.contains(".mp4"), "{}", e.dd_msg);
        let seed = "appsrc ! queue ! videoconvert ! jpegenc ! rtpjpegpay ! udpsink host=localhost port=5000";
        assert_eq!(
            Output::parse(seed, &dirs, false).unwrap_err().http.as_u16(),
            403
        );
        assert_eq!(
            Output::parse(seed, &dirs, true).unwrap(),
            Output::Pipeline(seed.into())
        );
        assert!(Output::parse("videotestsrc ! filesink location=/tmp/x", &dirs, true).is_err());
        assert_eq!(
            Output::parse("/etc/out.mp4", &dirs, false)
                .unwrap_err()
                .http
                .as_u16(),
            403
        );
    }
}

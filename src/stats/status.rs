//! The status report and its JSON form.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Where the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamState {
    /// Frames are flowing.
    Running,
    /// End of stream was reached; the report is final.
    Eos,
}

impl StreamState {
    /// The word used in messages and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Eos => "eos",
        }
    }
}

/// Video properties from the negotiated caps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct VideoSummary {
    /// Frame width in pixels (0 when not video).
    pub width: u32,
    /// Frame height in pixels (0 when not video).
    pub height: u32,
    /// Nominal frames per second from the caps (0 when variable or unknown).
    pub fps: f64,
}

/// One report: DeepDetect's stream status keys (snake_case in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStatus {
    /// `running` or `eos`.
    pub status: StreamState,
    /// Frames that went through since start.
    pub processed_frames: u64,
    /// Frames upstream asked us to skip (realtime mode); 0 otherwise.
    pub skipped_frames: u64,
    /// Wall time since the first frame.
    pub elapsed_ms: u64,
    /// Average frames per second since the first frame.
    pub fps: f64,
    /// Frames per second over the last reporting interval.
    pub current_fps: f64,
    /// Estimated wall time until the end; -1 when unknown (live, no duration).
    pub remaining_time_ms: i64,
    /// Position in the media as a percentage; -1 when unknown.
    pub percent: f64,
    /// Video width, height and nominal fps.
    pub video: VideoSummary,
}

impl StreamStatus {
    /// The JSON body of the status file.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Replaces `path` with `contents` atomically: a reader sees the old file or
/// the new one, never a half-written one (write a sibling, then rename).
pub fn write_status_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the location has no file name",
        )
    })?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(".tmp");
    let temp = path.with_file_name(temp_name);
    {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents.as_bytes())?;
        file.write_all(b"\n")?;
    }
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StreamStatus {
        StreamStatus {
            status: StreamState::Running,
            processed_frames: 2000,
            skipped_frames: 0,
            elapsed_ms: 74999,
            fps: 12.0,
            current_fps: 12.5,
            remaining_time_ms: 89333,
            percent: 45.5,
            video: VideoSummary {
                width: 1920,
                height: 1080,
                fps: 30.0,
            },
        }
    }

    #[test]
    fn json_has_deepdetect_keys() {
        let value: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(value["status"], "running");
        assert_eq!(value["processed_frames"], 2000);
        assert_eq!(value["elapsed_ms"], 74999);
        assert_eq!(value["fps"], 12.0);
        assert_eq!(value["remaining_time_ms"], 89333);
        assert_eq!(value["video"]["width"], 1920);
        assert_eq!(value["video"]["height"], 1080);
        assert_eq!(value["video"]["fps"], 30.0);
        assert_eq!(value["percent"], 45.5);
        assert_eq!(value["current_fps"], 12.5);
    }

    #[test]
    fn status_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        write_status_file(&path, "{\"a\":1}").unwrap();
        write_status_file(&path, &sample().to_json()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["processed_frames"], 2000);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn an_unwritable_location_is_an_error() {
        assert!(write_status_file(Path::new("/nonexistent-dir/status.json"), "{}").is_err());
    }
}

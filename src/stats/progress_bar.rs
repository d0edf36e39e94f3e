//! A tqdm-like progress line for terminals.

use super::status::StreamStatus;

const BAR_WIDTH: usize = 30;

/// Formats one progress line, e.g.
/// ` 45%|█████████████▌                | 450/1000 frames [00:15<00:18, 29.8 fps]`,
/// or `1234 frames [00:41, 29.9 fps]` when the length is unknown.
/// `total_frames` is the expected frame count when it can be estimated.
pub fn format_progress_bar(status: &StreamStatus, total_frames: Option<u64>) -> String {
    let elapsed = clock(status.elapsed_ms as i64);
    let fps = status.current_fps;
    if status.percent < 0.0 {
        return format!(
            "{} frames [{elapsed}, {fps:.1} fps]",
            status.processed_frames
        );
    }
    let fraction = (status.percent / 100.0).clamp(0.0, 1.0);
    let total = total_frames.map_or_else(
        || "?".to_string(),
        |t| t.max(status.processed_frames).to_string(),
    );
    format!(
        "{:3.0}%|{}| {}/{total} frames [{elapsed}<{}, {fps:.1} fps]",
        status.percent,
        bar(fraction),
        status.processed_frames,
        clock(status.remaining_time_ms),
    )
}

/// A bar of full blocks with one partial block at the edge.
fn bar(fraction: f64) -> String {
    const PARTIAL: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction * (BAR_WIDTH * 8) as f64).round() as usize;
    let full = eighths / 8;
    let mut bar = "█".repeat(full);
    if full < BAR_WIDTH {
        bar.push(PARTIAL[eighths % 8]);
        bar.push_str(&" ".repeat(BAR_WIDTH - full - 1));
    }
    bar
}

/// `mm:ss`, or `h:mm:ss` past an hour; `?` when unknown (negative).
fn clock(ms: i64) -> String {
    if ms < 0 {
        return "?".to_string();
    }
    let seconds = ms / 1000;
    let (h, m, s) = (seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{StreamState, VideoSummary};

    fn status(percent: f64, remaining_time_ms: i64) -> StreamStatus {
        StreamStatus {
            status: StreamState::Running,
            processed_frames: 450,
            skipped_frames: 0,
            elapsed_ms: 15_400,
            fps: 29.2,
            current_fps: 29.8,
            remaining_time_ms,
            percent,
            video: VideoSummary::default(),
        }
    }

    #[test]
    fn known_length_shows_bar_counts_and_eta() {
        let line = format_progress_bar(&status(45.0, 18_300), Some(1000));
        assert!(line.starts_with(" 45%|"), "{line}");
        assert!(
            line.contains("| 450/1000 frames [00:15<00:18, 29.8 fps]"),
            "{line}"
        );
        let bar: String = line.split('|').nth(1).unwrap().to_string();
        assert_eq!(bar.chars().count(), BAR_WIDTH);
        assert_eq!(bar.chars().filter(|&c| c == '█').count(), 13);
    }

    #[test]
    fn unknown_length_shows_counts_only() {
        assert_eq!(
            format_progress_bar(&status(-1.0, -1), None),
            "450 frames [00:15, 29.8 fps]"
        );
    }

    #[test]
    fn full_bar_and_long_clocks() {
        let line = format_progress_bar(&status(100.0, 3_723_000), Some(450));
        assert!(line.contains(&"█".repeat(BAR_WIDTH)), "{line}");
        assert!(line.contains("<1:02:03"), "{line}");
    }
}

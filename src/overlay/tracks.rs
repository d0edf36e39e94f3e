//! Drawing what `dltrack` adds: segments (counting lines, zone edges,
//! trails) and the short trail of each tracked object.
//!
//! Segments are stamped with squares of the line width along their length,
//! one per pixel step, through [`fill_rect`]: every pixel format the other
//! drawing functions support, the same clipping, no format code of its own.

use std::collections::{HashMap, VecDeque};

use super::{DrawRect, Rgb, fill_rect};
use crate::frame::FrameMut;

/// Draws the segment from `a` to `b` (frame pixels), `line_width` wide.
pub fn draw_segment(
    frame: &mut FrameMut,
    a: (f64, f64),
    b: (f64, f64),
    line_width: usize,
    color: Rgb,
) {
    let finite = [a.0, a.1, b.0, b.1]
        .iter()
        .all(|v| v.is_finite() && v.abs() < 1e6);
    if line_width == 0 || !finite {
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let steps = dx.abs().max(dy.abs()).ceil().max(1.0) as usize;
    let w = line_width as i64;
    let half = (line_width as f64 - 1.0) / 2.0;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + dx * t - half, a.1 + dy * t - half);
        fill_rect(
            frame,
            DrawRect::new(x.round() as i64, y.round() as i64, w, w),
            color,
        );
    }
}

/// Draws a polyline through `points`, closed back to the first point when
/// `closed` (a polygon).
pub fn draw_polyline(
    frame: &mut FrameMut,
    points: &[(f64, f64)],
    closed: bool,
    line_width: usize,
    color: Rgb,
) {
    for pair in points.windows(2) {
        draw_segment(frame, pair[0], pair[1], line_width, color);
    }
    if closed && points.len() > 2 {
        draw_segment(
            frame,
            points[points.len() - 1],
            points[0],
            line_width,
            color,
        );
    }
}

/// The last positions of each track, for trails.
#[derive(Debug, Clone, Default)]
pub struct Trails {
    length: usize,
    frame: u64,
    /// Per id: the frame it was last seen, and its last positions (oldest first).
    points: HashMap<u64, (u64, VecDeque<(f64, f64)>)>,
}

impl Trails {
    /// Trails of up to `length` positions (0: none).
    pub fn new(length: usize) -> Self {
        Self {
            length,
            ..Self::default()
        }
    }

    /// Records this frame's positions (id, point); forgets tracks unseen for
    /// a whole trail's length.
    pub fn record(&mut self, positions: &[(u64, (f64, f64))]) {
        self.frame += 1;
        if self.length == 0 {
            return;
        }
        for &(id, point) in positions {
            let (seen, trail) = self.points.entry(id).or_default();
            *seen = self.frame;
            trail.push_back(point);
            while trail.len() > self.length {
                trail.pop_front();
            }
        }
        let (frame, length) = (self.frame, self.length as u64);
        self.points.retain(|_, (seen, _)| frame - *seen < length);
    }

    /// The trail of `id`, oldest first.
    pub fn trail(&self, id: u64) -> Vec<(f64, f64)> {
        self.points
            .get(&id)
            .map(|(_, t)| t.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{PixelFormat, Size};

    fn gray_frame(data: &mut [u8], w: usize, h: usize) -> FrameMut<'_> {
        FrameMut::packed(PixelFormat::Gray8, Size::new(w, h), data, w)
    }

    #[test]
    fn a_diagonal_covers_its_pixels_and_nothing_far_from_it() {
        let mut data = vec![0u8; 20 * 20];
        let mut frame = gray_frame(&mut data, 20, 20);
        draw_segment(&mut frame, (0.0, 0.0), (19.0, 19.0), 1, Rgb(255, 255, 255));
        for i in 0..20 {
            assert_eq!(data[i * 20 + i], 255, "pixel {i},{i}");
        }
        assert_eq!(data.iter().filter(|&&v| v == 255).count(), 20);
    }

    #[test]
    fn polygons_close_and_off_frame_or_nan_segments_are_safe() {
        let mut data = vec![0u8; 10 * 10];
        let mut frame = gray_frame(&mut data, 10, 10);
        draw_polyline(
            &mut frame,
            &[(1.0, 1.0), (8.0, 1.0), (8.0, 8.0)],
            true,
            1,
            Rgb(255, 255, 255),
        );
        draw_segment(
            &mut frame,
            (-50.0, 5.0),
            (f64::NAN, 5.0),
            3,
            Rgb(255, 255, 255),
        );
        draw_segment(
            &mut frame,
            (-50.0, -50.0),
            (500.0, 500.0),
            2,
            Rgb(255, 255, 255),
        );
        assert_eq!(data[8 * 10 + 8], 255);
        assert_eq!(data[10 + 4], 255, "top edge");
        assert_eq!(
            data[4 * 10 + 4],
            255,
            "closing edge (diagonal) and the long one"
        );
    }

    #[test]
    fn trails_keep_the_last_points_and_forget_old_tracks() {
        let mut trails = Trails::new(3);
        for i in 0..5 {
            trails.record(&[(1, (f64::from(i), 0.0))]);
        }
        assert_eq!(trails.trail(1), vec![(2.0, 0.0), (3.0, 0.0), (4.0, 0.0)]);
        for _ in 0..3 {
            trails.record(&[]);
        }
        assert!(trails.trail(1).is_empty());
        let mut none = Trails::new(0);
        none.record(&[(1, (0.0, 0.0))]);
        assert!(none.trail(1).is_empty());
    }
}

//! Drawing what an object carries beyond its box: keypoints (with COCO's
//! skeleton when there are 17), rotated boxes and translucent instance
//! masks, in the frame's own format like the rest of this module.
//!
//! Lines are drawn as runs of `width x width` squares along the segment
//! (one per pixel step of its longer axis), which is plenty for skeletons
//! and box edges and reuses [`fill_rect`]'s clipping. A mask is blended
//! into the pixels under it: `(pixel * (255 - alpha) + colour * alpha) /
//! 255`, per colour byte for packed RGB (alpha bytes set opaque, padding
//! untouched), per luma sample and per chroma sample that a masked pixel
//! lies in for I420 / NV12, on the luma of GRAY8.

use super::{DrawRect, Rgb, alpha_index, fill_rect, packed_pixel, rgb_to_gray, rgb_to_yuv};
use crate::frame::{FrameMut, PixelFormat};
use crate::meta::ObjectMask;

/// COCO-pose's limbs, as pairs of keypoint indices (Ultralytics' skeleton,
/// 0-based).
pub const COCO_SKELETON: [(usize, usize); 19] = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
];

/// Keypoints scored below this are not drawn (Ultralytics' own cut-off).
pub const KEYPOINT_MIN_CONFIDENCE: f64 = 0.5;

/// A line from `from` to `to` (frame pixels), `width` pixels thick.
pub fn draw_line(frame: &mut FrameMut, from: (f64, f64), to: (f64, f64), width: usize, color: Rgb) {
    let finite = [from.0, from.1, to.0, to.1].iter().all(|v| v.is_finite());
    if !finite || width == 0 {
        return;
    }
    // Lines far outside the frame are not worth stepping along.
    let limit = (frame.size.width.max(frame.size.height) as f64) * 4.0 + 16.0;
    if [from.0, from.1, to.0, to.1].iter().any(|v| v.abs() > limit) {
        return;
    }
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let steps = dx.abs().max(dy.abs()).ceil().max(1.0) as usize;
    let half = (width as f64 - 1.0) / 2.0;
    let side = width as i64;
    for step in 0..=steps {
        let t = step as f64 / steps as f64;
        let (x, y) = (from.0 + dx * t - half, from.1 + dy * t - half);
        fill_rect(
            frame,
            DrawRect::new(x.round() as i64, y.round() as i64, side, side),
            color,
        );
    }
}

/// The four edges of a rotated box given by its corners.
pub fn draw_polygon(frame: &mut FrameMut, corners: &[(f64, f64)], width: usize, color: Rgb) {
    for (index, &corner) in corners.iter().enumerate() {
        let next = corners[(index + 1) % corners.len()];
        draw_line(frame, corner, next, width, color);
    }
}

/// Keypoints as dots of `radius`, those scored below
/// [`KEYPOINT_MIN_CONFIDENCE`] left out; with 17 points, COCO's skeleton
/// between the drawn ones.
pub fn draw_keypoints(
    frame: &mut FrameMut,
    points: &[(f64, f64, Option<f64>)],
    radius: usize,
    color: Rgb,
) {
    let shown = |index: usize| {
        points.get(index).and_then(|&(x, y, confidence)| {
            let visible = confidence.is_none_or(|c| c >= KEYPOINT_MIN_CONFIDENCE);
            (visible && x.is_finite() && y.is_finite()).then_some((x, y))
        })
    };
    if points.len() == 17 {
        let line = radius.div_ceil(2).max(1);
        for (a, b) in COCO_SKELETON {
            if let (Some(from), Some(to)) = (shown(a), shown(b)) {
                draw_line(frame, from, to, line, color);
            }
        }
    }
    let side = (2 * radius + 1) as i64;
    for index in 0..points.len() {
        if let Some((x, y)) = shown(index) {
            let rect = DrawRect::new(
                x.round() as i64 - radius as i64,
                y.round() as i64 - radius as i64,
                side,
                side,
            );
            fill_rect(frame, rect, color);
        }
    }
}

/// Blends `color` at `alpha` (0..255) into the pixels `mask` covers.
pub fn tint_mask(frame: &mut FrameMut, mask: &ObjectMask, color: Rgb, alpha: u8) {
    if alpha == 0 || frame.check_planes().is_err() {
        return;
    }
    let (width, height) = (frame.size.width, frame.size.height);
    let inside = |x: usize, y: usize| {
        let (mx, my) = (x as u64, y as u64);
        let (x0, y0) = (u64::from(mask.x), u64::from(mask.y));
        mx >= x0
            && my >= y0
            && mx < x0 + u64::from(mask.width)
            && my < y0 + u64::from(mask.height)
            && mask.data[((my - y0) * u64::from(mask.width) + (mx - x0)) as usize] != 0
    };
    let x_end = ((mask.x as usize).saturating_add(mask.width as usize)).min(width);
    let y_end = ((mask.y as usize).saturating_add(mask.height as usize)).min(height);
    let (x_start, y_start) = ((mask.x as usize).min(x_end), (mask.y as usize).min(y_end));
    let mix = |old: u8, new: u8| -> u8 {
        let a = u32::from(alpha);
        ((u32::from(old) * (255 - a) + u32::from(new) * a + 127) / 255) as u8
    };
    let format = frame.format;
    let [s0, s1, s2] = frame.strides;
    let [p0, p1, p2] = &mut frame.planes;
    match format {
        PixelFormat::Gray8 => {
            let gray = rgb_to_gray(color);
            for y in y_start..y_end {
                for x in (x_start..x_end).filter(|&x| inside(x, y)) {
                    let byte = &mut p0[y * s0 + x];
                    *byte = mix(*byte, gray);
                }
            }
        }
        PixelFormat::I420 | PixelFormat::Nv12 => {
            let (luma, u, v) = rgb_to_yuv(color);
            for y in y_start..y_end {
                for x in (x_start..x_end).filter(|&x| inside(x, y)) {
                    let byte = &mut p0[y * s0 + x];
                    *byte = mix(*byte, luma);
                }
            }
            // A chroma sample is tinted once when any of its pixels is masked.
            for cy in y_start / 2..y_end.div_ceil(2) {
                for cx in x_start / 2..x_end.div_ceil(2) {
                    let any = (0..4).any(|i| {
                        let (x, y) = (2 * cx + i % 2, 2 * cy + i / 2);
                        x < width && y < height && inside(x, y)
                    });
                    if !any {
                        continue;
                    }
                    if format == PixelFormat::I420 {
                        p1[cy * s1 + cx] = mix(p1[cy * s1 + cx], u);
                        p2[cy * s2 + cx] = mix(p2[cy * s2 + cx], v);
                    } else {
                        let at = cy * s1 + 2 * cx;
                        p1[at] = mix(p1[at], u);
                        p1[at + 1] = mix(p1[at + 1], v);
                    }
                }
            }
        }
        _ => {
            let bytes = if matches!(format, PixelFormat::Rgb | PixelFormat::Bgr) {
                3
            } else {
                4
            };
            let pixel = packed_pixel(format, color);
            let alpha_at = alpha_index(format);
            let padding_at = match format {
                PixelFormat::Rgbx | PixelFormat::Bgrx => Some(3),
                PixelFormat::Xrgb | PixelFormat::Xbgr => Some(0),
                _ => None,
            };
            for y in y_start..y_end {
                for x in (x_start..x_end).filter(|&x| inside(x, y)) {
                    let at = y * s0 + x * bytes;
                    for (index, &value) in pixel.iter().enumerate().take(bytes) {
                        if Some(index) == alpha_at {
                            p0[at + index] = 255;
                        } else if Some(index) != padding_at {
                            p0[at + index] = mix(p0[at + index], value);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Size;

    fn rgb_frame(data: &mut [u8], width: usize, height: usize) -> FrameMut<'_> {
        FrameMut::packed(PixelFormat::Rgb, Size::new(width, height), data, width * 3)
    }

    fn pixel(data: &[u8], width: usize, x: usize, y: usize) -> [u8; 3] {
        let at = (y * width + x) * 3;
        [data[at], data[at + 1], data[at + 2]]
    }

    #[test]
    fn masks_tint_only_their_pixels_by_alpha() {
        let mut data = vec![100u8; 8 * 4 * 3];
        let mask = ObjectMask {
            x: 2,
            y: 1,
            width: 3,
            height: 2,
            data: vec![255, 0, 255, 0, 255, 0],
        };
        tint_mask(&mut rgb_frame(&mut data, 8, 4), &mask, Rgb(255, 0, 0), 128);
        // 100 * 127/255 + 255 * 128/255 = 178, 100 * 127/255 = 50.
        assert_eq!(pixel(&data, 8, 2, 1), [178, 50, 50]);
        assert_eq!(pixel(&data, 8, 3, 1), [100, 100, 100]);
        assert_eq!(pixel(&data, 8, 3, 2), [178, 50, 50]);
        assert_eq!(pixel(&data, 8, 0, 0), [100, 100, 100]);
        // A mask past the frame's edge is clipped.
        let wide = ObjectMask {
            x: 6,
            y: 3,
            width: 5,
            height: 5,
            data: vec![255; 25],
        };
        tint_mask(&mut rgb_frame(&mut data, 8, 4), &wide, Rgb(0, 0, 255), 255);
        assert_eq!(pixel(&data, 8, 7, 3), [0, 0, 255]);
    }

    #[test]
    fn keypoints_draw_dots_and_the_coco_skeleton() {
        let (w, h) = (40, 40);
        let mut data = vec![0u8; w * h * 3];
        let mut points = vec![(f64::NAN, f64::NAN, Some(0.9)); 17];
        points[5] = (10.0, 10.0, Some(0.9)); // left shoulder
        points[6] = (30.0, 10.0, Some(0.9)); // right shoulder
        points[0] = (20.0, 30.0, Some(0.1)); // nose, not confident
        draw_keypoints(&mut rgb_frame(&mut data, w, h), &points, 1, Rgb(0, 255, 0));
        assert_eq!(pixel(&data, w, 10, 10), [0, 255, 0]);
        assert_eq!(pixel(&data, w, 20, 10), [0, 255, 0], "the 5-6 limb");
        assert_eq!(pixel(&data, w, 20, 30), [0, 0, 0], "below the cut-off");
        assert_eq!(pixel(&data, w, 20, 20), [0, 0, 0]);
    }

    #[test]
    fn rotated_boxes_draw_their_edges() {
        let (w, h) = (40, 40);
        let mut data = vec![0u8; w * h * 3];
        let diamond = [(20.0, 5.0), (35.0, 20.0), (20.0, 35.0), (5.0, 20.0)];
        draw_polygon(
            &mut rgb_frame(&mut data, w, h),
            &diamond,
            1,
            Rgb(255, 255, 255),
        );
        assert_eq!(pixel(&data, w, 20, 5), [255, 255, 255]);
        assert_eq!(pixel(&data, w, 27, 12), [255, 255, 255], "on an edge");
        assert_eq!(pixel(&data, w, 20, 20), [0, 0, 0], "inside stays");
        draw_line(
            &mut rgb_frame(&mut data, w, h),
            (f64::NAN, 0.0),
            (1e300, 0.0),
            3,
            Rgb(1, 2, 3),
        );
    }
}

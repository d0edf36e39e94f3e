//! Text labels: a TrueType font rasterised with anti-aliasing onto a filled box.
//!
//! Font crate: `ab_glyph` (with `default-features = false, features =
//! ["std"]`). Chosen over `fontdue` because it pulls in only three small
//! crates (`ab_glyph_rasterizer`, `owned_ttf_parser`, `ttf-parser`; no
//! `hashbrown`), builds in a few seconds, owns the font data
//! (`FontVec::try_from_vec`, so the renderer has no lifetime and is
//! `Send + Sync`), applies kerning and gives exact per-glyph pixel bounds,
//! which keeps every drawn pixel inside the measured label box. It is
//! well kept (glyph_brush / imageproc use it). Glyphs are outlined and
//! rasterised on every call; at label sizes that is a few microseconds per
//! glyph.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, OutlinedGlyph, PxScale, ScaleFont, point};

use super::{DrawRect, Rgb, blend_coverage};
use crate::frame::{FrameMut, Size};

/// Where `from_system` looks, in order (Debian / Ubuntu `fonts-dejavu-core`
/// first, then the Fedora and Arch locations).
const SYSTEM_FONT_DIRS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
];
const SYSTEM_FONT_FILES: [&str; 2] = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

/// Largest text size accepted; larger sizes are clamped (a glyph's raster
/// buffer grows with the square of the size).
pub const MAX_TEXT_SIZE_PX: f32 = 512.0;

/// Draws text labels with one font.
pub struct TextRenderer {
    font: FontVec,
}

/// Glyphs of one line of text, positioned relative to the label box.
struct Layout {
    glyphs: Vec<OutlinedGlyph>,
    /// Label box size.
    width: usize,
    height: usize,
    /// Added to a glyph's `px_bounds().min` to get its place in the box.
    shift_x: i64,
    shift_y: i64,
}

impl TextRenderer {
    /// Loads DejaVu Sans (or DejaVu Sans Bold) from the usual system font
    /// folders. Fails naming the package to install when none is found.
    pub fn from_system() -> Result<Self, String> {
        let mut tried = Vec::new();
        for file in SYSTEM_FONT_FILES {
            for dir in SYSTEM_FONT_DIRS {
                let path = PathBuf::from(dir).join(file);
                if path.is_file() {
                    return Self::from_file(&path);
                }
                tried.push(path.display().to_string());
            }
        }
        Err(format!(
            "no DejaVu Sans font found (looked for {}): install the fonts-dejavu-core \
             package (Debian/Ubuntu; dejavu-sans-fonts on Fedora, ttf-dejavu on Arch)",
            tried.join(", ")
        ))
    }

    /// Loads a TrueType / OpenType font file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let data = std::fs::read(path)
            .map_err(|e| format!("cannot read font file {}: {e}", path.display()))?;
        Self::from_bytes(data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Uses a TrueType / OpenType font held in memory (the first font of a
    /// collection).
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, String> {
        let font = FontVec::try_from_vec(data).map_err(|e| format!("not a usable font: {e}"))?;
        if font.glyph_count() == 0 || font.height_unscaled() <= 0.0 {
            return Err("not a usable font: it has no glyphs or no line height".into());
        }
        Ok(Self { font })
    }

    /// Size in pixels of the label box `draw_label` draws
    /// for `text`: the text's extent plus padding. `size_px` is the font's
    /// line height (ascent to descent) in pixels, clamped to
    /// [`MAX_TEXT_SIZE_PX`]. Empty text, or a size below 1 or not finite,
    /// gives `0x0`.
    pub fn measure(&self, text: &str, size_px: f32) -> Size {
        self.layout(text, size_px)
            .map_or(Size::default(), |l| Size::new(l.width, l.height))
    }

    /// Draws a label box of [`measure`](Self::measure)'s size with its top-left
    /// corner at `(x, y)`: filled with `background`, the text anti-aliased over
    /// it in `text_color`. Clipped at the frame's edges; pixels outside the box
    /// are not changed (I420 / NV12: except the chroma of samples the box's
    /// edge shares with them).
    #[allow(clippy::too_many_arguments)] // the contract's signature
    pub fn draw_label(
        &self,
        frame: &mut FrameMut,
        x: i64,
        y: i64,
        text: &str,
        size_px: f32,
        text_color: Rgb,
        background: Rgb,
    ) {
        let Some(layout) = self.layout(text, size_px) else {
            return;
        };
        let rect = DrawRect::new(x, y, layout.width as i64, layout.height as i64);
        let Some(s) = rect.clip(frame.size) else {
            return;
        };
        if frame.check_planes().is_err() {
            return;
        }
        let w = s.width;
        let mut coverage = vec![0u8; w * s.height];
        let (sx0, sy0, sx1, sy1) = (s.x as i64, s.y as i64, s.right() as i64, s.bottom() as i64);
        for glyph in &layout.glyphs {
            let b = glyph.px_bounds();
            let gx = x.saturating_add(b.min.x as i64 + layout.shift_x);
            let gy = y.saturating_add(b.min.y as i64 + layout.shift_y);
            glyph.draw(|px, py, c| {
                let (fx, fy) = (gx + i64::from(px), gy + i64::from(py));
                if fx >= sx0 && fx < sx1 && fy >= sy0 && fy < sy1 {
                    let i = (fy - sy0) as usize * w + (fx - sx0) as usize;
                    let add = (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                    coverage[i] = coverage[i].saturating_add(add);
                }
            });
        }
        blend_coverage(frame, s, &coverage, text_color, background);
    }

    fn layout(&self, text: &str, size_px: f32) -> Option<Layout> {
        if size_px.is_nan() || size_px < 1.0 || text.chars().all(char::is_control) {
            return None;
        }
        let size = size_px.min(MAX_TEXT_SIZE_PX);
        let font = self.font.as_scaled(PxScale::from(size));
        let ascent = font.ascent();
        let line_height = (ascent - font.descent()).ceil();
        // Text space: caret starts at x 0, baseline at y = ascent.
        let (mut caret, mut prev) = (0.0f32, None);
        let mut glyphs = Vec::with_capacity(text.len());
        let (mut min_x, mut min_y) = (0.0f32, 0.0f32);
        let (mut max_x, mut max_y) = (0.0f32, line_height);
        for ch in text.chars().filter(|c| !c.is_control()) {
            let id = font.glyph_id(ch);
            if let Some(p) = prev {
                caret += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, ascent));
            caret += font.h_advance(id);
            prev = Some(id);
            if let Some(outlined) = self.font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                min_x = min_x.min(b.min.x);
                min_y = min_y.min(b.min.y);
                max_x = max_x.max(b.max.x);
                max_y = max_y.max(b.max.y);
                glyphs.push(outlined);
            }
        }
        max_x = max_x.max(caret.ceil());
        let pad_x = (size * 0.25).round().max(1.0);
        let pad_y = (size * 0.12).round().max(1.0);
        let (min_x, min_y) = (min_x.floor(), min_y.floor());
        Some(Layout {
            glyphs,
            width: (max_x.ceil() - min_x + 2.0 * pad_x) as usize,
            height: (max_y.ceil() - min_y + 2.0 * pad_y) as usize,
            shift_x: (pad_x - min_x) as i64,
            shift_y: (pad_y - min_y) as i64,
        })
    }
}

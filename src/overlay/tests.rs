use super::*;

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// How a packed format lays out a pixel, written out independently of the
/// code under test: bytes per pixel, byte of R, G, B, alpha byte, padding byte.
struct Packed {
    bpp: usize,
    rgb: [usize; 3],
    alpha: Option<usize>,
    pad: Option<usize>,
}

fn packed(format: PixelFormat) -> Option<Packed> {
    use PixelFormat as F;
    let (bpp, rgb, alpha, pad) = match format {
        F::Rgb => (3, [0, 1, 2], None, None),
        F::Bgr => (3, [2, 1, 0], None, None),
        F::Rgba => (4, [0, 1, 2], Some(3), None),
        F::Bgra => (4, [2, 1, 0], Some(3), None),
        F::Argb => (4, [1, 2, 3], Some(0), None),
        F::Abgr => (4, [3, 2, 1], Some(0), None),
        F::Rgbx => (4, [0, 1, 2], None, Some(3)),
        F::Bgrx => (4, [2, 1, 0], None, Some(3)),
        F::Xrgb => (4, [1, 2, 3], None, Some(0)),
        F::Xbgr => (4, [3, 2, 1], None, Some(0)),
        F::I420 | F::Nv12 | F::Gray8 => return None,
    };
    Some(Packed {
        bpp,
        rgb,
        alpha,
        pad,
    })
}

/// `(row_bytes, rows)` of each plane.
fn plane_sizes(format: PixelFormat, w: usize, h: usize) -> Vec<(usize, usize)> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    match format {
        PixelFormat::I420 => vec![(w, h), (cw, ch), (cw, ch)],
        PixelFormat::Nv12 => vec![(w, h), (2 * cw, ch)],
        PixelFormat::Gray8 => vec![(w, h)],
        f => vec![(w * packed(f).unwrap().bpp, h)],
    }
}

/// A frame that owns its planes; every byte, stride padding included, starts
/// random.
#[derive(Clone, PartialEq, Debug)]
struct Owned {
    format: PixelFormat,
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
    strides: [usize; 3],
}

impl Owned {
    /// Rows of `row_bytes + pad` bytes; the last row is not padded (as
    /// GStreamer may map it).
    fn new(format: PixelFormat, width: usize, height: usize, pad: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut planes: [Vec<u8>; 3] = Default::default();
        let mut strides = [0; 3];
        for (i, (row_bytes, rows)) in plane_sizes(format, width, height).into_iter().enumerate() {
            strides[i] = row_bytes + pad;
            planes[i] = (0..strides[i] * (rows - 1) + row_bytes)
                .map(|_| rng.byte())
                .collect();
        }
        Self {
            format,
            width,
            height,
            planes,
            strides,
        }
    }

    fn frame(&mut self) -> FrameMut<'_> {
        let [a, b, c] = &mut self.planes;
        FrameMut {
            format: self.format,
            size: Size::new(self.width, self.height),
            planes: [a, b, c],
            strides: self.strides,
        }
    }

    fn chroma_size(&self) -> (usize, usize) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// Byte index of chroma sample `(cx, cy)` of component `c` (0 = U, 1 = V):
    /// `(plane, index)`.
    fn chroma_at(&self, cx: usize, cy: usize, c: usize) -> (usize, usize) {
        match self.format {
            PixelFormat::I420 => (1 + c, cy * self.strides[1 + c] + cx),
            PixelFormat::Nv12 => (1, cy * self.strides[1] + 2 * cx + c),
            _ => unreachable!(),
        }
    }

    /// The value that stands for a pixel's brightness: Y / gray, or the first
    /// colour byte (R) of a packed format.
    fn luma(&self, x: usize, y: usize) -> u8 {
        match packed(self.format) {
            Some(p) => self.planes[0][y * self.strides[0] + x * p.bpp + p.rgb[0]],
            None => self.planes[0][y * self.strides[0] + x],
        }
    }

    /// Sets every colour channel / Y and U/V sample from `f(x, y)` (YUV: chroma
    /// from `f` at the sample's top-left pixel); alpha and padding stay.
    fn paint_pattern(&mut self, f: impl Fn(usize, usize) -> u8) {
        let (w, h) = (self.width, self.height);
        match packed(self.format) {
            Some(p) => {
                for y in 0..h {
                    for x in 0..w {
                        for &o in &p.rgb {
                            self.planes[0][y * self.strides[0] + x * p.bpp + o] = f(x, y);
                        }
                    }
                }
            }
            None => {
                for y in 0..h {
                    for x in 0..w {
                        self.planes[0][y * self.strides[0] + x] = f(x, y);
                    }
                }
                if self.format != PixelFormat::Gray8 {
                    let (cw, ch) = self.chroma_size();
                    for cy in 0..ch {
                        for cx in 0..cw {
                            for c in 0..2 {
                                let (pl, i) = self.chroma_at(cx, cy, c);
                                self.planes[pl][i] = f(2 * cx, 2 * cy);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reference drawing: every pixel with `inside(x, y)` gets `color`, written
    /// pixel by pixel (YUV: chroma samples holding any such pixel).
    fn reference_paint(&mut self, inside: impl Fn(usize, usize) -> bool, color: Rgb) {
        let (w, h) = (self.width, self.height);
        let rgb = [color.0, color.1, color.2];
        match self.format {
            PixelFormat::Gray8 => {
                let g = rgb_to_gray(color);
                for y in 0..h {
                    for x in (0..w).filter(|&x| inside(x, y)) {
                        self.planes[0][y * self.strides[0] + x] = g;
                    }
                }
            }
            PixelFormat::I420 | PixelFormat::Nv12 => {
                let (yv, u, v) = rgb_to_yuv(color);
                for y in 0..h {
                    for x in (0..w).filter(|&x| inside(x, y)) {
                        self.planes[0][y * self.strides[0] + x] = yv;
                        for (c, val) in [u, v].into_iter().enumerate() {
                            let (pl, i) = self.chroma_at(x / 2, y / 2, c);
                            self.planes[pl][i] = val;
                        }
                    }
                }
            }
            f => {
                let p = packed(f).unwrap();
                for y in 0..h {
                    for x in (0..w).filter(|&x| inside(x, y)) {
                        let base = y * self.strides[0] + x * p.bpp;
                        for (k, &o) in p.rgb.iter().enumerate() {
                            self.planes[0][base + o] = rgb[k];
                        }
                        if let Some(a) = p.alpha {
                            self.planes[0][base + a] = 255;
                        }
                    }
                }
            }
        }
    }

    /// Per plane, which bytes may differ from the original when the pixels
    /// with `inside(x, y)` are drawn on: their colour and alpha bytes (never
    /// padding), their Y, and the chroma samples holding any of them.
    fn changeable(&self, inside: impl Fn(usize, usize) -> bool) -> [Vec<bool>; 3] {
        let mut m: [Vec<bool>; 3] = std::array::from_fn(|i| vec![false; self.planes[i].len()]);
        for y in 0..self.height {
            for x in (0..self.width).filter(|&x| inside(x, y)) {
                match packed(self.format) {
                    Some(p) => {
                        let base = y * self.strides[0] + x * p.bpp;
                        for o in (0..p.bpp).filter(|&o| Some(o) != p.pad) {
                            m[0][base + o] = true;
                        }
                    }
                    None => {
                        m[0][y * self.strides[0] + x] = true;
                        if self.format != PixelFormat::Gray8 {
                            for c in 0..2 {
                                let (pl, i) = self.chroma_at(x / 2, y / 2, c);
                                m[pl][i] = true;
                            }
                        }
                    }
                }
            }
        }
        m
    }

    /// Panics if any byte outside `changeable(inside)` differs from `before`.
    fn assert_only_changed(
        &self,
        before: &Owned,
        inside: impl Fn(usize, usize) -> bool,
        what: &str,
    ) {
        let m = self.changeable(inside);
        for (p, mask) in m.iter().enumerate() {
            for (i, (a, b)) in self.planes[p].iter().zip(&before.planes[p]).enumerate() {
                assert!(
                    mask[i] || a == b,
                    "{what} {:?}: plane {p} byte {i} (row {}, col byte {}) changed {b} -> {a}",
                    self.format,
                    i / self.strides[p],
                    i % self.strides[p]
                );
            }
        }
    }
}

fn in_rect(r: DrawRect) -> impl Fn(usize, usize) -> bool {
    move |x, y| {
        let (x, y) = (x as i128, y as i128);
        let (rx, ry) = (i128::from(r.x), i128::from(r.y));
        x >= rx && y >= ry && x - rx < i128::from(r.width) && y - ry < i128::from(r.height)
    }
}

/// Pixels of `r` lying in its outermost `lw` pixels.
fn in_band(r: DrawRect, lw: i64) -> impl Fn(usize, usize) -> bool {
    let inner = DrawRect::new(r.x + lw, r.y + lw, r.width - 2 * lw, r.height - 2 * lw);
    move |x, y| in_rect(r)(x, y) && !in_rect(inner)(x, y)
}

fn variance(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64
}

const COLOR: Rgb = Rgb(200, 30, 90);

#[test]
fn yuv_conversion_values() {
    assert_eq!(rgb_to_yuv(Rgb(0, 0, 0)), (16, 128, 128));
    assert_eq!(rgb_to_yuv(Rgb(255, 255, 255)), (235, 128, 128));
    assert_eq!(rgb_to_yuv(Rgb(255, 0, 0)), (82, 90, 240));
    assert_eq!(rgb_to_yuv(Rgb(0, 255, 0)), (144, 54, 34));
    assert_eq!(rgb_to_yuv(Rgb(0, 0, 255)), (41, 240, 110));
    assert_eq!(rgb_to_gray(Rgb(255, 255, 255)), 255);
    assert_eq!(rgb_to_gray(Rgb(0, 0, 0)), 0);
    assert_eq!(rgb_to_gray(Rgb(255, 0, 0)), 77);
}

#[test]
fn outline_exact_pixels_every_format() {
    let rect = DrawRect::new(10, 8, 20, 16);
    for format in PixelFormat::ALL {
        let mut f = Owned::new(format, 64, 48, 5, 1);
        let before = f.clone();
        draw_rect_outline(&mut f.frame(), rect, 2, COLOR);
        let mut want = before.clone();
        want.reference_paint(in_band(rect, 2), COLOR);
        assert_eq!(f, want, "{format:?}");
        f.assert_only_changed(&before, in_band(rect, 2), "outline");

        // Spot checks against literal values.
        match packed(format) {
            Some(p) => {
                for (x, y) in [(10, 8), (11, 9), (29, 23), (28, 15), (15, 22)] {
                    let base = y * f.strides[0] + x * p.bpp;
                    let px = &f.planes[0][base..base + p.bpp];
                    assert_eq!([px[p.rgb[0]], px[p.rgb[1]], px[p.rgb[2]]], [200, 30, 90]);
                    if let Some(a) = p.alpha {
                        assert_eq!(px[a], 255);
                    }
                }
                for (x, y) in [(12, 10), (27, 21), (9, 8), (30, 8), (10, 24)] {
                    let base = y * f.strides[0] + x * p.bpp;
                    assert_eq!(
                        f.planes[0][base..base + p.bpp],
                        before.planes[0][base..base + p.bpp]
                    );
                }
            }
            None if format == PixelFormat::Gray8 => {
                assert_eq!(f.luma(10, 8), rgb_to_gray(COLOR));
                assert_eq!(f.luma(12, 10), before.luma(12, 10));
            }
            None => {
                let (y, u, v) = rgb_to_yuv(COLOR);
                assert_eq!((y, u, v), (91, 129, 198)); // BT.601 limited: 16 + (65.481 R + 128.553 G + 24.966 B) / 255 = 91.3
                assert_eq!(f.luma(10, 8), y);
                assert_eq!(f.luma(29, 23), y);
                assert_eq!(f.luma(12, 10), before.luma(12, 10));
                // Chroma samples fully covered by the band (even rect, even width).
                for (cx, cy) in [(5, 4), (14, 11), (5, 7), (10, 4)] {
                    let (pu, iu) = f.chroma_at(cx, cy, 0);
                    let (pv, iv) = f.chroma_at(cx, cy, 1);
                    assert_eq!((f.planes[pu][iu], f.planes[pv][iv]), (u, v), "{format:?}");
                }
                // A chroma sample inside the inner area is untouched.
                let (pu, iu) = f.chroma_at(8, 7, 0);
                assert_eq!(f.planes[pu][iu], before.planes[pu][iu]);
            }
        }
    }
}

#[test]
fn outline_odd_geometry_and_clipping_every_format() {
    let cases = [
        (DrawRect::new(11, 9, 19, 15), 3),
        (DrawRect::new(-3, -2, 20, 30), 4),
        (DrawRect::new(50, 40, 30, 30), 1),
        (DrawRect::new(0, 0, 63, 47), 1),
        (DrawRect::new(5, 5, 7, 9), 4), // line covers it all: filled
        (DrawRect::new(5, 5, 9, 7), 3), // 2 * 3 < 7, a 1-pixel hole row
    ];
    for format in PixelFormat::ALL {
        for (i, &(rect, lw)) in cases.iter().enumerate() {
            let mut f = Owned::new(format, 63, 47, 3, 10 + i as u64);
            let before = f.clone();
            draw_rect_outline(&mut f.frame(), rect, lw, COLOR);
            let mut want = before.clone();
            want.reference_paint(in_band(rect, lw as i64), COLOR);
            assert_eq!(f, want, "{format:?} {rect:?} line {lw}");
        }
        let mut f = Owned::new(format, 63, 47, 3, 99);
        let before = f.clone();
        draw_rect_outline(&mut f.frame(), DrawRect::new(5, 5, 20, 20), 0, COLOR);
        assert_eq!(f, before, "line width 0 draws nothing");
    }
}

#[test]
fn fill_clips_and_ignores_empty_rects_every_format() {
    let rects = [
        DrawRect::new(10, 8, 20, 16),
        DrawRect::new(-5, -7, 20, 20),
        DrawRect::new(55, 40, 100, 100),
        DrawRect::new(-10, -10, 1000, 1000),
        DrawRect::new(3, 47, 10, 1),
        DrawRect::new(7, 3, 1, 1),
    ];
    let empty = [
        DrawRect::new(-100, -100, 10, 10),
        DrawRect::new(64, 0, 10, 10),
        DrawRect::new(0, 48, 10, 10),
        DrawRect::new(5, 5, 0, 10),
        DrawRect::new(5, 5, 10, 0),
        DrawRect::new(5, 5, -3, 4),
        DrawRect::new(20, 20, -10, -10),
        DrawRect::new(i64::MAX - 5, 0, i64::MAX, 10),
        DrawRect::new(i64::MIN, i64::MIN, i64::MAX, i64::MAX),
        DrawRect::new(i64::MIN, 0, 5, 5),
    ];
    for format in PixelFormat::ALL {
        for (i, &rect) in rects.iter().enumerate() {
            let mut f = Owned::new(format, 64, 48, 4, 20 + i as u64);
            let before = f.clone();
            fill_rect(&mut f.frame(), rect, COLOR);
            let mut want = before.clone();
            want.reference_paint(in_rect(rect), COLOR);
            assert_eq!(f, want, "{format:?} {rect:?}");
        }
        for rect in empty {
            let mut f = Owned::new(format, 64, 48, 4, 30);
            let before = f.clone();
            fill_rect(&mut f.frame(), rect, COLOR);
            draw_rect_outline(&mut f.frame(), rect, 3, COLOR);
            blur_rect(&mut f.frame(), rect, 3);
            pixelate_rect(&mut f.frame(), rect, 4);
            assert_eq!(f, before, "{format:?} {rect:?} must change nothing");
        }
        // Huge extents that do overlap the frame: the whole frame.
        let mut f = Owned::new(format, 64, 48, 4, 31);
        let mut want = f.clone();
        fill_rect(
            &mut f.frame(),
            DrawRect::new(-10, -10, i64::MAX, i64::MAX),
            COLOR,
        );
        want.reference_paint(|_, _| true, COLOR);
        assert_eq!(f, want, "{format:?} huge rect");
        // Overlapping the frame from far away: 2 columns, rows 0..13.
        let far = DrawRect::new(i64::MIN + 3, -7, i64::MAX, 20);
        let mut f = Owned::new(format, 64, 48, 4, 32);
        let before = f.clone();
        pixelate_rect(&mut f.frame(), far, 7);
        blur_rect(&mut f.frame(), far, 5);
        draw_rect_outline(&mut f.frame(), far, 2, COLOR);
        f.assert_only_changed(&before, in_rect(far), "far rect");
        assert_ne!(f, before);
    }
}

#[test]
fn tight_strides_and_one_pixel_frames() {
    for format in PixelFormat::ALL {
        for (w, h) in [(1, 1), (2, 2), (3, 1), (1, 5), (17, 9)] {
            let rect = DrawRect::new(0, 0, w as i64, h as i64);
            let mut f = Owned::new(format, w, h, 0, 40);
            let mut want = f.clone();
            fill_rect(&mut f.frame(), rect, COLOR);
            want.reference_paint(|_, _| true, COLOR);
            assert_eq!(f, want, "{format:?} {w}x{h}");
            let before = f.clone();
            blur_rect(&mut f.frame(), rect, 2);
            pixelate_rect(&mut f.frame(), rect, 3);
            // A uniform area stays uniform (blur and pixelate keep the mean).
            assert_eq!(f, before, "{format:?} {w}x{h} uniform");
        }
    }
}

#[test]
fn malformed_frames_draw_nothing() {
    for format in PixelFormat::ALL {
        let f = Owned::new(format, 32, 16, 2, 50);
        // Plane too short by one byte.
        let mut short = f.clone();
        let p = plane_sizes(format, 32, 16).len() - 1;
        short.planes[p].pop();
        let before = short.clone();
        assert!(short.frame().check_planes().is_err(), "{format:?}");
        let rect = DrawRect::new(0, 0, 32, 16);
        fill_rect(&mut short.frame(), rect, COLOR);
        draw_rect_outline(&mut short.frame(), rect, 2, COLOR);
        blur_rect(&mut short.frame(), rect, 2);
        pixelate_rect(&mut short.frame(), rect, 2);
        assert_eq!(short, before);
        // Stride below a row.
        let mut narrow = f.clone();
        narrow.strides[0] = 1;
        let err = narrow.frame().check_planes().unwrap_err().to_string();
        assert!(err.contains("stride"), "{err}");
        fill_rect(&mut narrow.frame(), rect, COLOR);
        assert_eq!(narrow.planes, f.planes);
        assert!(f.clone().frame().check_planes().is_ok());
    }
}

#[test]
fn blur_changes_only_the_rect_and_smooths_it() {
    let rects = [
        DrawRect::new(10, 8, 20, 16),
        DrawRect::new(11, 9, 19, 15),
        DrawRect::new(-6, 30, 25, 40),
    ];
    for format in PixelFormat::ALL {
        for (i, &rect) in rects.iter().enumerate() {
            let mut f = Owned::new(format, 64, 48, 5, 60 + i as u64);
            f.paint_pattern(|x, y| if (x + y) % 2 == 0 { 255 } else { 0 });
            let before = f.clone();
            blur_rect(&mut f.frame(), rect, 3);
            f.assert_only_changed(&before, in_rect(rect), "blur");
            let inside: Vec<(usize, usize)> = (0..48)
                .flat_map(|y| (0..64).map(move |x| (x, y)))
                .filter(|&(x, y)| in_rect(rect)(x, y))
                .collect();
            let var_before = variance(
                &inside
                    .iter()
                    .map(|&(x, y)| before.luma(x, y) as f64)
                    .collect::<Vec<_>>(),
            );
            let var_after = variance(
                &inside
                    .iter()
                    .map(|&(x, y)| f.luma(x, y) as f64)
                    .collect::<Vec<_>>(),
            );
            assert!(var_before > 10_000.0);
            assert!(
                var_after < 0.2 * var_before,
                "{format:?} {rect:?}: variance {var_before} -> {var_after}"
            );
            if let Some(p) = packed(format).filter(|p| p.alpha.is_some()) {
                for &(x, y) in &inside {
                    assert_eq!(
                        f.planes[0][y * f.strides[0] + x * p.bpp + p.alpha.unwrap()],
                        255
                    );
                }
            }
        }
    }
}

#[test]
fn blur_keeps_flat_areas_and_softens_an_edge() {
    let mut f = Owned::new(PixelFormat::Rgb, 40, 20, 0, 70);
    f.paint_pattern(|x, _| if x < 20 { 40 } else { 220 });
    blur_rect(&mut f.frame(), DrawRect::new(0, 0, 40, 20), 2);
    // Far from the edge: unchanged; at the edge: in between, monotonic.
    assert_eq!(f.luma(2, 10), 40);
    assert_eq!(f.luma(37, 10), 220);
    let row: Vec<u8> = (0..40).map(|x| f.luma(x, 10)).collect();
    assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
    assert!(row[19] > 40 && row[19] < 220 && row[20] > 40 && row[20] < 220);
    // Every row alike (vertical pass of a vertically constant image).
    for y in 0..20 {
        assert_eq!((0..40).map(|x| f.luma(x, y)).collect::<Vec<_>>(), row);
    }
    // A huge radius is fine and averages towards the mean.
    blur_rect(&mut f.frame(), DrawRect::new(0, 0, 40, 20), 100_000);
    let (a, b) = (f.luma(0, 0), f.luma(39, 19));
    assert!(a > 60 && b < 200 && a < b, "{a} {b}");
}

#[test]
fn pixelate_changes_only_the_rect_and_makes_constant_cells() {
    let cases = [
        (DrawRect::new(10, 8, 20, 16), 4),
        (DrawRect::new(-3, -3, 17, 13), 5),
        (DrawRect::new(41, 30, 40, 40), 6),
    ];
    for format in PixelFormat::ALL {
        for (i, &(rect, block)) in cases.iter().enumerate() {
            let mut f = Owned::new(format, 64, 48, 3, 80 + i as u64);
            let before = f.clone();
            pixelate_rect(&mut f.frame(), rect, block);
            f.assert_only_changed(&before, in_rect(rect), "pixelate");
            // Constant cells aligned to the rect origin, with the rounded mean.
            let b = block as i64;
            let cell = |x: usize, y: usize| {
                (
                    (x as i64 - rect.x).div_euclid(b),
                    (y as i64 - rect.y).div_euclid(b),
                )
            };
            let mut cells: std::collections::HashMap<(i64, i64), Vec<(usize, usize)>> =
                Default::default();
            for y in 0..48 {
                for x in (0..64).filter(|&x| in_rect(rect)(x, y)) {
                    cells.entry(cell(x, y)).or_default().push((x, y));
                }
            }
            assert!(cells.len() >= 4);
            for pixels in cells.values() {
                let v = f.luma(pixels[0].0, pixels[0].1);
                assert!(
                    pixels.iter().all(|&(x, y)| f.luma(x, y) == v),
                    "{format:?} {rect:?}"
                );
                let sum: u32 = pixels.iter().map(|&(x, y)| before.luma(x, y) as u32).sum();
                let n = pixels.len() as u32;
                assert_eq!(v as u32, (sum + n / 2) / n, "{format:?} {rect:?}");
            }
        }
        // A checkerboard turns grey.
        let rect = DrawRect::new(10, 8, 20, 16);
        let mut f = Owned::new(format, 64, 48, 3, 89);
        f.paint_pattern(|x, y| if (x + y) % 2 == 0 { 255 } else { 0 });
        pixelate_rect(&mut f.frame(), rect, 4);
        for y in 8..24 {
            for x in 10..30 {
                assert!((127..=128).contains(&f.luma(x, y)), "{format:?}");
            }
        }
        // An even rect with an even block in 4:2:0: chroma cells are constant too.
        if matches!(format, PixelFormat::I420 | PixelFormat::Nv12) {
            for c in 0..2 {
                for cy in (4..12).step_by(2) {
                    for cx in (5..15).step_by(2) {
                        let vals: Vec<u8> = [(0, 0), (1, 0), (0, 1), (1, 1)]
                            .iter()
                            .map(|&(dx, dy)| {
                                let (p, i) = f.chroma_at(cx + dx, cy + dy, c);
                                f.planes[p][i]
                            })
                            .collect();
                        assert!(vals.iter().all(|&v| v == vals[0]), "{format:?} {vals:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn class_colors_are_fixed_distinct_and_wrap() {
    let colors: Vec<Rgb> = (0..20).map(class_color).collect();
    for (i, a) in colors.iter().enumerate() {
        for b in &colors[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(class_color(0), Rgb(0x1f, 0x77, 0xb4));
    assert_eq!(class_color(20), class_color(0));
    assert_eq!(class_color(-1), class_color(19));
    assert_eq!(class_color(i32::MIN), class_color(i32::MIN.rem_euclid(20)));
    // Neighbouring ids differ clearly.
    for w in colors.windows(2) {
        let d = (w[0].0 as i32 - w[1].0 as i32).abs()
            + (w[0].1 as i32 - w[1].1 as i32).abs()
            + (w[0].2 as i32 - w[1].2 as i32).abs();
        assert!(d > 60, "{:?} {:?}", w[0], w[1]);
    }
    assert_eq!(contrast_text_color(Rgb(255, 255, 0)), Rgb(0, 0, 0));
    assert_eq!(contrast_text_color(Rgb(0, 0, 128)), Rgb(255, 255, 255));
}

#[test]
fn label_positions() {
    // Room above: on top of the box.
    assert_eq!(
        label_position(DrawRect::new(30, 50, 40, 40), Size::new(60, 20), 640),
        (30, 30)
    );
    // No room above: inside the top of the box.
    assert_eq!(
        label_position(DrawRect::new(30, 10, 40, 40), Size::new(60, 20), 640),
        (30, 10)
    );
    assert_eq!(
        label_position(DrawRect::new(-5, -8, 40, 40), Size::new(60, 20), 640),
        (0, 0)
    );
    // Past the right edge: shifted left.
    assert_eq!(
        label_position(DrawRect::new(600, 50, 40, 40), Size::new(60, 20), 640),
        (580, 30)
    );
    // Wider than the frame: starts at 0.
    assert_eq!(
        label_position(DrawRect::new(10, 50, 40, 40), Size::new(900, 20), 640),
        (0, 30)
    );
}

#[test]
fn font_errors() {
    assert!(TextRenderer::from_bytes(vec![1, 2, 3, 4]).is_err());
    assert!(TextRenderer::from_bytes(Vec::new()).is_err());
    let err = match TextRenderer::from_file(std::path::Path::new("/nonexistent/font.ttf")) {
        Err(e) => e,
        Ok(_) => panic!("loaded a missing file"),
    };
    assert!(err.contains("/nonexistent/font.ttf"), "{err}");
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TextRenderer>();
}

fn system_font() -> Option<TextRenderer> {
    match TextRenderer::from_system() {
        Ok(t) => Some(t),
        Err(e) => {
            assert!(e.contains("fonts-dejavu-core"), "{e}");
            eprintln!("skipping text test: {e}");
            None
        }
    }
}

#[test]
fn text_label_measure() {
    let Some(t) = system_font() else { return };
    let Size {
        width: w1,
        height: h1,
    } = t.measure("face 0.93", 18.0);
    let Size {
        width: w2,
        height: h2,
    } = t.measure("face 0.93 face", 18.0);
    let Size {
        width: w3,
        height: h3,
    } = t.measure("face 0.93", 36.0);
    assert!(w1 > 40 && w1 < 140, "{w1}");
    assert!((18..30).contains(&h1), "{h1}");
    assert!(w2 > w1 && h2 == h1);
    assert!(w3 > w1 * 3 / 2 && h3 > h1 * 3 / 2);
    assert_eq!(t.measure("", 18.0), Size::new(0, 0));
    assert_eq!(t.measure("abc", f32::NAN), Size::new(0, 0));
    assert_eq!(t.measure("abc", 0.5), Size::new(0, 0));
    assert!(t.measure("x", 1e9).height < 700);
}

#[test]
fn text_label_draws_only_in_its_box_every_format() {
    let Some(t) = system_font() else { return };
    let (text, size) = ("face 0.93", 18.0);
    let Size {
        width: bw,
        height: bh,
    } = t.measure(text, size);
    let (fg, bg) = (Rgb(255, 255, 255), Rgb(0, 0, 0));
    for format in PixelFormat::ALL {
        let (dark, light) = match format {
            PixelFormat::I420 | PixelFormat::Nv12 => (16, 235),
            _ => (0, 255),
        };
        let mut f = Owned::new(format, 160, 60, 3, 90);
        f.paint_pattern(|_, _| 128);
        let before = f.clone();
        let (x, y) = (6i64, 7i64);
        t.draw_label(&mut f.frame(), x, y, text, size, fg, bg);
        let bx = DrawRect::new(x, y, bw as i64, bh as i64);
        f.assert_only_changed(&before, in_rect(bx), "label");
        let (mut n_dark, mut n_light, mut n_mid) = (0, 0, 0);
        for py in 0..bh {
            for px in 0..bw {
                let v = f.luma(x as usize + px, y as usize + py);
                assert!((dark..=light).contains(&v));
                match v {
                    v if v == dark => n_dark += 1,
                    v if v == light => n_light += 1,
                    _ => n_mid += 1,
                }
                // The padding ring holds only background: no glyph was cut.
                if px == 0 || py == 0 || px == bw - 1 || py == bh - 1 {
                    assert_eq!(v, dark, "{format:?} ink at the box edge ({px}, {py})");
                }
            }
        }
        assert!(n_dark > bw * bh / 2, "{format:?}: {n_dark} dark");
        assert!(n_light > 20, "{format:?}: {n_light} light");
        assert!(n_mid > 20, "{format:?}: {n_mid} anti-aliased");
        if let Some(p) = packed(format).filter(|p| p.alpha.is_some()) {
            let base = (y as usize + 1) * f.strides[0] + (x as usize + 1) * p.bpp;
            assert_eq!(f.planes[0][base + p.alpha.unwrap()], 255);
        }

        // Clipped at each frame edge: no panic, still only inside the box.
        for (x, y) in [(-20, -9), (150, 50), (-500, 10), (10, 59)] {
            let mut g = before.clone();
            t.draw_label(&mut g.frame(), x, y, text, size, fg, bg);
            let bx = DrawRect::new(x, y, bw as i64, bh as i64);
            g.assert_only_changed(&before, in_rect(bx), "clipped label");
            if x > -400 {
                assert_ne!(g, before, "{format:?} ({x}, {y}) drew nothing");
            }
        }
    }
}

#[test]
fn blur_and_pixelate_do_not_read_outside_the_rect() {
    for format in PixelFormat::ALL {
        let yuv = matches!(format, PixelFormat::I420 | PixelFormat::Nv12);
        let mut rects = vec![DrawRect::new(10, 8, 20, 16), DrawRect::new(-4, 30, 24, 30)];
        if !yuv {
            // 4:2:0 chroma samples on an odd edge hold outside pixels too.
            rects.push(DrawRect::new(11, 9, 19, 15));
        }
        for (i, rect) in rects.into_iter().enumerate() {
            let a = Owned::new(format, 64, 48, 3, 100 + i as u64);
            // Same inside, different everywhere else.
            let mut b = a.clone();
            let keep = a.changeable(in_rect(rect));
            let mut rng = Rng::new(200 + i as u64);
            for (plane, mask) in b.planes.iter_mut().zip(&keep) {
                for (v, &k) in plane.iter_mut().zip(mask) {
                    if !k {
                        *v = rng.byte();
                    }
                }
            }
            type Op = fn(&mut FrameMut, DrawRect);
            let ops: [(&str, Op); 2] = [
                ("blur", |f, r| blur_rect(f, r, 4)),
                ("pixelate", |f, r| pixelate_rect(f, r, 3)),
            ];
            for (name, op) in ops {
                let (mut a, mut b) = (a.clone(), b.clone());
                op(&mut a.frame(), rect);
                op(&mut b.frame(), rect);
                for (p, mask) in keep.iter().enumerate() {
                    for (j, &k) in mask.iter().enumerate() {
                        if k {
                            assert_eq!(
                                a.planes[p][j], b.planes[p][j],
                                "{name} {format:?} {rect:?}: plane {p} byte {j} depends on outside"
                            );
                        }
                    }
                }
            }
        }
    }
}

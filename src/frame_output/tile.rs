//! Tiling plan for fully convolutional models on frames too large to run whole.

use std::ops::Range;

use super::OutputError;
use super::pixels::check_size;
use crate::frame::{MAX_DIMENSION, Rect, Size, TensorDims};
use crate::preprocess::TensorLayout;

/// One tile position along one axis, with its blend window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    /// Start and length in input pixels.
    pub pos: usize,
    pub len: usize,
    /// Blend weight of each of the `k * len` output samples.
    pub window: Vec<f32>,
    /// Output-sample range (relative to the span) where the weight is above 0.
    pub support: Range<usize>,
}

/// Where the tiles of a frame go (each a [`Rect`] of it) and how their outputs are
/// blended (see [`TileBlender`](super::TileBlender)).
///
/// Placement, per axis (length `L`, tile `T`, overlap `O`):
/// - `L <= T`: one tile covering the whole axis (shorter than `T`);
/// - otherwise `n = ceil((L - O) / (T - O))` full-size tiles, the first at 0,
///   the last ending at `L`, the others spread evenly between
///   (`x_i = round(i * (L - T) / (n - 1))`, halves up). Consecutive tiles
///   overlap by at least `O` (all overlaps within 1 pixel of each other).
///
/// Tiles are numbered row by row, left to right ([`TilePlan::tiles`]).
/// Edge tiles are only shorter than `T` when the frame itself is: a model
/// with a fixed input size needs `T` no larger than the frame (or a padded
/// frame).
///
/// Blend window (per axis, the 2-D weight is the product): where two
/// consecutive tiles overlap by `ov` pixels, a linear ramp of width
/// `r = min(ov, spacing)` centred in the overlap fades the first tile out and
/// the second in, in output pixels (`k` times the input ones), evaluated at
/// pixel centres: the incoming weight is `clamp((X + 0.5 - start) / (k r), 0, 1)`,
/// the outgoing one 1 minus that. Weight is 1 elsewhere, in particular along
/// the frame's borders (no taper where no other tile is). So the weights of
/// every output pixel sum to 1 (up to float rounding), never to 0, and
/// outputs near tile edges (where models see padding) count least. With the
/// usual `overlap < tile / 2` the ramp spans the whole overlap; with more
/// overlap it is limited to the tile spacing so a tile's two ramps never meet.
#[derive(Debug, Clone, PartialEq)]
pub struct TilePlan {
    frame: Size,
    tile: usize,
    overlap: usize,
    scale: usize,
    pub(crate) cols: Vec<Span>,
    pub(crate) rows: Vec<Span>,
    tiles: Vec<Rect>,
}

impl TilePlan {
    /// Plans tiles of `tile x tile` input pixels overlapping by at least
    /// `overlap` over a `frame`, for a model whose output is `scale_factor`
    /// times its input (1 for same-size models).
    ///
    /// Errors: zero or too large sizes, `tile == 0`, `scale_factor == 0`,
    /// `overlap >= tile`, or an output side above
    /// [`MAX_DIMENSION`].
    pub fn new(
        frame: Size,
        tile: usize,
        overlap: usize,
        scale_factor: usize,
    ) -> Result<Self, OutputError> {
        check_size("tiled frame", frame)?;
        if tile == 0 || scale_factor == 0 || overlap >= tile {
            return Err(OutputError::InvalidTiling {
                tile,
                overlap,
                scale_factor,
            });
        }
        let output = frame.scaled(scale_factor);
        if output.width > MAX_DIMENSION
            || output.height > MAX_DIMENSION
            || output.width.checked_mul(output.height).is_none()
        {
            return Err(OutputError::TooLarge {
                what: "tiled output",
                width: output.width,
                height: output.height,
            });
        }
        let cols = spans(frame.width, tile, overlap, scale_factor);
        let rows = spans(frame.height, tile, overlap, scale_factor);
        let tiles = rows
            .iter()
            .flat_map(|r| {
                cols.iter()
                    .map(move |c| Rect::new(c.pos, r.pos, c.len, r.len))
            })
            .collect();
        Ok(Self {
            frame,
            tile,
            overlap,
            scale: scale_factor,
            cols,
            rows,
            tiles,
        })
    }

    /// The input tiles, row by row, left to right.
    pub fn tiles(&self) -> &[Rect] {
        &self.tiles
    }

    /// The grid's size in tiles: `width` tiles per row, `height` rows.
    pub fn grid(&self) -> Size {
        Size::new(self.cols.len(), self.rows.len())
    }

    /// The frame (model input) size.
    pub fn frame_size(&self) -> Size {
        self.frame
    }

    /// The whole output's size: `scale_factor` times the frame.
    pub fn output_size(&self) -> Size {
        self.frame.scaled(self.scale)
    }

    pub fn scale_factor(&self) -> usize {
        self.scale
    }

    pub fn tile_size(&self) -> usize {
        self.tile
    }

    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// Tile `index` in output pixels (`scale_factor` times its input rectangle).
    pub fn output_tile(&self, index: usize) -> Option<Rect> {
        self.tiles.get(index).map(|t| t.scaled(self.scale))
    }

    /// Blend windows (columns, rows) of tile `index` (valid index).
    pub(crate) fn spans(&self, index: usize) -> (&Span, &Span) {
        let n = self.cols.len();
        (&self.cols[index % n], &self.rows[index / n])
    }
}

/// Tile positions and windows along one axis of `len` input pixels.
fn spans(len: usize, tile: usize, overlap: usize, k: usize) -> Vec<Span> {
    let place: Vec<(usize, usize)> = if len <= tile {
        vec![(0, len)]
    } else {
        let n = (len - overlap).div_ceil(tile - overlap);
        let (travel, gaps) = (len - tile, n - 1);
        (0..n)
            .map(|i| ((2 * i * travel + gaps) / (2 * gaps), tile))
            .collect()
    };
    // Ramp between tile i and i + 1: (start, width), in output pixels.
    let ramps: Vec<(f64, f64)> = place
        .windows(2)
        .map(|p| {
            let ((a, alen), (b, _)) = (p[0], p[1]);
            let end = a + alen;
            // The cross-fade covers the middle half of the overlap: the
            // outer quarter on each side is where a convolution sees the
            // tile's zero padding instead of the neighbouring pixels, so it
            // must not count. (Models with a receptive-field radius R need
            // tile-overlap >= 4R for seamless output.)
            let overlap = (end - b).min(b - a);
            let r = if overlap >= 2 { overlap / 2 } else { overlap };
            let kf = k as f64;
            (kf * (b + end - r) as f64 / 2.0, kf * r as f64)
        })
        .collect();
    let fade_in = |x: f64, (start, width): (f64, f64)| {
        if width > 0.0 {
            ((x + 0.5 - start) / width).clamp(0.0, 1.0)
        } else if x + 0.5 >= start {
            // Abutting tiles: a step at the boundary.
            1.0
        } else {
            0.0
        }
    };
    place
        .iter()
        .enumerate()
        .map(|(i, &(pos, len))| {
            let window: Vec<f32> = (k * pos..k * (pos + len))
                .map(|x| {
                    let x = x as f64;
                    let up = if i > 0 { fade_in(x, ramps[i - 1]) } else { 1.0 };
                    let down = ramps.get(i).map_or(1.0, |&r| 1.0 - fade_in(x, r));
                    (up * down) as f32
                })
                .collect();
            let lo = window.iter().position(|&w| w > 0.0).unwrap_or(0);
            let hi = window.iter().rposition(|&w| w > 0.0).map_or(lo, |h| h + 1);
            Span {
                pos,
                len,
                window,
                support: lo..hi,
            }
        })
        .collect()
}

/// Cuts `tile` out of a whole-frame `[C, H, W]` tensor of `dims` into `out`
/// (`[C, tile.height, tile.width]`). Does not allocate.
pub fn extract_tile(
    input_chw: &[f32],
    dims: TensorDims,
    tile: &Rect,
    out: &mut [f32],
) -> Result<(), OutputError> {
    extract_tile_layout(input_chw, dims, TensorLayout::Nchw, tile, out)
}

/// [`extract_tile`] for either layout: `[C, H, W]` or `[H, W, C]` in and out.
pub fn extract_tile_layout(
    input: &[f32],
    dims: TensorDims,
    layout: TensorLayout,
    tile: &Rect,
    out: &mut [f32],
) -> Result<(), OutputError> {
    let TensorDims {
        channels: c,
        height: h,
        width: w,
    } = dims;
    if c == 0 {
        return Err(OutputError::ChannelCount {
            got: 0,
            expected: "a tensor needs at least 1 channel",
        });
    }
    let expected = dims.value_count().unwrap_or(usize::MAX);
    if input.len() != expected {
        return Err(OutputError::Length {
            what: "whole-frame input tensor",
            expected,
            got: input.len(),
        });
    }
    if tile.is_empty() || !tile.fits_in(dims.size()) {
        return Err(OutputError::TileOutside {
            tile: *tile,
            tensor: dims.size(),
        });
    }
    let (tw, th) = (tile.width, tile.height);
    if out.len() != c * tw * th {
        return Err(OutputError::Length {
            what: "tile tensor",
            expected: c * tw * th,
            got: out.len(),
        });
    }
    match layout {
        TensorLayout::Nchw => {
            for (ch, dst_plane) in out.chunks_exact_mut(tw * th).enumerate() {
                let src_plane = &input[ch * w * h..(ch + 1) * w * h];
                for (ty, dst) in dst_plane.chunks_exact_mut(tw).enumerate() {
                    let start = (tile.y + ty) * w + tile.x;
                    dst.copy_from_slice(&src_plane[start..start + tw]);
                }
            }
        }
        TensorLayout::Nhwc => {
            for (ty, dst) in out.chunks_exact_mut(tw * c).enumerate() {
                let start = ((tile.y + ty) * w + tile.x) * c;
                dst.copy_from_slice(&input[start..start + tw * c]);
            }
        }
    }
    Ok(())
}

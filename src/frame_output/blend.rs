//! Blends tile outputs into the whole output with the plan's windows.

use super::OutputError;
use super::tile::TilePlan;
use crate::frame::{Size, TensorDims};
use crate::preprocess::TensorLayout;

/// Accumulates the outputs of a [`TilePlan`]'s tiles into the whole output
/// (`[C, k*H, k*W]`, `f32`).
///
/// Each output pixel is the weighted mean of the tiles covering it, weights
/// from the plan's windows. It is kept as a running mean
/// (`acc += (v - acc) * w / wsum`, `wsum` the weight so far), so where all
/// tiles agree the result is exactly their value: a pixel-local model gives
/// bit-identical results tiled and untiled.
///
/// Use per frame: [`add_tile`](Self::add_tile) every tile (any order), then
/// [`finish`](Self::finish). The next `add_tile` starts a new frame. Buffers
/// are allocated on the first frame and reused (no allocation in steady
/// state, unless the channel count grows).
#[derive(Debug, Clone)]
pub struct TileBlender {
    plan: TilePlan,
    /// Channels of the frame in progress (0 before the first tile).
    channels: usize,
    /// Running weighted mean, `[C, OH, OW]`.
    acc: Vec<f32>,
    /// Weight so far per output pixel, `[OH, OW]`.
    wsum: Vec<f32>,
    /// `w / wsum` along one tile row.
    ratio: Vec<f32>,
    added: Vec<bool>,
    count: usize,
    /// A frame has been started and not finished.
    open: bool,
}

impl TileBlender {
    pub fn new(plan: TilePlan) -> Self {
        let tiles = plan.tiles().len();
        Self {
            plan,
            channels: 0,
            acc: Vec::new(),
            wsum: Vec::new(),
            ratio: Vec::new(),
            added: vec![false; tiles],
            count: 0,
            open: false,
        }
    }

    pub fn plan(&self) -> &TilePlan {
        &self.plan
    }

    /// The dims of the output being built (channels 0 before the first tile).
    pub fn output_dims(&self) -> TensorDims {
        TensorDims::new(self.channels, self.plan.output_size())
    }

    /// Drops the frame in progress; the next `add_tile` starts a new one.
    pub fn reset(&mut self) {
        self.open = false;
    }

    /// Adds tile `index`'s model output, `[C, k*tile.height, k*tile.width]`.
    pub fn add_tile(
        &mut self,
        index: usize,
        tile_output: &[f32],
        channels: usize,
    ) -> Result<(), OutputError> {
        self.add_tile_layout(index, tile_output, channels, TensorLayout::Nchw)
    }

    /// [`add_tile`](Self::add_tile) for either layout of the tile output:
    /// `[C, h, w]` or `[h, w, C]`. The whole output is `[C, H, W]` either way.
    pub fn add_tile_layout(
        &mut self,
        index: usize,
        tile_output: &[f32],
        channels: usize,
        layout: TensorLayout,
    ) -> Result<(), OutputError> {
        let count = self.plan.tiles().len();
        if index >= count {
            return Err(OutputError::TileIndex { index, count });
        }
        if channels == 0 {
            return Err(OutputError::ChannelCount {
                got: 0,
                expected: "a tile output needs at least 1 channel",
            });
        }
        if self.open && channels != self.channels {
            return Err(OutputError::TileChannels {
                expected: self.channels,
                got: channels,
            });
        }
        let k = self.plan.scale_factor();
        let (cs, rs) = self.plan.spans(index);
        let (tw, th) = (k * cs.len, k * rs.len);
        let expected = channels.saturating_mul(tw * th);
        if tile_output.len() != expected {
            return Err(OutputError::Length {
                what: "tile output",
                expected,
                got: tile_output.len(),
            });
        }
        let Size {
            width: ow,
            height: oh,
        } = self.plan.output_size();
        if !self.open {
            let Some(len) = channels.checked_mul(ow * oh) else {
                return Err(OutputError::ChannelCount {
                    got: channels,
                    expected: "fewer channels: the tiled output would not fit in memory",
                });
            };
            self.channels = channels;
            self.acc.clear();
            self.acc.resize(len, 0.0);
            self.wsum.clear();
            self.wsum.resize(ow * oh, 0.0);
            self.ratio.resize(
                k * self.plan.tile_size().min(self.plan.frame_size().width),
                0.0,
            );
            self.added.fill(false);
            self.count = 0;
            self.open = true;
        }
        if self.added[index] {
            return Err(OutputError::DuplicateTile { index });
        }

        let (ox, oy) = (k * cs.pos, k * rs.pos);
        let (x0, x1) = (cs.support.start, cs.support.end);
        let (y0, y1) = (rs.support.start, rs.support.end);
        let n = x1 - x0;
        let plane = ow * oh;
        let ratio = &mut self.ratio[..n];
        let xwin = &cs.window[x0..x1];
        for ty in y0..y1 {
            let wy = rs.window[ty];
            let start = (oy + ty) * ow + ox + x0;
            for ((r, ws), &wx) in ratio
                .iter_mut()
                .zip(&mut self.wsum[start..start + n])
                .zip(xwin)
            {
                let w = wy * wx;
                *ws += w;
                *r = w / *ws;
            }
            for ch in 0..channels {
                let acc = &mut self.acc[ch * plane + start..ch * plane + start + n];
                match layout {
                    TensorLayout::Nchw => {
                        let s = (ch * th + ty) * tw + x0;
                        accumulate(acc, tile_output[s..s + n].iter().copied(), ratio);
                    }
                    TensorLayout::Nhwc => {
                        let s = (ty * tw + x0) * channels + ch;
                        let vals = tile_output[s..].iter().step_by(channels).copied();
                        accumulate(acc, vals, ratio);
                    }
                }
            }
        }
        self.added[index] = true;
        self.count += 1;
        Ok(())
    }

    /// The whole output, `[C, k*H, k*W]`, once every tile of the frame was
    /// added. The next `add_tile` starts a new frame.
    pub fn finish(&mut self) -> Result<&[f32], OutputError> {
        let count = self.added.len();
        if !self.open || self.count < count {
            let first = if self.open {
                self.added.iter().position(|&a| !a).unwrap_or(0)
            } else {
                0
            };
            let missing = if self.open { count - self.count } else { count };
            return Err(OutputError::TilesMissing {
                missing,
                count,
                first,
            });
        }
        self.open = false;
        Ok(&self.acc)
    }

    /// Weight sum per output pixel (`[k*H, k*W]`) of the frame in progress
    /// or just finished.
    pub fn weight_sums(&self) -> &[f32] {
        &self.wsum
    }
}

/// `acc += (v - acc) * r`.
#[inline(always)]
fn accumulate(acc: &mut [f32], vals: impl Iterator<Item = f32>, ratio: &[f32]) {
    for ((a, v), &r) in acc.iter_mut().zip(vals).zip(ratio) {
        *a += (v - *a) * r;
    }
}

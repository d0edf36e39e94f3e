//! Sizes and rectangles in whole pixels, and a frame's tensor dimensions:
//! named fields, so a width is never read as a height.

use std::fmt;

/// A size in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Size {
    pub width: usize,
    pub height: usize,
}

impl Size {
    pub const fn new(width: usize, height: usize) -> Self {
        Self { width, height }
    }

    /// Pixels in all (saturating: a size near `usize::MAX` is no pixel count).
    pub fn area(self) -> usize {
        self.width.saturating_mul(self.height)
    }

    /// True when a side is zero.
    pub fn is_empty(self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Both sides times `factor` (saturating).
    pub fn scaled(self, factor: usize) -> Self {
        Self::new(
            self.width.saturating_mul(factor),
            self.height.saturating_mul(factor),
        )
    }

    /// The smaller of each side.
    pub fn min(self, other: Self) -> Self {
        Self::new(self.width.min(other.width), self.height.min(other.height))
    }
}

impl fmt::Display for Size {
    /// `WIDTHxHEIGHT`, as GStreamer and users write sizes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// A rectangle of whole pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    pub const fn new(x: usize, y: usize, width: usize, height: usize) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// All of a frame of `size`.
    pub const fn whole(size: Size) -> Self {
        Self::new(0, 0, size.width, size.height)
    }

    /// The rectangle between corners: columns `x0..x1`, rows `y0..y1`
    /// (empty when a corner is not past the other).
    pub fn from_corners(x0: usize, y0: usize, x1: usize, y1: usize) -> Self {
        Self::new(x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
    }

    pub const fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }

    /// One past the last column (saturating).
    pub const fn right(&self) -> usize {
        self.x.saturating_add(self.width)
    }

    /// One past the last row (saturating).
    pub const fn bottom(&self) -> usize {
        self.y.saturating_add(self.height)
    }

    /// True when it holds no pixel.
    pub const fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Whether every pixel of it lies in a frame of `size` (an empty rect
    /// fits where its origin does). Never overflows.
    pub fn fits_in(&self, size: Size) -> bool {
        let inside = |start: usize, extent: usize, limit: usize| {
            start.checked_add(extent).is_some_and(|end| end <= limit)
        };
        inside(self.x, self.width, size.width) && inside(self.y, self.height, size.height)
    }

    /// Every coordinate times `factor` (saturating): the same rectangle in a
    /// frame `factor` times as large.
    pub fn scaled(&self, factor: usize) -> Self {
        Self::new(
            self.x.saturating_mul(factor),
            self.y.saturating_mul(factor),
            self.width.saturating_mul(factor),
            self.height.saturating_mul(factor),
        )
    }
}

impl fmt::Display for Rect {
    /// `WIDTHxHEIGHT at (X, Y)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{} at ({}, {})",
            self.width, self.height, self.x, self.y
        )
    }
}

/// One frame as a tensor: `channels` planes (or interleaved channels) of
/// `height` rows of `width` values, batch dimension removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TensorDims {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl TensorDims {
    pub const fn new(channels: usize, size: Size) -> Self {
        Self {
            channels,
            height: size.height,
            width: size.width,
        }
    }

    /// The picture's size.
    pub const fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }

    /// Values in all (`None` on overflow).
    pub fn value_count(&self) -> Option<usize> {
        self.channels
            .checked_mul(self.height)
            .and_then(|n| n.checked_mul(self.width))
    }
}

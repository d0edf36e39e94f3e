//! The words every module uses for frames, at the bottom of the crate (it
//! depends on nothing else in it):
//! - [`PixelFormat`]: the raw video formats, and how their planes are laid
//!   out ([`PixelFormat::plane_shapes`]);
//! - [`Size`] and [`Rect`]: sizes and rectangles in whole pixels, with named
//!   fields, so a width is never taken for a height (tensor shapes put the
//!   height first, sizes the width: a bare pair invites swapping them);
//!   [`TensorDims`]: one frame as a tensor (channels, height, width);
//! - [`FrameView`] and [`FrameMut`]: a mapped frame, read-only or writable,
//!   any format, as plane slices and strides; [`FrameView::check_planes`]
//!   says whether its planes hold its pixels.
//!
//! All of these are `Copy` (but [`FrameMut`], which borrows mutably) and
//! free: building one neither allocates nor copies pixels.

mod format;
mod geometry;
#[cfg(test)]
mod tests;
mod view;

pub use format::{MAX_DIMENSION, PixelFormat, PlaneShape};
pub use geometry::{Rect, Size, TensorDims};
pub use view::{FrameMut, FrameView, PlaneError};

//! Output frame size from the model's declared shapes (caps negotiation).
//!
//! All `(usize, usize)` pairs here are `(height, width)`, tensor order.
//!
//! When is the size only known after running the model? When the model
//! declares its output height / width as dynamic and neither an upscale hint
//! nor a ratio of fixed declared dims says how it relates to the input:
//! [`resolve_output_size`] then reports [`SizeBasis::Assumed`] (same size as
//! the input). Also models that pad or crop internally (to multiples of 8,
//! say) may not give exactly `k` times their input. The recommended approach
//! for those, at caps time: run the model once on a blank input of the size
//! it will be fed, read the output shape ([`probe_output_size`]), and
//! negotiate that. The output size depends only on the input size, so one run
//! per caps is enough; cache it per input size.

use super::OutputError;
use super::pixels::check_size;
use crate::preprocess::TensorLayout;

/// How [`resolve_output_size`] decided, from surest to least sure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SizeBasis {
    /// The model declares fixed output dims.
    Declared,
    /// Dynamic output dims scaled by `k = output / input` of an axis whose
    /// declared input and output dims are both fixed.
    DeclaredRatio,
    /// Dynamic output dims scaled by the caller's upscale hint.
    Hint,
    /// Nothing says: the output is assumed the input size. Probe the model
    /// ([`probe_output_size`]) before trusting this.
    Assumed,
}

/// The output frame size `(height, width)` for a model fed `model_input`
/// (`(height, width)`), from its declared input and output dims
/// (`(height, width)`, `None` or `Some(0)` for dynamic).
///
/// Per axis: a fixed declared output dim is the answer. A dynamic one is
/// `model_input * k`, where `k` is `upscale_hint` if given (and non-zero),
/// else the integer ratio `output / input` of declared dims on the axes where
/// both are fixed (when all such axes agree), else 1. See
/// [`resolve_output_size`] for how sure the answer is.
pub fn output_frame_size(
    input_decl: (Option<usize>, Option<usize>),
    output_decl: (Option<usize>, Option<usize>),
    model_input: (usize, usize),
    upscale_hint: Option<usize>,
) -> (usize, usize) {
    resolve_output_size(input_decl, output_decl, model_input, upscale_hint).0
}

/// [`output_frame_size`] and how it was decided (the least sure axis).
pub fn resolve_output_size(
    input_decl: (Option<usize>, Option<usize>),
    output_decl: (Option<usize>, Option<usize>),
    model_input: (usize, usize),
    upscale_hint: Option<usize>,
) -> ((usize, usize), SizeBasis) {
    let fixed = |d: Option<usize>| d.filter(|&v| v > 0);
    let axes = [
        (fixed(input_decl.0), fixed(output_decl.0), model_input.0),
        (fixed(input_decl.1), fixed(output_decl.1), model_input.1),
    ];
    // Integer ratios of the axes declared fixed on both sides; `None` inside
    // for a non-integer ratio.
    let mut ratios = axes.iter().filter_map(|&(i, o, _)| match (i, o) {
        (Some(i), Some(o)) => Some((o % i == 0).then_some(o / i)),
        _ => None,
    });
    let first = ratios.next().flatten();
    let inferred = first.filter(|&k| ratios.all(|r| r == Some(k)));
    let (k, basis) = match (fixed(upscale_hint), inferred) {
        (Some(k), _) => (k, SizeBasis::Hint),
        (None, Some(k)) => (k, SizeBasis::DeclaredRatio),
        (None, None) => (1, SizeBasis::Assumed),
    };
    let [h, w] = axes.map(|(_, o, fed)| match o {
        Some(o) => (o, SizeBasis::Declared),
        None => (fed.saturating_mul(k), basis),
    });
    ((h.0, w.0), h.1.max(w.1))
}

/// Reads one frame's `(channels, height, width)` from a model output shape:
/// `[N, C, H, W]` (NCHW) or `[N, H, W, C]` (NHWC) by `layout`; `[N, H, W]`
/// and `[H, W]` are one-channel (masks, depth maps). Every dim must be
/// positive; `N` may be any batch size.
pub fn frame_dims_from_shape(
    shape: &[i64],
    layout: TensorLayout,
) -> Result<(usize, usize, usize), OutputError> {
    let bad = || OutputError::BadShape {
        shape: shape.to_vec(),
    };
    let dims: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    match (dims.as_slice(), layout) {
        (&[_, c, h, w], TensorLayout::Nchw) | (&[_, h, w, c], TensorLayout::Nhwc) => Ok((c, h, w)),
        (&[_, h, w], _) | (&[h, w], _) => Ok((1, h, w)),
        _ => Err(bad()),
    }
}

/// Learns a model's true output size by running it once on a blank input.
///
/// Builds a zero tensor of one frame, `channels` x `model_input`
/// (`(height, width)`), in `layout`, and calls `run(data, shape)` with the
/// shape `[1, C, H, W]` or `[1, H, W, C]`; `run` runs the model and returns
/// its output's shape. Returns the output frame's `(channels, height, width)`
/// as [`frame_dims_from_shape`] reads it. Allocates the tensor: call at caps
/// time, not per frame.
pub fn probe_output_size<E: From<OutputError>>(
    model_input: (usize, usize),
    channels: usize,
    layout: TensorLayout,
    run: impl FnOnce(&[f32], [i64; 4]) -> Result<Vec<i64>, E>,
) -> Result<(usize, usize, usize), E> {
    let (h, w) = model_input;
    check_size("model input", w, h)?;
    if channels == 0 || channels > 4 {
        return Err(OutputError::ChannelCount {
            got: channels,
            expected: "a probe input needs 1 to 4 channels",
        }
        .into());
    }
    let blank = vec![0.0f32; channels * h * w];
    let [c, h, w] = [channels, h, w].map(|d| d as i64);
    let shape = match layout {
        TensorLayout::Nchw => [1, c, h, w],
        TensorLayout::Nhwc => [1, h, w, c],
    };
    let out_shape = run(&blank, shape)?;
    Ok(frame_dims_from_shape(&out_shape, layout)?)
}

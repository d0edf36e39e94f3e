//! TilePlan, extract_tile, TileBlender.

use super::super::*;
use super::{Rng, dims};
use crate::frame::{Rect, Size};
use crate::preprocess::TensorLayout;

/// A test model: (tile index, input tile CHW, (c, h, w)) -> output tile CHW.
type Model<'a> = dyn FnMut(usize, &[f32], (usize, usize, usize)) -> Vec<f32> + 'a;

/// (start, length) of the tiles along one axis.
type Starts = Vec<(usize, usize)>;

/// Runs `model` (input tile CHW, (c, h, w) -> output tile CHW) over every
/// tile of `plan` and returns the blended output.
fn run_tiled(
    plan: &TilePlan,
    blender: &mut TileBlender,
    input: &[f32],
    shape: (usize, usize, usize),
    model: &mut Model,
) -> Vec<f32> {
    let c = shape.0;
    for (i, t) in plan.tiles().iter().enumerate() {
        let mut tile_in = vec![0.0; c * t.width * t.height];
        extract_tile(input, dims(shape), t, &mut tile_in).unwrap();
        let out = model(i, &tile_in, (c, t.height, t.width));
        blender.add_tile(i, &out, c).unwrap();
    }
    blender.finish().unwrap().to_vec()
}

fn random_chw(rng: &mut Rng, c: usize, h: usize, w: usize) -> Vec<f32> {
    (0..c * h * w).map(|_| rng.unit()).collect()
}

/// Nearest-neighbour `k`x upscale of a CHW tensor.
fn upscale_nn(t: &[f32], (c, h, w): (usize, usize, usize), k: usize) -> Vec<f32> {
    let mut out = vec![0.0; c * h * w * k * k];
    for ch in 0..c {
        for y in 0..h * k {
            for x in 0..w * k {
                out[(ch * h * k + y) * w * k + x] = t[(ch * h + y / k) * w + x / k];
            }
        }
    }
    out
}

/// Sum over tiles of each output pixel's weight, from the plan's windows.
fn weight_sums(plan: &TilePlan) -> Vec<f64> {
    let Size {
        width: ow,
        height: oh,
    } = plan.output_size();
    let k = plan.scale_factor();
    let mut sums = vec![0.0f64; ow * oh];
    for (i, t) in plan.tiles().iter().enumerate() {
        let (cs, rs) = plan.spans(i);
        for ty in 0..t.height * k {
            for tx in 0..t.width * k {
                let w = f64::from(cs.window[tx]) * f64::from(rs.window[ty]);
                sums[(t.y * k + ty) * ow + t.x * k + tx] += w;
            }
        }
    }
    sums
}

/// Checks placement rules of one axis: full-size tiles (or one tile = the
/// axis), first at 0, last at the end, overlaps >= `overlap`, spread evenly.
fn check_axis(starts: &[(usize, usize)], len: usize, tile: usize, overlap: usize) {
    if len <= tile {
        assert_eq!(starts, [(0, len)]);
        return;
    }
    assert_eq!(starts[0].0, 0);
    let last = starts[starts.len() - 1];
    assert_eq!(last.0 + last.1, len);
    assert!(starts.iter().all(|&(_, l)| l == tile));
    let gaps: Vec<usize> = starts.windows(2).map(|p| p[1].0 - p[0].0).collect();
    assert!(
        gaps.iter().all(|&g| g >= 1 && tile - g >= overlap),
        "{gaps:?}"
    );
    let (lo, hi) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    assert!(hi - lo <= 1, "uneven spacing {gaps:?}");
    // Minimal count: one tile fewer could not cover with this overlap.
    let n = starts.len();
    assert!(tile + (n - 2) * (tile - overlap) < len);
}

fn axis_starts(plan: &TilePlan) -> (Starts, Starts) {
    let Size {
        width: cols,
        height: rows,
    } = plan.grid();
    let t = plan.tiles();
    (
        (0..cols).map(|i| (t[i].x, t[i].width)).collect(),
        (0..rows)
            .map(|j| (t[j * cols].y, t[j * cols].height))
            .collect(),
    )
}

#[test]
fn plan_1000x700_tile_256_overlap_32() {
    let plan = TilePlan::new(Size::new(1000, 700), 256, 32, 1).unwrap();
    assert_eq!(plan.grid(), Size::new(5, 3));
    assert_eq!(plan.tiles().len(), 15);
    let (xs, ys) = axis_starts(&plan);
    assert_eq!(
        xs.iter().map(|s| s.0).collect::<Vec<_>>(),
        [0, 186, 372, 558, 744]
    );
    assert_eq!(ys.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 222, 444]);
    check_axis(&xs, 1000, 256, 32);
    check_axis(&ys, 700, 256, 32);
    // Every tile is the row-major product and inside the frame.
    for (i, t) in plan.tiles().iter().enumerate() {
        assert_eq!((t.x, t.y), (xs[i % 5].0, ys[i / 5].0));
        assert!(t.x + t.width <= 1000 && t.y + t.height <= 700);
        assert_eq!((t.width, t.height), (256, 256));
    }
    // Coverage and weights.
    let mut covered = vec![0u32; 1000 * 700];
    for t in plan.tiles() {
        for y in t.y..t.y + t.height {
            for x in t.x..t.x + t.width {
                covered[y * 1000 + x] += 1;
            }
        }
    }
    assert!(covered.iter().all(|&c| c >= 1));
    let sums = weight_sums(&plan);
    assert!(sums.iter().all(|&s| s > 0.0 && (s - 1.0).abs() < 1e-6));
}

#[test]
fn identity_model_tiled_equals_untiled() {
    let (w, h, c) = (1000, 700, 3);
    let mut rng = Rng::new(21);
    let input = random_chw(&mut rng, c, h, w);
    let plan = TilePlan::new(Size::new(w, h), 256, 32, 1).unwrap();
    let mut blender = TileBlender::new(plan.clone());
    let out = run_tiled(&plan, &mut blender, &input, (c, h, w), &mut |_, t, _| {
        t.to_vec()
    });
    let max = out
        .iter()
        .zip(&input)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max <= 1e-5, "max diff {max}");
    // The running mean makes agreeing tiles exact.
    assert_eq!(out, input);
    assert!(blender.weight_sums().iter().all(|&s| s > 0.0));
    assert_eq!(blender.output_dims(), dims((3, 700, 1000)));
}

#[test]
fn nearest_upscale_2x_tiled_equals_untiled_exactly() {
    let (w, h, c) = (1000, 700, 3);
    let mut rng = Rng::new(22);
    let input = random_chw(&mut rng, c, h, w);
    let plan = TilePlan::new(Size::new(w, h), 256, 32, 2).unwrap();
    assert_eq!(plan.output_size(), Size::new(2000, 1400));
    let mut blender = TileBlender::new(plan.clone());
    let out = run_tiled(&plan, &mut blender, &input, (c, h, w), &mut |_, t, s| {
        upscale_nn(t, s, 2)
    });
    assert_eq!(out, upscale_nn(&input, (c, h, w), 2));
    let sums = weight_sums(&plan);
    assert!(sums.iter().all(|&s| s > 0.0 && (s - 1.0).abs() < 1e-6));
}

#[test]
fn seams_ramp_smoothly() {
    // The model adds a per-tile constant error (0, E/2 or E): blending must
    // fade between tiles across half the overlap, never stepping by more
    // than 4E/overlap between neighbouring pixels.
    let (w, h, overlap) = (1000, 700, 32);
    let e = 1.0f32;
    for k in [1, 2] {
        let plan = TilePlan::new(Size::new(w, h), 256, overlap, k).unwrap();
        let mut blender = TileBlender::new(plan.clone());
        let input = vec![0.0f32; w * h];
        let err = |i: usize| e * (i % 3) as f32 / 2.0;
        let out = run_tiled(&plan, &mut blender, &input, (1, h, w), &mut |i, t, s| {
            upscale_nn(t, s, k).iter().map(|v| v + err(i)).collect()
        });
        let Size {
            width: ow,
            height: oh,
        } = plan.output_size();
        let limit = 4.0 * e / (k * overlap) as f32;
        let mut worst = 0.0f32;
        for y in 0..oh {
            for x in 0..ow {
                let v = out[y * ow + x];
                if x + 1 < ow {
                    worst = worst.max((out[y * ow + x + 1] - v).abs());
                }
                if y + 1 < oh {
                    worst = worst.max((out[(y + 1) * ow + x] - v).abs());
                }
            }
        }
        assert!(worst <= limit, "k {k}: step {worst} > {limit}");
        assert!(worst > 0.0);
        // Away from overlaps each tile shows its own error exactly.
        let t = plan.output_tile(6).unwrap(); // an interior tile
        let (cx, cy) = (t.x + t.width / 2, t.y + t.height / 2);
        assert_eq!(out[cy * ow + cx], err(6));
    }
}

#[test]
fn small_frames_are_one_tile_per_axis() {
    let plan = TilePlan::new(Size::new(100, 80), 256, 32, 1).unwrap();
    assert_eq!(
        plan.tiles(),
        [Rect {
            x: 0,
            y: 0,
            width: 100,
            height: 80
        }]
    );
    let plan = TilePlan::new(Size::new(300, 200), 256, 32, 1).unwrap();
    assert_eq!(plan.grid(), Size::new(2, 1));
    assert!(
        plan.tiles()
            .iter()
            .all(|t| t.width == 256 && t.height == 200)
    );
    let plan = TilePlan::new(Size::new(256, 256), 256, 32, 4).unwrap();
    assert_eq!(plan.tiles().len(), 1);
    assert_eq!(
        plan.output_tile(0),
        Some(Rect {
            x: 0,
            y: 0,
            width: 1024,
            height: 1024
        })
    );
    assert_eq!(plan.output_tile(1), None);
    // A one-tile plan passes its tile through unchanged.
    let mut rng = Rng::new(4);
    let input = random_chw(&mut rng, 2, 80, 100);
    let plan = TilePlan::new(Size::new(100, 80), 256, 32, 1).unwrap();
    let mut b = TileBlender::new(plan.clone());
    let out = run_tiled(&plan, &mut b, &input, (2, 80, 100), &mut |_, t, _| {
        t.to_vec()
    });
    assert_eq!(out, input);
}

#[test]
fn random_plans_cover_weigh_and_reproduce() {
    let mut rng = Rng::new(77);
    for i in 0..120 {
        // Every fifth plan: small tiles on a small frame.
        let (max_side, tile) = if i % 5 == 1 {
            (40, 1 + rng.below(12))
        } else {
            (160, 8 + rng.below(70))
        };
        let (w, h) = (1 + rng.below(max_side), 1 + rng.below(max_side));
        // Heavy overlap (up to tile - 1) on small frames only: it multiplies the tiles.
        let overlap = if max_side < 100 || i % 5 == 1 {
            rng.below(tile)
        } else {
            rng.below(tile / 2)
        };
        let k = 1 + rng.below(3);
        let plan = TilePlan::new(Size::new(w, h), tile, overlap, k).unwrap();
        let (xs, ys) = axis_starts(&plan);
        check_axis(&xs, w, tile, overlap);
        check_axis(&ys, h, tile, overlap);
        let sums = weight_sums(&plan);
        assert!(
            sums.iter().all(|&s| (s - 1.0).abs() < 1e-5),
            "{w}x{h} tile {tile} overlap {overlap} k {k}"
        );
        let c = 1 + rng.below(3);
        let input = random_chw(&mut rng, c, h, w);
        let mut b = TileBlender::new(plan.clone());
        let out = run_tiled(&plan, &mut b, &input, (c, h, w), &mut |_, t, s| {
            upscale_nn(t, s, k)
        });
        assert_eq!(
            out,
            upscale_nn(&input, (c, h, w), k),
            "{w}x{h} tile {tile} ov {overlap} k {k}"
        );
    }
}

#[test]
fn nhwc_tiles_match_nchw() {
    let (w, h, c) = (150, 90, 3);
    let mut rng = Rng::new(8);
    let chw = random_chw(&mut rng, c, h, w);
    let mut hwc = vec![0.0; chw.len()];
    for ch in 0..c {
        for i in 0..w * h {
            hwc[i * c + ch] = chw[ch * w * h + i];
        }
    }
    let plan = TilePlan::new(Size::new(w, h), 64, 16, 1).unwrap();
    let mut a = TileBlender::new(plan.clone());
    let mut b = TileBlender::new(plan.clone());
    for (i, t) in plan.tiles().iter().enumerate() {
        let n = c * t.width * t.height;
        let (mut tc, mut th) = (vec![0.0; n], vec![0.0; n]);
        extract_tile(&chw, dims((c, h, w)), t, &mut tc).unwrap();
        extract_tile_layout(&hwc, dims((c, h, w)), TensorLayout::Nhwc, t, &mut th).unwrap();
        for p in 0..t.width * t.height {
            for ch in 0..c {
                assert_eq!(th[p * c + ch], tc[ch * t.width * t.height + p]);
            }
        }
        // A per-tile scale, so blending does something.
        let s = 1.0 + i as f32 * 0.1;
        tc.iter_mut().for_each(|v| *v *= s);
        th.iter_mut().for_each(|v| *v *= s);
        a.add_tile(i, &tc, c).unwrap();
        b.add_tile_layout(i, &th, c, TensorLayout::Nhwc).unwrap();
    }
    assert_eq!(a.finish().unwrap(), b.finish().unwrap());
}

#[test]
fn buffers_are_reused_between_frames() {
    let plan = TilePlan::new(Size::new(300, 200), 128, 16, 2).unwrap();
    let mut b = TileBlender::new(plan.clone());
    let mut ptr = None;
    for frame in 0..3 {
        for (i, t) in plan.tiles().iter().enumerate() {
            let out = vec![frame as f32; 4 * t.width * t.height];
            b.add_tile(i, &out, 1).unwrap();
        }
        let out = b.finish().unwrap();
        assert!(out.iter().all(|&v| v == frame as f32));
        let p = out.as_ptr();
        assert_eq!(*ptr.get_or_insert(p), p);
    }
}

#[test]
fn blender_errors() {
    let plan = TilePlan::new(Size::new(100, 60), 64, 8, 1).unwrap();
    assert_eq!(plan.grid(), Size::new(2, 1));
    let mut b = TileBlender::new(plan);
    let full = vec![0.5f32; 64 * 60];
    let e = b.add_tile(2, &full, 1).unwrap_err();
    assert_eq!(e, OutputError::TileIndex { index: 2, count: 2 });
    let e = b.add_tile(0, &full[1..], 1).unwrap_err();
    assert!(matches!(e, OutputError::Length { .. }), "{e}");
    let e = b.add_tile(0, &full, 0).unwrap_err();
    assert!(matches!(e, OutputError::ChannelCount { .. }), "{e}");
    let e = b.finish().unwrap_err();
    assert!(
        matches!(e, OutputError::TilesMissing { missing: 2, .. }),
        "{e}"
    );
    b.add_tile(1, &full, 1).unwrap();
    let e = b.add_tile(1, &full, 1).unwrap_err();
    assert_eq!(e, OutputError::DuplicateTile { index: 1 });
    let e = b.add_tile(0, &[0.5; 2 * 64 * 60], 2).unwrap_err();
    assert_eq!(
        e,
        OutputError::TileChannels {
            expected: 1,
            got: 2
        }
    );
    let e = b.finish().unwrap_err();
    assert_eq!(
        e,
        OutputError::TilesMissing {
            missing: 1,
            count: 2,
            first: 0
        }
    );
    b.add_tile(0, &full, 1).unwrap();
    assert!(b.finish().unwrap().iter().all(|&v| v == 0.5));
    // After reset a new frame may change channels.
    b.add_tile(0, &full, 1).unwrap();
    b.reset();
    b.add_tile(0, &[0.25; 2 * 64 * 60], 2).unwrap();
    b.add_tile(1, &[0.25; 2 * 64 * 60], 2).unwrap();
    assert_eq!(b.finish().unwrap().len(), 2 * 100 * 60);
    assert!(!e.to_string().is_empty());
}

#[test]
fn plan_and_extract_errors() {
    let bad = |r: Result<TilePlan, OutputError>| r.unwrap_err();
    assert!(matches!(
        bad(TilePlan::new(Size::new(100, 100), 64, 64, 1)),
        OutputError::InvalidTiling { .. }
    ));
    assert!(matches!(
        bad(TilePlan::new(Size::new(100, 100), 0, 0, 1)),
        OutputError::InvalidTiling { .. }
    ));
    assert!(matches!(
        bad(TilePlan::new(Size::new(100, 100), 64, 8, 0)),
        OutputError::InvalidTiling { .. }
    ));
    assert!(matches!(
        bad(TilePlan::new(Size::new(0, 100), 64, 8, 1)),
        OutputError::ZeroSize { .. }
    ));
    assert!(matches!(
        bad(TilePlan::new(Size::new(40000, 100), 64, 8, 2)),
        OutputError::TooLarge { .. }
    ));
    let input = vec![0.0f32; 2 * 10 * 20];
    let t = Rect {
        x: 15,
        y: 0,
        width: 6,
        height: 4,
    };
    let mut out = vec![0.0; 2 * 6 * 4];
    let e = extract_tile(&input, dims((2, 10, 20)), &t, &mut out).unwrap_err();
    assert!(matches!(e, OutputError::TileOutside { .. }), "{e}");
    let t = Rect { x: 14, ..t };
    extract_tile(&input, dims((2, 10, 20)), &t, &mut out).unwrap();
    let e = extract_tile(&input, dims((2, 10, 20)), &t, &mut out[1..]).unwrap_err();
    assert!(matches!(e, OutputError::Length { .. }), "{e}");
    let e = extract_tile(&input[1..], dims((2, 10, 20)), &t, &mut out).unwrap_err();
    assert!(matches!(e, OutputError::Length { .. }), "{e}");
    let e =
        extract_tile_layout(&[], dims((0, 10, 20)), TensorLayout::Nhwc, &t, &mut []).unwrap_err();
    assert!(matches!(e, OutputError::ChannelCount { .. }), "{e}");
    let huge = Rect { x: usize::MAX, ..t };
    let e = extract_tile(&input, dims((2, 10, 20)), &huge, &mut out).unwrap_err();
    assert!(matches!(e, OutputError::TileOutside { .. }), "{e}");
}

#[test]
fn a_tiler_cuts_runs_and_blends_a_whole_frame() {
    // A 2x nearest-neighbour model run tile by tile through a Tiler gives the
    // frame upscaled, in either layout, frame after frame.
    let (w, h) = (150, 90);
    let frame = Size::new(w, h);
    let mut rng = Rng::new(31);
    for layout in [TensorLayout::Nchw, TensorLayout::Nhwc] {
        let mut tiler = Tiler::new(frame, 64, 16, 2, layout).unwrap();
        assert_eq!(tiler.plan().output_size(), Size::new(300, 180));
        for _ in 0..2 {
            let chw = random_chw(&mut rng, 3, h, w);
            let tensor = tiler.start_frame();
            assert_eq!(tensor.len(), chw.len());
            for ch in 0..3 {
                for i in 0..w * h {
                    match layout {
                        TensorLayout::Nchw => tensor[ch * w * h + i] = chw[ch * w * h + i],
                        TensorLayout::Nhwc => tensor[i * 3 + ch] = chw[ch * w * h + i],
                    }
                }
            }
            let tiles = tiler.plan().tiles().to_vec();
            for (i, t) in tiles.iter().enumerate() {
                let mut input = vec![0.0; 3 * t.width * t.height];
                tiler.cut_tile(i, &mut input).unwrap();
                // The model: to CHW, upscale, back to the layout.
                let chw_tile = match layout {
                    TensorLayout::Nchw => input,
                    TensorLayout::Nhwc => (0..input.len())
                        .map(|j| {
                            let (ch, p) = (j / (t.width * t.height), j % (t.width * t.height));
                            input[p * 3 + ch]
                        })
                        .collect(),
                };
                let up = upscale_nn(&chw_tile, (3, t.height, t.width), 2);
                let (oh, ow) = (2 * t.height, 2 * t.width);
                let (output, shape) = match layout {
                    TensorLayout::Nchw => (up, vec![3, oh, ow]),
                    TensorLayout::Nhwc => {
                        let n = oh * ow;
                        let hwc = (0..3 * n).map(|j| up[(j % 3) * n + j / 3]).collect();
                        (hwc, vec![oh, ow, 3])
                    }
                };
                tiler.add_output(i, &output, &shape).unwrap();
            }
            let (blended, shape) = tiler.finish().unwrap();
            assert_eq!(shape, [3, 180, 300]);
            assert_eq!(blended, upscale_nn(&chw, (3, h, w), 2), "{layout:?}");
        }
        // Out of range, and a frame finished before its tiles were added.
        let mut slot = vec![0.0; 3 * 64 * 64];
        let count = tiler.plan().tiles().len();
        assert_eq!(
            tiler.cut_tile(count, &mut slot),
            Err(OutputError::TileIndex {
                index: count,
                count
            })
        );
        tiler.start_frame();
        assert!(matches!(
            tiler.finish(),
            Err(OutputError::TilesMissing { .. })
        ));
    }
}

//! The core under every model element, driven directly (no GStreamer
//! element) on a generated model with exact answers: `classify.onnx` scores
//! each colour channel as 10 x its mean, so a solid red, green or blue frame
//! is class 0, 1 or 2.

mod common;

use gstdl::decode::{DecodeError, OutputView};
use gstdl::frame::{FrameView, PixelFormat, Size};
use gstdl::inference::{BatchRunner, Batcher, FrameDecoder, InferenceError, Released};
use gstdl::model::ImageInput;
use gstdl::model_core::{CoreError, ModelCore, StreamEvent};
use gstdl::preprocess::{FrameMapping, PreprocessSpec, Preprocessor};
use gstdl::runtime::{ExecutionProvider, SessionOptions, Spin, open_shared_session};

const SIZE: usize = 224;
const FRAME: Size = Size::new(SIZE, SIZE);

/// The class with the highest score; `fail_on` makes one class an error,
/// as a decoder meeting outputs it cannot read would.
#[derive(Clone, Copy)]
struct Argmax {
    fail_on: Option<usize>,
}

impl FrameDecoder for Argmax {
    type Results = usize;

    fn decode(
        &self,
        outputs: &[OutputView<'_>],
        _mapping: &FrameMapping,
    ) -> Result<usize, InferenceError> {
        let scores = outputs[0].data;
        let best = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .expect("three scores");
        if self.fail_on == Some(best) {
            // As a decoder whose output is missing would.
            return Err(InferenceError::Decode {
                reading: format!("argmax refusing class {best}"),
                error: DecodeError::NoOutputs,
            });
        }
        Ok(best)
    }
}

/// Frame `(id, colour)`: which frame, and which channel is lit.
type Frame = (u32, usize);

fn core(batch_size: usize, pipelined: bool) -> ModelCore<Frame, Argmax, Frame> {
    core_with_batches_in_flight(batch_size, usize::from(pipelined))
}

/// A core whose batcher keeps up to `in_flight` batches running (as for a
/// served model with `remote-requests`).
fn core_with_batches_in_flight(
    batch_size: usize,
    in_flight: usize,
) -> ModelCore<Frame, Argmax, Frame> {
    let session = open_shared_session(&SessionOptions {
        model: common::test_model("classify.onnx"),
        provider: ExecutionProvider::Cpu,
        threads: 1,
        spin: Spin::Off,
    })
    .expect("the generated model loads");
    let input = ImageInput::from_model(&session.info, None).expect("an image input");
    let mut core = ModelCore::new(session.clone(), input.clone(), batch_size);
    let spec = PreprocessSpec {
        std: [255.0; 3],
        ..PreprocessSpec::new(FRAME)
    };
    let preprocessor = Preprocessor::new(PixelFormat::Rgb, FRAME, &spec).unwrap();
    let runner = BatchRunner::new(session, input, FRAME, batch_size);
    let batcher =
        Batcher::with_batches_in_flight(runner, preprocessor.mapping(), batch_size, in_flight)
            .unwrap();
    core.negotiate(preprocessor, batcher);
    core
}

fn solid(colour: usize) -> Vec<u8> {
    let mut pixels = vec![0u8; SIZE * SIZE * 3];
    pixels
        .iter_mut()
        .skip(colour)
        .step_by(3)
        .for_each(|p| *p = 255);
    pixels
}

/// Pushes `frame`, inferred when `inferred`, and moves what leaves to the
/// core's ready list as `(id, class or usize::MAX when not inferred)`.
fn push(
    core: &mut ModelCore<Frame, Argmax, Frame>,
    frame: Frame,
    inferred: bool,
    decoder: Argmax,
) -> Result<(), CoreError> {
    if inferred {
        let pixels = solid(frame.1);
        let view = FrameView::packed(PixelFormat::Rgb, FRAME, &pixels, SIZE * 3);
        core.preprocess(&view)?;
    }
    let released = core.push(frame, inferred, || decoder)?;
    ready(core, released);
    Ok(())
}

fn ready(core: &mut ModelCore<Frame, Argmax, Frame>, released: Vec<Released<Frame, usize>>) {
    for Released { frame, results } in released {
        let class = results.map_or(usize::MAX, |r| r.expect("decoded"));
        core.push_ready((frame.0, class));
    }
}

const ANY: Argmax = Argmax { fail_on: None };
const SKIPPED: usize = usize::MAX;

#[test]
fn frames_leave_in_order_with_their_own_results_whether_pipelined_or_not() {
    for pipelined in [false, true] {
        for batch_size in [1, 2, 3] {
            let mut core = core(batch_size, pipelined);
            // Every other frame inferred, colours cycling.
            for id in 0..9u32 {
                push(&mut core, (id, id as usize % 3), id % 2 == 0, ANY).unwrap();
            }
            let released = core.drain(|| ANY).unwrap();
            ready(&mut core, released);
            let out = core.take_ready();
            assert!(!core.holds_frames());
            let expected: Vec<(u32, usize)> = (0..9u32)
                .map(|id| {
                    let class = if id % 2 == 0 {
                        id as usize % 3
                    } else {
                        SKIPPED
                    };
                    (id, class)
                })
                .collect();
            assert_eq!(out, expected, "batch {batch_size}, pipelined {pipelined}");
        }
    }
}

#[test]
fn several_batches_in_flight_leave_in_order_with_their_own_results() {
    for in_flight in [2, 3, 4] {
        for batch_size in [1, 2] {
            let mut core = core_with_batches_in_flight(batch_size, in_flight);
            // Runs of inferred frames with a skipped one every 5th frame.
            for id in 0..23u32 {
                push(&mut core, (id, id as usize % 3), id % 5 != 4, ANY).unwrap();
            }
            let released = core.drain(|| ANY).unwrap();
            ready(&mut core, released);

            let expected: Vec<(u32, usize)> = (0..23u32)
                .map(|id| {
                    (
                        id,
                        if id % 5 != 4 {
                            id as usize % 3
                        } else {
                            SKIPPED
                        },
                    )
                })
                .collect();
            assert_eq!(
                core.take_ready(),
                expected,
                "{in_flight} in flight, batch {batch_size}"
            );
            assert!(!core.holds_frames());
        }
    }
}

#[test]
fn a_skipped_frame_waits_behind_a_half_full_batch() {
    let mut core = core(2, false);
    push(&mut core, (0, 0), true, ANY).unwrap();
    push(&mut core, (1, 1), false, ANY).unwrap();
    // Frame 1 was not inferred but may not overtake frame 0.
    assert_eq!(core.pop_ready(), None);
    assert!(core.holds_frames());
    push(&mut core, (2, 2), true, ANY).unwrap();
    let out: Vec<Frame> = std::iter::from_fn(|| core.pop_ready()).collect();
    assert_eq!(out, vec![(0, 0), (1, SKIPPED), (2, 2)]);
    // With nothing inferred waiting, a skipped frame leaves at once.
    push(&mut core, (3, 0), false, ANY).unwrap();
    assert_eq!(core.pop_ready(), Some((3, SKIPPED)));
}

#[test]
fn pipelined_a_batch_is_in_flight_until_the_next_must_start() {
    let mut core = core(1, true);
    push(&mut core, (0, 1), true, ANY).unwrap();
    // Started on the worker: nothing ready yet, the frame is held.
    assert!(core.holds_frames());
    push(&mut core, (1, 2), true, ANY).unwrap();
    // The second batch could start only after the first was taken.
    assert_eq!(core.pop_ready(), Some((0, 1)));
    let released = core.drain(|| ANY).unwrap();
    ready(&mut core, released);
    assert_eq!(core.pop_ready(), Some((1, 2)));
    assert!(!core.holds_frames());
}

#[test]
fn a_flush_drops_held_frames_and_the_batch_in_flight() {
    for pipelined in [false, true] {
        let mut core = core(4, pipelined);
        for id in 0..3 {
            push(&mut core, (id, 0), true, ANY).unwrap();
        }
        assert!(core.holds_frames());
        assert!(!core.on_sink_event(StreamEvent::FlushStop));
        assert!(!core.holds_frames());
        assert!(core.drain(|| ANY).unwrap().is_empty());
        // The core goes on after the flush.
        for id in 10..14 {
            push(&mut core, (id, 2), true, ANY).unwrap();
        }
        let released = core.drain(|| ANY).unwrap();
        ready(&mut core, released);
        let out: Vec<Frame> = std::iter::from_fn(|| core.pop_ready()).collect();
        assert_eq!(out, vec![(10, 2), (11, 2), (12, 2), (13, 2)]);
    }
}

#[test]
fn events_that_travel_with_frames_drain_them_and_qos_marks_late_frames() {
    let mut core = core(1, false);
    assert!(core.on_sink_event(StreamEvent::Serialized));
    assert!(!core.on_sink_event(StreamEvent::Unserialized));
    assert!(!core.is_late(Some(100)));
    // A frame at 1 s was 0.5 s late: everything up to 2 s is too late.
    core.on_qos(1_000_000_000, 500_000_000);
    assert!(core.is_late(Some(1_999_000_000)));
    assert!(!core.is_late(Some(2_001_000_000)));
    assert!(!core.is_late(None));
    // A new segment forgets the old lateness, and drains.
    assert!(core.on_sink_event(StreamEvent::Segment));
    assert!(!core.is_late(Some(1_999_000_000)));
}

#[test]
fn a_frame_its_decoder_refuses_fails_alone_and_a_frame_before_caps_is_refused() {
    for pipelined in [false, true] {
        // A batch of 4 holds all three until the drain runs them.
        let mut core = core(4, pipelined);
        let refuse_green = Argmax { fail_on: Some(1) };
        for (id, colour) in [(0, 0), (1, 1), (2, 2)] {
            push(&mut core, (id, colour), true, ANY).unwrap();
        }
        let mut released = core.drain(|| refuse_green).unwrap();
        assert_eq!(released.len(), 3);
        let failed = released.remove(1).results.unwrap().unwrap_err();
        assert!(
            failed
                .to_string()
                .starts_with("cannot read the model's outputs with argmax refusing class 1: "),
            "{failed}"
        );
        assert_eq!(released[0].results, Some(Ok(0)));
        assert_eq!(released[1].results, Some(Ok(2)));
    }
    let session = open_shared_session(&SessionOptions {
        model: common::test_model("classify.onnx"),
        provider: ExecutionProvider::Cpu,
        threads: 1,
        spin: Spin::Off,
    })
    .unwrap();
    let input = ImageInput::from_model(&session.info, None).unwrap();
    let mut unnegotiated: ModelCore<Frame, Argmax, Frame> = ModelCore::new(session, input, 1);
    assert_eq!(
        unnegotiated.push((0, 0), false, || ANY).unwrap_err(),
        CoreError::NotNegotiated
    );
}

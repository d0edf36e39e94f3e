//! The benchmark command: `cargo bench --bench benchmarks` (after
//! `scripts/setup.sh`; `-- --quick` for a one-run smoke test). Writes
//! BENCHMARKS.md, every figure in it measured by this one run on one machine:
//!
//! 1. the limit: bare ONNX Runtime (our session wrapper) on pre-made tensors;
//! 2. gst-dl pipelines: `filesrc ! decodebin ! videoconvert ! dlinfer |
//!    dltransform ! fakesink`, at batch sizes and inference intervals;
//! 3. decode only: `filesrc ! decodebin ! fakesink`;
//! 4. what users write instead: `benches/python_baseline.py` (OpenCV decoding,
//!    the same preprocessing, ONNX Runtime, every Nth frame, in batches);
//! 5. preprocessing alone: ours against OpenCV's;
//! 6. decoding alone: detect, segment (masks at 1, 10, 50 instances), pose
//!    and obb, so users see what masks cost;
//! 7. a model on each detected object: CenterFace, then EfficientNet-Lite0
//!    features per face (`inference-region=objects`), beside the Python loop
//!    that crops, resizes and infers each face with OpenCV and ONNX Runtime.
//!
//! `-- --tracking` measures only the tracker's rows (`benches/tracking/`):
//! tracker time per frame at 10, 100, 1000 objects; CenterFace at
//! inference-interval 1 against 3 + dltrack, fps and box error.
//!
//! `-- --served` measures only the served-model rows (`benches/served/`):
//! CenterFace local against Triton over HTTP and gRPC at remote-requests 1,
//! 2 and 4, and two pipelines sharing one Triton (needs
//! `scripts/setup.sh --tests` for Triton).
//!
//! `GSTDL_BENCH_ROWS=CenterFace,INT8 cargo bench --bench benchmarks`
//! measures only the rows whose names contain one of the words (and the rows
//! they are compared with) into target/BENCHMARKS-subset.md. INT8 rows make
//! their models with scripts/quantize.py the first time (needs `cargo build
//! --lib`).
//!
//! `-- --launch '<pipeline>'` measures one pipeline of your own the same way
//! (`$MEDIA`, `$MODELS`, `$CENTERFACE`, `$EFFICIENTNET`, `$FACE_FEATURES` expand as in
//! the rows), and also prints the CPU milliseconds its timed passes took per
//! frame (see `benches/decode_cpu.py`).
//!
//! Each row runs in a child process (this binary with `--row N`) so its peak
//! RSS is its own; each plays untimed for at least a pass and 2 s (model
//! loading, caches, spin=auto's decision), then RUNS timed passes.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstdl::frame::{FrameView, PixelFormat, Size};
use gstdl::preprocess::{ChannelOrder, PreprocessSpec, Preprocessor, ScaleMode, TensorLayout};
use gstdl::runtime::session::InputData;
use gstdl::runtime::{ExecutionProvider, SessionOptions, SharedSession, Spin, open_shared_session};
use serde_json::{Value, json};

mod served;
mod tracking;

const RUNS: usize = 5;
/// The least time a pipeline row plays untimed before its timed runs (at
/// least one pass): spin=auto measures its first runs asleep, then tries
/// spinning, each for at least 0.5 s (`src/runtime/spin.rs`). With one
/// warm-up pass of a 132-frame clip, INT8 EfficientNet-Lite0's timed pass
/// was mostly its trial: 261 frames/s against 292 with `spin=false`, where
/// auto then sleeps as well.
const PIPELINE_WARM_UP: Duration = Duration::from_secs(2);
const IMAGENET_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
const IMAGENET_STD: [f32; 3] = [58.395, 57.12, 57.375];

/// One measured row.
enum Row {
    /// Bare ONNX Runtime: `frames` runs of batch `batch` at `input`.
    Bare {
        name: &'static str,
        model: &'static str,
        input: Size,
        batch: usize,
        frames: usize,
    },
    /// A whole pipeline; `python` names the Python loop row doing the same job.
    Pipeline {
        name: &'static str,
        launch: &'static str,
        python: Option<&'static str>,
        bare: Option<&'static str>,
        /// (decode-only row, bare runtime row at batch 1 or the row's
        /// batch): the CPU-work bound, 1 / (1/decode fps + 1/(N x bare
        /// fps)) at inference-interval N, the most the pipeline can reach
        /// when decoding and the model share the cores.
        bound: Option<(&'static str, &'static str)>,
    },
    /// Decoding one frame's outputs alone (decoder, suppression, mapping
    /// to the frame, masks at frame resolution): what each task costs.
    Decode {
        name: &'static str,
        case: DecodeCase,
    },
    /// Our preprocessing alone; `opencv` names the Python rows doing the same.
    Preprocess {
        name: &'static str,
        format: PixelFormat,
        source: Size,
        target: Size,
        opencv: &'static str,
    },
}

const CENTERFACE: &str = "decoder=centerface input-std=1 iou-threshold=0.3";
const EFFICIENTNET: &str =
    "decoder=features output-name=features scale-mode=center-crop input-mean=127 input-std=128";

/// Per-face features as the Python loop computes them: the crop stretched
/// to 224x224, (p - 127) / 128, batches of 4 faces.
const FACE_FEATURES: &str =
    "decoder=features output-name=features input-mean=127 input-std=128 batch-size=4";

fn rows() -> Vec<Row> {
    use Row::*;
    vec![
        Bare {
            name: "bare ONNX Runtime CenterFace 640x288 b1",
            model: "centerface.onnx",
            input: Size::new(640, 288),
            batch: 1,
            frames: 200,
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i1 b1",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE ! fakesink",
            python: Some("python loop CenterFace bikes.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime CenterFace 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i1 b1 spin=true",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE spin=true ! fakesink",
            python: Some("python loop CenterFace bikes.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime CenterFace 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i1 b1 spin=false",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE spin=false ! fakesink",
            python: Some("python loop CenterFace bikes.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime CenterFace 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i1 b1 async-inference=false",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE async-inference=false ! fakesink",
            python: Some("python loop CenterFace bikes.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime CenterFace 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Bare {
            name: "bare ONNX Runtime CenterFace INT8 640x288 b1",
            model: "centerface_int8.onnx",
            input: Size::new(640, 288),
            batch: 1,
            frames: 200,
        },
        Pipeline {
            name: "dlinfer CenterFace INT8 bikes.mp4 i1 b1",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface_int8.onnx $CENTERFACE ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime CenterFace INT8 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace INT8 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i1 b1 execution-provider=openvino",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE execution-provider=openvino ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime CenterFace 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace INT8 bikes.mp4 i1 b1 execution-provider=openvino",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface_int8.onnx $CENTERFACE execution-provider=openvino ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime CenterFace INT8 640x288 b1"),
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace INT8 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i3 b1 ! dltrack",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE inference-interval=3 ! dltrack ! fakesink",
            python: None,
            bare: None,
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace bikes.mp4 i30 b1",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE inference-interval=30 ! fakesink",
            python: None,
            bare: None,
            bound: Some((
                "decode only bikes.mp4",
                "bare ONNX Runtime CenterFace 640x288 b1",
            )),
        },
        Pipeline {
            name: "dlinfer CenterFace ! dlinfer inference-region=objects EfficientNet carphone_pristine.mp4",
            launch: "filesrc location=$MEDIA/carphone_pristine.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE ! dlinfer inference-region=objects object-class=face object-padding=0.1 model=$MODELS/efficientnet_lite0.onnx $FACE_FEATURES ! fakesink",
            python: Some("python loop CenterFace + per-face EfficientNet carphone_pristine.mp4"),
            bare: None,
            // Two models and a varying number of faces: no one-model bound.
            bound: None,
        },
        Pipeline {
            name: "dlinfer CenterFace ! dlinfer inference-region=objects EfficientNet bikes.mp4",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/centerface.onnx $CENTERFACE ! dlinfer inference-region=objects object-class=face object-padding=0.1 model=$MODELS/efficientnet_lite0.onnx $FACE_FEATURES ! fakesink",
            python: Some("python loop CenterFace + per-face EfficientNet bikes.mp4"),
            bare: None,
            // Two models and a varying number of faces: no one-model bound.
            bound: None,
        },
        Pipeline {
            name: "decode only bikes.mp4",
            launch: "filesrc location=$MEDIA/bikes.mp4 ! decodebin ! fakesink",
            python: Some("opencv decode read() bikes.mp4"),
            bare: None,
            bound: None,
        },
        Bare {
            name: "bare ONNX Runtime EfficientNet 224x224 b1",
            model: "efficientnet_lite0.onnx",
            input: Size::new(224, 224),
            batch: 1,
            frames: 200,
        },
        Bare {
            name: "bare ONNX Runtime EfficientNet 224x224 b4",
            model: "efficientnet_lite0.onnx",
            input: Size::new(224, 224),
            batch: 4,
            frames: 200,
        },
        Bare {
            name: "bare ONNX Runtime EfficientNet 224x224 b8",
            model: "efficientnet_lite0.onnx",
            input: Size::new(224, 224),
            batch: 8,
            frames: 200,
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b1",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b1 spin=true",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET spin=true ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b1 spin=false",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET spin=false ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b1 async-inference=false",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET async-inference=false ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Bare {
            name: "bare ONNX Runtime EfficientNet INT8 224x224 b1",
            model: "efficientnet_lite0_int8.onnx",
            input: Size::new(224, 224),
            batch: 1,
            frames: 200,
        },
        Pipeline {
            name: "dlinfer EfficientNet INT8 bigbuckbunny.mp4 i1 b1",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0_int8.onnx $EFFICIENTNET ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet INT8 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet INT8 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet INT8 bigbuckbunny.mp4 i1 b1 spin=true",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0_int8.onnx $EFFICIENTNET spin=true ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet INT8 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet INT8 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet INT8 bigbuckbunny.mp4 i1 b1 spin=false",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0_int8.onnx $EFFICIENTNET spin=false ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet INT8 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet INT8 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b1 execution-provider=openvino",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET execution-provider=openvino ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet INT8 bigbuckbunny.mp4 i1 b1 execution-provider=openvino",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0_int8.onnx $EFFICIENTNET execution-provider=openvino ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet INT8 224x224 b1"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet INT8 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b4",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET batch-size=4 ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b4"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b4",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i1 b8",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET batch-size=8 ! fakesink",
            python: None,
            bare: Some("bare ONNX Runtime EfficientNet 224x224 b8"),
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b8",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i30 b1",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET inference-interval=30 ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i30 b1"),
            bare: None,
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i30 b1 spin=true",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET inference-interval=30 spin=true ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i30 b1"),
            bare: None,
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i30 b1 spin=false",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET inference-interval=30 spin=false ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i30 b1"),
            bare: None,
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i30 b1 async-inference=false",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET inference-interval=30 async-inference=false ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i30 b1"),
            bare: None,
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b1",
            )),
        },
        Pipeline {
            name: "dlinfer EfficientNet bigbuckbunny.mp4 i30 b8",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! videoconvert ! dlinfer model=$MODELS/efficientnet_lite0.onnx $EFFICIENTNET inference-interval=30 batch-size=8 ! fakesink",
            python: Some("python loop EfficientNet bigbuckbunny.mp4 i30 b8"),
            bare: None,
            bound: Some((
                "decode only bigbuckbunny.mp4",
                "bare ONNX Runtime EfficientNet 224x224 b8",
            )),
        },
        Pipeline {
            name: "decode only bigbuckbunny.mp4",
            launch: "filesrc location=$MEDIA/bigbuckbunny.mp4 ! decodebin ! fakesink",
            python: Some("opencv decode read() bigbuckbunny.mp4"),
            bare: None,
            bound: None,
        },
        // Results out: the same JSON lines to a file and to a real mosquitto
        // on loopback (started by this benchmark), one message per frame;
        // fps is messages per second, EOS waits for every acknowledgement.
        Pipeline {
            name: "dlpublish carphone_pristine.mp4 every frame to a file",
            launch: "filesrc location=$MEDIA/carphone_pristine.mp4 ! decodebin ! dlpublish all-frames=true location=/dev/null ! fakesink",
            python: None,
            bare: None,
            bound: None,
        },
        Pipeline {
            name: "dlpublish carphone_pristine.mp4 every frame to MQTT QoS 0",
            launch: "filesrc location=$MEDIA/carphone_pristine.mp4 ! decodebin ! dlpublish all-frames=true location=mqtt://$MQTT/gst-dl/bench mqtt-qos=0 ! fakesink",
            python: None,
            bare: None,
            bound: None,
        },
        Pipeline {
            name: "dlpublish carphone_pristine.mp4 every frame to MQTT QoS 1",
            launch: "filesrc location=$MEDIA/carphone_pristine.mp4 ! decodebin ! dlpublish all-frames=true location=mqtt://$MQTT/gst-dl/bench mqtt-qos=1 ! fakesink",
            python: None,
            bare: None,
            bound: None,
        },
        Bare {
            name: "bare ONNX Runtime U2-Netp 320x320 b1",
            model: "u2netp.onnx",
            input: Size::new(320, 320),
            batch: 1,
            frames: 60,
        },
        Pipeline {
            name: "dltransform U2-Netp carphone_pristine.mp4 mask",
            launch: "filesrc location=$MEDIA/carphone_pristine.mp4 ! decodebin ! videoconvert ! dltransform model=$MODELS/u2netp.onnx input-mean=123.675,116.28,103.53 input-std=58.395,57.12,57.375 normalize-output=true ! fakesink",
            python: Some("python loop U2-Netp carphone_pristine.mp4 i1 b1"),
            bare: Some("bare ONNX Runtime U2-Netp 320x320 b1"),
            bound: None,
        },
        Decode {
            name: "decode detect (yolov8, 80 classes) 10 instances",
            case: DecodeCase::Detect(10),
        },
        Decode {
            name: "decode segment (yolov8seg, 80 classes) 1 instance",
            case: DecodeCase::Segment(1),
        },
        Decode {
            name: "decode segment (yolov8seg, 80 classes) 10 instances",
            case: DecodeCase::Segment(10),
        },
        Decode {
            name: "decode segment (yolov8seg, 80 classes) 50 instances",
            case: DecodeCase::Segment(50),
        },
        Decode {
            name: "decode pose (yolov8pose, 17 keypoints) 10 instances",
            case: DecodeCase::Pose(10),
        },
        Decode {
            name: "decode obb (yolov8obb, 15 classes) 10 instances",
            case: DecodeCase::Obb(10),
        },
        Preprocess {
            name: "gst-dl preprocess BGR 1920x1080->640x640 f32 NCHW",
            format: PixelFormat::Bgr,
            source: Size::new(1920, 1080),
            target: Size::new(640, 640),
            opencv: "opencv preprocess 1920x1080->640x640 f32 NCHW",
        },
        Preprocess {
            name: "gst-dl preprocess BGR 1920x1080->224x224 f32 NCHW",
            format: PixelFormat::Bgr,
            source: Size::new(1920, 1080),
            target: Size::new(224, 224),
            opencv: "opencv preprocess 1920x1080->224x224 f32 NCHW",
        },
        Preprocess {
            name: "gst-dl preprocess BGR 1280x720->640x640 f32 NCHW",
            format: PixelFormat::Bgr,
            source: Size::new(1280, 720),
            target: Size::new(640, 640),
            opencv: "opencv preprocess 1280x720->640x640 f32 NCHW",
        },
        Preprocess {
            name: "gst-dl preprocess BGR 1280x720->224x224 f32 NCHW",
            format: PixelFormat::Bgr,
            source: Size::new(1280, 720),
            target: Size::new(224, 224),
            opencv: "opencv preprocess 1280x720->224x224 f32 NCHW",
        },
        Preprocess {
            name: "gst-dl preprocess I420 1920x1080->640x640 f32 NCHW",
            format: PixelFormat::I420,
            source: Size::new(1920, 1080),
            target: Size::new(640, 640),
            opencv: "opencv preprocess I420 1920x1080->640x640 f32 NCHW",
        },
    ]
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn expand(launch: &str) -> String {
    launch
        .replace("$MEDIA", &root().join(".data/media").display().to_string())
        .replace(
            "$MODELS",
            &root().join(".data/models").display().to_string(),
        )
        .replace("$CENTERFACE", CENTERFACE)
        .replace("$EFFICIENTNET", EFFICIENTNET)
        .replace("$FACE_FEATURES", FACE_FEATURES)
        .replace(
            "$MQTT",
            &std::env::var(MQTT_BROKER_ENV).unwrap_or_else(|_| "127.0.0.1:1883".into()),
        )
}

/// `HOST:PORT` of the broker the MQTT rows publish to, for the row processes.
const MQTT_BROKER_ENV: &str = "GSTDL_BENCH_MQTT";

/// A mosquitto on a free loopback port for the MQTT rows (unless
/// `GSTDL_BENCH_MQTT` names a broker already); killed when dropped.
struct Mosquitto(Option<std::process::Child>);

impl Mosquitto {
    fn start() -> (Self, String) {
        if let Ok(address) = std::env::var(MQTT_BROKER_ENV) {
            return (Self(None), address);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("mosquitto is installed: run scripts/setup.sh --tests");
        // Without a configuration file it listens on loopback only.
        let child = Command::new(binary)
            .args(["-p", &port.to_string()])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        let address = format!("127.0.0.1:{port}");
        while std::net::TcpStream::connect(&address).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        (Self(Some(child)), address)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Warm-up: loads the model, fills caches, and plays on until spin=auto has
/// decided (it measures about a second), so that every measurement times
/// the steady state it will stay in.
fn warm_up(pipeline: &mut LoopedPipeline) {
    let started = Instant::now();
    pipeline.run();
    while started.elapsed() < PIPELINE_WARM_UP {
        pipeline.run();
    }
}

/// CPU seconds (user + system, all threads) this process has used.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the
    // 12th, stime the 13th.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    tick_seconds(after_name, 11, 2)
}

/// The sum of `take` clock-tick counts after the first `skip` fields of a
/// /proc line, in seconds.
fn tick_seconds(fields: &str, skip: usize, take: usize) -> f64 {
    // Kernel clock ticks: USER_HZ, 100 on every Linux this runs on.
    const TICKS: f64 = 100.0;
    fields
        .split_whitespace()
        .skip(skip)
        .take(take)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum::<f64>()
        / TICKS
}

/// Peak resident memory of this process, from the kernel's high-water mark.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// (wall clock, busy CPU seconds of the whole machine, CPU seconds of this
/// process), to tell afterwards whether a row had the machine to itself.
struct CpuSnapshot {
    wall: Instant,
    machine_busy: f64,
    own: f64,
}

impl CpuSnapshot {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu = stat.lines().next().unwrap_or_default();
        // user nice system idle iowait irq softirq steal: all but idle, iowait.
        let machine_busy = tick_seconds(cpu, 1, 3) + tick_seconds(cpu, 6, 3);
        Self {
            wall: Instant::now(),
            machine_busy,
            own: process_cpu_seconds(),
        }
    }

    /// Share of all the machine's CPU time that other processes (or the
    /// hypervisor, as steal) took since `self`: ~0 when the row ran alone.
    fn others_share_since(&self) -> f64 {
        let now = Self::now();
        let wall = now.wall.duration_since(self.wall).as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let others = (now.machine_busy - self.machine_busy) - (now.own - self.own);
        (others.max(0.0) / (wall * cores)).min(1.0)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[sorted.len() / 2]
}

/// Frames per second of `frames` bare runs of batch `batch`.
fn bare_fps(session: &SharedSession, input: Size, batch: usize, frames: usize) -> f64 {
    let Size {
        width: w,
        height: h,
    } = input;
    let name = session.info.inputs[0].name.clone();
    let tensor: Vec<f32> = (0..batch * 3 * w * h).map(|i| (i % 251) as f32).collect();
    let shape = [batch, 3, h, w];
    let start = Instant::now();
    let mut done = 0;
    while done < frames {
        session
            .run(&name, &shape, InputData::F32(&tensor), |outputs| {
                outputs.len()
            })
            .expect("the model runs");
        done += batch;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// A pipeline kept open across runs, as an application playing a clip again
/// would: the first run loads the model (untimed warm-up), each later run
/// restarts the clip with a flushing seek. The Python loop likewise opens its
/// ONNX Runtime session once and only times decoding and inference.
struct LoopedPipeline {
    launch: String,
    pipeline: gst::Pipeline,
    frames: Arc<AtomicUsize>,
    started: bool,
}

impl LoopedPipeline {
    /// Exits with the reason when `launch` is not a pipeline with a sink
    /// (a typo in `--launch` is the user's to fix, not a crash).
    fn new(launch: &str) -> Self {
        let refuse = |why: String| -> ! {
            eprintln!("cannot measure '{launch}': {why}");
            std::process::exit(2)
        };
        let pipeline = gst::parse::launch(launch)
            .unwrap_or_else(|e| refuse(e.to_string()))
            .downcast::<gst::Pipeline>()
            .unwrap_or_else(|_| {
                refuse("one element is not a pipeline: link a source to a sink".into())
            });
        let sink = match pipeline.iterate_sinks().into_iter().next() {
            Some(Ok(sink)) => sink,
            _ => refuse("the pipeline has no sink: end it with fakesink".into()),
        };
        let frames = Arc::new(AtomicUsize::new(0));
        let counter = frames.clone();
        sink.static_pad("sink").expect("sink pad").add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                counter.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            },
        );
        Self {
            launch: launch.to_string(),
            pipeline,
            frames,
            started: false,
        }
    }

    /// Frames per second of one pass over the clip (start or seek, to EOS),
    /// and its frame count.
    fn run(&mut self) -> (f64, usize) {
        self.frames.store(0, Ordering::Relaxed);
        let start = Instant::now();
        if self.started {
            self.pipeline
                .seek_simple(gst::SeekFlags::FLUSH, gst::ClockTime::ZERO)
                .expect("the clip seeks back to its start");
        } else {
            self.pipeline
                .set_state(gst::State::Playing)
                .expect("pipeline starts");
            self.started = true;
        }
        for message in self
            .pipeline
            .bus()
            .expect("bus")
            .iter_timed(gst::ClockTime::NONE)
        {
            match message.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(err) => {
                    panic!("{}: {} {:?}", self.launch, err.error(), err.debug())
                }
                _ => {}
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let frames = self.frames.load(Ordering::Relaxed);
        (frames as f64 / seconds, frames)
    }
}

impl Drop for LoopedPipeline {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Microseconds per frame of our preprocessing on a synthetic frame.
fn preprocess_us(format: PixelFormat, source: Size, target: Size, iterations: usize) -> f64 {
    let Size {
        width: w,
        height: h,
    } = source;
    let mut spec = PreprocessSpec::new(target);
    (spec.scale_mode, spec.channel_order, spec.layout) =
        (ScaleMode::Stretch, ChannelOrder::Rgb, TensorLayout::Nchw);
    (spec.mean, spec.std) = (IMAGENET_MEAN, IMAGENET_STD);
    let preprocessor = Preprocessor::new(format, source, &spec).expect("valid preprocessing");
    let bytes: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
    let (chroma_w, chroma_h) = (w.div_ceil(2), h.div_ceil(2));
    let (planes, strides): ([&[u8]; 3], [usize; 3]) = match format {
        PixelFormat::I420 => (
            [
                &bytes[..w * h],
                &bytes[w * h..w * h + chroma_w * chroma_h],
                &bytes[w * h + chroma_w * chroma_h..w * h + 2 * chroma_w * chroma_h],
            ],
            [w, chroma_w, chroma_w],
        ),
        _ => ([&bytes[..], &[], &[]], [w * 3, 0, 0]),
    };
    let frame = FrameView {
        format,
        size: source,
        planes,
        strides,
    };
    let mut out = vec![0f32; preprocessor.tensor_len()];
    for _ in 0..10 {
        preprocessor.run_f32(&frame, &mut out).expect("runs");
    }
    let mut timings: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            preprocessor.run_f32(&frame, &mut out).expect("runs");
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    timings.sort_by(|a, b| a.total_cmp(b));
    timings[timings.len() / 2]
}

/// A decoding case: the task and how many instances clear the threshold.
#[derive(Clone, Copy)]
enum DecodeCase {
    Detect(usize),
    Segment(usize),
    Pose(usize),
    Obb(usize),
}

/// Microseconds per frame to decode synthetic YOLOv8-family outputs of a
/// 640x640 input (8400 anchors) into objects on a 1280x720 frame
/// (letterboxed): `instances` anchors score 0.9 on boxes of 40x40 model
/// pixels (80x80 on the frame) that do not overlap, the rest 0; segmentation's 32 prototypes are
/// 160x160 of varied values, so masks cost what real ones do.
fn decode_us(case: DecodeCase, iterations: usize) -> f64 {
    use gstdl::decode::{DeclaredOutput, DecoderKind, DetectionParams, OutputView, SoftmaxMode};
    use gstdl::inference::{PostprocessConfig, decode_frame};
    use gstdl::preprocess::FrameMapping;
    const ANCHORS: usize = 8400;
    let (decoder, classes, extra, instances) = match case {
        DecodeCase::Detect(n) => ("yolov8", 80, 0, n),
        DecodeCase::Segment(n) => ("yolov8seg", 80, 32, n),
        DecodeCase::Pose(n) => ("yolov8pose", 1, 51, n),
        DecodeCase::Obb(n) => ("yolov8obb", 15, 1, n),
    };
    let attributes = 4 + classes + extra;
    let mut boxes = vec![0f32; attributes * ANCHORS];
    for instance in 0..instances {
        let anchor = instance * (ANCHORS / instances.max(1));
        // Inside the picture (model rows 140..500 once letterboxed), apart.
        let (column, row) = (instance % 14, instance / 14);
        let values = [
            24.0 + 44.0 * column as f32,
            164.0 + 44.0 * row as f32,
            40.0,
            40.0,
        ];
        for (attribute, value) in values.into_iter().enumerate() {
            boxes[attribute * ANCHORS + anchor] = value;
        }
        boxes[(4 + instance % classes) * ANCHORS + anchor] = 0.9;
        for e in 0..extra {
            let value = match case {
                DecodeCase::Pose(_) if e % 3 != 2 => values[e % 2] + (e as f32 % 7.0) * 3.0,
                DecodeCase::Obb(_) => 0.3,
                _ => ((e * 31 + instance * 7) % 13) as f32 / 6.0 - 1.0,
            };
            boxes[(4 + classes + e) * ANCHORS + anchor] = value;
        }
    }
    let protos: Vec<f32> = (0..32usize * 160 * 160)
        .map(|i| ((i * 7919) % 251) as f32 / 125.0 - 1.0)
        .collect();
    let box_shape = [attributes, ANCHORS];
    let proto_shape = [32, 160, 160];
    let mut views = vec![OutputView {
        name: "output0",
        shape: &box_shape,
        data: &boxes,
    }];
    let mut declared = vec![DeclaredOutput {
        name: "output0".into(),
        shape: vec![Some(1), Some(attributes), Some(ANCHORS)],
    }];
    if matches!(case, DecodeCase::Segment(_)) {
        views.push(OutputView {
            name: "output1",
            shape: &proto_shape,
            data: &protos,
        });
        declared.push(DeclaredOutput {
            name: "output1".into(),
            shape: vec![Some(1), Some(32), Some(160), Some(160)],
        });
    }
    let kind = DecoderKind::from_name(decoder).expect("registered");
    let labels: Vec<String> = (0..classes).map(|c| format!("class{c}")).collect();
    let config = PostprocessConfig {
        decoder: kind,
        detection: DetectionParams {
            confidence_threshold: 0.25,
            iou_threshold: 0.45,
            max_detections: 300,
            input_width: 640,
            input_height: 640,
            layout: gstdl::decode::output_layout(kind, &declared),
        },
        labels: &labels,
        output_name: None,
        softmax: SoftmaxMode::default(),
        top_k: 1,
        normalize: false,
    };
    let mapping = FrameMapping::for_placement(
        ScaleMode::Letterbox,
        Size::new(1280, 720),
        Size::new(640, 640),
    )
    .expect("sizes");
    let mut timings: Vec<f64> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let results = decode_frame(&config, &views, &mapping).expect("decodes");
            let elapsed = start.elapsed().as_secs_f64() * 1e6;
            std::hint::black_box(results);
            elapsed
        })
        .collect();
    timings.sort_by(|a, b| a.total_cmp(b));
    timings[timings.len() / 2]
}

/// Measures one row in this (child) process and prints it as JSON.
fn measure(row: &Row, runs: usize) -> Value {
    let cpu = CpuSnapshot::now();
    let mut result = measure_row(row, runs);
    result["other_cpu_share"] = json!(cpu.others_share_since());
    result
}

fn measure_row(row: &Row, runs: usize) -> Value {
    match row {
        Row::Bare {
            name,
            model,
            input,
            batch,
            frames,
        } => {
            let session = open_shared_session(&SessionOptions {
                model: root().join(".data/models").join(model),
                provider: ExecutionProvider::Cpu,
                threads: 0,
                // The limit: ONNX Runtime at its fastest, with the machine to itself.
                spin: Spin::On,
            })
            .expect("the model loads");
            bare_fps(&session, *input, *batch, 2 * batch); // warm-up: ONNX Runtime allocates its arenas
            let fps: Vec<f64> = (0..runs)
                .map(|_| bare_fps(&session, *input, *batch, *frames))
                .collect();
            json!({"name": name, "fps": fps, "frames": frames, "peak_rss_mb": peak_rss_mb()})
        }
        Row::Pipeline { name, launch, .. } => {
            let launch = expand(launch);
            let mut pipeline = LoopedPipeline::new(&launch);
            warm_up(&mut pipeline);
            let results: Vec<(f64, usize)> = (0..runs).map(|_| pipeline.run()).collect();
            let fps: Vec<f64> = results.iter().map(|r| r.0).collect();
            json!({"name": name, "fps": fps, "frames": results[0].1, "launch": launch, "peak_rss_mb": peak_rss_mb()})
        }
        Row::Decode { name, case } => {
            let us: Vec<f64> = (0..runs).map(|_| decode_us(*case, 50)).collect();
            json!({"name": name, "us": us, "peak_rss_mb": peak_rss_mb()})
        }
        Row::Preprocess {
            name,
            format,
            source,
            target,
            ..
        } => {
            let us: Vec<f64> = (0..runs)
                .map(|_| preprocess_us(*format, *source, *target, 200))
                .collect();
            json!({"name": name, "us": us, "peak_rss_mb": peak_rss_mb()})
        }
    }
}

fn run_child(index: usize, runs: usize, row: &Row, broker: &str) -> Value {
    let mut child = Command::new(std::env::current_exe().expect("own path"));
    child
        .args(["--row", &index.to_string(), "--runs", &runs.to_string()])
        .env(MQTT_BROKER_ENV, broker);
    if needs_openvino(row) {
        // ONNX Runtime loads once per process: the row's own process loads
        // the OpenVINO build.
        child.env(
            "ORT_DYLIB_PATH",
            openvino_runtime().expect("checked when choosing rows"),
        );
    }
    let output = child.output().expect("child runs");
    assert!(
        output.status.success(),
        "row {index} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the child prints JSON")
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    gst::init().expect("GStreamer");
    gstdl::plugin_register_static().expect("plugin");
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = arg("--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(if quick { 1 } else { RUNS });
    let known = [
        "--quick",
        "--runs",
        "--launch",
        "--row",
        "--bench",
        "--tracking",
        "--served",
    ];
    if let Some(unknown) = std::env::args()
        .skip(1)
        .find(|a| a.starts_with("--") && !known.contains(&a.as_str()))
    {
        eprintln!("unknown option {unknown}; options: {}", known.join(", "));
        std::process::exit(2);
    }
    let rows = rows();
    if std::env::args().any(|a| a == "--tracking") {
        let media = root().join(".data/media").display().to_string();
        let models = root().join(".data/models").display().to_string();
        println!("{}", tracking::report(runs, &media, &models, CENTERFACE));
        return;
    }
    if std::env::args().any(|a| a == "--served") {
        let measure = |launch: &str, runs: usize| {
            let mut pipeline = LoopedPipeline::new(launch);
            pipeline.run();
            (0..runs).map(|_| pipeline.run().0).collect::<Vec<f64>>()
        };
        println!("{}", served::report(runs, &root(), CENTERFACE, measure));
        return;
    }
    // Ad hoc: one pipeline of your own, measured the same way as the rows.
    if let Some(launch) = arg("--launch") {
        let mut pipeline = LoopedPipeline::new(&expand(&launch));
        warm_up(&mut pipeline);
        // CPU time varies far less than frames/s on a shared machine.
        let cpu_before = process_cpu_seconds();
        let results: Vec<(f64, usize)> = (0..runs).map(|_| pipeline.run()).collect();
        let frames: usize = results.iter().map(|r| r.1).sum();
        let cpu_ms = (process_cpu_seconds() - cpu_before) * 1000.0 / frames.max(1) as f64;
        let fps: Vec<f64> = results.iter().map(|r| r.0).collect();
        let (m, lo, hi) = stats(&fps);
        println!(
            "{m:.1} fps ({lo:.1}-{hi:.1}) over {runs} runs, {cpu_ms:.2} CPU ms/frame: {launch}"
        );
        return;
    }
    if let Some(index) = arg("--row").and_then(|r| r.parse::<usize>().ok()) {
        println!("{}", measure(&rows[index], runs));
        return;
    }
    let selected = selected_rows(&rows, std::env::var(ROWS_FILTER).ok().as_deref());
    let selected: Vec<usize> = if openvino_runtime().is_some() {
        selected
    } else {
        eprintln!(
            "OpenVINO rows left out: the onnxruntime-openvino wheel is not in .venv-openvino (scripts/setup.sh --tests installs it)"
        );
        selected
            .into_iter()
            .filter(|&i| !needs_openvino(&rows[i]))
            .collect()
    };
    let chosen: Vec<&Row> = selected.iter().map(|&i| &rows[i]).collect();
    ensure_int8_models(&chosen);
    let python_names = python_rows_wanted(&chosen, selected.len() == rows.len());
    let (_mosquitto, broker) = Mosquitto::start();
    // Rounds: every row (ours, then the Python loop's) once per round, so a
    // slow spell of a shared machine lands on all rows alike instead of on
    // whichever rows ran during it.
    let started = Instant::now();
    let mut ours: Vec<Value> = Vec::new();
    let mut python: Vec<Value> = Vec::new();
    for round in 0..runs {
        eprintln!("round {} of {runs}", round + 1);
        for (slot, &index) in selected.iter().enumerate() {
            let result = run_child(index, 1, &rows[index], &broker);
            eprintln!("{result}");
            merge_round(&mut ours, slot, result, &["fps", "us"]);
        }
        if python_names.as_ref().is_none_or(|names| !names.is_empty()) {
            for (index, result) in python_round(quick, python_names.as_deref())
                .into_iter()
                .enumerate()
            {
                merge_round(&mut python, index, result, &["runs"]);
            }
        }
    }
    for row in &mut python {
        summarise_python(row);
    }
    let report = render(&chosen, &ours, &python, runs, started.elapsed().as_secs());
    // A subset does not overwrite the full table.
    let out = if selected.len() == rows.len() {
        root().join("BENCHMARKS.md")
    } else {
        root().join("target/BENCHMARKS-subset.md")
    };
    std::fs::write(&out, report).expect("the report is writable");
    eprintln!("wrote {}", out.display());
}

/// `GSTDL_BENCH_ROWS=CenterFace,INT8` measures only the rows whose name
/// contains one of the comma-separated words, with the rows they are
/// compared with (bare runtime, decode only, their Python loop rows), and
/// writes target/BENCHMARKS-subset.md instead of BENCHMARKS.md.
const ROWS_FILTER: &str = "GSTDL_BENCH_ROWS";

fn needs_openvino(row: &Row) -> bool {
    matches!(row, Row::Pipeline { launch, .. } if launch.contains("execution-provider=openvino"))
}

/// The OpenVINO build of libonnxruntime in .venv-openvino, if installed.
fn openvino_runtime() -> Option<PathBuf> {
    let lib = root().join(".venv-openvino/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|python| {
            std::fs::read_dir(python.path().join("site-packages/onnxruntime/capi")).ok()
        })
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
}

fn row_name(row: &Row) -> &'static str {
    match row {
        Row::Bare { name, .. }
        | Row::Pipeline { name, .. }
        | Row::Decode { name, .. }
        | Row::Preprocess { name, .. } => name,
    }
}

/// Indices of the rows to measure, in table order: those the filter names
/// and those they are compared with.
fn selected_rows(rows: &[Row], filter: Option<&str>) -> Vec<usize> {
    let Some(filter) = filter.filter(|f| !f.trim().is_empty()) else {
        return (0..rows.len()).collect();
    };
    let words: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let mut wanted: Vec<&str> = rows
        .iter()
        .map(row_name)
        .filter(|name| words.iter().any(|w| name.contains(w)))
        .collect();
    for row in rows {
        if let Row::Pipeline {
            name, bare, bound, ..
        } = row
            && wanted.contains(name)
        {
            wanted.extend(bare.iter().copied());
            if let Some((decode, model)) = bound {
                wanted.extend([*decode, *model]);
            }
        }
    }
    (0..rows.len())
        .filter(|&i| wanted.contains(&row_name(&rows[i])))
        .collect()
}

/// The Python rows the chosen rows compare with; `None` when all rows run
/// (then every Python row runs, as the full table shows them all).
fn python_rows_wanted(chosen: &[&Row], all: bool) -> Option<Vec<String>> {
    if all {
        return None;
    }
    let mut names = Vec::new();
    for row in chosen {
        match row {
            Row::Pipeline {
                python: Some(python),
                ..
            } => names.push(python.to_string()),
            Row::Preprocess { opencv, .. } => names.push(opencv.to_string()),
            _ => {}
        }
    }
    Some(names)
}

/// INT8 models the chosen rows need, made once into .data/models by
/// scripts/quantize.py (calibrated on the clip each row plays; the held-back
/// frames' accuracy report goes to target/). quantize.py runs gst-launch-1.0
/// with the plugin from target/release or target/debug.
fn ensure_int8_models(chosen: &[&Row]) {
    const INT8: [(&str, &str, &str, &[&str]); 2] = [
        (
            "centerface_int8.onnx",
            "centerface.onnx",
            "bikes.mp4",
            &[
                "--dlinfer",
                CENTERFACE,
                "--frames=40",
                "--holdout=40",
                "--interval=3",
            ],
        ),
        (
            "efficientnet_lite0_int8.onnx",
            "efficientnet_lite0.onnx",
            "bigbuckbunny.mp4",
            &[
                "--dlinfer",
                "scale-mode=center-crop input-mean=127 input-std=128",
                "--check",
                "decoder=classification output-name=logits top-k=1",
                "--check",
                "decoder=features output-name=features",
                "--frames=32",
                "--holdout=32",
                "--interval=2",
            ],
        ),
    ];
    let models = root().join(".data/models");
    for (int8, fp32, clip, args) in INT8 {
        let needed = chosen.iter().any(|row| match row {
            Row::Bare { model, .. } => *model == int8,
            Row::Pipeline { launch, .. } => launch.contains(int8),
            _ => false,
        });
        if !needed || models.join(int8).exists() {
            continue;
        }
        let plugin = ["release", "debug"]
            .map(|build| root().join("target").join(build))
            .into_iter()
            .find(|dir| dir.join("libgstdl.so").exists())
            .expect("INT8 rows need the plugin built for scripts/quantize.py: run `cargo build --lib` first");
        eprintln!("making {int8} with scripts/quantize.py");
        let status = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("scripts/quantize.py"))
            .arg(models.join(fp32))
            .arg(root().join(".data/media").join(clip))
            .arg(models.join(int8))
            .args(args)
            .arg("--report")
            .arg(root().join("target").join(format!("{int8}.report.json")))
            .env("GST_PLUGIN_PATH", plugin)
            .status()
            .expect("the venv's python runs");
        assert!(status.success(), "scripts/quantize.py failed for {int8}");
    }
}

/// One round of the Python baseline, one timed run per row.
fn python_round(quick: bool, only: Option<&[String]>) -> Vec<Value> {
    let json = root().join("target/python_baseline.json");
    let mut python = Command::new(root().join(".venv/bin/python"));
    python
        .arg(root().join("benches/python_baseline.py"))
        .arg("--out")
        .arg(&json)
        .args(["--runs", "1"]);
    if quick {
        python.arg("--quick");
    }
    if let Some(only) = only {
        python.arg("--only").arg(only.join("|"));
    }
    assert!(
        python.status().expect("python runs").success(),
        "the Python baseline failed"
    );
    serde_json::from_str(&std::fs::read_to_string(&json).expect("baseline JSON")).expect("JSON")
}

/// Adds a round's result for row `index`: its per-run lists (`lists`) are
/// appended; peak RSS and others' CPU share keep the worst round.
fn merge_round(rows: &mut Vec<Value>, index: usize, result: Value, lists: &[&str]) {
    if rows.len() <= index {
        rows.push(result);
        return;
    }
    let row = &mut rows[index];
    for list in lists {
        if let (Some(all), Some(more)) = (row[*list].as_array_mut(), result[*list].as_array()) {
            all.extend(more.iter().cloned());
        }
    }
    for worst in ["peak_rss_mb", "other_cpu_share"] {
        let (a, b) = (row[worst].as_f64(), result[worst].as_f64());
        if let (Some(a), Some(b)) = (a, b) {
            row[worst] = json!(a.max(b));
        }
    }
}

/// Median, min and max of a Python row over all rounds.
fn summarise_python(row: &mut Value) {
    let values: Vec<f64> = row["runs"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    if values.is_empty() {
        return;
    }
    let (m, lo, hi) = stats(&values);
    let unit = if row["kind"] == "preprocess" {
        "us"
    } else {
        "fps"
    };
    row[format!("{unit}_median")] = json!(m);
    row[format!("{unit}_min")] = json!(lo);
    row[format!("{unit}_max")] = json!(hi);
}

fn stats(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (median(values), min, max)
}

fn python_row<'a>(python: &'a [Value], name: &str) -> Option<&'a Value> {
    python.iter().find(|r| {
        r["name"]
            .as_str()
            .is_some_and(|n| n == name || n.starts_with(&format!("{name} (")))
    })
}

fn ours_fps(ours: &[Value], name: &str) -> Option<f64> {
    ours.iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["fps"].as_array())
        .map(|v| median(&v.iter().filter_map(Value::as_f64).collect::<Vec<_>>()))
}

/// The share of the CPU other processes took while a row ran, flagged when
/// it is enough to skew the row.
fn others_cpu(row: &Value) -> String {
    match row["other_cpu_share"].as_f64() {
        Some(share) if share > 0.05 => format!("**{:.0}%**", share * 100.0),
        Some(share) => format!("{:.0}%", share * 100.0),
        None => String::new(),
    }
}

/// The CPU-work bound: decoding every frame and inferring every
/// `interval`-th, one after the other on the same cores.
fn cpu_work_bound(decode_fps: f64, model_fps: f64, interval: usize) -> f64 {
    1.0 / (1.0 / decode_fps + 1.0 / (interval as f64 * model_fps))
}

fn inference_interval(launch: &str) -> usize {
    launch
        .split_whitespace()
        .find_map(|p| p.strip_prefix("inference-interval="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Each INT8 row against the same row with the FP32 model.
fn int8_section(rows: &[&Row], ours: &[Value]) -> String {
    let mut lines = String::new();
    for row in rows {
        let name = row_name(row);
        if !name.contains(" INT8") {
            continue;
        }
        let fp32 = name.replace(" INT8", "");
        if let (Some(int8_fps), Some(fp32_fps)) = (ours_fps(ours, name), ours_fps(ours, &fp32)) {
            lines.push_str(&format!(
                "| {fp32} | {fp32_fps:.1} | {int8_fps:.1} | {:.2}x |\n",
                int8_fps / fp32_fps
            ));
        }
    }
    if lines.is_empty() {
        return lines;
    }
    format!(
        "\n## INT8 against FP32 (static QDQ models from scripts/quantize.py, weights int8 per channel, activations uint8)\n\n| row | FP32 frames/s | INT8 frames/s | speed-up |\n|---|---|---|---|\n{lines}"
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // INT8 speed-ups depend on it: VNNI multiplies int8 in one instruction.
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let vnni = ["avx512_vnni", "avx_vnni"]
        .into_iter()
        .find(|flag| flags.split_whitespace().any(|f| f == *flag))
        .map_or("without VNNI".to_string(), |flag| {
            format!("with VNNI ({flag})")
        });
    format!("{cpu}, {cores} cores, {vnni}")
}

fn render(rows: &[&Row], ours: &[Value], python: &[Value], runs: usize, seconds: u64) -> String {
    let mut md = String::new();
    md.push_str("# Benchmarks\n\nWritten by `cargo bench --bench benchmarks` (see `benches/benchmarks.rs`); every figure below comes from one run of it.\n\n");
    md.push_str(&format!(
        "- Machine: {}; ONNX Runtime 1.31.1 (CPU wheel), default threads (one per core); release build.\n- Medians of {runs} runs (min-max), each after an untimed warm-up (a pipeline plays at least one pass and 2 s, so spin=auto has decided: it measures for about a second), in {runs} rounds: each round runs every row once, ours and the Python loop's, each in a process of its own, so a slow spell of the (shared, virtual) machine falls on all rows alike; peak RSS and others' CPU are the worst round's. The run took {seconds} s.\n- A pipeline row keeps its pipeline open and plays the clip again with a flushing seek for each run, so the model loads once, in the warm-up, as the Python loop opens its session once before timing.\n- fps counts every frame that reaches the sink (or is decoded, for the Python loop), inferred or not.\n- others' CPU: the share of the machine's CPU time that other processes (or the hypervisor) took while the row ran; above 5% (bold) the row did not have the machine to itself and reads low.\n\n",
        machine()
    ));
    md.push_str("- vs CPU-work bound: the row against 1 / (1/decode-only fps + 1/(N x bare runtime fps)) at inference-interval N, both measured in this run (in brackets): on these cores the decoder and the model take turns, so this, not bare runtime fps, is the most a pipeline can reach.\n\n");
    md.push_str("| row | frames/s median (min-max) | vs bare runtime | vs CPU-work bound | vs Python loop | peak RSS | others' CPU |\n|---|---|---|---|---|---|---|\n");
    for (row, result) in rows.iter().zip(ours) {
        let (name, bare, python_name, bound, launch) = match row {
            Row::Bare { name, .. } => (*name, None, None, None, ""),
            Row::Pipeline {
                name,
                bare,
                python,
                bound,
                launch,
            } => (*name, *bare, *python, *bound, *launch),
            Row::Preprocess { .. } | Row::Decode { .. } => continue,
        };
        let fps: Vec<f64> = result["fps"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let (m, lo, hi) = stats(&fps);
        let vs_bare = bare
            .and_then(|b| ours_fps(ours, b))
            .map_or("".to_string(), |b| format!("{:.2}", m / b));
        let vs_bound = bound
            .and_then(|(decode, model)| Some((ours_fps(ours, decode)?, ours_fps(ours, model)?)))
            .map_or(String::new(), |(decode, model)| {
                let limit = cpu_work_bound(decode, model, inference_interval(launch));
                format!("{:.2} ({limit:.1})", m / limit)
            });
        let python_fps = python_name
            .and_then(|p| python_row(python, p))
            .and_then(|r| r["fps_median"].as_f64());
        let vs_python = python_fps.map_or("".to_string(), |p| format!("{:.2}x ({p:.1})", m / p));
        md.push_str(&format!(
            "| {name} | {m:.1} ({lo:.1}-{hi:.1}) | {vs_bare} | {vs_bound} | {vs_python} | {:.0} MiB | {} |\n",
            result["peak_rss_mb"].as_f64().unwrap_or(0.0),
            others_cpu(result)
        ));
    }
    md.push_str(&int8_section(rows, ours));
    md.push_str("\n## What users write instead (Python: OpenCV + ONNX Runtime)\n\n| row | frames/s median (min-max) | peak RSS | others' CPU |\n|---|---|---|---|\n");
    for row in python.iter().filter(|r| r["kind"] != "preprocess") {
        md.push_str(&format!(
            "| {} | {:.1} ({:.1}-{:.1}) | {:.0} MiB | {} |\n",
            row["name"].as_str().unwrap_or(""),
            row["fps_median"].as_f64().unwrap_or(0.0),
            row["fps_min"].as_f64().unwrap_or(0.0),
            row["fps_max"].as_f64().unwrap_or(0.0),
            row["peak_rss_mb"].as_f64().unwrap_or(0.0),
            others_cpu(row)
        ));
    }
    if !rows.iter().any(|row| matches!(row, Row::Decode { .. })) {
        return md; // a subset without the decoding and preprocessing rows
    }
    md.push_str("\n## Decoding alone (µs per frame, one thread; synthetic YOLOv8-family outputs of a 640x640 input, 8400 anchors, onto a letterboxed 1280x720 frame; masks at frame resolution)\n\n| row | median (min-max) |\n|---|---|\n");
    for (row, result) in rows.iter().zip(ours) {
        let Row::Decode { name, .. } = row else {
            continue;
        };
        let us: Vec<f64> = result["us"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let (m, lo, hi) = stats(&us);
        md.push_str(&format!("| {name} | {m:.0} ({lo:.0}-{hi:.0}) |\n"));
    }
    md.push_str("\n## Preprocessing alone (µs per frame, one thread; RGB, ImageNet mean/std, stretch, bilinear)\n\n| conversion | gst-dl median (min-max) | OpenCV + NumPy | OpenCV blobFromImage | gst-dl speed-up |\n|---|---|---|---|---|\n");
    for (row, result) in rows.iter().zip(ours) {
        let Row::Preprocess { name, opencv, .. } = row else {
            continue;
        };
        let us: Vec<f64> = result["us"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let (m, lo, hi) = stats(&us);
        let numpy =
            python_row(python, &format!("{opencv} (numpy)")).and_then(|r| r["us_median"].as_f64());
        let blob = python_row(python, &format!("{opencv} (blobFromImage)"))
            .and_then(|r| r["us_median"].as_f64());
        let best = [numpy, blob]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
        md.push_str(&format!(
            "| {} | {m:.0} ({lo:.0}-{hi:.0}) | {} | {} | {} |\n",
            name.trim_start_matches("gst-dl preprocess "),
            numpy.map_or("".into(), |v| format!("{v:.0}")),
            blob.map_or("".into(), |v| format!("{v:.0}")),
            if best.is_finite() {
                format!("{:.1}x", best / m)
            } else {
                String::new()
            }
        ));
    }
    md
}

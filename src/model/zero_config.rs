//! Zero-config: the settings a model can decide for itself, each decided
//! once at start from the best source there is. What the user set always
//! wins; then what the file's metadata says ([`ModelMetadata`]); then what
//! the declared shapes say; then the built-in default. Every decision
//! carries its [`Source`] and a sentence of why, for the debug log and the
//! `model-info` property.

use std::fmt;
use std::path::Path;

use serde_json::json;

use super::ModelInfo;
use super::image_input::ImageInput;
use super::metadata::ModelMetadata;
use crate::decode::{self, DeclaredOutput, DecoderKind, KeypointShape};
use crate::preprocess::ScaleMode;

/// Where a decided setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A property the user set.
    Property,
    /// The model file's `metadata_props`.
    ModelMetadata,
    /// The model's declared output shapes.
    OutputShapes,
    /// The model's declared input shape.
    InputShape,
    /// The built-in default.
    Default,
}

impl Source {
    /// The name logs and `model-info` use.
    pub fn name(self) -> &'static str {
        match self {
            Source::Property => "property",
            Source::ModelMetadata => "model metadata",
            Source::OutputShapes => "output shapes",
            Source::InputShape => "input shape",
            Source::Default => "default",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A setting with where it came from and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided<T> {
    /// The value in use.
    pub value: T,
    /// Where it came from.
    pub source: Source,
    /// One sentence for the log.
    pub why: String,
}

impl<T> Decided<T> {
    fn new(value: T, source: Source, why: impl Into<String>) -> Self {
        Decided {
            value,
            source,
            why: why.into(),
        }
    }
}

/// What the user set of the settings a model can decide (`None`: not set).
#[derive(Debug, Clone, Default)]
pub struct UserChoices<'a> {
    /// `decoder` (auto: `None`).
    pub decoder: Option<DecoderKind>,
    /// `labels-file`, with its lines.
    pub labels: Option<(&'a Path, Vec<String>)>,
    /// `scale-mode`, when set.
    pub scale_mode: Option<ScaleMode>,
    /// `input-width`, `input-height` (0 is not set).
    pub input_size: (Option<usize>, Option<usize>),
}

/// Ultralytics' `task` values and the decoders that read them.
pub const TASKS: &[(&str, &str)] = &[
    ("detect", "yolov8"),
    ("segment", "yolov8seg"),
    ("pose", "yolov8pose"),
    ("obb", "yolov8obb"),
    ("classify", "classification"),
];

/// Every setting decided at start.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroConfig {
    /// The decoder.
    pub decoder: Decided<DecoderKind>,
    /// Class names by id (empty: ids are their own names).
    pub labels: Decided<Vec<String>>,
    /// The input size asked of a dynamic input (`None`: the frame's size
    /// rounded up); fixed dims are the model's whatever this says.
    pub input_size: Decided<(Option<usize>, Option<usize>)>,
    /// How frames are fitted into the input.
    pub scale_mode: Decided<ScaleMode>,
    /// Keypoints per instance, for the pose decoder.
    pub keypoints: Option<Decided<KeypointShape>>,
}

/// Decides every setting for `info`'s model (`model` names it in errors).
///
/// # Errors
///
/// A sentence with the cause and the fix: metadata that cannot be parsed
/// (quoted), a `task` no decoder reads (naming the supported ones), a
/// decoder that does not fit the outputs, labels whose count is not the
/// model's class count, a `kpt_shape` that does not fit the output.
pub fn decide(
    user: UserChoices<'_>,
    info: &ModelInfo,
    input: &ImageInput,
    model: &Path,
) -> Result<ZeroConfig, String> {
    let metadata = ModelMetadata::from_props(&info.metadata)
        .map_err(|e| format!("Model {}: {e}", model.display()))?;
    let declared: Vec<DeclaredOutput> = info
        .outputs
        .iter()
        .map(|o| DeclaredOutput {
            name: o.name.clone(),
            shape: o.shape.clone(),
        })
        .collect();
    let decoder = decide_decoder(user.decoder, &metadata, &declared, info, model)?;
    let keypoints = decide_keypoints(decoder.value, &metadata, &declared, model)?;
    let classes = match &keypoints {
        Some(keypoints) => decode::pose_classes(&declared, keypoints.value),
        None => decode::num_classes(decoder.value, &declared),
    };
    let labels = decide_labels(user.labels, &metadata, classes, model)?;
    let input_size = decide_input_size(user.input_size, &metadata, input);
    let scale_mode = match user.scale_mode {
        Some(mode) => Decided::new(mode, Source::Property, "scale-mode is set"),
        None if metadata.ultralytics && metadata.task.as_deref() == Some("classify") => {
            Decided::new(
                ScaleMode::CenterCrop,
                Source::ModelMetadata,
                "an Ultralytics classifier is trained on centre crops; set scale-mode to override",
            )
        }
        None if metadata.ultralytics => Decided::new(
            ScaleMode::Letterbox,
            Source::ModelMetadata,
            "an Ultralytics export is trained on letterboxed frames (grey 114 borders); set scale-mode to override",
        ),
        None => Decided::new(ScaleMode::Stretch, Source::Default, "the default"),
    };
    Ok(ZeroConfig {
        decoder,
        labels,
        input_size,
        scale_mode,
        keypoints,
    })
}

fn decide_decoder(
    user: Option<DecoderKind>,
    metadata: &ModelMetadata,
    declared: &[DeclaredOutput],
    info: &ModelInfo,
    model: &Path,
) -> Result<Decided<DecoderKind>, String> {
    let does_not_fit = |kind: DecoderKind, because: &str, e: decode::DecodeError| {
        format!(
            "decoder={}{because} does not fit model {} (outputs: {}): {e}",
            kind.name(),
            model.display(),
            info.outputs_text()
        )
    };
    if let Some(kind) = user {
        decode::validate_decoder(kind, declared).map_err(|e| does_not_fit(kind, "", e))?;
        return Ok(Decided::new(kind, Source::Property, "decoder is set"));
    }
    if let Some(task) = &metadata.task {
        let Some(&(_, name)) = TASKS.iter().find(|(t, _)| t == task) else {
            let supported: Vec<&str> = TASKS.iter().map(|(t, _)| *t).collect();
            return Err(format!(
                "Model {} says task='{task}' in its metadata, which no decoder reads (supported tasks: {}); \
                 set decoder= to read its outputs another way",
                model.display(),
                supported.join(", ")
            ));
        };
        let kind = DecoderKind::from_name(name)
            .ok_or_else(|| format!("decoder {name} for task '{task}' is not registered (a bug)"))?;
        decode::validate_decoder(kind, declared).map_err(|e| {
            does_not_fit(
                kind,
                &format!(" (task='{task}' in the model's metadata)"),
                e,
            ) + "; set decoder= to read them another way"
        })?;
        return Ok(Decided::new(
            kind,
            Source::ModelMetadata,
            format!("the model's metadata says task='{task}'; set decoder to override"),
        ));
    }
    let (kind, why) = decode::choose_decoder(declared).map_err(|e| {
        format!(
            "decoder=auto cannot tell how to read model {} (outputs: {}): {e}; set decoder explicitly",
            model.display(),
            info.outputs_text()
        )
    })?;
    Ok(Decided::new(kind, Source::OutputShapes, why))
}

fn decide_keypoints(
    decoder: DecoderKind,
    metadata: &ModelMetadata,
    declared: &[DeclaredOutput],
    model: &Path,
) -> Result<Option<Decided<KeypointShape>>, String> {
    if !decode::reads_keypoints(decoder) {
        return Ok(None);
    }
    let classes = metadata.names.as_ref().map(Vec::len);
    match metadata.kpt_shape {
        Some((count, dims)) => {
            let shape = KeypointShape { count, dims };
            decode::check_keypoints(declared, shape, classes).map_err(|why| {
                format!(
                    "Model {}: kpt_shape=[{count}, {dims}] in its metadata does not fit its output: {why}; \
                     fix kpt_shape in the model",
                    model.display()
                )
            })?;
            Ok(Some(Decided::new(
                shape,
                Source::ModelMetadata,
                format!("kpt_shape=[{count}, {dims}]"),
            )))
        }
        None => Ok(decode::guess_keypoints(declared).map(|shape| {
            Decided::new(
                shape,
                Source::OutputShapes,
                format!(
                    "one class and {} keypoints of {} values fill the output",
                    shape.count, shape.dims
                ),
            )
        })),
    }
}

fn decide_labels(
    user: Option<(&Path, Vec<String>)>,
    metadata: &ModelMetadata,
    classes: Option<usize>,
    model: &Path,
) -> Result<Decided<Vec<String>>, String> {
    if let Some((path, labels)) = user {
        if let Some(classes) = classes {
            super::labels::check_label_count(&labels, classes, path)?;
        }
        let why = format!("labels-file={}", path.display());
        return Ok(Decided::new(labels, Source::Property, why));
    }
    if let (Some(names), Some(key)) = (&metadata.names, metadata.names_key) {
        if let Some(classes) = classes
            && names.len() != classes
        {
            return Err(format!(
                "Model {}: its metadata key '{key}' has {} labels but the model outputs {classes} classes; \
                 give one label per class, in class-id order (set labels-file to override)",
                model.display(),
                names.len()
            ));
        }
        let why = format!(
            "{} names from the model's metadata key '{key}'",
            names.len()
        );
        return Ok(Decided::new(names.clone(), Source::ModelMetadata, why));
    }
    Ok(Decided::new(
        Vec::new(),
        Source::Default,
        "no labels: class ids are their names; set labels-file",
    ))
}

fn decide_input_size(
    user: (Option<usize>, Option<usize>),
    metadata: &ModelMetadata,
    input: &ImageInput,
) -> Decided<(Option<usize>, Option<usize>)> {
    if user.0.is_some() || user.1.is_some() {
        return Decided::new(user, Source::Property, "input-width/input-height are set");
    }
    if let (Some(width), Some(height)) = (input.width, input.height) {
        return Decided::new(
            (Some(width), Some(height)),
            Source::InputShape,
            format!("the model's input is fixed at {width}x{height}"),
        );
    }
    if let Some((width, height)) = metadata.input_size {
        let size = (input.width.or(Some(width)), input.height.or(Some(height)));
        return Decided::new(
            size,
            Source::ModelMetadata,
            format!("imgsz in the model's metadata sizes its dynamic input at {width}x{height}"),
        );
    }
    Decided::new(
        (input.width, input.height),
        Source::Default,
        "a dynamic input takes the frame size rounded up to a multiple of 32",
    )
}

fn scale_mode_name(mode: ScaleMode) -> &'static str {
    match mode {
        ScaleMode::Stretch => "stretch",
        ScaleMode::Letterbox => "letterbox",
        ScaleMode::CenterCrop => "center-crop",
    }
}

impl ZeroConfig {
    /// One line per decision: the setting, its value, its source and why.
    pub fn log_lines(&self) -> Vec<String> {
        let size = |(w, h): (Option<usize>, Option<usize>)| {
            let dim = |d: Option<usize>| d.map_or_else(|| "frame".to_string(), |d| d.to_string());
            format!("{}x{}", dim(w), dim(h))
        };
        let mut lines = vec![
            format!(
                "decoder={} (from {}: {})",
                self.decoder.value.name(),
                self.decoder.source,
                self.decoder.why
            ),
            format!(
                "labels: {} (from {}: {})",
                self.labels.value.len(),
                self.labels.source,
                self.labels.why
            ),
            format!(
                "input size {} (from {}: {})",
                size(self.input_size.value),
                self.input_size.source,
                self.input_size.why
            ),
            format!(
                "scale-mode={} (from {}: {})",
                scale_mode_name(self.scale_mode.value),
                self.scale_mode.source,
                self.scale_mode.why
            ),
        ];
        if let Some(keypoints) = &self.keypoints {
            lines.push(format!(
                "keypoints {}x{} (from {}: {})",
                keypoints.value.count, keypoints.value.dims, keypoints.source, keypoints.why
            ));
        }
        lines
    }

    /// The `model-info` property's JSON: inputs, outputs, metadata, and
    /// each decision with its source.
    pub fn model_info_json(&self, info: &ModelInfo) -> String {
        let tensors = |list: &[super::TensorInfo]| {
            list.iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "shape": t.shape,
                        "type": match &t.element {
                            super::ElementType::F32 => "float32".to_string(),
                            super::ElementType::U8 => "uint8".to_string(),
                            super::ElementType::Other(other) => other.clone(),
                        },
                    })
                })
                .collect::<Vec<_>>()
        };
        let (width, height) = self.input_size.value;
        let mut value = json!({
            "inputs": tensors(&info.inputs),
            "outputs": tensors(&info.outputs),
            "metadata": info.metadata,
            "decoder": {"name": self.decoder.value.name(), "source": self.decoder.source.name()},
            "labels": {"count": self.labels.value.len(), "source": self.labels.source.name()},
            "input-size": {"width": width, "height": height, "source": self.input_size.source.name()},
            "scale-mode": {"name": scale_mode_name(self.scale_mode.value), "source": self.scale_mode.source.name()},
        });
        if let Some(keypoints) = &self.keypoints {
            value["keypoints"] = json!({
                "count": keypoints.value.count,
                "dims": keypoints.value.dims,
                "source": keypoints.source.name(),
            });
        }
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{ElementType, TensorInfo};
    use crate::preprocess::TensorLayout;

    fn info(outputs: &[(&str, &[usize])], metadata: &[(&str, &str)]) -> ModelInfo {
        ModelInfo {
            inputs: vec![TensorInfo {
                name: "images".into(),
                element: ElementType::F32,
                shape: vec![Some(1), Some(3), None, None],
            }],
            outputs: outputs
                .iter()
                .map(|(name, shape)| TensorInfo {
                    name: (*name).into(),
                    element: ElementType::F32,
                    shape: shape.iter().copied().map(Some).collect(),
                })
                .collect(),
            overridable_initializers: 0,
            metadata: metadata
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn input(fixed: Option<usize>) -> ImageInput {
        ImageInput {
            name: "images".into(),
            element: crate::model::InputElement::F32,
            layout: TensorLayout::Nchw,
            batch: Some(1),
            height: fixed,
            width: fixed,
        }
    }

    const ULTRALYTICS: &[(&str, &str)] = &[
        ("author", "Ultralytics"),
        ("task", "detect"),
        ("names", "{0: 'background', 1: 'square', 2: 'circle'}"),
        ("imgsz", "[320, 416]"),
        ("stride", "32"),
    ];

    fn model() -> &'static Path {
        Path::new("m.onnx")
    }

    #[test]
    fn an_ultralytics_export_decides_everything() {
        let info = info(&[("output0", &[1, 7, 3])], ULTRALYTICS);
        let decided = decide(UserChoices::default(), &info, &input(None), model()).unwrap();
        assert_eq!(decided.decoder.value.name(), "yolov8");
        assert_eq!(decided.decoder.source, Source::ModelMetadata);
        assert_eq!(decided.labels.value, ["background", "square", "circle"]);
        assert_eq!(decided.labels.source, Source::ModelMetadata);
        assert_eq!(decided.input_size.value, (Some(416), Some(320)));
        assert_eq!(decided.input_size.source, Source::ModelMetadata);
        assert_eq!(decided.scale_mode.value, ScaleMode::Letterbox);
        assert_eq!(decided.scale_mode.source, Source::ModelMetadata);
        let json: serde_json::Value =
            serde_json::from_str(&decided.model_info_json(&info)).unwrap();
        assert_eq!(json["decoder"]["name"], "yolov8");
        assert_eq!(json["decoder"]["source"], "model metadata");
        assert_eq!(json["labels"]["count"], 3);
        assert_eq!(json["input-size"]["width"], 416);
        assert_eq!(json["scale-mode"]["name"], "letterbox");
        assert_eq!(json["outputs"][0]["shape"], json!([1, 7, 3]));
        assert_eq!(decided.log_lines().len(), 4);
    }

    #[test]
    fn what_the_user_sets_wins() {
        let info = info(&[("output0", &[1, 7, 3])], ULTRALYTICS);
        let labels = vec!["a".to_string(), "b".into(), "c".into()];
        let user = UserChoices {
            decoder: DecoderKind::from_name("yolo11"),
            labels: Some((Path::new("l.txt"), labels.clone())),
            scale_mode: Some(ScaleMode::Stretch),
            input_size: (Some(64), None),
        };
        let decided = decide(user, &info, &input(None), model()).unwrap();
        assert_eq!(decided.decoder.value.name(), "yolov8");
        assert_eq!(decided.decoder.source, Source::Property);
        assert_eq!(decided.labels.value, labels);
        assert_eq!(decided.scale_mode.value, ScaleMode::Stretch);
        assert_eq!(decided.scale_mode.source, Source::Property);
        assert_eq!(decided.input_size.value, (Some(64), None));
    }

    #[test]
    fn without_metadata_the_shapes_and_defaults_decide() {
        let info = info(&[("output0", &[1, 7, 3])], &[]);
        let decided = decide(UserChoices::default(), &info, &input(Some(320)), model()).unwrap();
        assert_eq!(decided.decoder.source, Source::OutputShapes);
        assert_eq!(decided.labels.source, Source::Default);
        assert!(decided.labels.value.is_empty());
        assert_eq!(decided.input_size.source, Source::InputShape);
        assert_eq!(decided.scale_mode.value, ScaleMode::Stretch);
        assert_eq!(decided.scale_mode.source, Source::Default);
    }

    #[test]
    fn an_ultralytics_classifier_is_centre_cropped() {
        let info = info(
            &[("output0", &[1, 3])],
            &[
                ("author", "Ultralytics"),
                ("task", "classify"),
                ("names", "{0: 'a', 1: 'b', 2: 'c'}"),
            ],
        );
        let decided = decide(UserChoices::default(), &info, &input(Some(224)), model()).unwrap();
        assert_eq!(decided.decoder.value.name(), "classification");
        assert_eq!(decided.labels.value, ["a", "b", "c"]);
        assert_eq!(decided.scale_mode.value, ScaleMode::CenterCrop);
        assert_eq!(decided.scale_mode.source, Source::ModelMetadata);
    }

    #[test]
    fn bad_metadata_gets_a_clear_error() {
        let unknown_task = info(&[("output0", &[1, 7, 3])], &[("task", "depth")]);
        let err = decide(UserChoices::default(), &unknown_task, &input(None), model()).unwrap_err();
        assert!(
            err.contains("task='depth'") && err.contains("detect, segment, pose, obb, classify"),
            "{err}"
        );
        let bad_names = info(&[("output0", &[1, 7, 3])], &[("names", "{0: 'a', 1: b}")]);
        let err = decide(UserChoices::default(), &bad_names, &input(None), model()).unwrap_err();
        assert!(err.contains("{0: 'a', 1: b}"), "{err}");
        let two_names = info(&[("output0", &[1, 7, 3])], &[("names", "{0: 'a', 1: 'b'}")]);
        let err = decide(UserChoices::default(), &two_names, &input(None), model()).unwrap_err();
        assert!(
            err.contains("has 2 labels but the model outputs 3 classes"),
            "{err}"
        );
        let pose = info(
            &[("output0", &[1, 56, 3])],
            &[
                ("task", "pose"),
                ("kpt_shape", "[16, 3]"),
                ("names", "{0: 'person'}"),
            ],
        );
        let err = decide(UserChoices::default(), &pose, &input(None), model()).unwrap_err();
        assert!(err.contains("kpt_shape=[16, 3]"), "{err}");
    }
}

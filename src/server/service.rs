//! Services: what `PUT /services/{name}` asks for, read and checked, and
//! the element properties its `parameters` set.
//!
//! The decoder and preprocessing come from the model (dlinfer's
//! `decoder=auto` and its defaults); `parameters.mllib` and
//! `parameters.input` override them, key by key (see [`PROPERTY_KEYS`]).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::dd::DdError;

/// `parameters.mllib` keys and the element properties they set. The first
/// group belongs to dlinfer, the second to dltransform, the third to both;
/// a key an element lacks is left out when that element runs.
pub const PROPERTY_KEYS: &[(&str, &str)] = &[
    // dlinfer
    ("decoder", "decoder"),
    ("iou_threshold", "iou-threshold"),
    ("max_detections", "max-detections"),
    ("top_k", "top-k"),
    ("softmax", "softmax"),
    ("normalize", "normalize"),
    ("inference_interval", "inference-interval"),
    ("async_inference", "async-inference"),
    // dltransform
    ("output_scale", "output-scale"),
    ("output_offset", "output-offset"),
    ("output_color", "output-color"),
    ("normalize_output", "normalize-output"),
    ("mask_mode", "mask-mode"),
    ("background_color", "background-color"),
    ("tile_size", "tile-size"),
    ("tile_overlap", "tile-overlap"),
    // both
    ("input_mean", "input-mean"),
    ("input_std", "input-std"),
    ("input_width", "input-width"),
    ("input_height", "input-height"),
    ("input_color", "input-color"),
    ("input_layout", "input-layout"),
    ("scale_mode", "scale-mode"),
    ("output_name", "output-name"),
    ("batch_size", "batch-size"),
    ("threads", "threads"),
    ("spin", "spin"),
    ("execution_provider", "execution-provider"),
];

/// `parameters.input` keys of DeepDetect's image connector and the
/// properties they set.
pub const INPUT_KEYS: &[(&str, &str)] = &[
    ("width", "input-width"),
    ("height", "input-height"),
    ("mean", "input-mean"),
    ("std", "input-std"),
];

/// DeepDetect `parameters.mllib` keys that mean nothing to ONNX Runtime and
/// are accepted without effect, so existing calls keep working.
const IGNORED_MLLIB_KEYS: &[&str] = &["nclasses", "template", "gpuid", "datatype", "net", "solver"];

/// Property settings, in the order given: (property name, value as text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides(pub Vec<(String, String)>);

impl Overrides {
    /// Reads `parameters.input` and `parameters.mllib` of a service or a call.
    pub fn from_parameters(parameters: Option<&Value>) -> Result<Self, DdError> {
        let mut overrides = Overrides::default();
        let Some(parameters) = parameters else {
            return Ok(overrides);
        };
        let parameters = object(parameters, "parameters")?;
        if let Some(input) = parameters.get("input") {
            for (key, value) in object(input, "parameters.input")? {
                if let Some((_, property)) = INPUT_KEYS.iter().find(|(k, _)| k == key) {
                    overrides.set(
                        property,
                        value_text(value, &format!("parameters.input.{key}"))?,
                    );
                } else if key == "bgr" {
                    let bgr = value.as_bool().ok_or_else(|| {
                        DdError::service_bad_request("parameters.input.bgr must be true or false")
                    })?;
                    overrides.set("input-color", if bgr { "bgr" } else { "rgb" }.into());
                }
                // Other connector keys (connector, ...) are not element settings.
            }
        }
        if let Some(mllib) = parameters.get("mllib") {
            for (key, value) in object(mllib, "parameters.mllib")? {
                if let Some((_, property)) = PROPERTY_KEYS.iter().find(|(k, _)| k == key) {
                    overrides.set(
                        property,
                        value_text(value, &format!("parameters.mllib.{key}"))?,
                    );
                } else if key == "gpu" {
                    if value.as_bool() == Some(true) {
                        overrides.set("execution-provider", "cuda".into());
                    }
                } else if key != "extract_layer" && !IGNORED_MLLIB_KEYS.contains(&key.as_str()) {
                    let known: Vec<&str> = PROPERTY_KEYS.iter().map(|(k, _)| *k).collect();
                    return Err(DdError::service_bad_request(format!(
                        "parameters.mllib.{key} is not a setting gst-dl knows; the known ones are extract_layer, gpu, {}",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(overrides)
    }

    fn set(&mut self, property: &str, text: String) {
        self.0.retain(|(p, _)| p != property);
        self.0.push((property.to_owned(), text));
    }

    /// These settings with `later`'s on top.
    pub fn merged(&self, later: &Overrides) -> Overrides {
        let mut merged = self.clone();
        for (property, text) in &later.0 {
            merged.set(property, text.clone());
        }
        merged
    }

    /// The value set for `property`, if any.
    pub fn get(&self, property: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| p == property)
            .map(|(_, t)| t.as_str())
    }
}

fn object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, DdError> {
    value
        .as_object()
        .ok_or_else(|| DdError::bad_request(format!("{name} must be an object")))
}

/// A JSON value as the text GStreamer deserialises: numbers and booleans as
/// written, strings as they are, an array of numbers joined by commas
/// (`input_mean: [123.7, 116.3, 103.5]`).
fn value_text(value: &Value, name: &str) -> Result<String, DdError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_number) => Ok(items
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")),
        _ => Err(DdError::service_bad_request(format!(
            "{name} must be a string, a number, true/false or a list of numbers"
        ))),
    }
}

/// `extract_layer` in `parameters.mllib`, if set.
pub fn extract_layer(parameters: Option<&Value>) -> Option<String> {
    parameters?
        .get("mllib")?
        .get("extract_layer")?
        .as_str()
        .map(str::to_owned)
}

/// A service as created.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub description: String,
    /// `video` or `image`.
    pub connector: String,
    /// The resolved repository directory.
    pub repository: PathBuf,
    /// The model in it.
    pub model: PathBuf,
    /// Class names, written where dlinfer's `labels-file` reads them.
    pub labels_file: Option<PathBuf>,
    /// Settings from the service's `parameters`.
    pub overrides: Overrides,
    /// `parameters.mllib.extract_layer` of the service.
    pub extract_layer: Option<String>,
    /// The `parameters` as given, echoed by `GET /services/{name}`.
    pub parameters: Value,
    /// Distinct for each creation, so a resource's pipeline built for an
    /// earlier service of the same name is not reused.
    pub generation: u64,
}

/// What `PUT /services/{name}` asks for, checked, before any file is touched.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRequest {
    pub description: String,
    pub repository: String,
    pub connector: String,
    pub overrides: Overrides,
    pub extract_layer: Option<String>,
    pub parameters: Value,
}

impl ServiceRequest {
    /// Reads the body of `PUT /services/{name}`.
    pub fn from_json(body: &Value) -> Result<Self, DdError> {
        let body = object(body, "the request body")?;
        let mllib = body.get("mllib").and_then(Value::as_str).ok_or_else(|| {
            DdError::service_bad_request("\"mllib\" is missing; gst-dl runs \"onnx\"")
        })?;
        if mllib != "onnx" {
            return Err(DdError::unknown_library(mllib));
        }
        let repository = body
            .get("model")
            .and_then(|m| m.get("repository"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                DdError::service_bad_request(
                    "\"model.repository\" is missing: the directory holding the .onnx model",
                )
            })?
            .to_owned();
        if body.get("model").and_then(|m| m.get("init")).is_some() {
            return Err(DdError::service_bad_request(
                "\"model.init\" (downloading a model) is not supported; put the .onnx file in model.repository",
            ));
        }
        let parameters = body
            .get("parameters")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let connector = parameters
            .get("input")
            .and_then(|i| i.get("connector"))
            .and_then(Value::as_str)
            .unwrap_or("video")
            .to_owned();
        if connector != "video" && connector != "image" {
            return Err(DdError::service_bad_request(format!(
                "parameters.input.connector {connector:?}: gst-dl serves \"video\" (and \"image\", its equivalent here)"
            )));
        }
        Ok(ServiceRequest {
            description: body
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            repository,
            connector,
            overrides: Overrides::from_parameters(Some(&parameters))?,
            extract_layer: extract_layer(Some(&parameters)),
            parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_service_is_read() {
        let request = ServiceRequest::from_json(&json!({
            "description": "image detection service",
            "mllib": "onnx",
            "model": {"repository": "/opt/models/detection"},
            "parameters": {"input": {"connector": "video"}},
            "type": "supervised"
        }))
        .unwrap();
        assert_eq!(request.repository, "/opt/models/detection");
        assert_eq!(request.connector, "video");
        assert_eq!(request.overrides, Overrides::default());
        assert_eq!(request.extract_layer, None);
    }

    #[test]
    fn caffe_and_missing_repository_are_refused() {
        let e =
            ServiceRequest::from_json(&json!({"mllib": "caffe", "model": {"repository": "/x"}}))
                .unwrap_err();
        assert_eq!(e.dd_code, 1000);
        let e = ServiceRequest::from_json(&json!({"mllib": "onnx"})).unwrap_err();
        assert!(e.dd_msg.contains("model.repository"));
    }

    #[test]
    fn parameters_become_element_properties() {
        let overrides = Overrides::from_parameters(Some(&json!({
            "input": {"connector": "video", "width": 320, "mean": [1, 2.5, 3], "bgr": true},
            "mllib": {"decoder": "centerface", "input_std": 1, "iou_threshold": 0.3, "gpu": true,
                      "extract_layer": "last", "nclasses": 2}
        })))
        .unwrap();
        assert_eq!(overrides.get("input-width"), Some("320"));
        assert_eq!(overrides.get("input-mean"), Some("1,2.5,3"));
        assert_eq!(overrides.get("input-color"), Some("bgr"));
        assert_eq!(overrides.get("decoder"), Some("centerface"));
        assert_eq!(overrides.get("input-std"), Some("1"));
        assert_eq!(overrides.get("iou-threshold"), Some("0.3"));
        assert_eq!(overrides.get("execution-provider"), Some("cuda"));
    }

    #[test]
    fn an_unknown_key_names_the_known_ones() {
        let e = Overrides::from_parameters(Some(&json!({"mllib": {"decodr": "x"}}))).unwrap_err();
        assert!(
            e.dd_msg.contains("decodr") && e.dd_msg.contains("iou_threshold"),
            "{}",
            e.dd_msg
        );
        assert!(Overrides::from_parameters(Some(&json!({"mllib": {"decoder": {}}}))).is_err());
    }

    #[test]
    fn later_settings_win() {
        let service = Overrides(vec![
            ("decoder".into(), "auto".into()),
            ("input-std".into(), "1".into()),
        ]);
        let call = Overrides(vec![("decoder".into(), "centerface".into())]);
        let merged = service.merged(&call);
        assert_eq!(merged.get("decoder"), Some("centerface"));
        assert_eq!(merged.get("input-std"), Some("1"));
    }

    #[test]
    fn extract_layer_is_read() {
        assert_eq!(
            extract_layer(Some(&json!({"mllib": {"extract_layer": "last"}}))).as_deref(),
            Some("last")
        );
        assert_eq!(extract_layer(Some(&json!({}))), None);
    }
}

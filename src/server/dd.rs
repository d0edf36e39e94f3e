//! DeepDetect's JSON forms: the `status` object every answer carries, its
//! error codes (`dd_code`, `dd_msg`) with the matching HTTP status, and the
//! predict body (`predictions[].classes[]` with `cat`, `prob`, `bbox`, or
//! `vals` for features).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error as DeepDetect reports it:
/// `{"status": {"code", "msg", "dd_code", "dd_msg"}}`, sent with HTTP status `code`.
#[derive(Debug, Clone, PartialEq)]
pub struct DdError {
    /// HTTP status, also `status.code`.
    pub http: StatusCode,
    /// DeepDetect's short name of the status (`BadRequest`, `NotFound`...).
    pub msg: &'static str,
    /// DeepDetect's error number (1002: service not found...), or the HTTP code.
    pub dd_code: u32,
    /// What went wrong and how to fix it.
    pub dd_msg: String,
}

impl DdError {
    fn new(http: StatusCode, msg: &'static str, dd_code: u32, dd_msg: impl Into<String>) -> Self {
        DdError {
            http,
            msg,
            dd_code,
            dd_msg: dd_msg.into(),
        }
    }

    /// 400, the request is malformed or names something impossible.
    pub fn bad_request(why: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", 400, why)
    }

    /// 400 with DeepDetect's 1006: the service's parameters are wrong.
    pub fn service_bad_request(why: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            1006,
            format!("Service Bad Request Error: {}", why.into()),
        )
    }

    /// 400 with DeepDetect's 1005: the input (resource, source) is wrong.
    pub fn service_input(why: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            1005,
            format!("Service Input Error: {}", why.into()),
        )
    }

    /// 400 with DeepDetect's 1001: no data to predict on.
    pub fn no_data(why: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            1001,
            format!("No Data: {}", why.into()),
        )
    }

    /// 404 with DeepDetect's 1002.
    pub fn service_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            1002,
            format!(
                "Service Not Found: no service named {name:?} (create it with PUT /services/{name})"
            ),
        )
    }

    /// 404 with DeepDetect's 1000: an `mllib` other than `onnx`.
    pub fn unknown_library(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            1000,
            format!(
                "Unknown Library: mllib {name:?}; gst-dl runs ONNX models, use \"mllib\": \"onnx\""
            ),
        )
    }

    /// 404 for a resource, stream or route that does not exist.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", 404, what)
    }

    /// 401, a missing or wrong bearer token.
    pub fn unauthorized(why: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", 401, why)
    }

    /// 403, a path outside `--allow-dir` or a pipeline without `--allow-pipelines`.
    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", 403, why)
    }

    /// 405, a method the route does not answer.
    pub fn method_not_allowed(why: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", 405, why)
    }

    /// 409, a name already taken.
    pub fn conflict(why: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", 409, why)
    }

    /// 413, a body over `--max-body`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            413,
            format!("the request body is over the server's limit of {limit} bytes (--max-body)"),
        )
    }

    /// 503, no room for another stream.
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            503,
            why,
        )
    }

    /// 500 with DeepDetect's 1007: the pipeline or the model failed.
    pub fn mllib(why: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            1007,
            format!("Internal ML Library Error: {}", why.into()),
        )
    }

    /// 500 for anything else.
    pub fn internal(why: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", 500, why)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"status": {
            "code": self.http.as_u16(),
            "msg": self.msg,
            "dd_code": self.dd_code,
            "dd_msg": self.dd_msg,
        }})
    }
}

impl std::fmt::Display for DdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.http.as_u16(), self.msg, self.dd_msg)
    }
}

impl IntoResponse for DdError {
    fn into_response(self) -> Response {
        (self.http, axum::Json(self.body())).into_response()
    }
}

/// `{"code": 200, "msg": "OK"}` and its kin.
pub fn status(code: StatusCode) -> Value {
    json!({"code": code.as_u16(), "msg": status_name(code)})
}

fn status_name(code: StatusCode) -> &'static str {
    match code {
        StatusCode::OK => "OK",
        StatusCode::CREATED => "Created",
        _ => code.canonical_reason().unwrap_or("Unknown"),
    }
}

/// A successful answer: `status` plus `head` and `body` when given.
pub fn answer(code: StatusCode, head: Option<Value>, body: Option<Value>) -> Response {
    let mut json = json!({"status": status(code)});
    if let Some(head) = head {
        json["head"] = head;
    }
    if let Some(body) = body {
        json["body"] = body;
    }
    (code, axum::Json(json)).into_response()
}

/// One detected object, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub label: String,
    pub confidence: f64,
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
}

/// One class of a frame classification.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameClass {
    pub label: String,
    pub confidence: f64,
}

/// What the model gave for one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FramePrediction {
    /// Index of the frame in the resource, from 0; unknown (`None`) for a
    /// realtime resource, whose frames are dropped while the model is busy.
    pub frame: Option<u64>,
    /// Presentation time in milliseconds, if known.
    pub pts_ms: Option<f64>,
    pub width: u32,
    pub height: u32,
    pub detections: Vec<Detection>,
    pub classes: Vec<FrameClass>,
    /// Features (`extract_layer`), the first tensor's values.
    pub features: Option<Vec<f32>>,
}

/// `parameters.output` of a predict call.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputOptions {
    /// Include each detection's `bbox`.
    pub bbox: bool,
    /// Leave out classes scoring below this.
    pub confidence_threshold: f64,
    /// Keep at most this many classes per frame, the most probable first.
    pub best: Option<usize>,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            bbox: false,
            confidence_threshold: 0.0,
            best: None,
        }
    }
}

impl OutputOptions {
    /// Reads `parameters.output`; unknown keys are ignored, as DeepDetect does.
    pub fn from_json(output: Option<&Value>) -> Result<Self, DdError> {
        let mut options = OutputOptions::default();
        let Some(output) = output else {
            return Ok(options);
        };
        let output = output
            .as_object()
            .ok_or_else(|| DdError::bad_request("parameters.output must be an object"))?;
        if let Some(bbox) = output.get("bbox") {
            options.bbox = bbox.as_bool().ok_or_else(|| {
                DdError::bad_request("parameters.output.bbox must be true or false")
            })?;
        }
        if let Some(threshold) = output.get("confidence_threshold") {
            options.confidence_threshold = threshold
                .as_f64()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| {
                DdError::bad_request(
                    "parameters.output.confidence_threshold must be a number from 0 to 1",
                )
            })?;
        }
        if let Some(best) = output.get("best") {
            let best = best.as_u64().filter(|b| *b > 0).ok_or_else(|| {
                DdError::bad_request("parameters.output.best must be a whole number above 0")
            })?;
            options.best = Some(best as usize);
        }
        Ok(options)
    }
}

/// One entry of `body.predictions`: `uri` plus `classes` (with `bbox` when
/// asked) or `vals` for features.
pub fn prediction_json(uri: &str, frame: &FramePrediction, options: &OutputOptions) -> Value {
    let mut entry = json!({"uri": uri});
    if let Some(index) = frame.frame {
        entry["frame"] = json!(index);
    }
    if let Some(pts) = frame.pts_ms {
        entry["pts_ms"] = json!(pts);
    }
    if let Some(features) = &frame.features {
        entry["vals"] = json!(features);
        return entry;
    }
    let mut classes: Vec<(f64, Value)> = Vec::new();
    for d in &frame.detections {
        let mut class = json!({"cat": d.label, "prob": d.confidence});
        if options.bbox {
            class["bbox"] =
                json!({"xmin": d.x_min, "ymin": d.y_min, "xmax": d.x_max, "ymax": d.y_max});
        }
        classes.push((d.confidence, class));
    }
    for c in &frame.classes {
        classes.push((c.confidence, json!({"cat": c.label, "prob": c.confidence})));
    }
    classes.retain(|(prob, _)| *prob >= options.confidence_threshold);
    classes.sort_by(|a, b| b.0.total_cmp(&a.0));
    if let Some(best) = options.best {
        classes.truncate(best);
    }
    // DeepDetect marks the least probable class of a frame `last`.
    if let Some((_, last)) = classes.last_mut() {
        last["last"] = json!(true);
    }
    entry["classes"] = Value::Array(classes.into_iter().map(|(_, c)| c).collect());
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(confidence: f64) -> Detection {
        Detection {
            label: "face".into(),
            confidence,
            x_min: 10.0,
            y_min: 20.0,
            x_max: 50.0,
            y_max: 80.0,
        }
    }

    #[test]
    fn errors_carry_deepdetect_codes_and_the_http_status() {
        let e = DdError::service_not_found("imageserv");
        assert_eq!(e.http, StatusCode::NOT_FOUND);
        let body = e.body();
        assert_eq!(body["status"]["code"], 404);
        assert_eq!(body["status"]["msg"], "NotFound");
        assert_eq!(body["status"]["dd_code"], 1002);
        assert!(
            body["status"]["dd_msg"]
                .as_str()
                .unwrap()
                .contains("imageserv")
        );
        assert_eq!(DdError::payload_too_large(10).body()["status"]["code"], 413);
        assert_eq!(DdError::forbidden("x").http, StatusCode::FORBIDDEN);
    }

    #[test]
    fn detections_become_classes_with_bbox_above_the_threshold() {
        let frame = FramePrediction {
            detections: vec![face(0.2), face(0.9), face(0.05)],
            ..Default::default()
        };
        let options = OutputOptions {
            bbox: true,
            confidence_threshold: 0.1,
            best: None,
        };
        let p = prediction_json("resource:r", &frame, &options);
        let classes = p["classes"].as_array().unwrap();
        assert_eq!(classes.len(), 2);
        assert_eq!(classes[0]["prob"], 0.9);
        assert_eq!(classes[0]["cat"], "face");
        assert_eq!(
            classes[0]["bbox"],
            json!({"xmin": 10.0, "ymin": 20.0, "xmax": 50.0, "ymax": 80.0})
        );
        assert_eq!(classes[1]["last"], true);
        assert_eq!(p["uri"], "resource:r");
    }

    #[test]
    fn without_bbox_and_with_best_classes_are_cut() {
        let frame = FramePrediction {
            detections: vec![face(0.2), face(0.9)],
            classes: vec![FrameClass {
                label: "espresso".into(),
                confidence: 0.5,
            }],
            ..Default::default()
        };
        let options = OutputOptions {
            bbox: false,
            confidence_threshold: 0.0,
            best: Some(2),
        };
        let classes = prediction_json("u", &frame, &options)["classes"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(classes.len(), 2);
        assert!(classes[0].get("bbox").is_none());
        assert_eq!(classes[1]["cat"], "espresso");
    }

    #[test]
    fn features_are_vals() {
        let frame = FramePrediction {
            features: Some(vec![0.5, -1.0]),
            ..Default::default()
        };
        let p = prediction_json("u", &frame, &OutputOptions::default());
        assert_eq!(p["vals"], json!([0.5, -1.0]));
        assert!(p.get("classes").is_none());
    }

    #[test]
    fn output_options_are_checked() {
        let o = OutputOptions::from_json(Some(
            &json!({"bbox": true, "confidence_threshold": 0.1, "best": 3}),
        ))
        .unwrap();
        assert_eq!(
            o,
            OutputOptions {
                bbox: true,
                confidence_threshold: 0.1,
                best: Some(3)
            }
        );
        assert!(OutputOptions::from_json(Some(&json!({"bbox": "yes"}))).is_err());
        assert!(OutputOptions::from_json(Some(&json!({"confidence_threshold": 2}))).is_err());
        assert_eq!(
            OutputOptions::from_json(None).unwrap(),
            OutputOptions::default()
        );
    }
}

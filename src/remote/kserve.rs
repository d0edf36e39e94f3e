//! The KServe v2 inference protocol's REST messages: model metadata, and an
//! inference request and answer, with raw tensors (the binary tensor
//! extension) or as JSON numbers. Servers disagree on details a client must
//! accept: `versions` is `["1"]` (Triton), `[]` (MLServer) or `null`
//! (KServe); outputs may come back in any order.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{ElementType, ModelInfo, TensorInfo};

/// A tensor as the server's metadata declares it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TensorMetadata {
    /// Its name.
    pub name: String,
    /// `FP32`, `UINT8`, `INT64`...
    pub datatype: String,
    /// Dimensions, -1 where dynamic.
    #[serde(default)]
    pub shape: Vec<i64>,
}

/// `GET /v2/models/NAME`: what the model takes and gives.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelMetadata {
    /// The model's name.
    pub name: String,
    /// Its inputs.
    #[serde(default)]
    pub inputs: Vec<TensorMetadata>,
    /// Its outputs.
    #[serde(default)]
    pub outputs: Vec<TensorMetadata>,
}

impl ModelMetadata {
    /// Parses the metadata answer; the error says what is missing.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let metadata: Self = serde_json::from_slice(body)
            .map_err(|e| format!("the model metadata is not KServe v2 JSON ({e})"))?;
        if metadata.inputs.is_empty() || metadata.outputs.is_empty() {
            return Err("the model metadata lists no inputs or no outputs".to_string());
        }
        Ok(metadata)
    }

    /// The same description a local ONNX file gives.
    pub fn model_info(&self) -> ModelInfo {
        let describe = |t: &TensorMetadata| TensorInfo {
            name: t.name.clone(),
            element: match t.datatype.as_str() {
                "FP32" => ElementType::F32,
                "UINT8" => ElementType::U8,
                other => ElementType::Other(other.to_string()),
            },
            shape: t.shape.iter().map(|&d| usize::try_from(d).ok()).collect(),
        };
        ModelInfo {
            inputs: self.inputs.iter().map(describe).collect(),
            outputs: self.outputs.iter().map(describe).collect(),
            overridable_initializers: 0,
            metadata: Default::default(),
        }
    }
}

/// Whether the server's metadata (`GET /v2`) lists the binary tensor
/// extension.
pub fn server_has_binary_extension(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("extensions").cloned())
        .and_then(|v| v.as_array().cloned())
        .is_some_and(|list| {
            list.iter()
                .any(|e| e.as_str() == Some("binary_tensor_data"))
        })
}

/// The model names in a repository index answer (`POST /v2/repository/index`),
/// for the message when a model is unknown.
pub fn repository_models(body: &[u8]) -> Vec<String> {
    let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .iter()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The `error` text of a KServe error answer, or the body itself.
pub fn error_text(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body).trim().to_string();
            if text.is_empty() {
                "(empty answer)".to_string()
            } else {
                text.chars().take(300).collect()
            }
        })
}

/// An input tensor's data.
#[derive(Debug, Clone, Copy)]
pub enum TensorData<'a> {
    /// FP32.
    F32(&'a [f32]),
    /// UINT8.
    U8(&'a [u8]),
}

impl TensorData<'_> {
    /// The protocol's name for the data type.
    pub fn datatype(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "FP32",
            TensorData::U8(_) => "UINT8",
        }
    }

    /// The raw little-endian bytes (f32 data viewed in place on
    /// little-endian machines).
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            TensorData::U8(data) => std::borrow::Cow::Borrowed(data),
            TensorData::F32(data) => {
                if cfg!(target_endian = "little") {
                    // SAFETY: f32 has no padding and any byte pattern of
                    // u8 is valid; the length covers exactly the slice.
                    std::borrow::Cow::Borrowed(unsafe {
                        std::slice::from_raw_parts(
                            data.as_ptr().cast::<u8>(),
                            std::mem::size_of_val(*data),
                        )
                    })
                } else {
                    std::borrow::Cow::Owned(data.iter().flat_map(|v| v.to_le_bytes()).collect())
                }
            }
        }
    }

    fn json_numbers(&self) -> Value {
        match self {
            TensorData::F32(data) => json!(data),
            TensorData::U8(data) => json!(data),
        }
    }
}

/// The JSON head of an inference request with the binary extension: the
/// input's bytes follow it, and every output is asked for as raw bytes.
pub fn binary_request_head(
    input: &str,
    shape: &[usize],
    data: TensorData<'_>,
    outputs: &[String],
) -> Vec<u8> {
    let length = data.bytes().len();
    let request = json!({
        "inputs": [{
            "name": input,
            "shape": shape,
            "datatype": data.datatype(),
            "parameters": {"binary_data_size": length},
        }],
        "outputs": outputs.iter().map(|name| json!({"name": name, "parameters": {"binary_data": true}})).collect::<Vec<_>>(),
    });
    request.to_string().into_bytes()
}

/// A whole inference request in JSON (for servers without the binary
/// extension).
pub fn json_request(
    input: &str,
    shape: &[usize],
    data: TensorData<'_>,
    outputs: &[String],
) -> Vec<u8> {
    json!({
        "id": "gst-dl",
        "inputs": [{"name": input, "shape": shape, "datatype": data.datatype(), "data": data.json_numbers()}],
        "outputs": outputs.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// One output of an answer, as f32 (other numeric types converted).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTensor {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its data, row-major.
    pub data: Vec<f32>,
}

#[derive(Deserialize)]
struct AnswerOutput {
    name: String,
    datatype: String,
    #[serde(default)]
    shape: Vec<i64>,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    outputs: Vec<AnswerOutput>,
}

/// Parses an inference answer: a JSON head of `head_length` bytes followed
/// by raw outputs (binary extension), or all JSON when `head_length` is
/// `None`. Outputs come back in the order `wanted` names them.
pub fn parse_answer(
    body: &[u8],
    head_length: Option<usize>,
    wanted: &[String],
) -> Result<Vec<OutputTensor>, String> {
    let head_length = head_length.unwrap_or(body.len());
    let head = body.get(..head_length).ok_or_else(|| {
        format!(
            "the answer is {} bytes, shorter than its JSON head ({head_length})",
            body.len()
        )
    })?;
    let answer: Answer = serde_json::from_slice(head)
        .map_err(|e| format!("the answer is not KServe v2 JSON ({e})"))?;
    let mut raw = &body[head_length..];
    let mut parsed = Vec::with_capacity(answer.outputs.len());
    for output in answer.outputs {
        let shape: Vec<usize> = output
            .shape
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| format!("output '{}' has a negative dimension", output.name))
            })
            .collect::<Result<_, _>>()?;
        let count: usize = shape.iter().product();
        let binary_size = output
            .parameters
            .as_ref()
            .and_then(|p| p.get("binary_data_size"))
            .and_then(Value::as_u64);
        let data = match (binary_size, &output.data) {
            (Some(size), _) => {
                let size = size as usize;
                if raw.len() < size {
                    return Err(format!(
                        "output '{}' is cut short ({} of {size} bytes)",
                        output.name,
                        raw.len()
                    ));
                }
                let (bytes, rest) = raw.split_at(size);
                raw = rest;
                decode_raw(&output.name, &output.datatype, bytes, count)?
            }
            (None, Some(data)) => decode_json(&output.name, data, count)?,
            (None, None) => return Err(format!("output '{}' came without data", output.name)),
        };
        parsed.push(OutputTensor {
            name: output.name,
            shape,
            data,
        });
    }
    wanted
        .iter()
        .map(|name| {
            parsed
                .iter()
                .position(|o| &o.name == name)
                .map(|i| parsed[i].clone())
                .ok_or_else(|| format!("the answer has no output '{name}'"))
        })
        .collect()
}

pub(crate) fn decode_raw(
    name: &str,
    datatype: &str,
    bytes: &[u8],
    count: usize,
) -> Result<Vec<f32>, String> {
    macro_rules! convert {
        ($t:ty) => {{
            let width = std::mem::size_of::<$t>();
            if bytes.len() != count * width {
                return Err(format!(
                    "output '{name}' has {} bytes for {count} {datatype} values",
                    bytes.len()
                ));
            }
            bytes
                .chunks_exact(width)
                .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunks_exact")) as f32)
                .collect()
        }};
    }
    Ok(match datatype {
        "FP32" => convert!(f32),
        "FP64" => convert!(f64),
        "INT64" => convert!(i64),
        "INT32" => convert!(i32),
        "UINT8" => convert!(u8),
        "INT8" => convert!(i8),
        other => {
            return Err(format!(
                "output '{name}' is {other}; outputs must be numeric (FP32, FP64, INT64, INT32, UINT8, INT8)"
            ));
        }
    })
}

fn decode_json(name: &str, data: &Value, count: usize) -> Result<Vec<f32>, String> {
    // The protocol allows the data flat or nested as the shape.
    fn flatten(value: &Value, out: &mut Vec<f32>) -> bool {
        match value {
            Value::Array(items) => items.iter().all(|v| flatten(v, out)),
            Value::Number(n) => n.as_f64().map(|v| out.push(v as f32)).is_some(),
            Value::Bool(b) => {
                out.push(f32::from(u8::from(*b)));
                true
            }
            _ => false,
        }
    }
    let mut out = Vec::with_capacity(count);
    if !flatten(data, &mut out) {
        return Err(format!("output '{name}' holds values that are not numbers"));
    }
    if out.len() != count {
        return Err(format!(
            "output '{name}' has {} values for its shape's {count}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRITON_METADATA: &str = r#"{"name":"centerface","versions":["1"],"platform":"python",
        "inputs":[{"name":"input.1","datatype":"FP32","shape":[-1,3,-1,-1]}],
        "outputs":[{"name":"537","datatype":"FP32","shape":[-1,1,-1,-1]},{"name":"538","datatype":"FP32","shape":[-1,2,-1,-1]}]}"#;

    #[test]
    fn metadata_becomes_the_same_model_info_as_a_file() {
        let metadata = ModelMetadata::parse(TRITON_METADATA.as_bytes()).unwrap();
        let info = metadata.model_info();
        assert_eq!(info.inputs[0].name, "input.1");
        assert_eq!(info.inputs[0].element, ElementType::F32);
        assert_eq!(info.inputs[0].shape, vec![None, Some(3), None, None]);
        assert_eq!(info.outputs.len(), 2);
        // MLServer's `versions: []` and KServe's `null` are fine; no inputs is not.
        let mlserver = r#"{"name":"m","versions":[],"platform":"","inputs":[{"name":"x","datatype":"UINT8","shape":[1,2]}],"outputs":[{"name":"y","datatype":"FP32","shape":[1]}]}"#;
        assert_eq!(
            ModelMetadata::parse(mlserver.as_bytes())
                .unwrap()
                .model_info()
                .inputs[0]
                .element,
            ElementType::U8
        );
        assert!(
            ModelMetadata::parse(br#"{"name":"m","versions":null,"inputs":[],"outputs":[]}"#)
                .unwrap_err()
                .contains("no inputs")
        );
        assert!(
            ModelMetadata::parse(b"<html>")
                .unwrap_err()
                .contains("not KServe v2 JSON")
        );
    }

    #[test]
    fn server_extensions_models_and_errors() {
        assert!(server_has_binary_extension(
            br#"{"name":"triton","extensions":["classification","binary_tensor_data"]}"#
        ));
        assert!(!server_has_binary_extension(
            br#"{"name":"mlserver","extensions":[]}"#
        ));
        assert!(!server_has_binary_extension(b"garbage"));
        assert_eq!(
            repository_models(br#"[{"name":"b","version":"1"},{"name":"a"},{"name":"b"}]"#),
            vec!["a".to_string(), "b".to_string()]
        );
        assert_eq!(
            error_text(br#"{"error":"Request for unknown model"}"#),
            "Request for unknown model"
        );
        assert_eq!(error_text(b""), "(empty answer)");
    }

    #[test]
    fn binary_answers_come_back_in_the_wanted_order_and_converted() {
        let head = br#"{"model_name":"m","outputs":[{"name":"ids","datatype":"INT64","shape":[2],"parameters":{"binary_data_size":16}},{"name":"scores","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]}"#;
        let mut body = head.to_vec();
        body.extend(7i64.to_le_bytes());
        body.extend((-1i64).to_le_bytes());
        body.extend(0.5f32.to_le_bytes());
        body.extend(2.0f32.to_le_bytes());
        let outputs =
            parse_answer(&body, Some(head.len()), &["scores".into(), "ids".into()]).unwrap();
        assert_eq!(
            outputs[0],
            OutputTensor {
                name: "scores".into(),
                shape: vec![1, 2],
                data: vec![0.5, 2.0]
            }
        );
        assert_eq!(outputs[1].data, vec![7.0, -1.0]);
        let err =
            parse_answer(&body[..body.len() - 1], Some(head.len()), &["ids".into()]).unwrap_err();
        assert!(err.contains("cut short"), "{err}");
        let err = parse_answer(&body, Some(head.len()), &["nope".into()]).unwrap_err();
        assert!(err.contains("no output 'nope'"), "{err}");
    }

    #[test]
    fn json_answers_flat_or_nested() {
        let body =
            br#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4.5]]}]}"#;
        let outputs = parse_answer(body, None, &["y".into()]).unwrap();
        assert_eq!(outputs[0].data, vec![1.0, 2.0, 3.0, 4.5]);
        let body = br#"{"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1,2]}]}"#;
        assert!(
            parse_answer(body, None, &["y".into()])
                .unwrap_err()
                .contains("2 values")
        );
    }

    #[test]
    fn requests_name_the_input_and_ask_for_every_output() {
        let data = [1.0f32, 2.0];
        let head = binary_request_head("x", &[1, 2], TensorData::F32(&data), &["y".into()]);
        let head: Value = serde_json::from_slice(&head).unwrap();
        assert_eq!(head["inputs"][0]["parameters"]["binary_data_size"], 8);
        assert_eq!(head["inputs"][0]["datatype"], "FP32");
        assert_eq!(head["outputs"][0]["parameters"]["binary_data"], true);
        assert_eq!(
            TensorData::F32(&data).bytes().as_ref(),
            [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat()
        );
        let whole: Value =
            serde_json::from_slice(&json_request("x", &[2], TensorData::U8(&[3, 4]), &[])).unwrap();
        assert_eq!(whole["inputs"][0]["data"], json!([3, 4]));
    }
}

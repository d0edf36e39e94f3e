//! KServe v2 over gRPC: one HTTP/2 channel per model, shared by every
//! request in flight (HTTP/2 multiplexes them), on a small tokio runtime of
//! its own so callers stay plain threads. Tensors travel as raw bytes
//! (`raw_input_contents` / `raw_output_contents`); typed contents in answers
//! are read too (some servers answer that way).

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod inference;

use std::time::Instant;

use inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use inference::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use inference::{
    ModelInferRequest, ModelInferResponse, ModelMetadataRequest, RepositoryIndexRequest,
};
use tonic::transport::{Channel, Endpoint};

use super::kserve::{self, ModelMetadata, OutputTensor, TensorData, TensorMetadata};
use super::{ModelUrl, RemoteError, RemoteOptions};

/// Answers may carry large tensors (frame-to-frame models); tonic's default
/// limit is 4 MiB.
const MAX_MESSAGE_BYTES: usize = 1 << 30;

/// A connected gRPC client for one model.
pub struct GrpcClient {
    runtime: tokio::runtime::Runtime,
    client: GrpcInferenceServiceClient<Channel>,
    url: ModelUrl,
    options: RemoteOptions,
}

impl GrpcClient {
    /// Connects (retrying with growing waits) and reads the model's metadata.
    pub fn open(
        url: &ModelUrl,
        options: RemoteOptions,
    ) -> Result<(Self, ModelMetadata), RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dl-grpc")
            .enable_all()
            .build()
            .map_err(|e| RemoteError(format!("cannot start the gRPC client for {url}: {e}")))?;
        let endpoint = Endpoint::from_shared(format!("http://{}", url.authority))
            .map_err(|e| RemoteError(format!("model={url}: not a usable address: {e}")))?
            .connect_timeout(options.timeout)
            .timeout(options.timeout);
        let started = Instant::now();
        let mut backoff = options.first_backoff;
        let mut attempt = 0;
        let channel = loop {
            attempt += 1;
            match runtime.block_on(endpoint.connect()) {
                Ok(channel) => break channel,
                Err(e) if attempt >= options.connect_attempts => {
                    return Err(RemoteError(format!(
                        "cannot reach the model server at {url}: {} ({attempt} attempts over {:.1} s); start the server or fix the model URL",
                        error_chain(&e),
                        started.elapsed().as_secs_f64()
                    )));
                }
                Err(_) => {
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
            }
        };
        let client = GrpcInferenceServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let grpc = Self {
            runtime,
            client,
            url: url.clone(),
            options,
        };
        let metadata = grpc.model_metadata()?;
        Ok((grpc, metadata))
    }

    fn model_metadata(&self) -> Result<ModelMetadata, RemoteError> {
        let request = ModelMetadataRequest {
            name: self.url.model.clone(),
            version: self.url.version.clone().unwrap_or_default(),
        };
        let mut client = self.client.clone();
        let answer = self.call(async move { client.model_metadata(request).await });
        let answer = match answer {
            Ok(answer) => answer,
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    || status.code() == tonic::Code::DeadlineExceeded =>
            {
                return Err(self.status_error(&status));
            }
            Err(status) => return Err(self.unknown_model(&status)),
        };
        let described = |t: &inference::model_metadata_response::TensorMetadata| TensorMetadata {
            name: t.name.clone(),
            datatype: t.datatype.clone(),
            shape: t.shape.clone(),
        };
        let metadata = ModelMetadata {
            name: answer.name.clone(),
            inputs: answer.inputs.iter().map(described).collect(),
            outputs: answer.outputs.iter().map(described).collect(),
        };
        if metadata.inputs.is_empty() || metadata.outputs.is_empty() {
            return Err(RemoteError(format!(
                "model={}: the model metadata lists no inputs or no outputs",
                self.url
            )));
        }
        Ok(metadata)
    }

    /// The message for a model the server does not have, listing those it
    /// has where the server tells (Triton's repository index).
    fn unknown_model(&self, status: &tonic::Status) -> RemoteError {
        let mut client = self.client.clone();
        let listed = self
            .call(async move {
                client
                    .repository_index(RepositoryIndexRequest::default())
                    .await
            })
            .map(|index| {
                let mut names: Vec<String> = index.models.into_iter().map(|m| m.name).collect();
                names.sort();
                names.dedup();
                names
            })
            .unwrap_or_default();
        let has = if listed.is_empty() {
            "the server did not list its models".to_string()
        } else {
            format!("the server has: {}", listed.join(", "))
        };
        RemoteError(format!(
            "model '{}' is not available at {} ({}: {}); {has}",
            self.url.model,
            self.url,
            code_name(status.code()),
            status.message()
        ))
    }

    /// Runs the model; outputs come back in the order of `outputs`.
    pub fn infer(
        &self,
        input: &str,
        shape: &[usize],
        data: TensorData<'_>,
        outputs: &[String],
    ) -> Result<Vec<OutputTensor>, RemoteError> {
        let request = ModelInferRequest {
            model_name: self.url.model.clone(),
            model_version: self.url.version.clone().unwrap_or_default(),
            id: String::new(),
            inputs: vec![InferInputTensor {
                name: input.to_string(),
                datatype: data.datatype().to_string(),
                shape: shape.iter().map(|&d| d as i64).collect(),
            }],
            outputs: outputs
                .iter()
                .map(|name| InferRequestedOutputTensor { name: name.clone() })
                .collect(),
            raw_input_contents: vec![data.bytes().into_owned()],
        };
        let started = Instant::now();
        let mut backoff = self.options.first_backoff;
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            let mut client = self.client.clone();
            let sent = request.clone();
            match self.call(async move { client.model_infer(sent).await }) {
                Ok(answer) => break answer,
                // The channel reconnects by itself; a server restarting in
                // place is back within the bound.
                Err(status)
                    if status.code() == tonic::Code::Unavailable
                        && attempt < self.options.connect_attempts =>
                {
                    std::thread::sleep(backoff);
                    backoff *= 2;
                }
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    return Err(RemoteError(format!(
                        "cannot reach the model server at {}: {} ({attempt} attempts over {:.1} s); start the server or fix the model URL",
                        self.url,
                        status.message(),
                        started.elapsed().as_secs_f64()
                    )));
                }
                Err(status) if is_timeout(&status) => return Err(self.status_error(&status)),
                Err(status) => {
                    return Err(RemoteError(format!(
                        "the server at {} refused the request for input '{input}' of shape {shape:?} ({}): {}",
                        self.url,
                        code_name(status.code()),
                        status.message()
                    )));
                }
            }
        };
        read_answer(answer, outputs).map_err(|why| {
            RemoteError(format!(
                "the server at {} sent an answer gst-dl cannot read: {why}",
                self.url
            ))
        })
    }

    /// Runs one call on the client's runtime, bounded by `remote-timeout`.
    fn call<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, tonic::Status> {
        let timeout = self.options.timeout;
        self.runtime.block_on(async move {
            match tokio::time::timeout(timeout, call).await {
                Ok(answer) => answer.map(tonic::Response::into_inner),
                Err(_) => Err(tonic::Status::deadline_exceeded("no answer in time")),
            }
        })
    }

    fn status_error(&self, status: &tonic::Status) -> RemoteError {
        if is_timeout(status) {
            RemoteError(format!(
                "the server at {} did not answer within {} ms (remote-timeout); it is stuck or overloaded",
                self.url,
                self.options.timeout.as_millis()
            ))
        } else {
            RemoteError(format!(
                "cannot reach the model server at {}: {}; start the server or fix the model URL",
                self.url,
                status.message()
            ))
        }
    }
}

fn is_timeout(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::DeadlineExceeded
        || (status.code() == tonic::Code::Cancelled && status.message().contains("Timeout"))
}

fn code_name(code: tonic::Code) -> String {
    format!("gRPC {code:?}")
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The outputs of an answer, in the order `wanted` names them.
fn read_answer(answer: ModelInferResponse, wanted: &[String]) -> Result<Vec<OutputTensor>, String> {
    let raw = &answer.raw_output_contents;
    let mut parsed = Vec::with_capacity(answer.outputs.len());
    for (index, output) in answer.outputs.iter().enumerate() {
        let shape: Vec<usize> = output
            .shape
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| format!("output '{}' has a negative dimension", output.name))
            })
            .collect::<Result<_, _>>()?;
        let count: usize = shape.iter().product();
        let data = match (raw.get(index), &output.contents) {
            (Some(bytes), _) => kserve::decode_raw(&output.name, &output.datatype, bytes, count)?,
            (None, Some(contents)) => typed_contents(&output.name, contents, count)?,
            (None, None) => return Err(format!("output '{}' came without data", output.name)),
        };
        parsed.push(OutputTensor {
            name: output.name.clone(),
            shape,
            data,
        });
    }
    wanted
        .iter()
        .map(|name| {
            parsed
                .iter()
                .find(|o| &o.name == name)
                .cloned()
                .ok_or_else(|| format!("the answer has no output '{name}'"))
        })
        .collect()
}

fn typed_contents(
    name: &str,
    contents: &inference::InferTensorContents,
    count: usize,
) -> Result<Vec<f32>, String> {
    let data: Vec<f32> = if !contents.fp32_contents.is_empty() {
        contents.fp32_contents.clone()
    } else if !contents.fp64_contents.is_empty() {
        contents.fp64_contents.iter().map(|&v| v as f32).collect()
    } else if !contents.int64_contents.is_empty() {
        contents.int64_contents.iter().map(|&v| v as f32).collect()
    } else if !contents.int_contents.is_empty() {
        contents.int_contents.iter().map(|&v| v as f32).collect()
    } else {
        contents.uint_contents.iter().map(|&v| v as f32).collect()
    };
    if data.len() != count {
        return Err(format!(
            "output '{name}' has {} values for its shape's {count}",
            data.len()
        ));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inference::InferTensorContents;
    use inference::model_infer_response::InferOutputTensor;
    use std::time::Duration;

    fn output(
        name: &str,
        datatype: &str,
        shape: &[i64],
        contents: Option<InferTensorContents>,
    ) -> InferOutputTensor {
        InferOutputTensor {
            name: name.into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
            contents,
        }
    }

    #[test]
    fn raw_and_typed_answers_in_the_wanted_order() {
        let answer = ModelInferResponse {
            outputs: vec![
                output("a", "FP32", &[2], None),
                output("b", "INT64", &[1], None),
            ],
            raw_output_contents: vec![
                [1.5f32.to_le_bytes(), 2.5f32.to_le_bytes()].concat(),
                7i64.to_le_bytes().to_vec(),
            ],
            ..Default::default()
        };
        let outputs = read_answer(answer, &["b".into(), "a".into()]).unwrap();
        assert_eq!(
            (outputs[0].data.clone(), outputs[1].data.clone()),
            (vec![7.0], vec![1.5, 2.5])
        );
        let typed = ModelInferResponse {
            outputs: vec![output(
                "y",
                "FP32",
                &[1, 2],
                Some(InferTensorContents {
                    fp32_contents: vec![3.0, 4.0],
                    ..Default::default()
                }),
            )],
            ..Default::default()
        };
        assert_eq!(
            read_answer(typed, &["y".into()]).unwrap()[0].shape,
            vec![1, 2]
        );
        let short = ModelInferResponse {
            outputs: vec![output("a", "FP32", &[3], None)],
            raw_output_contents: vec![vec![0; 8]],
            ..Default::default()
        };
        assert!(
            read_answer(short, &["a".into()])
                .unwrap_err()
                .contains("8 bytes for 3")
        );
    }

    #[test]
    fn a_server_not_listening_is_retried_then_named() {
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = ModelUrl::parse(&format!("grpc://127.0.0.1:{free}/m")).unwrap();
        let options = RemoteOptions {
            timeout: Duration::from_millis(500),
            connect_attempts: 2,
            first_backoff: Duration::from_millis(10),
        };
        let err = GrpcClient::open(&url, options).err().unwrap().0;
        assert!(
            err.contains("cannot reach the model server") && err.contains("2 attempts"),
            "{err}"
        );
    }
}

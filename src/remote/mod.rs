//! Served models: a model that runs on an inference server speaking the
//! KServe v2 protocol (Triton, OpenVINO Model Server, MLServer, KServe)
//! instead of in this process. The elements see the same [`ModelInfo`] and
//! outputs as for a local file (`crate::runtime::SharedSession` wraps both),
//! so preprocessing, batching, decoders and metadata stay the same.

pub mod grpc;
pub mod http;
pub mod kserve;
pub mod url;

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::ModelInfo;
pub use kserve::{OutputTensor, TensorData};
pub use url::{ModelUrl, Protocol};

/// How a client talks to its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Bounds a connect and every wait for an answer (`remote-timeout`).
    pub timeout: Duration,
    /// Connection attempts before giving up; the waits between them double
    /// from [`Self::first_backoff`].
    pub connect_attempts: u32,
    /// The wait after the first failed attempt.
    pub first_backoff: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            // 0.1 + 0.2 + 0.4 + 0.8 s: a server restarting in place is back,
            // one that is gone is reported within two seconds.
            connect_attempts: 5,
            first_backoff: Duration::from_millis(100),
        }
    }
}

/// Why a served model could not be opened or run; the text names the URL,
/// what happened and, where there is one, the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError(pub String);

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RemoteError {}

/// A model on a KServe v2 server, ready to run. Connections are kept alive
/// and reused: one per request in flight, taken from a pool.
pub struct RemoteModel {
    /// Where it is.
    pub url: ModelUrl,
    /// What the server's metadata says it takes and gives.
    pub info: ModelInfo,
    /// Whether tensors travel as raw bytes (the binary tensor extension)
    /// rather than JSON numbers.
    pub binary: bool,
    options: RemoteOptions,
    output_names: Vec<String>,
    idle: Mutex<Vec<http::Connection>>,
    /// The gRPC client, for `grpc://` URLs.
    grpc: Option<grpc::GrpcClient>,
}

impl RemoteModel {
    /// Connects, reads the server's and the model's metadata, and keeps the
    /// connection for the first request.
    pub fn open(url: &ModelUrl, options: RemoteOptions) -> Result<Self, RemoteError> {
        if url.protocol == Protocol::Grpc {
            let (client, metadata) = grpc::GrpcClient::open(url, options)?;
            return Ok(Self {
                url: url.clone(),
                info: metadata.model_info(),
                // gRPC always carries raw tensors.
                binary: true,
                options,
                output_names: metadata.outputs.iter().map(|o| o.name.clone()).collect(),
                idle: Mutex::new(Vec::new()),
                grpc: Some(client),
            });
        }
        let mut model = Self {
            url: url.clone(),
            info: ModelInfo {
                inputs: Vec::new(),
                outputs: Vec::new(),
                overridable_initializers: 0,
                metadata: Default::default(),
            },
            binary: false,
            options,
            output_names: Vec::new(),
            idle: Mutex::new(Vec::new()),
            grpc: None,
        };
        let server = model.get("/v2")?;
        model.binary = server.status == 200 && kserve::server_has_binary_extension(&server.body);
        let answer = model.get(&url.model_path())?;
        if answer.status != 200 {
            return Err(model.unknown_model(&answer));
        }
        let metadata = kserve::ModelMetadata::parse(&answer.body).map_err(|why| {
            RemoteError(format!("model={url}: {why}; is this a KServe v2 server?"))
        })?;
        model.output_names = metadata.outputs.iter().map(|o| o.name.clone()).collect();
        model.info = metadata.model_info();
        Ok(model)
    }

    /// Runs the model on one input tensor; outputs come in the order of the
    /// model's metadata.
    pub fn infer(
        &self,
        input: &str,
        shape: &[usize],
        data: TensorData<'_>,
    ) -> Result<Vec<OutputTensor>, RemoteError> {
        if let Some(grpc) = &self.grpc {
            return grpc.infer(input, shape, data, &self.output_names);
        }
        let path = format!("{}/infer", self.url.model_path());
        let answer = if self.binary {
            let head = kserve::binary_request_head(input, shape, data, &self.output_names);
            let bytes = data.bytes();
            self.request(
                "POST",
                &path,
                &[
                    ("Content-Type", "application/octet-stream".to_string()),
                    ("Inference-Header-Content-Length", head.len().to_string()),
                ],
                &[&head, &bytes],
            )?
        } else {
            let body = kserve::json_request(input, shape, data, &self.output_names);
            self.request(
                "POST",
                &path,
                &[("Content-Type", "application/json".to_string())],
                &[&body],
            )?
        };
        if answer.status != 200 {
            return Err(RemoteError(format!(
                "the server at {} refused the request for input '{input}' of shape {shape:?} (HTTP {}): {}",
                self.url,
                answer.status,
                kserve::error_text(&answer.body)
            )));
        }
        let head_length = match answer.header("inference-header-content-length") {
            Some(length) => Some(length.parse::<usize>().map_err(|_| {
                RemoteError(format!(
                    "the server at {} sent a bad Inference-Header-Content-Length '{length}'",
                    self.url
                ))
            })?),
            None => None,
        };
        kserve::parse_answer(&answer.body, head_length, &self.output_names).map_err(|why| {
            RemoteError(format!(
                "the server at {} sent an answer gst-dl cannot read: {why}",
                self.url
            ))
        })
    }

    fn get(&self, path: &str) -> Result<http::Response, RemoteError> {
        self.request("GET", path, &[], &[])
    }

    /// The message for a model the server does not have, listing those it has.
    fn unknown_model(&self, answer: &http::Response) -> RemoteError {
        let listed = self
            .request(
                "POST",
                "/v2/repository/index",
                &[("Content-Type", "application/json".to_string())],
                &[b"{}"],
            )
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| kserve::repository_models(&r.body))
            .unwrap_or_default();
        let has = if listed.is_empty() {
            "the server did not list its models".to_string()
        } else {
            format!("the server has: {}", listed.join(", "))
        };
        RemoteError(format!(
            "model '{}' is not available at {} (HTTP {}: {}); {has}",
            self.url.model,
            self.url,
            answer.status,
            kserve::error_text(&answer.body)
        ))
    }

    /// Sends a request on an idle connection (or a new one) and returns the
    /// connection to the pool. A connection that fails before an answer
    /// (refused, reset, closed while idle) is retried on a new one with
    /// growing waits; a timeout is not retried: the server is busy or stuck.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[&[u8]],
    ) -> Result<http::Response, RemoteError> {
        let started = Instant::now();
        let mut backoff = self.options.first_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let reused = pooled.is_some();
            let outcome = match pooled {
                Some(connection) => Ok(connection),
                None => http::Connection::open(&self.url.authority, self.options.timeout),
            }
            .and_then(|mut connection| {
                connection
                    .request(method, path, headers, body)
                    .map(|answer| (connection, answer))
            });
            let error = match outcome {
                Ok((connection, answer)) => {
                    if !connection.is_closed() {
                        self.idle
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(connection);
                    }
                    return Ok(answer);
                }
                Err(error) => error,
            };
            if is_timeout(&error) {
                return Err(RemoteError(format!(
                    "the server at {} did not answer within {} ms (remote-timeout); it is stuck or overloaded",
                    self.url,
                    self.options.timeout.as_millis()
                )));
            }
            if error.kind() == io::ErrorKind::InvalidData {
                return Err(RemoteError(format!(
                    "the server at {} did not answer in HTTP: {error}; is {} a KServe v2 HTTP port?",
                    self.url, self.url.authority
                )));
            }
            // A kept-alive connection the server closed meanwhile: try a
            // fresh one at once, it does not count as an attempt.
            if reused {
                attempt -= 1;
                continue;
            }
            if attempt >= self.options.connect_attempts {
                return Err(RemoteError(format!(
                    "cannot reach the model server at {}: {error} ({attempt} attempts over {:.1} s); start the server or fix the model URL",
                    self.url,
                    started.elapsed().as_secs_f64()
                )));
            }
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    fn options() -> RemoteOptions {
        RemoteOptions {
            timeout: Duration::from_millis(500),
            connect_attempts: 3,
            first_backoff: Duration::from_millis(10),
        }
    }

    /// A server that reads each request and answers with `answer(path)`
    /// (`None`: say nothing for 2 s), each connection on a thread of its own.
    fn serve(answer: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let answer = std::sync::Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let answer = answer.clone();
                std::thread::spawn(move || serve_connection(stream, answer.as_ref()));
            }
        });
        authority
    }

    fn serve_connection(stream: std::net::TcpStream, answer: &dyn Fn(&str) -> Option<Vec<u8>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let path = line.split(' ').nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    return;
                }
                if header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            match answer(&path) {
                Some(bytes) => {
                    if writer.write_all(&bytes).is_err() {
                        return;
                    }
                }
                None => {
                    std::thread::sleep(Duration::from_secs(2));
                    return;
                }
            }
        }
    }

    fn json_answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    const METADATA: &str = r#"{"name":"m","versions":[],"inputs":[{"name":"x","datatype":"FP32","shape":[1,2]}],"outputs":[{"name":"y","datatype":"FP32","shape":[1,2]}]}"#;

    fn url(authority: &str, model: &str) -> ModelUrl {
        ModelUrl::parse(&format!("http://{authority}/v2/models/{model}")).unwrap()
    }

    #[test]
    fn a_server_not_listening_is_retried_then_named() {
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let err = RemoteModel::open(&url(&free, "m"), options())
            .err()
            .unwrap()
            .0;
        assert!(
            err.contains("cannot reach the model server")
                && err.contains(&free)
                && err.contains("3 attempts"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_model_lists_what_the_server_has() {
        let authority = serve(|path| {
            Some(match path {
                "/v2/repository/index" => json_answer(
                    "200 OK",
                    r#"[{"name":"centerface"},{"name":"efficientnet"}]"#,
                ),
                "/v2" => json_answer("200 OK", r#"{"extensions":[]}"#),
                _ => json_answer(
                    "404 Not Found",
                    r#"{"error":"Request for unknown model: 'nope' is not found"}"#,
                ),
            })
        });
        let err = RemoteModel::open(&url(&authority, "nope"), options())
            .err()
            .unwrap()
            .0;
        assert!(
            err.contains("model 'nope' is not available")
                && err.contains("the server has: centerface, efficientnet"),
            "{err}"
        );
    }

    #[test]
    fn json_inference_errors_and_timeouts_are_told_apart() {
        let authority = serve(|path| match path {
            "/v2" => Some(json_answer("200 OK", r#"{"extensions":[]}"#)),
            "/v2/models/m" | "/v2/models/slow" | "/v2/models/broken" => {
                Some(json_answer("200 OK", METADATA))
            }
            "/v2/models/m/infer" => Some(json_answer(
                "200 OK",
                r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[1,2],"data":[3,4]}]}"#,
            )),
            "/v2/models/broken/infer" => Some(json_answer(
                "500 Internal Server Error",
                r#"{"error":"model.py raised"}"#,
            )),
            _ => None,
        });
        let model = RemoteModel::open(&url(&authority, "m"), options()).unwrap();
        assert!(!model.binary);
        assert_eq!(model.info.inputs[0].shape, vec![Some(1), Some(2)]);
        let outputs = model
            .infer("x", &[1, 2], TensorData::F32(&[1.0, 2.0]))
            .unwrap();
        assert_eq!(outputs[0].data, vec![3.0, 4.0]);
        // The same connection served all of it.
        assert_eq!(model.idle.lock().unwrap().len(), 1);
        let broken = RemoteModel::open(&url(&authority, "broken"), options()).unwrap();
        let err = broken
            .infer("x", &[1, 2], TensorData::F32(&[1.0, 2.0]))
            .unwrap_err()
            .0;
        assert!(
            err.contains("HTTP 500") && err.contains("model.py raised"),
            "{err}"
        );
        let slow = RemoteModel::open(&url(&authority, "slow"), options()).unwrap();
        let err = slow
            .infer("x", &[1, 2], TensorData::F32(&[1.0, 2.0]))
            .unwrap_err()
            .0;
        assert!(err.contains("did not answer within 500 ms"), "{err}");
    }

    #[test]
    fn garbage_is_not_taken_for_an_answer() {
        let authority = serve(|_| Some(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()));
        let err = RemoteModel::open(&url(&authority, "m"), options())
            .err()
            .unwrap()
            .0;
        assert!(err.contains("did not answer in HTTP"), "{err}");
    }
}

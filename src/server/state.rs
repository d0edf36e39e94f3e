//! What the server keeps (services, resources, streams) and the operations
//! on them, each as DeepDetect answers it. Plain blocking code: the routes
//! run the slow ones (a predict, a stream's start and stop) off the async
//! threads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{Value, json};

use super::access::AllowedDirs;
use super::config::Config;
use super::dd::{DdError, OutputOptions, prediction_json};
use super::media::{Output, Source, readable};
use super::model_repo::{ModelRepository, RepositoryError};
use super::model_spec::{ModelSpec, ModelUse, check_overrides};
use super::pipeline::stream_pipelines;
use super::resource::Resource;
use super::service::{Overrides, Service, ServiceRequest, extract_layer};
use super::stream::Stream;

/// Longest name of a service, resource or stream.
const MAX_NAME_LEN: usize = 128;

/// The server's state, shared by every request.
pub struct AppState {
    pub config: Config,
    pub dirs: AllowedDirs,
    /// Where the server writes its own files (labels files made from `corresp.txt`).
    work_dir: PathBuf,
    registry: Mutex<Registry>,
    /// Held while a stream starts, so `--max-streams` is never overrun.
    stream_start: Mutex<()>,
    next_generation: AtomicU64,
    next_job: AtomicU64,
}

#[derive(Default)]
struct Registry {
    services: BTreeMap<String, Arc<Service>>,
    resources: BTreeMap<String, Arc<Resource>>,
    streams: BTreeMap<String, Arc<Stream>>,
}

/// A successful answer: HTTP status, `head`, `body`.
pub type Answer = (axum::http::StatusCode, Option<Value>, Option<Value>);

fn created(head: Value) -> Answer {
    (axum::http::StatusCode::CREATED, Some(head), None)
}

fn ok(head: Option<Value>, body: Option<Value>) -> Answer {
    (axum::http::StatusCode::OK, head, body)
}

/// Names become file names and URL parts: keep them plain.
pub fn check_name(kind: &str, name: &str) -> Result<(), DdError> {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !name.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(DdError::bad_request(format!(
            "{kind} name {name:?}: use 1 to {MAX_NAME_LEN} letters, digits, '_', '-' or '.' (not first)"
        )))
    }
}

fn string_field<'a>(body: &'a Value, key: &str, what: &str) -> Result<&'a str, DdError> {
    body.get(key).and_then(Value::as_str).ok_or_else(|| {
        DdError::bad_request(format!("\"{key}\" is missing or not a string: {what}"))
    })
}

impl AppState {
    /// Resolves the allowed directories and makes the work directory.
    pub fn new(config: Config) -> Result<Self, String> {
        let dirs = AllowedDirs::new(&config.allow_dirs)?;
        let work_dir = std::env::temp_dir().join(format!("gst-dl-server-{}", std::process::id()));
        std::fs::create_dir_all(&work_dir)
            .map_err(|e| format!("cannot create {}: {e}", work_dir.display()))?;
        Ok(AppState {
            config,
            dirs,
            work_dir,
            registry: Mutex::new(Registry::default()),
            stream_start: Mutex::new(()),
            next_generation: AtomicU64::new(1),
            next_job: AtomicU64::new(1),
        })
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic elsewhere must not take the server down with it.
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn service(&self, name: &str) -> Result<Arc<Service>, DdError> {
        self.registry()
            .services
            .get(name)
            .cloned()
            .ok_or_else(|| DdError::service_not_found(name))
    }

    fn resource(&self, id: &str) -> Result<Arc<Resource>, DdError> {
        self.registry().resources.get(id).cloned().ok_or_else(|| {
            DdError::not_found(format!(
                "no resource {id:?} (create it with PUT /resources/{id} {{\"type\": \"video\", \"source\": ...}})"
            ))
        })
    }

    fn stream(&self, name: &str) -> Result<Arc<Stream>, DdError> {
        self.registry().streams.get(name).cloned().ok_or_else(|| {
            DdError::not_found(format!(
                "no stream {name:?} (start one with PUT /stream/{name})"
            ))
        })
    }

    /// `GET /info`.
    pub fn info(&self) -> Answer {
        let registry = self.registry();
        let services: Vec<Value> = registry
            .services
            .values()
            .map(|s| {
                json!({"name": s.name, "description": s.description, "mllib": "onnx",
                       "mltype": "supervised", "predict": true})
            })
            .collect();
        let resources: Vec<Value> = registry
            .resources
            .values()
            .map(|r| json!({"name": r.id, "type": "video", "source": r.source_text, "realtime": r.realtime, "open": r.is_open()}))
            .collect();
        let streams: Vec<Value> = registry
            .streams
            .values()
            .map(|s| {
                json!({"name": s.name, "job": s.job, "status": s.phase().name(),
                            "service": s.service, "resource": s.resource})
            })
            .collect();
        ok(
            Some(
                json!({"method": "/info", "version": env!("CARGO_PKG_VERSION"), "services": services,
                        "resources": resources, "streams": streams}),
            ),
            None,
        )
    }

    /// `PUT /services/{name}`.
    pub fn create_service(&self, name: &str, body: &Value) -> Result<Answer, DdError> {
        check_name("service", name)?;
        let request = ServiceRequest::from_json(body)?;
        let repository = readable(&self.dirs, &request.repository)?;
        let repo = ModelRepository::open(&repository).map_err(|e| match e {
            RepositoryError::Outside(m) => DdError::forbidden(m),
            RepositoryError::Invalid(m) => DdError::service_bad_request(m),
        })?;
        check_overrides(&request.overrides).map_err(DdError::service_bad_request)?;
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let labels_file = match &repo.labels {
            Some(labels) => {
                let path = self.work_dir.join(format!("{name}-{generation}.labels"));
                std::fs::write(&path, labels.join("\n") + "\n").map_err(|e| {
                    DdError::internal(format!("cannot write {}: {e}", path.display()))
                })?;
                Some(path)
            }
            None => None,
        };
        let service = Service {
            name: name.to_owned(),
            description: request.description,
            connector: request.connector,
            repository,
            model: repo.model,
            labels_file,
            overrides: request.overrides,
            extract_layer: request.extract_layer,
            parameters: request.parameters,
            generation,
        };
        let mut registry = self.registry();
        if registry.services.contains_key(name) {
            return Err(DdError::conflict(format!(
                "service {name:?} already exists; DELETE /services/{name} first"
            )));
        }
        registry.services.insert(name.to_owned(), Arc::new(service));
        Ok(created(json!({"method": "/services", "service": name})))
    }

    /// `GET /services/{name}`.
    pub fn get_service(&self, name: &str) -> Result<Answer, DdError> {
        let service = self.service(name)?;
        let jobs: Vec<Value> = self
            .registry()
            .streams
            .values()
            .filter(|s| s.service == name)
            .map(|s| json!({"job": s.job, "status": s.phase().name(), "stream": s.name}))
            .collect();
        Ok(ok(
            None,
            Some(json!({
                "name": service.name,
                "description": service.description,
                "mllib": "onnx",
                "mltype": "supervised",
                "model": {"repository": service.repository, "onnx": service.model},
                "labels": service.labels_file.is_some(),
                "parameters": service.parameters,
                "jobs": jobs,
            })),
        ))
    }

    /// `DELETE /services/{name}`: its streams stop first (outputs finalised).
    pub fn delete_service(&self, name: &str) -> Result<Answer, DdError> {
        let service = self.service(name)?;
        let streams: Vec<Arc<Stream>> = self
            .registry()
            .streams
            .values()
            .filter(|s| s.service == name)
            .cloned()
            .collect();
        for stream in streams {
            stream.finish();
        }
        let resources: Vec<Arc<Resource>> = self.registry().resources.values().cloned().collect();
        for resource in resources {
            resource.close_if_built_for(service.generation);
        }
        self.registry().services.remove(name);
        if let Some(labels) = &service.labels_file {
            let _ = std::fs::remove_file(labels);
        }
        Ok(ok(None, None))
    }

    /// `PUT /resources/{id}`.
    pub fn create_resource(&self, id: &str, body: &Value) -> Result<Answer, DdError> {
        check_name("resource", id)?;
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("video");
        if kind != "video" {
            return Err(DdError::bad_request(format!(
                "resource type {kind:?}: gst-dl serves \"video\""
            )));
        }
        let source_text = string_field(
            body,
            "source",
            "a file, a URL, a page URL or (if allowed) a pipeline",
        )?;
        let realtime = match body.get("realtime") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| DdError::bad_request("\"realtime\" must be true or false"))?,
        };
        let source = Source::parse(source_text, &self.dirs, self.config.allow_pipelines)?;
        let mut registry = self.registry();
        if registry.resources.contains_key(id) {
            return Err(DdError::conflict(format!(
                "resource {id:?} already exists; DELETE /resources/{id} first"
            )));
        }
        registry.resources.insert(
            id.to_owned(),
            Arc::new(Resource::new(
                id.to_owned(),
                source_text.to_owned(),
                source,
                realtime,
            )),
        );
        Ok(created(json!({"method": "/resources", "resource": id})))
    }

    /// `GET /resources/{id}`.
    pub fn get_resource(&self, id: &str) -> Result<Answer, DdError> {
        let r = self.resource(id)?;
        Ok(ok(
            None,
            Some(
                json!({"name": r.id, "type": "video", "source": r.source_text, "realtime": r.realtime, "open": r.is_open()}),
            ),
        ))
    }

    /// `DELETE /resources/{id}`: closes the video; streams reading it stop.
    pub fn delete_resource(&self, id: &str) -> Result<Answer, DdError> {
        let resource = self.resource(id)?;
        let streams: Vec<Arc<Stream>> = self
            .registry()
            .streams
            .values()
            .filter(|s| s.resource == id)
            .cloned()
            .collect();
        for stream in streams {
            stream.finish();
        }
        resource.close();
        self.registry().resources.remove(id);
        Ok(ok(None, None))
    }

    /// The model settings of a predict call (or a stream's `predict`).
    fn model_spec(
        &self,
        service: &Service,
        parameters: Option<&Value>,
        for_stream: bool,
    ) -> Result<ModelSpec, DdError> {
        let call = Overrides::from_parameters(parameters)?;
        let overrides = service.overrides.merged(&call);
        check_overrides(&call).map_err(DdError::service_bad_request)?;
        let layer = extract_layer(parameters).or_else(|| service.extract_layer.clone());
        let model_use = match (layer, for_stream) {
            (Some(_), true) => ModelUse::Transform,
            (Some(layer), false) => ModelUse::Features { layer: Some(layer) },
            (None, _) => ModelUse::Predict,
        };
        let confidence_threshold = parameters
            .and_then(|p| p.get("output"))
            .and_then(|o| o.get("confidence_threshold"))
            .and_then(Value::as_f64);
        Ok(ModelSpec {
            model: service.model.clone(),
            labels_file: service.labels_file.clone(),
            overrides,
            model_use,
            confidence_threshold,
        })
    }

    /// `POST /predict` on `resource:ID` entries. Blocks until each has a frame.
    pub fn predict(&self, body: &Value) -> Result<Answer, DdError> {
        let started = Instant::now();
        let service_name = string_field(body, "service", "the service to predict with")?;
        let service = self.service(service_name)?;
        let parameters = body.get("parameters");
        let options = OutputOptions::from_json(parameters.and_then(|p| p.get("output")))?;
        let spec = self.model_spec(&service, parameters, false)?;
        let data = body
            .get("data")
            .and_then(Value::as_array)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| DdError::no_data("\"data\" must list at least one \"resource:ID\""))?;
        let mut predictions = Vec::new();
        for entry in data {
            let uri = entry.as_str().ok_or_else(|| {
                DdError::bad_request("each \"data\" entry must be a string \"resource:ID\"")
            })?;
            let id = uri.strip_prefix("resource:").ok_or_else(|| {
                DdError::service_input(format!(
                    "data entry {uri:?}: gst-dl predicts on video resources; write \"resource:ID\" after PUT /resources/ID"
                ))
            })?;
            let resource = self.resource(id)?;
            let frame = resource.predict(service.generation, &spec, self.config.predict_timeout)?;
            predictions.push(prediction_json(uri, &frame, &options));
        }
        Ok(ok(
            Some(json!({"method": "/predict", "service": service_name,
                        "time": started.elapsed().as_secs_f64() * 1000.0})),
            Some(json!({"predictions": predictions})),
        ))
    }

    /// `PUT /stream/{name}`: starts it and answers at once.
    pub fn create_stream(&self, name: &str, body: &Value) -> Result<Answer, DdError> {
        check_name("stream", name)?;
        let predict = body.get("predict").ok_or_else(|| {
            DdError::bad_request("\"predict\" is missing: {\"service\", \"parameters\", \"data\"}")
        })?;
        let video_out = body
            .get("output")
            .and_then(|o| o.get("video_out"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                DdError::bad_request("\"output.video_out\" is missing: a file path or a pipeline starting with appsrc")
            })?;
        let service_name = string_field(predict, "service", "the service to run")?;
        let service = self.service(service_name)?;
        let data = predict
            .get("data")
            .and_then(Value::as_array)
            .filter(|d| d.len() == 1)
            .and_then(|d| d[0].as_str())
            .ok_or_else(|| {
                DdError::no_data(
                    "predict.data must hold one resource, [\"ID\"] or [\"resource:ID\"]",
                )
            })?;
        let resource_id = data.strip_prefix("resource:").unwrap_or(data);
        let resource = self.resource(resource_id)?;
        let spec = self.model_spec(&service, predict.get("parameters"), true)?;
        let output = Output::parse(video_out, &self.dirs, self.config.allow_pipelines)?;

        let _one_at_a_time = self.stream_start.lock().unwrap_or_else(|p| p.into_inner());
        {
            let registry = self.registry();
            if registry.streams.contains_key(name) {
                return Err(DdError::conflict(format!(
                    "stream {name:?} already exists; DELETE /stream/{name} first"
                )));
            }
            if let Some(other) = registry
                .streams
                .values()
                .find(|s| s.is_running() && s.video_out.trim() == video_out.trim())
            {
                return Err(DdError::conflict(format!(
                    "stream {:?} is writing to {video_out:?}; choose another video_out",
                    other.name
                )));
            }
            let running = registry.streams.values().filter(|s| s.is_running()).count();
            if running >= self.config.max_streams {
                return Err(DdError::unavailable(format!(
                    "{running} streams are running, the most this server runs at once (--max-streams {}); \
                     wait for one to end or DELETE one",
                    self.config.max_streams
                )));
            }
        }
        let pipelines = stream_pipelines(&resource.source, resource.realtime, &spec, &output)
            .map_err(DdError::mllib)?;
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let stream = Stream::start(
            name.to_owned(),
            job,
            resource_id.to_owned(),
            service_name.to_owned(),
            video_out.to_owned(),
            pipelines,
        )
        .map_err(|why| DdError::mllib(format!("stream {name}: {why}")))?;
        self.registry().streams.insert(name.to_owned(), stream);
        Ok(created(
            json!({"method": "/predict", "job": job, "status": "running"}),
        ))
    }

    /// `GET /stream/{name}`.
    pub fn get_stream(&self, name: &str) -> Result<Answer, DdError> {
        let (head, body) = self.stream(name)?.report();
        Ok(ok(Some(head), Some(body)))
    }

    /// `DELETE /stream/{name}`: stops it cleanly (a file output is finalised)
    /// and answers its last status.
    pub fn delete_stream(&self, name: &str) -> Result<Answer, DdError> {
        let stream = self.stream(name)?;
        stream.finish();
        self.registry().streams.remove(name);
        let (head, body) = stream.report();
        Ok(ok(Some(head), Some(body)))
    }

    /// At shutdown: every stream finishes (outputs finalised), every
    /// pipeline stops, the work directory goes.
    pub fn shut_down(&self) {
        let streams: Vec<Arc<Stream>> = self.registry().streams.values().cloned().collect();
        for stream in streams {
            stream.finish();
        }
        let resources: Vec<Arc<Resource>> = self.registry().resources.values().cloned().collect();
        for resource in resources {
            resource.close();
        }
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        for good in ["imageserv", "yt_video", "file-video.1"] {
            assert!(check_name("service", good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "a b", "../x", &"x".repeat(129)] {
            assert!(check_name("service", bad).is_err(), "{bad}");
        }
    }
}

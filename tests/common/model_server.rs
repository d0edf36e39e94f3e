//! Real KServe v2 servers for the served-model tests: Triton and MLServer,
//! from the venvs `scripts/setup.sh --tests` installs, started on free
//! loopback ports with `scripts/serve_models.py` and stopped by their PID
//! when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gstdl::remote::http::Connection;

use super::free_port;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Triton Inference Server 2.51 (nvidia-pytriton 0.7.0), python backend.
    Triton,
    /// MLServer 1.7.1 with a custom onnxruntime runtime.
    MlServer,
}

/// A running server; killed (by PID) and waited for when dropped.
pub struct ModelServer {
    child: Child,
    /// Its HTTP port.
    pub http_port: u16,
    /// Its gRPC port.
    pub grpc_port: u16,
    _workdir: tempfile::TempDir,
    log: PathBuf,
    /// Whether `stop` ran (the group is killed once).
    stopped: bool,
}

impl ModelServer {
    /// Starts `kind` serving `models` (name, ONNX file) and waits until it
    /// is ready (at most 120 s: the machine may be busy).
    pub fn start(kind: Kind, models: &[(&str, &Path)]) -> Self {
        let venv = super::root().join(match kind {
            Kind::Triton => ".venv-triton",
            Kind::MlServer => ".venv-mlserver",
        });
        let python = venv.join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh --tests first",
            venv.display()
        );
        let workdir = tempfile::tempdir().unwrap();
        let log = workdir.path().join("server.log");
        let (http_port, grpc_port) = (free_port(), free_port());
        let mut command = Command::new(&python);
        command
            .arg(super::root().join("scripts/serve_models.py"))
            .arg(match kind {
                Kind::Triton => "triton",
                Kind::MlServer => "mlserver",
            })
            .arg(workdir.path())
            .arg(http_port.to_string())
            .arg(grpc_port.to_string())
            // One intra-op thread per model: the tests share 2 cores.
            .env("SERVE_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(workdir.path().join("server.err")).unwrap());
        for (name, file) in models {
            command.arg(format!("{name}={}", file.display()));
        }
        // Its own process group, so that stopping it also stops what it
        // started (Triton's python backend stubs outlive a killed server).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("the server starts");
        let mut server = Self {
            child,
            http_port,
            grpc_port,
            _workdir: workdir,
            log,
            stopped: false,
        };
        let names: Vec<&str> = models.iter().map(|(name, _)| *name).collect();
        server.wait_ready(&names, Duration::from_secs(120));
        server
    }

    /// Waits until the server and every model say they are ready (MLServer
    /// says the server is ready before its models are loaded).
    fn wait_ready(&mut self, models: &[&str], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let authority = format!("127.0.0.1:{}", self.http_port);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the model server exited ({status}) before it was ready:\n{}",
                    self.logs()
                );
            }
            let ready = Connection::open(&authority, Duration::from_secs(2)).is_ok_and(|mut c| {
                let mut paths = vec!["/v2/health/ready".to_string()];
                paths.extend(models.iter().map(|m| format!("/v2/models/{m}/ready")));
                paths.iter().all(|path| {
                    c.request("GET", path, &[], &[])
                        .is_ok_and(|r| r.status == 200)
                })
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the model server was not ready within {timeout:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The server's output so far, for failure messages.
    pub fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let text = read(&self.log) + &read(&self.log.with_file_name("server.err"));
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// `http://127.0.0.1:PORT/v2/models/NAME`.
    pub fn http_url(&self, model: &str) -> String {
        format!("http://127.0.0.1:{}/v2/models/{model}", self.http_port)
    }

    /// `grpc://127.0.0.1:PORT/NAME`.
    pub fn grpc_url(&self, model: &str) -> String {
        format!("grpc://127.0.0.1:{}/{model}", self.grpc_port)
    }

    /// Stops the server now (SIGKILL to its PID's process group: the server
    /// and the processes it started) and waits for it.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // The group first: Linux keeps its id from reuse while any of it
        // lives, even when the server itself has exited.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop();
    }
}

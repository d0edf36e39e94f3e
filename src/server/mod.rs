//! `gst-dl-server`: DeepDetect's video API answered by GStreamer pipelines
//! of gst-dl elements.
//!
//! A DeepDetect *service* is a model (dlinfer, or dltransform for a
//! frame-to-frame model), a *resource* a video source, `POST /predict` on
//! `resource:ID` the next frame through the model, and `PUT /stream` the
//! whole video through it to a file or a pipeline, with dlstats giving the
//! status. The pieces, one job each:
//!
//! - [`config`]: the command line and `--help`;
//! - [`access`]: `--allow-dir` checks on resolved paths, the token compare;
//! - [`dd`]: DeepDetect's bodies and errors;
//! - [`model_repo`]: a `model.repository` (one `.onnx`, `corresp.txt`);
//! - [`service`]: a service's request and its element settings;
//! - [`media`]: sources and outputs, read and checked;
//! - [`model_spec`]: the model element and a client's settings on it;
//! - [`pipeline`]: pipelines built element by element;
//! - [`resource`]: resources and predict; [`stream`]: streams;
//! - [`state`]: what the server keeps, and each route's operation;
//! - [`routes`]: HTTP (axum).

pub mod access;
pub mod config;
pub mod dd;
pub mod media;
pub mod model_repo;
pub mod model_spec;
pub mod pipeline;
pub mod resource;
pub mod routes;
pub mod service;
pub mod state;
pub mod stream;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use config::{Command, Config, HELP, TOKEN_ENV, parse_args};
use state::AppState;

/// The program: parses the command line, serves until SIGINT or SIGTERM,
/// then stops every stream cleanly (their files are finalised).
pub fn main_with_args(args: impl IntoIterator<Item = String>) -> ExitCode {
    let config = match parse_args(args, std::env::var(TOKEN_ENV).ok()) {
        Ok(Command::Serve(config)) => config,
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("gst-dl-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("gst-dl-server: {message}");
            return ExitCode::from(2);
        }
    };
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gst-dl-server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server with `config` until a stop signal.
pub fn serve(config: Config) -> Result<(), String> {
    gst::init().map_err(|e| format!("GStreamer does not initialise: {e}"))?;
    // The elements are registered in-process, so no GST_PLUGIN_PATH is needed.
    crate::plugin_register_static()
        .map_err(|e| format!("the gst-dl elements do not register: {e}"))?;
    let state = Arc::new(AppState::new(config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(state.config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", state.config.listen))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{address}");
        let _ = std::io::stdout().flush();
        axum::serve(listener, routes::router(Arc::clone(&state)))
            .with_graceful_shutdown(stop_signal())
            .await
            .map_err(|e| format!("the server failed: {e}"))
    });
    state.shut_down();
    served
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

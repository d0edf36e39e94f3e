//! Finding and loading the ONNX Runtime shared library.
//!
//! The crate links ONNX Runtime at run time (`ort`'s `load-dynamic`), because
//! the only places it can come from here are package registries: the PyPI
//! wheel ships `onnxruntime/capi/libonnxruntime.so.<version>` without an
//! unversioned symlink. `ORT_DYLIB_PATH`, when set, is the only place tried:
//! a user who names a library means that one, and silently running another
//! would hide their mistake. Otherwise we look, in order, at the active
//! virtualenv (`VIRTUAL_ENV`), the project's own `.venv`, and finally the
//! system loader. The first library that loads wins for the whole process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The PyPI package and version the set-up installs; named in error messages.
pub const WHEEL_REQUIREMENT: &str = "onnxruntime==1.31.1";

/// A loaded ONNX Runtime: where it came from and its environment.
pub struct LoadedRuntime {
    /// The library file that was loaded.
    pub path: PathBuf,
    /// The process-wide ONNX Runtime environment that sessions are built on.
    pub environment: ort::environment::Environment,
}

/// Why no ONNX Runtime library could be loaded: every place tried, with its error.
#[derive(Debug, Clone)]
pub struct RuntimeLoadError {
    /// Each candidate and why it failed, in the order tried.
    pub attempts: Vec<(String, String)>,
}

impl std::fmt::Display for RuntimeLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "could not load the ONNX Runtime library; tried:")?;
        for (place, why) in &self.attempts {
            writeln!(f, "  - {place}: {why}")?;
        }
        write!(
            f,
            "fix: `pip install {WHEEL_REQUIREMENT}` into the project's .venv (the set-up scripts do it), \
             or point ORT_DYLIB_PATH at a libonnxruntime.so (version 1.17 or newer)"
        )
    }
}

impl std::error::Error for RuntimeLoadError {}

static RUNTIME: OnceLock<Result<LoadedRuntime, RuntimeLoadError>> = OnceLock::new();

/// Loads ONNX Runtime on first use and returns it; later calls return the same
/// result (a failure is remembered too: the process cannot load a second
/// library once `ort` has bound one).
pub fn ensure_loaded() -> Result<&'static LoadedRuntime, RuntimeLoadError> {
    RUNTIME
        .get_or_init(load_first_candidate)
        .as_ref()
        .map_err(Clone::clone)
}

/// Where a library may be, in the order we try them.
fn candidates() -> Vec<(String, Option<PathBuf>)> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return vec![("ORT_DYLIB_PATH".to_string(), Some(PathBuf::from(path)))];
    }
    let mut found = vec![("ORT_DYLIB_PATH".to_string(), None)];
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        push_venv_candidates(&mut found, "active virtualenv", Path::new(&venv));
    }
    let project_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
    push_venv_candidates(&mut found, "project .venv", &project_venv);
    for name in ["libonnxruntime.so", "libonnxruntime.so.1"] {
        found.push((format!("system loader ({name})"), Some(PathBuf::from(name))));
    }
    found
}

fn push_venv_candidates(found: &mut Vec<(String, Option<PathBuf>)>, what: &str, venv: &Path) {
    let libs = onnxruntime_libs_in_venv(venv);
    if libs.is_empty() {
        found.push((format!("{what} {}", venv.display()), None));
    }
    for lib in libs {
        found.push((what.to_string(), Some(lib)));
    }
}

/// `libonnxruntime.so*` files of the `onnxruntime` (or `onnxruntime-gpu`)
/// wheel inside a virtualenv, newest version first.
pub fn onnxruntime_libs_in_venv(venv: &Path) -> Vec<PathBuf> {
    let mut libs = Vec::new();
    let Ok(lib_dirs) = std::fs::read_dir(venv.join("lib")) else {
        return libs;
    };
    for python_dir in lib_dirs.flatten() {
        let capi = python_dir.path().join("site-packages/onnxruntime/capi");
        let Ok(entries) = std::fs::read_dir(&capi) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("libonnxruntime.so") {
                libs.push(entry.path());
            }
        }
    }
    libs.sort();
    libs.reverse();
    libs
}

fn load_first_candidate() -> Result<LoadedRuntime, RuntimeLoadError> {
    let mut attempts = Vec::new();
    for (place, path) in candidates() {
        let Some(path) = path else {
            attempts.push((place, "not set or not present".to_string()));
            continue;
        };
        match load_from(&path) {
            Ok(environment) => return Ok(LoadedRuntime { path, environment }),
            Err(why) => attempts.push((format!("{place} {}", path.display()), why)),
        }
    }
    Err(RuntimeLoadError { attempts })
}

fn load_from(path: &Path) -> Result<ort::environment::Environment, String> {
    let builder = ort::init_from(path).map_err(|e| e.to_string())?;
    builder
        .with_name("gst-dl")
        .with_telemetry(false)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_wheel_library_inside_a_venv_layout() {
        let venv = tempfile::tempdir().unwrap();
        let capi = venv
            .path()
            .join("lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"").unwrap();
        std::fs::write(capi.join("onnxruntime_pybind11_state.so"), b"").unwrap();
        let libs = onnxruntime_libs_in_venv(venv.path());
        assert_eq!(libs, vec![capi.join("libonnxruntime.so.1.31.1")]);
    }

    #[test]
    fn a_missing_venv_has_no_libraries() {
        assert!(onnxruntime_libs_in_venv(Path::new("/nonexistent/venv")).is_empty());
    }

    #[test]
    fn the_error_names_every_place_and_the_fix() {
        let err = RuntimeLoadError {
            attempts: vec![
                ("ORT_DYLIB_PATH".into(), "not set or not present".into()),
                (
                    "system loader (libonnxruntime.so)".into(),
                    "cannot open".into(),
                ),
            ],
        };
        let text = err.to_string();
        assert!(text.contains("ORT_DYLIB_PATH: not set"));
        assert!(text.contains("system loader (libonnxruntime.so): cannot open"));
        assert!(text.contains("pip install onnxruntime==1.31.1"));
    }
}

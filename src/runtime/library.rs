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
    /// Whether the environment has one CPU arena for sessions to share (see
    /// [`super::shared_arena`]); if registering it failed, each session
    /// keeps its own, as ONNX Runtime does by default.
    pub shared_cpu_arena: bool,
}

/// The oldest ONNX Runtime gst-dl can use is 1.`MINIMUM_MINOR`: `ort` asks
/// the library for this version of the C API, which only 1.`MINIMUM_MINOR`
/// and later provide. The C API is backward compatible, so any newer 1.x
/// serves it (the wheel the set-up installs is one).
pub const MINIMUM_MINOR: u32 = ort::MINOR_VERSION;

/// Why no ONNX Runtime library could be loaded: every place tried, with its error.
#[derive(Debug, Clone)]
pub struct RuntimeLoadError {
    /// Each candidate and why it failed, in the order tried.
    pub attempts: Vec<(String, String)>,
    /// The first library found whose version gst-dl cannot use, described
    /// (see [`describe_unusable_version`]): the likeliest thing to fix.
    pub unusable_version: Option<String>,
    /// Whether the user named the library with `ORT_DYLIB_PATH`.
    pub dylib_path_set: bool,
}

impl std::fmt::Display for RuntimeLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.unusable_version {
            // The one library tried is named in the headline already.
            Some(headline) if self.attempts.len() == 1 => writeln!(f, "{headline}")?,
            Some(headline) => writeln!(f, "{headline}; tried:")?,
            None => writeln!(f, "could not load the ONNX Runtime library; tried:")?,
        }
        if self.unusable_version.is_none() || self.attempts.len() > 1 {
            for (place, why) in &self.attempts {
                writeln!(f, "  - {place}: {why}")?;
            }
        }
        if self.dylib_path_set {
            write!(
                f,
                "fix: point ORT_DYLIB_PATH at a libonnxruntime.so of version 1.{MINIMUM_MINOR} or newer, \
                 or unset it to use the project's .venv (`pip install {WHEEL_REQUIREMENT}` there; the set-up scripts do it)"
            )
        } else {
            write!(
                f,
                "fix: `pip install {WHEEL_REQUIREMENT}` into the project's .venv (the set-up scripts do it), \
                 or point ORT_DYLIB_PATH at a libonnxruntime.so (version 1.{MINIMUM_MINOR} or newer)"
            )
        }
    }
}

impl std::error::Error for RuntimeLoadError {}

/// `major.minor` of an ONNX Runtime version string such as `1.14.1`.
pub fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Says why the ONNX Runtime `version` found at `path` cannot be used, for a
/// library that `ort` refused for its version.
pub fn describe_unusable_version(version: &str, path: &Path) -> String {
    let path = path.display();
    match parse_major_minor(version) {
        Some(found) if found < (1, MINIMUM_MINOR) => format!(
            "ONNX Runtime {version} at {path} is too old: gst-dl needs 1.{MINIMUM_MINOR} or newer"
        ),
        // `ort` reads only the minor number, so a 2.x would be refused as
        // "older" than 1.17; say what it really is.
        Some((major, _)) if major > 1 => format!(
            "ONNX Runtime {version} at {path} is a new major version, which the ONNX Runtime binding \
             gst-dl is built on (the ort crate) does not accept: use a 1.x, 1.{MINIMUM_MINOR} or newer"
        ),
        _ => format!(
            "ONNX Runtime at {path} reports version '{version}', which gst-dl cannot use: \
             it needs 1.{MINIMUM_MINOR} or newer"
        ),
    }
}

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
    let mut error = RuntimeLoadError {
        attempts: Vec::new(),
        unusable_version: None,
        dylib_path_set: std::env::var_os("ORT_DYLIB_PATH").is_some_and(|v| !v.is_empty()),
    };
    for (place, path) in candidates() {
        let Some(path) = path else {
            error
                .attempts
                .push((place, "not set or not present".to_string()));
            continue;
        };
        match load_from(&path) {
            Ok(environment) => {
                let shared_cpu_arena = super::shared_arena::register(&environment).is_ok();
                return Ok(LoadedRuntime {
                    path,
                    environment,
                    shared_cpu_arena,
                });
            }
            Err(LoadFailure::UnusableVersion(why)) => {
                error.unusable_version.get_or_insert_with(|| why.clone());
                error
                    .attempts
                    .push((format!("{place} {}", path.display()), why));
            }
            Err(LoadFailure::Other(why)) => error
                .attempts
                .push((format!("{place} {}", path.display()), why)),
        }
    }
    Err(error)
}

enum LoadFailure {
    /// The library loaded but is of a version `ort` refuses.
    UnusableVersion(String),
    /// Anything else: not there, not a library, no environment.
    Other(String),
}

fn load_from(path: &Path) -> Result<ort::environment::Environment, LoadFailure> {
    // `ort` checks the version before it asks for the C API, so a library
    // too old to provide it is an error here, not a null API table later.
    let builder = ort::init_from(path).map_err(|e| match e {
        ort::LoadDynamicError::BadVersion { version_str, path } => {
            LoadFailure::UnusableVersion(describe_unusable_version(&version_str, &path))
        }
        other => LoadFailure::Other(other.to_string()),
    })?;
    builder
        .with_name("gst-dl")
        .with_telemetry(false)
        .build()
        .map_err(|e| LoadFailure::Other(e.to_string()))
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
            unusable_version: None,
            dylib_path_set: false,
        };
        let text = err.to_string();
        assert!(text.starts_with("could not load the ONNX Runtime library; tried:"));
        assert!(text.contains("ORT_DYLIB_PATH: not set"));
        assert!(text.contains("system loader (libonnxruntime.so): cannot open"));
        assert!(text.contains("pip install onnxruntime==1.31.1"));
    }

    #[test]
    fn versions_are_read_as_major_and_minor() {
        assert_eq!(parse_major_minor("1.14.1"), Some((1, 14)));
        assert_eq!(parse_major_minor("1.31.1"), Some((1, 31)));
        assert_eq!(parse_major_minor("2.0"), Some((2, 0)));
        assert_eq!(parse_major_minor("1"), None);
        assert_eq!(parse_major_minor("1.x.0"), None);
        assert_eq!(parse_major_minor(""), None);
    }

    #[test]
    fn the_minimum_is_1_17_and_the_wheel_we_install_meets_it() {
        assert_eq!(MINIMUM_MINOR, 17);
        let wheel = WHEEL_REQUIREMENT.trim_start_matches("onnxruntime==");
        let (major, minor) = parse_major_minor(wheel).unwrap();
        assert!(major == 1 && minor >= MINIMUM_MINOR, "{WHEEL_REQUIREMENT}");
    }

    #[test]
    fn an_unusable_version_is_described_with_what_is_needed() {
        let path = Path::new("/opt/ort/libonnxruntime.so.1.14.1");
        assert_eq!(
            describe_unusable_version("1.14.1", path),
            "ONNX Runtime 1.14.1 at /opt/ort/libonnxruntime.so.1.14.1 is too old: \
             gst-dl needs 1.17 or newer"
        );
        assert!(describe_unusable_version("1.16.3", path).contains("1.16.3 at /opt/ort/"));
        let newer = describe_unusable_version("2.0.0", path);
        assert!(
            newer.contains("2.0.0")
                && newer.contains("new major version")
                && newer.contains("1.17"),
            "{newer}"
        );
        let odd = describe_unusable_version("banana", path);
        assert!(
            odd.contains("'banana'") && odd.contains("1.17 or newer"),
            "{odd}"
        );
    }

    #[test]
    fn a_named_library_of_an_unusable_version_leads_the_message() {
        let why = describe_unusable_version("1.14.1", Path::new("/old/libonnxruntime.so"));
        let err = RuntimeLoadError {
            attempts: vec![("ORT_DYLIB_PATH /old/libonnxruntime.so".into(), why.clone())],
            unusable_version: Some(why),
            dylib_path_set: true,
        };
        let text = err.to_string();
        assert!(
            text.starts_with("ONNX Runtime 1.14.1 at /old/libonnxruntime.so is too old"),
            "{text}"
        );
        assert_eq!(text.matches("/old/libonnxruntime.so").count(), 1, "{text}");
        assert!(
            text.contains(
                "fix: point ORT_DYLIB_PATH at a libonnxruntime.so of version 1.17 or newer"
            ) && text.contains("unset it")
                && text.contains("pip install onnxruntime==1.31.1"),
            "{text}"
        );
    }
}

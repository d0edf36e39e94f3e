//! What a client may touch: files only inside `--allow-dir` directories
//! (checked on the resolved path, so `..` and symbolic links cannot escape),
//! and the bearer token, compared in constant time.

use std::path::{Component, Path, PathBuf};

/// The directories clients may read from and write to, resolved once.
#[derive(Debug, Clone, Default)]
pub struct AllowedDirs {
    dirs: Vec<PathBuf>,
}

impl AllowedDirs {
    /// Resolves each directory; one that does not exist is an error.
    pub fn new(dirs: &[PathBuf]) -> Result<Self, String> {
        let dirs = dirs
            .iter()
            .map(|dir| {
                let resolved = dir
                    .canonicalize()
                    .map_err(|e| format!("--allow-dir {}: {e}", dir.display()))?;
                if !resolved.is_dir() {
                    return Err(format!("--allow-dir {} is not a directory", dir.display()));
                }
                Ok(resolved)
            })
            .collect::<Result<_, _>>()?;
        Ok(AllowedDirs { dirs })
    }

    /// The resolved directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn inside(&self, resolved: &Path) -> bool {
        self.dirs.iter().any(|dir| resolved.starts_with(dir))
    }

    fn outside_error(&self, given: &str) -> String {
        if self.dirs.is_empty() {
            format!(
                "{given:?} is refused: the server allows no local files; start it with --allow-dir DIR"
            )
        } else {
            let dirs: Vec<_> = self.dirs.iter().map(|d| d.display().to_string()).collect();
            format!(
                "{given:?} is outside the directories the server allows (--allow-dir: {})",
                dirs.join(", ")
            )
        }
    }

    /// An existing file or directory that may be read: its resolved path.
    pub fn readable(&self, given: &str) -> Result<PathBuf, AccessError> {
        let path = absolute(given)?;
        let resolved = path.canonicalize().map_err(|e| {
            // Say "outside" before "missing", so probing does not reveal what exists.
            if self.inside(&lexically_normal(&path)) {
                AccessError::Missing(format!("{given:?} cannot be read: {e}"))
            } else {
                AccessError::Outside(self.outside_error(given))
            }
        })?;
        if self.inside(&resolved) {
            Ok(resolved)
        } else {
            Err(AccessError::Outside(self.outside_error(given)))
        }
    }

    /// A file that may be written (it may not exist yet; its directory must):
    /// the resolved directory joined with the file name.
    pub fn writable(&self, given: &str) -> Result<PathBuf, AccessError> {
        let path = absolute(given)?;
        let Some(name) = path.file_name() else {
            return Err(AccessError::Invalid(format!("{given:?} names no file")));
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        let dir = parent.canonicalize().map_err(|e| {
            if self.inside(&lexically_normal(parent)) {
                AccessError::Missing(format!("the directory of {given:?} cannot be used: {e}"))
            } else {
                AccessError::Outside(self.outside_error(given))
            }
        })?;
        let target = dir.join(name);
        // An existing link could point anywhere: resolve it too.
        let resolved = match target.symlink_metadata() {
            Ok(_) => target
                .canonicalize()
                .map_err(|_| AccessError::Outside(self.outside_error(given)))?,
            Err(_) => target,
        };
        if self.inside(&resolved) && !resolved.is_dir() {
            Ok(resolved)
        } else if resolved.is_dir() {
            Err(AccessError::Invalid(format!(
                "{given:?} is a directory, not a file"
            )))
        } else {
            Err(AccessError::Outside(self.outside_error(given)))
        }
    }
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessError {
    /// Outside every allowed directory (HTTP 403).
    Outside(String),
    /// Inside, but absent or unreadable (HTTP 400).
    Missing(String),
    /// Not a usable path at all (HTTP 400).
    Invalid(String),
}

impl AccessError {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            AccessError::Outside(m) | AccessError::Missing(m) | AccessError::Invalid(m) => m,
        }
    }
}

fn absolute(given: &str) -> Result<PathBuf, AccessError> {
    let path = Path::new(given);
    if given.is_empty() || given.contains('\0') {
        return Err(AccessError::Invalid(format!("{given:?} is not a path")));
    }
    if !path.is_absolute() {
        return Err(AccessError::Invalid(format!(
            "{given:?} is a relative path; give an absolute one (the server's directory is not the client's)"
        )));
    }
    Ok(path.to_path_buf())
}

/// `path` with `.` and `..` folded away without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Whether `given` equals `expected`, in time that depends only on their
/// lengths (no early exit at the first differing byte).
pub fn token_matches(expected: &[u8], given: &[u8]) -> bool {
    let mut difference = u8::from(expected.len() != given.len());
    for (i, e) in expected.iter().enumerate() {
        // Compare against a byte of `given` even when it is shorter.
        let g = given.get(i).copied().unwrap_or(!e);
        difference |= e ^ g;
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, AllowedDirs) {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(allowed.path().join("clip.mp4"), b"x").unwrap();
        std::fs::write(other.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(other.path().join("secret"), allowed.path().join("link"))
            .unwrap();
        std::os::unix::fs::symlink(other.path(), allowed.path().join("dirlink")).unwrap();
        let dirs = AllowedDirs::new(&[allowed.path().to_path_buf()]).unwrap();
        (allowed, other, dirs)
    }

    fn s(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn files_inside_are_readable() {
        let (allowed, _other, dirs) = setup();
        let file = allowed.path().join("clip.mp4");
        assert_eq!(
            dirs.readable(&s(&file)).unwrap(),
            file.canonicalize().unwrap()
        );
    }

    #[test]
    fn dot_dot_and_links_cannot_escape() {
        let (allowed, other, dirs) = setup();
        let escape = format!(
            "{}/../{}/secret",
            s(allowed.path()),
            s(other.path()).trim_start_matches('/')
        );
        assert!(matches!(
            dirs.readable(&escape),
            Err(AccessError::Outside(_))
        ));
        assert!(matches!(
            dirs.readable(&s(&allowed.path().join("link"))),
            Err(AccessError::Outside(_))
        ));
        assert!(matches!(
            dirs.writable(&s(&allowed.path().join("dirlink/out.mp4"))),
            Err(AccessError::Outside(_))
        ));
        assert!(matches!(
            dirs.writable(&s(&allowed.path().join("link"))),
            Err(AccessError::Outside(_))
        ));
        assert!(matches!(
            dirs.readable(&s(&other.path().join("secret"))),
            Err(AccessError::Outside(_))
        ));
    }

    #[test]
    fn outputs_may_be_new_files_inside() {
        let (allowed, other, dirs) = setup();
        let out = allowed.path().join("out.mp4");
        assert_eq!(
            dirs.writable(&s(&out)).unwrap(),
            allowed.path().canonicalize().unwrap().join("out.mp4")
        );
        assert!(matches!(
            dirs.writable(&s(&other.path().join("out.mp4"))),
            Err(AccessError::Outside(_))
        ));
        assert!(matches!(
            dirs.writable(&s(allowed.path())),
            Err(AccessError::Invalid(_)) | Err(AccessError::Outside(_))
        ));
    }

    #[test]
    fn relative_missing_and_no_dirs_are_refused_with_the_reason() {
        let (allowed, _other, dirs) = setup();
        assert!(matches!(
            dirs.readable("clip.mp4"),
            Err(AccessError::Invalid(_))
        ));
        assert!(matches!(
            dirs.readable(&s(&allowed.path().join("absent.mp4"))),
            Err(AccessError::Missing(_))
        ));
        let none = AllowedDirs::default();
        let e = none
            .readable(&s(&allowed.path().join("clip.mp4")))
            .unwrap_err();
        assert!(e.message().contains("--allow-dir"), "{e:?}");
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secret", b"secreT"));
        assert!(!token_matches(b"secret", b"secret2"));
        assert!(!token_matches(b"secret", b"secre"));
        assert!(!token_matches(b"secret", b""));
    }
}

//! A service's `model.repository`: a directory holding one `.onnx` file and,
//! optionally, class names: DeepDetect's `corresp.txt` (`id name` per line)
//! or a labels file (`labels.txt`, one name per line, line N naming class N).

use std::path::{Path, PathBuf};

/// DeepDetect's class-name file.
pub const CORRESP_FILE: &str = "corresp.txt";
/// A plain labels file, as dlinfer's `labels-file` reads it.
pub const LABELS_FILE: &str = "labels.txt";

/// What a model repository holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRepository {
    /// The one ONNX model.
    pub model: PathBuf,
    /// Class names by id, if the repository names them.
    pub labels: Option<Vec<String>>,
}

/// Why a repository cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryError {
    /// Its content is wrong (no model, two models, a bad `corresp.txt`).
    Invalid(String),
    /// A file in it is a link leading outside it.
    Outside(String),
}

impl std::fmt::Display for RepositoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RepositoryError::Invalid(m) | RepositoryError::Outside(m) => f.write_str(m),
        }
    }
}

/// `file` resolved, if it stays inside `dir` (resolved): a link to a file
/// elsewhere would let a client read past `--allow-dir`.
fn resolved_inside(dir: &Path, file: &Path) -> Result<PathBuf, RepositoryError> {
    let resolved = file
        .canonicalize()
        .map_err(|e| RepositoryError::Invalid(format!("{} cannot be read: {e}", file.display())))?;
    if resolved.starts_with(dir) {
        Ok(resolved)
    } else {
        Err(RepositoryError::Outside(format!(
            "{} is a link leading outside model.repository {}; copy the file in instead",
            file.display(),
            dir.display()
        )))
    }
}

impl ModelRepository {
    /// Reads `dir` (resolved, and already checked against `--allow-dir`).
    pub fn open(dir: &Path) -> Result<Self, RepositoryError> {
        let invalid = RepositoryError::Invalid;
        let entries = std::fs::read_dir(dir).map_err(|e| {
            invalid(format!(
                "model.repository {} cannot be listed: {e}",
                dir.display()
            ))
        })?;
        let mut models: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("onnx"))
                    && p.is_file()
            })
            .collect();
        models.sort();
        let model = match models.len() {
            1 => resolved_inside(dir, &models.remove(0))?,
            0 => {
                return Err(invalid(format!(
                    "model.repository {} holds no .onnx file; put the model (one .onnx) there",
                    dir.display()
                )));
            }
            _ => {
                let names: Vec<_> = models
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                return Err(invalid(format!(
                    "model.repository {} holds {} .onnx files ({}); keep exactly one",
                    dir.display(),
                    names.len(),
                    names.join(", ")
                )));
            }
        };
        let labels = if dir.join(CORRESP_FILE).is_file() {
            let file = resolved_inside(dir, &dir.join(CORRESP_FILE))?;
            Some(
                read_text(&file)
                    .and_then(|t| parse_corresp(&t))
                    .map_err(invalid)?,
            )
        } else if dir.join(LABELS_FILE).is_file() {
            let file = resolved_inside(dir, &dir.join(LABELS_FILE))?;
            Some(parse_labels(&read_text(&file).map_err(invalid)?))
        } else {
            None
        };
        Ok(ModelRepository { model, labels })
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{} cannot be read: {e}", path.display()))
}

/// `id name` per line (the name may hold spaces); ids need not be in order,
/// a missing id is named by its number.
pub fn parse_corresp(text: &str) -> Result<Vec<String>, String> {
    let mut named: Vec<(usize, String)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (id, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let id: usize = id.parse().map_err(|_| {
            format!("{CORRESP_FILE} line {}: {line:?} does not start with a class id (expected `ID NAME`)", number + 1)
        })?;
        if id > 1_000_000 {
            return Err(format!(
                "{CORRESP_FILE} line {}: class id {id} is implausibly large",
                number + 1
            ));
        }
        named.push((id, name.trim().to_owned()));
    }
    let count = named.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
    let mut labels: Vec<String> = (0..count).map(|id| id.to_string()).collect();
    for (id, name) in named {
        if !name.is_empty() {
            labels[id] = name;
        }
    }
    Ok(labels)
}

/// One name per line; blank lines at the end are dropped.
pub fn parse_labels(text: &str) -> Vec<String> {
    let mut labels: Vec<String> = text.lines().map(|l| l.trim().to_owned()).collect();
    while labels.last().is_some_and(String::is_empty) {
        labels.pop();
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corresp_maps_ids_to_names() {
        assert_eq!(
            parse_corresp("1 dog\n0 cat\n\n3 hot dog\n").unwrap(),
            ["cat", "dog", "2", "hot dog"]
        );
        assert!(parse_corresp("cat 0").unwrap_err().contains("line 1"));
    }

    #[test]
    fn a_repository_has_one_model_and_maybe_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        let dir = dir.as_path();
        let error = |dir: &Path| ModelRepository::open(dir).unwrap_err().to_string();
        assert!(error(dir).contains("no .onnx"));
        std::fs::write(dir.join("m.onnx"), b"x").unwrap();
        let repo = ModelRepository::open(dir).unwrap();
        assert_eq!(repo.model, dir.join("m.onnx"));
        assert_eq!(repo.labels, None);
        std::fs::write(dir.join(LABELS_FILE), "a\nb\n\n").unwrap();
        assert_eq!(
            ModelRepository::open(dir).unwrap().labels.unwrap(),
            ["a", "b"]
        );
        std::fs::write(dir.join(CORRESP_FILE), "0 face\n").unwrap();
        assert_eq!(
            ModelRepository::open(dir).unwrap().labels.unwrap(),
            ["face"]
        );
        std::fs::write(dir.join("n.onnx"), b"x").unwrap();
        let e = error(dir);
        assert!(e.contains("2 .onnx files") && e.contains("m.onnx"), "{e}");
    }

    #[test]
    fn files_linking_outside_the_repository_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("repo")).unwrap();
        std::fs::write(root.join("elsewhere.onnx"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere.onnx"), root.join("repo/m.onnx")).unwrap();
        let e = ModelRepository::open(&root.join("repo")).unwrap_err();
        assert!(matches!(e, RepositoryError::Outside(_)), "{e:?}");
        std::fs::remove_file(root.join("repo/m.onnx")).unwrap();
        std::fs::write(root.join("repo/m.onnx"), b"x").unwrap();
        std::fs::write(root.join("names"), "0 x\n").unwrap();
        std::os::unix::fs::symlink(root.join("names"), root.join("repo").join(CORRESP_FILE))
            .unwrap();
        let e = ModelRepository::open(&root.join("repo")).unwrap_err();
        assert!(matches!(e, RepositoryError::Outside(_)), "{e:?}");
    }
}

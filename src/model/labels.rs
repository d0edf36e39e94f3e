//! Labels files: one class name per line, line N naming class id N.

use std::path::Path;

/// Reads a labels file. Trailing blank lines are ignored (editors add them);
/// blank lines inside the file keep their place so ids stay aligned.
pub fn load_labels(path: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read labels file '{}': {e}", path.display()))?;
    labels_from_bytes(&bytes).map_err(|why| format!("labels file '{}' {why}", path.display()))
}

/// Parses a labels file's contents as [`load_labels`] does. The error
/// completes a sentence that starts with the file's name ("labels file
/// 'x.txt' ...").
pub fn labels_from_bytes(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("is not UTF-8 text: {e}"))?;
    if text.contains('\0') {
        // UTF-16 text without a byte-order mark reads as UTF-8 with a NUL
        // after every ASCII character, and GStreamer would cut each label at
        // its first NUL (or panic, in debug builds).
        return Err("holds NUL characters; save it as UTF-8 text, not UTF-16".to_owned());
    }
    let labels = parse_labels(text);
    if labels.is_empty() {
        return Err("has no labels (expected one per line)".to_owned());
    }
    Ok(labels)
}

/// Parses labels text: one per line, `\r` and surrounding spaces removed,
/// and byte-order marks too. Lines end with `\n` (`\r\n`, or `\r\r\n` from
/// a file converted twice, leave their `\r` to the trimming); a file without
/// any `\n` but with `\r` has classic Mac line ends, a lone `\r`.
pub fn parse_labels(text: &str) -> Vec<String> {
    // Windows editors may start UTF-8 files with a byte-order mark (U+FEFF),
    // which is not whitespace to `trim`; files joined with `cat` carry it on
    // a later line.
    let is_blank = |c: char| c.is_whitespace() || c == '\u{feff}';
    let line_end = if text.contains('\n') { '\n' } else { '\r' };
    let mut labels: Vec<String> = text
        .split(line_end)
        .map(|l| l.trim_matches(is_blank).to_string())
        .collect();
    while labels.last().is_some_and(|l| l.is_empty()) {
        labels.pop();
    }
    labels
}

/// Checks that a labels file names exactly the classes a model outputs.
pub fn check_label_count(labels: &[String], classes: usize, path: &Path) -> Result<(), String> {
    if labels.len() == classes {
        return Ok(());
    }
    Err(format!(
        "labels file '{}' has {} labels but the model outputs {classes} classes; \
         give one label per class, in class-id order",
        path.display(),
        labels.len()
    ))
}

/// The name for a class id: its label, or the id itself when there is none.
pub fn label_for(labels: &[String], class_id: usize) -> String {
    labels
        .get(class_id)
        .filter(|l| !l.is_empty())
        .cloned()
        .unwrap_or_else(|| class_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_mac_line_ends_separate_labels() {
        assert_eq!(
            parse_labels("cat\rdog\r\rbird\r"),
            vec!["cat", "dog", "", "bird"]
        );
        // With any \n, a \r is part of the line end, not one of its own.
        assert_eq!(parse_labels("cat\r\r\ndog\r\n"), vec!["cat", "dog"]);
    }

    #[test]
    fn parses_lines_and_drops_only_trailing_blanks() {
        assert_eq!(
            parse_labels("cat\r\ndog\n\nbird\n\n\n"),
            vec!["cat", "dog", "", "bird"]
        );
        assert!(parse_labels("\n\n").is_empty());
    }

    #[test]
    fn byte_order_marks_are_not_part_of_labels() {
        assert_eq!(
            parse_labels("\u{feff}person\r\ncar\r\n\u{feff}dog\n"),
            vec!["person", "car", "dog"]
        );
        assert!(parse_labels("\u{feff}\n").is_empty());
    }

    #[test]
    fn nul_characters_are_refused() {
        // The fuzzer's first find: `[0, 0]` became a label of two NULs.
        let error = labels_from_bytes(b"\0\0").unwrap_err();
        assert_eq!(
            error,
            "holds NUL characters; save it as UTF-8 text, not UTF-16"
        );
        // "cat\ndog\n" saved as UTF-16LE without a byte-order mark.
        let utf16: Vec<u8> = "cat\ndog\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(labels_from_bytes(&utf16).is_err());
    }

    #[test]
    fn a_count_mismatch_names_both_numbers() {
        let labels = parse_labels("a\nb\n");
        let err = check_label_count(&labels, 3, Path::new("l.txt")).unwrap_err();
        assert!(
            err.contains("2 labels") && err.contains("3 classes"),
            "{err}"
        );
        assert!(check_label_count(&labels, 2, Path::new("l.txt")).is_ok());
    }

    #[test]
    fn unknown_ids_fall_back_to_the_number() {
        let labels = parse_labels("a\n\nc");
        assert_eq!(label_for(&labels, 0), "a");
        assert_eq!(label_for(&labels, 1), "1");
        assert_eq!(label_for(&labels, 7), "7");
    }

    #[test]
    fn contents_parse_without_a_file() {
        assert_eq!(
            labels_from_bytes(b"cat\r\ndog\n"),
            Ok(vec!["cat".into(), "dog".into()])
        );
        assert_eq!(
            labels_from_bytes(b" \n\n"),
            Err("has no labels (expected one per line)".into())
        );
        let error = labels_from_bytes(b"caf\xe9\n").unwrap_err();
        assert!(error.starts_with("is not UTF-8 text"), "{error}");
    }

    #[test]
    fn missing_and_empty_files_are_errors() {
        assert!(
            load_labels(Path::new("/nonexistent/labels.txt"))
                .unwrap_err()
                .contains("cannot read")
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(load_labels(file.path()).unwrap_err().contains("no labels"));
        std::fs::write(file.path(), b"\xff\xfep\0e\0").unwrap();
        let error = load_labels(file.path()).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "labels file '{}' is not UTF-8",
                file.path().display()
            )),
            "{error}"
        );
    }
}

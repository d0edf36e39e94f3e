//! What a model says about itself in its ONNX `metadata_props`.
//!
//! Ultralytics exports write `task` (`detect`, `segment`, `pose`, `obb`,
//! `classify`), `names` (a Python dict literal such as
//! `{0: 'person', 1: "it's"}`), `imgsz` (`[640, 640]`, height then width),
//! `stride` and, for pose, `kpt_shape` (`[17, 3]`). Other exporters write a
//! `labels` or `classes` key holding a JSON list or one name a line. This
//! module reads those keys into [`ModelMetadata`]; it never evaluates
//! anything, the literals are parsed by hand so that a file cannot run code
//! or make us panic.

use std::collections::BTreeMap;

/// The keys read from a model's `metadata_props`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelMetadata {
    /// `task`, as written (lower case).
    pub task: Option<String>,
    /// Class names by id, from `names`, `labels` or `classes`.
    pub names: Option<Vec<String>>,
    /// Which key the names came from.
    pub names_key: Option<&'static str>,
    /// `imgsz` as (width, height).
    pub input_size: Option<(usize, usize)>,
    /// `stride`.
    pub stride: Option<usize>,
    /// `kpt_shape` as (keypoints, values per keypoint: 2 or 3).
    pub kpt_shape: Option<(usize, usize)>,
    /// Whether the file comes from an Ultralytics export (its `author` or
    /// `description` says so, or it carries Ultralytics' own keys): such
    /// models were trained on letterboxed frames.
    pub ultralytics: bool,
}

/// Why a metadata value could not be read; the message quotes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    /// The key.
    pub key: String,
    /// Its value as written (shortened when long).
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for MetadataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the model's metadata key '{}' cannot be read ({}): {}; fix it in the model, \
             or set the property it would decide (labels-file, decoder, input-width/-height)",
            self.key, self.reason, self.value
        )
    }
}

impl std::error::Error for MetadataError {}

/// Longest stretch of a bad value quoted in an error.
const QUOTE_LIMIT: usize = 200;

fn quoted(value: &str) -> String {
    if value.chars().count() <= QUOTE_LIMIT {
        format!("'{value}'")
    } else {
        let head: String = value.chars().take(QUOTE_LIMIT).collect();
        format!("'{head}...'")
    }
}

impl ModelMetadata {
    /// Reads the keys it knows from `props`; unknown keys are ignored.
    ///
    /// # Errors
    ///
    /// A [`MetadataError`] quoting a known key whose value cannot be parsed.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, MetadataError> {
        let error = |key: &str, value: &str, reason: String| MetadataError {
            key: key.to_string(),
            value: quoted(value),
            reason,
        };
        let mut metadata = ModelMetadata {
            task: props
                .get("task")
                .map(|task| task.trim().to_ascii_lowercase())
                .filter(|task| !task.is_empty()),
            ..Default::default()
        };
        for key in ["names", "labels", "classes"] {
            if let Some(value) = props.get(key) {
                let names = parse_names(value).map_err(|reason| error(key, value, reason))?;
                metadata.names = Some(names);
                metadata.names_key = Some(key);
                break;
            }
        }
        if let Some(value) = props.get("imgsz") {
            metadata.input_size = Some(match parse_int_list(value) {
                Ok(list) => match list[..] {
                    [side] => (side, side),
                    [height, width] => (width, height),
                    _ => {
                        return Err(error(
                            "imgsz",
                            value,
                            "expected [height, width] or one size".into(),
                        ));
                    }
                },
                Err(reason) => return Err(error("imgsz", value, reason)),
            });
            if metadata.input_size.is_some_and(|(w, h)| w == 0 || h == 0) {
                return Err(error("imgsz", value, "a size is zero".into()));
            }
        }
        if let Some(value) = props.get("stride") {
            let stride = match parse_int_list(value) {
                Ok(list) => list.into_iter().max(),
                Err(reason) => return Err(error("stride", value, reason)),
            };
            metadata.stride = stride.filter(|&s| s > 0);
        }
        if let Some(value) = props.get("kpt_shape") {
            metadata.kpt_shape = Some(match parse_int_list(value) {
                Ok(list) => match list[..] {
                    [count, dims @ (2 | 3)] if count > 0 => (count, dims),
                    _ => {
                        return Err(error(
                            "kpt_shape",
                            value,
                            "expected [keypoints, 2 or 3]".into(),
                        ));
                    }
                },
                Err(reason) => return Err(error("kpt_shape", value, reason)),
            });
        }
        let says_ultralytics = |key: &str| {
            props
                .get(key)
                .is_some_and(|v| v.to_ascii_lowercase().contains("ultralytics"))
        };
        metadata.ultralytics = says_ultralytics("author")
            || says_ultralytics("description")
            || (metadata.task.is_some() && metadata.names_key == Some("names"));
        Ok(metadata)
    }
}

/// Parses class names: a Python dict literal `{0: 'a', 1: "b"}`, a Python
/// or JSON list `['a', 'b']`, or plain text with one name a line. Ids a dict
/// leaves out are named by their number.
///
/// # Errors
///
/// Why the text is not one of those forms.
pub fn parse_names(text: &str) -> Result<Vec<String>, String> {
    let names = parse_names_unchecked(text)?;
    // Names become GStreamer strings (C strings), which end at a NUL.
    if let Some(id) = names.iter().position(|name| name.contains('\0')) {
        return Err(format!("the name of class {id} holds a NUL character"));
    }
    Ok(names)
}

fn parse_names_unchecked(text: &str) -> Result<Vec<String>, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut parser = Parser::new(trimmed);
        let names = if trimmed.starts_with('{') {
            parser.dict()?
        } else {
            parser.list()?
        };
        parser.skip_space();
        if !parser.at_end() {
            return Err(format!(
                "unexpected text after the closing bracket at character {}",
                parser.position
            ));
        }
        return Ok(names);
    }
    let names = super::labels::parse_labels(trimmed);
    if names.iter().all(String::is_empty) {
        return Err("no names in it".to_string());
    }
    Ok(names)
}

/// Parses `[640, 640]`, `(17, 3)` or a bare `32`.
///
/// # Errors
///
/// Why it is not a list of non-negative integers.
pub fn parse_int_list(text: &str) -> Result<Vec<usize>, String> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .or_else(|| trimmed.strip_prefix('(').and_then(|t| t.strip_suffix(')')))
        .unwrap_or(trimmed);
    inner
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<usize>()
                .map_err(|_| format!("'{part}' is not a whole number"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|list| {
            if list.is_empty() {
                Err("no numbers in it".to_string())
            } else {
                Ok(list)
            }
        })
}

/// Most class ids a `names` dict may declare: far above any real model,
/// low enough that a hostile id cannot make us allocate gigabytes.
const MAX_CLASS_ID: usize = 1 << 20;

/// A hand-written reader of the few Python literal forms `names` uses.
struct Parser {
    chars: Vec<char>,
    position: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser {
            chars: text.chars().collect(),
            position: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space();
        match self.peek() {
            Some(c) if c == wanted => {
                self.position += 1;
                Ok(())
            }
            Some(c) => Err(format!(
                "expected '{wanted}' at character {}, found '{c}'",
                self.position
            )),
            None => Err(format!("expected '{wanted}', found the end")),
        }
    }

    /// `{id: 'name', ...}` with a trailing comma allowed.
    fn dict(&mut self) -> Result<Vec<String>, String> {
        self.expect('{')?;
        let mut entries: BTreeMap<usize, String> = BTreeMap::new();
        loop {
            self.skip_space();
            if self.peek() == Some('}') {
                self.position += 1;
                break;
            }
            let id = self.integer()?;
            self.expect(':')?;
            self.skip_space();
            let name = self.string()?;
            if entries.insert(id, name).is_some() {
                return Err(format!("class id {id} is named twice"));
            }
            self.skip_space();
            match self.peek() {
                Some(',') => self.position += 1,
                Some('}') => {}
                Some(c) => {
                    return Err(format!(
                        "expected ',' or '}}' at character {}, found '{c}'",
                        self.position
                    ));
                }
                None => return Err("the dict is not closed with '}'".to_string()),
            }
        }
        let count = entries.keys().next_back().map_or(0, |&last| last + 1);
        let mut names: Vec<String> = (0..count).map(|id| id.to_string()).collect();
        for (id, name) in entries {
            names[id] = name;
        }
        Ok(names)
    }

    /// `['a', "b"]` with a trailing comma allowed.
    fn list(&mut self) -> Result<Vec<String>, String> {
        self.expect('[')?;
        let mut names = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(']') {
                self.position += 1;
                break;
            }
            names.push(self.string()?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.position += 1,
                Some(']') => {}
                Some(c) => {
                    return Err(format!(
                        "expected ',' or ']' at character {}, found '{c}'",
                        self.position
                    ));
                }
                None => return Err("the list is not closed with ']'".to_string()),
            }
        }
        Ok(names)
    }

    fn integer(&mut self) -> Result<usize, String> {
        self.skip_space();
        let start = self.position;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.position += 1;
        }
        if start == self.position {
            return Err(match self.peek() {
                Some(c) => format!("expected a class id at character {start}, found '{c}'"),
                None => "expected a class id, found the end".to_string(),
            });
        }
        let digits: String = self.chars[start..self.position].iter().collect();
        digits
            .parse::<usize>()
            .ok()
            .filter(|&id| id < MAX_CLASS_ID)
            .ok_or_else(|| format!("class id {digits} is too large"))
    }

    /// A Python string literal in single or double quotes, with the usual
    /// backslash escapes (`\\`, `\'`, `\"`, `\n`, `\t`, `\r`, `\xNN`,
    /// `\uNNNN`, `\UNNNNNNNN`).
    fn string(&mut self) -> Result<String, String> {
        let start = self.position;
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            Some(c) => {
                return Err(format!(
                    "expected a quoted name at character {start}, found '{c}'"
                ));
            }
            None => return Err("expected a quoted name, found the end".to_string()),
        };
        self.position += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(format!(
                    "the name starting at character {start} is not closed"
                ));
            };
            self.position += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(escaped) = self.peek() else {
                        return Err(format!(
                            "the name starting at character {start} ends in a backslash"
                        ));
                    };
                    self.position += 1;
                    match escaped {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'x' => out.push(self.hex_char(2)?),
                        'u' => out.push(self.hex_char(4)?),
                        'U' => out.push(self.hex_char(8)?),
                        '\n' => {}
                        other => {
                            // Python keeps unknown escapes as written.
                            if !matches!(other, '\\' | '\'' | '"') {
                                out.push('\\');
                            }
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex_char(&mut self, digits: usize) -> Result<char, String> {
        let end = self.position + digits;
        let hex: String = self
            .chars
            .get(self.position..end)
            .ok_or_else(|| "a \\x or \\u escape is cut short".to_string())?
            .iter()
            .collect();
        self.position = end;
        u32::from_str_radix(&hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("'\\{hex}' is not a character escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_python_dicts_with_quotes_and_escapes() {
        assert_eq!(
            parse_names(r#"{0: 'person', 1: "it's", 2: 'say \'hi\'', 3: 'a\\b', 4: 'caf\xe9'}"#)
                .unwrap(),
            ["person", "it's", "say 'hi'", "a\\b", "café"]
        );
        assert_eq!(parse_names("{}").unwrap(), Vec::<String>::new());
        assert_eq!(parse_names("{ 0 : 'a' , }").unwrap(), ["a"]);
        assert_eq!(
            parse_names("{1: 'b', 0: 'a'}").unwrap(),
            ["a", "b"],
            "order of ids, not of entries"
        );
        assert_eq!(
            parse_names("{0: 'a', 2: 'c'}").unwrap(),
            ["a", "1", "c"],
            "a missing id is named by its number"
        );
        assert_eq!(parse_names(r"{0: '\u00e9\U0001F600'}").unwrap(), ["é😀"]);
        assert_eq!(parse_names(r"{0: 'a\qb'}").unwrap(), ["a\\qb"]);
    }

    #[test]
    fn parses_lists_and_lines() {
        assert_eq!(parse_names(r#"["cat", "dog"]"#).unwrap(), ["cat", "dog"]);
        assert_eq!(parse_names("['cat', 'dog',]").unwrap(), ["cat", "dog"]);
        assert_eq!(parse_names("cat\ndog\n").unwrap(), ["cat", "dog"]);
    }

    #[test]
    fn refuses_what_is_not_a_literal_of_names() {
        for bad in [
            "{0: person}",
            "{0: 'a'",
            "{0: 'a' 1: 'b'}",
            "{'a': 0}",
            "{0: 'a', 0: 'b'}",
            "{0: 'open",
            "{99999999999999999999: 'a'}",
            "{0: 'a'} trailing",
            "[1, 2]",
            "{0: '\\x4'}",
            "{0: 'a\\",
            "{0: 'a\\x00b'}",
            "{0: 'a\\0'}",
            "a\0b",
            "   ",
            "{-1: 'a'}",
            "{__import__('os'): 'a'}",
        ] {
            assert!(parse_names(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn reads_ultralytics_keys() {
        let metadata = ModelMetadata::from_props(&props(&[
            ("author", "Ultralytics"),
            ("task", "Pose"),
            ("names", "{0: 'person'}"),
            ("imgsz", "[480, 640]"),
            ("stride", "32"),
            ("kpt_shape", "[17, 3]"),
        ]))
        .unwrap();
        assert_eq!(metadata.task.as_deref(), Some("pose"));
        assert_eq!(metadata.names, Some(vec!["person".to_string()]));
        assert_eq!(metadata.names_key, Some("names"));
        assert_eq!(metadata.input_size, Some((640, 480)), "imgsz is [h, w]");
        assert_eq!(metadata.stride, Some(32));
        assert_eq!(metadata.kpt_shape, Some((17, 3)));
        assert!(metadata.ultralytics);
        assert_eq!(
            ModelMetadata::from_props(&props(&[("imgsz", "320")]))
                .unwrap()
                .input_size,
            Some((320, 320))
        );
    }

    #[test]
    fn reads_other_exporters_label_keys() {
        let metadata = ModelMetadata::from_props(&props(&[("labels", r#"["a", "b"]"#)])).unwrap();
        assert_eq!(metadata.names.unwrap(), ["a", "b"]);
        assert_eq!(metadata.names_key, Some("labels"));
        assert!(!metadata.ultralytics);
        let metadata = ModelMetadata::from_props(&props(&[("classes", "a\nb\nc")])).unwrap();
        assert_eq!(metadata.names.unwrap().len(), 3);
        assert_eq!(
            ModelMetadata::from_props(&BTreeMap::new()).unwrap(),
            ModelMetadata::default()
        );
    }

    #[test]
    fn errors_quote_the_value_and_name_the_key() {
        let error = ModelMetadata::from_props(&props(&[("names", "{0: person}")])).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("'names'")
                && text.contains("'{0: person}'")
                && text.contains("labels-file"),
            "{text}"
        );
        for (key, value) in [
            ("imgsz", "[1, 2, 3]"),
            ("imgsz", "[0, 640]"),
            ("imgsz", "big"),
            ("kpt_shape", "[17, 4]"),
            ("kpt_shape", "[17]"),
            ("stride", "x"),
        ] {
            let error = ModelMetadata::from_props(&props(&[(key, value)])).unwrap_err();
            assert_eq!(error.key, key);
            assert!(error.to_string().contains(value), "{error}");
        }
        let long = format!("{{0: {}}}", "x".repeat(1000));
        let error = ModelMetadata::from_props(&props(&[("names", &long)])).unwrap_err();
        assert!(error.to_string().len() < 600, "long values are shortened");
    }

    #[test]
    fn int_lists() {
        assert_eq!(parse_int_list("[640, 640]").unwrap(), [640, 640]);
        assert_eq!(parse_int_list("(17, 3)").unwrap(), [17, 3]);
        assert_eq!(parse_int_list(" 32 ").unwrap(), [32]);
        assert!(parse_int_list("[]").is_err());
        assert!(parse_int_list("[-1]").is_err());
    }
}

//! A model's `metadata_props` as exporters write them, and as a hostile or
//! broken file could: the `names` Python dict literal (quotes, escapes,
//! `\x`/`\u` sequences, ids out of order, huge ids), JSON lists, one name a
//! line, and the integer lists of `imgsz`, `stride` and `kpt_shape`.
//!
//! Beyond not panicking or allocating without bound: no name holds a NUL
//! (names become C strings), an error names its key and quotes a bounded
//! part of the value, and names that parse from a dict come back the same
//! from a dict written with every character escaped (the parser reads what
//! Python's `repr` writes).

#![no_main]

use std::collections::BTreeMap;

use gstdl::model::metadata::{ModelMetadata, parse_int_list, parse_names};
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 7] = ["names", "labels", "classes", "imgsz", "stride", "kpt_shape", "task"];

fuzz_target!(|bytes: &[u8]| {
    let Some((&selector, rest)) = bytes.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let key = KEYS[usize::from(selector) % KEYS.len()];
    let props: BTreeMap<String, String> = [(key.to_string(), text.to_string())].into();
    match ModelMetadata::from_props(&props) {
        Ok(metadata) => {
            for name in metadata.names.iter().flatten() {
                assert!(!name.contains('\0'), "a NUL in {name:?}");
            }
            if let Some((width, height)) = metadata.input_size {
                assert!(width > 0 && height > 0);
            }
            if let Some((count, dims)) = metadata.kpt_shape {
                assert!(count > 0 && (dims == 2 || dims == 3));
            }
        }
        Err(error) => {
            assert_eq!(error.key, key);
            let message = error.to_string();
            assert!(message.contains(key), "{message}");
            assert!(error.value.chars().count() <= 210, "unbounded quote");
        }
    }
    let _ = parse_int_list(&text);
    if let Ok(names) = parse_names(&text)
        && text.trim_start().starts_with('{')
    {
        let escaped: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(id, name)| {
                let body: String = name.chars().map(|c| format!("\\U{:08x}", c as u32)).collect();
                format!("{id}: '{body}'")
            })
            .collect();
        let again = parse_names(&format!("{{{}}}", escaped.join(", ")))
            .expect("an escaped dict of parsed names parses");
        assert_eq!(again, names);
    }
});

//! Parsers of property values a user types: per-channel `input-mean` /
//! `input-std` lists, `decoder=` names and `ytdl://` URIs.
//!
//! Besides not panicking: accepted channel values are finite and read back
//! the same after the getter formats them; a decoder name round-trips; an
//! accepted page URL is an http(s) URL without spaces or control characters.

#![no_main]

use gstdl::decode::DecoderKind;
use gstdl::props::{format_channel_values, parse_channel_values};
use gstdl::ytdl::page_url_from_uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);

    if let Ok(values) = parse_channel_values("input-mean", &text) {
        assert!(values.iter().all(|value| value.is_finite()), "{values:?}");
        let formatted = format_channel_values(values);
        let again = parse_channel_values("input-mean", &formatted)
            .unwrap_or_else(|error| panic!("{formatted:?} does not read back: {error}"));
        let bits = |values: [f32; 3]| values.map(f32::to_bits);
        assert_eq!(bits(again), bits(values), "{formatted:?}");
    }

    if let Some(kind) = DecoderKind::from_name(&text) {
        assert_eq!(DecoderKind::from_name(kind.name()), Some(kind));
    }

    if let Ok(url) = page_url_from_uri(&text) {
        let lower = url.to_ascii_lowercase();
        assert!(
            lower.starts_with("http://") || lower.starts_with("https://"),
            "{url:?}"
        );
        assert!(
            !url.contains(|c: char| c.is_whitespace() || c.is_control()),
            "{url:?}"
        );
        assert!(text.ends_with(url.as_str()));
    }
});

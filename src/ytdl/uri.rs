//! `ytdl://` URIs: the page URL wrapped in the element's scheme.

/// The URI scheme `ytdlsrc` handles.
pub const URI_SCHEME: &str = "ytdl";

/// The page URL inside a `ytdl:` URI.
///
/// `ytdl://https://x/y` and `ytdl:https://x/y` both give `https://x/y`; the
/// scheme is matched case-insensitively and the inner URL is returned as it
/// was written. The inner URL must be `http://` or `https://` with a host.
pub fn page_url_from_uri(uri: &str) -> Result<String, String> {
    const EXAMPLE: &str = "e.g. ytdl://https://www.youtube.com/watch?v=...";

    let rest = strip_prefix_ignore_case(uri, URI_SCHEME)
        .and_then(|rest| rest.strip_prefix(':'))
        .ok_or_else(|| {
            format!("{uri:?} is not a ytdl: URI; expected ytdl://<page URL>, {EXAMPLE}")
        })?;
    // `ytdl://https://x` is the documented form; `ytdl:https://x` is accepted too.
    let inner = if is_http_url_prefix(rest) {
        rest
    } else {
        rest.strip_prefix("//").unwrap_or(rest)
    };

    if inner.is_empty() {
        return Err(format!(
            "{uri:?} has no page URL after ytdl://; expected ytdl://<page URL>, {EXAMPLE}"
        ));
    }
    if let Some(bad) = inner.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the page URL in {uri:?} contains {bad:?}; percent-encode it (e.g. a space as %20)"
        ));
    }
    let Some(after_scheme) = strip_http_scheme(inner) else {
        let looks_like_host = inner.starts_with(|c: char| c.is_ascii_alphanumeric());
        let hint = if looks_like_host && !inner.contains("://") {
            format!("; did you mean ytdl://https://{inner}?")
        } else {
            String::new()
        };
        return Err(format!(
            "the page URL in {uri:?} must start with http:// or https://, {EXAMPLE}{hint}"
        ));
    };
    let host = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        return Err(format!("the page URL in {uri:?} has no host, {EXAMPLE}"));
    }
    Ok(inner.to_owned())
}

/// `rest` after `http://` or `https://` (any case), if it starts with one.
fn strip_http_scheme(url: &str) -> Option<&str> {
    strip_prefix_ignore_case(url, "https://").or_else(|| strip_prefix_ignore_case(url, "http://"))
}

fn is_http_url_prefix(text: &str) -> bool {
    strip_http_scheme(text).is_some()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_both_spellings() {
        let page = "https://www.youtube.com/watch?v=abc&t=3";
        assert_eq!(page_url_from_uri(&format!("ytdl://{page}")).unwrap(), page);
        assert_eq!(page_url_from_uri(&format!("ytdl:{page}")).unwrap(), page);
        assert_eq!(
            page_url_from_uri("YTDL://http://127.0.0.1:8000/page.html").unwrap(),
            "http://127.0.0.1:8000/page.html"
        );
        // The inner URL is passed on as written.
        assert_eq!(
            page_url_from_uri("ytdl://HTTPS://Example.com/A%20B").unwrap(),
            "HTTPS://Example.com/A%20B"
        );
    }

    #[test]
    fn rejects_what_yt_dlp_cannot_use() {
        for (uri, expected) in [
            ("ytdl://", "no page URL"),
            ("ytdl:", "no page URL"),
            ("ytdl:///", "must start with http"),
            ("http://example.com/x", "not a ytdl: URI"),
            ("ytd://https://example.com/x", "not a ytdl: URI"),
            ("", "not a ytdl: URI"),
            (
                "ytdl://ftp://example.com/clip.mp4",
                "must start with http:// or https://",
            ),
            (
                "ytdl://file:///tmp/clip.mp4",
                "must start with http:// or https://",
            ),
            ("ytdl://https://", "no host"),
            ("ytdl://http:///path", "no host"),
            ("ytdl://https://example.com/a b", "percent-encode"),
        ] {
            let error = page_url_from_uri(uri).expect_err(uri);
            assert!(error.contains(expected), "{uri:?}: {error}");
        }
        let error = page_url_from_uri("ytdl://www.youtube.com/watch?v=abc").unwrap_err();
        assert!(
            error.contains("did you mean ytdl://https://www.youtube.com/watch?v=abc"),
            "{error}"
        );
    }
}

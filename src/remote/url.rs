//! Where a served model lives: the `model` property's URL forms.

use std::fmt;

/// The wire protocol a served model is reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// KServe v2 REST (`http://`).
    Http,
    /// KServe v2 gRPC (`grpc://`).
    Grpc,
}

/// A served model: `http://HOST:PORT/v2/models/NAME[/versions/V]` or
/// `grpc://HOST:PORT/NAME[/versions/V]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelUrl {
    /// The protocol.
    pub protocol: Protocol,
    /// `HOST:PORT`, as written.
    pub authority: String,
    /// The model's name on the server.
    pub model: String,
    /// A version, when one is asked for (else the server picks).
    pub version: Option<String>,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        })
    }
}

impl fmt::Display for ModelUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Protocol::Http => write!(f, "http://{}{}", self.authority, self.model_path()),
            Protocol::Grpc => {
                write!(f, "grpc://{}/{}", self.authority, self.model)?;
                match &self.version {
                    Some(v) => write!(f, "/versions/{v}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl ModelUrl {
    /// Whether `model` names a served model rather than a file.
    pub fn is_remote(model: &str) -> bool {
        let lower = model.trim().to_ascii_lowercase();
        lower.starts_with("http://")
            || lower.starts_with("grpc://")
            || lower.starts_with("https://")
    }

    /// Parses a served model's URL; the error says which form is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let expected =
            "expected http://HOST:PORT/v2/models/NAME[/versions/V] or grpc://HOST:PORT/NAME";
        let (protocol, rest) = if let Some(rest) = strip_prefix_ci(text, "http://") {
            (Protocol::Http, rest)
        } else if let Some(rest) = strip_prefix_ci(text, "grpc://") {
            (Protocol::Grpc, rest)
        } else if strip_prefix_ci(text, "https://").is_some() {
            return Err(format!(
                "model={text}: https is not supported (gst-dl speaks plain HTTP to servers on a trusted network); {expected}"
            ));
        } else {
            return Err(format!("model={text}: {expected}"));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let port_ok = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!(
                "model={text}: the server needs a host and a port; {expected}"
            ));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let named = match (protocol, segments.as_slice()) {
            (Protocol::Http, ["v2", "models", name]) => Some((name, None)),
            (Protocol::Http, ["v2", "models", name, "versions", v]) => Some((name, Some(v))),
            (Protocol::Grpc, [name]) => Some((name, None)),
            (Protocol::Grpc, [name, "versions", v]) => Some((name, Some(v))),
            _ => None,
        };
        let (model, version) =
            named.ok_or_else(|| format!("model={text}: no model name; {expected}"))?;
        Ok(Self {
            protocol,
            authority: authority.to_string(),
            model: model.to_string(),
            version: version.map(|v| v.to_string()),
        })
    }

    /// The REST path of the model: `/v2/models/NAME[/versions/V]`.
    pub fn model_path(&self) -> String {
        match &self.version {
            Some(v) => format!("/v2/models/{}/versions/{v}", self.model),
            None => format!("/v2/models/{}", self.model),
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_protocols_with_and_without_versions() {
        let url = ModelUrl::parse("http://127.0.0.1:8000/v2/models/centerface").unwrap();
        assert_eq!(
            (
                url.protocol,
                url.authority.as_str(),
                url.model.as_str(),
                url.version.as_deref()
            ),
            (Protocol::Http, "127.0.0.1:8000", "centerface", None)
        );
        assert_eq!(
            url.to_string(),
            "http://127.0.0.1:8000/v2/models/centerface"
        );
        let url = ModelUrl::parse("HTTP://host:1/v2/models/m/versions/3/").unwrap();
        assert_eq!(url.model_path(), "/v2/models/m/versions/3");
        let url = ModelUrl::parse("grpc://localhost:8001/m/versions/2").unwrap();
        assert_eq!(
            (url.protocol, url.version.as_deref()),
            (Protocol::Grpc, Some("2"))
        );
        assert_eq!(url.to_string(), "grpc://localhost:8001/m/versions/2");
        assert!(ModelUrl::is_remote("grpc://x:1/m") && !ModelUrl::is_remote("/models/a.onnx"));
    }

    #[test]
    fn refuses_urls_without_port_name_or_known_scheme() {
        for (url, says) in [
            ("http://host/v2/models/m", "host and a port"),
            ("http://host:80/models/m", "no model name"),
            ("grpc://host:80/", "no model name"),
            ("https://host:443/v2/models/m", "https is not supported"),
            ("ftp://host:1/m", "expected http://"),
        ] {
            let err = ModelUrl::parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}

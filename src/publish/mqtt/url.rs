//! `mqtt://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC`: where `dlpublish` sends
//! its lines.

use std::fmt;

/// MQTT's registered port, used when the URL names none.
pub const DEFAULT_PORT: u16 = 1883;

/// A parsed `mqtt://` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttUrl {
    /// Host name or address (an IPv6 address without its brackets).
    pub host: String,
    pub port: u16,
    /// The topic every message is published to (may contain `/` levels).
    pub topic: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Why a location is not a usable `mqtt://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    NotMqtt,
    /// `mqtts://`: MQTT over TLS, which the publisher does not speak.
    Tls,
    NoHost,
    BadPort(String),
    NoTopic,
    WildcardTopic(String),
    TopicTooLong(usize),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORM: &str =
            "write it as mqtt://HOST[:PORT]/TOPIC, e.g. mqtt://127.0.0.1:1883/cameras/door";
        match self {
            Self::NotMqtt => write!(f, "not an mqtt:// URL; {FORM}"),
            Self::Tls => write!(
                f,
                "mqtts:// (MQTT over TLS) is not supported; publish to mqtt:// on a broker on this host or a trusted network, and let that broker bridge to the remote one over TLS (mosquitto: a bridge with bridge_cafile)"
            ),
            Self::NoHost => write!(f, "the URL names no broker host; {FORM}"),
            Self::BadPort(port) => {
                write!(f, "'{port}' is not a port number (1-65535); {FORM}")
            }
            Self::NoTopic => write!(
                f,
                "the URL names no topic to publish to; add one after the host: {FORM}"
            ),
            Self::WildcardTopic(topic) => write!(
                f,
                "the topic '{topic}' contains a wildcard (+ or #), which subscribers may use but publishers may not; name one topic"
            ),
            Self::TopicTooLong(len) => {
                write!(
                    f,
                    "the topic is {len} bytes long; MQTT allows at most 65535"
                )
            }
        }
    }
}

impl std::error::Error for UrlError {}

fn has_scheme(location: &str, scheme: &str) -> bool {
    location
        .get(..scheme.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
}

/// Whether `location` is meant as an MQTT URL (so its errors are MQTT's,
/// not a file's): `mqtt://`, or `mqtts://`, which gets its own error.
pub fn is_mqtt_location(location: &str) -> bool {
    has_scheme(location, "mqtt://") || has_scheme(location, "mqtts://")
}

impl MqttUrl {
    pub fn parse(location: &str) -> Result<Self, UrlError> {
        if has_scheme(location, "mqtts://") {
            return Err(UrlError::Tls);
        }
        if !has_scheme(location, "mqtt://") {
            return Err(UrlError::NotMqtt);
        }
        let rest = &location[7..];
        let (authority, topic) = rest.split_once('/').unwrap_or((rest, ""));
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        if topic.is_empty() {
            return Err(UrlError::NoTopic);
        }
        if topic.contains(['+', '#']) {
            return Err(UrlError::WildcardTopic(topic.to_string()));
        }
        if topic.len() > usize::from(u16::MAX) {
            return Err(UrlError::TopicTooLong(topic.len()));
        }
        let (username, password) = match credentials {
            None => (None, None),
            Some(c) => match c.split_once(':') {
                Some((user, password)) => (Some(user.to_string()), Some(password.to_string())),
                None => (Some(c.to_string()), None),
            },
        };
        Ok(Self {
            host: host.to_string(),
            port,
            topic: topic.to_string(),
            username,
            password,
        })
    }

    /// `host:port`, as `TcpStream::connect` takes it (IPv6 in brackets).
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The URL without its password, for messages and logs.
impl fmt::Display for MqttUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mqtt://")?;
        if let Some(user) = &self.username {
            write!(f, "{user}@")?;
        }
        write!(f, "{}/{}", self.address(), self.topic)
    }
}

fn split_host_port(host_port: &str) -> Result<(&str, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(UrlError::NoHost)?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| UrlError::BadPort(text.to_string()))?,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_and_topic_with_levels() {
        let url = MqttUrl::parse("mqtt://127.0.0.1:1884/cameras/door").unwrap();
        assert_eq!(url.host, "127.0.0.1");
        assert_eq!(url.port, 1884);
        assert_eq!(url.topic, "cameras/door");
        assert_eq!(url.address(), "127.0.0.1:1884");
        assert_eq!(url.to_string(), "mqtt://127.0.0.1:1884/cameras/door");
    }

    #[test]
    fn the_port_defaults_to_1883() {
        let url = MqttUrl::parse("MQTT://broker.local/results").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("broker.local", 1883));
    }

    #[test]
    fn credentials_are_read_and_the_password_never_shown() {
        let url = MqttUrl::parse("mqtt://cam:s3cret@[::1]:1885/t").unwrap();
        assert_eq!(url.username.as_deref(), Some("cam"));
        assert_eq!(url.password.as_deref(), Some("s3cret"));
        assert_eq!(url.host, "::1");
        assert_eq!(url.address(), "[::1]:1885");
        assert_eq!(url.to_string(), "mqtt://cam@[::1]:1885/t");
    }

    #[test]
    fn a_url_without_a_topic_says_to_add_one() {
        for location in ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883/"] {
            let err = MqttUrl::parse(location).unwrap_err();
            assert_eq!(err, UrlError::NoTopic);
            assert!(
                err.to_string().contains("mqtt://HOST[:PORT]/TOPIC"),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_with_their_reason() {
        assert_eq!(MqttUrl::parse("http://h/t"), Err(UrlError::NotMqtt));
        assert_eq!(MqttUrl::parse("mqtt:///t"), Err(UrlError::NoHost));
        assert_eq!(
            MqttUrl::parse("mqtt://h:99999/t"),
            Err(UrlError::BadPort("99999".into()))
        );
        assert_eq!(
            MqttUrl::parse("mqtt://h:0/t"),
            Err(UrlError::BadPort("0".into()))
        );
        assert_eq!(
            MqttUrl::parse("mqtt://h/a/+/b"),
            Err(UrlError::WildcardTopic("a/+/b".into()))
        );
        assert_eq!(
            MqttUrl::parse("mqtt://h/#"),
            Err(UrlError::WildcardTopic("#".into()))
        );
    }

    #[test]
    fn only_mqtt_schemes_are_mqtt_locations() {
        assert!(is_mqtt_location("mqtt://h/t"));
        assert!(is_mqtt_location("MQTTS://h/t"));
        assert!(!is_mqtt_location("/tmp/mqtt://x"));
        let tls = MqttUrl::parse("mqtts://broker:8883/t").unwrap_err();
        assert_eq!(tls, UrlError::Tls);
        assert!(tls.to_string().contains("not supported"), "{tls}");
        assert!(is_mqtt_location("Mqtt://h"));
        assert!(!is_mqtt_location("results.jsonl"));
        assert!(!is_mqtt_location("mqtt"));
        assert!(!is_mqtt_location("-"));
    }
}

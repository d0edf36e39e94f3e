//! The few MQTT 3.1.1 packets a publisher exchanges with a broker (OASIS
//! MQTT 3.1.1, section 3): CONNECT/CONNACK, PUBLISH/PUBACK, PINGREQ/PINGRESP
//! and DISCONNECT. Encoding and decoding only; no I/O policy.

use std::io::{self, Read};

/// Delivery guarantee of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QoS {
    /// Sent once, never acknowledged (QoS 0).
    AtMostOnce,
    /// Sent until the broker acknowledges it (QoS 1).
    AtLeastOnce,
}

impl QoS {
    pub fn from_level(level: u32) -> Option<Self> {
        match level {
            0 => Some(Self::AtMostOnce),
            1 => Some(Self::AtLeastOnce),
            _ => None,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::AtMostOnce => 0,
            Self::AtLeastOnce => 1,
        }
    }
}

/// The largest remaining length the 4-byte encoding can say.
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The largest packet a publisher accepts: brokers send it only small
/// acknowledgements, so anything larger is a broken or hostile peer.
const MAX_INCOMING_LENGTH: usize = 64 * 1024;

/// What a CONNECT says about the client.
#[derive(Debug, Clone)]
pub struct ConnectOptions<'a> {
    pub client_id: &'a str,
    pub keep_alive_s: u16,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// CONNECT with a clean session: a publisher keeps its own queue, so it
/// needs nothing the broker might remember.
pub fn connect(options: &ConnectOptions<'_>) -> Vec<u8> {
    let mut body = Vec::new();
    put_bytes(&mut body, b"MQTT");
    body.push(4); // protocol level 3.1.1
    let mut flags = 0x02; // clean session
    if options.username.is_some() {
        flags |= 0x80;
    }
    if options.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&options.keep_alive_s.to_be_bytes());
    put_bytes(&mut body, options.client_id.as_bytes());
    for field in [options.username, options.password].into_iter().flatten() {
        put_bytes(&mut body, field.as_bytes());
    }
    packet(0x10, &body)
}

/// PUBLISH of `payload` to `topic`; `packet_id` is sent with QoS 1 only.
/// `None` when the packet would exceed MQTT's size limit.
pub fn publish(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    packet_id: u16,
    dup: bool,
) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_bytes(&mut body, topic.as_bytes());
    if qos == QoS::AtLeastOnce {
        body.extend_from_slice(&packet_id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    if body.len() > MAX_REMAINING_LENGTH {
        return None;
    }
    let dup_bit = if dup && qos == QoS::AtLeastOnce {
        0x08
    } else {
        0
    };
    Some(packet(0x30 | dup_bit | (qos.bits() << 1), &body))
}

pub const PINGREQ: [u8; 2] = [0xC0, 0x00];
pub const DISCONNECT: [u8; 2] = [0xE0, 0x00];

/// A packet from the broker, as far as a publisher cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    ConnAck {
        session_present: bool,
        return_code: u8,
    },
    PubAck {
        packet_id: u16,
    },
    PingResp,
    /// Anything else (a broker sends nothing else to a client that never
    /// subscribes); its type nibble.
    Other(u8),
}

/// Why the broker refused a connection (CONNACK return codes 1-5).
pub fn connack_refusal(return_code: u8) -> &'static str {
    match return_code {
        1 => "it does not speak MQTT 3.1.1",
        2 => "it rejected the client id (set mqtt-client-id to another)",
        3 => "it is unavailable",
        4 => "bad user name or password (give them in the URL: mqtt://USER:PASSWORD@HOST/TOPIC)",
        5 => "this client is not authorised (check the broker's access settings)",
        _ => "it answered an unknown refusal code",
    }
}

/// Reads one whole packet. A malformed length is `InvalidData`.
pub fn read_packet(reader: &mut impl Read) -> io::Result<Incoming> {
    let mut header = [0u8; 1];
    reader.read_exact(&mut header)?;
    let length = read_remaining_length(reader)?;
    if length > MAX_INCOMING_LENGTH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a {length}-byte packet from the broker, where a publisher expects acknowledgements"
            ),
        ));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let kind = header[0] >> 4;
    let malformed = || io::Error::new(io::ErrorKind::InvalidData, "a short packet from the broker");
    Ok(match kind {
        2 => {
            let [flags, code] = body[..].try_into().map_err(|_| malformed())?;
            Incoming::ConnAck {
                session_present: flags & 1 == 1,
                return_code: code,
            }
        }
        4 => {
            let id: [u8; 2] = body[..].try_into().map_err(|_| malformed())?;
            Incoming::PubAck {
                packet_id: u16::from_be_bytes(id),
            }
        }
        13 => Incoming::PingResp,
        other => Incoming::Other(other),
    })
}

fn read_remaining_length(reader: &mut impl Read) -> io::Result<usize> {
    let mut value = 0usize;
    for shift in [0, 7, 14, 21] {
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte)?;
        value |= usize::from(byte[0] & 0x7F) << shift;
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "a packet length of more than 4 bytes from the broker",
    ))
}

fn packet(first_byte: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first_byte);
    let mut length = body.len();
    loop {
        let mut byte = (length % 128) as u8;
        length /= 128;
        if length > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if length == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A length-prefixed string or byte field.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_is_3_1_1_with_a_clean_session() {
        let bytes = connect(&ConnectOptions {
            client_id: "cam1",
            keep_alive_s: 30,
            username: None,
            password: None,
        });
        assert_eq!(
            bytes,
            [
                0x10, 16, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 30, 0, 4, b'c', b'a', b'm',
                b'1'
            ]
        );
    }

    #[test]
    fn connect_carries_user_and_password_in_order() {
        let bytes = connect(&ConnectOptions {
            client_id: "c",
            keep_alive_s: 60,
            username: Some("u"),
            password: Some("pw"),
        });
        assert_eq!(bytes[9], 0x02 | 0x80 | 0x40);
        assert!(bytes.ends_with(&[0, 1, b'c', 0, 1, b'u', 0, 2, b'p', b'w']));
        assert_eq!(usize::from(bytes[1]), bytes.len() - 2);
    }

    #[test]
    fn publish_at_qos_1_carries_its_packet_id_and_dup() {
        let bytes = publish("a/b", b"{}", QoS::AtLeastOnce, 0x0102, true).unwrap();
        assert_eq!(bytes, [0x3A, 9, 0, 3, b'a', b'/', b'b', 1, 2, b'{', b'}']);
        let bytes = publish("a/b", b"{}", QoS::AtMostOnce, 7, true).unwrap();
        assert_eq!(bytes, [0x30, 7, 0, 3, b'a', b'/', b'b', b'{', b'}']);
    }

    #[test]
    fn long_payloads_use_a_multi_byte_length() {
        let payload = vec![b'x'; 300];
        let bytes = publish("t", &payload, QoS::AtMostOnce, 0, false).unwrap();
        // 3 (topic) + 300 = 303 = 0b10_0101111 -> 0xAF 0x02
        assert_eq!(&bytes[..3], &[0x30, 0xAF, 0x02]);
        assert_eq!(bytes.len(), 3 + 303);
    }

    #[test]
    fn broker_packets_are_read() {
        let mut input: &[u8] = &[
            0x20, 2, 0, 0, 0x40, 2, 0x12, 0x34, 0xD0, 0, 0x90, 3, 0, 1, 0,
        ];
        assert_eq!(
            read_packet(&mut input).unwrap(),
            Incoming::ConnAck {
                session_present: false,
                return_code: 0
            }
        );
        assert_eq!(
            read_packet(&mut input).unwrap(),
            Incoming::PubAck { packet_id: 0x1234 }
        );
        assert_eq!(read_packet(&mut input).unwrap(), Incoming::PingResp);
        assert_eq!(read_packet(&mut input).unwrap(), Incoming::Other(9));
        assert_eq!(
            read_packet(&mut input).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        let mut short_ack: &[u8] = &[0x40, 1, 0x12];
        assert_eq!(
            read_packet(&mut short_ack).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut endless_length: &[u8] = &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(
            read_packet(&mut endless_length).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut huge: &[u8] = &[0x30, 0xFF, 0xFF, 0xFF, 0x7F];
        assert_eq!(
            read_packet(&mut huge).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert!(connack_refusal(4).contains("USER:PASSWORD"));
        assert!(connack_refusal(2).contains("mqtt-client-id"));
    }
}

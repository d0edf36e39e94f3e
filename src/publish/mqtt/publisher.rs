//! One publishing connection to an MQTT broker, with a bounded queue of its
//! own that outlives connections.
//!
//! Why not lean on the broker's session: a broker that restarts without
//! persistence answers the reconnect with a fresh session, and a client that
//! kept its unacknowledged messages "for the session" then drops them. Here
//! every message stays in the queue until the broker acknowledges it (QoS 1)
//! or it is written to the socket (QoS 0), and each new connection resends,
//! in order, whatever is still queued. So a broker restart loses nothing
//! that fits in the queue; QoS 1 may deliver a message twice across one
//! (at-least-once, as MQTT defines it).
//!
//! A writer thread owns the connection (connect, send, keep-alive pings,
//! reconnect with backoff); a reader thread per connection takes the
//! broker's acknowledgements. The caller's side never touches the network:
//! `publish` queues (waiting, bounded, for room) and `wait_delivered` waits,
//! bounded, for the queue to empty.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::packet::{self, ConnectOptions, Incoming, QoS};
use super::url::MqttUrl;

/// QoS 1 messages sent and not yet acknowledged, at most: enough to keep a
/// loopback or LAN link busy, few enough that a reconnect resends little.
const WINDOW: usize = 64;
/// Reconnect attempts start this far apart and double up to the maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// A single connection attempt never takes longer than this (the caller's
/// timeout may be shorter).
const MAX_CONNECT_TIME: Duration = Duration::from_secs(5);

/// How a publisher behaves.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    pub qos: QoS,
    pub client_id: String,
    /// Messages held at most: waiting to be sent, plus sent and not yet
    /// acknowledged.
    pub queue_limit: usize,
    /// How long `publish` waits for room in a full queue, and the first
    /// connection may take.
    pub timeout: Duration,
    /// MQTT keep-alive: a ping after half of it without a write; a broker
    /// silent for one and a half of it is taken as gone.
    pub keep_alive: Duration,
}

/// Why publishing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttError {
    /// The first connection did not come up.
    Connect { url: String, reason: String },
    /// The queue stayed full for the whole timeout.
    QueueFull {
        url: String,
        queued: usize,
        waited: Duration,
        reason: String,
    },
    /// Messages still unacknowledged (or unsent) when the wait ended.
    NotDelivered {
        url: String,
        count: usize,
        published: u64,
        waited: Duration,
        reason: String,
    },
    /// A message larger than MQTT can carry.
    TooLarge { url: String, bytes: usize },
    /// The connection thread could not start.
    Thread(String),
}

impl fmt::Display for MqttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect { url, reason } => write!(
                f,
                "cannot connect to the MQTT broker at {url}: {reason}; start the broker or correct location"
            ),
            Self::QueueFull {
                url,
                queued,
                waited,
                reason,
            } => write!(
                f,
                "the MQTT broker at {url} took no message for {} ms with {queued} queued (the mqtt-queue bound): {reason}; \
                 make sure the broker runs and is reachable, or raise mqtt-queue or mqtt-timeout to ride out longer outages",
                waited.as_millis()
            ),
            Self::NotDelivered {
                url,
                count,
                published,
                waited,
                reason,
            } => write!(
                f,
                "{count} of {published} messages were not acknowledged by the MQTT broker at {url} within {} ms: {reason}; \
                 make sure the broker runs and is reachable, or raise mqtt-timeout",
                waited.as_millis()
            ),
            Self::TooLarge { url, bytes } => write!(
                f,
                "a {bytes}-byte message is larger than MQTT can carry to {url} (256 MiB); write such results to a file instead"
            ),
            Self::Thread(reason) => write!(f, "cannot start the MQTT connection thread: {reason}"),
        }
    }
}

impl std::error::Error for MqttError {}

struct Message {
    payload: Vec<u8>,
    /// Its packet id on the current connection, once sent there.
    packet_id: Option<u16>,
    /// Sent on an earlier connection (resent with the DUP flag).
    sent_before: bool,
    acknowledged: bool,
}

#[derive(Default)]
struct State {
    /// Messages not yet delivered, in publish order.
    queue: VecDeque<Message>,
    /// How many of `queue`'s first messages went out on this connection.
    sent: usize,
    connected: bool,
    /// Set by the reader when the current connection fails.
    broken: bool,
    last_error: Option<String>,
    next_packet_id: u16,
    published: u64,
    shutdown: bool,
}

impl State {
    /// What stands between the queue and the broker, for messages.
    fn reason(&self) -> String {
        match (&self.last_error, self.connected) {
            (_, true) => "the broker is connected but did not acknowledge them".to_string(),
            (Some(error), false) => format!("no connection ({error})"),
            (None, false) => "no connection".to_string(),
        }
    }

    fn next_packet_id(&mut self) -> u16 {
        // Packet id 0 is not allowed.
        self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
        self.next_packet_id
    }

    /// The broker acknowledged `packet_id`: the acknowledged messages at the
    /// front of the queue are delivered.
    fn acknowledge(&mut self, packet_id: u16) {
        let sent = self.sent;
        if let Some(message) = self
            .queue
            .iter_mut()
            .take(sent)
            .find(|m| m.packet_id == Some(packet_id))
        {
            message.acknowledged = true;
        }
        while self.queue.front().is_some_and(|m| m.acknowledged) {
            self.queue.pop_front();
            self.sent -= 1;
        }
    }

    /// Starts a connection: everything still queued is to be sent again.
    fn restart(&mut self) {
        for message in self.queue.iter_mut().take(self.sent) {
            message.packet_id = None;
            message.sent_before = true;
        }
        self.sent = 0;
        self.broken = false;
        self.connected = true;
    }

    fn connection_failed(&mut self, error: String) {
        if !self.broken {
            self.broken = true;
            self.last_error = Some(error);
        }
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a holder leaves counters only; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits on `changed` until `deadline` (no later); returns the guard.
    fn wait_until<'a>(
        &self,
        guard: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> MutexGuard<'a, State> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.changed
            .wait_timeout(guard, left)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|e| e.into_inner().0)
    }
}

/// A connection to one broker, publishing to one topic.
pub struct Publisher {
    url: MqttUrl,
    options: PublisherOptions,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl Publisher {
    /// Connects (bounded by the timeout: a wrong host or a broker that is not
    /// there fails here, not an hour later) and starts the connection thread.
    pub fn connect(url: MqttUrl, options: PublisherOptions) -> Result<Self, MqttError> {
        let stream = open(&url, &options).map_err(|reason| MqttError::Connect {
            url: url.to_string(),
            reason,
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let writer = {
            let (shared, url, options) = (shared.clone(), url.clone(), options.clone());
            std::thread::Builder::new()
                .name("dlpublish-mqtt".into())
                .spawn(move || run_connections(&shared, &url, &options, stream))
                .map_err(|e| MqttError::Thread(e.to_string()))?
        };
        Ok(Self {
            url,
            options,
            shared,
            writer: Some(writer),
        })
    }

    pub fn url(&self) -> &MqttUrl {
        &self.url
    }

    /// Queues one message, waiting up to the timeout for room.
    pub fn publish(&self, payload: Vec<u8>) -> Result<(), MqttError> {
        if packet::publish(&self.url.topic, &[], self.options.qos, 1, false)
            .is_none_or(|empty| empty.len() + payload.len() > packet::MAX_REMAINING_LENGTH)
        {
            return Err(MqttError::TooLarge {
                url: self.url.to_string(),
                bytes: payload.len(),
            });
        }
        let deadline = Instant::now() + self.options.timeout;
        let mut state = self.shared.lock();
        while state.queue.len() >= self.options.queue_limit.max(1) {
            if Instant::now() >= deadline {
                return Err(MqttError::QueueFull {
                    url: self.url.to_string(),
                    queued: state.queue.len(),
                    waited: self.options.timeout,
                    reason: state.reason(),
                });
            }
            state = self.shared.wait_until(state, deadline);
        }
        state.queue.push_back(Message {
            payload,
            packet_id: None,
            sent_before: false,
            acknowledged: false,
        });
        state.published += 1;
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Waits up to `timeout` until every message is delivered (acknowledged
    /// at QoS 1, written at QoS 0).
    pub fn wait_delivered(&self, timeout: Duration) -> Result<(), MqttError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !state.queue.is_empty() {
            if Instant::now() >= deadline {
                return Err(MqttError::NotDelivered {
                    url: self.url.to_string(),
                    count: state.queue.len(),
                    published: state.published,
                    waited: timeout,
                    reason: state.reason(),
                });
            }
            state = self.shared.wait_until(state, deadline);
        }
        Ok(())
    }

    /// Messages queued and not yet delivered.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }
}

impl Drop for Publisher {
    /// Says goodbye to the broker (DISCONNECT) and stops the threads; what is
    /// still queued is dropped (`wait_delivered` first to keep it).
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Opens a TCP connection and has the broker accept the CONNECT.
fn open(url: &MqttUrl, options: &PublisherOptions) -> Result<TcpStream, String> {
    let limit = options.timeout.min(MAX_CONNECT_TIME);
    let addresses = url
        .address()
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?;
    let mut last = format!("{} resolves to no address", url.host);
    for address in addresses {
        match TcpStream::connect_timeout(&address, limit) {
            Ok(stream) => return handshake(stream, url, options, limit),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

fn handshake(
    mut stream: TcpStream,
    url: &MqttUrl,
    options: &PublisherOptions,
    limit: Duration,
) -> Result<TcpStream, String> {
    let io = |e: std::io::Error| e.to_string();
    stream.set_nodelay(true).map_err(io)?;
    // A broker that stops reading must not block a write for ever.
    stream
        .set_write_timeout(Some(options.timeout))
        .map_err(io)?;
    stream.set_read_timeout(Some(limit)).map_err(io)?;
    let keep_alive_s = options.keep_alive.as_secs().clamp(1, u64::from(u16::MAX)) as u16;
    stream
        .write_all(&packet::connect(&ConnectOptions {
            client_id: &options.client_id,
            keep_alive_s,
            username: url.username.as_deref(),
            password: url.password.as_deref(),
        }))
        .map_err(io)?;
    match packet::read_packet(&mut stream) {
        Ok(Incoming::ConnAck { return_code: 0, .. }) => Ok(stream),
        Ok(Incoming::ConnAck { return_code, .. }) => Err(format!(
            "the broker refused the connection: {}",
            packet::connack_refusal(return_code)
        )),
        Ok(other) => Err(format!(
            "the broker answered the connection with {other:?}, not CONNACK: is it an MQTT broker?"
        )),
        Err(e) => Err(format!(
            "no CONNACK from the broker ({e}): is it an MQTT 3.1.1 broker?"
        )),
    }
}

/// The writer thread: one connection after another until shutdown.
fn run_connections(
    shared: &Arc<Shared>,
    url: &MqttUrl,
    options: &PublisherOptions,
    first: TcpStream,
) {
    let mut next = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let stream = match next.take() {
            Some(stream) => stream,
            None => match open(url, options) {
                Ok(stream) => {
                    backoff = FIRST_BACKOFF;
                    stream
                }
                Err(error) => {
                    let mut state = shared.lock();
                    state.last_error = Some(error);
                    if !state.shutdown {
                        state = shared.wait_until(state, Instant::now() + backoff);
                    }
                    if state.shutdown {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            },
        };
        if run_session(shared, url, options, stream) == SessionEnd::Shutdown {
            return;
        }
    }
}

#[derive(PartialEq, Eq)]
enum SessionEnd {
    Shutdown,
    Broken,
}

/// Sends queued messages and pings on one connection until it breaks or
/// the publisher shuts down.
fn run_session(
    shared: &Arc<Shared>,
    url: &MqttUrl,
    options: &PublisherOptions,
    mut stream: TcpStream,
) -> SessionEnd {
    let reader = match stream.try_clone() {
        Ok(read_half) => {
            shared.lock().restart();
            let silence = options.keep_alive * 3 / 2;
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("dlpublish-mqtt-acks".into())
                .spawn(move || read_acknowledgements(&shared, read_half, silence))
        }
        Err(e) => Err(e),
    };
    let reader = match reader {
        Ok(reader) => reader,
        Err(e) => {
            shared.lock().last_error = Some(e.to_string());
            return SessionEnd::Broken;
        }
    };
    let ping_every = options.keep_alive / 2;
    let mut last_write = Instant::now();
    let end = loop {
        let mut state = shared.lock();
        loop {
            let due = last_write + ping_every;
            let can_send = state.sent < state.queue.len()
                && (options.qos == QoS::AtMostOnce || state.sent < WINDOW);
            if state.shutdown || state.broken || can_send || Instant::now() >= due {
                break;
            }
            state = shared.wait_until(state, due);
        }
        if state.broken {
            break SessionEnd::Broken;
        }
        if state.shutdown {
            drop(state);
            // Best effort: the broker drops the session either way.
            let _ = stream.write_all(&packet::DISCONNECT);
            break SessionEnd::Shutdown;
        }
        let bytes = take_packets(&mut state, &url.topic, options.qos);
        drop(state);
        // QoS 0 messages left the queue: room for a waiting publisher.
        shared.changed.notify_all();
        if let Err(e) = stream.write_all(&bytes) {
            shared
                .lock()
                .connection_failed(format!("writing to the broker failed: {e}"));
            break SessionEnd::Broken;
        }
        last_write = Instant::now();
    };
    let _ = stream.shutdown(Shutdown::Both);
    let _ = reader.join();
    let mut state = shared.lock();
    state.connected = false;
    drop(state);
    shared.changed.notify_all();
    end
}

/// The packets for what may be sent now, or a ping when nothing may.
fn take_packets(state: &mut State, topic: &str, qos: QoS) -> Vec<u8> {
    let mut bytes = Vec::new();
    while state.sent < state.queue.len() && (qos == QoS::AtMostOnce || state.sent < WINDOW) {
        let packet_id = match qos {
            QoS::AtLeastOnce => state.next_packet_id(),
            QoS::AtMostOnce => 0,
        };
        let index = state.sent;
        let message = &mut state.queue[index];
        // `publish` refused anything too large, so encoding cannot fail.
        if let Some(packet) =
            packet::publish(topic, &message.payload, qos, packet_id, message.sent_before)
        {
            bytes.extend_from_slice(&packet);
        }
        match qos {
            QoS::AtMostOnce => {
                state.queue.pop_front();
            }
            QoS::AtLeastOnce => {
                message.packet_id = Some(packet_id);
                state.sent += 1;
            }
        }
    }
    if bytes.is_empty() {
        bytes.extend_from_slice(&packet::PINGREQ);
    }
    bytes
}

/// The reader thread of one connection: acknowledgements until it fails.
fn read_acknowledgements(shared: &Shared, stream: TcpStream, silence: Duration) {
    let failure = match stream.set_read_timeout(Some(silence)) {
        Err(e) => e.to_string(),
        Ok(()) => {
            let mut reader = BufReader::new(stream);
            loop {
                match packet::read_packet(&mut reader) {
                    Ok(Incoming::PubAck { packet_id }) => {
                        shared.lock().acknowledge(packet_id);
                        shared.changed.notify_all();
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        break "the broker closed the connection".to_string();
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break format!(
                            "the broker sent nothing for {} s (not even a ping answer)",
                            silence.as_secs()
                        );
                    }
                    Err(e) => break format!("reading from the broker failed: {e}"),
                }
            }
        }
    };
    shared.lock().connection_failed(failure);
    shared.changed.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(state: &mut State, n: usize) {
        for i in 0..n {
            state.queue.push_back(Message {
                payload: vec![i as u8],
                packet_id: None,
                sent_before: false,
                acknowledged: false,
            });
        }
    }

    #[test]
    fn acknowledgements_deliver_from_the_front_even_out_of_order() {
        let mut state = State::default();
        queued(&mut state, 3);
        state.restart();
        let bytes = take_packets(&mut state, "t", QoS::AtLeastOnce);
        assert_eq!(state.sent, 3);
        assert_eq!(bytes.len(), 3 * 8); // 2 header + 3 topic + 2 id + 1 payload
        state.acknowledge(2);
        assert_eq!(state.queue.len(), 3, "1 is still unacknowledged");
        state.acknowledge(1);
        assert_eq!(state.queue.len(), 1);
        assert_eq!(state.sent, 1);
        state.acknowledge(99); // unknown ids change nothing
        state.acknowledge(3);
        assert!(state.queue.is_empty());
        assert_eq!(state.sent, 0);
    }

    #[test]
    fn a_new_connection_resends_what_was_not_acknowledged_marked_dup() {
        let mut state = State::default();
        queued(&mut state, 2);
        state.restart();
        take_packets(&mut state, "t", QoS::AtLeastOnce);
        state.connection_failed("gone".into());
        state.restart();
        assert_eq!(state.sent, 0);
        assert!(!state.broken);
        let bytes = take_packets(&mut state, "t", QoS::AtLeastOnce);
        assert_eq!(bytes[0], 0x3A, "QoS 1 with DUP");
        assert_eq!(state.queue.len(), 2);
    }

    #[test]
    fn qos_0_messages_leave_the_queue_when_written() {
        let mut state = State::default();
        queued(&mut state, 2);
        state.restart();
        let bytes = take_packets(&mut state, "t", QoS::AtMostOnce);
        assert!(state.queue.is_empty());
        assert_eq!(bytes.len(), 2 * 6);
    }

    #[test]
    fn at_most_a_window_of_qos_1_messages_is_in_flight() {
        let mut state = State::default();
        queued(&mut state, WINDOW + 5);
        state.restart();
        take_packets(&mut state, "t", QoS::AtLeastOnce);
        assert_eq!(state.sent, WINDOW);
        assert_eq!(
            take_packets(&mut state, "t", QoS::AtLeastOnce),
            packet::PINGREQ
        );
    }

    #[test]
    fn packet_ids_wrap_past_zero() {
        let mut state = State {
            next_packet_id: u16::MAX - 1,
            ..State::default()
        };
        assert_eq!(state.next_packet_id(), u16::MAX);
        assert_eq!(state.next_packet_id(), 1);
    }

    #[test]
    fn the_first_failure_of_a_connection_is_the_one_reported() {
        let mut state = State::default();
        state.restart();
        state.connection_failed("the broker closed the connection".into());
        state.connection_failed("writing failed".into());
        state.connected = false;
        assert_eq!(
            state.reason(),
            "no connection (the broker closed the connection)"
        );
    }

    #[test]
    fn connecting_to_a_port_nobody_listens_on_fails_at_once() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = MqttUrl::parse(&format!("mqtt://127.0.0.1:{port}/t")).unwrap();
        let options = PublisherOptions {
            qos: QoS::AtLeastOnce,
            client_id: "test".into(),
            queue_limit: 10,
            timeout: Duration::from_secs(2),
            keep_alive: Duration::from_secs(30),
        };
        let started = Instant::now();
        let err = Publisher::connect(url, options).err().unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}/t")), "{text}");
        assert!(text.contains("refused"), "{text}");
        assert!(text.contains("start the broker"), "{text}");
    }
}

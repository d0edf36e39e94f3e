//! Publishing JSON lines to an MQTT broker: `mqtt://HOST[:PORT]/TOPIC`, one
//! message per line, QoS 0 or 1, through a bounded queue that rides over a
//! broker restart. A small MQTT 3.1.1 publisher of our own (see
//! `publisher`'s docs for why not a general client).

pub mod packet;
pub mod publisher;
pub mod url;

pub use packet::QoS;
pub use publisher::{MqttError, Publisher, PublisherOptions};
pub use url::{MqttUrl, UrlError, is_mqtt_location};

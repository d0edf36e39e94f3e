//! dlpublish location=mqtt://: a real mosquitto broker (started here on a
//! free loopback port, stopped by its PID) and a real `mosquitto_sub`
//! receive one message per frame, in order, over a broker restart; a broker
//! gone for good, a broker that stops answering and bad URLs end in clear
//! errors.

mod common;

use std::time::{Duration, Instant};

use common::free_port;
use common::mosquitto::Broker;
use common::{expect_error, pipeline, run_to_end};
use gst::prelude::*;

/// The `frame` of each JSON message.
fn frames(messages: &[String]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| {
            let value: serde_json::Value =
                serde_json::from_str(m).unwrap_or_else(|e| panic!("{m:?} is not JSON: {e}"));
            value["frame"].as_u64().expect("a frame number")
        })
        .collect()
}

/// Frames in order of first arrival, without the repeats QoS 1 may make.
fn first_arrivals(frames: &[u64]) -> Vec<u64> {
    let mut seen = std::collections::BTreeSet::new();
    frames.iter().copied().filter(|f| seen.insert(*f)).collect()
}

fn publish_line(broker: &Broker, topic: &str, frames: u32, extra: &str) -> String {
    format!(
        "videotestsrc num-buffers={frames} ! video/x-raw,width=64,height=48,framerate=30/1 ! \
         dlpublish all-frames=true location={} {extra} ! fakesink",
        broker.url(topic)
    )
}

/// Sets the pipeline playing; when it cannot, fails with the element's
/// error and the broker's log, which say why.
fn play(p: &gst::Pipeline, broker: &Broker) {
    if p.set_state(gst::State::Playing).is_ok() {
        return;
    }
    let error = p
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .map(|m| match m.view() {
            gst::MessageView::Error(e) => format!("{} {:?}", e.error(), e.debug()),
            _ => unreachable!("filtered to errors"),
        });
    panic!(
        "the pipeline did not start: {error:?}\nbroker log:\n{}",
        broker.log()
    );
}

#[test]
fn every_frame_is_one_message_in_order_at_qos_1_and_0() {
    let broker = Broker::start();
    for qos in [1, 0] {
        let topic = format!("gst-dl/qos{qos}");
        let subscriber = broker.subscribe(&topic);
        let p = pipeline(&publish_line(
            &broker,
            &topic,
            100,
            &format!("mqtt-qos={qos}"),
        ));
        let outcome = run_to_end(&p, Duration::from_secs(60), |_, _| {});
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        let received = subscriber.collect(100, Duration::from_secs(20));
        assert_eq!(
            frames(&received),
            (0..100).collect::<Vec<_>>(),
            "QoS {qos}: one message per frame, in order"
        );
        // Each message is one JSON line without its newline, as in the file.
        let first: serde_json::Value = serde_json::from_str(&received[0]).unwrap();
        assert_eq!(
            (first["width"].as_u64(), first["height"].as_u64()),
            (Some(64), Some(48))
        );
        assert!(!received[0].ends_with('\n'));
    }
    // Nothing more arrives: exactly one message per frame.
}

#[test]
fn a_broker_restart_mid_stream_loses_nothing() {
    let mut broker = Broker::start();
    let topic = "gst-dl/restart";
    let subscriber = broker.subscribe(topic);
    // 90 frames at 30 fps: 3 s of live video, the broker away for ~0.5 s.
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=90 ! video/x-raw,width=64,height=48,framerate=30/1 ! \
         dlpublish all-frames=true location={} mqtt-queue=200 ! fakesink",
        broker.url(topic)
    ));
    play(&p, &broker);
    let before = subscriber.collect(15, Duration::from_secs(20));
    assert_eq!(before.len(), 15, "messages flow before the restart");
    broker.stop();
    std::thread::sleep(Duration::from_millis(500));
    broker.restart();
    let bus = p.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("the stream ends");
    if let gst::MessageView::Error(err) = message.view() {
        panic!("{} {:?}\n{}", err.error(), err.debug(), broker.log());
    }
    p.set_state(gst::State::Null).unwrap();
    let after = subscriber.collect_until(Duration::from_secs(30), |r| {
        first_arrivals(&frames(r)).last() == Some(&89)
    });
    let all: Vec<u64> = frames(&before).into_iter().chain(frames(&after)).collect();
    assert_eq!(
        first_arrivals(&all),
        (0..90).collect::<Vec<_>>(),
        "every frame arrives, in order (QoS 1 may repeat some: {all:?})"
    );
}

#[test]
fn a_broker_gone_for_good_ends_in_an_error_naming_the_queue() {
    let mut broker = Broker::start();
    let url = broker.url("gst-dl/gone");
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=600 ! video/x-raw,width=64,height=48,framerate=30/1 ! \
         dlpublish all-frames=true location={url} mqtt-queue=20 mqtt-timeout=2000 ! fakesink"
    ));
    let started = Instant::now();
    play(&p, &broker);
    std::thread::sleep(Duration::from_millis(300));
    broker.stop();
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    let (message, _) = outcome.error.expect("an error, not a hang or EOS");
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("20 queued"), "{message}");
    assert!(message.contains("mqtt-queue"), "{message}");
    assert!(
        message.contains("refused"),
        "the last connection error: {message}"
    );
    // 20 frames (0.7 s) fill the queue, then 2 s of waiting: well before
    // the 20 s the stream would have lasted.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn at_eos_unacknowledged_messages_are_an_error_that_counts_them() {
    let broker = Broker::start();
    let topic = "gst-dl/paused";
    let subscriber = broker.subscribe(topic);
    let p = pipeline(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width=16,height=16,framerate=30/1 ! \
         dlpublish all-frames=true location={} mqtt-timeout=1500 ! fakesink",
        broker.url(topic)
    ));
    let src = p
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let push = |i: u64| {
        let mut buffer = gst::Buffer::from_mut_slice(vec![0u8; 16 * 16 * 3]);
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i * 33));
        src.push_buffer(buffer).unwrap();
    };
    push(0);
    push(1);
    assert_eq!(
        frames(&subscriber.collect(2, Duration::from_secs(20))),
        [0, 1]
    );
    broker.pause(true);
    for i in 2..5 {
        push(i);
    }
    src.end_of_stream().unwrap();
    let started = Instant::now();
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    broker.pause(false);
    let (message, _) = outcome.error.expect("unacknowledged messages are an error");
    assert!(
        message.contains("3 of 5 messages were not acknowledged"),
        "{message}"
    );
    assert!(message.contains("1500 ms"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_broker_that_is_not_there_fails_the_start() {
    let port = free_port();
    let message = expect_error(&format!(
        "videotestsrc num-buffers=3 ! dlpublish location=mqtt://127.0.0.1:{port}/t ! fakesink"
    ));
    assert!(
        message.contains(&format!("mqtt://127.0.0.1:{port}/t")),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(message.contains("start the broker"), "{message}");
}

#[test]
fn an_mqtt_url_without_a_topic_is_refused_with_the_form_to_use() {
    let broker = Broker::start();
    let message = expect_error(&format!(
        "videotestsrc num-buffers=3 ! dlpublish location=mqtt://127.0.0.1:{} ! fakesink",
        broker.port
    ));
    assert!(message.contains("names no topic"), "{message}");
    assert!(message.contains("mqtt://HOST[:PORT]/TOPIC"), "{message}");
}

#[test]
fn an_mqtts_url_is_refused_as_tls_not_taken_for_a_file() {
    let location = "mqtts://127.0.0.1:8883/cameras/door";
    let message = expect_error(&format!(
        "videotestsrc num-buffers=3 ! dlpublish location={location} ! fakesink"
    ));
    assert!(
        message.contains("mqtts:// (MQTT over TLS) is not supported"),
        "{message}"
    );
    assert!(message.contains("bridge"), "{message}");
    // Nothing was written as a file named after the URL.
    assert!(!std::path::Path::new("mqtts:").exists());
}

#[test]
fn gst_inspect_lists_the_mqtt_properties_with_their_defaults() {
    common::init();
    let element = gst::ElementFactory::make("dlpublish").build().unwrap();
    assert_eq!(element.property::<u32>("mqtt-qos"), 1);
    assert_eq!(element.property::<u32>("mqtt-queue"), 1000);
    assert_eq!(element.property::<u32>("mqtt-timeout"), 10_000);
    assert_eq!(element.property::<Option<String>>("mqtt-client-id"), None);
    let blurb = element
        .find_property("location")
        .unwrap()
        .blurb()
        .unwrap()
        .to_string();
    assert!(blurb.contains("mqtt://HOST[:PORT]/TOPIC"), "{blurb}");
}

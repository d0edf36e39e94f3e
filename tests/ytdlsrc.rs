//! ytdlsrc on a loopback site, offline: page URLs resolved by the project's
//! yt-dlp (or stand-ins) and played through uridecodebin, playbin and on its
//! own; the errors users meet (yt-dlp missing, hanging, failing) and an HTTP
//! connection dropped mid-stream. Every run is bounded in time.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::http_server::HttpServer;
use common::{Outcome, count_buffers, media, pipeline, run_to_end, test_model};
use gst::prelude::*;

/// carphone_pristine.mp4: 120 frames, no sound.
const CARPHONE_FRAMES: u64 = 120;
/// Long enough for yt-dlp's start-up (Python) on a busy machine, short
/// enough to catch a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn carphone_site() -> HttpServer {
    HttpServer::clip_site(&media("carphone_pristine.mp4"), "Carphone").expect("server starts")
}

/// An executable shell script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The one `ytdlsrc` element message of a run.
fn resolved_message(outcome: &Outcome) -> gst::Structure {
    let messages = outcome.named("ytdlsrc");
    assert_eq!(messages.len(), 1, "one ytdlsrc message: {messages:?}");
    messages[0].clone()
}

fn string_field(s: &gst::StructureRef, name: &str) -> String {
    s.get::<String>(name)
        .unwrap_or_else(|e| panic!("field {name} of {s}: {e}"))
}

/// Titles of the stream tags reaching the sink pad of `name`.
fn record_titles(p: &gst::Pipeline, name: &str) -> Arc<Mutex<Vec<String>>> {
    let titles = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&titles);
    let pad = p.by_name(name).unwrap().static_pad("sink").unwrap();
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && let gst::EventView::Tag(tag) = event.view()
            && let Some(title) = tag.tag().get::<gst::tags::Title>()
        {
            seen.lock().unwrap().push(title.get().to_owned());
        }
        gst::PadProbeReturn::Ok
    });
    titles
}

/// Runs `description` expecting an error; returns it and how long it took.
fn run_to_error(description: &str) -> ((String, String), Duration) {
    let p = pipeline(description);
    let started = Instant::now();
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    let took = started.elapsed();
    let error = outcome
        .error
        .unwrap_or_else(|| panic!("{description}: ended without an error"));
    (error, took)
}

#[test]
fn uridecodebin_plays_a_page_through_dlinfer() {
    let server = carphone_site();
    let page = server.url("/page.html");
    let p = pipeline(&format!(
        "uridecodebin uri=ytdl://{page} ! videoconvert ! dlinfer model={} ! fakesink name=sink",
        test_model("yolov8_dynamic.onnx").display()
    ));
    let frames = count_buffers(&p, "sink");
    let titles = record_titles(&p, "sink");
    let http_source = Arc::new(Mutex::new(None));
    let found = Arc::clone(&http_source);
    p.connect_deep_element_added(move |_, _, element| {
        if element.factory().is_some_and(|f| f.name() == "souphttpsrc") {
            *found.lock().unwrap() = Some(element.clone());
        }
    });

    let started = Instant::now();
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    eprintln!("played in {:?}", started.elapsed());
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(frames.load(Ordering::SeqCst), CARPHONE_FRAMES);

    let message = resolved_message(&outcome);
    assert_eq!(string_field(&message, "url"), page);
    let media_url = string_field(&message, "resolved-url");
    assert_eq!(media_url, server.url("/clip.mp4"));
    // yt-dlp's html5 extractor numbers the <video> tags of a page.
    assert_eq!(string_field(&message, "title"), "Carphone (1)");
    assert_eq!(string_field(&message, "extractor"), "html5");
    assert_eq!(message.get::<i64>("duration").unwrap(), -1, "not known");

    // The title went out as a stream tag.
    let titles = titles.lock().unwrap().clone();
    assert!(
        titles.iter().any(|t| t == "Carphone (1)"),
        "title tag at the sink: {titles:?}"
    );

    // yt-dlp's headers went to the HTTP source.
    let source = http_source
        .lock()
        .unwrap()
        .clone()
        .expect("souphttpsrc used");
    let user_agent: String = source.property("user-agent");
    assert!(user_agent.starts_with("Mozilla/5.0"), "{user_agent}");
    let extra: gst::Structure = source.property("extra-headers");
    assert_eq!(
        extra.get::<String>("Referer").unwrap(),
        page,
        "extra-headers {extra}"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /clip.mp4")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn playbin_plays_a_ytdl_uri_to_eos() {
    let server = carphone_site();
    let p = pipeline(&format!(
        "playbin uri=ytdl://{} video-sink=fakesink audio-sink=fakesink",
        server.url("/page.html")
    ));
    let started = Instant::now();
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    eprintln!("played in {:?}", started.elapsed());
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(
        string_field(&resolved_message(&outcome), "resolved-url"),
        server.url("/clip.mp4")
    );
}

#[test]
fn a_clip_with_sound_plays_with_only_its_video_linked() {
    // bigbuckbunny.mp4 has H.264 video and AAC audio: audio_0 is exposed and
    // left unlinked, which must not stop the video.
    let server =
        HttpServer::clip_site(&media("bigbuckbunny.mp4"), "Big Buck Bunny").expect("server starts");
    let p = pipeline(&format!(
        "ytdlsrc name=src url={} ! videoconvert ! fakesink name=sink",
        server.url("/clip.mp4")
    ));
    let pads = Arc::new(Mutex::new(Vec::new()));
    let added = Arc::clone(&pads);
    p.by_name("src").unwrap().connect_pad_added(move |_, pad| {
        added.lock().unwrap().push(pad.name().to_string());
    });
    let frames = count_buffers(&p, "sink");
    let titles = record_titles(&p, "sink");

    let started = Instant::now();
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    eprintln!("played in {:?}", started.elapsed());
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let mut pads = pads.lock().unwrap().clone();
    pads.sort();
    assert_eq!(pads, ["audio_0", "video_0"]);
    assert!(frames.load(Ordering::SeqCst) > 100);
    // A direct media URL: the generic extractor names it after the file.
    let message = resolved_message(&outcome);
    assert_eq!(string_field(&message, "title"), "clip");
    assert_eq!(string_field(&message, "extractor"), "generic");
    assert!(titles.lock().unwrap().iter().any(|t| t == "clip"));
}

#[test]
fn a_hanging_yt_dlp_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let hang = script(dir.path(), "yt-dlp", "sleep 60");
    let ((message, debug), took) = run_to_error(&format!(
        "ytdlsrc url=https://example.invalid/watch yt-dlp-path={} timeout=1 ! fakesink",
        hang.display()
    ));
    assert!(
        message.contains("yt-dlp did not answer within 1 s"),
        "{message}"
    );
    assert!(message.contains("timeout"), "names the fix: {message}");
    assert!(debug.contains("--dump-single-json"), "{debug}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_missing_yt_dlp_names_the_install_command() {
    let ((message, _), took) = run_to_error(
        "ytdlsrc url=https://example.invalid/watch yt-dlp-path=/nonexistent/yt-dlp ! fakesink",
    );
    assert!(message.contains("pip install yt-dlp"), "{message}");
    assert!(message.contains("/nonexistent/yt-dlp"), "{message}");
    assert!(message.contains("yt-dlp-path"), "{message}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_failing_yt_dlp_passes_its_error_on() {
    let dir = tempfile::tempdir().unwrap();
    let fail = script(
        dir.path(),
        "yt-dlp",
        "echo '[youtube] abc: Downloading webpage' >&2\n\
         echo 'ERROR: [youtube] abc: Video unavailable. This video is private' >&2\nexit 1",
    );
    let ((message, _), _) = run_to_error(&format!(
        "ytdlsrc url=https://www.youtube.com/watch?v=abc yt-dlp-path={} ! fakesink",
        fail.display()
    ));
    assert!(
        message.contains("ERROR: [youtube] abc: Video unavailable. This video is private"),
        "{message}"
    );
    assert!(
        message.contains("https://www.youtube.com/watch?v=abc"),
        "{message}"
    );

    let silent = script(dir.path(), "quiet", "echo 'no url here'");
    let ((message, _), _) = run_to_error(&format!(
        "ytdlsrc url=https://example.invalid/x yt-dlp-path={} ! fakesink",
        silent.display()
    ));
    assert!(message.contains("gave no media URL"), "{message}");
}

#[test]
fn a_connection_dropped_mid_stream_ends_in_an_error() {
    let server = carphone_site();
    let ((message, debug), took) = run_to_error(&format!(
        "uridecodebin uri=ytdl://{} ! videoconvert ! fakesink",
        server.url("/drop.mp4")
    ));
    eprintln!("failed after {took:?}: {message} ({debug})");
    assert!(took < Duration::from_secs(45), "took {took:?}");
    assert!(message.contains("failed mid-stream"), "{message}");
    assert!(message.contains(&server.url("/drop.mp4")), "{message}");
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /drop.mp4")),
        "{:?}",
        server.requests()
    );
}

#[test]
fn a_stand_in_printing_a_bare_url_works_like_yt_dlp() {
    let server = carphone_site();
    let dir = tempfile::tempdir().unwrap();
    // The page URL comes last; this stand-in maps a page to its clip.
    let stand_in = script(
        dir.path(),
        "resolve-page",
        "for last in \"$@\"; do :; done\necho \"${last%/page.html}/clip.mp4\"",
    );
    let p = pipeline(&format!(
        "ytdlsrc name=src url={} yt-dlp-path={} ! videoconvert ! fakesink name=sink",
        server.url("/page.html"),
        stand_in.display()
    ));
    let frames = count_buffers(&p, "sink");
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(frames.load(Ordering::SeqCst), CARPHONE_FRAMES);
    let message = resolved_message(&outcome);
    assert_eq!(
        string_field(&message, "resolved-url"),
        server.url("/clip.mp4")
    );
    assert_eq!(string_field(&message, "title"), "");
    let src = p.by_name("src").unwrap();
    assert_eq!(
        src.property::<Option<String>>("resolved-url").as_deref(),
        Some(server.url("/clip.mp4").as_str())
    );
    assert_eq!(src.property::<Option<String>>("title"), None);
    assert_eq!(src.property::<i64>("duration"), -1);
}

#[test]
fn a_json_stand_in_gives_title_duration_and_headers() {
    let server = carphone_site();
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        r#"{{"url": "{}", "title": "From JSON", "duration": 4.5, "http_headers": {{"User-Agent": "stand-in/1.0", "X-Token": "abc"}}}}"#,
        server.url("/clip.mp4")
    );
    let stand_in = script(dir.path(), "resolve-json", &format!("echo '{json}'"));
    let p = pipeline(&format!(
        "ytdlsrc name=src url={} yt-dlp-path={} ! videoconvert ! fakesink name=sink",
        server.url("/page.html"),
        stand_in.display()
    ));
    let http_source = Arc::new(Mutex::new(None));
    let found = Arc::clone(&http_source);
    p.connect_deep_element_added(move |_, _, element| {
        if element.factory().is_some_and(|f| f.name() == "souphttpsrc") {
            *found.lock().unwrap() = Some(element.clone());
        }
    });
    let titles = record_titles(&p, "sink");
    let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let message = resolved_message(&outcome);
    assert_eq!(string_field(&message, "title"), "From JSON");
    assert_eq!(message.get::<i64>("duration").unwrap(), 4_500_000_000);
    assert!(titles.lock().unwrap().iter().any(|t| t == "From JSON"));
    let src = p.by_name("src").unwrap();
    assert_eq!(src.property::<i64>("duration"), 4_500_000_000);

    let source = http_source
        .lock()
        .unwrap()
        .clone()
        .expect("souphttpsrc used");
    assert_eq!(source.property::<String>("user-agent"), "stand-in/1.0");
    let extra: gst::Structure = source.property("extra-headers");
    assert_eq!(extra.get::<String>("X-Token").unwrap(), "abc", "{extra}");
    assert!(!extra.has_field("User-Agent"), "{extra}");
}

#[test]
fn the_uri_handler_takes_ytdl_uris_only() {
    common::init();
    let element = gst::Element::make_from_uri(
        gst::URIType::Src,
        "ytdl://https://www.youtube.com/watch?v=abc",
        None,
    )
    .expect("ytdlsrc handles ytdl://");
    assert_eq!(element.factory().unwrap().name(), "ytdlsrc");
    assert_eq!(
        element.property::<Option<String>>("url").as_deref(),
        Some("https://www.youtube.com/watch?v=abc")
    );
    let handler = element.dynamic_cast_ref::<gst::URIHandler>().unwrap();
    assert_eq!(
        handler.uri().as_deref(),
        Some("ytdl://https://www.youtube.com/watch?v=abc")
    );
    let error = handler
        .set_uri("ytdl://ftp://example.com/clip.mp4")
        .unwrap_err();
    assert!(error.message().contains("http://"), "{error}");

    // url= takes a ytdl: URI too.
    element.set_property("url", "ytdl:https://example.com/v");
    assert_eq!(
        element.property::<Option<String>>("url").as_deref(),
        Some("https://example.com/v")
    );
}

#[test]
fn no_url_is_an_error_naming_the_property() {
    let ((message, _), _) = run_to_error("ytdlsrc ! fakesink");
    assert!(message.contains("url="), "{message}");
}

#[test]
fn it_plays_again_after_stopping_and_resolves_anew() {
    let server = carphone_site();
    // Linked by the application each time: gst-launch's delayed linking
    // links only the first pad it sees, as with uridecodebin.
    let p = pipeline(&format!(
        "ytdlsrc name=src url={} videoconvert name=convert ! fakesink name=sink",
        server.url("/page.html")
    ));
    let frames = count_buffers(&p, "sink");
    let pads = Arc::new(Mutex::new(Vec::new()));
    let added = Arc::clone(&pads);
    let convert = p.by_name("convert").unwrap().static_pad("sink").unwrap();
    p.by_name("src").unwrap().connect_pad_added(move |_, pad| {
        added.lock().unwrap().push(pad.name().to_string());
        pad.link(&convert).expect("video_0 links to videoconvert");
    });
    for round in 1..=2 {
        let outcome = run_to_end(&p, RUN_LIMIT, |_, _| {});
        assert!(
            outcome.error.is_none(),
            "round {round}: {:?}",
            outcome.error
        );
        resolved_message(&outcome);
        assert_eq!(frames.load(Ordering::SeqCst), CARPHONE_FRAMES * round);
    }
    assert_eq!(*pads.lock().unwrap(), ["video_0", "video_0"]);
    let src = p.by_name("src").unwrap();
    assert!(src.pads().is_empty(), "pads removed in NULL");
    let page_requests = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /page.html"))
        .count();
    assert!(page_requests >= 2, "{:?}", server.requests());

    // A stand-in that points back at ytdl:// is refused, not followed.
    let dir = tempfile::tempdir().unwrap();
    let looping = script(
        dir.path(),
        "loop",
        "echo '{\"url\": \"ytdl://http://x/y\"}'",
    );
    let ((message, _), _) = run_to_error(&format!(
        "ytdlsrc url=http://x/y yt-dlp-path={} ! fakesink",
        looping.display()
    ));
    assert!(message.contains("another ytdl: URI"), "{message}");
}

#[test]
fn a_missing_media_file_keeps_the_http_sources_own_error() {
    let server = carphone_site();
    let dir = tempfile::tempdir().unwrap();
    let stand_in = script(
        dir.path(),
        "resolve-missing",
        &format!("echo {}", server.url("/missing.mp4")),
    );
    let ((message, debug), took) = run_to_error(&format!(
        "ytdlsrc url={} yt-dlp-path={} ! videoconvert ! fakesink",
        server.url("/page.html"),
        stand_in.display()
    ));
    assert!(message.contains("Not Found"), "{message} ({debug})");
    assert!(!message.contains("mid-stream"), "{message}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

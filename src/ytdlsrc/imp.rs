//! SECTION:element-ytdlsrc
//!
//! Plays a web page's video — YouTube and the many other sites
//! [yt-dlp](https://github.com/yt-dlp/yt-dlp) knows, or any page with a
//! `<video>` tag — as decoded raw streams. The page URL is given as `url`, or
//! as a `ytdl://` URI to `uridecodebin` and `playbin`:
//!
//! ```sh
//! gst-launch-1.0 ytdlsrc url=https://www.youtube.com/watch?v=... ! videoconvert ! autovideosink
//! gst-launch-1.0 uridecodebin uri=ytdl://https://www.youtube.com/watch?v=... ! videoconvert ! \
//!     dlinfer model=centerface.onnx decoder=centerface input-std=1 ! fakesink
//! ```
//!
//! # How it works
//!
//! On the NULL→READY state change, on the application's thread (never a
//! streaming thread), yt-dlp is run once to turn the page URL into a media URL
//! (see [`crate::ytdl`]); it is stopped after `timeout` seconds. That is when
//! the writable properties are read: set them in the NULL state (`url` can
//! only be set then). A failure is an error message on the bus that names the
//! cause and the fix (yt-dlp missing: the install command; too slow: the
//! timeout; the site refused: yt-dlp's own `ERROR:` line), and the state
//! change fails.
//!
//! On success the element posts an element message named `ytdlsrc` with
//! `url` (the page), `resolved-url` (the media), `title` (empty when
//! unknown), `duration` (nanoseconds as gint64, -1 when unknown) and
//! `extractor` (yt-dlp's extractor, empty when unknown); the same values are
//! readable as properties until the next resolution. Then it decodes the
//! media URL with an internal `uridecodebin`. yt-dlp's `http_headers` for the
//! format go to the HTTP source (souphttpsrc): `User-Agent` as `user-agent`,
//! the others (`Referer`, ...) as `extra-headers`.
//!
//! # Pads
//!
//! Decoded streams appear as sometimes pads `video_%u` (video/x-raw) and
//! `audio_%u` (audio/x-raw), and `no-more-pads` follows once all are there.
//! Other streams (subtitles) are not exposed. An exposed pad may be left
//! unlinked, e.g. `ytdlsrc url=... ! videoconvert ! fakesink` on a clip with
//! sound: as with `uridecodebin`, the unlinked stream is dropped inside the
//! decoder and the linked one plays on; the pipeline fails with `not-linked`
//! only when no pad is linked at all.
//!
//! Every exposed pad carries the page title as a stream tag (`title`): it is
//! merged into the stream tags coming from the decoder, and pushed on its own
//! before the first buffer if none came.
//!
//! An HTTP failure while streaming (connection dropped, server gone) ends in
//! an error on the bus once the HTTP source has spent its retries, never in a
//! hang. souphttpsrc then reports only "Internal data stream error", so the
//! element rewords that error (ResourceError::Read, naming the media URL);
//! the HTTP source's own errors (404, refused) pass unchanged.
//!
//! # Stand-ins ("pluggable stream processors")
//!
//! `yt-dlp-path` need not point at yt-dlp: any program that, called with
//! yt-dlp's arguments and the page URL last, prints on stdout yt-dlp's JSON
//! (at least `{"url": "https://..."}`; `title`, `duration`, `http_headers`
//! are used when present) or just a bare `http(s)://` media URL on a line,
//! and exits 0, can stand in; on failure it exits non-zero with the reason on
//! stderr (lines starting `ERROR:` are passed on). Such a program can map
//! page URLs of a private site, pick a camera's stream, or cache answers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use gst::glib;

use crate::element_support::lock;
use gst::glib::translate::IntoGlib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::ytdl::{self, ResolveError, ResolveRequest, Resolved};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "ytdlsrc",
        gst::DebugColorFlags::empty(),
        Some("Web page source through yt-dlp"),
    )
});

const DEFAULT_TIMEOUT_S: u32 = 60;
/// The longest `timeout` accepted: a day.
const MAX_TIMEOUT_S: u32 = 24 * 60 * 60;
/// The `duration` property and message field when the site did not say.
const UNKNOWN_DURATION: i64 = -1;
/// The name of the internal uridecodebin (for debugging: `ytdlsrc0.decoder`).
const DECODER_NAME: &str = "decoder";

// Keep the element's defaults and the library's in step.
const _: () = assert!(ytdl::DEFAULT_TIMEOUT.as_secs() == DEFAULT_TIMEOUT_S as u64);

#[derive(Debug, Clone)]
struct Settings {
    /// The page URL, as given (a `ytdl:` prefix is removed on the way in).
    url: Option<String>,
    format: String,
    program: PathBuf,
    /// Extra yt-dlp arguments, as typed (split on whitespace when used).
    extra_args: Option<String>,
    timeout_s: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            url: None,
            format: ytdl::DEFAULT_FORMAT.to_owned(),
            program: ytdl::default_program(),
            extra_args: None,
            timeout_s: DEFAULT_TIMEOUT_S,
        }
    }
}

/// What kind of decoded stream a pad carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    Video,
    Audio,
}

impl StreamKind {
    fn of_caps(caps: &gst::CapsRef) -> Option<Self> {
        match caps.structure(0)?.name().as_str() {
            "video/x-raw" => Some(StreamKind::Video),
            "audio/x-raw" => Some(StreamKind::Audio),
            _ => None,
        }
    }

    fn template_name(self) -> &'static str {
        match self {
            StreamKind::Video => "video_%u",
            StreamKind::Audio => "audio_%u",
        }
    }

    fn pad_name(self, index: u32) -> String {
        match self {
            StreamKind::Video => format!("video_{index}"),
            StreamKind::Audio => format!("audio_{index}"),
        }
    }
}

#[derive(Default)]
struct State {
    /// The last successful resolution (kept after stopping, for the properties).
    resolved: Option<Resolved>,
    /// The internal uridecodebin, between NULL→READY and READY→NULL.
    decoder: Option<gst::Element>,
    /// Exposed pads: the uridecodebin pad and the ghost pad for it.
    exposed: Vec<(gst::Pad, gst::GhostPad)>,
    next_video: u32,
    next_audio: u32,
    /// Whether a child posted an error since the start.
    error_seen: bool,
}

/// The `ytdlsrc` element.
#[derive(Default)]
pub struct YtdlSrc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl YtdlSrc {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn lock_settings(&self) -> MutexGuard<'_, Settings> {
        lock(&self.settings)
    }

    /// Whether the page URL may be changed now: only in NULL, since it is
    /// resolved on NULL→READY.
    fn url_changeable(&self) -> bool {
        self.obj().current_state() == gst::State::Null
    }

    /// Stores a page URL given as `url` (a `ytdl:` URI is unwrapped).
    fn set_url(&self, url: Option<String>) -> Result<(), String> {
        if !self.url_changeable() {
            return Err(
                "the page URL can only be changed in the NULL state; stop the pipeline first"
                    .to_owned(),
            );
        }
        let url = match url.map(|url| url.trim().to_owned()) {
            None => None,
            Some(url) if url.is_empty() => None,
            Some(url)
                if url
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("ytdl:")) =>
            {
                Some(ytdl::page_url_from_uri(&url)?)
            }
            // Anything else goes to yt-dlp as it is (it also takes e.g. `ytsearch:...`).
            Some(url) => Some(url),
        };
        self.lock_settings().url = url;
        Ok(())
    }

    /// NULL→READY: resolves the page and creates the decoder for its media.
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.lock_settings().clone();
        let Some(page_url) = settings.url.clone() else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("No page URL to play: set url=https://... on ytdlsrc, or use uri=ytdl://https://... with uridecodebin or playbin")
            ));
        };
        let request = ResolveRequest {
            page_url: page_url.clone(),
            format: settings.format.clone(),
            program: settings.program.clone(),
            extra_args: settings
                .extra_args
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            timeout: Duration::from_secs(u64::from(settings.timeout_s)),
        };
        let command_line = format!("{} {}", request.program.display(), request.args().join(" "));
        gst::info!(CAT, imp = self, "resolving {page_url}: {command_line}");
        self.lock_state().resolved = None;

        let resolved = ytdl::resolve(&request)
            .map_err(|error| resolve_error_message(&error, &settings, &command_line))?;
        gst::info!(
            CAT,
            imp = self,
            "{page_url} resolved to {} (title {:?}, duration {:?}, extractor {:?}, {} headers)",
            resolved.media_url,
            resolved.title,
            resolved.duration,
            resolved.extractor,
            resolved.http_headers.len()
        );

        if ytdl::page_url_from_uri(&resolved.media_url).is_ok() {
            // uridecodebin would make another ytdlsrc for it (one that takes
            // it: page_url_from_uri is what set_uri accepts), and so on.
            return Err(gst::error_msg!(
                gst::ResourceError::Failed,
                (
                    "{} resolved {} to {}, another ytdl: URI; a stand-in must print the media URL itself",
                    settings.program.display(),
                    page_url,
                    resolved.media_url
                )
            ));
        }
        let decoder = self.make_decoder(&resolved)?;
        {
            let mut state = self.lock_state();
            state.resolved = Some(resolved.clone());
            state.decoder = Some(decoder.clone());
            state.exposed.clear();
            state.next_video = 0;
            state.next_audio = 0;
            state.error_seen = false;
        }
        for name in ["resolved-url", "title", "duration"] {
            self.obj().notify(name);
        }
        self.post_resolved(&page_url, &resolved);

        self.obj().add(&decoder).map_err(|error| {
            gst::error_msg!(
                gst::CoreError::Failed,
                ("Could not add uridecodebin to ytdlsrc: {}", error)
            )
        })?;
        Ok(())
    }

    /// READY→NULL (or a failed NULL→READY): removes the decoder and any pads.
    fn stop(&self) {
        let (decoder, exposed) = {
            let mut state = self.lock_state();
            (state.decoder.take(), std::mem::take(&mut state.exposed))
        };
        for (_, ghost) in exposed {
            self.remove_ghost(&ghost);
        }
        if let Some(decoder) = decoder {
            // It is already in NULL with the bin; only a failed start leaves it elsewhere.
            let _ = decoder.set_state(gst::State::Null);
            if decoder.parent().is_some() && self.obj().remove(&decoder).is_err() {
                gst::warning!(CAT, imp = self, "could not remove the decoder");
            }
        }
    }

    /// The uridecodebin for the media URL, its signals connected.
    fn make_decoder(&self, resolved: &Resolved) -> Result<gst::Element, gst::ErrorMessage> {
        let decoder = gst::ElementFactory::make("uridecodebin")
            .name(DECODER_NAME)
            .property("uri", resolved.media_url.as_str())
            .build()
            .map_err(|error| {
                gst::error_msg!(
                    gst::CoreError::MissingPlugin,
                    (
                        "ytdlsrc needs uridecodebin, which could not be created ({}); install GStreamer's base plugins (apt install gstreamer1.0-plugins-base)",
                        error
                    )
                )
            })?;

        let headers = resolved.http_headers.clone();
        decoder.connect("source-setup", false, move |args| {
            if let Some(source) = args
                .get(1)
                .and_then(|value| value.get::<gst::Element>().ok())
            {
                apply_http_headers(&source, &headers);
            }
            None
        });

        let this = self.downgrade();
        decoder.connect_pad_added(move |_, pad| {
            if let Some(this) = this.upgrade() {
                this.expose(pad);
            }
        });
        let this = self.downgrade();
        decoder.connect_pad_removed(move |_, pad| {
            if let Some(this) = this.upgrade() {
                this.unexpose(pad);
            }
        });
        let this = self.downgrade();
        decoder.connect_no_more_pads(move |_| {
            if let Some(this) = this.upgrade() {
                gst::debug!(CAT, imp = this, "all streams exposed");
                this.obj().no_more_pads();
            }
        });
        Ok(decoder)
    }

    /// Posts the `ytdlsrc` element message with what the page resolved to.
    fn post_resolved(&self, page_url: &str, resolved: &Resolved) {
        let structure = gst::Structure::builder("ytdlsrc")
            .field("url", page_url)
            .field("resolved-url", resolved.media_url.as_str())
            .field("title", resolved.title.as_deref().unwrap_or_default())
            .field("duration", duration_ns(resolved))
            .field(
                "extractor",
                resolved.extractor.as_deref().unwrap_or_default(),
            )
            .build();
        // Posting fails only when the element has no bus (not in a pipeline); nothing to do then.
        let _ = self.obj().post_message(
            gst::message::Element::builder(structure)
                .src(&*self.obj())
                .build(),
        );
    }

    /// A new uridecodebin pad (streaming thread): ghosted if it is raw video or audio.
    fn expose(&self, pad: &gst::Pad) {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let Some(kind) = StreamKind::of_caps(&caps) else {
            gst::info!(
                CAT,
                imp = self,
                "not exposing {} with caps {caps}: only raw video and audio are",
                pad.name()
            );
            return;
        };
        let (name, title) = {
            let mut state = self.lock_state();
            let counter = match kind {
                StreamKind::Video => &mut state.next_video,
                StreamKind::Audio => &mut state.next_audio,
            };
            let index = *counter;
            *counter += 1;
            let title = state
                .resolved
                .as_ref()
                .and_then(|resolved| resolved.title.clone());
            (kind.pad_name(index), title)
        };
        let Some(template) = self.obj().pad_template(kind.template_name()) else {
            gst::error!(CAT, imp = self, "no pad template {}", kind.template_name());
            return;
        };
        let ghost = match gst::GhostPad::builder_from_template_with_target(&template, pad) {
            Ok(builder) => builder.name(name.as_str()).build(),
            Err(error) => {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Pad,
                    ("Could not expose the decoded stream {}: {}", name, error)
                );
                return;
            }
        };
        if let Some(title) = title {
            add_title_probes(&ghost, &title);
        }
        if let Err(error) = ghost.set_active(true) {
            gst::warning!(CAT, imp = self, "could not activate {name}: {error}");
        }
        self.lock_state().exposed.push((pad.clone(), ghost.clone()));
        gst::debug!(
            CAT,
            imp = self,
            "exposing {name} for {} ({caps})",
            pad.name()
        );
        // Not under the state lock: pad-added handlers link and query right away.
        if let Err(error) = self.obj().add_pad(&ghost) {
            gst::warning!(CAT, imp = self, "could not add {name}: {error}");
            self.lock_state().exposed.retain(|(_, g)| g != &ghost);
        }
    }

    /// A uridecodebin pad went away (stopping, or a new stream set): so does its ghost.
    fn unexpose(&self, pad: &gst::Pad) {
        let ghost = {
            let mut state = self.lock_state();
            let Some(index) = state.exposed.iter().position(|(p, _)| p == pad) else {
                return;
            };
            state.exposed.remove(index).1
        };
        self.remove_ghost(&ghost);
    }

    fn remove_ghost(&self, ghost: &gst::GhostPad) {
        let _ = ghost.set_active(false);
        if ghost.parent().is_some() && self.obj().remove_pad(ghost).is_err() {
            gst::warning!(CAT, imp = self, "could not remove {}", ghost.name());
        }
    }
}

/// The error message for a failed resolution: the cause and the fix.
fn resolve_error_message(
    error: &ResolveError,
    settings: &Settings,
    command_line: &str,
) -> gst::ErrorMessage {
    let debug = format!("{error}; ran: {command_line}");
    match error {
        ResolveError::ProgramMissing {
            program,
            install_hint,
        } => gst::error_msg!(
            gst::ResourceError::NotFound,
            (
                "Cannot run yt-dlp at {}: not found or not executable. Install it with `{}`, or set yt-dlp-path to where it is",
                program.display(),
                install_hint
            ),
            ["{}", debug]
        ),
        ResolveError::Timeout { page_url, .. } => gst::error_msg!(
            gst::ResourceError::Read,
            (
                "yt-dlp did not answer within {} s while resolving {}, so it was stopped; check the network and the page URL, or raise the timeout property",
                settings.timeout_s,
                page_url
            ),
            ["{}", debug]
        ),
        ResolveError::Failed {
            page_url, message, ..
        } => {
            // yt-dlp reports network trouble as "Unable to download ..."; the rest
            // (unsupported URL, video unavailable, private) means there is nothing to play.
            let lower = message.to_ascii_lowercase();
            let network = ["unable to download", "connection", "timed out", "network"]
                .iter()
                .any(|word| lower.contains(word));
            let domain = if network {
                gst::ResourceError::OpenRead
            } else {
                gst::ResourceError::NotFound
            };
            gst::error_msg!(
                domain,
                (
                    "yt-dlp could not resolve {}: {}. Check the page URL in a browser; if the site changed, update yt-dlp (pip install -U yt-dlp)",
                    page_url,
                    message
                ),
                ["{}", debug]
            )
        }
        ResolveError::BadOutput { .. } => gst::error_msg!(
            gst::ResourceError::Failed,
            (
                "{}. Is yt-dlp-path ({}) really yt-dlp, or a stand-in that prints a media URL?",
                error,
                settings.program.display()
            ),
            ["{}", debug]
        ),
    }
}

/// An HTTP source that gives up mid-stream (souphttpsrc once its `retries`
/// are spent) posts only GStreamer's generic "Internal data stream error":
/// that error is reworded to name the cause and the media URL. Any other
/// message is returned as it is.
fn explain_http_failure(message: gst::Message) -> gst::Message {
    let gst::MessageView::Error(error) = message.view() else {
        return message;
    };
    // The flow return in the details is set by GST_ELEMENT_FLOW_ERROR only.
    let flow_error = error
        .details()
        .and_then(|details| details.get::<i32>("flow-return").ok())
        == Some(gst::FlowReturn::Error.into_glib());
    if !error.error().matches(gst::StreamError::Failed) || !flow_error {
        return message;
    }
    let Some(source) = message.src() else {
        return message;
    };
    let Some(uri) = source
        .dynamic_cast_ref::<gst::URIHandler>()
        .filter(|handler| handler.uri_type() == gst::URIType::Src)
        .and_then(|handler| handler.uri())
        .filter(|uri| {
            let lower = uri.to_ascii_lowercase();
            lower.starts_with("http://") || lower.starts_with("https://")
        })
    else {
        return message;
    };
    let text = format!(
        "Reading the media at {uri} failed mid-stream: the connection dropped or the server stopped \
         answering, and the HTTP source gave up after its retries. Check the network and start the \
         pipeline again (from NULL the page is resolved anew, which also renews expired media URLs)"
    );
    let mut builder = gst::message::Error::builder(gst::ResourceError::Read, &text)
        .src(source)
        .seqnum(message.seqnum());
    let debug = error.debug();
    if let Some(debug) = debug.as_deref() {
        builder = builder.debug(debug);
    }
    if let Some(details) = error.details() {
        builder = builder.details(details.to_owned());
    }
    builder.build()
}

/// The duration in nanoseconds, or [`UNKNOWN_DURATION`].
fn duration_ns(resolved: &Resolved) -> i64 {
    resolved
        .duration
        .and_then(|duration| i64::try_from(duration.as_nanos()).ok())
        .unwrap_or(UNKNOWN_DURATION)
}

/// Gives yt-dlp's headers to an HTTP source that takes them (souphttpsrc):
/// `User-Agent` as `user-agent`, the others as `extra-headers`.
fn apply_http_headers(source: &gst::Element, headers: &[(String, String)]) {
    if headers.is_empty() {
        return;
    }
    let mut extra = gst::Structure::new_empty("extra-headers");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("user-agent") {
            if source.has_property_with_type("user-agent", String::static_type()) {
                source.set_property("user-agent", value.as_str());
            }
        } else {
            extra.set(name.as_str(), value.as_str());
        }
    }
    if extra.n_fields() > 0
        && source.has_property_with_type("extra-headers", gst::Structure::static_type())
    {
        source.set_property("extra-headers", &extra);
    }
    gst::debug!(
        CAT,
        obj = source,
        "HTTP headers from yt-dlp: user-agent set: {}, extra-headers: {extra}",
        source.has_property("user-agent")
    );
}

/// Puts `title` into the stream tags of `pad`: merged into every stream tag
/// event, and pushed as one before the first buffer if none came by then.
fn add_title_probes(pad: &gst::GhostPad, title: &str) {
    let mut tags = gst::TagList::new();
    tags.make_mut()
        .add::<gst::tags::Title>(&title, gst::TagMergeMode::Replace);
    let tagged = Arc::new(AtomicBool::new(false));

    let (ours, seen) = (tags.clone(), Arc::clone(&tagged));
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::PadProbeData::Event(event)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Tag(tag) = event.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let upstream = tag.tag();
        if upstream.scope() != gst::TagScope::Stream {
            return gst::PadProbeReturn::Ok;
        }
        // The page title wins over a title in the file.
        let merged = upstream.merge(&ours, gst::TagMergeMode::Replace);
        let seqnum = event.seqnum();
        info.data = Some(gst::PadProbeData::Event(
            gst::event::Tag::builder(merged).seqnum(seqnum).build(),
        ));
        seen.store(true, Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    });

    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |pad, _| {
            if !tagged.swap(true, Ordering::SeqCst) {
                pad.push_event(gst::event::Tag::new(tags.clone()));
            }
            gst::PadProbeReturn::Remove
        },
    );
}

#[glib::object_subclass]
impl ObjectSubclass for YtdlSrc {
    const NAME: &'static str = "GstYtdlSrc";
    type Type = super::YtdlSrc;
    type ParentType = gst::Bin;
    type Interfaces = (gst::URIHandler,);
}

impl ObjectImpl for YtdlSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let default_program = ytdl::default_program();
            vec![
                glib::ParamSpecString::builder("url")
                    .nick("Page URL")
                    .blurb("Web page whose video to play, e.g. https://www.youtube.com/watch?v=... (set by uri=ytdl://<page URL> too); resolved with yt-dlp when the element starts")
                    .build(),
                glib::ParamSpecString::builder("format")
                    .nick("Format selector")
                    .blurb("yt-dlp's -f format selector: which of the page's formats to play (a single format has sound; merged ones like bestvideo+bestaudio play the video only)")
                    .default_value(Some(ytdl::DEFAULT_FORMAT))
                    .build(),
                glib::ParamSpecString::builder("yt-dlp-path")
                    .nick("yt-dlp program")
                    .blurb("The yt-dlp executable, or any stand-in that prints yt-dlp's JSON or a bare media URL for a page URL; a bare name is looked up in PATH")
                    .default_value(Some(default_program.to_string_lossy().as_ref()))
                    .build(),
                glib::ParamSpecString::builder("yt-dlp-args")
                    .nick("Extra yt-dlp arguments")
                    .blurb("More yt-dlp arguments, separated by spaces, e.g. \"--cookies cookies.txt\" or \"--ignore-config\"")
                    .build(),
                glib::ParamSpecUInt::builder("timeout")
                    .nick("Resolve timeout")
                    .blurb("Seconds yt-dlp may take to resolve the page before it is stopped and the element fails")
                    .minimum(1)
                    .maximum(MAX_TIMEOUT_S)
                    .default_value(DEFAULT_TIMEOUT_S)
                    .build(),
                glib::ParamSpecString::builder("resolved-url")
                    .nick("Media URL")
                    .blurb("The media URL yt-dlp resolved the page to (unset until the element has started)")
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("title")
                    .nick("Title")
                    .blurb("The page's title as yt-dlp reports it (unset until resolved, or when the site gives none)")
                    .read_only()
                    .build(),
                glib::ParamSpecInt64::builder("duration")
                    .nick("Duration")
                    .blurb("The video's duration in nanoseconds as the site reports it; -1 when unknown or not yet resolved")
                    .minimum(UNKNOWN_DURATION)
                    .default_value(UNKNOWN_DURATION)
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "url" => {
                let url: Option<String> = value.get().expect("type checked upstream");
                if let Err(message) = self.set_url(url) {
                    gst::element_imp_warning!(
                        self,
                        gst::ResourceError::Settings,
                        ("Cannot set url: {}", message)
                    );
                }
            }
            "format" => {
                let format: Option<String> = value.get().expect("type checked upstream");
                self.lock_settings().format = format
                    .filter(|f| !f.trim().is_empty())
                    .unwrap_or_else(|| ytdl::DEFAULT_FORMAT.to_owned());
            }
            "yt-dlp-path" => {
                let path: Option<String> = value.get().expect("type checked upstream");
                self.lock_settings().program = path
                    .filter(|p| !p.trim().is_empty())
                    .map_or_else(ytdl::default_program, PathBuf::from);
            }
            "yt-dlp-args" => {
                let args: Option<String> = value.get().expect("type checked upstream");
                self.lock_settings().extra_args = args.filter(|a| !a.trim().is_empty());
            }
            "timeout" => {
                self.lock_settings().timeout_s = value.get().expect("type checked upstream");
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "url" => self.lock_settings().url.to_value(),
            "format" => self.lock_settings().format.to_value(),
            "yt-dlp-path" => self
                .lock_settings()
                .program
                .to_string_lossy()
                .into_owned()
                .to_value(),
            "yt-dlp-args" => self.lock_settings().extra_args.to_value(),
            "timeout" => self.lock_settings().timeout_s.to_value(),
            "resolved-url" => self
                .lock_state()
                .resolved
                .as_ref()
                .map(|r| r.media_url.clone())
                .to_value(),
            "title" => self
                .lock_state()
                .resolved
                .as_ref()
                .and_then(|r| r.title.clone())
                .to_value(),
            "duration" => self
                .lock_state()
                .resolved
                .as_ref()
                .map_or(UNKNOWN_DURATION, duration_ns)
                .to_value(),
            _ => unimplemented!(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        // A source from the start, before the decoder (itself a source) is added.
        self.obj().set_element_flags(gst::ElementFlags::SOURCE);
        self.obj().set_suppressed_flags(gst::ElementFlags::SOURCE);
    }
}

impl GstObjectImpl for YtdlSrc {}

impl ElementImpl for YtdlSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Web page source (yt-dlp)",
                "Source/Network/Video/Audio",
                "Plays a web page's video (YouTube and the other sites yt-dlp supports) as decoded video_%u and audio_%u streams; also as ytdl://<page URL>",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            [StreamKind::Video, StreamKind::Audio]
                .into_iter()
                .map(|kind| {
                    let media = match kind {
                        StreamKind::Video => "video/x-raw",
                        StreamKind::Audio => "audio/x-raw",
                    };
                    let caps = gst::Caps::builder(media).any_features().build();
                    gst::PadTemplate::new(
                        kind.template_name(),
                        gst::PadDirection::Src,
                        gst::PadPresence::Sometimes,
                        &caps,
                    )
                    .expect("valid src template")
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady
            && let Err(message) = self.start()
        {
            self.post_error_message(message);
            self.stop();
            return Err(gst::StateChangeError);
        }

        let result = self.parent_change_state(transition);
        match (transition, &result) {
            (gst::StateChange::NullToReady, Err(_)) | (gst::StateChange::ReadyToNull, _) => {
                self.stop()
            }
            (gst::StateChange::PausedToReady, _) => {
                // uridecodebin has removed its pads, and with them ours: the
                // next PAUSED numbers them from 0 again.
                let mut state = self.lock_state();
                state.next_video = 0;
                state.next_audio = 0;
            }
            _ => {}
        }
        result
    }
}

impl BinImpl for YtdlSrc {
    fn handle_message(&self, message: gst::Message) {
        let message = if let gst::MessageView::Error(_) = message.view() {
            // Only the first error can be the HTTP source's own: after an error
            // downstream, the source's generic error follows it and says nothing.
            let first = !std::mem::replace(&mut self.lock_state().error_seen, true);
            if first {
                explain_http_failure(message)
            } else {
                message
            }
        } else {
            message
        };
        self.parent_handle_message(message)
    }
}

impl URIHandlerImpl for YtdlSrc {
    const URI_TYPE: gst::URIType = gst::URIType::Src;

    fn protocols() -> &'static [&'static str] {
        &[ytdl::URI_SCHEME]
    }

    fn uri(&self) -> Option<String> {
        self.lock_settings()
            .url
            .as_ref()
            .map(|url| format!("{}://{url}", ytdl::URI_SCHEME))
    }

    fn set_uri(&self, uri: &str) -> Result<(), glib::Error> {
        if !self.url_changeable() {
            return Err(glib::Error::new(
                gst::URIError::BadState,
                "ytdlsrc's URI can only be changed in the NULL state; stop the pipeline first",
            ));
        }
        let page_url = ytdl::page_url_from_uri(uri)
            .map_err(|message| glib::Error::new(gst::URIError::BadUri, &message))?;
        gst::debug!(CAT, imp = self, "page URL {page_url} from {uri}");
        self.lock_settings().url = Some(page_url);
        Ok(())
    }
}

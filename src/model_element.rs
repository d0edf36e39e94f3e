//! The GStreamer side every model-running element shares (`dlinfer`,
//! `dltransform`), over [`crate::model_core::ModelCore`]: opening the model
//! with its warnings on the bus, queueing frames, draining them before
//! serialized events, flushes, QoS, handing out ready buffers, the
//! `active-provider` property, and posting each failure in the GStreamer
//! error domain that names it. An element implements the few methods that
//! make it itself and calls these from its `BaseTransformImpl`.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_transform::GenerateOutputSuccess;
use gst_base::subclass::prelude::*;

use crate::element_support::{lock, refuse_while_running, set_model_property};
use crate::inference::{Fault, FrameDecoder, Released};
use crate::model_core::{CoreError, ModelCore, StreamEvent};
use crate::model_settings::{ModelSettings, OpenedModel};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlmodel",
        gst::DebugColorFlags::empty(),
        Some("What every gst-dl model element shares"),
    )
});

/// The core of a model element: its held frames are `E::Frame`, its
/// outputs buffers.
pub(crate) type CoreOf<E> =
    ModelCore<<E as ModelElement>::Frame, <E as ModelElement>::Decoder, gst::Buffer>;

/// Frames leaving the core, with their decoded outputs.
pub(crate) type ReleasedOf<E> =
    Released<<E as ModelElement>::Frame, <<E as ModelElement>::Decoder as FrameDecoder>::Results>;

/// What a model element's properties hold: the shared model settings and
/// the element's own.
pub(crate) trait ElementSettings: Send {
    /// The shared model settings.
    fn model(&self) -> &ModelSettings;
    /// The shared model settings, to set.
    fn model_mut(&mut self) -> &mut ModelSettings;
    /// Sets one of the element's own properties (type checked by GObject).
    fn set(&mut self, name: &str, value: &glib::Value);
    /// Reads one of the element's own properties.
    fn get(&self, name: &str) -> glib::Value;
}

/// What makes a model element itself; everything else is provided.
pub(crate) trait ModelElement: BaseTransformImpl {
    /// What the element's properties hold.
    type Settings: ElementSettings;
    /// A frame held until its batch has run.
    type Frame: Send + 'static;
    /// Turns a frame's outputs into what the element uses.
    type Decoder: FrameDecoder;
    /// What exists between start and stop; holds the core.
    type State: Send;

    /// The element's properties.
    fn settings(&self) -> &Mutex<Self::Settings>;

    /// The element's state (`None` while stopped).
    fn model_state(&self) -> &Mutex<Option<Self::State>>;

    /// Opens the model and checks everything that can be checked before the
    /// first frame, so mistakes fail at start with the cause and the fix.
    fn prepare(&self, settings: &Self::Settings) -> Result<Self::State, gst::ErrorMessage>;

    /// The core inside a state.
    fn core(state: &mut Self::State) -> &mut CoreOf<Self>;

    /// The decoder for the next batch, from the settings as they are now.
    fn batch_decoder(&self, state: &Self::State) -> Self::Decoder;

    /// Turns frames leaving the core into output buffers, pushed onto the
    /// core's ready list in order.
    fn release(
        &self,
        state: &mut Self::State,
        released: Vec<ReleasedOf<Self>>,
    ) -> Result<(), gst::FlowError>;

    /// `start`: prepares the state from the properties as they are now.
    fn model_start(&self) -> Result<(), gst::ErrorMessage>
    where
        Self::Settings: Clone,
    {
        let settings = lock(self.settings()).clone();
        let state = self.prepare(&settings)?;
        *lock(self.model_state()) = Some(state);
        Ok(())
    }

    /// `stop`: drops the model, the held frames and the negotiated state.
    fn model_stop(&self) {
        *lock(self.model_state()) = None;
    }

    /// Sets a property: refused with a warning while running when it can
    /// change only up to READY; the shared model properties, then the
    /// element's own.
    fn set_element_property(&self, pspec: &glib::ParamSpec, value: &glib::Value) {
        let element = self.obj();
        let element: &gst::Element = element.upcast_ref();
        if refuse_while_running(element, pspec) {
            return;
        }
        let mut settings = lock(self.settings());
        if set_model_property(element, settings.model_mut(), pspec, value) {
            return;
        }
        settings.set(pspec.name(), value);
    }

    /// Reads a property: `active-provider` from the state, the shared model
    /// properties, then the element's own.
    fn element_property(&self, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "active-provider" {
            return self.active_provider();
        }
        if pspec.name() == "spinning" {
            return self.spinning();
        }
        let settings = lock(self.settings());
        settings
            .model()
            .property(pspec.name())
            .unwrap_or_else(|| settings.get(pspec.name()))
    }

    /// Opens the model `settings` name, posting what the user should know
    /// (e.g. initializers listed as inputs) as warnings.
    fn open_model(&self, settings: &ModelSettings) -> Result<OpenedModel, gst::ErrorMessage> {
        let opened = settings.open()?;
        for (message, details) in &opened.warnings {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                ("{}", message),
                ["{}", details.as_deref().unwrap_or_default()]
            );
        }
        Ok(opened)
    }

    /// Posts `error` in its domain and returns the flow error to stop with.
    fn core_failed(&self, error: CoreError) -> gst::FlowError {
        let CoreError::Inference(error) = error else {
            return gst::FlowError::NotNegotiated;
        };
        let text = capitalized(&error.to_string());
        match error.fault() {
            Fault::StreamFormat => {
                gst::element_imp_error!(self, gst::StreamError::Format, ("{}", text))
            }
            Fault::StreamDecode => {
                gst::element_imp_error!(self, gst::StreamError::Decode, ("{}", text))
            }
            Fault::Library => {
                gst::element_imp_error!(self, gst::LibraryError::Failed, ("{}", text))
            }
        }
        gst::FlowError::Error
    }

    /// Queues a frame (`inferred`: its pixels went into the batch with
    /// [`ModelCore::preprocess`]) and releases what may leave now.
    fn queue_frame(
        &self,
        state: &mut Self::State,
        frame: Self::Frame,
        inferred: bool,
    ) -> Result<(), gst::FlowError> {
        let decoder = self.batch_decoder(state);
        let released = Self::core(state)
            .push(frame, inferred, || decoder)
            .map_err(|e| self.core_failed(e))?;
        self.release(state, released)
    }

    /// Runs what waits as a (partial) batch and pushes every held frame
    /// downstream, so an event (EOS, caps, segment...) does not overtake
    /// frames it follows.
    fn drain_held(&self) -> Result<(), gst::FlowError> {
        let ready = {
            let mut state = lock(self.model_state());
            let Some(state) = state.as_mut() else {
                return Ok(());
            };
            if !Self::core(state).holds_frames() {
                return Ok(());
            }
            let decoder = self.batch_decoder(state);
            let released = Self::core(state)
                .drain(|| decoder)
                .map_err(|e| self.core_failed(e))?;
            self.release(state, released)?;
            Self::core(state).take_ready()
        };
        let src = self.obj().src_pad().clone();
        for buffer in ready {
            src.push(buffer)?;
        }
        Ok(())
    }

    /// Handles a sink event for the held frames, then lets the base class
    /// have it.
    fn model_sink_event(&self, event: gst::Event) -> bool {
        let must_drain = lock(self.model_state())
            .as_mut()
            .is_some_and(|state| Self::core(state).on_sink_event(stream_event(&event)));
        if must_drain && let Err(flow) = self.drain_held() {
            gst::debug!(
                CAT,
                imp = self,
                "draining before {:?} stopped: {:?}",
                event.type_(),
                flow
            );
        }
        self.parent_sink_event(event)
    }

    /// Takes a QoS event into account, then lets the base class have it.
    fn model_src_event(&self, event: gst::Event) -> bool {
        if let Some((timestamp, diff)) = crate::video::qos_values(&event)
            && let Some(state) = lock(self.model_state()).as_mut()
        {
            Self::core(state).on_qos(timestamp, diff);
        }
        self.parent_src_event(event)
    }

    /// The next buffer ready to leave, if any.
    fn next_output(&self) -> Result<GenerateOutputSuccess, gst::FlowError> {
        let buffer = lock(self.model_state())
            .as_mut()
            .and_then(|state| Self::core(state).pop_ready());
        Ok(buffer.map_or(
            GenerateOutputSuccess::NoOutput,
            GenerateOutputSuccess::Buffer,
        ))
    }

    /// Posts the QoS message of a frame dropped because it was late, as
    /// GStreamer's filters do: `processed` and `dropped` count frames so far.
    fn post_dropped(
        &self,
        buffer: &gst::Buffer,
        running_time: Option<u64>,
        processed: u64,
        dropped: u64,
    ) {
        let element = self.obj();
        let segment = element.segment();
        let stream_time = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|s| buffer.pts().and_then(|pts| s.to_stream_time(pts)));
        let message = gst::message::Qos::builder(false)
            .running_time(running_time.map(gst::ClockTime::from_nseconds))
            .stream_time(stream_time)
            .timestamp(buffer.pts())
            .duration(buffer.duration())
            .stats(
                gst::format::Buffers::from_u64(processed),
                gst::format::Buffers::from_u64(dropped),
            )
            .src(&*element)
            .build();
        // Fails only outside a pipeline (no bus); nothing to do then.
        let _ = element.post_message(message);
    }

    /// The `active-provider` property: where the model really runs, empty
    /// until started.
    fn active_provider(&self) -> glib::Value {
        lock(self.model_state())
            .as_mut()
            .map(|state| Self::core(state).session.provider_name().to_string())
            .to_value()
    }

    /// The `spinning` property: whether the model's threads spin now.
    fn spinning(&self) -> glib::Value {
        lock(self.model_state())
            .as_mut()
            .is_some_and(|state| Self::core(state).session.spinning())
            .to_value()
    }
}

/// What a sink event means for held frames.
fn stream_event(event: &gst::EventRef) -> StreamEvent {
    match event.view() {
        gst::EventView::FlushStop(_) => StreamEvent::FlushStop,
        gst::EventView::Segment(_) => StreamEvent::Segment,
        _ if event.is_serialized() => StreamEvent::Serialized,
        _ => StreamEvent::Unserialized,
    }
}

/// `text` with its first letter upper case, as GStreamer's messages are.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The GObject side that is the same for every model element: QoS on by
/// default (QoS events only come from sinks that sync to the clock and are
/// late, where skipping or dropping beats falling behind), the properties
/// `$param_specs` lists, set and read through [`ModelElement`].
macro_rules! model_object_impl {
    ($element:ty, $param_specs:path) => {
        impl ObjectImpl for $element {
            fn constructed(&self) {
                self.parent_constructed();
                self.obj().set_qos(true);
            }

            fn properties() -> &'static [glib::ParamSpec] {
                static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new($param_specs);
                PROPERTIES.as_ref()
            }

            fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
                self.set_element_property(pspec, value);
            }

            fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
                self.element_property(pspec)
            }
        }

        impl GstObjectImpl for $element {}
    };
}

pub(crate) use model_object_impl;

//! Small pieces every element's GObject side shares.

use std::sync::{Mutex, MutexGuard};

use gst::glib;

/// Locks a mutex even if a panic poisoned it: element state (or a shared
/// session) stays usable, and the panic was already reported, rather than
/// every later call failing.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Refuses a change of `pspec` that cannot take effect now, with a warning
/// on the bus; returns whether it refused. GObject itself does not enforce
/// GStreamer's mutability flags, so each element asks before setting.
pub fn refuse_while_running(element: &gst::Element, pspec: &glib::ParamSpec) -> bool {
    let Some(why) = ready_only_refusal(element, pspec) else {
        return false;
    };
    gst::element_warning!(
        element,
        gst::CoreError::StateChange,
        ("{}; the previous value is kept", why)
    );
    true
}

/// Sets one of the model properties dlinfer and dltransform share; a value
/// it refuses gets a warning on the bus and the previous value stays.
/// Returns whether `pspec` was one of them, so the element sets only its own.
pub fn set_model_property(
    element: &gst::Element,
    model: &mut crate::model_settings::ModelSettings,
    pspec: &glib::ParamSpec,
    value: &glib::Value,
) -> bool {
    match model.set_property(pspec.name(), value) {
        Ok(handled) => handled,
        Err(why) => {
            gst::element_warning!(
                element,
                gst::LibraryError::Settings,
                ("{}; the previous value is kept", why)
            );
            true
        }
    }
}

/// Why `pspec` cannot change now, if it cannot: it is marked mutable only up
/// to READY (it shapes tensors, sessions or caps, fixed once frames flow) and
/// `element` is PAUSED or PLAYING.
fn ready_only_refusal(element: &gst::Element, pspec: &glib::ParamSpec) -> Option<String> {
    use gst::prelude::*;
    let ready_only = pspec.flags().contains(gst::PARAM_FLAG_MUTABLE_READY);
    let state = element.current_state();
    (ready_only && state > gst::State::Ready).then(|| {
        format!(
            "property '{}' can change only in the NULL or READY state, and {} is {:?}; \
             set it before starting the pipeline",
            pspec.name(),
            element.name(),
            state
        )
    })
}

/// The always-present `sink` and `src` pad templates of a filter.
pub fn filter_pad_templates(sink: &gst::Caps, src: &gst::Caps) -> Vec<gst::PadTemplate> {
    vec![
        gst::PadTemplate::new(
            "sink",
            gst::PadDirection::Sink,
            gst::PadPresence::Always,
            sink,
        )
        .expect("a sink template from valid caps"),
        gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, src)
            .expect("a src template from valid caps"),
    ]
}

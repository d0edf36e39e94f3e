//! The element that runs a service's model (dlinfer, or dltransform for a
//! frame-to-frame model) and how a client's settings reach its properties:
//! from text, checked against the property before it is set, so a wrong
//! value is an error and never a panic.

use std::path::PathBuf;

use gst::glib;
use gst::prelude::*;

use super::service::Overrides;

/// What the model does in a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelUse {
    /// dlinfer: detections or classes (the decoder from the model or the settings).
    Predict,
    /// dlinfer `decoder=features`: the output `layer` (`last` or none: the model's features output).
    Features { layer: Option<String> },
    /// dltransform: the model's output frames are the video.
    Transform,
}

/// Everything that decides how the model element is made.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub model: PathBuf,
    pub labels_file: Option<PathBuf>,
    pub overrides: Overrides,
    pub model_use: ModelUse,
    /// dlinfer's `confidence-threshold`, if the call set one.
    pub confidence_threshold: Option<f64>,
}

impl ModelSpec {
    /// The element that runs the model, with every setting applied.
    pub fn element(&self) -> Result<gst::Element, String> {
        let factory = match self.model_use {
            ModelUse::Transform => "dltransform",
            _ => "dlinfer",
        };
        let element = make(factory)?;
        element.set_property(
            "model",
            self.model.to_str().ok_or("the model path is not UTF-8")?,
        );
        if factory == "dlinfer" {
            if let Some(labels) = &self.labels_file {
                element.set_property(
                    "labels-file",
                    labels.to_str().ok_or("the labels path is not UTF-8")?,
                );
            }
            if let Some(threshold) = self.confidence_threshold {
                element.set_property("confidence-threshold", threshold as f32);
            }
        }
        apply_overrides(&element, &self.overrides)?;
        if let ModelUse::Features { layer } = &self.model_use {
            set_from_text(&element, "decoder", "features")?;
            if let Some(layer) = layer.as_deref().filter(|l| !l.is_empty() && *l != "last") {
                element.set_property("output-name", layer);
            }
        }
        Ok(element)
    }
}

/// Sets each override the element has; a property only the other model
/// element has (`iou-threshold` on dltransform) is left out.
pub fn apply_overrides(element: &gst::Element, overrides: &Overrides) -> Result<(), String> {
    for (property, text) in &overrides.0 {
        if element.find_property(property).is_some() {
            set_from_text(element, property, text)?;
        }
    }
    Ok(())
}

/// Checks settings on fresh dlinfer and dltransform elements, so a service
/// with a wrong one is refused when it is created.
pub fn check_overrides(overrides: &Overrides) -> Result<(), String> {
    let elements = [make("dlinfer")?, make("dltransform")?];
    for (property, text) in &overrides.0 {
        let mut known = false;
        for element in &elements {
            if element.find_property(property).is_some() {
                known = true;
                set_from_text(element, property, text)?;
            }
        }
        if !known {
            return Err(format!("no model element has a property {property:?}"));
        }
    }
    Ok(())
}

/// Sets `property` from its text form, refusing (not panicking on) a value
/// of the wrong kind or out of range.
pub fn set_from_text(element: &gst::Element, property: &str, text: &str) -> Result<(), String> {
    let pspec = element
        .find_property(property)
        .ok_or_else(|| format!("{} has no property {property:?}", element_kind(element)))?;
    let value = glib::Value::deserialize_with_pspec(text, &pspec).map_err(|_| {
        format!(
            "{property}={text:?} is not a valid value for {} ({})",
            element_kind(element),
            pspec.blurb().unwrap_or_default()
        )
    })?;
    if !pspec.value_is_valid(&value) {
        return Err(format!(
            "{property}={text:?} is out of range for {} ({})",
            element_kind(element),
            pspec.blurb().unwrap_or_default()
        ));
    }
    element.set_property_from_value(property, &value);
    Ok(())
}

fn element_kind(element: &gst::Element) -> String {
    element
        .factory()
        .map(|f| f.name().to_string())
        .unwrap_or_else(|| element.name().to_string())
}

/// A new element of `factory`, or an error naming the missing plugin.
pub fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        format!("the GStreamer element {factory} is missing; install the plugin that provides it")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_of_the_wrong_kind_or_range_are_errors_not_panics() {
        let _ = gst::init();
        let queue = make("queue").unwrap();
        assert!(set_from_text(&queue, "max-size-buffers", "7").is_ok());
        assert_eq!(queue.property::<u32>("max-size-buffers"), 7);
        assert!(
            set_from_text(&queue, "max-size-buffers", "seven")
                .unwrap_err()
                .contains("not a valid value")
        );
        assert!(set_from_text(&queue, "leaky", "sideways").is_err());
        // fakesink's num-buffers runs from -1 up.
        let sink = make("fakesink").unwrap();
        assert!(
            set_from_text(&sink, "num-buffers", "-5")
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(sink.property::<i32>("num-buffers"), -1);
        assert!(set_from_text(&queue, "no-such-thing", "1").is_err());
    }
}

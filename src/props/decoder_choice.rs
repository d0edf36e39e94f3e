//! `decoder`: `auto` or one of the registered decoders.
//!
//! Its GObject enum type, `GstDlDecoder`, is built from the decoder registry
//! when first used, so a new decoder appears in `gst-inspect-1.0` and in
//! `decoder=` without a line here. Value 0 is `auto`; decoder `i` of the
//! registry is `i + 1`, its aliases share its number (so `decoder=yolo11`
//! works and reads back as `yolov8`).

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use gst::glib;
use gst::glib::gobject_ffi;
use gst::glib::translate::{FromGlib, IntoGlib, from_glib};
use gst::glib::value::{FromValue, GenericValueTypeChecker, ToValue, ValueType};

use crate::decode::DecoderKind;

/// The type's name, as C and Python see it.
const TYPE_NAME: &std::ffi::CStr = c"GstDlDecoder";

/// The value of the `decoder` property: `auto` or a decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DecoderChoice(Option<DecoderKind>);

impl DecoderChoice {
    /// Pick from the output shapes.
    pub const AUTO: DecoderChoice = DecoderChoice(None);

    /// This decoder.
    pub fn decoder(kind: DecoderKind) -> Self {
        DecoderChoice(Some(kind))
    }

    /// The decoder, or `None` for `auto`.
    pub fn kind(self) -> Option<DecoderKind> {
        self.0
    }

    /// The enum value's number: 0 for auto, then the registry's order.
    fn number(self) -> i32 {
        let index = self
            .0
            .and_then(|kind| DecoderKind::all().iter().position(|&each| each == kind));
        index.map_or(0, enum_number)
    }

    /// The choice with this enum number; numbers GLib never hands out (it
    /// checks values against the enum) read as auto.
    fn from_number(number: i32) -> Self {
        let index = usize::try_from(number)
            .ok()
            .and_then(|number| number.checked_sub(1));
        DecoderChoice(index.and_then(|index| DecoderKind::all().get(index).copied()))
    }
}

/// The enum number of the registry's decoder at `index`.
fn enum_number(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

/// Registers `GstDlDecoder` once, from the registry.
fn register_type() -> glib::Type {
    static TYPE: OnceLock<glib::Type> = OnceLock::new();
    *TYPE.get_or_init(|| {
        // A second copy of this library in one process (the plugin loaded
        // from a file beside a statically registered one) finds the type
        // its twin registered from the same registry.
        if let Some(registered) = TYPE_NAME.to_str().ok().and_then(glib::Type::from_name) {
            return registered;
        }
        let mut values = vec![enum_value(0, "Auto: pick from the output shapes", "auto")];
        for (index, kind) in DecoderKind::all().iter().enumerate() {
            let number = enum_number(index);
            values.push(enum_value(number, kind.summary(), kind.name()));
            for alias in kind.aliases() {
                let summary = format!("{alias}: the same as {}", kind.name());
                values.push(enum_value(number, &summary, alias));
            }
        }
        // GLib reads the list up to an all-zero entry.
        values.push(gobject_ffi::GEnumValue {
            value: 0,
            value_name: std::ptr::null(),
            value_nick: std::ptr::null(),
        });
        // GLib keeps the values and their strings for the life of the
        // process, as for every static type; they are made once.
        let values: &'static [gobject_ffi::GEnumValue] = values.leak();
        // SAFETY: the name is a NUL-terminated literal; the values end with
        // the zero entry GLib stops at and outlive the type (leaked above).
        unsafe {
            from_glib(gobject_ffi::g_enum_register_static(
                TYPE_NAME.as_ptr(),
                values.as_ptr(),
            ))
        }
    })
}

/// One enum value with strings that live as long as the type.
fn enum_value(number: i32, name: &str, nick: &str) -> gobject_ffi::GEnumValue {
    gobject_ffi::GEnumValue {
        value: number,
        value_name: leaked_c_string(name),
        value_nick: leaked_c_string(nick),
    }
}

/// A C copy of `text` that is never freed; the decoders' texts hold no NUL,
/// which the registry's tests check, and one would only shorten the text.
fn leaked_c_string(text: &str) -> *const c_char {
    let text = text.split('\0').next().unwrap_or_default();
    CString::new(text).unwrap_or_default().into_raw()
}

impl glib::types::StaticType for DecoderChoice {
    fn static_type() -> glib::Type {
        register_type()
    }
}

impl ValueType for DecoderChoice {
    type Type = Self;
}

impl IntoGlib for DecoderChoice {
    type GlibType = i32;

    fn into_glib(self) -> i32 {
        self.number()
    }
}

impl FromGlib<i32> for DecoderChoice {
    unsafe fn from_glib(value: i32) -> Self {
        Self::from_number(value)
    }
}

impl ToValue for DecoderChoice {
    fn to_value(&self) -> glib::Value {
        let type_ = register_type();
        glib::EnumClass::with_type(type_)
            .and_then(|class| class.to_value(self.number()))
            .unwrap_or_else(|| glib::Value::from_type(type_))
    }

    fn value_type(&self) -> glib::Type {
        register_type()
    }
}

impl From<DecoderChoice> for glib::Value {
    fn from(choice: DecoderChoice) -> Self {
        choice.to_value()
    }
}

// SAFETY: the checker lets only values of `GstDlDecoder` (or a subtype) through,
// and `from_value` reads them with the safe enum accessors.
unsafe impl<'a> FromValue<'a> for DecoderChoice {
    type Checker = GenericValueTypeChecker<Self>;

    unsafe fn from_value(value: &'a glib::Value) -> Self {
        let number = glib::EnumValue::from_value(value).map_or(0, |(_, value)| value.value());
        Self::from_number(number)
    }
}

#[cfg(test)]
mod tests {
    use gst::prelude::*;

    use super::*;
    use crate::props::nick;

    #[test]
    fn the_enum_lists_auto_then_every_decoder_and_alias() {
        let class = glib::EnumClass::with_type(DecoderChoice::static_type()).unwrap();
        assert_eq!(DecoderChoice::static_type().name(), "GstDlDecoder");
        let listed: Vec<(i32, &str)> = class
            .values()
            .iter()
            .map(|value| (value.value(), value.nick()))
            .collect();
        assert_eq!(
            listed,
            [
                (0, "auto"),
                (1, "yolov8"),
                (1, "yolo11"),
                (1, "yolov11"),
                (2, "yolov5"),
                (2, "yolov7"),
                (3, "ssd"),
                (4, "centerface"),
                (5, "classification"),
                (6, "features"),
                (7, "none"),
                (8, "yolov8seg"),
                (8, "yolo11seg"),
                (8, "yolov11seg"),
                (9, "yolov8pose"),
                (9, "yolo11pose"),
                (9, "yolov11pose"),
                (10, "yolov8obb"),
                (10, "yolo11obb"),
                (10, "yolov11obb"),
            ]
        );
        assert_eq!(
            class.value_by_nick("ssd").unwrap().name(),
            "SSD: boxes + scores, or TensorFlow's boxes/classes/scores/count"
        );
    }

    #[test]
    fn choices_round_trip_through_values() {
        for &kind in DecoderKind::all() {
            let choice = DecoderChoice::decoder(kind);
            assert_eq!(choice.to_value().get::<DecoderChoice>(), Ok(choice));
            assert_eq!(nick(choice), kind.name());
        }
        let auto = DecoderChoice::default();
        assert_eq!(auto, DecoderChoice::AUTO);
        assert_eq!(auto.to_value().get::<DecoderChoice>(), Ok(auto));
        assert_eq!(nick(auto), "auto");
    }

    #[test]
    fn aliases_read_back_as_their_decoder() {
        let class = glib::EnumClass::with_type(DecoderChoice::static_type()).unwrap();
        let value = class.to_value_by_nick("yolo11").unwrap();
        let choice = value.get::<DecoderChoice>().unwrap();
        assert_eq!(choice.kind().map(|kind| kind.name()), Some("yolov8"));
        assert_eq!(nick(choice), "yolov8");
    }

    #[test]
    fn the_property_takes_names_aliases_and_auto() {
        gst::init().unwrap();
        let spec =
            glib::ParamSpecEnum::builder_with_default("decoder", DecoderChoice::AUTO).build();
        assert_eq!(spec.value_type(), DecoderChoice::static_type());
        let spec = spec.downcast::<glib::ParamSpecEnum>().unwrap();
        assert_eq!(spec.default_value_as_i32(), 0);
        for (text, name) in [
            ("yolov5", Some("yolov5")),
            ("yolov7", Some("yolov5")),
            ("auto", None),
        ] {
            let value = glib::Value::deserialize(text, DecoderChoice::static_type()).unwrap();
            let choice = value.get::<DecoderChoice>().unwrap();
            assert_eq!(choice.kind().map(|kind| kind.name()), name, "{text}");
        }
    }
}

//! Registering custom metas that follow their buffer through copies.

use std::collections::HashSet;
use std::sync::Mutex;

use gst::meta::CustomMeta;

/// Registers a `GstCustomMeta` named `name` (once per process) whose
/// structure is copied along when a buffer is copied or transformed: our
/// metas describe the frame's content, not its geometry.
pub fn register_copied_custom_meta(name: &'static str) {
    static REGISTERED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut registered = REGISTERED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let registered = registered.get_or_insert_with(HashSet::new);
    if !registered.insert(name) || CustomMeta::is_registered(name) {
        return;
    }
    CustomMeta::register_with_transform(name, &[], move |dest, meta, _src, _type| {
        match CustomMeta::add(dest, name) {
            Ok(mut copy) => {
                let copy = copy.mut_structure();
                copy.set_name(meta.structure().name());
                for (field, value) in meta.structure().iter() {
                    copy.set_value(field, value.clone());
                }
                true
            }
            Err(_) => false,
        }
    });
}

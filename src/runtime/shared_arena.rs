//! One CPU memory arena for the whole ONNX Runtime environment, which a
//! session uses instead of its own when built `with_env_allocators`.
//!
//! Why: a session's arena grows to its model's peak activation memory and
//! keeps it. `spin=auto` holds two sessions of one model (a sleeping and a
//! spinning copy) and runs one at a time, so with an arena each it held that
//! peak twice (U2-Netp at 352x288: 1.02 GB against 0.54 GB for one session).
//! Sharing one arena, the two copies hold it once. `ort` has no wrapper for
//! `CreateAndRegisterAllocator`, so this calls the C API itself.

use std::ffi::CStr;

use ort::AsPointer;
use ort::sys::{OrtAllocatorType, OrtMemType, OrtMemoryInfo, OrtStatusPtr};

/// Registers a default-configured CPU arena with `environment`. Call once
/// per environment: ONNX Runtime refuses a second one for the same memory.
pub fn register(environment: &ort::environment::Environment) -> Result<(), String> {
    let api = ort::api();
    let mut memory_info: *mut OrtMemoryInfo = std::ptr::null_mut();
    // SAFETY: `memory_info` is a valid out pointer; on success ONNX Runtime
    // stores a memory info that we release below.
    check(unsafe {
        (api.CreateCpuMemoryInfo)(
            OrtAllocatorType::OrtArenaAllocator,
            OrtMemType::OrtMemTypeDefault,
            &mut memory_info,
        )
    })?;
    // SAFETY: the environment outlives this call (it is borrowed), the memory
    // info was just created, and a null arena configuration means defaults.
    let registered = check(unsafe {
        (api.CreateAndRegisterAllocator)(
            environment.ptr().cast_mut(),
            memory_info,
            std::ptr::null(),
        )
    });
    // SAFETY: created above and not used after; the environment keeps its
    // own copy of what it needs.
    unsafe { (api.ReleaseMemoryInfo)(memory_info) };
    registered
}

/// Turns a C API status into `Err` with ONNX Runtime's message, releasing it.
fn check(status: OrtStatusPtr) -> Result<(), String> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: a non-null status from the C API; its message lives until the
    // status is released, after the copy.
    let message = unsafe { CStr::from_ptr((api.GetErrorMessage)(status.0)) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: released once, not used after.
    unsafe { (api.ReleaseStatus)(status.0) };
    Err(message)
}

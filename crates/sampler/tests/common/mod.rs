//! Shared by the GPU test files: one GPU context per test binary, or `None` (the tests then print
//! SKIP and return) when the machine has no adapter at all. CI installs lavapipe, so there they run.

use randnet_sampler::gpu::{available_adapters, AdapterPreference, GpuContext};
use std::sync::OnceLock;

/// Mesa prints "XDG_RUNTIME_DIR is invalid or not set" for every Vulkan instance when the
/// variable is unset (or names a directory that is not mode 0700 and ours): point it at a private
/// directory first, as the `randnet` binary does.
pub fn private_runtime_dir() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("randnet-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if let Ok(m) = std::fs::symlink_metadata(&dir) {
        if m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o777 == 0o700 {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

pub fn ctx() -> Option<&'static GpuContext> {
    static CTX: OnceLock<Option<GpuContext>> = OnceLock::new();
    CTX.get_or_init(|| {
        private_runtime_dir();
        if available_adapters().is_empty() {
            eprintln!("SKIP: no GPU adapter (install mesa-vulkan-drivers for lavapipe)");
            return None;
        }
        let c = GpuContext::new(AdapterPreference::default()).expect("GPU context");
        eprintln!("GPU tests on: {}", c.adapter_summary());
        Some(c)
    })
    .as_ref()
}

//! Process-wide tuning of glibc's allocator for training.
//!
//! A GRPO update allocates and frees dozens of tensors the size of the embedding table
//! (4 MiB at the default 2^15 x 32). glibc serves blocks that large with `mmap` and gives
//! freed memory back to the kernel, so every such tensor page-faults its memory in again:
//! measured, half of an update's time went to the kernel. Keeping freed memory in the
//! process (a high `mmap` threshold and trim threshold) removes that cost without changing
//! a single result.

/// Largest block glibc may serve from the heap instead of `mmap`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 512 << 20;
/// Free memory at the top of the heap that glibc keeps instead of returning it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Makes glibc keep freed memory for reuse (see the module documentation). Call once, at
/// the start of `main`; settings given in the environment (`MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_TRIM_THRESHOLD_`) win. A no-op on other platforms and C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let set_by_user = |name| std::env::var_os(name).is_some();
        // SAFETY: mallopt only changes allocator parameters; it is called before any thread
        // that allocates is started.
        unsafe {
            if !set_by_user("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
            if !set_by_user("MALLOC_TRIM_THRESHOLD_") {
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        }
    }
}

//! The `derl` command line.

fn main() -> std::process::ExitCode {
    derl_learn::allocator::keep_freed_memory();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: nothing else runs yet, so no thread can read the
        // environment concurrently. One candle thread per policy: derl
        // parallelises across inner loops, and on a busy 2-core machine a
        // multi-threaded candle spends more time waiting than computing
        // (measured 2x slower GRPO updates).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    derl::cli::main()
}

//! Paths (and, for bundled plugins, bytes) of the guest components in
//! `plugins/`, built for `wasm32-wasip2` by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

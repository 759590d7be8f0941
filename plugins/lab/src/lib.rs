//! The `lab` environment as a WebAssembly component: a thin wrapper exporting
//! [`lab_core::Lab`] through the `derl:plugin/environment` interface. All the
//! logic (and its tests) lives in the native `lab-core` crate.

derl_sdk::register_environment!(lab_core::Lab);

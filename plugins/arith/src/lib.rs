//! The `arith` environment as a WebAssembly component: multi-step arithmetic
//! word problems solved with a calculator. All logic lives in `arith-core`;
//! this crate only exports it through the `derl:plugin` environment world.

derl_sdk::register_environment!(arith_core::Arith);

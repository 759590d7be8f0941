//! `derl:plugin@0.3.0` (`wit/v0.3.0/`), the latest version: its bindings, the
//! conversions of its types into the plain ones (those of 0.2.0, whose
//! environment and reward worlds it keeps), and the text-primitives world.

/// Host bindings of the `environment-plugin` world.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/v0.3.0",
    });
}

/// Host bindings of the `reward-program` world.
pub mod reward {
    wasmtime::component::bindgen!({
        world: "reward-program",
        path: "../wit/v0.3.0",
    });
}

/// Host bindings of the `text-primitives-plugin` world (new in 0.3.0).
pub mod text {
    wasmtime::component::bindgen!({
        world: "text-primitives-plugin",
        path: "../wit/v0.3.0",
    });
}

pub(crate) use reward::derl::plugin::types as reward_types;

super::convert::shared_conversions!(environment::derl::plugin::types);
super::convert::task_field_conversions!();

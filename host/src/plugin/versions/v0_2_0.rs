//! `derl:plugin@0.2.0` (`wit/v0.2.0/`): its bindings and the conversions of
//! its types into the plain ones, field for field.

/// Host bindings of the `environment-plugin` world.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/v0.2.0",
    });
}

/// Host bindings of the `reward-program` world.
pub mod reward {
    wasmtime::component::bindgen!({
        world: "reward-program",
        path: "../wit/v0.2.0",
    });
}

pub(crate) use reward::derl::plugin::types as reward_types;

super::convert::shared_conversions!(environment::derl::plugin::types);
super::convert::task_field_conversions!();

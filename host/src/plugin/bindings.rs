//! wasmtime bindings generated from `wit/` (one module per world).

/// Host bindings of the `environment-plugin` world.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit",
    });
}

/// Host bindings of the `reward-program` world.
pub mod reward {
    wasmtime::component::bindgen!({
        world: "reward-program",
        path: "../wit",
    });
}

//! The derl plugin SDK: write an environment or a reward program as plain Rust
//! and export it with one line.
//!
//! ```ignore
//! use derl_sdk::*;
//! struct Corridor { /* ... */ }
//! impl Environment for Corridor { /* new, info, task_count, reset, step */ }
//! derl_sdk::register_environment!(Corridor);
//! ```
//!
//! Build the crate as a `cdylib` for `wasm32-wasip2`; the result is a
//! component implementing `derl:plugin/environment-plugin@0.3.0` (or
//! `reward-program` with [`register_reward!`], or `text-primitives-plugin`
//! with [`register_text_primitives!`]), the latest version of the contract
//! ([`contract::VERSION`]). The generated WIT bindings stay
//! in [`bindings`]; authors see only the traits and plain types.

pub use derl_env_api::*;

mod convert;

#[doc(hidden)]
pub mod adapter;

/// Generated WIT bindings (internal; use the traits instead).
#[doc(hidden)]
pub mod bindings {
    /// Bindings of the `environment-plugin` world.
    pub mod environment {
        wit_bindgen::generate!({
            world: "environment-plugin",
            path: "../../wit/v0.3.0",
            pub_export_macro: true,
            export_macro_name: "export_environment",
            default_bindings_module: "derl_sdk::bindings::environment",
        });
    }

    /// Bindings of the `reward-program` world.
    pub mod reward {
        wit_bindgen::generate!({
            world: "reward-program",
            path: "../../wit/v0.3.0",
            pub_export_macro: true,
            export_macro_name: "export_reward",
            default_bindings_module: "derl_sdk::bindings::reward",
        });
    }

    /// Bindings of the `text-primitives-plugin` world.
    pub mod text {
        wit_bindgen::generate!({
            world: "text-primitives-plugin",
            path: "../../wit/v0.3.0",
            pub_export_macro: true,
            export_macro_name: "export_text_primitives",
            default_bindings_module: "derl_sdk::bindings::text",
        });
    }
}

/// A reward program: the logic behind a reward plugin.
pub trait RewardProgram {
    /// A fresh program.
    fn new() -> Self
    where
        Self: Sized;

    /// Scores `values.len() / stride` episodes; `values[i * stride + j]` is
    /// episode `i`'s primitive `j`. Returns one finite value per episode.
    fn score(&mut self, stride: usize, values: &[f64]) -> Result<Vec<f64>, String>;

    /// Describes the program.
    fn describe(&self) -> RewardInfo;
}

/// Exports an [`Environment`] implementation as the component's
/// `derl:plugin/environment` interface.
#[macro_export]
macro_rules! register_environment {
    ($env:ty) => {
        struct __DerlEnvironmentExport;

        ::std::thread_local! {
            static __DERL_ENVIRONMENT: ::std::cell::RefCell<::std::option::Option<$env>> =
                const { ::std::cell::RefCell::new(::std::option::Option::None) };
        }

        impl $crate::adapter::EnvironmentCell for __DerlEnvironmentExport {
            type Env = $env;
            fn with<R>(f: impl FnOnce(&mut $env) -> R) -> R {
                __DERL_ENVIRONMENT.with(|cell| {
                    let mut slot = cell.borrow_mut();
                    let env = slot.get_or_insert_with(<$env as $crate::Environment>::new);
                    f(env)
                })
            }
        }

        $crate::bindings::environment::export_environment!(__DerlEnvironmentExport);
    };
}

/// Exports a [`RewardProgram`] implementation as the component's
/// `derl:plugin/reward` interface.
#[macro_export]
macro_rules! register_reward {
    ($program:ty) => {
        struct __DerlRewardExport;

        ::std::thread_local! {
            static __DERL_REWARD: ::std::cell::RefCell<::std::option::Option<$program>> =
                const { ::std::cell::RefCell::new(::std::option::Option::None) };
        }

        impl $crate::adapter::RewardCell for __DerlRewardExport {
            type Program = $program;
            fn with<R>(f: impl FnOnce(&mut $program) -> R) -> R {
                __DERL_REWARD.with(|cell| {
                    let mut slot = cell.borrow_mut();
                    let program = slot.get_or_insert_with(<$program as $crate::RewardProgram>::new);
                    f(program)
                })
            }
        }

        $crate::bindings::reward::export_reward!(__DerlRewardExport);
    };
}

/// Exports a [`TextPrimitives`] implementation as the component's
/// `derl:plugin/text-primitives` interface.
#[macro_export]
macro_rules! register_text_primitives {
    ($extractor:ty) => {
        struct __DerlTextPrimitivesExport;

        ::std::thread_local! {
            static __DERL_TEXT_PRIMITIVES: ::std::cell::RefCell<::std::option::Option<$extractor>> =
                const { ::std::cell::RefCell::new(::std::option::Option::None) };
        }

        impl $crate::adapter::TextPrimitivesCell for __DerlTextPrimitivesExport {
            type Extractor = $extractor;
            fn with<R>(f: impl FnOnce(&mut $extractor) -> R) -> R {
                __DERL_TEXT_PRIMITIVES.with(|cell| {
                    let mut slot = cell.borrow_mut();
                    let extractor =
                        slot.get_or_insert_with(<$extractor as $crate::TextPrimitives>::new);
                    f(extractor)
                })
            }
        }

        $crate::bindings::text::export_text_primitives!(__DerlTextPrimitivesExport);
    };
}

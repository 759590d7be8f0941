//! The `household` environment component: an ALFWorld-style text household
//! (see the `household-core` crate), exported through the derl SDK.

derl_sdk::register_environment!(household_core::Household);

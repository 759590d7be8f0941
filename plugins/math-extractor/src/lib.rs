//! The `math` text-primitives component: the DERL reference's four math
//! primitives (see the `math-core` crate), exported through the derl SDK.

derl_sdk::register_text_primitives!(math_core::MathExtractor);

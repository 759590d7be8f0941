//! The names and versions of the `derl:plugin` WIT package, in one place.
//!
//! Every released version of the package is frozen in its own folder under
//! `wit/` (`wit/v0.1.0/`, `wit/v0.2.0/`, `wit/v0.3.0/`); [`VERSION`] is the
//! latest, the one the SDK, the reward compiler and Python rewards are built
//! against. The host accepts environment and reward components built against
//! any of [`SUPPORTED_VERSIONS`] and converts what older ones say into the
//! latest types; text-primitives extractors exist since 0.3.0.

/// The WIT package's namespace and name.
pub const PACKAGE: &str = "derl:plugin";

/// The latest version of the package.
pub const VERSION: &str = "0.3.0";

/// Every version a host of this release loads, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["0.1.0", "0.2.0", VERSION];

/// The environment interface of the latest version.
pub const ENVIRONMENT_INTERFACE: &str = "derl:plugin/environment@0.3.0";

/// The reward interface of the latest version.
pub const REWARD_INTERFACE: &str = "derl:plugin/reward@0.3.0";

/// The text-primitives interface of the latest version (new in 0.3.0).
pub const TEXT_PRIMITIVES_INTERFACE: &str = "derl:plugin/text-primitives@0.3.0";

/// The shared types interface of the latest version.
pub const TYPES_INTERFACE: &str = "derl:plugin/types@0.3.0";

/// The export name of `interface` (`environment`, `reward`, `types`) in `version`.
pub fn interface(name: &str, version: &str) -> String {
    format!("{PACKAGE}/{name}@{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_names_agree_with_the_version() {
        assert_eq!(ENVIRONMENT_INTERFACE, interface("environment", VERSION));
        assert_eq!(REWARD_INTERFACE, interface("reward", VERSION));
        assert_eq!(TYPES_INTERFACE, interface("types", VERSION));
        assert_eq!(
            TEXT_PRIMITIVES_INTERFACE,
            interface("text-primitives", VERSION)
        );
        assert_eq!(SUPPORTED_VERSIONS.last(), Some(&VERSION));
    }
}

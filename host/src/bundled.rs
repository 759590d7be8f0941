//! Environments and text-primitives extractors bundled into the `derl`
//! binary, addressable by name.

/// A bundled environment component.
pub struct Bundled {
    /// The name used on the command line (`--env household`).
    pub name: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
}

/// Every bundled environment.
pub const ENVIRONMENTS: &[Bundled] = &[
    Bundled {
        name: "household",
        bytes: derl_artifacts::HOUSEHOLD_BYTES,
    },
    Bundled {
        name: "lab",
        bytes: derl_artifacts::LAB_BYTES,
    },
    Bundled {
        name: "arith",
        bytes: derl_artifacts::ARITH_BYTES,
    },
    Bundled {
        name: "corridor",
        bytes: derl_artifacts::CORRIDOR_BYTES,
    },
];

/// The bundled environment called `name`.
pub fn environment(name: &str) -> Option<&'static Bundled> {
    ENVIRONMENTS.iter().find(|b| b.name == name)
}

/// Names of the bundled environments, for messages.
pub fn environment_names() -> Vec<&'static str> {
    ENVIRONMENTS.iter().map(|b| b.name).collect()
}

/// A bundled text-primitives extractor component.
pub struct BundledExtractor {
    /// The name used in the Python package (`primitives="math"`).
    pub name: &'static str,
    /// The component's bytes.
    pub bytes: &'static [u8],
}

/// Every bundled text-primitives extractor.
pub const EXTRACTORS: &[BundledExtractor] = &[BundledExtractor {
    name: "math",
    bytes: derl_artifacts::MATH_EXTRACTOR_BYTES,
}];

/// The bundled extractor called `name`.
pub fn extractor(name: &str) -> Option<&'static BundledExtractor> {
    EXTRACTORS.iter().find(|b| b.name == name)
}

/// Names of the bundled extractors, for messages.
pub fn extractor_names() -> Vec<&'static str> {
    EXTRACTORS.iter().map(|b| b.name).collect()
}

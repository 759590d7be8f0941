//! What a component is: which world it implements, its hash, its imports,
//! and what it says about itself.

use super::{EnvLimits, EnvironmentPlugin, RewardProgram, TextBudgets, TextExtractor, Version};
use derl_env_api::contract::TEXT_PRIMITIVES_INTERFACE;
use derl_env_api::{EnvInfo, ExtractorInfo};
use derl_sandbox::{Digest, Limits, PluginError, PluginErrorKind, Sandbox};
use std::fmt::Write as _;

/// The plugin world a component implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// `derl:plugin/environment-plugin`.
    Environment,
    /// `derl:plugin/reward-program`.
    Reward,
    /// `derl:plugin/text-primitives-plugin` (since 0.3.0).
    TextPrimitives,
}

/// Everything `derl plugin inspect` reports.
pub struct Inspection {
    /// sha256 of the bytes.
    pub digest: Digest,
    /// Size in bytes.
    pub size: usize,
    /// The world implemented.
    pub world: World,
    /// The contract version it was built against.
    pub version: Version,
    /// The component's imports (all provided by the sandbox).
    pub imports: Vec<String>,
    /// The component's exports.
    pub exports: Vec<String>,
    /// For environments: the declared info and the task count per split.
    pub environment: Option<(EnvInfo, Vec<(derl_env_api::Split, u32)>)>,
    /// For reward programs: `describe()`.
    pub reward: Option<super::reward::RewardInfo>,
    /// For text-primitives extractors: `info()`.
    pub extractor: Option<ExtractorInfo>,
}

/// Loads `bytes` and works out what it is.
///
/// # Errors
/// `NotAComponent`, `UnsupportedImport` (naming the import), or
/// `InterfaceMismatch` when it implements no derl world (listing its exports)
/// or implements one with the wrong types.
pub fn inspect(sandbox: &Sandbox, bytes: &[u8]) -> Result<Inspection, PluginError> {
    let component = sandbox.load(bytes)?;
    let imports = component.imports(sandbox);
    let exports = component.exports(sandbox);
    let (world, version) = if let Some(version) = Version::exported(&exports, "environment") {
        (World::Environment, version)
    } else if let Some(version) = Version::exported(&exports, "reward") {
        (World::Reward, version)
    } else if exports.iter().any(|e| e == TEXT_PRIMITIVES_INTERFACE) {
        (World::TextPrimitives, Version::V0_3_0)
    } else {
        let accepted: Vec<String> = Version::NEWEST_FIRST
            .iter()
            .flat_map(|v| [v.interface("environment"), v.interface("reward")])
            .chain([TEXT_PRIMITIVES_INTERFACE.to_owned()])
            .map(|name| format!("`{name}`"))
            .collect();
        return Err(PluginError::new(
            component.digest().short(),
            PluginErrorKind::InterfaceMismatch(format!(
                "implements no derl world: it exports [{}], expected one of {}",
                exports.join(", "),
                accepted.join(", ")
            )),
        ));
    };
    let mut inspection = Inspection {
        digest: component.digest(),
        size: component.size(),
        world,
        version,
        imports,
        exports,
        environment: None,
        reward: None,
        extractor: None,
    };
    match world {
        World::Environment => {
            let env =
                EnvironmentPlugin::from_component(sandbox, component, &[], &EnvLimits::default())?;
            let counts = env
                .info()
                .splits
                .iter()
                .map(|split| (*split, env.task_count(*split)))
                .collect();
            inspection.environment = Some((env.info().clone(), counts));
        }
        World::Reward => {
            let program = RewardProgram::from_component(sandbox, component, Limits::default())?;
            inspection.reward = Some(program.info().clone());
        }
        World::TextPrimitives => {
            let extractor = TextExtractor::from_component(
                sandbox,
                component,
                &[],
                Limits::default(),
                TextBudgets::default(),
            )?;
            inspection.extractor = Some(extractor.info().clone());
        }
    }
    Ok(inspection)
}

/// Guest-provided text as a terminal may show it: one line, control
/// characters escaped, cut with a note.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    derl_sandbox::printable::printable_line(text, derl_sandbox::printable::SHOWN_BYTES)
}

/// The `name:` and `about:` lines.
fn write_identity(out: &mut String, name: &str, version: &str, description: &str) {
    let _ = writeln!(out, "name:     {} {}", shown(name), shown(version));
    let _ = writeln!(out, "about:    {}", shown(description));
}

/// The primitive table: `g1  name  [min, max]  description`.
fn write_primitives(out: &mut String, primitives: &[derl_env_api::PrimitiveSpec]) {
    let _ = writeln!(out, "primitives:");
    for (i, p) in primitives.iter().enumerate() {
        let _ = writeln!(
            out,
            "  g{:<2} {:<16} [{}, {}]  {}",
            i + 1,
            shown(&p.name),
            p.min,
            p.max,
            shown(&p.description)
        );
    }
}

impl Inspection {
    /// A human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (world, interface) = match self.world {
            World::Environment => ("environment-plugin", "environment"),
            World::Reward => ("reward-program", "reward"),
            World::TextPrimitives => ("text-primitives-plugin", "text-primitives"),
        };
        let exported = self.version.interface(interface);
        let _ = writeln!(out, "world:    {world} (exports {exported})");
        let _ = writeln!(out, "sha256:   {}", self.digest);
        let _ = writeln!(out, "size:     {} bytes", self.size);
        let _ = writeln!(
            out,
            "imports:  {}",
            if self.imports.is_empty() {
                "none".to_owned()
            } else {
                self.imports.len().to_string()
            }
        );
        for import in &self.imports {
            let _ = writeln!(out, "  - {import}");
        }
        if let Some((info, counts)) = &self.environment {
            write_identity(&mut out, &info.name, &info.version, &info.description);
            let _ = writeln!(out, "max steps: {}", info.max_steps);
            for (split, steps) in &info.split_max_steps {
                let _ = writeln!(out, "  {split}: {steps}");
            }
            let disjoint = if info.disjoint_splits {
                "yes"
            } else {
                "not claimed"
            };
            let _ = writeln!(out, "disjoint splits: {disjoint}");
            let _ = writeln!(out, "features: {}", info.feature_count);
            write_primitives(&mut out, &info.primitives);
            let _ = writeln!(out, "splits:");
            for (split, count) in counts {
                let _ = writeln!(out, "  {:<11} {count} tasks", split.name());
            }
        }
        if let Some(info) = &self.extractor {
            write_identity(&mut out, &info.name, &info.version, &info.description);
            write_primitives(&mut out, &info.primitives);
        }
        if let Some(reward) = &self.reward {
            let _ = writeln!(out, "program:  {}", shown(&reward.description));
            let _ = writeln!(
                out,
                "reads:    {} primitive(s) per episode",
                reward.min_stride
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use derl_env_api::{PrimitiveSpec, Split};

    #[test]
    fn guest_text_is_shown_escaped() {
        let escape = "\u{1b}[2J\u{1b}]0;owned\u{7}";
        let inspection = Inspection {
            digest: Digest::of(b""),
            size: 0,
            world: World::Environment,
            version: Version::V0_2_0,
            imports: vec![],
            exports: vec![],
            environment: Some((
                EnvInfo {
                    name: format!("n{escape}"),
                    version: "1".into(),
                    description: format!("d{escape}\nsecond line"),
                    max_steps: 1,
                    split_max_steps: vec![],
                    primitives: vec![PrimitiveSpec::new("p", &format!("x{escape}"), 0.0, 1.0)],
                    splits: vec![Split::Train],
                    disjoint_splits: false,
                    feature_count: 0,
                },
                vec![(Split::Train, 1)],
            )),
            reward: None,
            extractor: None,
        };
        let rendered = inspection.render();
        assert!(
            !rendered.contains('\u{1b}') && !rendered.contains('\u{7}'),
            "{rendered:?}"
        );
        assert!(rendered.contains("d\\u{1b}[2J"), "{rendered}");
        assert!(
            !rendered.contains("\nsecond line"),
            "descriptions stay on one line"
        );
    }
}

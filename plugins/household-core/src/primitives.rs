//! The atomic primitives reported at episode end, and the per-episode
//! tally they are computed from.
//!
//! | # | name            | meaning                                                         |
//! |---|-----------------|-----------------------------------------------------------------|
//! | 1 | `success`       | 1 if the task was accomplished, else 0                          |
//! | 2 | `progress`      | best fraction of the task's milestones reached (dense, aligned) |
//! | 3 | `exploration`   | fraction of receptacles searched (farmable: visit and open all) |
//! | 4 | `handled`       | fraction of the room's objects picked up at least once (farmable, misleading: handling distractors wastes steps) |
//! | 5 | `valid_actions` | fraction of steps that changed the world (farmable: open/close) |
//! | 6 | `speed`         | `1 - steps / max_steps` when successful, else 0                  |
//!
//! All values lie in `[0, 1]`. Only `success`, `progress` and `speed` point
//! at the task; the other three reward behaviour that a solver does a little
//! of, and a policy can maximise them without ever succeeding.

use derl_env_api::PrimitiveSpec;

use crate::progress::{goal_object_in_view, reached_milestones, total_milestones};
use crate::task::TaskSpec;
use crate::world::World;

/// Names of the primitives, in report order.
pub const NAMES: [&str; 6] = [
    "success",
    "progress",
    "exploration",
    "handled",
    "valid_actions",
    "speed",
];

/// The primitive specs, in report order (`success` first).
pub fn specs() -> Vec<PrimitiveSpec> {
    let descriptions = [
        "1 if the task was accomplished (object placed, or examined under the lit lamp), else 0.",
        "Best fraction of the task's milestones reached: goal object found, taken, each required \
         clean/heat/cool applied, brought to its destination.",
        "Fraction of the room's receptacles searched (visited, and opened if they have a door).",
        "Fraction of the room's objects the agent picked up at least once.",
        "Fraction of steps whose action changed the world (moved, opened, closed, took, put, \
         transformed, switched the lamp).",
        "1 - steps / max-steps when the task was accomplished, else 0.",
    ];
    NAMES
        .iter()
        .zip(descriptions)
        .map(|(name, description)| PrimitiveSpec::new(name, description, 0.0, 1.0))
        .collect()
}

/// What happened so far in an episode, beyond the world's own state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Steps taken.
    pub steps: u32,
    /// Steps whose action changed the world.
    pub changing_steps: u32,
    /// A goal object has been seen.
    pub found: bool,
    /// Most milestones reached at once.
    pub best_milestones: usize,
    /// Objects held at least once (bit per object index).
    pub handled: u128,
}

impl Tally {
    /// Updates the tally after a step (or with `changed = None` at reset).
    pub fn observe(&mut self, spec: &TaskSpec, world: &World, changed: Option<bool>) {
        if let Some(changed) = changed {
            self.steps += 1;
            self.changing_steps += u32::from(changed);
        }
        self.found |= goal_object_in_view(spec, world);
        if let Some(object) = world.held {
            self.handled |= 1 << object;
        }
        self.best_milestones = self
            .best_milestones
            .max(reached_milestones(spec, world, self.found));
    }

    /// The primitive values, in [`NAMES`] order.
    pub fn report(
        &self,
        spec: &TaskSpec,
        world: &World,
        success: bool,
        max_steps: u32,
    ) -> Vec<f64> {
        let ratio = |part: f64, whole: f64| {
            if whole > 0.0 {
                (part / whole).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let searched = world.receptacles.iter().filter(|r| r.searched).count();
        let speed = if success {
            1.0 - ratio(f64::from(self.steps), f64::from(max_steps))
        } else {
            0.0
        };
        vec![
            f64::from(u8::from(success)),
            if success {
                1.0
            } else {
                ratio(self.best_milestones as f64, total_milestones(spec) as f64)
            },
            ratio(searched as f64, world.receptacles.len() as f64),
            ratio(
                f64::from(self.handled.count_ones()),
                world.objects.len() as f64,
            ),
            ratio(f64::from(self.changing_steps), f64::from(self.steps)),
            speed,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_put_success_first_and_match_names() {
        let specs = specs();
        assert_eq!(specs.len(), NAMES.len());
        assert_eq!(specs[0].name, "success");
        assert!(specs.len() >= 4);
        for (spec, name) in specs.iter().zip(NAMES) {
            assert_eq!(spec.name, name);
            assert_eq!((spec.min, spec.max), (0.0, 1.0));
            assert!(!spec.description.is_empty());
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}

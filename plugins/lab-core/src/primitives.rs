//! The atomic primitives reported at the end of every episode.
//!
//! | index | name          | meaning                                                        |
//! |-------|---------------|----------------------------------------------------------------|
//! | 0 (g1)| `success`     | 1 when the task was confirmed by focusing on its target, else 0 |
//! | 1 (g2)| `progress`    | fraction of the task's sub-goals ever reached: focusing on the target once, the causal chain's steps, the confirming focus (1 on success) |
//! | 2 (g3)| `exploration` | fraction of rooms visited and objects handled (farmable)       |
//! | 3 (g4)| `caution`     | 0 when the episode ended on a blunder (wrong focus, wrong box), else 1 |
//! | 4 (g5)| `speed`       | fraction of the step budget left when the episode ended        |
//!
//! `exploration` is the tempting one: walking everywhere and picking
//! everything up scores high on it and never completes a task. `speed` is
//! also misleading alone: ending an episode at once with a careless focus
//! maximises it. `caution` alone is maximised by never focusing at all.

use derl_env_api::PrimitiveSpec;

/// Index of `success` (`g1`).
pub const SUCCESS: usize = 0;
/// Index of `progress`.
pub const PROGRESS: usize = 1;
/// Index of `exploration`.
pub const EXPLORATION: usize = 2;
/// Index of `caution`.
pub const CAUTION: usize = 3;
/// Index of `speed`.
pub const SPEED: usize = 4;
/// Number of primitives.
pub const COUNT: usize = 5;

/// The declared primitives, in report order.
pub fn specs() -> Vec<PrimitiveSpec> {
    vec![
        PrimitiveSpec::new(
            "success",
            "1 if the task was completed and confirmed by focusing on its target, else 0.",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "progress",
            "Fraction of the task's sub-goals reached at some point: identifying the target by focusing on it, each step of the causal chain, confirming (1 on success).",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "exploration",
            "Fraction of the lab's rooms visited and objects handled; farmable without solving anything.",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "caution",
            "0 if the episode ended on a blunder (focusing on a wrong object, filing in the wrong box), else 1.",
            0.0,
            1.0,
        ),
        PrimitiveSpec::new(
            "speed",
            "Fraction of the step budget left when the episode ended, whatever the outcome.",
            0.0,
            1.0,
        ),
    ]
}

/// How an episode ended, and what it did along the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    /// Sub-goals ever reached.
    pub reached: Vec<bool>,
    /// The agent focused on the task's target at least once (identifying
    /// what the task is about, as ScienceWorld's first sub-goal).
    pub identified: bool,
    /// Objects (present at the start) the agent handled.
    pub handled: Vec<bool>,
    /// Rooms of the lab the agent stood in.
    pub visited: Vec<bool>,
    /// The task was confirmed.
    pub success: bool,
    /// The episode ended on a blunder.
    pub blundered: bool,
    /// Steps taken.
    pub steps: u32,
}

impl Tally {
    /// A fresh tally for `subgoals` sub-goals, `objects` objects and `rooms` rooms.
    pub fn new(subgoals: usize, objects: usize, rooms: usize) -> Self {
        Tally {
            reached: vec![false; subgoals],
            identified: false,
            handled: vec![false; objects],
            visited: vec![false; rooms],
            success: false,
            blundered: false,
            steps: 0,
        }
    }

    /// Marks the sub-goals that hold now.
    pub fn record_subgoals(&mut self, holding: &[bool]) {
        for (reached, &now) in self.reached.iter_mut().zip(holding) {
            *reached |= now;
        }
    }

    /// The primitive values, in [`specs`] order.
    pub fn values(&self, max_steps: u32) -> Vec<f64> {
        let fraction = |flags: &[bool]| flags.iter().filter(|&&f| f).count() as f64;
        let progress = if self.success {
            1.0
        } else {
            // Identifying the target comes first and the confirming focus
            // last; the causal chain lies between.
            (fraction(&self.reached) + f64::from(u8::from(self.identified)))
                / (self.reached.len() + 2) as f64
        };
        let exploration = (fraction(&self.handled) + fraction(&self.visited))
            / (self.handled.len() + self.visited.len()).max(1) as f64;
        let speed = 1.0 - f64::from(self.steps.min(max_steps)) / f64::from(max_steps.max(1));
        let mut values = vec![0.0; COUNT];
        values[SUCCESS] = if self.success { 1.0 } else { 0.0 };
        values[PROGRESS] = progress;
        values[EXPLORATION] = exploration;
        values[CAUTION] = if self.blundered { 0.0 } else { 1.0 };
        values[SPEED] = speed;
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_tally() {
        let mut tally = Tally::new(3, 4, 4);
        tally.record_subgoals(&[true, false, false]);
        tally.record_subgoals(&[false, true, false]);
        tally.handled[0] = true;
        tally.visited[1] = true;
        tally.steps = 10;
        let v = tally.values(40);
        assert_eq!(v, vec![0.0, 0.4, 0.25, 1.0, 0.75]);
        tally.identified = true;
        assert_eq!(tally.values(40)[PROGRESS], 0.6);
        tally.success = true;
        assert_eq!(tally.values(40)[PROGRESS], 1.0);
        tally.blundered = true;
        tally.steps = 50;
        assert_eq!(tally.values(40)[CAUTION], 0.0);
        assert_eq!(tally.values(40)[SPEED], 0.0);
    }

    #[test]
    fn specs_put_success_first() {
        let specs = specs();
        assert_eq!(specs.len(), COUNT);
        assert_eq!(specs[SUCCESS].name, "success");
        assert_eq!(specs[PROGRESS].name, "progress");
        assert!(specs.iter().all(|s| s.min == 0.0 && s.max == 1.0));
    }
}

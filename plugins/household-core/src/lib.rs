//! `household`: a procedurally generated text household in the style of
//! ALFWorld, as a plain-Rust [`Environment`].
//!
//! Each task is one room (kitchen, bathroom, bedroom, living room; in `ood`
//! a workshop, studio, canteen, laundry or study) with receptacles, some
//! closed (`open` them to see inside), portable objects and appliances. The
//! agent starts in the middle of the room and acts with ALFWorld's commands:
//! `go to cabinet 2`, `open fridge 1`, `close fridge 1`, `take mug 1 from
//! countertop 2`, `put mug 1 in/on shelf 1`, `clean mug 1 with sinkbasin 1`,
//! `heat mug 1 with microwave 1`, `cool mug 1 with fridge 1`, `use desklamp
//! 1`, `examine ...`, `look`, `inventory`. It holds one object at a time.
//!
//! ALFWorld's six task families (pick and place, examine under the lamp,
//! clean/heat/cool then place, pick two and place) make up `train`,
//! `validation` and `test`; `ood` adds unseen rooms, receptacles, objects
//! and a floor lamp, larger rooms, targets that are not unique, three-object
//! goals and two longer families (see [`task`]). Primitives are described in
//! [`primitives`].
//!
//! Settings: `max-steps` (default 40, 5..=200), `difficulty` (`easy`,
//! `normal` (default), `hard`: rooms of 5-7, 6-10 or 9-13 receptacles, four
//! more in `ood`) and `history` (default 0, 0..=10): when above 0 the
//! observation ends with a `Recent actions:` line listing that many of the
//! last actions, oldest first, a memory for policies that have none (a
//! memoryless policy cannot tell that it just put the object where it is
//! about to take it from).

pub mod actions;
pub mod catalog;
pub mod dynamics;
pub mod episode;
pub mod expert;
pub mod primitives;
pub mod progress;
pub mod render;
pub mod rng;
pub mod task;
pub mod world;

use derl_env_api::{
    EnvError, EnvInfo, Environment, Observation, Split, StepResult, parse_setting_in,
};

use crate::episode::Episode;
use crate::task::{Difficulty, TaskSpec};

/// Step budget when `max-steps` is not set.
pub const DEFAULT_MAX_STEPS: u32 = 40;
/// Accepted `max-steps` values.
pub const MAX_STEPS_RANGE: std::ops::RangeInclusive<u32> = 5..=200;
/// Accepted `history` values (recent actions shown; 0, the default, shows none).
pub const HISTORY_RANGE: std::ops::RangeInclusive<u32> = 0..=10;
/// Version of the environment's logic; bump when episodes change.
pub const VERSION: &str = "0.1.0";

/// The household environment.
#[derive(Clone, Debug)]
pub struct Household {
    max_steps: u32,
    difficulty: Difficulty,
    history: u32,
    episode: Option<Episode>,
    /// The last generated task, reused when the same task is reset again.
    cached: Option<(Split, u32, Difficulty, TaskSpec)>,
}

impl Household {
    /// The running episode, if any (for inspection and tests).
    pub fn episode(&self) -> Option<&Episode> {
        self.episode.as_ref()
    }

    /// The configured step budget.
    pub fn max_steps(&self) -> u32 {
        self.max_steps
    }

    /// How many recent actions the observation lists.
    pub fn history(&self) -> u32 {
        self.history
    }

    /// The configured scene-size preset.
    pub fn difficulty(&self) -> Difficulty {
        self.difficulty
    }

    fn running(&self) -> Result<&Episode, EnvError> {
        match &self.episode {
            None => Err(EnvError::NoEpisode("call reset first".into())),
            Some(episode) if episode.is_done() => Err(EnvError::NoEpisode(
                "the episode has ended; call reset".into(),
            )),
            Some(episode) => Ok(episode),
        }
    }

    fn task_spec(&mut self, split: Split, task: u32) -> TaskSpec {
        let difficulty = self.difficulty;
        match &self.cached {
            Some((s, t, d, spec)) if (*s, *t, *d) == (split, task, difficulty) => spec.clone(),
            _ => {
                let spec = task::generate(split, task, difficulty);
                self.cached = Some((split, task, difficulty, spec.clone()));
                spec
            }
        }
    }
}

impl Environment for Household {
    fn new() -> Self {
        Household {
            max_steps: DEFAULT_MAX_STEPS,
            difficulty: Difficulty::Normal,
            history: 0,
            episode: None,
            cached: None,
        }
    }

    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), EnvError> {
        let mut max_steps = self.max_steps;
        let mut difficulty = self.difficulty;
        let mut history = self.history;
        for (key, value) in settings {
            match key.as_str() {
                "max-steps" => max_steps = parse_setting_in(key, value, MAX_STEPS_RANGE)?,
                "history" => history = parse_setting_in(key, value, HISTORY_RANGE)?,
                "difficulty" => {
                    difficulty = Difficulty::from_name(value).ok_or_else(|| {
                        EnvError::InvalidSetting(format!(
                            "`difficulty` = `{value}`: expected easy, normal or hard"
                        ))
                    })?;
                }
                _ => {
                    return Err(EnvError::InvalidSetting(format!(
                        "unknown setting `{key}` (known: max-steps, difficulty, history)"
                    )));
                }
            }
        }
        self.max_steps = max_steps;
        self.difficulty = difficulty;
        self.history = history;
        self.episode = None;
        Ok(())
    }

    fn info(&self) -> EnvInfo {
        EnvInfo {
            name: "household".into(),
            version: VERSION.into(),
            description: "An ALFWorld-style text household: go to receptacles, open them, take \
                          objects, clean/heat/cool them at the sink basin, microwave or fridge, \
                          and put them in place or examine them under the desk lamp. Six task \
                          families in procedurally generated rooms; `ood` has unseen rooms, \
                          receptacles, objects and longer tasks."
                .into(),
            max_steps: self.max_steps,
            split_max_steps: Vec::new(),
            primitives: primitives::specs(),
            splits: Split::ALL.to_vec(),
            // Not yet: 4.3% of validation and 5.0% of test tasks start exactly as a
            // train task (`cargo run -p derl --example split_overlap -- household`); making
            // the held-out splits disjoint changes every held-out result, so it waits
            // for the environment's next version.
            disjoint_splits: false,
            feature_count: 0,
        }
    }

    fn task_count(&self, split: Split) -> u32 {
        task::task_count(split)
    }

    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Result<Observation, EnvError> {
        let count = task::task_count(split);
        if task >= count {
            return Err(EnvError::UnknownTask(format!(
                "task {task} of split `{split}`: it has {count} tasks"
            )));
        }
        let spec = self.task_spec(split, task);
        let episode = Episode::start(
            spec,
            split,
            task,
            seed,
            self.max_steps,
            self.history as usize,
        );
        let observation = episode.observation();
        self.episode = Some(episode);
        Ok(observation)
    }

    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        self.running()?;
        match self.episode.as_mut() {
            Some(episode) => episode.step(action),
            None => Err(EnvError::NoEpisode("call reset first".into())),
        }
    }

    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        self.running()?.expert_action().map(Some)
    }
}

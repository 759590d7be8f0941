//! [`Arith`]: the environment behind the `arith` plugin.

use crate::episode::Episode;
use crate::generate;
use crate::render;
use crate::{expert, primitives};
use derl_env_api::{
    EnvError, EnvInfo, Environment, Observation, Split, StepResult, parse_setting_in,
};

/// Default step budget: the longest gold solution (five computations and the
/// answer) with room for a few wasted or undone steps.
pub const DEFAULT_MAX_STEPS: u32 = 10;
/// Largest accepted `max-steps`.
pub const MAX_MAX_STEPS: u32 = 64;

/// Settings accepted by [`Environment::configure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `max-steps`: actions before an episode is truncated (1 to 64).
    pub max_steps: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_steps: DEFAULT_MAX_STEPS,
        }
    }
}

impl Settings {
    /// These settings with `key = value` applied.
    fn with(self, key: &str, value: &str) -> Result<Settings, EnvError> {
        match key {
            "max-steps" => Ok(Settings {
                max_steps: parse_setting_in(key, value, 1..=MAX_MAX_STEPS)?,
            }),
            _ => Err(EnvError::InvalidSetting(format!(
                "arith has no setting `{key}` (it knows `max-steps`)"
            ))),
        }
    }
}

/// Multi-step arithmetic word problems solved with a calculator.
///
/// Each episode is one problem. The policy combines the numbers the problem
/// states and the results it has computed (`add`, `subtract`, `multiply`,
/// exact `divide`; each number is used once), may `undo` its last
/// computation, and ends the episode by answering one of the available
/// numbers.
#[derive(Clone, Debug, Default)]
pub struct Arith {
    settings: Settings,
    episode: Option<Episode>,
}

impl Arith {
    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// The running episode, if any (also after it ended, until the next reset).
    pub fn episode(&self) -> Option<&Episode> {
        self.episode.as_ref()
    }

    fn running(&self) -> Result<&Episode, EnvError> {
        match &self.episode {
            None => Err(EnvError::NoEpisode("call reset first".into())),
            Some(episode) if episode.is_over() => Err(EnvError::NoEpisode(
                "the episode has ended; call reset".into(),
            )),
            Some(episode) => Ok(episode),
        }
    }
}

fn observe(episode: &Episode) -> Observation {
    Observation {
        task: render::task_text(episode),
        text: render::observation_text(episode),
        actions: render::action_texts(episode),
        features: Vec::new(),
    }
}

impl Environment for Arith {
    fn new() -> Self {
        Arith::default()
    }

    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), EnvError> {
        let mut configured = self.settings;
        for (key, value) in settings {
            configured = configured.with(key, value)?;
        }
        self.settings = configured;
        Ok(())
    }

    fn info(&self) -> EnvInfo {
        EnvInfo {
            name: "arith".into(),
            version: "0.1.0".into(),
            description: "Multi-step arithmetic word problems (shopping, trips, sharing, ages, \
                savings, ...) solved with a calculator: each step adds, subtracts, multiplies or \
                exactly divides two available numbers (the problem's numbers and earlier \
                results; each is used once), undoes the last computation, or answers an \
                available number, which ends the episode. Training problems take two or three \
                operations, some with an irrelevant number; ood problems use unseen templates, \
                three to five operations and larger numbers."
                .into(),
            max_steps: self.settings.max_steps,
            split_max_steps: Vec::new(),
            primitives: primitives::specs(),
            splits: Split::ALL.to_vec(),
            disjoint_splits: true,
            feature_count: 0,
        }
    }

    fn task_count(&self, split: Split) -> u32 {
        generate::task_count(split)
    }

    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Result<Observation, EnvError> {
        let problem = generate::generate(split, task, seed).ok_or_else(|| {
            EnvError::UnknownTask(format!(
                "task {task} of split {split}, which has {} tasks",
                generate::task_count(split)
            ))
        })?;
        let episode = Episode::new(problem, self.settings.max_steps);
        let observation = observe(&episode);
        self.episode = Some(episode);
        Ok(observation)
    }

    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        let episode = self
            .episode
            .as_mut()
            .ok_or_else(|| EnvError::NoEpisode("call reset first".into()))?;
        let feedback = episode.take(action)?;
        Ok(StepResult {
            observation: observe(episode),
            feedback,
            terminated: episode.answer().is_some(),
            truncated: episode.is_truncated(),
            primitives: episode.is_over().then(|| primitives::measure(episode)),
        })
    }

    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        let episode = self.running()?;
        let planned = expert::next_move(episode);
        let index = episode.actions().iter().position(|a| planned.is_done_by(a));
        Ok(index.map(|i| i as u32))
    }
}

//! One running episode: the task, the world, the admissible actions and the
//! tally, stepped by action index.

use std::collections::VecDeque;

use derl_env_api::{EnvError, Observation, Split, StepResult};

use crate::actions::{Action, admissible};
use crate::dynamics::apply;
use crate::expert;
use crate::primitives::Tally;
use crate::progress::is_success;
use crate::render::{observation, task as task_line};
use crate::rng::Rng;
use crate::task::TaskSpec;
use crate::world::World;

/// A running (or finished) episode.
#[derive(Clone, Debug)]
pub struct Episode {
    spec: TaskSpec,
    /// The observation's task line.
    task: String,
    world: World,
    max_steps: u32,
    actions: Vec<Action>,
    tally: Tally,
    success: bool,
    done: bool,
    /// How many recent actions the observation lists (0: no `Recent actions` line).
    history: usize,
    /// The texts of the last `history` actions, oldest first.
    recent: VecDeque<String>,
}

impl Episode {
    /// Starts an episode of `spec` (task `task` of `split`) with `seed`, listing the last
    /// `history` actions in each observation.
    pub fn start(
        spec: TaskSpec,
        split: Split,
        task: u32,
        seed: u64,
        max_steps: u32,
        history: usize,
    ) -> Episode {
        let mut rng = Rng::from_parts(&[0x70_6c61_6365, split.index(), u64::from(task), seed]);
        let world = World::populate(&spec, &mut rng);
        let mut tally = Tally::default();
        tally.observe(&spec, &world, None);
        let mut actions = Vec::with_capacity(32);
        admissible(&world, &mut actions);
        Episode {
            task: task_line(&spec.goal_text()),
            spec,
            world,
            max_steps,
            actions,
            tally,
            success: false,
            done: false,
            history,
            recent: VecDeque::with_capacity(history + 1),
        }
    }

    /// The task.
    pub fn spec(&self) -> &TaskSpec {
        &self.spec
    }

    /// The world's current state.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The admissible actions of the current observation.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Whether the episode has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The current observation (no actions once the episode has ended).
    pub fn observation(&self) -> Observation {
        let mut text = String::with_capacity(768);
        observation(&self.spec, &self.world, &mut text);
        if self.history > 0 {
            text.push_str("\nRecent actions: ");
            if self.recent.is_empty() {
                text.push_str("none");
            }
            for (i, action) in self.recent.iter().enumerate() {
                if i > 0 {
                    text.push_str("; ");
                }
                text.push_str(action);
            }
            text.push('.');
        }
        let actions = if self.done {
            Vec::new()
        } else {
            self.actions.iter().map(|a| a.text(&self.world)).collect()
        };
        Observation {
            task: self.task.clone(),
            text,
            actions,
            features: Vec::new(),
        }
    }

    /// Takes the admissible action at `index`.
    pub fn step(&mut self, index: u32) -> Result<StepResult, EnvError> {
        if self.done {
            return Err(EnvError::NoEpisode(
                "the episode has ended; call reset".into(),
            ));
        }
        let Some(&action) = self.actions.get(index as usize) else {
            return Err(EnvError::InvalidAction(format!(
                "action {index} out of range: {} admissible actions",
                self.actions.len()
            )));
        };
        if self.history > 0 {
            if self.recent.len() == self.history {
                self.recent.pop_front();
            }
            self.recent.push_back(action.text(&self.world));
        }
        let mut feedback = String::with_capacity(96);
        let changed = apply(&self.spec, &mut self.world, action, &mut feedback);
        self.tally.observe(&self.spec, &self.world, Some(changed));
        self.success = is_success(&self.spec, &self.world);
        let truncated = !self.success && self.tally.steps >= self.max_steps;
        self.done = self.success || truncated;
        if self.success {
            feedback.push_str(" Task completed.");
        }
        admissible(&self.world, &mut self.actions);
        Ok(StepResult {
            observation: self.observation(),
            feedback,
            terminated: self.success,
            truncated,
            primitives: self.done.then(|| {
                self.tally
                    .report(&self.spec, &self.world, self.success, self.max_steps)
            }),
        })
    }

    /// The expert's action, as an index into the current actions.
    pub fn expert_action(&self) -> Result<u32, EnvError> {
        if self.done {
            return Err(EnvError::NoEpisode(
                "the episode has ended; call reset".into(),
            ));
        }
        let wanted = expert::next_action(&self.spec, &self.world);
        let index = self.actions.iter().position(|&a| a == wanted);
        debug_assert!(index.is_some(), "expert chose an inadmissible {wanted:?}");
        Ok(index.unwrap_or(0) as u32)
    }
}

//! One running episode: the world, its goal, the admissible actions and the
//! tally behind the primitives.

use std::collections::VecDeque;

use derl_env_api::{EnvError, Observation, StepResult};

use crate::actions::{self, Action};
use crate::expert;
use crate::generate::generate;
use crate::goal::Goal;
use crate::primitives::Tally;
use crate::render::{self, Context};
use crate::rng::Rng;
use crate::tasks::Task;
use crate::world::World;

/// How many past actions the observation lists.
pub const HISTORY: usize = 3;

/// Most expert actions a head start may take.
const HEAD_START_LIMIT: usize = 60;

/// Plays the expert until `count` of the chain's sub-goals have been reached,
/// so the episode starts part-way along its causal chain.
fn play_head_start(world: &mut World, goal: &Goal, count: usize) {
    let mut reached = vec![false; goal.subgoal_count()];
    for _ in 0..HEAD_START_LIMIT {
        for (reached, now) in reached.iter_mut().zip(goal.subgoals(world)) {
            *reached |= now;
        }
        if reached.iter().filter(|&&r| r).count() >= count {
            return;
        }
        match expert::next_action(world, goal) {
            Some(Action::Focus(_)) | None => return,
            Some(action) => {
                actions::apply(world, action);
                for _ in 0..action.ticks() {
                    world.tick();
                }
            }
        }
    }
}

/// A running (or just finished) episode.
#[derive(Clone, Debug)]
pub struct Episode {
    world: World,
    goal: Goal,
    /// The observation's task field.
    task: String,
    tally: Tally,
    actions: Vec<Action>,
    action_texts: Vec<String>,
    recent: VecDeque<String>,
    last: String,
    max_steps: u32,
    done: bool,
}

impl Episode {
    /// Starts `task` with randomness from `rng`.
    pub fn new(task: &Task, rng: &mut Rng, max_steps: u32) -> Self {
        let (mut world, goal) = generate(task, rng);
        play_head_start(&mut world, &goal, usize::from(task.head_start));
        let task = render::task(&goal.describe(&world));
        let mut tally = Tally::new(goal.subgoal_count(), world.objects.len(), world.rooms.len());
        tally.record_subgoals(&goal.subgoals(&world));
        let mut episode = Episode {
            world,
            goal,
            task,
            tally,
            actions: Vec::new(),
            action_texts: Vec::new(),
            recent: VecDeque::with_capacity(HISTORY + 1),
            last: "You enter the lab.".to_owned(),
            max_steps,
            done: false,
        };
        episode.mark_room();
        episode.refresh_actions();
        episode
    }

    /// The world as it stands.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The episode's goal.
    pub fn goal(&self) -> &Goal {
        &self.goal
    }

    /// Whether the episode has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The current admissible actions.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// What the agent observes now.
    pub fn observation(&self) -> Observation {
        let recent: Vec<String> = self.recent.iter().cloned().collect();
        let text = render::observation(
            &self.world,
            &Context {
                step: self.tally.steps,
                max_steps: self.max_steps,
                recent: &recent,
                last: &self.last,
            },
        );
        Observation {
            task: self.task.clone(),
            text,
            actions: self.action_texts.clone(),
            features: Vec::new(),
        }
    }

    /// Takes admissible action `index`.
    pub fn step(&mut self, index: u32) -> Result<StepResult, EnvError> {
        if self.done {
            return Err(EnvError::NoEpisode(
                "the episode has ended; call reset".to_owned(),
            ));
        }
        let Some(&action) = self.actions.get(index as usize) else {
            return Err(EnvError::InvalidAction(format!(
                "action {index} is out of range: {} actions are admissible",
                self.actions.len()
            )));
        };
        let text = action.summary(&self.world);
        self.tally.steps += 1;
        for id in action.operands(&self.world).into_iter().flatten() {
            if let Some(handled) = self.tally.handled.get_mut(id) {
                *handled = true;
            }
        }
        let terminated = match action {
            Action::Focus(target) if self.goal.is_done(&self.world, target) => {
                self.tally.success = true;
                self.last = format!(
                    "You focus on the {}. The task is complete!",
                    self.world.label(target)
                );
                true
            }
            Action::Focus(target) if !self.goal.is_target(&self.world, target) => {
                self.tally.blundered = true;
                self.last = format!(
                    "You focus on the {}, which is not what the task is about. The task has failed.",
                    self.world.label(target)
                );
                true
            }
            _ => {
                self.last = match action {
                    Action::Focus(target) => {
                        self.tally.identified = true;
                        format!(
                            "You focus on the {}, but the task is not done yet.",
                            self.world.label(target)
                        )
                    }
                    _ => actions::apply(&mut self.world, action),
                };
                for _ in 0..action.ticks() {
                    self.world.tick();
                }
                self.mark_room();
                self.tally.record_subgoals(&self.goal.subgoals(&self.world));
                let blunder = self.goal.blunder(&self.world);
                if let Some(why) = &blunder {
                    self.tally.blundered = true;
                    self.last = format!("{} {why}", self.last);
                }
                blunder.is_some()
            }
        };
        let truncated = !terminated && self.tally.steps >= self.max_steps;
        self.done = terminated || truncated;
        if self.recent.len() == HISTORY {
            self.recent.pop_front();
        }
        self.recent.push_back(text);
        if self.done {
            self.actions.clear();
            self.action_texts.clear();
        } else {
            self.refresh_actions();
        }
        Ok(StepResult {
            observation: self.observation(),
            feedback: self.last.clone(),
            terminated,
            truncated,
            primitives: self.done.then(|| self.tally.values(self.max_steps)),
        })
    }

    /// The expert's action as an index into the current actions.
    pub fn expert_action(&self) -> Option<u32> {
        let action = expert::next_action(&self.world, &self.goal)?;
        self.actions
            .iter()
            .position(|&a| a == action)
            .map(|i| i as u32)
    }

    fn mark_room(&mut self) {
        if let Some(i) = self.world.rooms.iter().position(|&r| r == self.world.agent) {
            self.tally.visited[i] = true;
        }
    }

    fn refresh_actions(&mut self) {
        self.actions = actions::admissible(&self.world);
        self.action_texts = self.actions.iter().map(|a| a.text(&self.world)).collect();
    }
}

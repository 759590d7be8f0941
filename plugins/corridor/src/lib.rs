//! A minimal environment: walk a corridor, pick up the key, open the door.
//! The whole plugin is this file; see docs/writing-an-environment.md.

use derl_sdk::*;

/// Agent position, key position and door position on a line of cells.
#[derive(Default)]
pub struct Corridor {
    length: u32,
    agent: u32,
    key: Option<u32>,
    visited: Vec<bool>,
    steps: u32,
    done: bool,
}

const MAX_STEPS: u32 = 30;

impl Corridor {
    fn actions(&self) -> Vec<String> {
        let mut actions = vec!["move left".to_owned(), "move right".to_owned()];
        if self.key == Some(self.agent) {
            actions.push("pick up key".to_owned());
        }
        actions.push("open door".to_owned());
        actions
    }

    fn observe(&self) -> Observation {
        let key = match self.key {
            Some(at) => format!("The key lies in cell {at}."),
            None => "You carry the key.".to_owned(),
        };
        Observation {
            text: format!(
                "Goal: open the door at cell {}. You are in cell {}. {key}",
                self.length - 1,
                self.agent
            ),
            actions: self.actions(),
            features: vec![],
        }
    }
}

impl Environment for Corridor {
    fn new() -> Self {
        Corridor::default()
    }

    fn info(&self) -> EnvInfo {
        EnvInfo {
            name: "corridor".into(),
            version: "0.1.0".into(),
            description: "Fetch the key, then open the door at the end of the corridor.".into(),
            max_steps: MAX_STEPS,
            primitives: vec![
                PrimitiveSpec::new("success", "1 if the door was opened", 0.0, 1.0),
                PrimitiveSpec::new("has_key", "1 if the key was picked up", 0.0, 1.0),
                PrimitiveSpec::new("exploration", "fraction of cells visited", 0.0, 1.0),
            ],
            splits: Split::ALL.to_vec(),
            feature_count: 0,
        }
    }

    fn task_count(&self, _split: Split) -> u32 {
        1000
    }

    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Result<Observation, EnvError> {
        if task >= self.task_count(split) {
            return Err(EnvError::UnknownTask(format!("task {task} of {split}")));
        }
        let base = if split == Split::Ood { 10 } else { 4 };
        self.length = base + task % 4;
        self.key = Some(1 + (task as u64 ^ seed) as u32 % (self.length - 2));
        self.agent = 0;
        self.visited = vec![false; self.length as usize];
        self.visited[0] = true;
        (self.steps, self.done) = (0, false);
        Ok(self.observe())
    }

    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        let actions = self.actions();
        let chosen = actions.get(action as usize).ok_or_else(|| {
            EnvError::InvalidAction(format!("{action} of {} actions", actions.len()))
        });
        if self.done || self.length == 0 {
            return Err(EnvError::NoEpisode("call reset first".into()));
        }
        let (mut feedback, mut success) = ("Nothing happens.", false);
        match chosen?.as_str() {
            "move left" if self.agent > 0 => {
                (self.agent, feedback) = (self.agent - 1, "You move left.")
            }
            "move right" if self.agent + 1 < self.length => {
                (self.agent, feedback) = (self.agent + 1, "You move right.")
            }
            "pick up key" => (self.key, feedback) = (None, "You pick up the key."),
            "open door" if self.key.is_none() && self.agent + 1 == self.length => {
                (success, feedback) = (true, "The door opens.")
            }
            _ => {}
        }
        self.visited[self.agent as usize] = true;
        self.steps += 1;
        let truncated = !success && self.steps >= MAX_STEPS;
        self.done = success || truncated;
        let visited = self.visited.iter().filter(|v| **v).count() as f64 / self.length as f64;
        let primitives = self.done.then(|| {
            vec![
                success as u8 as f64,
                self.key.is_none() as u8 as f64,
                visited,
            ]
        });
        Ok(StepResult {
            observation: self.observe(),
            feedback: feedback.into(),
            terminated: success,
            truncated,
            primitives,
        })
    }

    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        let target = self.key.unwrap_or(self.length - 1);
        let wanted = if self.agent < target {
            "move right"
        } else if self.agent > target {
            "move left"
        } else if self.key.is_some() {
            "pick up key"
        } else {
            "open door"
        };
        Ok(self
            .actions()
            .iter()
            .position(|a| a == wanted)
            .map(|i| i as u32))
    }
}

register_environment!(Corridor);

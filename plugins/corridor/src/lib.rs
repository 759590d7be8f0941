//! Walk a corridor, pick up the key, open the door (docs/writing-an-environment.md).

use derl_sdk::*;
const MAX_STEPS: u32 = 30; // episodes end after this many steps
const ACTIONS: [&str; 4] = ["move left", "move right", "pick up key", "open door"];
#[derive(Default)] // key: the key's cell, `None` once carried
struct Corridor {
    length: u32,
    agent: u32,
    key: Option<u32>,
    steps: u32,
    running: bool,
}

impl Corridor {
    fn observe(&self) -> Observation {
        let key = self.key.map_or("You carry the key.".into(), |c| {
            format!("The key is in cell {c}.")
        });
        let (door, me) = (self.length - 1, self.agent);
        Observation {
            task: format!("Goal: open the door in cell {door}."),
            text: format!("You are in cell {me}. {key}"),
            actions: ACTIONS.map(String::from).to_vec(),
            features: vec![],
        }
    }
    /// Applies an action; returns what happened, or `None` if nothing did.
    fn apply(&mut self, action: u32) -> Option<&'static str> {
        let at_door = self.agent + 1 == self.length;
        match action {
            0 if self.agent > 0 => self.agent -= 1,
            1 if !at_door => self.agent += 1,
            2 if self.key == Some(self.agent) => self.key = None,
            3 if self.key.is_none() && at_door => return Some("The door opens."),
            _ => return None,
        }
        Some("Done.")
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
            split_max_steps: vec![],
            primitives: vec![
                PrimitiveSpec::new("success", "1 if the door was opened", 0.0, 1.0),
                PrimitiveSpec::new("has_key", "1 if the key was picked up", 0.0, 1.0),
            ],
            splits: Split::ALL.to_vec(),
            disjoint_splits: false, // every split draws from the same corridors
            feature_count: 0,
        }
    }
    fn task_count(&self, _: Split) -> u32 {
        1000
    }
    fn reset(&mut self, split: Split, task: u32, seed: u64) -> Result<Observation, EnvError> {
        if task >= 1000 {
            return Err(EnvError::UnknownTask(format!("task {task} of 1000")));
        }
        self.length = if split == Split::Ood { 10 } else { 4 } + task % 4;
        self.key = Some(1 + ((u64::from(task) ^ seed) % u64::from(self.length - 2)) as u32);
        (self.agent, self.steps, self.running) = (0, 0, true);
        Ok(self.observe())
    }
    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        if !self.running {
            return Err(EnvError::NoEpisode("call reset first".into()));
        } else if action >= 4 {
            return Err(EnvError::InvalidAction(format!("{action} of 4 actions")));
        }
        let feedback = self.apply(action).unwrap_or("Nothing happens.");
        let success = feedback == "The door opens.";
        self.steps += 1;
        let truncated = !success && self.steps >= MAX_STEPS;
        self.running = !(success || truncated);
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let primitives = vec![flag(success), flag(self.key.is_none())];
        Ok(StepResult {
            observation: self.observe(),
            feedback: feedback.into(),
            terminated: success,
            truncated,
            primitives: (!self.running).then_some(primitives),
        })
    }
    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        let target = self.key.unwrap_or(self.length - 1);
        let toward = if self.agent > target { 0 } else { 1 };
        let here = if self.key.is_some() { 2 } else { 3 };
        Ok(Some(if self.agent == target { here } else { toward }))
    }
}

register_environment!(Corridor);

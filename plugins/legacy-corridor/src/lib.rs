//! The corridor of `plugins/corridor` as a plugin author wrote it against
//! `derl:plugin@0.1.0` (`wit/v0.1.0/`, frozen), straight on the generated
//! bindings: the task is the first sentence of the observation text and one
//! `max-steps` holds for every split. The host must keep loading and training
//! it exactly as before 0.2.0 (tests/tests/contract_versions.rs).

wit_bindgen::generate!({
    world: "environment-plugin",
    path: "../../wit/v0.1.0",
});

use derl::plugin::types::{EnvError, EnvInfo, Observation, PrimitiveSpec, Split, StepResult};
use exports::derl::plugin::environment::Guest;
use std::cell::RefCell;

const MAX_STEPS: u32 = 30;
const ACTIONS: [&str; 4] = ["move left", "move right", "pick up key", "open door"];

#[derive(Default)]
struct Corridor {
    length: u32,
    agent: u32,
    key: Option<u32>,
    steps: u32,
    running: bool,
}

thread_local! {
    static STATE: RefCell<Corridor> = RefCell::new(Corridor::default());
}

impl Corridor {
    fn observe(&self) -> Observation {
        let key = self.key.map_or("You carry the key.".into(), |c| {
            format!("The key is in cell {c}.")
        });
        let (door, me) = (self.length - 1, self.agent);
        Observation {
            text: format!("Goal: open the door in cell {door}. You are in cell {me}. {key}"),
            actions: ACTIONS.map(String::from).to_vec(),
            features: vec![],
        }
    }
}

struct Export;

impl Guest for Export {
    fn configure(settings: Vec<(String, String)>) -> Result<(), EnvError> {
        match settings.first() {
            None => Ok(()),
            Some((key, _)) => Err(EnvError::InvalidSetting(format!("no setting `{key}`"))),
        }
    }

    fn info() -> EnvInfo {
        EnvInfo {
            name: "legacy-corridor".into(),
            version: "0.1.0".into(),
            description: "The corridor, built against derl:plugin@0.1.0.".into(),
            max_steps: MAX_STEPS,
            primitives: vec![
                PrimitiveSpec {
                    name: "success".into(),
                    description: "1 if the door was opened".into(),
                    min: 0.0,
                    max: 1.0,
                },
                PrimitiveSpec {
                    name: "has_key".into(),
                    description: "1 if the key was picked up".into(),
                    min: 0.0,
                    max: 1.0,
                },
            ],
            splits: vec![Split::Train, Split::Validation, Split::Test, Split::Ood],
            feature_count: 0,
        }
    }

    fn task_count(_: Split) -> u32 {
        1000
    }

    fn reset(split: Split, task: u32, seed: u64) -> Result<Observation, EnvError> {
        if task >= 1000 {
            return Err(EnvError::UnknownTask(format!("task {task} of 1000")));
        }
        STATE.with_borrow_mut(|c| {
            c.length = if split == Split::Ood { 10 } else { 4 } + task % 4;
            c.key = Some(1 + ((u64::from(task) ^ seed) % u64::from(c.length - 2)) as u32);
            (c.agent, c.steps, c.running) = (0, 0, true);
            Ok(c.observe())
        })
    }

    fn step(action: u32) -> Result<StepResult, EnvError> {
        STATE.with_borrow_mut(|c| {
            if !c.running {
                return Err(EnvError::NoEpisode("call reset first".into()));
            } else if action >= 4 {
                return Err(EnvError::InvalidAction(format!("{action} of 4 actions")));
            }
            let at_door = c.agent + 1 == c.length;
            let feedback = match action {
                0 if c.agent > 0 => {
                    c.agent -= 1;
                    "Done."
                }
                1 if !at_door => {
                    c.agent += 1;
                    "Done."
                }
                2 if c.key == Some(c.agent) => {
                    c.key = None;
                    "Done."
                }
                3 if c.key.is_none() && at_door => "The door opens.",
                _ => "Nothing happens.",
            };
            let success = feedback == "The door opens.";
            c.steps += 1;
            let truncated = !success && c.steps >= MAX_STEPS;
            c.running = !(success || truncated);
            let flag = |b: bool| if b { 1.0 } else { 0.0 };
            Ok(StepResult {
                observation: c.observe(),
                feedback: feedback.into(),
                terminated: success,
                truncated,
                primitives: (!c.running).then(|| vec![flag(success), flag(c.key.is_none())]),
            })
        })
    }

    fn expert_action() -> Result<Option<u32>, EnvError> {
        STATE.with_borrow(|c| {
            if !c.running {
                return Err(EnvError::NoEpisode("call reset first".into()));
            }
            let target = c.key.unwrap_or(c.length - 1);
            let toward = if c.agent > target { 0 } else { 1 };
            let here = if c.key.is_some() { 2 } else { 3 };
            Ok(Some(if c.agent == target { here } else { toward }))
        })
    }
}

export!(Export);

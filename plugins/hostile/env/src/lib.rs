//! A deliberately hostile environment, used only by the tests.
//!
//! Task 0 behaves (a one-step episode); in task 1 `step` never returns (a busy
//! loop); in task 2 `step` sleeps for an hour (a blocking host call); in task
//! 3 `step` reports primitives outside the declared range.

use derl_sdk::*;

#[derive(Default)]
struct HostileEnv {
    task: Option<u32>,
}

impl HostileEnv {
    fn observation() -> Observation {
        Observation {
            task: "Press the button.".into(),
            text: "There is a button.".into(),
            actions: vec!["press button".into()],
            features: vec![],
        }
    }
}

impl Environment for HostileEnv {
    fn new() -> Self {
        HostileEnv::default()
    }

    fn info(&self) -> EnvInfo {
        EnvInfo {
            name: "hostile-env".into(),
            version: "0.1.0".into(),
            description: "test environment whose task index selects a misbehaviour".into(),
            max_steps: 1,
            split_max_steps: vec![],
            primitives: vec![PrimitiveSpec::new("success", "always 1", 0.0, 1.0)],
            splits: Split::ALL.to_vec(),
            disjoint_splits: false,
            feature_count: 0,
        }
    }

    fn task_count(&self, _split: Split) -> u32 {
        4
    }

    fn reset(&mut self, _split: Split, task: u32, _seed: u64) -> Result<Observation, EnvError> {
        if task >= 4 {
            return Err(EnvError::UnknownTask(format!("task {task} of 4")));
        }
        self.task = Some(task);
        Ok(Self::observation())
    }

    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        let task = self
            .task
            .take()
            .ok_or(EnvError::NoEpisode("call reset first".into()))?;
        if action != 0 {
            return Err(EnvError::InvalidAction(format!("{action} of 1 action")));
        }
        let success = match task {
            1 => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            2 => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                1.0
            }
            3 => 7.5,
            _ => 1.0,
        };
        Ok(StepResult {
            observation: Self::observation(),
            feedback: "The button clicks.".into(),
            terminated: true,
            truncated: false,
            primitives: Some(vec![success]),
        })
    }
}

register_environment!(HostileEnv);

//! A hostile environment that stays inside every limit of its own sandbox
//! (fuel, deadline, memory, stack) and attacks what the host builds from its
//! output instead. The `mode` setting picks the attack; without one it is a
//! well-behaved one-step button press. Used only by the tests
//! (`tests/tests/host_budgets.rs`).

use derl_sdk::*;

/// One attack, named by the `mode` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    Benign,
    /// 3 MiB of observation text.
    HugeText,
    /// 3 MiB of feedback.
    HugeFeedback,
    /// 100,000 admissible actions.
    ManyActions,
    /// One action of 1 MiB.
    LongAction,
    /// 900,000 numeric features per observation.
    ManyFeatures,
    /// `u32::MAX` declared features.
    MaxFeatures,
    /// Episodes never end (never terminated, never truncated).
    NeverEnds,
    /// `u32::MAX` max steps, and episodes never end.
    EndlessLimit,
    /// Two primitives named `success`.
    DuplicateNames,
    /// A primitive with an empty name.
    EmptyName,
    /// A primitive named `g1` (the positional name of another).
    PositionalName,
    /// A primitive named `3`.
    NumberName,
    /// A primitive named `+`.
    OperatorName,
    /// A primitive name that clears the screen.
    EscapeName,
    /// A primitive name of 1 MiB.
    HugeName,
    /// No splits at all.
    NoSplits,
    /// Primitives reported on a step that does not end the episode.
    EarlyPrimitives,
    /// The expert names an action that does not exist.
    BadExpert,
    /// Terminal escapes in the description, the task, the text, the feedback
    /// and a guest error (accepted: the host must only show them escaped).
    EscapeText,
    /// `step` spins on the monotonic clock until one virtual second passed.
    ClockSpin,
    /// `step` sleeps one millisecond at a time, forever.
    SleepLoop,
    /// Every step computes for tens of milliseconds (well within one call's
    /// fuel and deadline) and episodes last 1,000 steps: each call is fine,
    /// an episode or a job of them is not.
    SlowSteps,
}

const MODES: [(&str, Mode); 23] = [
    ("benign", Mode::Benign),
    ("huge-text", Mode::HugeText),
    ("huge-feedback", Mode::HugeFeedback),
    ("many-actions", Mode::ManyActions),
    ("long-action", Mode::LongAction),
    ("many-features", Mode::ManyFeatures),
    ("max-features", Mode::MaxFeatures),
    ("never-ends", Mode::NeverEnds),
    ("endless-limit", Mode::EndlessLimit),
    ("duplicate-names", Mode::DuplicateNames),
    ("empty-name", Mode::EmptyName),
    ("positional-name", Mode::PositionalName),
    ("number-name", Mode::NumberName),
    ("operator-name", Mode::OperatorName),
    ("escape-name", Mode::EscapeName),
    ("huge-name", Mode::HugeName),
    ("no-splits", Mode::NoSplits),
    ("early-primitives", Mode::EarlyPrimitives),
    ("bad-expert", Mode::BadExpert),
    ("escape-text", Mode::EscapeText),
    ("clock-spin", Mode::ClockSpin),
    ("sleep-loop", Mode::SleepLoop),
    ("slow-steps", Mode::SlowSteps),
];

/// The length of a `slow-steps` episode.
const SLOW_STEPS: u32 = 1_000;

const ESCAPES: &str = "\u{1b}[2J\u{1b}[H\u{1b}]0;owned\u{7}";

#[derive(Default)]
struct Flood {
    mode: Mode,
    steps: u32,
    running: bool,
}

impl Flood {
    fn features(&self) -> usize {
        match self.mode {
            Mode::ManyFeatures => 900_000,
            _ => 0,
        }
    }

    fn observation(&self) -> Observation {
        let text = match self.mode {
            Mode::HugeText => "x".repeat(3 << 20),
            Mode::EscapeText => format!("A button{ESCAPES}."),
            _ => "There is a button.".into(),
        };
        let actions = match self.mode {
            Mode::ManyActions => (0..100_000).map(|i| format!("press {i}")).collect(),
            Mode::LongAction => vec!["press".repeat(1 << 18)],
            _ => vec!["press button".into(), "wait".into()],
        };
        Observation {
            task: match self.mode {
                Mode::EscapeText => format!("Press{ESCAPES} the button."),
                _ => "Press the button.".into(),
            },
            text,
            actions,
            features: vec![0.5; self.features()],
        }
    }
}

impl Environment for Flood {
    fn new() -> Self {
        Flood::default()
    }

    fn configure(&mut self, settings: &[(String, String)]) -> Result<(), EnvError> {
        for (key, value) in settings {
            if key != "mode" {
                return Err(EnvError::InvalidSetting(format!("no setting `{key}`")));
            }
            self.mode = MODES
                .iter()
                .find(|(name, _)| name == value)
                .map(|(_, mode)| *mode)
                .ok_or_else(|| EnvError::InvalidSetting(format!("no mode `{value}`")))?;
        }
        Ok(())
    }

    fn info(&self) -> EnvInfo {
        let primitive = |name: &str| PrimitiveSpec::new(name, "a flag", 0.0, 1.0);
        let mut primitives = vec![primitive("success"), primitive("pressed")];
        match self.mode {
            Mode::DuplicateNames => primitives[1].name = "success".into(),
            Mode::EmptyName => primitives[1].name = String::new(),
            Mode::PositionalName => primitives[1].name = "g1".into(),
            Mode::NumberName => primitives[1].name = "3".into(),
            Mode::OperatorName => primitives[1].name = "+".into(),
            Mode::EscapeName => primitives[1].name = format!("p{ESCAPES}"),
            Mode::HugeName => primitives[1].name = "n".repeat(1 << 20),
            Mode::EscapeText => primitives[1].description = format!("a flag{ESCAPES}"),
            _ => {}
        }
        EnvInfo {
            name: "hostile-flood".into(),
            version: "0.1.0".into(),
            description: match self.mode {
                Mode::EscapeText => format!("an environment{ESCAPES}"),
                _ => "attacks the host side; its mode setting picks how".into(),
            },
            max_steps: match self.mode {
                Mode::EndlessLimit => u32::MAX,
                Mode::SlowSteps => SLOW_STEPS,
                _ => 3,
            },
            split_max_steps: vec![],
            primitives,
            splits: match self.mode {
                Mode::NoSplits => vec![],
                _ => Split::ALL.to_vec(),
            },
            disjoint_splits: false,
            feature_count: match self.mode {
                Mode::MaxFeatures => u32::MAX,
                _ => self.features() as u32,
            },
        }
    }

    fn task_count(&self, _split: Split) -> u32 {
        8
    }

    fn reset(&mut self, _split: Split, task: u32, _seed: u64) -> Result<Observation, EnvError> {
        if task >= 8 {
            return Err(EnvError::UnknownTask(format!("task {task} of 8")));
        }
        (self.steps, self.running) = (0, true);
        Ok(self.observation())
    }

    fn step(&mut self, action: u32) -> Result<StepResult, EnvError> {
        if !self.running {
            let message = match self.mode {
                Mode::EscapeText => format!("no episode{ESCAPES}"),
                _ => "call reset first".into(),
            };
            return Err(EnvError::NoEpisode(message));
        }
        if action as usize >= self.observation().actions.len() {
            return Err(EnvError::InvalidAction(format!("action {action}")));
        }
        match self.mode {
            Mode::ClockSpin => {
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_secs(1) {}
            }
            Mode::SleepLoop => loop {
                std::thread::sleep(std::time::Duration::from_millis(1));
            },
            Mode::SlowSteps => {
                let mut hash = u64::from(action);
                for round in 0..20_000_000u64 {
                    hash = std::hint::black_box(hash.wrapping_mul(31).wrapping_add(round));
                }
                std::hint::black_box(hash);
            }
            _ => {}
        }
        self.steps += 1;
        let slow = self.mode == Mode::SlowSteps;
        let pressed = action == 0 && !slow;
        let endless = matches!(self.mode, Mode::NeverEnds | Mode::EndlessLimit);
        let limit = if slow { SLOW_STEPS } else { 3 };
        let truncated = !endless && !pressed && self.steps >= limit;
        self.running = endless || !(pressed || truncated);
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let primitives = vec![flag(pressed), flag(pressed)];
        let early = self.mode == Mode::EarlyPrimitives;
        Ok(StepResult {
            observation: self.observation(),
            feedback: match self.mode {
                Mode::HugeFeedback => "y".repeat(3 << 20),
                Mode::EscapeText => format!("Click{ESCAPES}."),
                _ => "The button clicks.".into(),
            },
            terminated: pressed && !endless,
            truncated,
            primitives: (early || !self.running).then_some(primitives),
        })
    }

    fn expert_action(&self) -> Result<Option<u32>, EnvError> {
        Ok(Some(if self.mode == Mode::BadExpert { 99 } else { 0 }))
    }
}

register_environment!(Flood);

//! Tiny native environments and a rollout/training harness shared by the integration tests.
#![allow(dead_code)]

use candle_core::Device;
use derl_learn::features::FeaturizerConfig;
use derl_learn::grpo::{Episode, GrpoConfig, GrpoTrainer, Step, UpdateStats};
use derl_learn::sampling::{shuffle, uniform_index};
use derl_learn::{ActionDecision, ActionPolicy, ActionPolicyConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub const COLOURS: [&str; 12] = [
    "red", "blue", "green", "yellow", "purple", "orange", "white", "black", "grey", "pink",
    "brown", "cyan",
];

/// The name of door `index`: a colour, then "dark" colours past the twelfth.
pub fn door_name(index: usize) -> String {
    match COLOURS.get(index) {
        Some(colour) => (*colour).to_owned(),
        None => format!("dark {}", COLOURS[index - COLOURS.len()]),
    }
}

/// "Pick the right door" for `stages` stages in a row: at each stage the observation names
/// the door to open among `doors` shuffled colours; a wrong door ends the episode. The
/// reward is the fraction of stages passed, so success (reward 1) needs every stage right:
/// chance is `(1 / doors)^stages`.
#[derive(Clone, Copy, Debug)]
pub struct DoorChain {
    pub stages: usize,
    pub doors: usize,
}

struct LiveEpisode {
    group: usize,
    stage: usize,
    goal: usize,
    order: Vec<usize>,
    steps: Vec<Step<ActionDecision>>,
    done: bool,
    passed: usize,
}

impl DoorChain {
    fn observe(&self, policy: &ActionPolicy, episode: &LiveEpisode) -> ActionDecision {
        let observation = format!(
            "stage {} of {}: the way on is the {} door",
            episode.stage + 1,
            self.stages,
            door_name(episode.goal)
        );
        let actions: Vec<String> = episode
            .order
            .iter()
            .map(|&colour| format!("open the {} door", door_name(colour)))
            .collect();
        policy.encode_decision("", &observation, &[], &actions)
    }

    fn new_stage(&self, episode: &mut LiveEpisode, rng: &mut ChaCha8Rng) {
        episode.goal = uniform_index(rng, self.doors);
        episode.order = (0..self.doors).collect();
        shuffle(&mut episode.order, rng);
    }

    /// Plays `groups` groups of `group_size` episodes with one batched policy call per stage.
    /// Episodes of a group share their task (the goals), as GRPO groups should; the door
    /// order is shuffled per episode. Returns the groups and the success rate.
    pub fn rollout(
        &self,
        policy: &ActionPolicy,
        groups: usize,
        group_size: usize,
        greedy: bool,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<Vec<Episode<ActionDecision>>>, f64) {
        let task_goals: Vec<Vec<usize>> = (0..groups)
            .map(|_| {
                (0..self.stages)
                    .map(|_| uniform_index(rng, self.doors))
                    .collect()
            })
            .collect();
        let mut live: Vec<LiveEpisode> = (0..groups * group_size)
            .map(|index| {
                let mut episode = LiveEpisode {
                    group: index / group_size,
                    stage: 0,
                    goal: 0,
                    order: Vec::new(),
                    steps: Vec::new(),
                    done: false,
                    passed: 0,
                };
                self.new_stage(&mut episode, rng);
                episode.goal = task_goals[episode.group][0];
                episode
            })
            .collect();
        while live.iter().any(|episode| !episode.done) {
            let active: Vec<usize> = (0..live.len()).filter(|&i| !live[i].done).collect();
            let decisions: Vec<ActionDecision> = active
                .iter()
                .map(|&i| self.observe(policy, &live[i]))
                .collect();
            let refs: Vec<&ActionDecision> = decisions.iter().collect();
            let choices = if greedy {
                policy.greedy(&refs).unwrap()
            } else {
                policy.sample(&refs, rng).unwrap()
            };
            for ((&index, decision), choice) in active.iter().zip(decisions).zip(choices) {
                let episode = &mut live[index];
                let correct = episode.order[choice.action as usize] == episode.goal;
                episode.steps.push(Step {
                    decision,
                    action: choice.action,
                    sampled_log_prob: choice.log_prob,
                });
                if correct {
                    episode.passed += 1;
                    episode.stage += 1;
                }
                if !correct || episode.stage == self.stages {
                    episode.done = true;
                } else {
                    self.new_stage(episode, rng);
                    episode.goal = task_goals[episode.group][episode.stage];
                }
            }
        }
        let successes = live.iter().filter(|e| e.passed == self.stages).count();
        let success_rate = successes as f64 / live.len() as f64;
        let mut grouped: Vec<Vec<Episode<ActionDecision>>> =
            (0..groups).map(|_| Vec::new()).collect();
        for episode in live {
            grouped[episode.group].push(Episode {
                reward: episode.passed as f64 / self.stages as f64,
                steps: episode.steps,
            });
        }
        (grouped, success_rate)
    }
}

pub fn policy_config(seed: u64) -> ActionPolicyConfig {
    ActionPolicyConfig {
        featurizer: FeaturizerConfig {
            bucket_bits: 12,
            ..FeaturizerConfig::default()
        },
        embedding_dim: 16,
        hidden_dim: 32,
        numeric_dim: 0,
        seed,
        clause_attention: true,
        max_clauses: 48,
        header_overlap: false,
        action_context: false,
        goal_features: false,
        kernel: derl_learn::PolicyKernel::Candle,
    }
}

pub fn grpo_config(seed: u64) -> GrpoConfig {
    GrpoConfig {
        seed,
        learning_rate: 1e-2,
        epochs: 2,
        minibatch_decisions: 128,
        ..GrpoConfig::default()
    }
}

/// The rollout generator of update `update`: one ChaCha stream per update, so a resumed run
/// samples exactly as an uninterrupted one.
pub fn rollout_rng(seed: u64, update: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(update);
    rng
}

/// Runs updates `first..first + count`, returning the statistics of each.
pub fn train(
    task: DoorChain,
    policy: &ActionPolicy,
    trainer: &mut GrpoTrainer<ActionPolicy>,
    first: u64,
    count: u64,
    rollout_seed: u64,
) -> Vec<UpdateStats> {
    (first..first + count)
        .map(|update| {
            let mut rng = rollout_rng(rollout_seed, update);
            let (groups, _) = task.rollout(policy, 16, 8, false, &mut rng);
            trainer.update(policy, &groups).unwrap()
        })
        .collect()
}

pub fn greedy_success(task: DoorChain, policy: &ActionPolicy, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    task.rollout(policy, 50, 4, true, &mut rng).1
}

pub fn new_policy(seed: u64) -> ActionPolicy {
    ActionPolicy::new(policy_config(seed), &Device::Cpu).unwrap()
}

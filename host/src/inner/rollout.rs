//! Batched episodes: many environment instances stepped in lockstep, one
//! policy call per step for every live episode.

use crate::plugin::accept::over_time;
use crate::plugin::{EnvInstance, EnvironmentPlugin};
use derl_env_api::{Observation, Split, StepResult};
use derl_sandbox::PluginError;
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

/// How an actor picks actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActMode {
    /// Sample from the policy's distribution.
    Sample,
    /// Take the most likely action.
    Greedy,
    /// Uniformly random over the admissible actions (a baseline).
    Uniform,
}

/// What the rollout needs from a policy: encode observations once, then
/// choose actions for a batch of encoded observations.
pub trait Actor {
    /// An observation prepared for the policy (e.g. hashed features).
    type Encoded: Clone;

    /// Prepares one observation.
    fn encode(&self, observation: &Observation) -> Self::Encoded;

    /// Prepares every observation of a lockstep step, in order (an actor with
    /// [`Actor::threads`] above 1 may spread the work).
    fn encode_all(&self, observations: &[&Observation]) -> Vec<Self::Encoded> {
        observations.iter().map(|o| self.encode(o)).collect()
    }

    /// Threads the rollout may use to step environments at the same time.
    /// Results never depend on it. Default 1.
    fn threads(&self) -> usize {
        1
    }

    /// Picks one action (index, log-probability under the policy) for each
    /// encoded observation.
    ///
    /// # Errors
    /// When the policy's computation fails.
    fn act(
        &mut self,
        batch: &[&Self::Encoded],
        mode: ActMode,
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<Vec<(u32, f32)>>;
}

/// One episode to run: which task, with which seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpisodeJob {
    /// The split the task is drawn from.
    pub split: Split,
    /// The task index.
    pub task: u32,
    /// The episode seed.
    pub seed: u64,
}

/// One decision of an episode.
#[derive(Clone, Debug)]
pub struct Decision<E> {
    /// The observation as the policy saw it.
    pub encoded: E,
    /// The action taken.
    pub action: u32,
    /// Its log-probability under the sampling policy.
    pub log_prob: f32,
}

/// A finished episode.
#[derive(Clone, Debug)]
pub struct Episode<E> {
    /// What was run.
    pub job: EpisodeJob,
    /// Every decision, in order.
    pub decisions: Vec<Decision<E>>,
    /// The primitives reported at the end.
    pub primitives: Vec<f64>,
}

/// Reusable environment instances, one per concurrently running episode.
pub struct EnvPool {
    plugin: EnvironmentPlugin,
    instances: Vec<EnvInstance>,
    seed: u64,
    times: RolloutTimes,
}

/// Where a rollout's time went, summed over every step since the last
/// [`EnvPool::take_times`] (for the inner-loop benchmark; no result depends
/// on it).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RolloutTimes {
    /// Featurizing observations (`Actor::encode_all`).
    pub encode: Duration,
    /// The policy's forward pass and the action draw (`Actor::act`).
    pub act: Duration,
    /// Environment resets and steps (the guest calls, on up to the actor's
    /// threads).
    pub env: Duration,
    /// Admissible actions summed over the decisions (the (observation, action)
    /// pairs the policy scored).
    pub actions: u64,
}

impl EnvPool {
    /// An empty pool for `plugin`; instances are made on demand.
    pub fn new(plugin: EnvironmentPlugin, seed: u64) -> EnvPool {
        EnvPool {
            plugin,
            instances: Vec::new(),
            seed,
            times: RolloutTimes::default(),
        }
    }

    /// The rollout times since the last call, and a fresh count.
    pub fn take_times(&mut self) -> RolloutTimes {
        std::mem::take(&mut self.times)
    }

    /// The environment.
    pub fn plugin(&self) -> &EnvironmentPlugin {
        &self.plugin
    }

    fn ensure(&mut self, count: usize) -> Result<(), PluginError> {
        while self.instances.len() < count {
            let seed = self.seed ^ self.instances.len() as u64;
            self.instances.push(self.plugin.instance(seed)?);
        }
        Ok(())
    }

    /// Runs every job to its end, stepping all live episodes together.
    /// Returns the episodes in job order and the number of environment steps.
    ///
    /// # Errors
    /// The first plugin failure (the run stops; the caller decides what it
    /// means), or a policy failure.
    pub fn run<A: Actor>(
        &mut self,
        actor: &mut A,
        jobs: &[EpisodeJob],
        mode: ActMode,
        rng: &mut ChaCha8Rng,
    ) -> anyhow::Result<(Vec<Episode<A::Encoded>>, u64)> {
        self.ensure(jobs.len())?;
        let resets_started = Instant::now();
        let mut live: Vec<(usize, Observation)> = Vec::with_capacity(jobs.len());
        for (slot, job) in jobs.iter().enumerate() {
            let observation = self.instances[slot].reset(job.split, job.task, job.seed)?;
            live.push((slot, observation));
        }
        self.times.env += resets_started.elapsed();
        let mut episodes: Vec<Episode<A::Encoded>> = jobs
            .iter()
            .map(|job| Episode {
                job: *job,
                decisions: Vec::new(),
                primitives: Vec::new(),
            })
            .collect();
        let mut steps = 0u64;
        while !live.is_empty() {
            let observations: Vec<&Observation> = live.iter().map(|(_, o)| o).collect();
            self.times.actions += observations
                .iter()
                .map(|o| o.actions.len() as u64)
                .sum::<u64>();
            let encode_started = Instant::now();
            let encoded = actor.encode_all(&observations);
            let act_started = Instant::now();
            self.times.encode += act_started - encode_started;
            let choices = match mode {
                ActMode::Uniform => live
                    .iter()
                    .map(|(_, o)| uniform_choice(o.actions.len(), rng))
                    .collect(),
                _ => actor.act(&encoded.iter().collect::<Vec<_>>(), mode, rng)?,
            };
            let step_started = Instant::now();
            self.times.act += step_started - act_started;
            let results = self.step_live(&live, &choices, actor.threads());
            self.times.env += step_started.elapsed();
            let mut still_live = Vec::with_capacity(live.len());
            for ((((slot, _), encoded), (action, log_prob)), result) in
                live.into_iter().zip(encoded).zip(choices).zip(results)
            {
                let result = result?;
                steps += 1;
                let episode = &mut episodes[slot];
                episode.decisions.push(Decision {
                    encoded,
                    action,
                    log_prob,
                });
                if result.done() {
                    episode.primitives = result.primitives.unwrap_or_default();
                } else {
                    still_live.push((slot, result.observation));
                }
            }
            live = still_live;
            self.check_job_time()?;
        }
        Ok((episodes, steps))
    }

    /// Fails with `TimeBudget` once the guest calls of all this pool's
    /// instances took longer than the environment's per-job budget.
    fn check_job_time(&self) -> Result<(), PluginError> {
        let spent: Duration = self.instances.iter().map(EnvInstance::guest_time).sum();
        let limit_ms = self.plugin.budgets().job_ms;
        if spent.as_millis() <= u128::from(limit_ms) {
            return Ok(());
        }
        Err(PluginError::new(
            &self.plugin.info().name,
            over_time("job", limit_ms, spent),
        ))
    }

    /// Steps every live episode's instance with its chosen action, on up to
    /// `threads` threads; results in `live` order.
    fn step_live(
        &mut self,
        live: &[(usize, Observation)],
        choices: &[(u32, f32)],
        threads: usize,
    ) -> Vec<Result<StepResult, PluginError>> {
        let mut slots = live.iter().map(|(slot, _)| *slot).zip(choices).peekable();
        let mut stepping: Vec<(&mut EnvInstance, u32)> = Vec::with_capacity(live.len());
        for (at, instance) in self.instances.iter_mut().enumerate() {
            if let Some(&(_, &(action, _))) = slots.peek().filter(|(slot, _)| *slot == at) {
                stepping.push((instance, action));
                slots.next();
            }
        }
        assert_eq!(
            stepping.len(),
            live.len(),
            "live episodes are in slot order"
        );
        derl_learn::parallel::map_mut(&mut stepping, threads, |(instance, action)| {
            instance.step(*action)
        })
    }
}

fn uniform_choice(count: usize, rng: &mut ChaCha8Rng) -> (u32, f32) {
    use rand::Rng;
    let action = rng.random_range(0..count.max(1)) as u32;
    (action, -(count.max(1) as f32).ln())
}

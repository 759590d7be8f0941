//! The policy learns tasks where the right action is readable from the observation.

mod common;

use std::time::Instant;

use common::{DoorChain, greedy_success, grpo_config, new_policy, train};
use derl_learn::grpo::GrpoTrainer;

fn learns(task: DoorChain, updates: u64) {
    let started = Instant::now();
    let policy = new_policy(1);
    let before = greedy_success(task, &policy, 1000);
    let chance = (1.0 / task.doors as f64).powi(task.stages as i32);
    let mut trainer = GrpoTrainer::new(grpo_config(2), &policy).unwrap();
    let stats = train(task, &policy, &mut trainer, 0, updates, 3);
    let after = greedy_success(task, &policy, 1000);
    let sampled_first = stats.first().unwrap().reward_mean;
    let sampled_last = stats.last().unwrap().reward_mean;
    eprintln!(
        "{task:?}: chance {chance:.3}, greedy success {before:.3} -> {after:.3}, \
         sampled reward {sampled_first:.3} -> {sampled_last:.3}, entropy {:.3} -> {:.3}, \
         {updates} updates in {:.2?}",
        stats.first().unwrap().entropy,
        stats.last().unwrap().entropy,
        started.elapsed()
    );
    assert!(
        before < 0.5,
        "the untrained policy should be near chance, got {before}"
    );
    assert!(after >= 0.9, "success after training {after} < 0.9");
    assert!(
        stats
            .iter()
            .all(|s| s.loss.is_finite() && s.grad_norm.is_finite())
    );
}

#[test]
fn picks_the_named_colour_among_six() {
    learns(
        DoorChain {
            stages: 1,
            doors: 6,
        },
        30,
    );
}

#[test]
fn passes_a_three_stage_chain() {
    learns(
        DoorChain {
            stages: 3,
            doors: 4,
        },
        30,
    );
}

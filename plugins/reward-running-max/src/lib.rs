//! A reward the Meta-Reward language cannot express: each episode is scored
//! by its success plus a bonus for beating the running maximum of progress
//! over the batch so far (episodes earlier in the batch raise the bar).
//! Written by hand in Rust and loaded through the same `reward-program` world
//! as compiled Meta-Rewards.

use derl_sdk::*;

struct RunningMax;

impl RewardProgram for RunningMax {
    fn new() -> Self {
        RunningMax
    }

    fn score(&mut self, stride: usize, values: &[f64]) -> Result<Vec<f64>, String> {
        if stride < 2 {
            return Err(format!(
                "needs at least 2 primitives (success, progress), got {stride}"
            ));
        }
        let mut best_progress = f64::NEG_INFINITY;
        let scores = values
            .chunks_exact(stride)
            .map(|row| {
                let (success, progress) = (row[0], row[1]);
                let bonus = if progress > best_progress { 0.5 } else { 0.0 };
                best_progress = best_progress.max(progress);
                success + bonus
            })
            .collect();
        Ok(scores)
    }

    fn describe(&self) -> RewardInfo {
        RewardInfo {
            description: "g1 + 0.5 * [g2 beats the running maximum of g2 over the batch]".into(),
            min_stride: 2,
        }
    }
}

register_reward!(RunningMax);

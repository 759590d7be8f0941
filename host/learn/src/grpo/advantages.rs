//! Group-relative advantages.
//!
//! Every episode of a group answers the same task (same prompt, same environment task and
//! seed family); its advantage is its reward compared with the group's. The advantage
//! applies to every decision of the episode.

use super::config::AdvantageMode;

/// The advantage of each reward in one group.
///
/// A group whose rewards are all equal (including a group of one) carries no signal and
/// gets zero advantages, never `NaN`.
pub fn group_advantages(rewards: &[f64], mode: AdvantageMode, epsilon: f64) -> Vec<f64> {
    let n = rewards.len();
    if n < 2 || rewards.iter().all(|&reward| reward == rewards[0]) {
        return vec![0.0; n];
    }
    let sum: f64 = rewards.iter().sum();
    let mean = sum / n as f64;
    match mode {
        AdvantageMode::Normalized => {
            let variance = rewards
                .iter()
                .map(|reward| (reward - mean).powi(2))
                .sum::<f64>()
                / (n - 1) as f64;
            let scale = variance.sqrt() + epsilon;
            rewards
                .iter()
                .map(|reward| (reward - mean) / scale)
                .collect()
        }
        AdvantageMode::Centered => rewards.iter().map(|reward| reward - mean).collect(),
        AdvantageMode::LeaveOneOut => rewards
            .iter()
            .map(|reward| reward - (sum - reward) / (n - 1) as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn normalized_uses_the_sample_standard_deviation() {
        // rewards 1, 2, 3, 6: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, sample variance
        // 14 / 3, std = 2.160246899...
        let std = (14.0f64 / 3.0).sqrt();
        let advantages = group_advantages(&[1.0, 2.0, 3.0, 6.0], AdvantageMode::Normalized, 0.0);
        assert_close(&advantages, &[-2.0 / std, -1.0 / std, 0.0, 3.0 / std]);
        let with_epsilon = group_advantages(&[0.0, 1.0], AdvantageMode::Normalized, 0.5);
        // mean 0.5, sample std sqrt(0.5) = 0.7071..., scale 1.2071...
        let scale = 0.5f64.sqrt() + 0.5;
        assert_close(&with_epsilon, &[-0.5 / scale, 0.5 / scale]);
    }

    #[test]
    fn centered_subtracts_the_mean() {
        let advantages = group_advantages(&[1.0, 2.0, 3.0, 6.0], AdvantageMode::Centered, 1e-6);
        assert_close(&advantages, &[-2.0, -1.0, 0.0, 3.0]);
    }

    #[test]
    fn leave_one_out_subtracts_the_mean_of_the_others() {
        // 1 - (2+3+6)/3 = -8/3; 2 - 10/3 = -4/3; 3 - 3 = 0; 6 - 2 = 4.
        let advantages = group_advantages(&[1.0, 2.0, 3.0, 6.0], AdvantageMode::LeaveOneOut, 1e-6);
        assert_close(&advantages, &[-8.0 / 3.0, -4.0 / 3.0, 0.0, 4.0]);
    }

    #[test]
    fn equal_rewards_and_singletons_give_zero() {
        for mode in [
            AdvantageMode::Normalized,
            AdvantageMode::Centered,
            AdvantageMode::LeaveOneOut,
        ] {
            assert_eq!(group_advantages(&[0.1; 5], mode, 0.0), [0.0; 5]);
            assert_eq!(group_advantages(&[-1.0; 3], mode, 1e-6), [0.0; 3]);
            assert_eq!(group_advantages(&[7.0], mode, 1e-6), [0.0]);
            assert!(group_advantages(&[], mode, 1e-6).is_empty());
        }
    }
}

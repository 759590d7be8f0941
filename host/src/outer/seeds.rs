//! Every seed of a run, derived from `experiment.seed`.

use crate::experiment::{ExperimentConfig, Method};
use derl_env_api::seeds::derive_seed;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Every seed of a run, derived from `experiment.seed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seeds {
    /// `experiment.seed`.
    pub experiment: u64,
    /// Initial weights of the Meta-Optimizer.
    pub meta_init: u64,
    /// Order of the cold-start minibatches.
    pub meta_pretrain: u64,
    /// Inner-loop seeds of the search, shared by every program.
    pub search: Vec<u64>,
    /// Inner-loop seeds of the final evaluation.
    pub final_eval: Vec<u64>,
}

impl Seeds {
    /// The seeds of `config`.
    pub fn of(config: &ExperimentConfig) -> Seeds {
        let seed = config.experiment.seed;
        let search = derive_seed(seed, 0x7365_6172_6368);
        let final_eval = derive_seed(seed, 0x0066_696e_616c);
        Seeds {
            experiment: seed,
            meta_init: derive_seed(seed, 0x6d65_7461),
            meta_pretrain: derive_seed(seed, 0x7072_6574),
            search: (0..u64::from(config.outer.search_seeds))
                .map(|j| derive_seed(search, j))
                .collect(),
            final_eval: (0..u64::from(config.final_eval.seeds))
                .map(|j| derive_seed(final_eval, j))
                .collect(),
        }
    }

    /// The sampling generator of `method` at `iteration`.
    pub fn method_rng(&self, method: Method, iteration: u32) -> ChaCha8Rng {
        let stream = derive_seed(self.experiment, 0x100 + method.stream());
        ChaCha8Rng::seed_from_u64(derive_seed(stream, u64::from(iteration)))
    }

    /// The GRPO minibatch seed of `method`'s Meta-Optimizer.
    pub fn grpo(&self, method: Method) -> u64 {
        derive_seed(self.experiment, 0x200 + method.stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_distinct_and_stable() {
        let mut config = ExperimentConfig::with_env("corridor");
        config.outer.search_seeds = 2;
        config.final_eval.seeds = 3;
        let seeds = Seeds::of(&config);
        assert_eq!(seeds, Seeds::of(&config));
        let mut all = seeds.search.clone();
        all.extend(&seeds.final_eval);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5);
        config.experiment.seed = 1;
        assert_ne!(Seeds::of(&config).search, seeds.search);
    }
}

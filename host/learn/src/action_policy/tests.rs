//! The action policy's unit tests.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use std::sync::Arc;

use super::batch::overlap;
use super::*;
use crate::features::FeaturizerConfig;

fn small_config(seed: u64) -> ActionPolicyConfig {
    ActionPolicyConfig {
        featurizer: FeaturizerConfig {
            bucket_bits: 10,
            ..FeaturizerConfig::default()
        },
        embedding_dim: 8,
        hidden_dim: 16,
        numeric_dim: 2,
        seed,
        clause_attention: true,
        max_clauses: 8,
        header_overlap: true,
        action_context: true,
        goal_features: true,
        kernel: PolicyKernel::Candle,
    }
}

fn decisions(policy: &ActionPolicy) -> Vec<ActionDecision> {
    vec![
        policy.encode_decision(
            "",
            "goal: pick the red block. You see a red block; a blue block",
            &[0.5, 1.0],
            &["red", "a blue", "green"],
        ),
        policy.encode_decision("", "you see a door", &[0.0, -1.0], &["open door", "wait"]),
        policy.encode_decision("", "", &[1.0, 1.0], &["red"]),
    ]
}

#[test]
fn distributions_are_normalised_per_decision() {
    let policy = ActionPolicy::new(small_config(1), &Device::Cpu).unwrap();
    let decisions = decisions(&policy);
    let refs: Vec<_> = decisions.iter().collect();
    let rows = policy.distributions(&refs).unwrap().to_vecs().unwrap();
    assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2, 1]);
    for row in &rows {
        let total: f32 = row.iter().map(|lp| lp.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{row:?}");
    }
    assert_eq!(rows[2], [0.0]);
}

#[test]
fn a_decision_scores_the_same_alone_and_in_a_batch() {
    let policy = ActionPolicy::new(small_config(2), &Device::Cpu).unwrap();
    let decisions = decisions(&policy);
    let refs: Vec<_> = decisions.iter().collect();
    let together = policy.distributions(&refs).unwrap().to_vecs().unwrap();
    for (decision, expected) in decisions.iter().zip(&together) {
        let alone = policy
            .distributions(&[decision])
            .unwrap()
            .to_vecs()
            .unwrap();
        for (a, b) in alone[0].iter().zip(expected) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}

#[test]
fn action_order_permutes_the_scores() {
    let policy = ActionPolicy::new(small_config(3), &Device::Cpu).unwrap();
    let forward = policy.encode_decision("", "pick the red block", &[0.0, 0.0], &["red", "blue"]);
    let backward = policy.encode_decision("", "pick the red block", &[0.0, 0.0], &["blue", "red"]);
    let rows = policy
        .distributions(&[&forward, &backward])
        .unwrap()
        .to_vecs()
        .unwrap();
    assert!((rows[0][0] - rows[1][1]).abs() < 1e-6);
    assert!((rows[0][1] - rows[1][0]).abs() < 1e-6);
}

#[test]
fn same_seed_same_weights_and_samples() {
    let sample = |model_seed, rng_seed| {
        let policy = ActionPolicy::new(small_config(model_seed), &Device::Cpu).unwrap();
        let decisions = decisions(&policy);
        let refs: Vec<_> = decisions.iter().collect();
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
        let draws: Vec<_> = (0..20)
            .flat_map(|_| policy.sample(&refs, &mut rng).unwrap())
            .collect();
        (policy.parameters().digest().unwrap(), draws)
    };
    assert_eq!(sample(4, 9), sample(4, 9));
    assert_ne!(sample(4, 9).0, sample(5, 9).0);
    assert_ne!(sample(4, 9).1, sample(4, 10).1);
}

#[test]
fn sampled_log_probs_match_recomputed_ones() {
    let policy = ActionPolicy::new(small_config(6), &Device::Cpu).unwrap();
    let decisions = decisions(&policy);
    let refs: Vec<_> = decisions.iter().collect();
    let sampled = policy
        .sample(&refs, &mut ChaCha8Rng::seed_from_u64(1))
        .unwrap();
    let actions: Vec<_> = sampled.iter().map(|s| s.action).collect();
    let recomputed = policy.log_probs(&refs, &actions).unwrap();
    for (s, r) in sampled.iter().zip(&recomputed) {
        assert_eq!(s.log_prob, *r);
    }
    let greedy = policy.greedy(&refs).unwrap();
    let rows = policy.distributions(&refs).unwrap().to_vecs().unwrap();
    for (choice, row) in greedy.iter().zip(&rows) {
        assert!(row.iter().all(|&lp| lp <= choice.log_prob));
    }
}

#[test]
fn bad_batches_are_rejected() {
    let policy = ActionPolicy::new(small_config(7), &Device::Cpu).unwrap();
    let no_actions = policy.encode_decision::<&str>("", "x", &[0.0, 0.0], &[]);
    assert!(matches!(
        policy.distributions(&[&no_actions]),
        Err(LearnError::InvalidBatch(_))
    ));
    let wrong_numeric = policy.encode_decision("", "x", &[0.0], &["a"]);
    assert!(policy.distributions(&[&wrong_numeric]).is_err());
    let out_of_table = ActionDecision {
        observation: Arc::new(EncodedObservation {
            ids: vec![1 << 10],
            numeric: vec![0.0, 0.0],
            ..EncodedObservation::default()
        }),
        actions: policy.encode_actions(&["a"]),
        goal_actions: Arc::new([]),
    };
    assert!(policy.distributions(&[&out_of_table]).is_err());
    assert!(policy.distributions(&[]).is_err());
    let fine = policy.encode_decision("", "x", &[0.0, 0.0], &["a", "b"]);
    assert!(policy.evaluate(&[&fine], &[2]).is_err());
    assert!(policy.evaluate(&[&fine], &[1, 0]).is_err());
}

#[test]
fn gradients_reach_every_parameter() {
    let policy = ActionPolicy::new(small_config(8), &Device::Cpu).unwrap();
    let decisions = decisions(&policy);
    let refs: Vec<_> = decisions.iter().collect();
    let evaluation = policy.evaluate(&refs, &[1, 0, 0]).unwrap();
    let grads = evaluation.log_probs.sum_all().unwrap().backward().unwrap();
    for (name, var) in policy.parameters().iter() {
        let grad = grads.get(var.as_tensor());
        assert!(grad.is_some(), "no gradient for {name}");
        let norm: f32 = grad
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(norm.is_finite() && norm > 0.0, "{name}: {norm}");
    }
}

#[test]
fn snapshot_does_not_follow_updates() {
    let policy = ActionPolicy::new(small_config(9), &Device::Cpu).unwrap();
    let frozen = policy.snapshot().unwrap();
    let decisions = decisions(&policy);
    let refs: Vec<_> = decisions.iter().collect();
    let before = frozen.log_probs(&refs, &[0, 0, 0]).unwrap();
    let output = policy.parameters().get(OUTPUT).unwrap();
    output.set(&output.affine(50.0, 0.1).unwrap()).unwrap();
    assert_eq!(frozen.log_probs(&refs, &[0, 0, 0]).unwrap(), before);
    assert_ne!(policy.log_probs(&refs, &[0, 0, 0]).unwrap(), before);
}

#[test]
fn distinct_observations_and_action_texts_are_embedded_once() {
    let policy = ActionPolicy::new(small_config(10), &Device::Cpu).unwrap();
    let first = policy.encode_decision("", "a hall", &[0.0, 0.0], &["go north", "go south"]);
    let same_observation = ActionDecision {
        observation: Arc::clone(&first.observation),
        actions: policy.encode_actions(&["go south", "wait", "go north"]),
        goal_actions: Arc::new([]),
    };
    let other = policy.encode_decision("", "a hall", &[0.0, 0.0], &["wait"]);
    let batch = policy
        .prepare(&[&first, &same_observation, &other])
        .unwrap();
    assert_eq!(
        batch.distinct_observations(),
        2,
        "shared by Arc, not by content"
    );
    assert_eq!(batch.distinct_actions(), 3, "shared by content");
    assert_eq!(batch.segments().counts(), [2, 3, 1]);
    let tensors = batch.tensors();
    assert_eq!(
        tensors["pair_action"].to_vec1::<u32>().unwrap(),
        [0, 1, 1, 2, 0, 2]
    );
    assert_eq!(
        tensors["pair_observation"].to_vec1::<u32>().unwrap(),
        [0, 0, 0, 0, 0, 1]
    );
    let prepared = policy.distributions_of(&batch).unwrap().to_vecs().unwrap();
    let direct = policy
        .distributions(&[&first, &same_observation, &other])
        .unwrap()
        .to_vecs()
        .unwrap();
    assert_eq!(prepared, direct);
}

#[test]
fn the_bag_model_has_no_attention_parameters_and_still_batches_consistently() {
    let config = ActionPolicyConfig {
        clause_attention: false,
        header_overlap: false,
        action_context: false,
        ..small_config(11)
    };
    let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
    assert!(policy.parameters().get(ATTENTION_QUERY).is_none());
    let decisions = decisions(&policy);
    assert!(decisions.iter().all(|d| d.observation.clauses.is_empty()));
    let refs: Vec<_> = decisions.iter().collect();
    let together = policy.distributions(&refs).unwrap().to_vecs().unwrap();
    let alone = policy
        .distributions(&[&decisions[0]])
        .unwrap()
        .to_vecs()
        .unwrap();
    for (a, b) in alone[0].iter().zip(&together[0]) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn clauses_change_the_scores_only_with_attention() {
    let scores = |clause_attention: bool, text: &str| {
        let config = ActionPolicyConfig {
            clause_attention,
            header_overlap: false,
            action_context: false,
            goal_features: false,
            ..small_config(12)
        };
        let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
        let decision =
            policy.encode_decision("", text, &[0.0, 0.0], &["take red 1", "take blue 2"]);
        policy
            .distributions(&[&decision])
            .unwrap()
            .to_vecs()
            .unwrap()
    };
    // Same words, same bag; different clause structure.
    let (one, two) = ("find red 1 blue 2", "find red 1. blue 2");
    assert_eq!(scores(false, one), scores(false, two));
    assert_ne!(scores(true, one), scores(true, two));
}

#[test]
fn rows_are_the_same_computed_on_any_number_of_threads() {
    let policy = ActionPolicy::new(
        ActionPolicyConfig {
            embedding_dim: 32,
            hidden_dim: 64,
            ..small_config(15)
        },
        &Device::Cpu,
    )
    .unwrap();
    let decisions: Vec<ActionDecision> = (0..97)
        .map(|i| {
            let actions: Vec<String> = (0..(3 + i % 11))
                .map(|a| format!("go to cabinet {a}; take mug {i} from shelf {a}"))
                .collect();
            policy.encode_decision(
                &format!("Your task is to: put mug {i} in desk 1."),
                &format!("unvisited cabinet {i}; searched shelf 2 with a mug 1."),
                &[i as f32 / 97.0, 1.0],
                &actions,
            )
        })
        .collect();
    let refs: Vec<&ActionDecision> = decisions.iter().collect();
    let one = policy.log_prob_rows(&refs, 1).unwrap();
    assert_eq!(one, policy.distributions(&refs).unwrap().to_vecs().unwrap());
    for threads in [2, 3, 8] {
        assert_eq!(
            policy.log_prob_rows(&refs, threads).unwrap(),
            one,
            "{threads} threads"
        );
    }
}

#[test]
fn goal_features_relate_every_text_to_the_task() {
    let policy = ActionPolicy::new(small_config(14), &Device::Cpu).unwrap();
    let actions = ["take mug 1 from shelf 1", "take pen 1 from shelf 1"];
    let decision = |task: &str| {
        policy.encode_decision(
            &format!("Your task is to: put a {task} in desk 1."),
            "On the shelf 1, you see a mug 1.",
            &[0.0, 0.0],
            &actions,
        )
    };
    let (mug, pen) = (decision("mug"), decision("pen"));
    // The task's object gets the goal features, whichever object that is.
    assert!(!mug.goal_actions[0].is_empty() && mug.goal_actions[1].is_empty());
    assert_eq!(mug.goal_actions[0], pen.goal_actions[1]);
    assert!(pen.goal_actions[0].is_empty());
    // The clause that shows the mug relates to the mug task only.
    assert_eq!(
        mug.observation.clause_goal.len(),
        mug.observation.clauses.len()
    );
    assert!(
        mug.observation.clause_goal[0].is_empty(),
        "not the header itself"
    );
    assert!(!mug.observation.clause_goal[1].is_empty());
    assert!(pen.observation.clause_goal[1].is_empty());
    assert_eq!(mug.observation.goal, mug.observation.clause_goal[1]);
    // The plain features do not depend on the task's object.
    assert_eq!(mug.actions, pen.actions);
    let rows = |decision: &ActionDecision| {
        policy
            .distributions(&[decision])
            .unwrap()
            .to_vecs()
            .unwrap()
    };
    let plain = ActionDecision {
        goal_actions: Arc::new([]),
        ..mug.clone()
    };
    assert_ne!(rows(&mug), rows(&plain));
    let off = ActionPolicy::new(
        ActionPolicyConfig {
            goal_features: false,
            ..small_config(14)
        },
        &Device::Cpu,
    )
    .unwrap();
    let unread = off.encode_decision(
        "Your task is to: put a mug in desk 1.",
        "",
        &[0.0, 0.0],
        &actions,
    );
    assert!(unread.goal_actions.is_empty() && unread.observation.goal.is_empty());
    let short = ActionDecision {
        goal_actions: Arc::new([Vec::new()]),
        ..mug.clone()
    };
    assert!(matches!(
        policy.distributions(&[&short]),
        Err(LearnError::InvalidBatch(_))
    ));
}

#[test]
fn the_task_field_is_the_header_wherever_the_text_states_it() {
    let policy = ActionPolicy::new(small_config(14), &Device::Cpu).unwrap();
    let actions = ["take mug 1", "take pen 1"];
    let task = "Your task is to: put a mug in desk 1.";
    let text = "You are in the office. You see a pen 1 and a mug 1.";
    // A one-clause task read from the field encodes exactly as the same text with the
    // task as its first line (how 0.1 observations are read).
    let field = policy.encode_decision(task, text, &[0.0, 0.0], &actions);
    let joined = policy.encode_decision("", &format!("{task}\n{text}"), &[0.0, 0.0], &actions);
    assert_eq!(*field.observation, *joined.observation);
    assert_eq!(field.goal_actions, joined.goal_actions);
    // A task of several sentences is one header clause, and goal features follow it
    // even when the text puts another sentence first.
    let long_task = "Your task is to melt the ice. Once the ice is liquid, focus on it.";
    let decision = policy.encode_decision(long_task, text, &[0.0, 0.0], &actions);
    assert_eq!(
        decision.observation.clauses[0],
        policy.featurizer().encode(long_task)
    );
    let late = policy.encode_decision(
        "Your task is to: put a pen in desk 1.",
        "You are in the office. Pens are nice. You see a pen 1 and a mug 1.",
        &[0.0, 0.0],
        &actions,
    );
    assert!(late.goal_actions[0].is_empty() && !late.goal_actions[1].is_empty());
}

#[test]
fn header_overlap_is_the_shared_fraction_of_the_action_features() {
    assert_eq!(overlap(&[1, 2, 3, 4], &[2, 4, 9]), 0.5);
    assert_eq!(overlap(&[7, 7], &[7]), 1.0);
    assert_eq!(overlap(&[], &[7]), 0.0);
    assert_eq!(overlap(&[1], &[]), 0.0);
}

#[test]
fn header_overlap_separates_actions_that_only_the_task_tells_apart() {
    let config = ActionPolicyConfig {
        clause_attention: false,
        ..small_config(14)
    };
    let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
    // Both objects are in view; only the header names the tomato.
    let decision = policy.encode_decision(
        "Your task is to: cool some tomato.",
        "You see an apple 1 and a tomato 1",
        &[0.0, 0.0],
        &["take apple 1", "take tomato 1"],
    );
    let batch = policy.prepare(&[&decision]).unwrap();
    let overlaps = batch.pair_overlap.as_ref().unwrap().flatten_all().unwrap();
    let overlaps = overlaps.to_vec1::<f32>().unwrap();
    assert!(overlaps[1] > overlaps[0], "{overlaps:?}");
    let without = ActionPolicy::new(
        ActionPolicyConfig {
            header_overlap: false,
            clause_attention: false,
            ..small_config(14)
        },
        &Device::Cpu,
    )
    .unwrap();
    let decision = without.encode_decision("", "x", &[0.0, 0.0], &["a"]);
    assert!(
        without
            .prepare(&[&decision])
            .unwrap()
            .pair_overlap
            .is_none()
    );
    assert!(without.parameters().get(HIDDEN_HEADER_OVERLAP).is_none());
}

#[test]
fn an_action_reads_the_clauses_that_share_a_bigram_with_it() {
    // Enough buckets, well mixed, that no two of the test's bigrams share one.
    let config = ActionPolicyConfig {
        clause_attention: false,
        featurizer: FeaturizerConfig {
            bucket_bits: 16,
            hash: crate::features::BucketHash::Mixed,
            ..FeaturizerConfig::default()
        },
        ..small_config(15)
    };
    let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
    let task = "Your task is to: put some mug in shelf 1.";
    let observation = "You are at the door.\n\
                       Known places: searched cabinet 2 with mug 1; unvisited cabinet 1; \
                       unvisited shelf 1.";
    let actions = [
        "go to cabinet 2",
        "go to cabinet 1",
        "look",
        "go to shelf 1",
    ];
    let decision = policy.encode_decision(task, observation, &[0.0, 0.0], &actions);
    let observations = [&*decision.observation];
    let context = policy.flatten_contexts(&[&decision], &observations, &[0, 0, 0, 0]);
    // Clauses: 0 header, 1 "You are at the door", 2 "Known places: searched cabinet 2
    // with mug 1", 3 "unvisited cabinet 1", 4 "unvisited shelf 1" (the header's own
    // "shelf 1" is not a context).
    assert_eq!(context.clause_ids, [2, 3, 4]);
    assert_eq!(context.clause_pair, [0, 1, 3]);
    assert_eq!(context.clause_weight, [1.0; 3]);
    assert_eq!(
        (context.header_ids, context.header_observation),
        (vec![0], vec![0])
    );
    // Only cabinet 2 holds something of the task (the mug) that the action lacks.
    assert!(context.pair_goal[0] > 0.0, "{:?}", context.pair_goal);
    assert_eq!(context.pair_goal[1..], [0.0; 3]);

    let scores = |text: &str| {
        let decision = policy.encode_decision(task, text, &[0.0, 0.0], &actions);
        policy
            .distributions(&[&decision])
            .unwrap()
            .to_vecs()
            .unwrap()
    };
    // Swapping the statuses of the two cabinets changes their scores.
    let swapped = observation
        .replace("cabinet 2 with", "cabinet 9 with")
        .replace("unvisited cabinet 1", "searched cabinet 1 with mug 1")
        .replace("cabinet 9 with mug 1", "unvisited cabinet 2");
    let (before, after) = (scores(observation), scores(&swapped));
    assert_ne!(before[0][0], after[0][0]);
    assert_ne!(before[0][1], after[0][1]);
}

#[test]
fn without_action_context_the_policy_has_no_context_parameters() {
    let config = ActionPolicyConfig {
        action_context: false,
        clause_attention: false,
        header_overlap: false,
        ..small_config(16)
    };
    let policy = ActionPolicy::new(config, &Device::Cpu).unwrap();
    assert!(policy.parameters().get(HIDDEN_ACTION_CONTEXT).is_none());
    let decision = policy.encode_decision("", "a b. c d", &[0.0, 0.0], &["c d"]);
    assert!(decision.observation.clauses.is_empty());
    assert!(policy.prepare(&[&decision]).unwrap().context.is_none());
}

#[test]
fn max_clauses_is_checked_and_applied() {
    let bad = ActionPolicyConfig {
        max_clauses: 0,
        ..small_config(13)
    };
    assert!(matches!(
        ActionPolicy::new(bad, &Device::Cpu),
        Err(LearnError::InvalidConfig(_))
    ));
    let policy = ActionPolicy::new(small_config(13), &Device::Cpu).unwrap();
    let long: String = (0..20).map(|i| format!("clause {i}. ")).collect();
    assert_eq!(
        policy
            .encode_observation("", &long, &[0.0, 0.0])
            .clauses
            .len(),
        8
    );
}

#[test]
fn config_rejects_unknown_fields() {
    let config: ActionPolicyConfig =
        serde_json::from_str(r#"{"hidden_dim": 8, "featurizer": {"bucket_bits": 9}}"#).unwrap();
    assert_eq!(config.hidden_dim, 8);
    assert_eq!(config.embedding_dim, 32);
    assert!(serde_json::from_str::<ActionPolicyConfig>(r#"{"hidden": 8}"#).is_err());
}

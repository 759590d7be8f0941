//! `derl:plugin@0.1.0` (`wit/v0.1.0/`, frozen): its bindings and the
//! conversions of its types into the latest plain ones.
//!
//! What 0.1.0 lacks gets the meaning 0.1.0 gave it:
//! - the **task**: 0.1.0 observations state it in their text, and the default
//!   policy read the first clause as the task. The conversion moves that clause
//!   (the first piece of the text with a word, as `derl_learn::features::clauses`
//!   splits it) into `task` and keeps the rest as `text`, so a policy reading
//!   `task` then `text` sees the same words in the same order as before.
//! - **step limits**: one `max-steps` for every split.
//! - **disjoint splits**: 0.1.0 made no claim, so none is checked.

/// Host bindings of the `environment-plugin` world.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/v0.1.0",
    });
}

/// Host bindings of the `reward-program` world.
pub mod reward {
    wasmtime::component::bindgen!({
        world: "reward-program",
        path: "../wit/v0.1.0",
    });
}

pub(crate) use reward::derl::plugin::types as reward_types;

super::convert::shared_conversions!(environment::derl::plugin::types);
use derl_env_api::{EnvInfo, Observation};

pub(crate) fn env_info(info: wit::EnvInfo) -> EnvInfo {
    EnvInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        max_steps: info.max_steps,
        split_max_steps: Vec::new(),
        primitives: info.primitives.into_iter().map(primitive).collect(),
        splits: info.splits.into_iter().map(api_split).collect(),
        disjoint_splits: false,
        feature_count: info.feature_count,
    }
}

pub(crate) fn observation(obs: wit::Observation) -> Observation {
    let (task, text) = split_task(&obs.text);
    Observation {
        task: task.to_owned(),
        text: text.to_owned(),
        actions: obs.actions,
        features: obs.features,
    }
}

/// The first clause of a 0.1.0 observation text that holds a word, and the
/// text after the character that ends it (`("", text)` without such a clause).
pub(crate) fn split_task(text: &str) -> (&str, &str) {
    let first = derl_learn::features::clauses(text)
        .find(|clause| clause.chars().any(char::is_alphanumeric));
    match first {
        None => ("", text),
        Some(clause) => {
            let start = clause.as_ptr() as usize - text.as_ptr() as usize;
            let end = start + clause.len();
            let rest = text[end..]
                .char_indices()
                .nth(1)
                .map_or("", |(at, _)| &text[end + at..]);
            (clause, rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_task;

    #[test]
    fn the_first_worded_clause_becomes_the_task() {
        assert_eq!(
            split_task("Your task is to: put a mug in cabinet 1\nYou are in the kitchen."),
            (
                "Your task is to: put a mug in cabinet 1",
                "You are in the kitchen."
            )
        );
        assert_eq!(
            split_task("Goal: open the door in cell 4. You are in cell 0. Key in 2."),
            (
                "Goal: open the door in cell 4",
                " You are in cell 0. Key in 2."
            )
        );
        assert_eq!(split_task("--\n  \nTask: x; y"), ("Task: x", " y"));
        assert_eq!(split_task("Only a task"), ("Only a task", ""));
        assert_eq!(split_task(".. ;"), ("", ".. ;"));
    }
}

//! `KEY=VALUE` overrides of a typed section given on the command line
//! (`--policy model.action_context=true`, `--reward-limit deadline_ms=5000`):
//! dotted keys into the section's TOML form, checked by deserializing it
//! back, so an unknown key or a value of the wrong type is an error naming it.

use anyhow::{Context, bail};
use derl_sandbox::Limits;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `base` with every `KEY=VALUE` of `pairs` applied in order; `flag` names
/// the option in errors. A value is read as TOML (`true`, `0.01`, `"x"`),
/// else as a plain string (`hash=mixed`).
///
/// # Errors
/// A pair without `=`, a key the section does not have (named), a key
/// through a value that is no table, or a value of the wrong type.
pub(crate) fn apply<T: Serialize + DeserializeOwned>(
    base: &T,
    pairs: &[String],
    flag: &str,
) -> anyhow::Result<T> {
    let mut table = toml::Table::try_from(base).context("serializing the defaults")?;
    let mut value: T = toml::Value::Table(table.clone())
        .try_into()
        .context("reading back the defaults")?;
    for pair in pairs {
        let (key, text) = pair
            .split_once('=')
            .with_context(|| format!("{flag} `{pair}` is not of the form KEY=VALUE"))?;
        set(&mut table, key.trim(), parse_value(text.trim()))
            .with_context(|| format!("{flag} {pair}"))?;
        value = toml::Value::Table(table.clone())
            .try_into()
            .with_context(|| format!("{flag} {pair}"))?;
    }
    Ok(value)
}

/// The limits of a reward component from `--limit`/`--reward-limit`
/// arguments: [`Limits::default`], or `python_limits()` when the first
/// argument is `python`, with the `KEY=VALUE` pairs that follow applied.
///
/// # Errors
/// As [`apply`].
pub(crate) fn reward_limits(args: &[String], flag: &str) -> anyhow::Result<Limits> {
    match args.split_first() {
        Some((first, rest)) if first == "python" => {
            apply(&crate::python_reward::python_limits(), rest, flag)
        }
        _ => apply(&Limits::default(), args, flag),
    }
}

/// Sets the dotted `key` of `table`, creating the tables on its way.
fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> anyhow::Result<()> {
    let mut parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|part| part.is_empty()) {
        bail!("`{key}` is not a key");
    }
    let last = parts.pop().expect("split gives at least one part");
    let mut current = table;
    for (depth, part) in parts.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(inner) => inner,
            _ => bail!("`{}` is not a table", parts[..=depth].join(".")),
        };
    }
    current.insert(last.to_owned(), value);
    Ok(())
}

/// `text` as a TOML value, else as a string.
fn parse_value(text: &str) -> toml::Value {
    format!("value = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dotted_keys_set_nested_values_of_any_type() {
        let config = crate::inner::PolicyConfig::default();
        let changed = apply(
            &config,
            &pairs(&[
                "model.action_context=false",
                "grpo.learning_rate=0.01",
                "model.featurizer.hash=mixed",
                "grpo.clip_epsilon_high=0.3",
            ]),
            "--policy",
        )
        .unwrap();
        assert!(!changed.model.action_context);
        assert_eq!(changed.grpo.learning_rate, 0.01);
        assert_eq!(changed.grpo.clip_epsilon_high, Some(0.3));
        assert_eq!(changed.grpo.epochs, config.grpo.epochs);
        assert_eq!(apply(&config, &[], "--policy").unwrap(), config);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let limits = Limits::default();
        for (pair, named) in [
            ("fuel=5", "fuel"),
            ("deadline_ms=soon", "deadline_ms=soon"),
            ("deadline_ms", "KEY=VALUE"),
            ("deadline_ms.x=1", "deadline_ms"),
            ("a..b=1", "a..b"),
        ] {
            let error = apply(&limits, &pairs(&[pair]), "--limit").unwrap_err();
            let message = format!("{error:#}");
            assert!(message.contains(named), "{pair}: {message}");
            assert!(message.contains("--limit"), "{pair}: {message}");
        }
        let set = apply(&limits, &pairs(&["deadline_ms=5"]), "--limit").unwrap();
        assert_eq!(set.deadline_ms, 5);
    }

    #[test]
    fn reward_limits_start_from_the_python_preset_when_asked() {
        let python = crate::python_reward::python_limits();
        assert_eq!(reward_limits(&[], "--limit").unwrap(), Limits::default());
        assert_eq!(
            reward_limits(&pairs(&["python"]), "--limit").unwrap(),
            python
        );
        let tight = reward_limits(&pairs(&["python", "deadline_ms=7"]), "--limit").unwrap();
        assert_eq!(tight.deadline_ms, 7);
        assert_eq!(tight.memory_bytes, python.memory_bytes);
    }
}

//! Prints one episode played by the scripted expert: every observation, the
//! admissible actions and the action taken.
//!
//! `cargo run -p arith-core --example transcript [split] [task] [seed]`

use arith_core::Arith;
use derl_env_api::{Environment, Split};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = match args.first() {
        Some(name) => Split::from_name(name).ok_or(format!("unknown split `{name}`"))?,
        None => Split::Train,
    };
    let task: u32 = args.get(1).map_or(Ok(0), |a| a.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(0), |a| a.parse())?;
    let mut env = Arith::new();
    let mut observation = env.reset(split, task, seed)?;
    loop {
        println!("{}", observation.full_text());
        for (i, action) in observation.actions.iter().enumerate() {
            println!("  [{i:2}] {action}");
        }
        let choice = env.expert_action()?.ok_or("no expert action")?;
        println!("> {}\n", observation.actions[choice as usize]);
        let result = env.step(choice)?;
        if let Some(primitives) = result.primitives {
            println!(
                "{}\n{}\nprimitives: {primitives:?}",
                result.observation.full_text(),
                result.feedback
            );
            return Ok(());
        }
        observation = result.observation;
    }
}

//! Prints one episode played by the expert, observation by observation.
//!
//! ```text
//! cargo run -p lab-core --example lab_show [split] [task] [seed]
//! ```

use derl_env_api::{Environment, Split};
use lab_core::Lab;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .first()
        .and_then(|s| Split::from_name(s))
        .unwrap_or(Split::Train);
    let task: u32 = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(0);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut lab = Lab::new();
    let mut observation = match lab.reset(split, task, seed) {
        Ok(observation) => observation,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    loop {
        println!("{}", observation.full_text());
        for (i, action) in observation.actions.iter().enumerate() {
            println!("  [{i}] {action}");
        }
        let Ok(Some(action)) = lab.expert_action() else {
            println!("(the expert has no action)");
            return;
        };
        let result = lab.step(action).expect("the expert's action is admissible");
        println!("> {}\n", observation.actions[action as usize]);
        if let Some(primitives) = result.primitives {
            println!("{}\n{}", result.observation.full_text(), result.feedback);
            println!("primitives: {primitives:?}");
            return;
        }
        observation = result.observation;
    }
}

//! Measures the lab's baselines: expert and uniformly random success per
//! split, mean expert episode length, action counts and native speed.
//!
//! ```text
//! cargo run --release -p lab-core --example lab_baselines [tasks-per-split] [seeds]
//! ```

use std::time::Instant;

use derl_env_api::{Environment, Split};
use lab_core::Lab;
use lab_core::rng::Rng;
use lab_core::tasks::TaskCatalog;

/// Outcome totals of one policy on one split.
#[derive(Default)]
struct Totals {
    episodes: u32,
    successes: u32,
    steps: u64,
    primitives: Vec<f64>,
    actions_seen: u64,
    max_actions: usize,
}

impl Totals {
    fn add(&mut self, success: bool, steps: u32, primitives: &[f64]) {
        self.episodes += 1;
        self.successes += u32::from(success);
        self.steps += u64::from(steps);
        if self.primitives.is_empty() {
            self.primitives = vec![0.0; primitives.len()];
        }
        for (sum, value) in self.primitives.iter_mut().zip(primitives) {
            *sum += value;
        }
    }

    fn report(&self, label: &str) -> String {
        let n = f64::from(self.episodes.max(1));
        let means: Vec<String> = self
            .primitives
            .iter()
            .map(|s| format!("{:.3}", s / n))
            .collect();
        format!(
            "{label:7} success {:6.2}%  mean steps {:5.2}  mean actions {:5.1} (max {:2})  primitives [{}]",
            100.0 * f64::from(self.successes) / n,
            self.steps as f64 / n,
            self.actions_seen as f64 / self.steps.max(1) as f64,
            self.max_actions,
            means.join(", ")
        )
    }
}

/// Runs one episode; `choose` picks an action index given the count.
fn run(
    lab: &mut Lab,
    split: Split,
    task: u32,
    seed: u64,
    expert: bool,
    rng: &mut Rng,
    totals: &mut Totals,
) {
    let mut observation = lab.reset(split, task, seed).expect("reset");
    loop {
        totals.actions_seen += observation.actions.len() as u64;
        totals.max_actions = totals.max_actions.max(observation.actions.len());
        let action = if expert {
            lab.expert_action()
                .expect("running")
                .expect("the expert has a plan")
        } else {
            rng.below(observation.actions.len()) as u32
        };
        let result = lab.step(action).expect("valid action");
        if let Some(primitives) = result.primitives {
            totals.add(
                primitives[0] == 1.0,
                step_count(&result.observation.text),
                &primitives,
            );
            return;
        }
        observation = result.observation;
    }
}

/// Reads "Step N of M" back from the observation text.
fn step_count(text: &str) -> u32 {
    text.split("Step ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let tasks_per_split = args.first().copied().unwrap_or(200) as u32;
    let seeds = args.get(1).copied().unwrap_or(3);
    let mut lab = Lab::new();
    let [in_sizes, ood_sizes] = TaskCatalog::get().space_sizes();
    println!("distinct tasks per family (state-change, measure, grow, power):");
    println!("  in distribution {:?}", in_sizes.map(|(size, _)| size));
    println!("  ood             {:?}", ood_sizes.map(|(size, _)| size));
    let mut rng = Rng::new(12345);
    let started = Instant::now();
    let mut total_steps = 0u64;
    for split in Split::ALL {
        let count = lab.task_count(split).min(tasks_per_split);
        let (mut expert, mut random) = (Totals::default(), Totals::default());
        let mut per_family = [(0u32, 0u32); 4];
        let mut per_head = [(0u32, 0u32); 3];
        for task in 0..count {
            for seed in 0..seeds {
                run(&mut lab, split, task, seed, true, &mut rng, &mut expert);
                let before = random.successes;
                run(&mut lab, split, task, seed, false, &mut rng, &mut random);
                let won = random.successes - before;
                let family = &mut per_family[task as usize % 4];
                family.0 += 1;
                family.1 += won;
                let head = TaskCatalog::get()
                    .task(split, task)
                    .expect("task")
                    .head_start;
                per_head[usize::from(head)].0 += 1;
                per_head[usize::from(head)].1 += won;
            }
        }
        total_steps += expert.steps + random.steps;
        println!("{split} ({count} tasks x {seeds} seeds)");
        println!("  {}", expert.report("expert"));
        println!("  {}", random.report("random"));
        let families: Vec<String> = ["state-change", "measure", "grow", "power"]
            .iter()
            .zip(per_family)
            .map(|(name, (n, s))| {
                format!("{name} {:.2}%", 100.0 * f64::from(s) / f64::from(n.max(1)))
            })
            .collect();
        println!("  random by family: {}", families.join(", "));
        let heads: Vec<String> = per_head
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(h, (n, s))| format!("{h}: {:.2}%", 100.0 * f64::from(*s) / f64::from(*n)))
            .collect();
        println!("  random by head start: {}", heads.join(", "));
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = total_steps as f64 / seconds;
    println!("{total_steps} steps in {seconds:.2}s with expert calls: {rate:.0} steps/s");
    // Random play alone: reset and step, as a trainer drives the environment.
    let started = Instant::now();
    let mut steps = 0u64;
    let mut task = 0;
    while steps < 1_000_000 {
        let observation = lab
            .reset(Split::Train, task % 4000, u64::from(task))
            .expect("reset");
        let mut actions = observation.actions.len();
        task += 1;
        loop {
            let result = lab.step(rng.below(actions) as u32).expect("step");
            steps += 1;
            if result.done() {
                break;
            }
            actions = result.observation.actions.len();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = steps as f64 / seconds;
    println!("random play alone: {steps} steps in {seconds:.2}s: {rate:.0} steps/s");
}

//! Observation and action text.
//!
//! Every number the solver can use is written with a short label: the words
//! the problem attached to it (`3 dollars each`) or, for a result, what kind
//! of result it is (`12 product`). Labels put the problem's word cues into
//! the action text, where a bag-of-words policy can match them.

use crate::episode::Episode;
use crate::pool::{Action, Entry, Origin, Pool};
use crate::problem::{Op, Problem};

/// A pool number with its label (`3 dollars each`, `12 product`).
fn labelled(entry: &Entry, problem: &Problem) -> String {
    let label = match entry.origin {
        Origin::Given(i) => problem.givens[i].label.as_str(),
        Origin::Result(op) => op.result_name(),
    };
    format!("{} {label}", entry.value)
}

/// The text of one admissible action: `multiply 4 notebooks by 3 dollars
/// each`, `subtract 14 sum from 20 dollars`, `undo`, `answer 6 difference`.
pub fn action_text(action: &Action, pool: &Pool, problem: &Problem) -> String {
    let show = |entry: usize| labelled(&pool.entries()[entry], problem);
    match *action {
        Action::Answer { entry, .. } => format!("answer {}", show(entry)),
        Action::Undo => "undo".to_owned(),
        Action::Compute {
            left,
            right,
            computation,
        } => {
            let (left, right) = (show(left), show(right));
            match computation.op {
                Op::Add => format!("add {left} and {right}"),
                Op::Subtract => format!("subtract {right} from {left}"),
                Op::Multiply => format!("multiply {left} by {right}"),
                Op::Divide => format!("divide {left} by {right}"),
            }
        }
    }
}

/// The texts of an episode's admissible actions, in order.
pub fn action_texts(episode: &Episode) -> Vec<String> {
    episode
        .actions()
        .iter()
        .map(|a| action_text(a, episode.pool(), episode.problem()))
        .collect()
}

/// The observation's task field: the problem statement, question included.
pub fn task_text(episode: &Episode) -> String {
    format!("Problem: {}", episode.problem().text)
}

/// The observation's situation text: the scratchpad, the available numbers and
/// the steps left (the problem is the task field, [`task_text`]).
pub fn observation_text(episode: &Episode) -> String {
    let problem = episode.problem();
    let scratchpad = if episode.scratchpad().is_empty() {
        "empty".to_owned()
    } else {
        let steps: Vec<String> = episode
            .scratchpad()
            .iter()
            .map(|record| {
                let undone = if record.undone { " (undone)" } else { "" };
                format!("{}{undone}", record.computation.render())
            })
            .collect();
        steps.join("; ")
    };
    let numbers: Vec<String> = episode
        .pool()
        .entries()
        .iter()
        .map(|entry| labelled(entry, problem))
        .collect();
    let status = match (episode.answer(), episode.is_truncated()) {
        (Some(answer), _) => format!("Answered {answer}."),
        (None, true) => "Out of steps.".to_owned(),
        (None, false) => format!("Steps left: {}.", episode.steps_left()),
    };
    format!(
        "Scratchpad: {scratchpad}.\nNumbers: {}.\n{status}",
        numbers.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode() -> Episode {
        Episode::new(crate::problem::fixtures::shopping_problem(), 10)
    }

    #[test]
    fn actions_read_as_labelled_calculator_steps() {
        let episode = episode();
        let texts = action_texts(&episode);
        assert_eq!(texts[0], "add 20 dollars and 4 pens");
        assert_eq!(texts[1], "subtract 4 pens from 20 dollars");
        assert_eq!(texts[3], "divide 20 dollars by 4 pens");
        assert!(texts.contains(&"multiply 4 pens by 3 dollars each".to_owned()));
        assert_eq!(texts.last().unwrap(), "answer 3 dollars each");
        assert_eq!(texts.len(), episode.actions().len());
    }

    #[test]
    fn observation_shows_problem_scratchpad_numbers_and_steps() {
        let mut episode = episode();
        let multiply = action_texts(&episode)
            .iter()
            .position(|t| t == "multiply 4 pens by 3 dollars each")
            .unwrap();
        episode.take(multiply as u32).unwrap();
        assert_eq!(
            task_text(&episode),
            "Problem: Ann has 20 dollars. She buys 4 pens at 3 dollars each. \
             How many dollars are left?"
        );
        assert_eq!(
            observation_text(&episode),
            "Scratchpad: 4 * 3 = 12.\n\
             Numbers: 20 dollars, 12 product.\n\
             Steps left: 9."
        );
        let texts = action_texts(&episode);
        assert!(texts.contains(&"subtract 12 product from 20 dollars".to_owned()));
        assert!(texts.contains(&"undo".to_owned()));
        let undo = texts.iter().position(|t| t == "undo").unwrap();
        episode.take(undo as u32).unwrap();
        assert!(observation_text(&episode).contains("Scratchpad: 4 * 3 = 12 (undone)."));
    }
}

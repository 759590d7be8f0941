//! One running episode: the problem, the pool, the scratchpad and the rules
//! of a step.

use crate::pool::{Action, Pool};
use crate::problem::{Computation, Problem};
use derl_env_api::EnvError;

/// One line of the scratchpad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// What was computed.
    pub computation: Computation,
    /// Whether it was undone since.
    pub undone: bool,
}

/// The state of one episode.
#[derive(Clone, Debug)]
pub struct Episode {
    problem: Problem,
    pool: Pool,
    scratchpad: Vec<Record>,
    /// Computations in effect, newest last: scratchpad index and the pool
    /// before it, for `undo`.
    in_effect: Vec<(usize, Pool)>,
    actions: Vec<Action>,
    max_steps: u32,
    steps_taken: u32,
    answer: Option<u64>,
    truncated: bool,
}

impl Episode {
    /// Starts `problem` with a budget of `max_steps` (at least 1) actions.
    pub fn new(problem: Problem, max_steps: u32) -> Self {
        let givens: Vec<u64> = problem.givens.iter().map(|q| q.value).collect();
        let pool = Pool::new(&givens);
        let actions = pool.actions(false);
        Episode {
            problem,
            pool,
            scratchpad: Vec::new(),
            in_effect: Vec::new(),
            actions,
            max_steps: max_steps.max(1),
            steps_taken: 0,
            answer: None,
            truncated: false,
        }
    }

    /// The problem being solved.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// The numbers available now.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Every computation made so far, in order, undone ones included.
    pub fn scratchpad(&self) -> &[Record] {
        &self.scratchpad
    }

    /// The computations in effect (made and not undone), oldest first.
    pub fn computations_in_effect(&self) -> impl Iterator<Item = Computation> + '_ {
        self.in_effect
            .iter()
            .map(|(i, _)| self.scratchpad[*i].computation)
    }

    /// The admissible actions now; empty once the episode is over.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Actions taken so far.
    pub fn steps_taken(&self) -> u32 {
        self.steps_taken
    }

    /// Actions left before the episode is truncated.
    pub fn steps_left(&self) -> u32 {
        self.max_steps.saturating_sub(self.steps_taken)
    }

    /// The answer given, if any.
    pub fn answer(&self) -> Option<u64> {
        self.answer
    }

    /// Whether the episode ended by running out of steps without an answer.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Whether the episode has ended.
    pub fn is_over(&self) -> bool {
        self.answer.is_some() || self.truncated
    }

    /// Whether some computation, undone or not, produced `value`.
    pub fn was_computed(&self, value: u64) -> bool {
        self.scratchpad.iter().any(|r| r.computation.value == value)
    }

    /// Takes the admissible action at `index` and describes what happened.
    pub fn take(&mut self, index: u32) -> Result<String, EnvError> {
        if self.is_over() {
            return Err(EnvError::NoEpisode(
                "the episode has ended; call reset".into(),
            ));
        }
        let action = *self.actions.get(index as usize).ok_or_else(|| {
            EnvError::InvalidAction(format!(
                "action {index} of {} admissible actions",
                self.actions.len()
            ))
        })?;
        self.steps_taken += 1;
        let feedback = match action {
            Action::Answer { value, .. } => {
                self.answer = Some(value);
                format!(
                    "You answer {value}; the expected answer is {}.",
                    self.problem.answer()
                )
            }
            Action::Compute {
                left,
                right,
                computation,
            } => {
                let before = self.pool.clone();
                self.pool.combine(left, right, computation);
                self.scratchpad.push(Record {
                    computation,
                    undone: false,
                });
                self.in_effect.push((self.scratchpad.len() - 1, before));
                format!("You compute {}.", computation.render())
            }
            Action::Undo => match self.in_effect.pop() {
                Some((index, before)) => {
                    self.pool = before;
                    self.scratchpad[index].undone = true;
                    format!("You undo {}.", self.scratchpad[index].computation.render())
                }
                None => "There is nothing to undo.".to_owned(),
            },
        };
        self.truncated = self.answer.is_none() && self.steps_taken >= self.max_steps;
        self.actions = if self.is_over() {
            Vec::new()
        } else {
            self.pool.actions(!self.in_effect.is_empty())
        };
        Ok(if self.truncated {
            format!("{feedback} The step limit is reached without an answer.")
        } else {
            feedback
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Op;

    fn problem() -> Problem {
        crate::problem::fixtures::shopping_problem()
    }

    fn index_where(episode: &Episode, wanted: impl Fn(&Action) -> bool) -> u32 {
        episode.actions().iter().position(wanted).unwrap() as u32
    }

    fn values(episode: &Episode) -> Vec<u64> {
        episode.pool().entries().iter().map(|e| e.value).collect()
    }

    #[test]
    fn computing_then_answering_ends_the_episode() {
        let mut episode = Episode::new(problem(), 10);
        let multiply = index_where(&episode, |a| a.computes(Op::Multiply, 4, 3));
        assert_eq!(episode.take(multiply).unwrap(), "You compute 4 * 3 = 12.");
        assert_eq!(values(&episode), [20, 12]);
        assert!(episode.was_computed(12));
        episode
            .take(index_where(&episode, |a| a.computes(Op::Subtract, 20, 12)))
            .unwrap();
        assert_eq!(values(&episode), [8]);
        assert_eq!(episode.actions().len(), 2, "undo and answer 8");
        episode
            .take(index_where(&episode, |a| a.answers(8)))
            .unwrap();
        assert!(episode.is_over() && !episode.is_truncated());
        assert_eq!(episode.answer(), Some(8));
        assert!(episode.actions().is_empty());
        assert!(matches!(episode.take(0), Err(EnvError::NoEpisode(_))));
    }

    #[test]
    fn undo_restores_the_pool_and_marks_the_scratchpad() {
        let mut episode = Episode::new(problem(), 10);
        assert!(!episode.actions().contains(&Action::Undo));
        episode
            .take(index_where(&episode, |a| a.computes(Op::Add, 20, 4)))
            .unwrap();
        assert_eq!(values(&episode), [3, 24]);
        let feedback = episode
            .take(index_where(&episode, |a| *a == Action::Undo))
            .unwrap();
        assert_eq!(feedback, "You undo 20 + 4 = 24.");
        assert_eq!(values(&episode), [20, 4, 3]);
        assert!(episode.scratchpad()[0].undone);
        assert_eq!(episode.computations_in_effect().count(), 0);
        assert!(episode.was_computed(24));
        assert!(!episode.actions().contains(&Action::Undo));
    }

    #[test]
    fn step_limit_truncates_without_an_answer() {
        let mut episode = Episode::new(problem(), 2);
        episode.take(0).unwrap();
        assert_eq!(episode.steps_left(), 1);
        let undo = index_where(&episode, |a| *a == Action::Undo);
        let feedback = episode.take(undo).unwrap();
        assert!(feedback.contains("step limit"));
        assert!(episode.is_truncated() && episode.answer().is_none());
        assert!(episode.actions().is_empty());
    }

    #[test]
    fn out_of_range_action_is_refused_and_changes_nothing() {
        let mut episode = Episode::new(problem(), 10);
        let count = episode.actions().len() as u32;
        assert!(matches!(
            episode.take(count),
            Err(EnvError::InvalidAction(_))
        ));
        assert_eq!(episode.steps_taken(), 0);
    }
}

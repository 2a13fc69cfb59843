//! Questions the agent asks, as part of the shim actor: a permission prompt, a menu or a
//! startup dialog is reported once as `InputRequested` (state `AwaitingInput`), answered with
//! `Answer` the way the agent's CLI expects (the driver's keys), and raw input goes in with
//! `SendKeys`. Messages are never typed into a question: they wait in the queue.

use std::time::Duration;

use tokio::time::Instant;

use super::ShimError;
use super::actor::ShimActor;
use super::classifier::{InputPrompt, LimitNotice};
use super::keys::{encode_keys, parse_keys};
use super::state::StateInput;
use crate::protocol::{Event, ShimState};

/// How long the question just answered may still show (the CLI redraws after the keys) before
/// it counts as asked again: the answer did not take.
const ANSWER_GRACE: Duration = Duration::from_millis(1500);

/// The question answered last and when.
#[derive(Debug)]
pub(super) struct Answered {
    question: InputPrompt,
    at: Instant,
}

/// The same question (the highlight may have moved).
fn same_question(a: &InputPrompt, b: &InputPrompt) -> bool {
    a.prompt == b.prompt && a.options == b.options
}

impl ShimActor {
    /// The classifier sees `question` on screen.
    pub(super) fn question_shown(&mut self, question: InputPrompt, now: Instant) {
        if let Some(answered) = &self.answered
            && now < answered.at + ANSWER_GRACE
            && same_question(&answered.question, &question)
        {
            // Our answer is still being drawn: the agent is working on it.
            return;
        }
        self.answered = None;
        let entered = self.transition(StateInput::SawAwaitingInput, None);
        let asked_again = self.state() == ShimState::AwaitingInput
            && !self
                .question
                .as_ref()
                .is_some_and(|open| same_question(open, &question));
        if entered && let Some(turn) = &self.turn {
            // A usage-limit menu or modal: the quota notice comes with the question.
            let lines = turn.lines(&mut self.screen, true);
            let quota = self
                .driver
                .limit_notices(&turn.view(&lines))
                .into_iter()
                .filter(|notice| matches!(notice, LimitNotice::Quota { .. }))
                .collect();
            self.report_limits(quota);
        }
        if entered || asked_again {
            tracing::info!(shim = %self.id, prompt = %question.prompt, "input requested");
            self.emit(Event::InputRequested {
                prompt: question.prompt.clone(),
                options: question.options.clone(),
            });
        }
        if self.state() == ShimState::AwaitingInput {
            self.question = Some(question);
        }
    }

    /// The classifier sees no question on screen.
    pub(super) fn no_question_shown(&mut self) {
        self.question = None;
        self.answered = None;
    }

    /// Picks `option` (1-based) of the open question; returns the option's text.
    pub(super) fn answer(&mut self, option: u32, now: Instant) -> Result<String, ShimError> {
        self.check_input_allowed()?;
        let Some(question) = self.question.take() else {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "no question is waiting for an answer".to_owned(),
            });
        };
        let count = question.options.len();
        let index = usize::try_from(option)
            .ok()
            .and_then(|option| option.checked_sub(1))
            .filter(|&index| index < count);
        let Some(index) = index else {
            let error = ShimError::InvalidArgument(if count == 0 {
                "this question has no numbered options: answer it with SendKeys".to_owned()
            } else {
                format!(
                    "option {option} is not a choice: pick 1 to {count} ({})",
                    question.options.join(" | ")
                )
            });
            self.question = Some(question);
            return Err(error);
        };
        let chosen = question.options[index].clone();
        tracing::info!(shim = %self.id, option, %chosen, "answering");
        self.outbox
            .extend_from_slice(&self.driver.answer_keys(&question, index));
        self.answered = Some(Answered { question, at: now });
        self.transition(
            StateInput::Answered,
            Some(format!("answered option {option}: {chosen}")),
        );
        Ok(chosen)
    }

    /// Types `keys` (text and named keys such as `<Enter>`) into the agent.
    pub(super) fn send_keys(&mut self, keys: &str) -> Result<(), ShimError> {
        self.check_input_allowed()?;
        if self.delivery_in_flight() {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "a message is being typed; send keys after its MessageDelivered".to_owned(),
            });
        }
        let keys = parse_keys(keys).map_err(|e| ShimError::InvalidArgument(e.to_string()))?;
        let bytes = encode_keys(&keys, self.screen.application_cursor());
        self.outbox.extend_from_slice(&bytes);
        Ok(())
    }

    /// When a question answered but still drawn counts as asked again.
    pub(super) fn answer_deadline(&self) -> Option<Instant> {
        self.answered
            .as_ref()
            .map(|answered| answered.at + ANSWER_GRACE)
    }

    /// Past the grace of an answer: judge the screen again (it may not have changed since).
    pub(super) fn on_answer_deadline(&mut self, now: Instant) {
        if self.answer_deadline().is_some_and(|at| now >= at) {
            self.answered = None;
            if self.settle_at.is_none() {
                self.on_settled(now);
            }
        }
    }

    fn check_input_allowed(&self) -> Result<(), ShimError> {
        if let Some(exit_code) = self.exit_code_if_dead() {
            return Err(ShimError::AgentDead { exit_code });
        }
        if self.shutting_down() {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "the agent is shutting down".to_owned(),
            });
        }
        Ok(())
    }
}

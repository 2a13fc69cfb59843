//! Questions the agent asks (a permission prompt, a menu, a startup dialog): which one is
//! open, and the one answered last, which may still show while the CLI redraws after the
//! answer's keys. Within [`ANSWER_GRACE`] the same question on screen means "being worked
//! on", after it "asked again": the answer did not take.

use std::time::{Duration, Instant};

use crate::shim::agents::InputPrompt;

/// How long the question just answered may still show before it counts as asked again.
pub(super) const ANSWER_GRACE: Duration = Duration::from_millis(1500);

/// The same question (the highlight may have moved).
fn same_question(a: &InputPrompt, b: &InputPrompt) -> bool {
    a.prompt == b.prompt && a.options == b.options
}

/// The open question and the one answered last.
#[derive(Debug, Default)]
pub(super) struct Questions {
    open: Option<InputPrompt>,
    answered: Option<(InputPrompt, Instant)>,
}

impl Questions {
    /// Whether `question` on screen at `now` is our answer still being drawn.
    pub(super) fn answer_in_progress(&self, question: &InputPrompt, now: Instant) -> bool {
        self.answered.as_ref().is_some_and(|(answered, at)| {
            now < *at + ANSWER_GRACE && same_question(answered, question)
        })
    }

    /// Whether `question` differs from the open one (a new question while one was open).
    pub(super) fn differs_from_open(&self, question: &InputPrompt) -> bool {
        !self
            .open
            .as_ref()
            .is_some_and(|open| same_question(open, question))
    }

    /// `question` is the one waiting for an answer now.
    pub(super) fn open(&mut self, question: InputPrompt) {
        self.answered = None;
        self.open = Some(question);
    }

    /// The question on screen is not answered by us (or none is shown).
    pub(super) fn forget_answer(&mut self) {
        self.answered = None;
    }

    /// No question shows.
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    pub(super) fn open_question(&self) -> Option<&InputPrompt> {
        self.open.as_ref()
    }

    /// The open question was answered at `now`.
    pub(super) fn answered(&mut self, now: Instant) {
        if let Some(question) = self.open.take() {
            self.answered = Some((question, now));
        }
    }

    /// When the question answered last counts as asked again if it still shows.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.answered.as_ref().map(|(_, at)| *at + ANSWER_GRACE)
    }

    /// True (once) when the grace of the last answer has ended by `now`.
    pub(super) fn take_grace_over(&mut self, now: Instant) -> bool {
        let over = self.deadline().is_some_and(|at| now >= at);
        if over {
            self.answered = None;
        }
        over
    }
}

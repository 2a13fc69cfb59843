//! The message being delivered: typed, then (once its echo settled) the driver's pause, then
//! the submit key, then the agent's reaction that confirms it. Each phase has its deadline;
//! the core moves it on. Whether a message that fails now may have run is known here.

use std::time::Instant;

use crate::protocol::outcome::DeliveryFailure;
use crate::shim::config::Timing;
use crate::shim::handle::OutgoingMessage;
use crate::shim::screen::ScreenSnapshot;
use crate::shim::turn::Turn;

/// Where a message is on its way into the agent.
#[derive(Debug)]
pub(super) enum Phase {
    /// Typed; waiting for the echo to arrive and settle.
    Typing { since: Instant, echo_seen: bool },
    /// The echo settled; the submit key is pressed at `at`.
    Pausing { at: Instant },
    /// The submit key was pressed at `at`; waiting for the agent to react.
    Submitted {
        at: Instant,
        before: ScreenSnapshot,
        echo_end_row: u64,
    },
}

/// The message being delivered.
#[derive(Debug)]
pub(super) struct Delivery {
    pub(super) message: OutgoingMessage,
    pub(super) phase: Phase,
    /// The turn this message starts (its echo end is known once submitted).
    pub(super) turn: Turn,
    /// A newline was typed outside a bracketed paste: a shell may have run the text before
    /// the submit key.
    newline_typed: bool,
}

impl Delivery {
    /// A delivery beginning at `now`: typing when there is text to type (`typed`), else
    /// straight to the submit key. `bracketed`: the text went as one bracketed paste.
    pub(super) fn new(
        message: OutgoingMessage,
        turn: Turn,
        now: Instant,
        typed: bool,
        bracketed: bool,
    ) -> Self {
        let newline_typed = !bracketed && message.body.contains('\n');
        let phase = if typed {
            Phase::Typing {
                since: now,
                echo_seen: false,
            }
        } else {
            Phase::Pausing { at: now }
        };
        Self {
            message,
            phase,
            turn,
            newline_typed,
        }
    }

    /// A delivery whose text and submit key went in one go at `now` (`before`: the screen
    /// then; `echo_end_row`: the cursor's row then).
    pub(super) fn submitted(
        message: OutgoingMessage,
        turn: Turn,
        now: Instant,
        before: ScreenSnapshot,
        echo_end_row: u64,
    ) -> Self {
        Self {
            message,
            phase: Phase::Submitted {
                at: now,
                before,
                echo_end_row,
            },
            turn,
            newline_typed: false,
        }
    }

    /// The program marked that it read a command line and runs it, its output starting at
    /// `row`: true when that confirms this submitted message (the echo ends above `row`).
    pub(super) fn command_started(&mut self, row: u64) -> bool {
        match &mut self.phase {
            Phase::Submitted { echo_end_row, .. } => {
                *echo_end_row = row.saturating_sub(1).max(self.turn.start_row);
                true
            }
            _ => false,
        }
    }

    /// Whether the submit key was pressed.
    pub(super) fn is_submitted(&self) -> bool {
        matches!(self.phase, Phase::Submitted { .. })
    }

    /// Output arrived: while typing, it is the echo.
    pub(super) fn output_arrived(&mut self) {
        if let Phase::Typing { echo_seen, .. } = &mut self.phase {
            *echo_seen = true;
        }
    }

    /// When this phase ends at the latest.
    pub(super) fn deadline(&self, timing: &Timing) -> Instant {
        match self.phase {
            Phase::Typing { since, .. } => since + timing.echo_timeout,
            Phase::Pausing { at } => at,
            Phase::Submitted { at, .. } => at + timing.accept_timeout,
        }
    }

    /// What failing this message now means: it may have run once the submit key went (or a
    /// newline was typed plainly); before that it certainly did not.
    pub(super) fn failure(&self) -> DeliveryFailure {
        if self.is_submitted() || self.newline_typed {
            DeliveryFailure::Unconfirmed
        } else {
            DeliveryFailure::NotDelivered
        }
    }
}

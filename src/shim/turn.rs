//! A turn: from the moment a message is typed (or the agent starts work by itself) to its
//! Completion. It remembers where on the terminal the turn began, so drivers judge only the
//! current turn (old busy markers and errors higher up do not count) and cut its answer from
//! the lines below, even when they scrolled into the scrollback.

use super::agents::TurnView;
use super::screen::Screen;

/// Rows of a turn's tail shown to a classifier: enough to judge, cheap to copy at each settle.
const CLASSIFY_ROWS: u64 = 500;

/// A turn in progress.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The message this turn answers; `None` for work the agent began by itself.
    pub(super) message_id: Option<String>,
    /// The message as typed (sanitised).
    pub(super) message: Option<String>,
    /// Absolute row of the cursor when typing began: the turn's first row.
    pub(super) start_row: u64,
    /// Absolute row of the last line of the echo (where the cursor was at the submit key).
    pub(super) echo_end_row: u64,
    /// The cursor line's text before the cursor when typing began (a shell's prompt).
    pub(super) prompt: String,
    /// The screen's clear count when the turn began: a clear since then means the program
    /// redrew everything from the top (Claude does after compacting), so the turn's lines
    /// start there.
    pub(super) clears_at_start: u64,
}

/// The lines of a turn, copied out of the screen.
#[derive(Debug, Clone, Default)]
pub struct TurnLines {
    lines: Vec<String>,
    echo_lines: usize,
    /// The command's output between the program's marks, when the core knows it.
    pub(super) marked_output: Option<String>,
}

/// Where the agent was last seen idle: the start of a turn it begins by itself.
#[derive(Debug, Clone, Default)]
pub(super) struct PromptMark {
    pub(super) row: u64,
    pub(super) text: String,
    pub(super) clears: u64,
}

impl Turn {
    /// A turn that began at absolute row `start_row` with `message` typed (its echo ending at
    /// `echo_end_row`) or, without one, that the agent began by itself; for replaying recorded
    /// sessions the way the actor tracks turns.
    pub fn new(
        message: Option<String>,
        start_row: u64,
        echo_end_row: u64,
        prompt: impl Into<String>,
        clears_at_start: u64,
    ) -> Self {
        Self {
            message_id: None,
            message,
            start_row,
            echo_end_row,
            prompt: prompt.into(),
            clears_at_start,
        }
    }

    /// A turn the agent began by itself after it was last idle at `mark`.
    pub(super) fn unprompted(mark: &PromptMark) -> Self {
        Self {
            message_id: None,
            message: None,
            start_row: mark.row,
            echo_end_row: mark.row,
            prompt: mark.text.clone(),
            clears_at_start: mark.clears,
        }
    }

    /// The turn's logical lines through the bottom of the screen; for classification only its
    /// last [`CLASSIFY_ROWS`] rows.
    pub fn lines(&self, screen: &mut Screen, for_classifier: bool) -> TurnLines {
        let bottom = screen.bottom_absolute_row();
        let redrawn = screen.clears() > self.clears_at_start;
        let start_row = if redrawn {
            screen.last_clear_top()
        } else {
            self.start_row
        };
        let from = if for_classifier {
            start_row.max(bottom.saturating_sub(CLASSIFY_ROWS))
        } else {
            start_row
        };
        // After a redraw the echo is wherever the program drew it again.
        let echo_lines = if !redrawn && from <= self.echo_end_row {
            screen.lines_between(from, self.echo_end_row).len()
        } else {
            0
        };
        TurnLines {
            lines: screen.lines_between(from, bottom),
            echo_lines,
            marked_output: None,
        }
    }

    /// This turn read from the top of the visible screen (the program repainted it).
    pub(super) fn read_from_screen_top(&self, screen: &Screen) -> Self {
        Self {
            start_row: screen.top_absolute_row(),
            echo_end_row: screen.top_absolute_row(),
            clears_at_start: screen.clears(),
            ..self.clone()
        }
    }

    /// What a driver sees of this turn.
    pub fn view<'a>(&'a self, lines: &'a TurnLines) -> TurnView<'a> {
        TurnView {
            lines: &lines.lines,
            echo_lines: lines.echo_lines.min(lines.lines.len()),
            message: self.message.as_deref(),
            prompt: &self.prompt,
            marked_output: lines.marked_output.as_deref(),
        }
    }
}

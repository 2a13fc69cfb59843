//! The semantic prompt marks of the current turn (OSC 133, see [`crate::shim::marks`]): where
//! the command's output began (`C`), how it ended (`D;EXIT`), where the next prompt began (`A`)
//! and whether the program waits for input again (`B`); and the status a program declares
//! (OSC 7501). Once a program has printed a mark it is trusted to print them: its turn edges
//! then need no settle window.

use crate::shim::agents::ProgramMarks;
use crate::shim::marks::{Mark, PlacedMark, ProgramStatus};

/// What a mark means for the core right away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MarkEffect {
    /// Nothing to do now.
    None,
    /// The command line was read and runs: a submitted message was taken.
    CommandStarted { row: u64 },
    /// The program declared that it works (it took the submitted message).
    Working,
    /// The program waits for input (or declared a state): judge the screen now.
    JudgeNow,
}

/// Whether a program declaring `status` says its turn is over.
fn is_turn_end(status: ProgramStatus) -> bool {
    matches!(
        status,
        ProgramStatus::Done | ProgramStatus::Error | ProgramStatus::Idle
    )
}

/// The marks seen, as they concern the current turn.
#[derive(Debug, Default)]
pub(super) struct PromptMarks {
    /// The program prints semantic prompt marks.
    integrated: bool,
    /// Where the current turn's command output began.
    output_start: Option<u64>,
    /// The current turn's command finished, with this exit code (when the program said).
    exit_code: Option<Option<i32>>,
    /// Where the prompt after the command began: the end of its output.
    prompt_start: Option<(u64, u16)>,
    /// The program waits at its input (`B` since the last `C`).
    at_input: bool,
    status: Option<ProgramStatus>,
    /// The program has declared a turn over before: it declares every turn's end.
    declares_turn_ends: bool,
    /// The last turn ended (on the screen) before its declared end came: the next such
    /// declaration is that turn's, late (a hook process finishing after the next message was
    /// sent), not the current turn's.
    late_turn_end_owed: bool,
}

impl PromptMarks {
    /// Notes `placed`; says what it means now.
    pub(super) fn observe(&mut self, placed: &PlacedMark) -> MarkEffect {
        match &placed.mark {
            Mark::CommandStart => {
                // A multi-line message runs one command per line: its output starts with the
                // first.
                self.integrated = true;
                self.output_start.get_or_insert(placed.row);
                self.exit_code = None;
                self.at_input = false;
                MarkEffect::CommandStarted { row: placed.row }
            }
            Mark::CommandEnd { exit_code } => {
                self.integrated = true;
                if self.output_start.is_some() {
                    self.exit_code = Some(*exit_code);
                }
                MarkEffect::None
            }
            Mark::PromptStart => {
                self.integrated = true;
                self.prompt_start = Some((placed.row, placed.col));
                self.at_input = false;
                MarkEffect::None
            }
            Mark::InputStart => {
                self.integrated = true;
                self.at_input = true;
                MarkEffect::JudgeNow
            }
            Mark::Status(status) => {
                if is_turn_end(*status) {
                    self.declares_turn_ends = true;
                    if std::mem::take(&mut self.late_turn_end_owed) {
                        return MarkEffect::None;
                    }
                }
                self.status = Some(*status);
                match status {
                    ProgramStatus::Working => MarkEffect::Working,
                    _ => MarkEffect::JudgeNow,
                }
            }
            Mark::Progress { .. } => MarkEffect::None,
        }
    }

    /// The program prints semantic prompt marks (so a message may be submitted with its text:
    /// the `C` mark confirms it).
    pub(super) fn integrated(&self) -> bool {
        self.integrated
    }

    /// A new turn begins: the marks of the last one no longer count.
    pub(super) fn turn_started(&mut self) {
        self.late_turn_end_owed = self.declares_turn_ends && !self.turn_over_declared();
        self.output_start = None;
        self.exit_code = None;
        self.prompt_start = None;
        self.status = None;
    }

    /// The program declared its turn over (done, failed, idle): what it draws now is its
    /// final frame, judged after a short pause instead of the driver's settle window.
    pub(super) fn turn_over_declared(&self) -> bool {
        self.status.is_some_and(is_turn_end)
    }

    /// What the classifier sees of them.
    pub(super) fn view(&self) -> ProgramMarks {
        ProgramMarks {
            at_input: self.at_input,
            command_running: self.output_start.is_some() && self.exit_code.is_none(),
            status: self.status,
        }
    }

    /// Where the current turn's command output is, from its start row to the latest prompt's
    /// start (row, column), once both marks came.
    pub(super) fn output_span(&self) -> Option<(u64, (u64, u16))> {
        let start = self.output_start?;
        let end = self.prompt_start.filter(|(row, _)| *row >= start)?;
        // A prompt drawn before the command's output is not its end.
        self.exit_code?;
        Some((start, end))
    }

    /// The exit code of the current turn's command, once it finished and said so.
    pub(super) fn exit_code(&self) -> Option<i32> {
        self.exit_code.flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declare(marks: &mut PromptMarks, status: ProgramStatus) -> MarkEffect {
        marks.observe(&PlacedMark {
            mark: Mark::Status(status),
            row: 0,
            col: 0,
        })
    }

    #[test]
    fn a_late_turn_end_belongs_to_the_turn_that_ended_without_it() {
        let mut marks = PromptMarks::default();
        marks.turn_started();
        // Before the program ever declared a turn's end, nothing is owed.
        assert_eq!(
            declare(&mut marks, ProgramStatus::Done),
            MarkEffect::JudgeNow
        );
        assert!(marks.turn_over_declared());
        marks.turn_started();
        assert!(
            !marks.late_turn_end_owed,
            "the last turn had its declaration"
        );
        // This turn ends on the screen alone; its declaration comes after the next message.
        marks.turn_started();
        assert_eq!(declare(&mut marks, ProgramStatus::Done), MarkEffect::None);
        assert!(
            !marks.turn_over_declared(),
            "the late one ended the new turn"
        );
        // The new turn's own declaration counts.
        assert_eq!(
            declare(&mut marks, ProgramStatus::Done),
            MarkEffect::JudgeNow
        );
        assert!(marks.turn_over_declared());
    }

    #[test]
    fn working_is_never_taken_for_a_late_turn_end() {
        let mut marks = PromptMarks::default();
        declare(&mut marks, ProgramStatus::Done);
        marks.turn_started();
        marks.turn_started();
        assert_eq!(
            declare(&mut marks, ProgramStatus::Working),
            MarkEffect::Working
        );
        assert_eq!(declare(&mut marks, ProgramStatus::Done), MarkEffect::None);
    }
}

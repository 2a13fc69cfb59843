//! The generic driver, for shells and REPLs (bash, zsh, sh, python, node, ...): the agent is
//! idle when the cursor sits right after a prompt marker (`$ `, `# `, `% `, `> `, `❯ `, ...)
//! with nothing after it, once output has settled; anything else is work in progress.

use super::{AgentDriver, Observation, TurnView, Verdict};
use crate::protocol::ShimState;

/// Characters that end a prompt (followed by at least one space before the cursor).
const PROMPT_MARKERS: &[char] = &['$', '#', '%', '>', '❯', '›', '»', '➜', ':'];

#[derive(Debug, Clone, Copy, Default)]
pub struct GenericDriver;

/// True when `before` (the cursor line up to the cursor, which sits at `cursor_col`) ends with
/// a prompt marker followed by a space.
fn is_prompt(before: &str, cursor_col: u16) -> bool {
    let text = before.trim_end();
    let spaced = usize::from(cursor_col) > text.chars().count();
    spaced && text.ends_with(PROMPT_MARKERS)
}

/// The turn's lines after the echo, trailing blank lines removed.
fn after_echo<'a>(turn: &TurnView<'a>) -> &'a [String] {
    let mut lines = &turn.lines[turn.echo_lines.min(turn.lines.len())..];
    while let Some((last, rest)) = lines.split_last()
        && last.trim().is_empty()
    {
        lines = rest;
    }
    lines
}

impl AgentDriver for GenericDriver {
    fn classify(&self, observation: &Observation<'_>) -> Verdict {
        let screen = observation.screen;
        let (before, after) = screen.cursor_line_split();
        if !screen.alternate_screen
            && after.trim().is_empty()
            && is_prompt(before, screen.cursor_col)
        {
            Verdict::Idle
        } else {
            Verdict::Working
        }
    }

    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        // After the echo, through the new prompt (the last non-blank line).
        let Some((prompt_line, output)) = after_echo(turn).split_last() else {
            return String::new();
        };
        let mut lines: Vec<&str> = output.iter().map(String::as_str).collect();
        // Output without a final newline shares its last line with the new prompt.
        let prompt = turn.prompt.trim_end();
        if let Some(unterminated) = prompt_line
            .trim_end()
            .strip_suffix(prompt)
            .filter(|rest| !prompt.is_empty() && !rest.is_empty())
        {
            lines.push(unterminated);
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }

    /// Everything after the echo: no prompt ends an interrupted turn.
    fn partial_response(&self, turn: &TurnView<'_>) -> String {
        after_echo(turn).join("\n")
    }

    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]] {
        match state {
            // End-of-file at the empty prompt.
            ShimState::Idle => &[b"\x04"],
            // Interrupt whatever runs first.
            _ => &[b"\x03", b"\x04"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shim::screen::ScreenSnapshot;
    use std::time::Duration;

    fn classify(lines: &[&str], cursor_row: u16, cursor_col: u16) -> Verdict {
        let screen = ScreenSnapshot {
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
            cursor_row,
            cursor_col,
            alternate_screen: false,
        };
        GenericDriver.classify(&Observation {
            screen: &screen,
            turn: None,
            quiet_for: Duration::from_secs(1),
        })
    }

    #[test]
    fn prompts_at_the_cursor_are_idle() {
        assert_eq!(classify(&["bash-5.2$"], 0, 10), Verdict::Idle);
        assert_eq!(classify(&["out", "root@box:~#"], 1, 12), Verdict::Idle);
        assert_eq!(classify(&[">>>"], 0, 4), Verdict::Idle);
        assert_eq!(classify(&["~ ❯"], 0, 4), Verdict::Idle);
    }

    #[test]
    fn typed_text_output_and_blank_lines_are_work() {
        assert_eq!(classify(&["bash-5.2$ sleep 2"], 0, 17), Verdict::Working);
        assert_eq!(classify(&["bash-5.2$ sleep 2", ""], 1, 0), Verdict::Working);
        assert_eq!(classify(&["Downloading 50%"], 0, 15), Verdict::Working);
        // Cursor in the middle of an edited line.
        assert_eq!(classify(&["$ echo hi"], 0, 2), Verdict::Working);
    }

    /// Extracts from a turn whose first line is the echo `PROMPTcmd`, then `lines`, then
    /// blank screen rows.
    fn extract(lines: &[&str], prompt: &str) -> String {
        let mut all = vec![format!("{prompt}cmd")];
        all.extend(lines.iter().map(|l| (*l).to_owned()));
        all.extend([String::new(), String::new()]);
        GenericDriver.extract_response(&TurnView {
            lines: &all,
            echo_lines: 1,
            message: Some("cmd"),
            prompt,
        })
    }

    #[test]
    fn response_is_between_echo_and_prompt() {
        assert_eq!(extract(&["hello", "bash$"], "bash$ "), "hello");
        assert_eq!(
            extract(&["a", "", "b", "", "", "bash$"], "bash$ "),
            "a\n\nb"
        );
        assert_eq!(extract(&["bash$"], "bash$ "), "");
        assert_eq!(extract(&[], "bash$ "), "");
    }

    #[test]
    fn unterminated_output_is_kept() {
        assert_eq!(extract(&["line", "lastbash$"], "bash$ "), "line\nlast");
    }
}

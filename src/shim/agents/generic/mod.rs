//! The generic driver, for shells and REPLs (bash, zsh, sh, python, node, ...): the agent is
//! idle when the cursor sits right after a prompt marker (`$ `, `# `, `% `, `> `, `❯ `, ...)
//! with nothing after it, once output has settled; anything else is work in progress.
//!
//! A program that prints OSC 133 semantic prompt marks is believed at once: idle when it
//! waits at its input (`B`, whatever its prompt looks like), its answer exactly the output
//! between its marks, and a message goes in with its Enter in one go (the `C` mark confirms
//! it). An interactive bash gets those marks from the shim (`bash_integration.sh`, run by its
//! first `PROMPT_COMMAND` after the user's rc files); a program that declares its state with
//! OSC 7501 is believed the same way.

use std::ffi::OsStr;
use std::path::Path;

use super::{
    Agent, AgentDriver, AgentKind, DEFAULT_CONTEXT_WINDOW, Observation, TurnView, Verdict,
};
use crate::protocol::ShimState;
use crate::shim::marks::ProgramStatus;
use crate::shim::process::ProcessSpec;

/// What bash evaluates at its first prompt to print semantic prompt marks.
const BASH_INTEGRATION: &str = include_str!("bash_integration.sh");

/// Options after which bash is still an interactive shell reading commands from its terminal
/// (and so runs `PROMPT_COMMAND`); anything else (`-c`, a script) is not integrated.
const INTERACTIVE_BASH_OPTIONS: &[&str] = &["-i", "--norc", "--noprofile", "--noediting"];

/// Whether `process` runs an interactive, non-login bash (`bash`, `bash -i --norc`, ...).
fn is_interactive_bash(process: &ProcessSpec) -> bool {
    let name = Path::new(&process.program).file_name();
    name == Some(OsStr::new("bash"))
        && process
            .args
            .iter()
            .all(|arg| INTERACTIVE_BASH_OPTIONS.iter().any(|option| arg == *option))
}

/// Characters that end a prompt (followed by at least one space before the cursor).
const PROMPT_MARKERS: &[char] = &['$', '#', '%', '>', '❯', '›', '»', '➜', ':'];

#[derive(Debug, Clone, Copy, Default)]
pub struct GenericDriver;

/// Shells and REPLs: the generic driver; the built-in `shell` profile runs `$SHELL`.
pub static AGENT: Agent = Agent {
    kind: AgentKind::Generic,
    name: "generic",
    driver: &GenericDriver,
    builtin_command: None,
    context_windows: &[],
    default_context_window: DEFAULT_CONTEXT_WINDOW,
    session_logs: None,
};

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
        let waiting = !screen.alternate_screen && after.trim().is_empty();
        let marks = observation.marks;
        let declared_idle = match marks.status {
            Some(ProgramStatus::Working) => return Verdict::Working,
            status => matches!(status, Some(ProgramStatus::Idle | ProgramStatus::Done)),
        };
        if waiting && (marks.at_input || declared_idle || is_prompt(before, screen.cursor_col)) {
            Verdict::Idle
        } else {
            Verdict::Working
        }
    }

    /// With marks, the output between them; else after the echo, through the new prompt.
    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        if let Some(output) = turn.marked_output {
            return output.to_owned();
        }
        prompt_ended_output(turn)
    }

    fn submit_with_text(&self, integrated: bool) -> bool {
        integrated
    }

    /// An interactive bash gets the semantic prompt marks (unless it is a login shell, whose
    /// profile files may not keep `PROMPT_COMMAND`).
    fn prepare_process(&self, process: &mut ProcessSpec) {
        if !is_interactive_bash(process) {
            return;
        }
        let inherited = process
            .env_set
            .iter()
            .rev()
            .find(|(key, _)| key == "PROMPT_COMMAND")
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var_os("PROMPT_COMMAND"));
        let mut prompt_command = std::ffi::OsString::from("eval \"$AGENTSHIM_BASH_INIT\"");
        if let Some(earlier) = inherited.filter(|value| !value.is_empty()) {
            prompt_command.push("; ");
            prompt_command.push(earlier);
        }
        process
            .env_set
            .push(("AGENTSHIM_BASH_INIT".into(), BASH_INTEGRATION.into()));
        process
            .env_set
            .push(("PROMPT_COMMAND".into(), prompt_command));
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

/// The output of a turn that ended at a prompt: after the echo, through the new prompt (the
/// last non-blank line), which is not part of it.
fn prompt_ended_output(turn: &TurnView<'_>) -> String {
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
            marks: Default::default(),
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
            marked_output: None,
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

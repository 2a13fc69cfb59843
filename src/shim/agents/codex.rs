//! The Codex CLI driver (`@openai/codex` 0.169.0, a ratatui TUI; on the alternate screen by
//! default, inline with `--no-alt-screen`).
//!
//! Codex keeps a live region at the bottom of its screen: while it works, a status line
//! (`• Working (2s • esc to interrupt)`, the bullet alternating `•`/`◦`, also `• Planning …`
//! and the like), then the input box, whose placeholder (`› Ask Codex to do anything`) stays
//! visible during turns too, the model line and the footer (`← for agents · ? for
//! shortcuts`). The transcript sits above it: a submitted message is echoed as `› <text>`
//! (continuation lines indented 2), the answer as `• <text>` items (continuation lines
//! indented 2; tool activity as `• Ran …` with `└ …` output), and a turn ends with
//! `  Worked for 5s • 05:41` or with an error line `■ …` (an interrupt, a 429, a full context
//! window). The status line disappears while text streams, so a turn is over only when one
//! of those end lines follows the last echo and no status line follows that.
//!
//! A turn starts at the top of the screen (`turn_start_row`), because Codex prints the echo
//! and the answer above the input box, where the message was typed; the driver finds the
//! current turn as the lines after the last echo. Startup dialogs (folder trust, sign-in,
//! model migration) and approval prompts are questions with numbered options (AwaitingInput). Enter right after
//! typed (not pasted) text is taken as a newline by Codex's paste-burst detection, so the
//! submit key waits [`SUBMIT_PAUSE`], and a message counts as accepted only once the input
//! box is empty again.

use std::time::Duration;

use super::menu::{InputPrompt, arrow_keys, is_option_line, numbered_menu};
use super::{
    Agent, AgentDriver, AgentKind, DEFAULT_CONTEXT_WINDOW, LimitNotice, Observation, TurnView,
    Verdict, limits, runs_program,
};
use crate::protocol::ShimState;
use crate::shim::marks::{ProgramStatus, status_command};
use crate::shim::process::ProcessSpec;
use crate::shim::screen::ScreenSnapshot;

/// Pause before Enter: Codex treats an Enter within 120 ms of a burst of typed characters as a
/// newline, so the pause leaves a wide margin (bracketed pastes do not need it).
const SUBMIT_PAUSE: Duration = Duration::from_millis(300);
/// Codex draws its input box before it checks the folder's trust and draws the trust dialog
/// over it (seen live: more than the settle window apart on a loaded machine).
const READY_QUIET: Duration = Duration::from_millis(750);

/// How the input box and echoed messages begin.
const INPUT_MARK: &str = "› ";
/// Placeholders of the empty input box.
const PLACEHOLDERS: &[&str] = &["Ask Codex to do anything", "Ask a follow-up question"];
/// The footer under the empty input box.
const FOOTER: &str = "? for shortcuts";
/// The header's second line until the session is set up.
const LOADING: &str = "loading";
/// What the status line of a running turn says.
const BUSY: &str = "esc to interrupt";
/// How error lines begin; one ends the turn.
const ERROR_MARK: &str = "■ ";
/// The error that means the context window is full.
const CONTEXT_FULL: &str = "ran out of room in the model's context window";
/// The reply glyph (also of tool activity) and the indentation of continuation lines.
const REPLY_GLYPH: &str = "• ";
const INDENT: &str = "  ";

#[derive(Debug, Clone, Copy, Default)]
pub struct CodexDriver;

/// Codex CLI: its driver, run inline without a shared daemon (`--no-alt-screen`: the
/// transcript scrolls into the terminal's scrollback, where an answer longer than the screen
/// stays whole; `--no-daemon`: a `codex app-server` would outlive the agent), its rollouts
/// under `$CODEX_HOME/sessions/`. Its log states the window (`model_context_window`); the
/// table is a fallback: what Codex 0.169.0 logs for gpt-5.5 (95 % of 272k).
pub static AGENT: Agent = Agent {
    kind: AgentKind::Codex,
    name: "codex",
    driver: &CodexDriver,
    builtin_command: Some(&["codex", "--no-alt-screen", "--no-daemon"]),
    context_windows: &[("gpt-5", 258_400)],
    default_context_window: DEFAULT_CONTEXT_WINDOW,
    session_logs: Some(session_log::locate),
};

/// How a turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TurnEnd {
    /// `Worked for …`.
    Worked,
    /// `■ <message>`.
    Error(String),
}

impl TurnEnd {
    fn of(line: &str) -> Option<Self> {
        if let Some(message) = line.strip_prefix(ERROR_MARK) {
            return Some(Self::Error(message.trim().to_owned()));
        }
        is_worked_for(line).then_some(Self::Worked)
    }
}

/// `  Worked for 1m 05s • 05:41` (the duration is `<1s` or number-unit groups).
fn is_worked_for(line: &str) -> bool {
    let Some(rest) = line
        .strip_prefix(INDENT)
        .and_then(|l| l.strip_prefix("Worked for "))
    else {
        return false;
    };
    let duration = rest.split(" • ").next().unwrap_or_default();
    let unit = |group: &str| {
        let digits = group.trim_start_matches('<');
        let number = digits.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        !number.is_empty()
            && number.len() < digits.len()
            && number.chars().all(|c| c.is_ascii_digit())
    };
    !duration.is_empty() && duration.split(' ').all(unit)
}

/// The status line of a running turn: `• Working (2s • esc to interrupt)`.
fn is_status(line: &str) -> bool {
    (line.starts_with("• ") || line.starts_with("◦ ")) && line.contains(BUSY)
}

/// The empty input box.
fn is_empty_input(line: &str) -> bool {
    line.strip_prefix(INPUT_MARK)
        .is_some_and(|text| PLACEHOLDERS.contains(&text.trim()))
}

/// Where the parts of a Codex screen (or turn) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// The input box: the last line starting with `› `.
    input: usize,
    /// The echo of the last message above it, if it is in view.
    echo: Option<usize>,
    /// The first line after the echo's continuation lines: where the turn's output begins.
    body: usize,
}

impl Layout {
    fn of(lines: &[String]) -> Option<Self> {
        let input = lines.iter().rposition(|l| l.starts_with(INPUT_MARK))?;
        let echo = lines[..input]
            .iter()
            .rposition(|l| l.starts_with(INPUT_MARK));
        // The echo goes on with indented (or blank) lines; output starts at column 0, or with
        // the indented `Worked for` line of a turn that printed nothing.
        let body = echo.map_or(0, |echo| {
            let continued = lines[echo + 1..input]
                .iter()
                .take_while(|l| l.is_empty() || (l.starts_with(INDENT) && !is_worked_for(l)))
                .count();
            echo + 1 + continued
        });
        Some(Self { input, echo, body })
    }

    /// The turn's output: the lines between the echo (or the start of the view) and the
    /// input box.
    fn turn<'a>(&self, lines: &'a [String]) -> &'a [String] {
        &lines[self.body..self.input]
    }
}

/// The last end line in `turn` and its index, unless a status line follows it (work went on).
fn turn_end(turn: &[String]) -> Option<(usize, TurnEnd)> {
    let found = turn
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, l)| TurnEnd::of(l).map(|end| (i, end)));
    let busy_from = found.as_ref().map_or(0, |(i, _)| i + 1);
    if turn[busy_from..].iter().any(|l| is_status(l)) {
        return None;
    }
    found
}

/// Key hints at the bottom of Codex's dialogs (approval, folder trust, model migration,
/// sign-in): chrome, not part of the question.
const DIALOG_HINTS: &[&str] = &[
    "Press enter to confirm or esc to cancel",
    "enter continue · esc back",
    "enter/esc confirm",
    "Press enter to continue",
];

/// A dialog that needs a human decision, known by the key hint among the bottom lines: its
/// question (the lines since the transcript above it) and its numbered options.
fn dialog_on(lines: &[String]) -> Option<InputPrompt> {
    let hint_at = |line: &str| DIALOG_HINTS.iter().any(|hint| line.contains(hint));
    let bottom = lines
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(6);
    let hint = bottom.filter(|(_, l)| hint_at(l)).map(|(i, _)| i).last()?;
    // The dialog is indented; the transcript's last column-0 line (an echo, a `• Running …`
    // cell) ends above it. Options may sit at column 0 (`› 1. Yes`).
    let start = lines[..hint]
        .iter()
        .rposition(|l| !l.starts_with(' ') && !l.trim().is_empty() && !is_option_line(l))
        .map_or(0, |i| i + 1);
    let region: Vec<&str> = lines[start..=hint].iter().map(String::as_str).collect();
    numbered_menu(&region, |line| !hint_at(line))
}

impl AgentDriver for CodexDriver {
    fn classify(&self, observation: &Observation<'_>) -> Verdict {
        let screen = &observation.screen.lines;
        if let Some(prompt) = dialog_on(screen) {
            return Verdict::AwaitingInput(prompt);
        }
        let lines = observation.turn.map_or(&screen[..], |turn| turn.lines);
        let Some(layout) = Layout::of(lines) else {
            return Verdict::Working;
        };
        let turn = layout.turn(lines);
        match turn_end(turn) {
            Some((_, TurnEnd::Error(message)))
                if observation.turn.is_some() && message.contains(CONTEXT_FULL) =>
            {
                Verdict::ContextExhausted { message }
            }
            Some(_) => Verdict::Idle,
            // No turn yet (a fresh session): ready once the empty input box and its footer
            // show, the header is done `loading` (a trust dialog may still replace the
            // screen until then) and nothing runs.
            None if layout.echo.is_none() && observation.turn.is_none() => {
                let ready = is_empty_input(&lines[layout.input])
                    && lines[layout.input..].iter().any(|l| l.contains(FOOTER))
                    && !turn.iter().any(|l| l.trim() == LOADING || is_status(l));
                if ready {
                    Verdict::Idle
                } else {
                    Verdict::Working
                }
            }
            None => Verdict::Working,
        }
    }

    /// Error lines (`■ You’ve hit your usage limit … try again at 6:52 AM.`, `■ exceeded retry
    /// limit, last status: 429 …`) in the turn, with their continuation rows.
    fn limit_notices(&self, turn: &TurnView<'_>) -> Vec<LimitNotice> {
        limits::notices(turn.lines, |line| line.strip_prefix(ERROR_MARK))
    }

    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        let Some(layout) = Layout::of(turn.lines) else {
            return String::new();
        };
        let mut answer = layout.turn(turn.lines);
        let mut error = None;
        if let Some((at, end)) = turn_end(answer) {
            answer = &answer[..at];
            if let TurnEnd::Error(message) = end {
                error = Some(message);
            }
        }
        let mut lines: Vec<&str> = answer
            .iter()
            .filter(|l| !is_status(l) && !l.trim_start().starts_with("└ Tip: "))
            .map(|l| {
                l.strip_prefix(REPLY_GLYPH)
                    .or_else(|| l.strip_prefix(INDENT))
                    .unwrap_or(l)
            })
            .collect();
        lines.extend(error.as_deref());
        while lines.first().is_some_and(|l| l.trim().is_empty()) {
            lines.remove(0);
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }

    /// The arrow keys to the option and Enter: digits pick an approval at once but only move
    /// the highlight in the folder-trust dialog, while every Codex list takes arrows and Enter.
    fn answer_keys(&self, prompt: &InputPrompt, option: usize) -> Vec<u8> {
        arrow_keys(prompt, option).unwrap_or_else(|| (option + 1).to_string().into_bytes())
    }

    fn accepted(&self, before: &ScreenSnapshot, after: &ScreenSnapshot) -> bool {
        let input_empty = |screen: &ScreenSnapshot| {
            Layout::of(&screen.lines)
                .is_some_and(|layout| is_empty_input(&screen.lines[layout.input]))
        };
        // Enter taken as a newline leaves the text in the input box.
        (!input_empty(before) && input_empty(after)) || dialog_on(&after.lines).is_some()
    }

    fn ready_quiet(&self) -> Duration {
        READY_QUIET
    }

    fn submit_pause(&self) -> Duration {
        SUBMIT_PAUSE
    }

    fn turn_start_row(&self, _screen: &ScreenSnapshot) -> u16 {
        0
    }

    /// Codex runs its `notify` program when a turn is complete: it declares the turn done on
    /// the terminal (a `-c` override; the user's config is not touched).
    fn prepare_process(&self, process: &mut ProcessSpec) {
        if !runs_program(process, "codex") {
            return;
        }
        let command = status_command(ProgramStatus::Done, "codex-notify");
        let notify = serde_json::json!(["sh", "-c", command, "agentshim-notify"]);
        process.args.push("-c".into());
        process.args.push(format!("notify={notify}").into());
    }

    /// `codex <its options> resume <session id>`: the subcommand keeps the options given
    /// before it.
    fn resume_process(&self, process: &mut ProcessSpec, session_id: &str) -> bool {
        if !runs_program(process, "codex") {
            return false;
        }
        process.args.push("resume".into());
        process.args.push(session_id.into());
        true
    }

    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]] {
        match state {
            // Ctrl+D quits from the empty input box.
            ShimState::Idle | ShimState::ContextExhausted => &[b"\x04"],
            // Ctrl+C interrupts a turn (or quits from the input box), then Ctrl+D quits.
            _ => &[b"\x03", b"\x04"],
        }
    }
}

#[cfg(test)]
mod screens;
pub(crate) mod session_log;
#[cfg(test)]
mod tests;

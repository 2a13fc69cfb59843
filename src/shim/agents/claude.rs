//! The Claude Code driver (screens of version 2.1.197; layout in `claude/layout.rs`).
//!
//! - Idle: the input box is there and empty (its footer shows `? for shortcuts`, or a mode line
//!   such as `⏵⏵ accept edits on` or a notice such as `paste again to expand` with an empty
//!   `❯` line), no spinner runs above it and the footer does not offer `esc to interrupt`.
//! - Working: a spinner above the input box or `esc to interrupt` in the footer, text in the
//!   input box, or no input box at all (starting up, redrawing).
//! - AwaitingInput: a dialog in place of the input box (workspace trust, API key approval,
//!   onboarding, permission prompts, the usage-limit menu): its question and numbered options.
//!   It is reported, never answered by itself; an answer is the option's digit.
//! - ContextExhausted: the turn is over and its last line is Claude's context-limit message
//!   (`⎿  Context limit reached · /compact or /clear to continue`, or `⎿  Prompt is too long …`
//!   when not even the first message fits), judged only below the echo of the current message.
//! - The answer: the turn's lines below the echo and above the input box, without the reply
//!   glyph `● ` and the two-space indentation of continuation rows, tool lines kept
//!   (`Bash(echo hi)`, `⎿  hi`), spinner, turn-end (`✻ Brewed for 3s`) and tip lines dropped.
//!   Claude wraps long paragraphs itself; those rows stay separate lines, as on screen.
//! - Messages go in as one bracketed paste (Claude enables it), submitted with Enter.
//! - Exit: Ctrl-C twice at the prompt (the first arms `Press Ctrl-C again to exit`). Otherwise
//!   Esc first: it interrupts a turn (putting an unanswered message back into the input box,
//!   which the next Ctrl-C clears while arming the exit) and closes a permission prompt, where
//!   Ctrl-C does nothing; at the startup trust dialog it exits by itself.

mod layout;
pub(crate) mod session_log;
#[cfg(test)]
mod tests;

use layout::{
    Bottom, REPLY_GLYPH, current_turn, input_box, is_prompt_line, is_status, is_tip, result_text,
};

use super::{
    Agent, AgentDriver, AgentKind, DEFAULT_CONTEXT_WINDOW, LimitNotice, ONE_MILLION, Observation,
    TurnView, Verdict, limits, runs_program, status_hook_settings,
};
use crate::protocol::ShimState;
use crate::shim::marks::ProgramStatus;
use crate::shim::process::ProcessSpec;
use crate::shim::screen::ScreenSnapshot;

/// Hooks of Claude Code's lifecycle that tell the shim, through the terminal, what Claude is
/// doing: each prints an OSC 7501 status record to the controlling terminal, where the shim
/// reads it in order with the screen.
const HOOKS: &[(&str, ProgramStatus)] = &[
    ("UserPromptSubmit", ProgramStatus::Working),
    ("Stop", ProgramStatus::Done),
    ("StopFailure", ProgramStatus::Error),
    ("Notification", ProgramStatus::Blocked),
];

/// `--settings` JSON with [`HOOKS`] (added to the user's own settings, never written to them).
fn hook_settings() -> String {
    status_hook_settings(HOOKS, "claude-hook", &serde_json::Map::new()).to_string()
}

/// Result lines that end a turn because the context window is full.
const CONTEXT_LIMIT: &[&str] = &["Context limit reached", "Prompt is too long"];

#[derive(Debug, Clone, Copy, Default)]
pub struct ClaudeDriver;

/// Claude Code: its driver, `claude` from PATH, Claude Code 2.1.197's model table (1M tokens
/// for the Opus 4.7/4.8, Sonnet 5, Fable 5 and Mythos 5 families and any `[1m]` model, 200k
/// for the others), its session logs under `~/.claude/projects/`.
pub static AGENT: Agent = Agent {
    kind: AgentKind::Claude,
    name: "claude",
    driver: &ClaudeDriver,
    builtin_command: Some(&["claude"]),
    context_windows: &[
        ("claude-opus-4-7", ONE_MILLION),
        ("claude-opus-4-8", ONE_MILLION),
        ("claude-sonnet-5", ONE_MILLION),
        ("claude-fable-5", ONE_MILLION),
        ("claude-mythos-5", ONE_MILLION),
        ("claude-", 200_000),
    ],
    default_context_window: DEFAULT_CONTEXT_WINDOW,
    session_logs: Some(session_log::locate),
};

/// The context-limit message, when it is the last block of the turn (chrome and blank lines
/// after it do not count), its wrapped rows joined.
fn context_limit(turn: &[String]) -> Option<String> {
    let content: Vec<&str> = turn
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty() && !is_status(l) && !is_tip(l))
        .collect();
    // The last block starts at its last result line or column-0 line.
    let head = content
        .iter()
        .rposition(|l| result_text(l).is_some() || !l.starts_with(' '))?;
    let text = result_text(content[head])?;
    if !CONTEXT_LIMIT.iter().any(|limit| text.starts_with(limit)) {
        return None;
    }
    let rows = content[head + 1..].iter().map(|row| row.trim());
    Some(
        std::iter::once(text)
            .chain(rows)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

impl AgentDriver for ClaudeDriver {
    fn classify(&self, observation: &Observation<'_>) -> Verdict {
        let lines = observation
            .turn
            .map_or(observation.screen.lines.as_slice(), |turn| turn.lines);
        match Bottom::read(lines) {
            Bottom::Dialog(prompt) => Verdict::AwaitingInput(prompt),
            Bottom::Nothing => Verdict::Working,
            Bottom::Input { busy: true, .. } => Verdict::Working,
            Bottom::Input { empty, hint, .. } if empty || hint => {
                match observation
                    .turn
                    .and_then(|_| context_limit(current_turn(lines)))
                {
                    Some(message) => Verdict::ContextExhausted { message },
                    None => Verdict::Idle,
                }
            }
            Bottom::Input { .. } => Verdict::Working,
        }
    }

    /// Claude repaints its whole screen after compacting the conversation (the transcript is
    /// redrawn from the top), so the rows where the message was typed then hold only the input
    /// box: no echo of any message above it.
    fn turn_repainted(&self, turn: &TurnView<'_>) -> bool {
        input_box(turn.lines).is_some_and(|input| {
            !turn.lines[..input.top]
                .iter()
                .any(|line| is_prompt_line(line))
        })
    }

    /// Usage-limit result lines (`⎿  You've hit your session limit · resets …`), API errors
    /// (`● API Error: …`, continued on indented rows) and compaction status lines
    /// (`✻ Conversation compacted …`) anywhere in the turn: Claude runs `/rate-limit-options`
    /// by itself after a usage limit, so the limit line sits above a second echo.
    fn limit_notices(&self, turn: &TurnView<'_>) -> Vec<LimitNotice> {
        limits::notices(turn.lines, |line| {
            if let Some(text) = result_text(line) {
                return text
                    .replace('’', "'")
                    .starts_with("You've hit your")
                    .then_some(text);
            }
            if is_status(line) {
                return line.split_once(' ').map(|(_, text)| text);
            }
            line.strip_prefix(REPLY_GLYPH)
                .map(str::trim_start)
                .filter(|text| text.starts_with("API Error"))
        })
    }

    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        let mut out: Vec<String> = Vec::new();
        for line in current_turn(turn.lines) {
            if is_status(line) || is_tip(line) {
                continue;
            }
            let text = if let Some(block) = line.strip_prefix(REPLY_GLYPH) {
                block.strip_prefix(' ').unwrap_or(block).to_owned()
            } else if let Some(result) = result_text(line) {
                let indent = line.len() - line.trim_start().len();
                format!("{}⎿  {result}", " ".repeat(indent.saturating_sub(2)))
            } else {
                line.strip_prefix("  ").unwrap_or(line).to_owned()
            };
            // Dropped chrome leaves blank rows behind: keep one between blocks.
            let blank = text.trim().is_empty();
            if !(blank && out.last().is_none_or(|l| l.is_empty())) {
                out.push(if blank { String::new() } else { text });
            }
        }
        while out.last().is_some_and(String::is_empty) {
            out.pop();
        }
        out.join("\n")
    }

    /// Taken once the input box is empty again (Enter went through), Claude works, or a
    /// dialog replaced the box; not when the text is still waiting in the box.
    fn accepted(&self, before: &ScreenSnapshot, after: &ScreenSnapshot) -> bool {
        before != after
            && match Bottom::read(&after.lines) {
                Bottom::Input { empty, busy, .. } => empty || busy,
                Bottom::Dialog(_) | Bottom::Nothing => true,
            }
    }

    /// The row of the input box's upper rule: Claude prints the echo of a submitted message
    /// there, above the box it redraws.
    fn turn_start_row(&self, screen: &ScreenSnapshot) -> u16 {
        input_box(&screen.lines)
            .and_then(|input| u16::try_from(input.top).ok())
            .map_or(screen.cursor_row, |top| top.min(screen.cursor_row))
    }

    /// Claude's own lifecycle hooks report turn edges at once (see [`HOOKS`]); only when the
    /// process runs `claude` itself.
    fn prepare_process(&self, process: &mut ProcessSpec) {
        if !runs_program(process, "claude") {
            return;
        }
        process.args.push("--settings".into());
        process.args.push(hook_settings().into());
    }

    /// `claude --resume <session id>`.
    fn resume_process(&self, process: &mut ProcessSpec, session_id: &str) -> bool {
        if !runs_program(process, "claude") {
            return false;
        }
        process.args.push("--resume".into());
        process.args.push(session_id.into());
        true
    }

    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]] {
        match state {
            ShimState::Idle | ShimState::ContextExhausted => &[b"\x03", b"\x03"],
            _ => &[b"\x1b", b"\x03", b"\x03"],
        }
    }
}

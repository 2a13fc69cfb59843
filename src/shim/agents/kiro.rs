//! The Kiro CLI driver (`kiro-cli chat`). No real Kiro CLI could be run here: its conventions
//! come from the issue and public descriptions of Kiro CLI, and are proven against the fake
//! agent (`tests/bin/fake_agent.py --kind kiro`, see `tests/fake_agent_kiro*.rs`).
//!
//! - **Idle** when the cursor sits on a prompt line (`kiro> `, `> `, `[agent] > `, `!> `) with
//!   nothing after it but the placeholder "ask a question, or describe a task", and no busy
//!   marker is among the bottom lines of the current turn: Kiro draws the placeholder while it
//!   is still initializing, so the placeholder alone is not enough.
//! - **Working** while a busy marker shows (a spinner line `Thinking...`, `Planning...`,
//!   `Applying...`, `Initializing...`; `esc to interrupt`; `Kiro is working`; the MCP start-up
//!   line), or when no prompt is at the cursor.
//! - **ContextExhausted** when the prompt is back after an error line about the context window
//!   below the echo of our message.
//! - **AwaitingInput** on a selection list (the highlighted option marked `❯`; answered with
//!   arrow keys and Enter) or a `[y/n/t]` question (answered with the letter and Enter).
//! - The **response** is what follows the echo of the message up to the next prompt line, with
//!   the reply glyph `> ` and the two-column indentation of continuation lines removed, and
//!   without rules, spinners, the status line (`◔`) or the `▸ Credits`/`▸ Time` turn-end line.

use super::menu::{InputPrompt, arrow_keys};
use super::{
    Agent, AgentDriver, AgentKind, DEFAULT_CONTEXT_WINDOW, LimitNotice, Observation, TurnView,
    Verdict, limits,
};
use crate::protocol::ShimState;

/// The input placeholder (its start; Kiro versions differ in case and punctuation).
const PLACEHOLDER: &str = "ask a question";
/// Words of a spinner line while Kiro starts or works.
const BUSY_WORDS: &[&str] = &["thinking", "planning", "applying", "initializing"];
/// Phrases that only show while Kiro is busy.
const BUSY_PHRASES: &[&str] = &[
    "esc to interrupt",
    "kiro is working",
    "mcp servers initialized",
];
/// How many non-blank lines at the bottom of the turn are judged for busy markers and dialogs.
const BOTTOM_LINES: usize = 8;
/// The marker of the highlighted option in a selection list.
const SELECTED: char = '❯';
/// The reply glyph on the first line of an answer.
const REPLY_GLYPH: &str = "> ";

#[derive(Debug, Clone, Copy, Default)]
pub struct KiroDriver;

/// Kiro CLI: its driver, `kiro-cli chat` from PATH (`kiro-cli` alone is short for it; the
/// subcommand is spelled out), no usage log.
pub static AGENT: Agent = Agent {
    kind: AgentKind::Kiro,
    name: "kiro",
    driver: &KiroDriver,
    builtin_command: Some(&["kiro-cli", "chat"]),
    context_windows: &[],
    default_context_window: DEFAULT_CONTEXT_WINDOW,
    session_logs: None,
};

/// True when `text` (trimmed) is a prompt: `>`, `kiro>`, `!>`, `[agent] ... >`.
fn is_prompt(text: &str) -> bool {
    let text = text.trim();
    text == ">"
        || text == "kiro>"
        || text.ends_with("!>")
        || (text.starts_with('[') && text.contains(']') && text.ends_with('>'))
}

/// The text typed after a prompt on `line`, when `line` is a prompt line other than a bare
/// `> ` (which is also the reply glyph).
fn after_prompt(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("kiro>") {
        return Some(rest);
    }
    let end = trimmed.find('>')?;
    let head = trimmed[..end].trim_end();
    (head.starts_with('[') || head.ends_with('!')).then(|| &trimmed[end + 1..])
}

/// True when `line` is the input line of a new prompt (where an answer ends).
fn is_input_line(line: &str) -> bool {
    after_prompt(line).is_some() || line.trim() == ">" || line.to_lowercase().contains(PLACEHOLDER)
}

/// True for a spinner or status line of a busy Kiro: a busy phrase opening the line or a
/// parenthesis or `·` part of it, or a spinner glyph (or none) and a busy word with an ellipsis.
fn is_busy(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    let mut parts = lower.split(['(', '·']).map(str::trim_start);
    if parts.any(|part| BUSY_PHRASES.iter().any(|p| part.starts_with(p))) {
        return true;
    }
    let words = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    BUSY_WORDS.iter().any(|w| {
        words
            .strip_prefix(w)
            .is_some_and(|rest| rest.starts_with("...") || rest.starts_with('…'))
    })
}

/// Lines that are never part of an answer: rules, spinners, the status line, turn-end lines.
fn is_chrome(line: &str) -> bool {
    let trimmed = line.trim();
    (!trimmed.is_empty() && trimmed.chars().all(|c| c == '─'))
        || is_busy(line)
        || trimmed.contains('◔')
        || trimmed.starts_with("▸ Credits")
        || trimmed.starts_with("▸ Time")
}

/// The last few non-blank lines of the current turn, or of the screen before any turn.
fn bottom<'a>(observation: &'a Observation<'_>) -> Vec<&'a str> {
    let lines: &[String] = match &observation.turn {
        Some(turn) => &turn.lines[after_echo(turn).min(turn.lines.len())..],
        None => &observation.screen.lines,
    };
    let mut bottom: Vec<&str> = lines
        .iter()
        .rev()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .take(BOTTOM_LINES)
        .collect();
    bottom.reverse();
    bottom
}

/// True when the cursor waits on an empty prompt (the placeholder may follow it).
fn at_prompt(observation: &Observation<'_>) -> bool {
    let screen = observation.screen;
    let (before, after) = screen.cursor_line_split();
    let spaced = usize::from(screen.cursor_col) > before.trim_end().chars().count();
    let after = after.trim();
    spaced
        && is_prompt(before)
        && (after.is_empty() || after.to_lowercase().starts_with(PLACEHOLDER))
}

/// The question waiting for a decision at the bottom: a `[y/n/t]` question (its letters are
/// the options; the lines of the turn above it say what it concerns), or a selection list whose highlighted option is marked `❯` (the lines from the
/// first option on are the options; the lines above them, the question).
fn dialog(bottom: &[&str]) -> Option<InputPrompt> {
    if let Some(at) = bottom.iter().position(|l| l.contains("[y/n")) {
        let question = bottom[at];
        let letters = question.split_once('[')?.1.split_once(']')?.0;
        // The tool and command it concerns are printed above the question.
        let shown: Vec<&str> = bottom[..=at]
            .iter()
            .filter(|l| !is_chrome(l))
            .map(|l| l.trim())
            .collect();
        return Some(InputPrompt {
            prompt: shown.join("\n"),
            options: letters.split('/').map(str::to_owned).collect(),
            selected: None,
        });
    }
    let marked = bottom
        .iter()
        .position(|l| l.trim_start().starts_with(SELECTED))?;
    // Options share the marker's column: two spaces stand in for an unselected one's marker.
    let indent = bottom[marked].len() - bottom[marked].trim_start().len();
    let is_option = |line: &&str| {
        line.get(..indent)
            .is_some_and(|lead| lead.trim().is_empty())
            && line.get(indent..).is_some_and(|rest| {
                rest.starts_with(SELECTED) || (rest.starts_with("  ") && !rest.trim().is_empty())
            })
    };
    let first = bottom[..marked]
        .iter()
        .rposition(|l| !is_option(l))
        .map_or(0, |i| i + 1);
    let last = bottom[marked..]
        .iter()
        .position(|l| !is_option(l))
        .map_or(bottom.len(), |i| marked + i);
    let options = bottom[first..last]
        .iter()
        .map(|l| {
            l.trim_start()
                .trim_start_matches(SELECTED)
                .trim()
                .to_owned()
        })
        .collect();
    // The title right above the options asks the question.
    let question = first
        .checked_sub(1)
        .map_or("", |title| bottom[title].trim());
    Some(InputPrompt {
        prompt: question.to_owned(),
        options,
        selected: Some(marked - first),
    })
}

/// The text of an error line (`✗ …`, `✘ …`, `× …`, `Error: …`) without its mark.
fn error_text(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    trimmed
        .strip_prefix(['✗', '✘', '×'])
        .or_else(|| trimmed.strip_prefix("Error:"))
        .map(str::trim)
}

/// The context-window error in `lines`, without its error mark.
fn context_error(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let message = error_text(line)?;
        message
            .to_lowercase()
            .contains("context window")
            .then(|| message.to_owned())
    })
}

/// Text without whitespace, for comparing an echo that was wrapped and indented.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Index of the first line after the echo of the turn's message: the first prompt line whose
/// text, with the lines after it, spells the message. Without a match, after the lines the
/// actor saw typed in place.
fn after_echo(turn: &TurnView<'_>) -> usize {
    let Some(wanted) = turn.message.map(squash).filter(|m| !m.is_empty()) else {
        return turn.echo_lines;
    };
    for (start, line) in turn.lines.iter().enumerate() {
        let Some(mut seen) = after_prompt(line).map(squash) else {
            continue;
        };
        let mut next = start + 1;
        while seen.len() < wanted.len() && wanted.starts_with(&seen) && next < turn.lines.len() {
            seen.push_str(&squash(&turn.lines[next]));
            next += 1;
        }
        if seen == wanted {
            return next;
        }
    }
    turn.echo_lines
}

/// An answer line without the reply glyph or the continuation indentation.
fn strip_reply(line: &str) -> &str {
    line.strip_prefix(REPLY_GLYPH)
        .or_else(|| line.strip_prefix("  "))
        .unwrap_or(line)
}

impl AgentDriver for KiroDriver {
    fn classify(&self, observation: &Observation<'_>) -> Verdict {
        let bottom = bottom(observation);
        if bottom.iter().any(|l| is_busy(l)) {
            return Verdict::Working;
        }
        if !at_prompt(observation) {
            return dialog(&bottom).map_or(Verdict::Working, Verdict::AwaitingInput);
        }
        let answer = observation
            .turn
            .as_ref()
            .map(|turn| &turn.lines[after_echo(turn).min(turn.lines.len())..]);
        match answer.and_then(context_error) {
            Some(message) => Verdict::ContextExhausted { message },
            None => Verdict::Idle,
        }
    }

    /// Error lines (`✗ …`, `Error: …`) after the echo that report a quota or a rate limit.
    fn limit_notices(&self, turn: &TurnView<'_>) -> Vec<LimitNotice> {
        let after = &turn.lines[after_echo(turn).min(turn.lines.len())..];
        limits::notices(after, error_text)
    }

    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        let body = &turn.lines[after_echo(turn).min(turn.lines.len())..];
        let end = body
            .iter()
            .rposition(|l| is_input_line(l))
            .unwrap_or(body.len());
        let mut lines: Vec<&str> = body[..end]
            .iter()
            .filter(|l| !is_chrome(l))
            .map(|l| strip_reply(l))
            .collect();
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let first = lines
            .iter()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(lines.len());
        lines[first..].join("\n")
    }

    /// A `[y/n/t]` question takes the letter and Enter; a selection list moves its highlight
    /// with the arrow keys and takes Enter.
    fn answer_keys(&self, prompt: &InputPrompt, option: usize) -> Vec<u8> {
        arrow_keys(prompt, option).unwrap_or_else(|| {
            let letter = prompt.options.get(option).map_or("", String::as_str);
            [letter.as_bytes(), b"\r"].concat()
        })
    }

    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]] {
        match state {
            ShimState::Idle => &[b"/quit", b"\r"],
            // Interrupt the turn, then Ctrl-C twice at the empty prompt.
            _ => &[b"\x03", b"\x03", b"\x03"],
        }
    }
}

#[cfg(test)]
#[path = "kiro_tests.rs"]
mod tests;

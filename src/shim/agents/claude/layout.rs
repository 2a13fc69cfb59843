//! How Claude Code 2.1.197 lays out its screen, read back from text lines.
//!
//! From the bottom up: a footer (`? for shortcuts · ← for agents` when idle, `esc to interrupt
//! · …` while working), the input box between two full-width `─` rules with `❯ ` on its first
//! line, and above it the transcript. In the transcript, column 0 holds only the user's echo
//! (`❯ text`, continuation lines indented 2), reply and tool blocks (`● text`, continuation lines
//! indented 2, tool results as `  ⎿  …`) and status lines led by a spinner glyph (the spinner
//! `✢ Verb… (6s · ↓ 4 tokens)`, the turn end `✻ Verb for 3s`, `✻ Conversation compacted …`).
//! Tips (`  ⎿  Tip: …`) sit under the spinner. Dialogs (workspace trust, API key approval,
//! permission prompts, menus) replace the input box: a `─` rule and the dialog below it.

use crate::shim::agents::menu::{InputPrompt, numbered_menu};

/// Glyphs that lead Claude's status lines (the spinner cycles through them).
const STATUS_GLYPHS: &[char] = &['·', '✢', '✳', '✶', '✻', '✽', '*'];

/// The reply/tool block glyph.
pub(super) const REPLY_GLYPH: char = '●';

/// The prompt glyph: the input line and the echo of a submitted message.
const PROMPT: &str = "❯";

/// Leads tool results, errors and tips under a block.
const RESULT_GLYPH: char = '⎿';

/// The shortest run of `─` taken for a rule of the input box or a dialog (they span the width).
const MIN_RULE_CHARS: usize = 20;

/// A line made only of `─`, as wide as a box rule.
fn is_rule(line: &str) -> bool {
    line.chars().count() >= MIN_RULE_CHARS && line.chars().all(|c| c == '─')
}

/// A status line: a spinner glyph at column 0, then a space.
pub(super) fn is_status(line: &str) -> bool {
    let mut chars = line.chars();
    chars.next().is_some_and(|c| STATUS_GLYPHS.contains(&c)) && chars.next() == Some(' ')
}

/// A spinner line (the turn is still running): `✢ Verb… (…)` or an API retry countdown.
fn is_spinner(line: &str) -> bool {
    is_status(line) && (line.contains('…') || line.contains("Retrying in"))
}

/// The text after a result glyph (`  ⎿  text`), with the no-break space Claude puts after the
/// glyph read as a space.
pub(super) fn result_text(line: &str) -> Option<&str> {
    line.trim_start()
        .strip_prefix(RESULT_GLYPH)
        .map(|rest| rest.trim_start_matches([' ', '\u{a0}']))
}

/// A tip under the spinner: chrome.
pub(super) fn is_tip(line: &str) -> bool {
    result_text(line).is_some_and(|text| text.starts_with("Tip:"))
}

/// The echo of a submitted message (or the input line): `❯` at column 0.
pub(super) fn is_prompt_line(line: &str) -> bool {
    line.starts_with(PROMPT)
}

/// A continuation row of a multi-line echo: indented, and neither a result line nor a
/// collapsed tool call.
fn is_echo_continuation(line: &str) -> bool {
    line.starts_with("  ") && result_text(line).is_none() && !is_collapsed_call(line)
}

/// Claude Code 2.x's one-line summary of an MCP tool call, indented like an echo row:
/// `  Calling agentshim… (ctrl+o to expand)` while it runs, `  Called agentshim (ctrl+o to
/// expand)` after.
fn is_collapsed_call(line: &str) -> bool {
    let line = line.trim();
    (line.starts_with("Calling ") || line.starts_with("Called "))
        && line.ends_with("(ctrl+o to expand)")
}

/// The input box and what is below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InputBox {
    /// Index of the rule above the input.
    pub(super) top: usize,
    /// Index of the rule below the input.
    pub(super) bottom: usize,
}

/// Finds the input box: the last two rules with a `❯` line right under the upper one.
pub(super) fn input_box(lines: &[String]) -> Option<InputBox> {
    let bottom = lines.iter().rposition(|l| is_rule(l))?;
    let top = lines[..bottom].iter().rposition(|l| is_rule(l))?;
    is_prompt_line(&lines[top + 1]).then_some(InputBox { top, bottom })
}

/// What the bottom of the screen says about Claude's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bottom {
    /// The input box is there. `empty`: nothing typed in it; `busy`: a spinner runs above it or
    /// the footer offers `esc to interrupt`; `hint`: the footer shows `? for shortcuts`.
    Input {
        empty: bool,
        busy: bool,
        hint: bool,
    },
    /// No input box: a dialog (its description), or nothing recognisable (starting, redrawing).
    Dialog(InputPrompt),
    Nothing,
}

impl Bottom {
    /// Reads the bottom of `lines` (a screen, or a turn's lines through the bottom of the screen).
    pub(super) fn read(lines: &[String]) -> Self {
        let Some(input) = input_box(lines) else {
            return dialog(lines).map_or(Bottom::Nothing, Bottom::Dialog);
        };
        let typed = &lines[input.top + 1..input.bottom];
        let empty = typed
            .iter()
            .map(|line| line.trim())
            .enumerate()
            .all(|(i, line)| {
                if i == 0 {
                    line == PROMPT
                } else {
                    line.is_empty()
                }
            });
        let footer = &lines[input.bottom + 1..];
        let footer_says = |text: &str| footer.iter().any(|l| l.contains(text));
        // The spinner is the last column-0 line above the input box (tips, todo lists and tool
        // output under it are indented).
        let spinner = lines[..input.top]
            .iter()
            .rev()
            .find(|l| !l.is_empty() && !l.starts_with(' '))
            .is_some_and(|l| is_spinner(l));
        Bottom::Input {
            empty,
            busy: spinner || footer_says("esc to interrupt"),
            hint: footer_says("? for shortcuts"),
        }
    }
}

/// Phrases of dialogs that need a decision (workspace trust, API key approval, onboarding,
/// permission prompts).
const DIALOG_PHRASES: &[&str] = &[
    "Is this a project you created or one you trust",
    "Detected a custom API key",
    "Choose the text style",
    "Do you want to proceed?",
];

/// Key hints under a menu or confirmation: chrome, not part of the question.
const DIALOG_HINTS: &[&str] = &[
    "Enter to confirm",
    "Esc to cancel",
    "Press Enter to continue",
];

/// A dialog in place of the input box: known by its phrase, or any menu with a confirmation
/// hint. Only the region below the last rule counts (the whole screen when there is no rule),
/// so a phrase quoted in the transcript above does not.
fn dialog(lines: &[String]) -> Option<InputPrompt> {
    let from = lines.iter().rposition(|l| is_rule(l)).map_or(0, |i| i + 1);
    let region: Vec<&str> = lines[from..].iter().map(String::as_str).collect();
    let shows = |phrase: &str| region.iter().any(|l| l.contains(phrase));
    if !DIALOG_PHRASES.iter().chain(DIALOG_HINTS).any(|p| shows(p)) {
        return None;
    }
    let chrome = |line: &str| DIALOG_HINTS.iter().any(|hint| line.contains(hint));
    numbered_menu(&region, |line| !chrome(line)).or_else(|| {
        let question: Vec<&str> = region
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty() && !chrome(l))
            .collect();
        Some(InputPrompt::question(question.join("\n")))
    })
}

/// The current turn's transcript lines: below the last echo (`❯ …` and its continuation rows)
/// and above the input box. When `lines` starts below the echo, or in the middle of a
/// multi-line echo, whatever is left of the echo at the top is skipped.
pub(super) fn current_turn(lines: &[String]) -> &[String] {
    let end = input_box(lines).map_or(lines.len(), |input| input.top);
    let transcript = &lines[..end];
    let start = transcript
        .iter()
        .rposition(|l| is_prompt_line(l))
        .map_or(0, |echo| echo + 1);
    let mut rest = &transcript[start..];
    // Continuation rows of the echo (a blank row belongs to it only if more echo follows).
    loop {
        match rest {
            [first, tail @ ..] if is_echo_continuation(first) => rest = tail,
            [blank, next, tail @ ..] if blank.trim().is_empty() && is_echo_continuation(next) => {
                rest = tail;
            }
            _ => return rest,
        }
    }
}

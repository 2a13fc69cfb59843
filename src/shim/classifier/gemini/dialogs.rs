//! Gemini CLI's dialogs: boxes (`│`, possibly nested) that ask for a decision (folder trust,
//! authentication, tool approval, the usage-limit modal), read as a question and its options.

use crate::shim::classifier::menu::{InputPrompt, numbered_menu};

/// Screen text of dialogs that need a human decision (folder trust, authentication, tool
/// approval, the usage-limit modal).
const DIALOG_PHRASES: &[&str] = &[
    "Do you trust the files in this folder?",
    "How would you like to authenticate",
    "Allow execution of",
    USAGE_LIMIT,
];

/// The title of the usage-limit modal.
pub(super) const USAGE_LIMIT: &str = "Usage limit reached";

/// The dialog shown on `screen`, if any: a `│` box (boxes may nest) with one of the dialog
/// phrases in a row; its rows without borders give the question and the numbered options.
pub(super) fn dialog_on(screen: &[String]) -> Option<InputPrompt> {
    let boxed = |l: &String| l.trim_start().starts_with('│');
    let at = screen
        .iter()
        .rposition(|l| boxed(l) && DIALOG_PHRASES.iter().any(|p| l.contains(p)))?;
    let top = screen[..at]
        .iter()
        .rposition(|l| !boxed(l))
        .map_or(0, |i| i + 1);
    let bottom = screen[at..]
        .iter()
        .position(|l| !boxed(l))
        .map_or(screen.len(), |i| at + i);
    let rows: Vec<&str> = screen[top..bottom]
        .iter()
        .filter_map(|l| box_row(l))
        .collect();
    numbered_menu(&rows, |_| true).or_else(|| Some(InputPrompt::question(rows.join("\n"))))
}

/// The text of a row inside a `│` box (inner boxes unwrapped), `None` for borders and blanks.
fn box_row(line: &str) -> Option<&str> {
    let mut row = line.trim();
    while let Some(inner) = row.strip_prefix('│') {
        row = inner.strip_suffix('│').unwrap_or(inner).trim();
    }
    let border = row.starts_with(['╭', '╰']) && row.chars().skip(1).all(|c| "─╮╯".contains(c));
    (!row.is_empty() && !border).then_some(row)
}

//! Gemini CLI's dialogs: boxes (`│`, possibly nested) that ask for a decision (folder trust,
//! authentication, tool approval, the usage-limit modal), read as a question and its options.

use crate::shim::agents::menu::{InputPrompt, numbered_menu};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn nested_boxes_give_the_question_and_its_options() {
        let auth = lines(
            "╭─────────────────────────────────────────────────
│ ? Get started
│
│   How would you like to authenticate for this project?
│
│     1. Sign in with Google
│   ● 2. Use Gemini API Key
│     3. Vertex AI
╰─────────────────────────────────────────────────",
        );
        let auth = dialog_on(&auth).unwrap();
        assert_eq!(
            auth.options,
            ["Sign in with Google", "Use Gemini API Key", "Vertex AI"]
        );
        assert_eq!(auth.selected, Some(1));
        let approval = lines(
            "▄▄▄
 > run a tool
▀▀▀
╭───────────────────────────────────────────────────────────
│ ? Shell  touch fake-tool-file.txt
│ ╭─────────────────────────────────────────────────────────
│ │ touch fake-tool-file.txt
│ ╰─────────────────────────────────────────────────────────
│ Allow execution of [Shell]?
│
│ ● 1. Allow once
│   2. Allow for this session
│   3. No, suggest changes (esc)
╰───────────────────────────────────────────────────────────",
        );
        let approval = dialog_on(&approval).unwrap();
        assert_eq!(
            approval.prompt,
            "? Shell  touch fake-tool-file.txt\ntouch fake-tool-file.txt\nAllow execution of [Shell]?"
        );
        assert_eq!(
            approval.options,
            [
                "Allow once",
                "Allow for this session",
                "No, suggest changes (esc)"
            ]
        );
    }

    #[test]
    fn the_usage_limit_modal_keeps_its_reset_row() {
        let modal = lines(
            "╭──────────────────────────────────────────────
│ Usage limit reached for gemini-3.8-flash.
│ Access resets at 8:10 AM UTC.
│ /stats model for usage details
│
│ ● 1. Keep trying
│   2. Stop
╰──────────────────────────────────────────────",
        );
        let modal = dialog_on(&modal).unwrap();
        assert!(modal.prompt.contains(USAGE_LIMIT));
        assert!(modal.prompt.contains("Access resets at 8:10 AM UTC."));
        assert_eq!(modal.options, ["Keep trying", "Stop"]);
        assert!(dialog_on(&lines("│ a row that asks nothing")).is_none());
    }
}

//! Unit tests of the Kiro driver from screens of the fake agent in Kiro mode
//! (`tests/bin/fake_agent.py --kind kiro`), captured at 80 columns with `tmux capture-pane` (the
//! `kiro>` row is where the cursor was when typing began), plus the legacy prompt forms.

use super::*;
use crate::shim::screen::ScreenSnapshot;
use std::time::Duration;

const RULE: &str =
    "────────────────────────────────────────────────────────────────────────────────";

fn snapshot(rows: &[&str], cursor: (u16, u16)) -> ScreenSnapshot {
    ScreenSnapshot {
        lines: rows
            .iter()
            .map(|r| r.replace("{RULE}", RULE).trim_end().to_owned())
            .collect(),
        cursor_row: cursor.0,
        cursor_col: cursor.1,
        alternate_screen: false,
    }
}

/// Classifies `rows` with the cursor at `cursor`; with `turn`, a turn of `message` that began
/// on row `turn.0`.
fn classify(rows: &[&str], cursor: (u16, u16), turn: Option<(usize, &str)>) -> Verdict {
    let screen = snapshot(rows, cursor);
    let lines = turn.map(|(start, _)| screen.lines[start..].to_vec());
    KiroDriver.classify(&Observation {
        screen: &screen,
        turn: turn
            .zip(lines.as_ref())
            .map(|((_, message), lines)| TurnView {
                lines,
                echo_lines: 1,
                message: Some(message),
                prompt: "kiro> ",
                marked_output: None,
            }),
        quiet_for: Duration::from_millis(200),
        marks: Default::default(),
    })
}

fn extract(rows: &[&str], message: Option<&str>) -> String {
    let lines: Vec<String> = snapshot(rows, (0, 0)).lines;
    KiroDriver.extract_response(&TurnView {
        lines: &lines,
        echo_lines: usize::from(message.is_some()),
        message,
        prompt: "kiro> ",
        marked_output: None,
    })
}

const STARTING: &[&str] = &[
    "",
    " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
    "",
    "● Initializing...",
    "kiro> ask a question, or describe a task",
    "{RULE}",
    " auto · ◔ 3%",
];

const IDLE: &[&str] = &[
    "",
    " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
    "",
    "kiro> ask a question, or describe a task",
    "{RULE}",
    " auto · ◔ 3%",
];

const MESSAGE: &str = "Plan it:\nstep by step";

/// The turn of MESSAGE from its echo (row 3) on, at three moments.
const WORKING: &[&str] = &[
    "",
    " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
    "",
    "kiro> Plan it:",
    "      step by step",
    "",
    "⠴ Thinking... (esc to interrupt)",
    "{RULE}",
    " auto · ◔ 3%",
];

const STREAMING: &[&str] = &[
    "",
    " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
    "",
    "kiro> Plan it:",
    "      step by step",
    "",
    "> Two steps:",
    "",
    "  1. read the file",
    "     (indented detail)",
    "  2. done",
    "⠋ Applying... (esc to interrupt)",
    "{RULE}",
    " auto · ◔ 3%",
];

const DONE: &[&str] = &[
    "",
    " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
    "",
    "kiro> Plan it:",
    "      step by step",
    "",
    "> Two steps:",
    "",
    "  1. read the file",
    "     (indented detail)",
    "  2. done ✓",
    "",
    "▸ Credits: 0.01 • Time: 7s",
    "",
    "kiro> ask a question, or describe a task",
    "{RULE}",
    " auto · ◔ 3%",
];

#[test]
fn the_placeholder_while_initializing_is_not_ready() {
    assert_eq!(classify(STARTING, (4, 6), None), Verdict::Working);
    assert_eq!(classify(IDLE, (3, 6), None), Verdict::Idle);
}

#[test]
fn typed_text_in_the_input_is_not_idle() {
    let typed = [
        "",
        "kiro> Plan it:",
        "      step by step",
        "{RULE}",
        " auto · ◔ 3%",
    ];
    assert_eq!(classify(&typed, (2, 18), None), Verdict::Working);
}

#[test]
fn a_turn_is_working_until_the_prompt_is_back() {
    let turn = Some((3, MESSAGE));
    assert_eq!(classify(WORKING, (6, 32), turn), Verdict::Working);
    assert_eq!(classify(STREAMING, (11, 32), turn), Verdict::Working);
    assert_eq!(classify(DONE, (14, 6), turn), Verdict::Idle);
}

#[test]
fn the_answer_is_cut_between_echo_and_prompt_without_glyph_indent_or_chrome() {
    let turn = &DONE[3..];
    let expected = "Two steps:\n\n1. read the file\n   (indented detail)\n2. done ✓";
    assert_eq!(extract(turn, Some(MESSAGE)), expected);
    // The same when the echo was wrapped differently, or typed on one line.
    assert_eq!(extract(turn, Some("Plan it: step by step")), expected);
    // A turn the agent began by itself: everything since the prompt.
    assert_eq!(extract(&DONE[5..], None), expected);
}

#[test]
fn busy_words_in_the_answer_are_not_busy_markers() {
    let rows = [
        "kiro> why?",
        "",
        "> Planning is half the work; thinking... is the other half.",
        "  Press esc to interrupt it, as quoted here.",
        "",
        "kiro> ask a question, or describe a task",
    ];
    assert_eq!(classify(&rows, (5, 6), Some((0, "why?"))), Verdict::Idle);
    assert_eq!(
        extract(&rows, Some("why?")),
        "Planning is half the work; thinking... is the other half.\n\
         Press esc to interrupt it, as quoted here."
    );
}

#[test]
fn old_busy_markers_and_errors_above_the_turn_do_not_count() {
    let rows = [
        "kiro> first",
        "⠋ Thinking... (esc to interrupt)",
        "✗ Context window overflow: use /compact or /clear to continue.",
        "kiro> second",
        "",
        "> Fine.",
        "",
        "kiro> ",
    ];
    assert_eq!(classify(&rows, (7, 6), Some((3, "second"))), Verdict::Idle);
}

#[test]
fn a_context_window_error_after_the_echo_ends_the_turn() {
    let rows = [
        "kiro> again",
        "",
        "✗ Context window overflow: use /compact or /clear to continue.",
        "",
        "kiro> ask a question, or describe a task",
        "{RULE}",
        " Press Ctrl+C again to exit",
    ];
    assert_eq!(
        classify(&rows, (4, 6), Some((0, "again"))),
        Verdict::ContextExhausted {
            message: "Context window overflow: use /compact or /clear to continue.".into()
        }
    );
}

#[test]
fn a_selection_dialog_or_a_tool_question_blocks() {
    let dialog = [
        " ⢀⣴ KIRO ⣦⡀  fake Kiro CLI (agentshim test double)",
        "",
        " Trust all tools for this session?",
        "",
        "❯ Yes, I accept",
        "  No, exit",
        "{RULE}",
        " auto · ◔ 3%",
    ];
    let trust = classify(&dialog, (4, 0), None).expect_question();
    assert_eq!(trust.prompt, "Trust all tools for this session?");
    assert_eq!(trust.options, ["Yes, I accept", "No, exit"]);
    assert_eq!(trust.selected, Some(0));
    assert_eq!(KiroDriver.answer_keys(&trust, 1), b"\x1b[B\r");
    assert_eq!(KiroDriver.answer_keys(&trust, 0), b"\r");
    let question = [
        "kiro> touch a file",
        "Allow this action? Use 't' to trust (always allow) this tool for the session. [y/n/t]:",
    ];
    let question = classify(&question, (1, 86), Some((0, "touch a file"))).expect_question();
    assert_eq!(
        question.prompt,
        "Allow this action? Use 't' to trust (always allow) this tool for the session. [y/n/t]:"
    );
    assert_eq!(question.options, ["y", "n", "t"]);
    assert_eq!(KiroDriver.answer_keys(&question, 1), b"n\r");
}

#[test]
fn legacy_prompt_forms_are_prompts() {
    assert_eq!(classify(&["[default] > "], (0, 12), None), Verdict::Idle);
    assert_eq!(classify(&["[dev] 50% λ !> "], (0, 15), None), Verdict::Idle);
    assert_eq!(classify(&["> "], (0, 2), None), Verdict::Idle);
    assert_eq!(
        extract(
            &["[default] > hi", "> Hello.", "", "[default] > "],
            Some("hi")
        ),
        "Hello."
    );
}

#[test]
fn exit_is_quit_at_the_prompt_and_interrupts_otherwise() {
    assert_eq!(
        KiroDriver.exit_request(ShimState::Idle),
        [&b"/quit"[..], b"\r"]
    );
    assert_eq!(
        KiroDriver.exit_request(ShimState::Working),
        [&b"\x03"[..]; 3]
    );
}

//! Unit tests of the Codex driver on the captured screens of `screens.rs`: readiness of a
//! fresh session, turns judged only after the last echo, turn ends (`Worked for`, `■` errors,
//! a full context window), dialogs, answers cut without chrome, acceptance of a submission,
//! the exit keys.

use super::screens::*;
use super::*;

fn lines(text: &str) -> Vec<String> {
    text.strip_prefix('\n')
        .unwrap_or(text)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn snapshot(text: &str) -> ScreenSnapshot {
    let lines = lines(text);
    ScreenSnapshot {
        cursor_row: lines.iter().rposition(|l| l.starts_with("› ")).unwrap_or(0) as u16,
        cursor_col: 2,
        lines,
        alternate_screen: false,
    }
}

fn view<'a>(lines: &'a [String], message: Option<&'a str>) -> TurnView<'a> {
    TurnView {
        lines,
        echo_lines: 0,
        message,
        prompt: "",
        marked_output: None,
    }
}

/// The verdict on `text`, as the whole screen and (with `in_turn`) as the turn's lines.
fn classify(text: &str, in_turn: bool) -> Verdict {
    let screen = snapshot(text);
    CodexDriver.classify(&Observation {
        screen: &screen,
        turn: in_turn.then(|| view(&screen.lines, Some("msg"))),
        quiet_for: Duration::from_secs(1),
        marks: Default::default(),
    })
}

fn extract(text: &str) -> String {
    let lines = lines(text);
    CodexDriver.extract_response(&view(&lines, Some("msg")))
}

#[test]
fn a_fresh_session_is_ready_once_the_empty_input_box_and_footer_show() {
    assert_eq!(classify(FRESH, false), Verdict::Idle);
    assert_eq!(classify(LOADING_SCREEN, false), Verdict::Working);
    let header_only = "\n  >_ OpenAI Codex (v0.169.0)\n     loading";
    assert_eq!(classify(header_only, false), Verdict::Working);
    let no_footer = FRESH.replace("  ← for agents · ? for shortcuts", "");
    assert_eq!(classify(&no_footer, false), Verdict::Working);
    let typed = FRESH.replace("Ask Codex to do anything", "hello");
    assert_eq!(classify(&typed, false), Verdict::Working);
}

#[test]
fn a_turn_works_until_its_end_line_follows_the_last_echo() {
    assert_eq!(classify(WORKING, true), Verdict::Working);
    // The status line is gone while text streams; the earlier turn's end does not count.
    assert_eq!(classify(STREAMING_AFTER_DONE, true), Verdict::Working);
    assert_eq!(classify(STREAMING_AFTER_DONE, false), Verdict::Working);
    assert_eq!(classify(TOOL_DONE, true), Verdict::Idle);
    assert_eq!(classify(MULTI_LINE, true), Verdict::Idle);
    assert_eq!(classify(ALT_SCREEN_DONE, true), Verdict::Idle);
    assert_eq!(classify(ALT_SCREEN_REFLOW, true), Verdict::Working);
    // Work that goes on after an end line (a retry) is still work.
    let retrying = INTERRUPTED.replace(
        "\n\n› Ask Codex",
        "\n• Working (1s • esc to interrupt)\n\n› Ask Codex",
    );
    assert_eq!(classify(&retrying, true), Verdict::Working);
}

#[test]
fn an_error_line_ends_the_turn_and_a_full_context_only_the_current_one() {
    assert_eq!(classify(INTERRUPTED, true), Verdict::Idle);
    let message = "Codex ran out of room in the model's context window. Start a new thread or \
                   clear earlier history before retrying.";
    assert_eq!(
        classify(CONTEXT_FULL_SCREEN, true),
        Verdict::ContextExhausted {
            message: message.to_owned()
        }
    );
    // Seen without a turn of ours, it is an old turn's error.
    assert_eq!(classify(CONTEXT_FULL_SCREEN, false), Verdict::Idle);
    // A later turn that succeeded makes the old error history.
    let later = format!(
        "{}\n\n› next\n\n\n• fine\n\n  Worked for 2s • 05:50\n\n\n› Ask Codex to do anything\n\n  ? for shortcuts",
        CONTEXT_FULL_SCREEN
            .split("\n\n\n› Ask Codex")
            .next()
            .unwrap()
    );
    assert_eq!(classify(&later, true), Verdict::Idle);
}

#[test]
fn startup_dialogs_and_approvals_are_questions() {
    let asked = |text: &str| classify(text, false).expect_question();
    let approval = asked(APPROVAL);
    assert_eq!(
        approval.prompt,
        "Would you like to run the following command?\nEnvironment: local\n\
         Reason: The fake model wants to run this command.\n$ touch fake-tool-file.txt"
    );
    assert_eq!(
        approval.options,
        [
            "Yes, proceed (y)",
            "Yes, and don't ask again for commands that start with `touch fake-tool-file.txt` (p)",
            "No, and tell Codex what to do differently (esc)"
        ]
    );
    assert_eq!(approval.selected, Some(0));
    let trust = asked(TRUST);
    assert!(trust.prompt.contains("Trust this folder?"), "{trust:?}");
    assert_eq!(
        trust.options,
        ["Trust and continue", "Back to Agent Command Center"]
    );
    let migration = asked(MIGRATION);
    assert!(migration.prompt.starts_with("Meet GPT-6 Sol"));
    assert_eq!(migration.options, ["Try new model", "Use existing model"]);
    let sign_in = asked(SIGN_IN);
    assert!(sign_in.prompt.starts_with("Welcome to Codex"));
    assert_eq!(sign_in.options[0], "Sign in with ChatGPT");
    // A reply that quotes a dialog's words is not a dialog.
    let quoted = TOOL_DONE.replace("Tool done ✓", "Tool done: Press enter to continue");
    assert_eq!(classify(&quoted, true), Verdict::Idle);
}

#[test]
fn the_answer_is_cut_between_echo_and_end_line_without_chrome() {
    assert_eq!(
        extract(TOOL_DONE),
        "Ran echo fake-tool\n└ fake-tool\n\nTool done ✓"
    );
    assert_eq!(
        extract(MULTI_LINE),
        "Slow line one.\nSlow line two with more words to stream.\nSlow line three."
    );
    assert_eq!(
        extract(INTERRUPTED),
        "Conversation interrupted - use /feedback if something went wrong"
    );
    assert_eq!(
        extract(STREAMING_AFTER_DONE),
        "Slow line one.\nSlow line two with more"
    );
    assert_eq!(
        extract(ALT_SCREEN_DONE),
        "Ran echo fake-tool\n└ fake-tool\n\nTool done ✓"
    );
}

#[test]
fn an_answer_longer_than_the_screen_comes_back_whole() {
    let answer: Vec<String> = (1..=120)
        .map(|i| format!("Line {i} of the long answer"))
        .collect();
    let mut text =
        String::from("\n› hello there\n\n\n• Answer one ✓\n\n  Worked for <1s • 05:45\n\n\n");
    text.push_str("› long please\n\n\n");
    for (i, line) in answer.iter().enumerate() {
        text.push_str(if i == 0 { "• " } else { "  " });
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(
        "\n  Worked for <1s • 05:45\n\n\n› Ask Codex to do anything\n\n  ? for shortcuts",
    );
    assert_eq!(extract(&text), answer.join("\n"));
    assert_eq!(classify(&text, true), Verdict::Idle);
}

#[test]
fn worked_for_lines_are_recognised_by_their_shape() {
    for line in [
        "  Worked for <1s • 05:41",
        "  Worked for 5s • 05:41",
        "  Worked for 1m 05s • 05:41",
        "  Worked for 2h 03m 10s",
    ] {
        assert!(is_worked_for(line), "{line}");
    }
    for line in [
        "  Worked for the company",
        "Worked for 5s • 05:41",
        "  Worked for 5 • 05:41",
        "  Worked for ",
    ] {
        assert!(!is_worked_for(line), "{line}");
    }
}

#[test]
fn a_message_is_accepted_only_when_the_input_box_empties() {
    let typed = snapshot(&FRESH.replace("Ask Codex to do anything", "hello there"));
    // Enter taken as a newline: the text stays, one line longer.
    let newline = snapshot(&FRESH.replace("Ask Codex to do anything", "hello there\n"));
    assert!(!CodexDriver.accepted(&typed, &newline));
    assert!(CodexDriver.accepted(&typed, &snapshot(WORKING)));
    assert!(CodexDriver.accepted(&typed, &snapshot(APPROVAL)));
    assert!(!CodexDriver.accepted(&snapshot(FRESH), &snapshot(FRESH)));
}

#[test]
fn exit_is_ctrl_d_from_the_input_box_after_interrupting_work() {
    assert_eq!(CodexDriver.exit_request(ShimState::Idle), &[b"\x04"]);
    assert_eq!(
        CodexDriver.exit_request(ShimState::Working),
        &[&b"\x03"[..], &b"\x04"[..]]
    );
    assert_eq!(CodexDriver.turn_start_row(&snapshot(FRESH)), 0);
}

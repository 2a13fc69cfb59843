//! Turn endings (context limit or not), answers cut from captured turns, and the delivery and
//! exit hooks of the Claude driver.

use super::{READY, SLOW_DONE, WORKING, classify, classify_turn, lines, response, snapshot};
use crate::protocol::ShimState;
use crate::shim::agents::{AgentDriver, Verdict};

use super::super::ClaudeDriver;

/// A warm-up exchange, then a message the model refused as too long (captured under
/// agentshim; `CLAUDE_CODE_MAX_RETRIES=0`, the fake server answering 400 "prompt is too long").
const CONTEXT_SCREEN: &str = r"
 ▐▛███▜▌   Claude Code v2.1.197
▝▜█████▛▘  Opus 4.8 (1M context) · API Usage Billing
  ▘▘ ▝▝    ~/work


❯ warm up

● Warm-up answer ✓

✻ Crunched for 0s

❯ too long
  ⎿  Context limit reached · /compact or /clear to continue

✻ Churned for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";

/// The current turn's lines: from the echo of `message` to the bottom.
fn from_echo(screen: &str, message: &str) -> String {
    let echo = format!("\n❯ {message}");
    let at = screen.rfind(&echo).expect("echo on screen");
    screen[at..].to_owned()
}

#[test]
fn a_turn_ending_in_the_context_limit_exhausts_the_context() {
    let turn = from_echo(CONTEXT_SCREEN, "too long");
    assert_eq!(
        classify_turn(CONTEXT_SCREEN, &turn, "too long"),
        Verdict::ContextExhausted {
            message: "Context limit reached · /compact or /clear to continue".into()
        }
    );
    // The whole screen as the turn's lines: still judged below the last echo.
    assert!(matches!(
        classify(CONTEXT_SCREEN, "too long"),
        Verdict::ContextExhausted { .. }
    ));
    // With no turn of ours in progress, an old screen decides nothing.
    assert_eq!(super::classify_screen(CONTEXT_SCREEN), Verdict::Idle);
}

#[test]
fn the_context_limit_in_older_scrollback_or_quoted_in_an_answer_does_not() {
    // The next message was answered: the limit line above belongs to an older turn.
    let answered = format!(
        "{}\n❯ what now?\n\n● Run /compact first.\n\n✻ Brewed for 0s\n\n{}",
        CONTEXT_SCREEN.split("\n────").next().unwrap(),
        "────────────────────────────────────────\n❯\n────────────────────────────────────────\n  ? for shortcuts · ← for agents"
    );
    assert_eq!(classify(&answered, "what now?"), Verdict::Idle);
    // Quoted inside an answer, even as the answer's last row.
    let quoted = r"
❯ what does the context error look like?

● It reads:
  Context limit reached · /compact or /clear to continue

✻ Brewed for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    assert_eq!(
        classify(quoted, "what does the context error look like?"),
        Verdict::Idle
    );
    // Still working after the limit line (a compaction attempt): not over yet.
    let compacting = r"
❯ too long
  ⎿  Context limit reached · /compact or /clear to continue

✳ Compacting conversation…

────────────────────────────────────────
❯
────────────────────────────────────────
  esc to interrupt · ← for agents";
    assert_eq!(classify(compacting, "too long"), Verdict::Working);
}

#[test]
fn a_first_message_too_long_to_compact_exhausts_the_context() {
    let screen = r"
❯ too long
  ⎿  Prompt is too long · the request is ~212345 tokens (limit 200000) but this conversation is only ~1683 tokens — the rest is system prompt, tool definitions, and attachment content. A single-exchange conversation
     cannot be compacted; reduce attached files/tools or start with less context. · /clear to start fresh

✻ Cooked for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    let Verdict::ContextExhausted { message } = classify(screen, "too long") else {
        panic!("not exhausted")
    };
    assert!(message.starts_with("Prompt is too long · the request is ~212345 tokens"));
    assert!(message.ends_with("conversation cannot be compacted; reduce attached files/tools or start with less context. · /clear to start fresh"));
}

#[test]
fn answers_lose_the_glyph_indentation_and_chrome() {
    let slow = from_echo(SLOW_DONE, "Second slow");
    assert_eq!(
        response(&slow, "Second slow"),
        "Slow answer line one.\nLine two ✓ Grüße.\nLine three is last."
    );
    // Nothing answered yet: spinner and tip are chrome.
    assert_eq!(response(WORKING, "Second slow"), "");
    let wrapped = r"
❯ Wrap please

● This is a long paragraph that will certainly wrap across the terminal width because it keeps going
  which is the width of our pane here. Then a second sentence.

  - bullet one
  - bullet two

  code line
    indented code
  Done ✓

✻ Baked for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    assert_eq!(
        response(wrapped, "Wrap please"),
        "This is a long paragraph that will certainly wrap across the terminal width because it keeps going\n\
         which is the width of our pane here. Then a second sentence.\n\n- bullet one\n- bullet two\n\n\
         code line\n  indented code\nDone ✓"
    );
}

#[test]
fn tool_lines_stay_in_the_answer() {
    let turn = r"
❯ Tool please

● Bash(echo fake-tool)
  ⎿  fake-tool

● After the tool ✓

✻ Worked for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    assert_eq!(
        response(turn, "Tool please"),
        "Bash(echo fake-tool)\n⎿  fake-tool\n\nAfter the tool ✓"
    );
}

/// An MCP tool call as Claude Code 2.1 draws it (`tests/live_claude_mcp.rs`): collapsed to one
/// indented line after the echo, which is the answer's, not the echo's.
#[test]
fn a_collapsed_mcp_call_stays_in_the_answer() {
    let turn = r"
❯ Run it on the worker

  Called agentshim (ctrl+o to expand)

● The worker said mcp-42 ✓

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts";
    assert_eq!(
        response(turn, "Run it on the worker"),
        "Called agentshim (ctrl+o to expand)\n\nThe worker said mcp-42 ✓"
    );
}

#[test]
fn a_multi_line_echo_is_not_part_of_the_answer_wherever_the_turn_starts() {
    let screen = r"
❯ First line ✓ Grüße
  second line: 世界 🚀 «quoted»

  fourth line, after a blank one

● Got all four lines ✓

✻ Cooked for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  paste again to expand";
    let message =
        "First line ✓ Grüße\nsecond line: 世界 🚀 «quoted»\n\nfourth line, after a blank one";
    assert_eq!(classify(screen, message), Verdict::Idle);
    let all = lines(screen);
    for start in 0..5 {
        let turn = all[start..].join("\n");
        assert_eq!(
            response(&turn, message),
            "Got all four lines ✓",
            "from row {start}"
        );
    }
}

#[test]
fn a_long_answer_comes_back_whole() {
    let answer: Vec<String> = (1..=120)
        .map(|i| format!("Long line {i} of the answer"))
        .collect();
    let mut turn = vec!["❯ Third long".to_owned(), String::new()];
    turn.push(format!("● {}", answer[0]));
    turn.extend(answer[1..].iter().map(|l| format!("  {l}")));
    turn.extend(lines(SLOW_DONE).into_iter().skip(7));
    assert_eq!(response(&turn.join("\n"), "Third long"), answer.join("\n"));
}

#[test]
fn accepted_once_the_input_box_empties_or_work_starts() {
    let typed = snapshot(
        r"
────────────────────────────────────────
❯ Hello there
────────────────────────────────────────",
    );
    let accepted = |after: &str| ClaudeDriver.accepted(&typed, &snapshot(after));
    assert!(accepted(WORKING));
    assert!(accepted(SLOW_DONE), "a fast answer may be complete already");
    assert!(accepted("❯ Hello there\n"), "redrawing: the box is gone");
    assert!(!ClaudeDriver.accepted(&typed, &typed));
    // Enter taken as a newline: the text is still in the box.
    assert!(!accepted(
        r"
────────────────────────────────────────
❯ Hello there

────────────────────────────────────────"
    ));
}

#[test]
fn turns_start_at_the_input_box_and_exit_takes_ctrl_c_twice() {
    let ready = snapshot(READY);
    assert_eq!(ready.cursor_row, 6);
    assert_eq!(ClaudeDriver.turn_start_row(&ready), 5);
    assert_eq!(
        ClaudeDriver.exit_request(ShimState::Idle),
        &[b"\x03", b"\x03"]
    );
    assert_eq!(
        ClaudeDriver.exit_request(ShimState::Working),
        &[b"\x1b", b"\x03", b"\x03"]
    );
    assert_eq!(ClaudeDriver.submit_key(), b"\r");
}

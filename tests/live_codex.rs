//! The real Codex CLI (0.169.0) under agentshim with the Codex driver, against the fake model
//! server, inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere these tests skip loudly, or fail with `AGENTSHIM_LIVE=1`. Codex runs with the
//! built-in `codex` profile's arguments, and its config does not set `disable_paste_burst`,
//! so every submission proves that Enter submits exactly once without it.
//!
//! Inline mode (`--no-alt-screen`, as the built-in `codex` profile runs it): Ready; a one-line
//! message answered with exactly the scripted text; a slow answer that is Working throughout
//! (also while text streams and Codex shows no status line) and completes whole; a multi-line
//! unicode message submitted once, as one message; a 120-line answer returned whole; three
//! messages sent back to back answered in order, one Completion each; a full context window
//! reported as `ContextExhausted`. Codex's default alternate-screen mode: Ready, a one-line and
//! a slow answer. Ending the agent is in `live_codex_exit.rs`, timings in
//! `live_codex_measure.rs`.

use crate::support::fake_model;
use crate::support::live_codex;
use crate::support::live_shim::LiveShim;

use std::time::Duration;

use agentshim::protocol::{Event, ShimState};
use fake_model::{ErrorKind, Reply};
use live_codex::Mode;

/// A multi-line answer whose words arrive over about five seconds, after three seconds of
/// silence.
const SLOW_TEXT: &str = "Slow line one: the fake model takes its time.\n\
    Slow line two has unicode: Grüße ✓ 世界.\nSlow line three is the last line ✓";

fn slow_reply() -> Reply {
    Reply::text(SLOW_TEXT)
        .slow(Duration::from_secs(3), Duration::from_millis(300))
        .words_per_chunk(2)
}

/// Asks a one-line question and checks the answer and what the server saw.
async fn one_line(codex: &mut LiveShim) {
    let answer = "Hello from the fake model, one line ✓";
    codex.server.push(Reply::text(answer));
    let message = "Say hello in one line";
    let response = codex.ask(message).await;
    assert_eq!(response, answer, "screen:\n{}", codex.screen().await);
    let turns = codex.server.main_turns();
    assert_eq!(turns.len(), 1, "{}", codex.server.summary());
    assert_eq!(turns[0].user_text.as_deref(), Some(message));
}

/// Sends a message answered slowly: Working from delivery to the Completion, also while the
/// first lines are on screen, and the whole text at the end.
async fn slow(codex: &mut LiveShim) {
    codex.server.push(slow_reply());
    let id = codex.send("Answer slowly, please").await;
    let delivered = codex.events.delivered(&id).await;
    let streaming = codex.wait_screen("Slow line one").await;
    assert!(
        !streaming.contains("Slow line three is the last line"),
        "the answer was already complete:\n{streaming}"
    );
    let state = codex.shim.state().await.expect("state").state;
    assert_eq!(state, ShimState::Working, "while streaming:\n{streaming}");
    let (done_ms, response) = codex.events.timed_completion_of(&id).await;
    assert_eq!(response, SLOW_TEXT, "screen:\n{}", codex.screen().await);
    assert!(
        done_ms - delivered.unix_ms >= 4000,
        "completed {} ms after delivery",
        done_ms - delivered.unix_ms
    );
    let from = codex
        .events
        .seen
        .iter()
        .position(|e| e.seq == delivered.seq)
        .unwrap();
    let idles: Vec<u64> = codex.events.seen[from..]
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::StateChanged {
                    to: ShimState::Idle,
                    ..
                }
            )
        })
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        idles.len(),
        1,
        "Idle before the answer was complete: {idles:?}"
    );
}

#[tokio::test]
async fn live_codex_is_ready_and_answers_one_line() {
    if !live_codex::gate("live_codex_is_ready_and_answers_one_line") {
        return;
    }
    let mut codex = LiveShim::codex("codex-one-line", Mode::Inline).await;
    one_line(&mut codex).await;
    assert!(
        codex
            .recording_screen(1)
            .await
            .contains("Hello from the fake model")
    );
}

#[tokio::test]
async fn live_codex_slow_answer_is_working_throughout() {
    if !live_codex::gate("live_codex_slow_answer_is_working_throughout") {
        return;
    }
    let mut codex = LiveShim::codex("codex-slow", Mode::Inline).await;
    slow(&mut codex).await;
}

#[tokio::test]
async fn live_codex_multi_line_unicode_message_is_submitted_once() {
    if !live_codex::gate("live_codex_multi_line_unicode_message_is_submitted_once") {
        return;
    }
    let mut codex = LiveShim::codex("codex-multi-line", Mode::Inline).await;
    let answer = "Got your three lines ✓";
    codex.server.push(Reply::text(answer));
    let message = "First line of the message ✓\nSecond line: Grüße, 世界, emoji 🚀\n\tThird line, indented by a tab";
    let response = codex.ask(message).await;
    assert_eq!(response, answer, "screen:\n{}", codex.screen().await);
    let turns = codex.server.main_turns();
    assert_eq!(turns.len(), 1, "{}", codex.server.summary());
    assert_eq!(turns[0].user_text.as_deref(), Some(message));
    assert_eq!(
        codex
            .events
            .count(|e| matches!(e, Event::MessageDelivered { .. })),
        1
    );
}

#[tokio::test]
async fn live_codex_long_answer_comes_back_whole() {
    if !live_codex::gate("live_codex_long_answer_comes_back_whole") {
        return;
    }
    let mut codex = LiveShim::codex("codex-long", Mode::Inline).await;
    let answer: Vec<String> = (1..=120)
        .map(|i| format!("Line {i} of the long answer, with unicode ✓"))
        .collect();
    let answer = answer.join("\n");
    codex.server.push(Reply::text(&answer));
    let response = codex.ask("Give me a long answer").await;
    assert_eq!(response, answer, "screen:\n{}", codex.screen().await);
}

#[tokio::test]
async fn live_codex_three_messages_back_to_back_are_answered_in_order() {
    if !live_codex::gate("live_codex_three_messages_back_to_back_are_answered_in_order") {
        return;
    }
    let mut codex = LiveShim::codex("codex-three", Mode::Inline).await;
    let answers = ["First answer ✓", "Second answer ✓", "Third answer ✓"];
    for answer in answers {
        codex.server.push(Reply::text(answer));
    }
    let mut ids = Vec::new();
    for n in ["one", "two", "three"] {
        ids.push(codex.send(&format!("Message number {n}")).await);
    }
    for (id, answer) in ids.iter().zip(answers) {
        let (_, response) = codex.events.timed_completion_of(id).await;
        assert_eq!(response, answer, "screen:\n{}", codex.screen().await);
    }
    for id in &ids {
        let completions = codex
            .events
            .count(|e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id));
        assert_eq!(completions, 1, "completions of {id}");
    }
    let texts: Vec<Option<String>> = codex
        .server
        .main_turns()
        .into_iter()
        .map(|t| t.user_text)
        .collect();
    let expected: Vec<Option<String>> = ["one", "two", "three"]
        .iter()
        .map(|n| Some(format!("Message number {n}")))
        .collect();
    assert_eq!(texts, expected, "{}", codex.server.summary());
}

#[tokio::test]
async fn live_codex_full_context_window_is_context_exhausted() {
    if !live_codex::gate("live_codex_full_context_window_is_context_exhausted") {
        return;
    }
    let mut codex = LiveShim::codex("codex-context", Mode::Inline).await;
    codex.server.push(Reply::text("Warm-up answer ✓"));
    codex
        .server
        .push(Reply::error(ErrorKind::ContextTooLong).forever());
    assert_eq!(codex.ask("Warm up").await, "Warm-up answer ✓");
    let id = codex.send("This one overflows").await;
    codex.events.delivered(&id).await;
    let exhausted = codex
        .events
        .wait_for_envelope("ContextExhausted", |e| {
            matches!(e, Event::ContextExhausted { .. })
        })
        .await;
    let Event::ContextExhausted { message, .. } = &exhausted.event else {
        unreachable!()
    };
    assert!(message.contains("ran out of room"), "{message}");
    let state = codex.shim.state().await.expect("state").state;
    assert_eq!(state, ShimState::ContextExhausted);
}

#[tokio::test]
async fn live_codex_on_the_alternate_screen_answers_one_line_and_slowly() {
    if !live_codex::gate("live_codex_on_the_alternate_screen_answers_one_line_and_slowly") {
        return;
    }
    let mut codex = LiveShim::codex("codex-alt", Mode::AltScreen).await;
    one_line(&mut codex).await;
    slow(&mut codex).await;
}

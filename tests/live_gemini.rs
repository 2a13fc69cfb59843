//! The real Gemini CLI (0.61.0) driven by agentshim against the fake model server, inside a
//! private loopback-only network namespace (`scripts/live-agents.sh`; elsewhere these tests
//! skip loudly, or fail with `AGENTSHIM_LIVE=1`). Each test starts its own server, HOME and
//! shim, and proves one scenario of a turn:
//!
//! - a one-line message is answered with exactly the scripted text (and prints the
//!   completion-detection latency);
//! - a slow answer (first words after 4 s, then a chunk every 300 ms) keeps the shim Working
//!   until the whole text is there;
//! - multi-line messages with unicode (4 lines, and 7, which Gemini shows as a paste
//!   placeholder) reach the model once each, as one message;
//! - an answer of 120 lines (more than the 50-row screen) comes back whole;
//! - three messages sent back to back are answered in order, one Completion each;
//! - a context-window error that ends the turn is reported as ContextExhausted.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_gemini_shim;
use crate::support::live_shim::LiveShim;

use std::time::{Duration, Instant};

use crate::support::shim::EventReader;
use agentshim::protocol::{Event, ShimState};
use fake_model::{ErrorKind, Reply};
use live_agents::AgentCli;
use live_agents::LIVE_TIMEOUT;
use live_gemini_shim::{ScreenWatch, gate, say, secs, user_message};

/// Sends `body`, waits for its answer, and checks it is exactly `expected`.
async fn ask(gemini: &LiveShim, body: &str, expected: &str) {
    let answer = tokio::time::timeout(LIVE_TIMEOUT, gemini.shim.send_and_wait("test", body, None))
        .await
        .unwrap_or_else(|_| panic!("no answer to {body:?} in time"));
    let answer = match answer {
        Ok(answer) => answer,
        Err(refused) => panic!("{body:?}: {refused}\n{}", gemini.report().await),
    };
    assert_eq!(
        answer.response,
        expected,
        "wrong response\n{}",
        gemini.report().await
    );
}

#[tokio::test]
async fn live_gemini_one_line_message_is_answered() {
    if !gate("live_gemini_one_line_message_is_answered") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let reply = "Hi from the fake model ✓ — one line.";
    gemini.server.push(Reply::text(reply));
    let watch = ScreenWatch::start(&gemini.shim);
    ask(&gemini, "Say hi in one line", reply).await;
    let done = Instant::now();
    let last_change = watch.last_change_before(done).expect("the screen changed");
    say(&format!(
        "live gemini one-line: Ready after {}s; Completion {}s after the last screen change \
         (screen polled every 10 ms)",
        secs(gemini.ready_after),
        secs(done - last_change)
    ));
    let turns = gemini.server.main_turns();
    assert_eq!(turns.len(), 1, "{}", gemini.server.summary());
    assert!(
        gemini
            .recording_screen(1)
            .await
            .contains("Hi from the fake model")
    );
}

#[tokio::test]
async fn live_gemini_slow_answer_is_working_throughout() {
    if !gate("live_gemini_slow_answer_is_working_throughout") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let text = "Slow answer, line one: the fake model takes its time.\n\
                Line two has unicode: Grüße ✓ 世界.\n\nLine four is the last line of the slow answer ✓";
    gemini.server.push(
        Reply::text(text)
            .slow(Duration::from_secs(4), Duration::from_millis(300))
            .words_per_chunk(2),
    );
    let mut events = EventReader::after(&gemini.shim, gemini.shim.event_log().last_seq())
        .waiting_up_to(LIVE_TIMEOUT);
    let watch = ScreenWatch::start(&gemini.shim);
    let sent = Instant::now();
    let receipt = gemini
        .shim
        .send_message("test", "Answer slowly", None)
        .await
        .expect("send");
    let mut changes = Vec::new();
    let response = loop {
        let envelope = events.next_envelope().await;
        match &envelope.event {
            Event::StateChanged { from, to, .. } => {
                changes.push((*from, *to, sent.elapsed()));
            }
            Event::Completion {
                message_id,
                response,
                ..
            } if message_id.as_deref() == Some(receipt.id.as_str()) => {
                break response.clone();
            }
            _ => {}
        }
    };
    let done = Instant::now();
    let took = sent.elapsed();
    assert_eq!(response, text, "wrong response\n{}", gemini.report().await);
    let states: Vec<(ShimState, ShimState)> = changes.iter().map(|(f, t, _)| (*f, *t)).collect();
    assert_eq!(
        states,
        [
            (ShimState::Idle, ShimState::Working),
            (ShimState::Working, ShimState::Idle)
        ],
        "Working from the message to its Completion, nothing in between"
    );
    let working_at = changes[0].2;
    // 4 s before the first words, then 12 more chunks 300 ms apart.
    assert!(
        took >= Duration::from_secs(7),
        "completed too early: {took:?}"
    );
    let last_change = watch.last_change_before(done).expect("the screen changed");
    say(&format!(
        "live gemini slow: Working {}s after send, Completion after {}s, {}s after the last \
         screen change (screen polled every 10 ms)",
        secs(working_at),
        secs(took),
        secs(done - last_change)
    ));
}

#[tokio::test]
async fn live_gemini_multi_line_unicode_message_is_one_message() {
    if !gate("live_gemini_multi_line_unicode_message_is_one_message") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let message = "First line of the message ✓\nsecond line: Grüße, 世界, café\n\nfourth line, after a blank one";
    let reply = "Got your four-line message ✓";
    // Over 5 lines Gemini shows a paste as `[Pasted Text: 7 lines]` until it is sent.
    let long: Vec<String> = (1..=7)
        .map(|i| format!("Pasted line {i}: ✓ ünïcödé"))
        .collect();
    let long = long.join("\n");
    let long_reply = "Got your seven-line message ✓";
    gemini.server.push(Reply::text(reply));
    gemini.server.push(Reply::text(long_reply));
    ask(&gemini, message, reply).await;
    ask(&gemini, &long, long_reply).await;
    let turns: Vec<Option<String>> = gemini
        .server
        .main_turns()
        .iter()
        .map(user_message)
        .collect();
    assert_eq!(turns, [Some(message.to_owned()), Some(long)]);
}

#[tokio::test]
async fn live_gemini_answer_longer_than_the_screen_comes_back_whole() {
    if !gate("live_gemini_answer_longer_than_the_screen_comes_back_whole") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let text: Vec<String> = (1..=120)
        .map(|i| format!("Line {i} of a long answer ✓"))
        .collect();
    let text = text.join("\n");
    gemini.server.push(Reply::text(text.clone()));
    ask(&gemini, "Give me 120 lines", &text).await;
}

#[tokio::test]
async fn live_gemini_three_messages_back_to_back_answered_in_order() {
    if !gate("live_gemini_three_messages_back_to_back_answered_in_order") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    let replies = ["First answer ✓", "Second answer ✓✓", "Third answer ✓✓✓"];
    for reply in replies {
        gemini.server.push(Reply::text(reply));
    }
    let mut events = EventReader::after(&gemini.shim, gemini.shim.event_log().last_seq())
        .waiting_up_to(LIVE_TIMEOUT);
    let mut ids = Vec::new();
    for (n, ordinal) in ["one", "two", "three"].iter().enumerate() {
        let receipt = gemini
            .shim
            .send_message("test", format!("Message number {ordinal}"), None)
            .await
            .expect("send");
        assert_eq!(receipt.queued, n > 0, "only the first is typed at once");
        ids.push(receipt.id);
    }
    let mut completions = Vec::new();
    while completions.len() < replies.len() {
        if let Event::Completion {
            message_id,
            response,
            ..
        } = events.next().await
        {
            completions.push((message_id.unwrap_or_default(), response));
        }
    }
    let expected: Vec<(String, String)> = ids
        .into_iter()
        .zip(replies.iter().map(|r| (*r).to_owned()))
        .collect();
    assert_eq!(
        completions,
        expected,
        "out of order\n{}",
        gemini.report().await
    );
    let asked: Vec<Option<String>> = gemini
        .server
        .main_turns()
        .iter()
        .map(user_message)
        .collect();
    let sent: Vec<Option<String>> = ["one", "two", "three"]
        .iter()
        .map(|o| Some(format!("Message number {o}")))
        .collect();
    assert_eq!(asked, sent);
}

#[tokio::test]
async fn live_gemini_context_error_is_context_exhausted() {
    if !gate("live_gemini_context_error_is_context_exhausted") {
        return;
    }
    let gemini = LiveShim::ready(AgentCli::Gemini, "gemini").await;
    gemini.server.push(Reply::text("A first answer ✓"));
    gemini
        .server
        .push(Reply::error(ErrorKind::ContextTooLong).forever());
    ask(&gemini, "A first message", "A first answer ✓").await;
    let refused = tokio::time::timeout(
        LIVE_TIMEOUT,
        gemini
            .shim
            .send_and_wait("test", "This one is too long", None),
    )
    .await
    .expect("an outcome in time")
    .expect_err("the turn ends in the context error");
    let why = refused.error.to_string();
    assert!(
        why.contains("context window is full") && why.contains("exceeds the maximum number"),
        "{why}"
    );
    let state = gemini.shim.state().await.unwrap().state;
    assert_eq!(state, ShimState::ContextExhausted);
}

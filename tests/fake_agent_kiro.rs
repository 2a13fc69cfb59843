//! The Kiro driver under agentshim against the fake agent in Kiro mode (no real Kiro CLI is
//! available; `tests/bin/fake_agent.py --kind kiro` draws its screens): Ready only once Kiro has
//! finished initializing; a one-line message answered with exactly the scripted text; a slow
//! answer is Working throughout and completes whole; a multi-line unicode message is submitted
//! once, as one message; an answer three screens long comes back whole; three messages sent back
//! to back are answered in order, one Completion each.

use crate::support::fake_agent;
use crate::support::shim as support;

use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use fake_agent::{FakeAgent, replies};
use serde_json::json;
use support::{EventReader, ready_shim, send};

/// Starts the fake Kiro with `script` and waits for Ready.
async fn ready_kiro(
    id: &str,
    script: serde_json::Value,
) -> (FakeAgent, agentshim::shim::ShimHandle, EventReader) {
    let fake = FakeAgent::new("kiro", script);
    let (shim, events) = ready_shim(fake.spec(id)).await;
    (fake, shim, events)
}

#[tokio::test]
async fn ready_comes_only_after_initializing_although_the_placeholder_shows_earlier() {
    let fake = FakeAgent::new("kiro", json!({"startup_delay": 1.5}));
    let started = Instant::now();
    let shim = agentshim::shim::spawn(fake.spec("kiro-ready")).expect("spawn");
    let mut events = EventReader::new(&shim);
    events.ready().await;
    // The fake shows `● Initializing...` under the placeholder for 1.5 s after it started.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "Ready after {:?}, while Kiro was still initializing",
        started.elapsed()
    );
    let screen = shim.capture(None).await.unwrap().content;
    assert!(
        screen.contains("kiro> ask a question, or describe a task"),
        "{screen}"
    );
    assert!(!screen.contains("Initializing"), "{screen}");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn a_one_line_message_is_answered_with_exactly_the_reply() {
    let (fake, shim, mut events) =
        ready_kiro("kiro-one", replies(&["The answer is 42, as always."], 0.3)).await;
    let id = send(&shim, "What is six times seven?").await;
    assert_eq!(
        events.completion_of(&id).await,
        "The answer is 42, as always."
    );
    assert_eq!(fake.messages(), ["What is six times seven?"]);
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn a_slow_answer_is_working_throughout_and_complete_at_the_end() {
    let text = "Slow answer, line one: the model takes its time.\n\
                Line two streams word by word: Grüße ✓ 世界.\n\
                Line three ends it.";
    let script =
        json!({"replies": [{"text": text, "delay": 3.0, "line_delay": 0.5, "word_delay": 0.05}]});
    let (_fake, shim, mut events) = ready_kiro("kiro-slow", script).await;
    let id = send(&shim, "Take your time").await;
    let delivered = events.delivered(&id).await;
    let completion = events.completion_envelope(&id).await;
    let Event::Completion { response, .. } = &completion.event else {
        unreachable!()
    };
    assert_eq!(response, text);
    // Working from delivery until the turn ended (Idle comes right before the Completion).
    let turn: Vec<&Event> = events
        .events()
        .skip_while(|e| !matches!(e, Event::MessageDelivered { .. }))
        .take_while(|e| !matches!(e, Event::Completion { .. }))
        .collect();
    let states: Vec<ShimState> = turn
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(states, [ShimState::Working, ShimState::Idle], "{turn:#?}");
    let took = completion.unix_ms - delivered.unix_ms;
    assert!(
        took >= 3000,
        "completed {took} ms after delivery: too early"
    );
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn a_multi_line_unicode_message_is_submitted_once_as_one_message() {
    let (fake, shim, mut events) =
        ready_kiro("kiro-multi", replies(&["Got all three lines."], 0.2)).await;
    let message = "First line of the message\nzweite Zeile: Grüße ✓\n第三行 🚀 done";
    let id = send(&shim, message).await;
    assert_eq!(events.completion_of(&id).await, "Got all three lines.");
    assert_eq!(fake.messages(), [message]);
    assert_eq!(
        events.count(|e| matches!(e, Event::MessageDelivered { .. })),
        1
    );
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn an_answer_longer_than_the_screen_comes_back_whole() {
    let text: String = (1..=120)
        .map(|i| format!("Line {i:03} of a long answer that scrolls past the 50-row screen."))
        .collect::<Vec<_>>()
        .join("\n");
    let script = json!({"replies": [{"text": text, "delay": 0.2, "line_delay": 0.005}]});
    let (_fake, shim, mut events) = ready_kiro("kiro-long", script).await;
    let id = send(&shim, "Print 120 lines").await;
    assert_eq!(events.completion_of(&id).await, text);
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn three_messages_sent_back_to_back_are_answered_in_order() {
    let answers = [
        "First answer.",
        "Second answer,\n  with an indented line.",
        "Third answer.",
    ];
    let (fake, shim, mut events) = ready_kiro("kiro-three", replies(&answers, 0.3)).await;
    let mut ids = Vec::new();
    for body in ["one", "two", "three"] {
        ids.push(send(&shim, body).await);
    }
    for (id, answer) in ids.iter().zip(answers) {
        assert_eq!(events.completion_of(id).await, answer);
    }
    assert_eq!(fake.messages(), ["one", "two", "three"]);
    assert_eq!(events.count(|e| matches!(e, Event::Completion { .. })), 3);
    shim.kill().await.unwrap();
}

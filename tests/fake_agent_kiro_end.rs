//! The Kiro driver's edges under agentshim, against the fake agent in Kiro mode: `Kill` and a
//! graceful `Shutdown` (at the prompt: `/quit`; in the middle of a turn: Ctrl-C to interrupt,
//! then Ctrl-C twice) leave no process; the context-window error ends the turn as
//! `ContextExhausted` and later messages are refused; a startup dialog is reported once as a
//! decision to make and never answered, so the agent is never taken as ready.

use crate::support::fake_agent;
use crate::support::shim as support;

use std::time::Duration;

use crate::support::procs::assert_all_gone;
use agentshim::protocol::{Event, ShimState, ShutdownReason};
use agentshim::shim::ShimError;
use fake_agent::{FakeAgent, replies};
use serde_json::json;
use support::{EventReader, agent_pid, ready_shim, send};

const GRACE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn kill_leaves_no_process() {
    let fake = FakeAgent::new("kiro", replies(&[], 0.0));
    let (shim, mut events) = ready_shim(fake.spec("kiro-kill")).await;
    let pid = agent_pid(&shim).await;
    assert_eq!(shim.kill().await.unwrap(), Some(137));
    assert_eq!(events.died().await, Some(137));
    assert_all_gone(pid, &[]).await;
}

#[tokio::test]
async fn shutdown_at_the_prompt_quits_and_leaves_no_process() {
    let fake = FakeAgent::new("kiro", replies(&["Done."], 0.1));
    let (shim, mut events) = ready_shim(fake.spec("kiro-quit")).await;
    let id = send(&shim, "hello").await;
    events.completion_of(&id).await;
    let pid = agent_pid(&shim).await;
    // `/quit` at the prompt: the fake exits with 0 (a signal would show as 128+N).
    let code = shim
        .shutdown(GRACE, ShutdownReason::Requested)
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    assert_eq!(events.died().await, Some(0));
    assert_all_gone(pid, &[]).await;
    assert_eq!(fake.messages(), ["hello"], "`/quit` is not a message");
}

#[tokio::test]
async fn shutdown_during_a_turn_interrupts_it_and_exits() {
    let script = json!({"replies": [{"text": "never shown", "delay": 60.0}]});
    let fake = FakeAgent::new("kiro", script);
    let (shim, mut events) = ready_shim(fake.spec("kiro-busy-quit")).await;
    let id = send(&shim, "work for a minute").await;
    events.delivered(&id).await;
    let pid = agent_pid(&shim).await;
    let code = shim
        .shutdown(GRACE, ShutdownReason::Requested)
        .await
        .unwrap();
    assert_eq!(code, Some(0), "Ctrl-C interrupts, then Ctrl-C twice exits");
    assert_all_gone(pid, &[]).await;
}

#[tokio::test]
async fn a_context_window_error_ends_the_turn_as_context_exhausted() {
    let script = json!({"replies": [{"text": "A first answer.", "delay": 0.1}, {"error": "context", "delay": 0.3}]});
    let fake = FakeAgent::new("kiro", script);
    let (shim, mut events) = ready_shim(fake.spec("kiro-context")).await;
    let first = send(&shim, "first").await;
    assert_eq!(events.completion_of(&first).await, "A first answer.");
    send(&shim, "second").await;
    let message = match events
        .wait_for("ContextExhausted", |e| {
            matches!(e, Event::ContextExhausted { .. })
        })
        .await
    {
        Event::ContextExhausted { message, .. } => message,
        _ => unreachable!(),
    };
    assert!(message.starts_with("Context window overflow"), "{message}");
    assert_eq!(
        shim.state().await.unwrap().state,
        ShimState::ContextExhausted
    );
    let refused = shim.send_message("test", "third", None).await.unwrap_err();
    assert!(
        matches!(refused.error, ShimError::Unavailable { .. }),
        "{refused:?}"
    );
    shim.kill().await.unwrap();
}

#[tokio::test]
async fn a_startup_dialog_is_asked_and_waits_for_its_answer() {
    let fake = FakeAgent::new("kiro", json!({"dialog": true}));
    let shim = agentshim::shim::spawn(fake.spec("kiro-dialog")).expect("spawn");
    let mut events = EventReader::new(&shim);
    let asked = events
        .wait_for("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    let Event::InputRequested { prompt, options } = asked else {
        unreachable!()
    };
    assert_eq!(prompt, "Trust all tools for this session?");
    assert_eq!(options, ["Yes, I accept", "No, exit"]);
    // Waiting on the dialog: not ready, and agentshim typed nothing into it.
    let screen = shim.capture(None).await.unwrap().content;
    assert!(screen.contains("❯ Yes, I accept"), "{screen}");
    assert_eq!(shim.state().await.unwrap().state, ShimState::AwaitingInput);
    assert_eq!(events.count(|e| matches!(e, Event::Ready)), 0);
    // A message waits in the queue instead of being typed into the menu.
    let queued = shim
        .send_message("test", "after the dialog", None)
        .await
        .unwrap();
    assert!(queued.queued);
    let wrong = shim.answer(3).await.unwrap_err();
    assert!(matches!(wrong, ShimError::InvalidArgument(_)), "{wrong:?}");
    assert!(wrong.to_string().contains("pick 1 to 2"), "{wrong}");
    assert_eq!(shim.answer(1).await.unwrap(), "Yes, I accept");
    events
        .wait_for("Ready", |e| matches!(e, Event::Ready))
        .await;
    let done = events
        .wait_for(
            "the queued message answered",
            |e| matches!(e, Event::Completion { message_id: Some(id), .. } if *id == queued.id),
        )
        .await;
    let Event::Completion { response, .. } = done else {
        unreachable!()
    };
    assert!(response.contains("after the dialog"), "{response}");
    let none_open = shim.answer(1).await.unwrap_err();
    assert!(
        matches!(none_open, ShimError::Unavailable { .. }),
        "{none_open:?}"
    );
    shim.kill().await.unwrap();
}

//! Questions under agentshim, against the fake agent in every kind's costume (claude, codex,
//! gemini, kiro): a permission prompt in the middle of a turn is one `InputRequested` with the
//! CLI's question and options and the state `awaiting_input`; a message sent meanwhile is
//! queued, never typed into the menu; `Answer{1}` approves (the command really runs, the shim
//! works again and the turn ends with its `Completion`), the "no" option completes the turn
//! without the file; `SendKeys` with named keys answers too, and bad options or key names are
//! refused without touching the menu.

use crate::support::fake_agent;
use crate::support::fake_questions;
use crate::support::shim as support;

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::{ShimError, ShimHandle};
use fake_agent::FakeAgent;
use fake_questions::{APPROVED_TEXT, FILE, Permission, approval_script};
use support::{EventReader, ready_shim, send};

/// The fake `kind` with the approval script, ready.
async fn asking_fake(kind: &str) -> (FakeAgent, ShimHandle, EventReader, Permission) {
    let fake = FakeAgent::new(kind, approval_script());
    let (shim, events) = ready_shim(fake.spec(&format!("{kind}-asks"))).await;
    (fake, shim, events, Permission::of(kind))
}

/// Waits for the question and checks it is the kind's permission prompt.
async fn asked(events: &mut EventReader, expected: &Permission) {
    let asked = events
        .wait_for("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    let Event::InputRequested { prompt, options } = asked else {
        unreachable!()
    };
    expected.check(&prompt, &options);
}

/// Waits for the change out of `AwaitingInput` that the answer causes.
async fn back_to_work(events: &mut EventReader) {
    events
        .wait_for("StateChanged awaiting_input -> working", |e| {
            matches!(
                e,
                Event::StateChanged {
                    from: ShimState::AwaitingInput,
                    to: ShimState::Working,
                    ..
                }
            )
        })
        .await;
}

async fn approving_runs_the_command(kind: &str) {
    let (fake, shim, mut events, expected) = asking_fake(kind).await;
    let id = send(&shim, "please touch a file").await;
    asked(&mut events, &expected).await;
    assert_eq!(shim.state().await.unwrap().state, ShimState::AwaitingInput);
    // A message sent now waits: typed into the menu it would pick an option.
    let queued = shim
        .send_message("test", "a message while asked", None)
        .await
        .unwrap();
    assert!(queued.queued, "{queued:?}");
    assert_eq!(fake.messages(), ["please touch a file"]);
    let screen = shim.capture(None).await.unwrap().content;
    assert!(screen.contains(&expected.options[0]), "{screen}");
    assert_eq!(shim.answer(1).await.unwrap(), expected.options[0]);
    back_to_work(&mut events).await;
    let response = events.completion_of(&id).await;
    assert!(response.contains(APPROVED_TEXT), "{response}");
    assert!(fake.workdir().join(FILE).exists(), "approved: {FILE} made");
    // Then the queued message goes in, whole and once.
    let second = events.completion_of(&queued.id).await;
    assert!(second.contains("a message while asked"), "{second}");
    assert_eq!(
        fake.messages(),
        ["please touch a file", "a message while asked"]
    );
    assert_eq!(
        events.count(|e| matches!(e, Event::InputRequested { .. })),
        1,
        "asked once: {:#?}",
        events.seen
    );
    shim.kill().await.unwrap();
}

async fn refusing_leaves_no_file(kind: &str) {
    let (fake, shim, mut events, expected) = asking_fake(kind).await;
    let id = send(&shim, "please touch a file").await;
    asked(&mut events, &expected).await;
    assert_eq!(shim.answer(expected.no).await.unwrap(), expected.no_text());
    back_to_work(&mut events).await;
    let response = events.completion_of(&id).await;
    assert!(!response.contains(APPROVED_TEXT), "{response}");
    assert!(!fake.workdir().join(FILE).exists(), "refused: no {FILE}");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
    shim.kill().await.unwrap();
}

async fn named_keys_answer_and_bad_input_is_refused(kind: &str) {
    let (fake, shim, mut events, expected) = asking_fake(kind).await;
    let id = send(&shim, "please touch a file").await;
    asked(&mut events, &expected).await;
    let count = expected.options.len();
    for option in [0, count as u32 + 1] {
        let error = shim.answer(option).await.unwrap_err();
        assert!(matches!(error, ShimError::InvalidArgument(_)), "{error:?}");
        assert!(
            error.to_string().contains(&format!("pick 1 to {count}")),
            "{error}"
        );
    }
    let error = shim.send_keys("<Nope>").await.unwrap_err();
    assert!(matches!(error, ShimError::InvalidArgument(_)), "{error:?}");
    assert!(error.to_string().contains("<Nope>"), "{error}");
    // Nothing of that reached the agent: the question is still open.
    assert_eq!(shim.state().await.unwrap().state, ShimState::AwaitingInput);
    let (keys, approves) = expected.keys;
    shim.send_keys(keys).await.unwrap();
    let response = events.completion_of(&id).await;
    assert_eq!(
        fake.workdir().join(FILE).exists(),
        approves,
        "after {keys}: {response}"
    );
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
    shim.kill().await.unwrap();
}

per_kind!(claude, codex, gemini, kiro => [
    approving_runs_the_command,
    refusing_leaves_no_file,
    named_keys_answer_and_bad_input_is_refused
]);

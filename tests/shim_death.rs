//! An agent that exits by itself: `exit 3` in a real bash is reported as `StateChanged` to
//! `dead` and `Died` with exit code 3, every message queued behind it gets `DeliveryFailed`,
//! later sends are refused with `AgentDead`, and what still makes sense on a dead shim
//! (status, capture, ping, kill) keeps answering.

use crate::support::shim as support;

use crate::support::procs::assert_all_gone;
use agentshim::protocol::{Event, ShimState, ShutdownReason};
use agentshim::shim::ShimError;
use std::time::Duration;
use support::{agent_pid, ready_bash, send};

#[tokio::test]
async fn exit_is_reported_with_its_code_and_queued_messages_fail() {
    let (shim, mut events) = ready_bash("exit").await;
    let pid = agent_pid(&shim).await;
    let exiting = send(&shim, "sleep 1; exit 3").await;
    events.delivered(&exiting).await;
    let behind = [
        send(&shim, "echo never-1").await,
        send(&shim, "echo never-2").await,
    ];

    // Every message ends before Died: the one that made the agent exit was delivered and its
    // turn was cut off; the queued ones never went in.
    let (reason, partial) = events.interrupted(&exiting).await;
    assert_eq!(reason, "agent exited (exit code 3)");
    // Bash says `exit` as it leaves.
    assert_eq!(partial, "exit");
    for id in &behind {
        let reason = events.failure_of(id).await;
        assert!(reason.starts_with("not delivered: "), "{reason}");
        assert!(reason.contains("exit code 3"), "{reason}");
    }
    let summary = events.died_summary().await;
    assert!(summary.contains("exit code 3"), "{summary}");
    assert_eq!(events.died().await, Some(3));
    let about_exiting = events.count(|e| match e {
        Event::DeliveryFailed { id, .. } => *id == exiting,
        Event::Completion { message_id, .. } | Event::TurnInterrupted { message_id, .. } => {
            message_id.as_deref() == Some(&exiting)
        }
        _ => false,
    });
    assert_eq!(about_exiting, 1, "one terminal event: {:#?}", events.seen);
    let died = events.count(|e| matches!(e, Event::Died { .. }));
    assert_eq!(died, 1);

    let refused = shim
        .send_message("test", "echo too-late", Some("late".to_owned()))
        .await
        .expect_err("a dead agent takes no messages");
    assert_eq!(refused.id, "late");
    assert!(
        matches!(refused.error, ShimError::AgentDead { exit_code: Some(3) }),
        "{refused:?}"
    );

    let status = shim.status().await.unwrap();
    assert_eq!(status.state.state, ShimState::Dead);
    assert_eq!(status.exit_code, Some(3));
    assert_eq!(status.queued_messages, 0);
    shim.ping().await.expect("a dead shim still answers");
    let capture = shim.capture(None).await.unwrap();
    assert!(capture.content.contains("exit 3"), "{capture:?}");
    let resize = shim.resize(24, 80).await.unwrap_err();
    assert!(
        matches!(resize, ShimError::AgentDead { exit_code: Some(3) }),
        "{resize:?}"
    );
    // Stopping an agent that is already gone just reports how it ended.
    assert_eq!(shim.kill().await.unwrap(), Some(3));
    let stopped = shim
        .shutdown(Duration::from_secs(5), ShutdownReason::Requested)
        .await;
    assert_eq!(stopped.unwrap(), Some(3));
    assert_all_gone(pid, &[]).await;
    let changes_to_dead = events.count(|e| {
        matches!(
            e,
            Event::StateChanged {
                to: ShimState::Dead,
                ..
            }
        )
    });
    assert_eq!(changes_to_dead, 1);
}

#[tokio::test]
async fn an_agent_that_fails_at_once_dies_with_its_code() {
    let spec = agentshim::shim::ShimSpec::new("instant", "sh", ["-c", "echo bye; exit 7"]);
    let shim = agentshim::shim::spawn(spec).expect("spawn sh");
    let mut events = support::EventReader::new(&shim);
    assert_eq!(events.died().await, Some(7));
    // It never showed a prompt: no Ready, and it died from Starting.
    assert_eq!(events.count(|e| matches!(e, Event::Ready)), 0);
    let from_starting = events.count(|e| {
        matches!(
            e,
            Event::StateChanged {
                from: ShimState::Starting,
                to: ShimState::Dead,
                ..
            }
        )
    });
    assert_eq!(from_starting, 1, "{:#?}", events.seen);
    let refused = shim.send_message("test", "hello", None).await.unwrap_err();
    assert!(matches!(
        refused.error,
        ShimError::AgentDead { exit_code: Some(7) }
    ));
}

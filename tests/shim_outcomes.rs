//! What a message's terminal event says is true, whatever moment a shutdown or a kill lands:
//! a real bash gets `touch FILE` and, 0 to 800 ms later, a Shutdown or a Kill. Every accepted
//! message ends in exactly one of Completion, TurnInterrupted or DeliveryFailed; a Completion
//! means the command ran (the file exists); a DeliveryFailed that says `not delivered` means it
//! did not; only `unconfirmed` and an interrupted turn may go either way.

use crate::support::shim as support;

use std::path::Path;
use std::time::Duration;

use agentshim::protocol::outcome::DeliveryFailure;
use agentshim::protocol::{Event, ShutdownReason};
use support::{EventReader, ready_bash};

/// Delays between the send and the stop: during typing, at the submit key, while the command
/// runs, after it finished.
const DELAYS_MS: [u64; 14] = [0, 0, 2, 5, 10, 20, 35, 50, 100, 150, 200, 250, 400, 800];

#[derive(Debug, Clone, Copy)]
enum Stop {
    Shutdown,
    Kill,
}

/// The terminal events of message `id` among everything read.
fn outcomes<'a>(events: &'a EventReader, id: &str) -> Vec<&'a Event> {
    events
        .events()
        .filter(|event| match event {
            Event::Completion { message_id, .. } | Event::TurnInterrupted { message_id, .. } => {
                message_id.as_deref() == Some(id)
            }
            Event::DeliveryFailed { id: failed, .. } => failed == id,
            _ => false,
        })
        .collect()
}

/// Checks that the one outcome of the message agrees with whether `file` exists; returns the
/// outcome's kind for the tally.
fn check(events: &EventReader, id: &str, file: &Path) -> &'static str {
    let found = outcomes(events, id);
    let [outcome] = found.as_slice() else {
        panic!("{id}: {} terminal events: {:#?}", found.len(), events.seen);
    };
    let ran = file.exists();
    match outcome {
        Event::Completion { .. } => {
            assert!(ran, "{id}: Completion for a command that never ran");
            "completed"
        }
        Event::TurnInterrupted { .. } => "interrupted",
        Event::DeliveryFailed { reason, .. } => match DeliveryFailure::of(reason) {
            Some(DeliveryFailure::NotDelivered) => {
                assert!(!ran, "{id}: `{reason}`, but the command ran");
                "not delivered"
            }
            Some(DeliveryFailure::Unconfirmed) => "unconfirmed",
            None => panic!("{id}: a failure that says neither: {reason}"),
        },
        _ => unreachable!(),
    }
}

async fn stop_right_after_a_send(stop: Stop) {
    let dir = tempfile::tempdir().unwrap();
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    for (round, delay) in DELAYS_MS.into_iter().enumerate() {
        let (shim, mut events) = ready_bash(&format!("{stop:?}-{round}")).await;
        let file = dir.path().join(format!("ran-{round}"));
        let id = format!("m{round}");
        shim.send_message(
            "test",
            format!("touch {}", file.display()),
            Some(id.clone()),
        )
        .await
        .expect("accepted");
        // The moment of the stop is what this test varies.
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let stopped = match stop {
            Stop::Shutdown => {
                shim.shutdown(Duration::from_secs(5), ShutdownReason::Requested)
                    .await
            }
            Stop::Kill => shim.kill().await,
        };
        stopped.expect("stopped");
        events.died().await;
        *tally.entry(check(&events, &id, &file)).or_default() += 1;
    }
    println!(
        "{stop:?} right after a send, {} rounds: {tally:?}",
        DELAYS_MS.len()
    );
}

#[tokio::test]
async fn a_shutdown_right_after_a_send_reports_what_really_happened() {
    stop_right_after_a_send(Stop::Shutdown).await;
}

#[tokio::test]
async fn a_kill_right_after_a_send_reports_what_really_happened() {
    stop_right_after_a_send(Stop::Kill).await;
}

//! The message queue against a real bash: messages sent back to back are delivered one at a time
//! in order, each with its own Completion; a busy agent queues up to 16 messages and refuses the
//! 17th with `QueueFull` (the refusal names the message), and nothing queued is lost when the
//! agent is killed: each queued message gets its `DeliveryFailed`.

use crate::support::shim as support;

use agentshim::protocol::Event;
use agentshim::shim::{DEFAULT_QUEUE_CAPACITY, ShimError};
use support::{ready_bash, send};

#[tokio::test]
async fn messages_sent_at_once_are_delivered_in_order_each_with_its_completion() {
    let (shim, mut events) = ready_bash("order").await;
    let mut receipts = Vec::new();
    // The first one keeps bash busy while the others are sent.
    for body in ["sleep 0.5; echo one", "echo two", "echo three"] {
        receipts.push(
            shim.send_message("test", body, None)
                .await
                .expect("accepted"),
        );
    }
    let queued: Vec<bool> = receipts.iter().map(|r| r.queued).collect();
    assert_eq!(queued, [false, true, true]);
    assert_eq!(shim.status().await.unwrap().queued_messages, 2);

    for (receipt, expected) in receipts.iter().zip(["one", "two", "three"]) {
        assert_eq!(events.completion_of(&receipt.id).await, expected);
    }
    // Each message was delivered once, after the previous one completed.
    let order: Vec<String> = events
        .events()
        .filter_map(|e| match e {
            Event::MessageDelivered { id } => Some(format!("delivered {id}")),
            Event::Completion {
                message_id: Some(id),
                ..
            } => Some(format!("completed {id}")),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = receipts
        .iter()
        .flat_map(|r| [format!("delivered {}", r.id), format!("completed {}", r.id)])
        .collect();
    assert_eq!(order, expected);
    assert_eq!(events.count(|e| matches!(e, Event::Completion { .. })), 3);
    assert_eq!(shim.status().await.unwrap().queued_messages, 0);
}

#[tokio::test]
async fn a_full_queue_refuses_the_next_message_and_a_kill_fails_the_queued_ones() {
    let (shim, mut events) = ready_bash("queue-bound").await;
    let busy = send(&shim, "sleep 1000").await;
    events.delivered(&busy).await;

    let mut queued_ids = Vec::new();
    for n in 0..DEFAULT_QUEUE_CAPACITY {
        let receipt = shim
            .send_message("test", format!("echo queued-{n}"), Some(format!("q{n}")))
            .await
            .unwrap_or_else(|refused| panic!("message {n} refused: {refused}"));
        assert!(receipt.queued, "{receipt:?}");
        queued_ids.push(receipt.id);
    }
    assert_eq!(shim.status().await.unwrap().queued_messages, 16);

    let refused = shim
        .send_message("test", "echo overflow", Some("overflow".to_owned()))
        .await
        .expect_err("the 17th message must be refused");
    assert_eq!(refused.id, "overflow");
    assert!(
        matches!(refused.error, ShimError::QueueFull { capacity: 16 }),
        "{refused:?}"
    );
    // Without an id, the refusal still names the one generated for it.
    let anonymous = shim.send_message("test", "echo overflow", None).await;
    assert!(anonymous.is_err_and(|r| !r.id.is_empty()));
    // Refusing changed nothing: still 16, oldest first.
    assert_eq!(shim.status().await.unwrap().queued_messages, 16);

    assert_eq!(shim.kill().await.expect("kill"), Some(137));
    for id in &queued_ids {
        events.failure_of(id).await;
    }
    let failures: Vec<&str> = events
        .events()
        .filter_map(|e| match e {
            Event::DeliveryFailed { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failures, queued_ids, "in queue order, each once");
    assert_eq!(
        events.count(|e| matches!(e, Event::MessageDelivered { .. })),
        1
    );
}

//! What a message body can and cannot do to a real bash: escape sequences and other control
//! characters in a body never reach the terminal as commands (the screen is not cleared, the
//! alternate screen is not entered, the answer shows the stripped text), a body cannot end the
//! bracketed paste early, and a multi-line body is one message with one Completion.

#[path = "support/shim.rs"]
mod support;

use agentshim::protocol::{Event, ShimState};
use support::{EventReader, PROMPT, ready_bash, run, send};

/// Number of `Completion`s seen so far, and how many of them belong to `id`.
fn completions(events: &EventReader, id: &str) -> (usize, usize) {
    let all = events.count_seen(|e| matches!(e, Event::Completion { .. }));
    let own = events
        .count_seen(|e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id));
    (all, own)
}

#[tokio::test]
async fn escape_sequences_in_a_body_do_not_reach_the_terminal() {
    let (shim, mut events) = ready_bash("escapes").await;
    assert_eq!(
        run(&shim, &mut events, "echo marker-before").await,
        "marker-before"
    );
    // Colour, clear screen, home, alternate screen, a C1 CSI, BEL and DEL: were any of them
    // echoed back raw, the screen would change or the shell would never look idle again.
    let body = "echo 'A\x1b[31mB\x1b[2J\x1b[H\x1b[?1049hC\u{9b}2JD\x07E\x7fF'";
    let response = run(&shim, &mut events, body).await;
    assert_eq!(response, "A[31mB[2J[H[?1049hC2JDEF");
    let capture = shim.capture(None).await.unwrap();
    assert!(
        capture.content.starts_with(PROMPT),
        "the screen was cleared or switched: {capture:?}"
    );
    assert!(capture.content.contains("marker-before"), "{capture:?}");
    assert!(capture.content.contains("A[31mB[2J"), "{capture:?}");
    assert!(capture.content.ends_with(PROMPT.trim_end()), "{capture:?}");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
}

#[tokio::test]
async fn a_body_cannot_end_the_bracketed_paste() {
    let (shim, mut events) = ready_bash("paste-end").await;
    // Were the end marker honoured, the newline after it would submit the first line on its
    // own and a second prompt would show up inside the answer.
    let body = "echo 'x\x1b[201~'\necho injected";
    let response = run(&shim, &mut events, body).await;
    assert_eq!(response, "x[201~\ninjected");
    let id = send(&shim, "echo next").await;
    assert_eq!(events.completion_of(&id).await, "next");
    assert_eq!(completions(&events, &id), (2, 1), "{:#?}", events.seen);
}

#[tokio::test]
async fn a_multi_line_body_is_one_message_with_one_completion() {
    let (shim, mut events) = ready_bash("multi-line").await;
    let id = send(&shim, "echo first\necho second\r\necho third").await;
    events.delivered(&id).await;
    let response = events.completion_of(&id).await;
    // Bash gets the whole paste as one input and runs each line in turn.
    assert_eq!(response, "first\nsecond\nthird");

    // Nothing more belongs to that message, and no turn started by itself.
    let next = send(&shim, "echo after").await;
    assert_eq!(events.completion_of(&next).await, "after");
    let delivered =
        events.count_seen(|e| matches!(e, Event::MessageDelivered { id: d } if *d == id));
    assert_eq!(delivered, 1, "{:#?}", events.seen);
    assert_eq!(completions(&events, &id), (2, 1), "{:#?}", events.seen);
}

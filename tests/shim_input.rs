//! What a message body can and cannot do to a real bash: escape sequences and other control
//! characters in a body never reach the terminal, neither as commands nor as left-over text
//! (the screen is not cleared, the alternate screen is not entered, nothing of a sequence is
//! typed, the client is told what was removed), a body cannot end the bracketed paste early, a
//! multi-line body is one message with one Completion, and trailing newlines end the body.

use crate::support::shim as support;

use agentshim::protocol::{Event, ShimState};
use support::{EventReader, PROMPT, ready_bash, run, send};

/// Number of `Completion`s seen so far, and how many of them belong to `id`.
fn completions(events: &EventReader, id: &str) -> (usize, usize) {
    let all = events.count(|e| matches!(e, Event::Completion { .. }));
    let own =
        events.count(|e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id));
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
    let receipt = shim.send_message("test", body, None).await.unwrap();
    assert_eq!(
        receipt.removed.as_deref(),
        Some("4 CSI sequences, 3 control characters")
    );
    let response = events.completion_of(&receipt.id).await;
    assert_eq!(response, "ABC2JDEF");
    let warned = events.count(|e| {
        matches!(e, Event::Warning { message, .. }
            if message.contains(&receipt.id) && message.contains("4 CSI sequences"))
    });
    assert_eq!(warned, 1, "{:#?}", events.seen);
    // An OSC's text is not typed as a command of its own.
    let response = run(&shim, &mut events, "echo T1 \x1b]0;x\x07 end").await;
    assert_eq!(response, "T1 end");
    let capture = shim.capture(None).await.unwrap();
    assert!(
        capture.content.starts_with(PROMPT),
        "the screen was cleared or switched: {capture:?}"
    );
    assert!(capture.content.contains("marker-before"), "{capture:?}");
    assert!(capture.content.contains("ABC2JDEF"), "{capture:?}");
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
    assert_eq!(response, "x\ninjected");
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
    let delivered = events.count(|e| matches!(e, Event::MessageDelivered { id: d } if *d == id));
    assert_eq!(delivered, 1, "{:#?}", events.seen);
    assert_eq!(completions(&events, &id), (2, 1), "{:#?}", events.seen);
}

#[tokio::test]
async fn trailing_newlines_end_the_body() {
    let (shim, mut events) = ready_bash("trailing-newline").await;
    // As `echo 'seq 1 3' | agentshim send s -` sends it: the newline is not a second Enter.
    assert_eq!(run(&shim, &mut events, "seq 1 3\n").await, "1\n2\n3");
    assert_eq!(run(&shim, &mut events, "echo x\r\n\n").await, "x");
}

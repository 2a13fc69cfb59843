//! The shim's terminal against a real bash: output longer than the screen and lines wider than
//! it come back whole in the Completion (read from the scrollback, wrapped rows joined),
//! `CaptureScreen` shows the prompt and reaches into the scrollback, and `Resize` reaches both
//! the program (`tput`) and the capture, while a zero size is refused.

use crate::support::shim as support;

use agentshim::shim::ShimError;
use support::{PROMPT, bash_spec, ready_bash, ready_shim, run};

fn numbers(from: u32, to: u32) -> String {
    (from..=to)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn output_much_longer_than_the_screen_comes_back_whole() {
    let (shim, mut events) = ready_shim(bash_spec("long").size(24, 80)).await;
    let response = run(&shim, &mut events, "seq 1 3000").await;
    assert_eq!(response.lines().count(), 3000);
    assert_eq!(response, numbers(1, 3000));
    // The next turn starts after this one: nothing of it leaks in.
    assert_eq!(run(&shim, &mut events, "echo next").await, "next");
}

#[tokio::test]
async fn output_longer_than_the_history_is_marked_truncated() {
    let (shim, mut events) = ready_shim(bash_spec("cut").size(24, 80).scrollback(100)).await;
    let answer = shim
        .send_and_wait("test", "seq 1 1000", Some("long".into()))
        .await
        .unwrap();
    // 124 rows are kept: the echo, 1000 numbers and the prompt make 1002.
    assert_eq!(answer.truncated, Some((878, 0)));
    assert_eq!(answer.response, numbers(878, 1000));
    events.completion_of("long").await;
    let order: Vec<&str> = events.events().map(|e| e.name()).collect();
    let at = order
        .iter()
        .position(|n| *n == "ResponseTruncated")
        .unwrap();
    assert_eq!(order[at + 1], "Completion", "{order:?}");
}

#[tokio::test]
async fn lines_wider_than_the_screen_come_back_as_one_line() {
    let (shim, mut events) = ready_shim(bash_spec("wide").size(24, 80)).await;
    // 125 four-digit numbers: 500 characters on one line, wrapped over 7 rows.
    let wide: String = (1000..1125).map(|n| n.to_string()).collect();
    assert_eq!(wide.len(), 500);
    let response = run(&shim, &mut events, "printf '%s' {1000..1124}; echo").await;
    assert_eq!(response, wide);
    // Twice, with a short line between: the joins stop at real line ends.
    let response = run(
        &shim,
        &mut events,
        "printf '%s' {1000..1124}; echo; echo mid; printf '%s' {1000..1124}; echo",
    )
    .await;
    assert_eq!(response, format!("{wide}\nmid\n{wide}"));
}

#[tokio::test]
async fn a_command_wider_than_the_screen_is_echoed_then_answered() {
    let (shim, mut events) = ready_shim(bash_spec("wide-input").size(24, 80)).await;
    let word: String = "abcdefghij".repeat(20);
    let response = run(&shim, &mut events, &format!("echo {word}")).await;
    assert_eq!(response, word);
}

#[tokio::test]
async fn capture_shows_the_prompt() {
    let (shim, _events) = ready_bash("capture").await;
    let capture = shim.capture(None).await.unwrap();
    assert!(capture.content.ends_with(PROMPT.trim_end()), "{capture:?}");
    assert_eq!(capture.cursor_col as usize, PROMPT.len());
    assert_eq!((capture.rows, capture.cols), (50, 220));
}

#[tokio::test]
async fn capture_of_the_last_lines_reaches_into_the_scrollback() {
    let (shim, mut events) = ready_shim(bash_spec("scrollback").size(10, 80)).await;
    assert_eq!(run(&shim, &mut events, "seq 1 50").await, numbers(1, 50));
    let prompt = PROMPT.trim_end();

    let visible = shim.capture(None).await.unwrap();
    assert_eq!(visible.content, format!("{}\n{prompt}", numbers(42, 50)));
    assert_eq!(
        (visible.cursor_row, visible.cursor_col),
        (9, PROMPT.len() as u16)
    );

    let beyond = shim.capture(Some(20)).await.unwrap();
    assert_eq!(beyond.content, format!("{}\n{prompt}", numbers(32, 50)));
    let few = shim.capture(Some(3)).await.unwrap();
    assert_eq!(few.content, format!("49\n50\n{prompt}"));
    // The whole scrollback, from the first prompt on.
    let all = shim.capture_scope(None, true).await.unwrap();
    let turn = format!("{PROMPT}seq 1 50\n{}\n{prompt}", numbers(1, 50));
    assert!(all.content.ends_with(&turn), "{all:?}");
    // Only the visible screen, however many lines are asked for.
    let screen_only = shim.capture_scope(Some(20), false).await.unwrap();
    assert_eq!(screen_only.content, visible.content);
}

#[tokio::test]
async fn resize_reaches_the_program_and_the_capture() {
    let (shim, mut events) = ready_shim(bash_spec("resize").size(24, 80)).await;
    assert_eq!(
        run(&shim, &mut events, "tput cols; tput lines").await,
        "80\n24"
    );
    shim.resize(30, 100).await.expect("resize");
    assert_eq!(
        run(&shim, &mut events, "tput cols; tput lines").await,
        "100\n30"
    );
    let capture = shim.capture(None).await.unwrap();
    assert_eq!((capture.rows, capture.cols), (30, 100));
    // Output uses the new width: 100 characters now fit on one row.
    let hundred = "x".repeat(100);
    assert_eq!(
        run(&shim, &mut events, &format!("echo {hundred}")).await,
        hundred
    );
}

#[tokio::test]
async fn resize_out_of_bounds_is_refused_and_changes_nothing() {
    let (shim, mut events) = ready_bash("resize-zero").await;
    // 5000x5000 once took 809 MB and 20000x20000 aborted the shim.
    for (rows, cols) in [(0, 80), (24, 0), (5000, 5000), (20000, 20000), (1001, 80)] {
        let error = shim.resize(rows, cols).await.unwrap_err();
        assert!(matches!(error, ShimError::InvalidArgument(_)), "{error:?}");
    }
    let capture = shim.capture(None).await.unwrap();
    assert_eq!((capture.rows, capture.cols), (50, 220));
    assert_eq!(
        run(&shim, &mut events, "tput cols; tput lines").await,
        "220\n50"
    );
}

#[tokio::test]
async fn a_shim_cannot_start_with_a_screen_out_of_bounds() {
    for (rows, cols) in [(0, 80), (5000, 80), (24, 20000)] {
        let error = agentshim::shim::spawn(bash_spec("too-big").size(rows, cols)).unwrap_err();
        assert!(matches!(error, ShimError::InvalidArgument(_)), "{error:?}");
    }
}

//! One turn with a real bash in a real PTY: the agent becomes ready exactly once, a message is
//! delivered and then completed with exactly the command's output (also when the command ends
//! before the first settle), a long command stays Working for its whole duration, a quiet
//! Working agent gets a stale `Warning`, `SessionStats` follows every Completion, and
//! `Ping`/`GetState` answer.

use crate::support::shim as support;

use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::Timing;
use support::{EventReader, bash_spec, ready_bash, ready_shim, run, send};

#[tokio::test]
async fn echo_is_delivered_then_completed_with_exactly_its_output() {
    let (shim, mut events) = ready_bash("echo").await;
    let id = send(&shim, "echo hello").await;
    let delivered = events
        .wait_for("MessageDelivered", |e| {
            matches!(e, Event::MessageDelivered { .. })
        })
        .await;
    assert!(matches!(delivered, Event::MessageDelivered { id: ref d } if *d == id));
    assert_eq!(events.completion_of(&id).await, "hello");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
}

#[tokio::test]
async fn a_screen_cleared_during_the_turn_keeps_what_was_drawn_after_the_clear() {
    let (shim, mut events) = ready_bash("clear").await;
    // Enough lines that the turn's first row is far below the top of the cleared screen.
    run(&shim, &mut events, "seq 1 30").await;
    let answer = run(
        &shim,
        &mut events,
        "printf 'before\\033[2J\\033[Hredrawn one\\nredrawn two\\n'",
    )
    .await;
    assert_eq!(answer, "redrawn one\nredrawn two");
    // Claude Code's repaint: home, then each row erased on the way down.
    run(&shim, &mut events, "seq 1 30").await;
    let answer = run(
        &shim,
        &mut events,
        "printf 'before\\033[H'; for i in $(seq 50); do printf '\\033[2K\\033[1B'; done; \\
         printf '\\033[Hrepainted\\n'",
    )
    .await;
    assert_eq!(answer, "repainted");
}

#[tokio::test]
async fn commands_that_finish_before_the_first_settle_still_complete() {
    let (shim, mut events) = ready_bash("fast").await;
    let silent = send(&shim, "true").await;
    events.delivered(&silent).await;
    assert_eq!(events.completion_of(&silent).await, "");
    assert_eq!(run(&shim, &mut events, "echo fast").await, "fast");
    assert_eq!(shim.state().await.unwrap().state, ShimState::Idle);
}

#[tokio::test]
async fn ready_comes_once_right_before_the_first_idle() {
    let shim = agentshim::shim::spawn(bash_spec("ready")).expect("spawn bash");
    let mut events = EventReader::new(&shim);
    assert!(
        matches!(events.next().await, Event::Ready),
        "{:?}",
        events.seen
    );
    let first_change = events.next().await;
    assert!(
        matches!(
            first_change,
            Event::StateChanged {
                from: ShimState::Starting,
                to: ShimState::Idle,
                ..
            }
        ),
        "{first_change:?}"
    );
    // A full turn (Idle → Working → Idle) does not announce readiness again.
    assert_eq!(run(&shim, &mut events, "echo again").await, "again");
    assert_eq!(events.count(|e| matches!(e, Event::Ready)), 1);
    let idles = events.count(|e| {
        matches!(
            e,
            Event::StateChanged {
                to: ShimState::Idle,
                ..
            }
        )
    });
    assert_eq!(idles, 2, "{:#?}", events.seen);
}

#[tokio::test]
async fn ping_and_state_answer_with_idle_and_its_age() {
    let started = Instant::now();
    let (shim, mut events) = ready_bash("state").await;
    shim.ping().await.expect("ping");
    let first = shim.state().await.unwrap();
    assert_eq!(first.state, ShimState::Idle);
    assert!(first.since <= started.elapsed(), "{first:?}");
    let later = shim.state().await.unwrap();
    assert_eq!(later.state, ShimState::Idle);
    assert!(later.since >= first.since, "{first:?} then {later:?}");

    // A turn restarts the clock of the Idle state.
    let before_turn = Instant::now();
    run(&shim, &mut events, "echo tick").await;
    let after_turn = shim.state().await.unwrap();
    assert_eq!(after_turn.state, ShimState::Idle);
    assert!(after_turn.since <= before_turn.elapsed(), "{after_turn:?}");
    let status = shim.status().await.unwrap();
    assert_eq!((status.exit_code, status.queued_messages), (None, 0));
    assert!(status.pid > 1);
}

#[tokio::test]
async fn sleep_stays_working_until_it_ends() {
    let (shim, mut events) = ready_bash("sleep").await;
    let id = send(&shim, "sleep 2").await;
    let delivered = events.delivered(&id).await;
    let during = shim.state().await.unwrap();
    assert_eq!(during.state, ShimState::Working);
    let completed = events.completion_envelope(&id).await;
    let working_ms = completed.unix_ms - delivered.unix_ms;
    assert!(
        (1800..10_000).contains(&working_ms),
        "Working for {working_ms} ms"
    );
    // Nothing claimed the turn was over before the sleep ended.
    let idles_in_between = events
        .events()
        .skip_while(|e| !matches!(e, Event::MessageDelivered { .. }))
        .filter(|e| {
            matches!(
                e,
                Event::StateChanged {
                    to: ShimState::Idle,
                    ..
                }
            )
        })
        .count();
    assert_eq!(idles_in_between, 1, "{:#?}", events.seen);
    assert!(matches!(&completed.event, Event::Completion { response, .. } if response.is_empty()));
}

#[tokio::test]
async fn a_quiet_working_agent_gets_a_stale_warning() {
    let timing = Timing {
        stale_after: Duration::from_secs(1),
        ..Timing::default()
    };
    let (shim, mut events) = ready_shim(bash_spec("stale").timing(timing)).await;
    let id = send(&shim, "sleep 3").await;
    events.delivered(&id).await;
    let warning = events
        .wait_for("Warning", |e| {
            matches!(e, Event::Warning { .. } | Event::Completion { .. })
        })
        .await;
    let Event::Warning { idle_secs, message } = warning else {
        panic!("Completion before any Warning: {:#?}", events.seen);
    };
    assert!(
        idle_secs.is_some_and(|s| s >= 1),
        "{idle_secs:?}: {message}"
    );
    assert_eq!(shim.state().await.unwrap().state, ShimState::Working);
    events.completion_of(&id).await;
    let warnings = events.count(|e| matches!(e, Event::Warning { .. }));
    assert_eq!(
        warnings, 1,
        "one warning per quiet spell: {:#?}",
        events.seen
    );
}

#[tokio::test]
async fn session_stats_follow_every_completion() {
    let (shim, mut events) = ready_bash("stats").await;
    let mut previous_bytes = 0;
    for body in ["echo one", "echo two"] {
        let id = send(&shim, body).await;
        events.completion_of(&id).await;
        let Event::SessionStats { output_bytes, .. } = events.next().await else {
            panic!(
                "no SessionStats right after the Completion: {:#?}",
                events.seen
            );
        };
        assert!(
            output_bytes > previous_bytes,
            "{output_bytes} after {previous_bytes}"
        );
        previous_bytes = output_bytes;
    }
}

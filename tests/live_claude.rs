//! The real Claude Code 2.1.197 under agentshim with the Claude driver, against the fake model
//! server: conversations. Each test starts its own server, HOME and shim, and checks what the
//! orchestrator gets (events and `Completion.response`) against what the server was asked.
//!
//! - a one-line message is answered with exactly the scripted text;
//! - a slow answer (first words after 3 s, then more for ~2 s) is Working throughout and then
//!   completes with the whole text;
//! - a multi-line message with unicode is submitted once, as one message;
//! - an answer of 120 lines (longer than the 50-row screen) comes back whole;
//! - three messages sent back to back are answered in order, one Completion each;
//! - a shell tool call stays in the answer (`Bash(…)`, `⎿  …`).
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`. Start, stop and the context
//! limit are in `live_claude_lifecycle.rs`, measurements in `live_claude_bench.rs`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;

use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use fake_model::Reply;
use live_agents::AgentCli;
use live_shim::LiveShim;

fn gate(test: &str) -> bool {
    live_agents::live_gate(test, &[AgentCli::Claude])
}

/// The user text of every main turn the server saw.
fn main_turn_texts(claude: &LiveShim) -> Vec<String> {
    claude
        .server
        .main_turns()
        .into_iter()
        .map(|r| r.user_text.unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn live_claude_answers_a_one_line_message() {
    if !gate("live_claude_answers_a_one_line_message") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-one-line").await;
    let answer = "Hello from the fake model, via agentshim ✓";
    claude.server.push(Reply::text(answer));
    let id = claude.send("Say hello").await;
    claude
        .events
        .wait_for(
            "MessageDelivered",
            |e| matches!(e, Event::MessageDelivered { id: d } if *d == id),
        )
        .await;
    let (response, _) = claude.completion(&id).await;
    assert_eq!(response, answer, "{}", claude.report().await);
    assert_eq!(main_turn_texts(&claude), ["Say hello"]);
    assert_eq!(claude.shim.state().await.unwrap().state, ShimState::Idle);
    assert!(
        claude
            .recording_screen(1)
            .await
            .contains("Hello from the fake model")
    );
}

#[tokio::test]
async fn live_claude_slow_answer_is_working_throughout() {
    if !gate("live_claude_slow_answer_is_working_throughout") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-slow").await;
    let answer = "Slow answer, line one: the fake model takes its time.\n\
        Line two has unicode: Grüße ✓ 世界.\nLine three is the last line of the slow answer ✓";
    let first = Duration::from_secs(3);
    claude.server.push(
        Reply::text(answer)
            .slow(first, Duration::from_millis(300))
            .words_per_chunk(2),
    );
    let sent = Instant::now();
    let id = claude.send("Answer slowly").await;
    claude.events.state(ShimState::Working).await;
    // Asked directly every 250 ms, the state is Working until the turn's end (the change to
    // Idle is logged right before the Completion).
    let shim = claude.shim.clone();
    let polls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let poller = tokio::spawn({
        let polls = polls.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let Ok(status) = shim.status().await else {
                    return;
                };
                polls
                    .lock()
                    .unwrap()
                    .push((status.state.state, status.last_event_seq));
            }
        }
    });
    let (response, done) = claude.completion(&id).await;
    poller.abort();
    let idle_seq = claude.events.last_seq() - 1;
    let polls = polls.lock().unwrap().clone();
    let early: Vec<_> = polls
        .iter()
        .filter(|(state, seq)| *state != ShimState::Working && *seq < idle_seq)
        .collect();
    assert!(early.is_empty(), "not Working before the end: {early:?}");
    assert!(
        polls.len() >= 10,
        "only {} polls while working",
        polls.len()
    );
    let took = done - sent;
    assert_eq!(response, answer, "{}", claude.report().await);
    assert!(
        took > first,
        "completed after {took:?}, before the first words"
    );
    let idle = |e: &Event| {
        matches!(
            e,
            Event::StateChanged {
                to: ShimState::Idle,
                ..
            }
        )
    };
    // Ready's Idle, then the one at the end of this turn.
    assert_eq!(claude.events.count(idle), 2, "{:#?}", claude.events.seen);
}

#[tokio::test]
async fn live_claude_multi_line_unicode_message_is_submitted_once() {
    if !gate("live_claude_multi_line_unicode_message_is_submitted_once") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-multi-line").await;
    let message =
        "First line ✓ Grüße\nsecond line: 世界 🚀 «quoted»\n\nfourth line, after a blank one";
    claude.server.push(Reply::text("Got all four lines ✓"));
    let response = claude.ask(message).await;
    assert_eq!(
        response,
        "Got all four lines ✓",
        "{}",
        claude.report().await
    );
    assert_eq!(
        main_turn_texts(&claude),
        [message],
        "{}",
        claude.report().await
    );
    let delivered = |e: &Event| matches!(e, Event::MessageDelivered { .. });
    assert_eq!(claude.events.count(delivered), 1);
}

#[tokio::test]
async fn live_claude_long_answer_comes_back_whole() {
    if !gate("live_claude_long_answer_comes_back_whole") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-long").await;
    let answer: Vec<String> = (1..=120)
        .map(|i| format!("Line {i} of a long answer, longer than the screen ✓"))
        .collect();
    let answer = answer.join("\n");
    claude.server.push(Reply::text(&answer));
    let response = claude.ask("Answer at length").await;
    assert_eq!(response, answer, "{}", claude.report().await);
}

#[tokio::test]
async fn live_claude_three_messages_back_to_back_are_answered_in_order() {
    if !gate("live_claude_three_messages_back_to_back_are_answered_in_order") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-three").await;
    let answers = ["First answer ✓", "Second answer ✓", "Third answer ✓"];
    let messages = ["Message one", "Message two", "Message three"];
    for answer in answers {
        claude
            .server
            .push(Reply::text(answer).slow(Duration::from_millis(800), Duration::from_millis(100)));
    }
    let mut ids = Vec::new();
    for message in messages {
        ids.push(claude.send(message).await);
    }
    for (id, answer) in ids.iter().zip(answers) {
        let (response, _) = claude.completion(id).await;
        assert_eq!(response, answer, "{}", claude.report().await);
    }
    let completions = |e: &Event| matches!(e, Event::Completion { .. });
    assert_eq!(claude.events.count(completions), 3);
    let order: Vec<&String> = claude
        .events
        .events()
        .filter_map(|e| match e {
            Event::Completion { message_id, .. } => message_id.as_ref(),
            _ => None,
        })
        .collect();
    assert_eq!(order, ids.iter().collect::<Vec<_>>());
    assert_eq!(
        main_turn_texts(&claude),
        messages,
        "{}",
        claude.report().await
    );
}

#[tokio::test]
async fn live_claude_tool_lines_stay_in_the_answer() {
    if !gate("live_claude_tool_lines_stay_in_the_answer") {
        return;
    }
    let mut claude = LiveShim::ready(AgentCli::Claude, "claude-tool").await;
    claude.server.push(Reply::shell("echo fake-tool"));
    claude.server.push(Reply::text("The tool said fake-tool ✓"));
    let response = claude.ask("Run the tool").await;
    assert_eq!(
        response,
        "Bash(echo fake-tool)\n⎿  fake-tool\n\nThe tool said fake-tool ✓",
        "{}",
        claude.report().await
    );
    let turns = claude.server.main_turns();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1].tool_results, ["fake-tool"]);
}

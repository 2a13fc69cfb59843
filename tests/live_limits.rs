//! Live: the limits each real CLI reports, as agentshim signals. A usage quota is
//! `QuotaBlocked` with the reset time the CLI shows (parsed to the epoch the fake server
//! chose), messages sent meanwhile are held (not typed, not failed) and delivered by the shim
//! itself after the reset (`QuotaResumed`); a transient 429 that ends a turn is a `Warning`
//! beside its `Completion`; a context-window error is `ContextExhausted`.
//!
//! Runs only inside a private network namespace with the CLIs installed
//! (`scripts/live-agents.sh`); skipped loudly elsewhere.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentshim::protocol::{Event, ShimState};
use fake_model::{ErrorKind, Reply};
use live_agents::{AgentCli, ClaudeAuth};
use live_shim::{Launch, LiveShim, gate, test_signals};

/// How long a quota without a reset time holds messages in these tests.
const UNKNOWN_RESET_HOLD: Duration = Duration::from_secs(5);

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn start(cli: AgentCli, id: &str, auth: ClaudeAuth) -> LiveShim {
    LiveShim::ready_with(
        cli,
        id,
        Launch {
            auth,
            signals: test_signals(UNKNOWN_RESET_HOLD),
            ..Launch::default()
        },
    )
    .await
}

/// Waits for `QuotaBlocked`: its epoch and label.
async fn quota_blocked(agent: &mut LiveShim) -> (Option<u64>, Option<String>) {
    let blocked = agent
        .events
        .wait_for_envelope("QuotaBlocked", |e| matches!(e, Event::QuotaBlocked { .. }))
        .await;
    match &blocked.event {
        Event::QuotaBlocked {
            retry_at_epoch_secs,
            retry_at_label,
            ..
        } => (*retry_at_epoch_secs, retry_at_label.clone()),
        _ => unreachable!(),
    }
}

/// A message sent while blocked is held, then delivered after `QuotaResumed` and answered.
async fn held_until_resumed(agent: &mut LiveShim) {
    agent.server.push(Reply::text("Back after the reset."));
    let held = agent
        .shim
        .send_message("test", "Are you back?", None)
        .await
        .expect("held, not refused");
    assert!(
        held.queued,
        "a message was typed while the quota was used up"
    );
    // Reset times are shown to the minute and held until its end.
    let resumed = agent
        .events
        .wait_for_within(Duration::from_secs(180), "QuotaResumed", |e| {
            matches!(e, Event::QuotaResumed { .. })
        })
        .await;
    assert!(
        matches!(resumed.event, Event::QuotaResumed { held_messages: 1 }),
        "{:?}",
        resumed.event
    );
    let (_, response) = agent.events.timed_completion_of(&held.id).await;
    assert_eq!(response, "Back after the reset.");
}

/// The reset time the CLI showed resolves to the minute the server chose.
fn assert_reset_near(epoch: Option<u64>, label: Option<String>, chosen: u64) {
    let (Some(epoch), Some(label)) = (epoch, label.clone()) else {
        panic!("no reset time parsed: {epoch:?} {label:?}");
    };
    assert!(
        epoch.abs_diff(chosen) <= 60,
        "reset {label} = {epoch}, the server said {chosen}"
    );
}

/// Claude in subscription mode: `You've hit your session limit · resets 10:07am (UTC)`, then
/// its own `/rate-limit-options` menu as a question.
#[tokio::test]
async fn live_claude_session_limit_blocks_then_resumes() {
    let test = "live_claude_session_limit_blocks_then_resumes";
    if !gate(test, AgentCli::Claude) {
        return;
    }
    let mut agent = start(AgentCli::Claude, test, ClaudeAuth::OAuth).await;
    let reset = epoch_now() + 30;
    agent.server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: reset,
        claim: Some("five_hour".into()),
    }));
    agent.send("Use up the quota").await;
    let (epoch, label) = quota_blocked(&mut agent).await;
    assert_reset_near(epoch, label, reset);
    let (prompt, options) = agent.question().await;
    assert_eq!(
        prompt,
        "What do you want to do?",
        "{}",
        agent.screen().await
    );
    assert_eq!(options[0], "Stop and wait for limit to reset");
    agent.shim.answer(1).await.expect("answer the menu");
    held_until_resumed(&mut agent).await;
}

/// Claude with an API key: `Your credit balance is too low` names no reset time.
#[tokio::test]
async fn live_claude_credit_balance_blocks_without_a_reset_time() {
    let test = "live_claude_credit_balance_blocks_without_a_reset_time";
    if !gate(test, AgentCli::Claude) {
        return;
    }
    let mut agent = start(AgentCli::Claude, test, ClaudeAuth::ApiKey).await;
    agent.server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: epoch_now() + 3600,
        claim: None,
    }));
    agent.send("Spend the credit").await;
    assert_eq!(quota_blocked(&mut agent).await, (None, None));
    held_until_resumed(&mut agent).await;
}

/// Codex: `■ You’ve hit your usage limit … try again at 10:07 AM.`
#[tokio::test]
async fn live_codex_usage_limit_blocks_then_resumes() {
    let test = "live_codex_usage_limit_blocks_then_resumes";
    if !gate(test, AgentCli::Codex) {
        return;
    }
    let mut agent = start(AgentCli::Codex, test, ClaudeAuth::ApiKey).await;
    let reset = epoch_now() + 30;
    agent.server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: reset,
        claim: None,
    }));
    agent.send("Use up the quota").await;
    let (epoch, label) = quota_blocked(&mut agent).await;
    assert_reset_near(epoch, label, reset);
    held_until_resumed(&mut agent).await;
}

/// Gemini: its `Usage limit reached` modal is the quota signal and a question; "Stop" closes it.
#[tokio::test]
async fn live_gemini_usage_limit_modal_blocks_then_resumes() {
    let test = "live_gemini_usage_limit_modal_blocks_then_resumes";
    if !gate(test, AgentCli::Gemini) {
        return;
    }
    let mut agent = start(AgentCli::Gemini, test, ClaudeAuth::ApiKey).await;
    agent.server.push(Reply::error(ErrorKind::Quota {
        reset_epoch_secs: epoch_now() + 3600,
        claim: None,
    }));
    agent.send("Use up the quota").await;
    assert_eq!(quota_blocked(&mut agent).await, (None, None));
    let (prompt, options) = agent.question().await;
    assert!(prompt.contains("Usage limit reached"), "{prompt}");
    assert_eq!(options, ["Keep trying", "Stop"]);
    agent.shim.answer(2).await.expect("stop");
    held_until_resumed(&mut agent).await;
}

/// A 429 that ends the turn: a `Warning` with the CLI's message, then the turn's Completion.
async fn rate_limit_is_a_warning(cli: AgentCli, test: &str) {
    if !gate(test, cli) {
        return;
    }
    let mut agent = start(cli, test, ClaudeAuth::ApiKey).await;
    agent.server.push(Reply::error(ErrorKind::RateLimit {
        retry_after_secs: 30,
    }));
    let id = agent.send("Too fast").await;
    let warning = agent
        .events
        .wait_for_envelope(
            "rate-limit Warning",
            |e| matches!(e, Event::Warning { message, .. } if message.starts_with("rate limited")),
        )
        .await;
    let Event::Warning { message, .. } = &warning.event else {
        unreachable!()
    };
    assert!(message.contains("429"), "{message}");
    let (at, _) = agent.events.timed_completion_of(&id).await;
    assert!(at >= warning.unix_ms);
    assert_eq!(agent.shim.state().await.unwrap().state, ShimState::Idle);
}

#[tokio::test]
async fn live_claude_rate_limit_is_a_warning_beside_the_completion() {
    let test = "live_claude_rate_limit_is_a_warning_beside_the_completion";
    rate_limit_is_a_warning(AgentCli::Claude, test).await;
}

#[tokio::test]
async fn live_codex_rate_limit_is_a_warning_beside_the_completion() {
    let test = "live_codex_rate_limit_is_a_warning_beside_the_completion";
    rate_limit_is_a_warning(AgentCli::Codex, test).await;
}

/// A context-window error that persists ends the turn as `ContextExhausted`.
async fn context_error_exhausts(cli: AgentCli, test: &str) {
    if !gate(test, cli) {
        return;
    }
    let mut agent = start(cli, test, ClaudeAuth::ApiKey).await;
    // The context runs out in the middle of a session (on the very first message Claude says
    // `Prompt is too long`, which is ContextExhausted too).
    agent.server.push(Reply::text("Warm-up answer ✓"));
    let warm_up = agent.send("Warm up").await;
    agent.events.timed_completion_of(&warm_up).await;
    agent
        .server
        .push(Reply::error(ErrorKind::ContextTooLong).forever());
    agent.send("This one is too long").await;
    let exhausted = agent
        .events
        .wait_for_envelope("ContextExhausted", |e| {
            matches!(e, Event::ContextExhausted { .. })
        })
        .await;
    let Event::ContextExhausted { message, .. } = &exhausted.event else {
        unreachable!()
    };
    let expected = match cli {
        AgentCli::Claude => "Context limit reached",
        AgentCli::Codex => "ran out of room in the model's context window",
        AgentCli::Gemini => "exceeds the maximum number of tokens allowed",
    };
    assert!(message.contains(expected), "{message}");
    assert_eq!(
        agent.shim.state().await.unwrap().state,
        ShimState::ContextExhausted
    );
}

#[tokio::test]
async fn live_claude_context_error_is_context_exhausted() {
    let test = "live_claude_context_error_is_context_exhausted";
    context_error_exhausts(AgentCli::Claude, test).await;
}

#[tokio::test]
async fn live_codex_context_error_is_context_exhausted() {
    let test = "live_codex_context_error_is_context_exhausted";
    context_error_exhausts(AgentCli::Codex, test).await;
}

#[tokio::test]
async fn live_gemini_context_error_is_context_exhausted() {
    let test = "live_gemini_context_error_is_context_exhausted";
    context_error_exhausts(AgentCli::Gemini, test).await;
}

/// A context error in a session with earlier exchanges: Claude first compacts the
/// conversation (it repaints its screen with `✻ Conversation compacted`), retries, and then
/// shows `Context limit reached`. That is `ContextExhausted` (after `ContextApproaching`), and
/// the turn ends interrupted, not with a Completion whose answer is the limit line.
#[tokio::test]
async fn live_claude_context_error_after_compaction_is_context_exhausted() {
    let test = "live_claude_context_error_after_compaction_is_context_exhausted";
    if !gate(test, AgentCli::Claude) {
        return;
    }
    let mut agent = start(AgentCli::Claude, test, ClaudeAuth::ApiKey).await;
    for n in 1..=3 {
        agent
            .server
            .push(Reply::text(format!("Warm-up answer {n} ✓")));
        let warm_up = agent.send(&format!("Warm up {n}")).await;
        agent.events.timed_completion_of(&warm_up).await;
    }
    // Too long; the compaction's summary works; the retry is too long again, and so on.
    agent.server.push(Reply::error(ErrorKind::ContextTooLong));
    agent
        .server
        .push(Reply::text("Summary of the conversation so far."));
    agent
        .server
        .push(Reply::error(ErrorKind::ContextTooLong).forever());
    let id = agent.send("This one is too long").await;
    let ended = agent
        .events
        .wait_for_envelope("the end of the turn", |e| {
            matches!(e, Event::Completion { .. } | Event::ContextExhausted { .. })
        })
        .await;
    let report = format!("{}\n{}", agent.screen().await, agent.server.summary());
    let Event::ContextExhausted { message, .. } = &ended.event else {
        panic!("{:?}\n{report}", ended.event);
    };
    assert!(
        message.contains("Context limit reached"),
        "{message}\n{report}"
    );
    let interrupted = agent.events.seen.iter().any(
        |e| matches!(&e.event, Event::TurnInterrupted { message_id: Some(m), .. } if *m == id),
    );
    assert!(interrupted, "{report}");
    assert_eq!(
        agent.shim.state().await.unwrap().state,
        ShimState::ContextExhausted
    );
}

/// Claude compacts the conversation after one context error and answers: `ContextApproaching`
/// with the token figures of the session so far, then the turn's Completion.
#[tokio::test]
async fn live_claude_compaction_is_context_approaching() {
    let test = "live_claude_compaction_is_context_approaching";
    if !gate(test, AgentCli::Claude) {
        return;
    }
    let mut agent = start(AgentCli::Claude, test, ClaudeAuth::ApiKey).await;
    // A single exchange cannot be compacted (Claude says so): a few come first.
    for n in 1..=3 {
        agent
            .server
            .push(Reply::text(format!("Warm-up answer {n} ✓")));
        let warm_up = agent.send(&format!("Warm up {n}")).await;
        agent.events.timed_completion_of(&warm_up).await;
    }
    agent.server.push(Reply::error(ErrorKind::ContextTooLong));
    agent
        .server
        .push(Reply::text("Summary of the conversation so far."));
    agent.server.push(Reply::text("Answer after compaction ✓"));
    let id = agent.send("Keep going").await;
    let ended = agent
        .events
        .wait_for_envelope("the end of the turn", |e| {
            matches!(e, Event::Completion { .. } | Event::ContextExhausted { .. })
        })
        .await;
    let Event::Completion { response, .. } = &ended.event else {
        panic!(
            "{:?}\n{}\n{}",
            ended.event,
            agent.screen().await,
            agent.server.summary()
        );
    };
    let seen: Vec<String> = agent
        .events
        .seen
        .iter()
        .map(|e| format!("{:?}", e.event).chars().take(160).collect())
        .collect();
    let report = format!(
        "{}\n{}\n{}",
        agent.screen().await,
        agent.server.summary(),
        seen.join("\n")
    );
    assert!(
        matches!(&ended.event, Event::Completion { message_id: Some(m), .. } if *m == id),
        "{:?}\n{report}",
        ended.event
    );
    assert!(
        response.contains("Answer after compaction"),
        "{response}\n{report}"
    );
    let approaching = agent
        .events
        .seen
        .iter()
        .find_map(|e| match &e.event {
            Event::ContextApproaching {
                message,
                input_tokens,
                output_tokens,
            } => Some((message.clone(), *input_tokens, *output_tokens)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no ContextApproaching\n{}", agent.server.summary()));
    assert!(
        approaching.0.contains("Conversation compacted"),
        "{approaching:?}"
    );
    assert!(approaching.1 > 0 && approaching.2 > 0, "{approaching:?}");
}

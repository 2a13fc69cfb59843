//! Live: `SessionStats` and `ContextWarning` under a shim carry the token figures the fake model
//! server reported to each real CLI (read from the CLI's own session log), and the warning comes
//! once when usage crosses the threshold, not on every turn.
//!
//! The context window is set to 10,000 tokens for the test, so one reply of 9,000 prompt
//! tokens (8,000 of them cache reads) and 100 output tokens puts the session at 91 %.
//!
//! Runs only inside a private network namespace with the CLIs installed
//! (`scripts/live-agents.sh`); skipped loudly elsewhere.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;

use agentshim::protocol::Event;
use agentshim::shim::Signals;
use fake_model::{Reply, Usage};
use live_agents::{AgentCli, ClaudeAuth};
use live_shim::{Launch, LiveShim, gate};

const WINDOW: u64 = 10_000;

fn usage() -> Usage {
    Usage {
        input_tokens: 1_000,
        output_tokens: 100,
        cache_read_tokens: 8_000,
        cache_creation_tokens: 0,
    }
}

/// Waits for the `SessionStats` that counts every main turn the server answered so far.
async fn stats_matching_server(agent: &mut LiveShim) -> (u64, u64, Option<u8>) {
    let sent: Vec<Usage> = agent
        .server
        .main_turns()
        .iter()
        .filter_map(|r| r.usage)
        .collect();
    let input: u64 = sent.iter().map(Usage::prompt_total).sum();
    let output: u64 = sent.iter().map(|u| u.output_tokens).sum();
    let stats = agent
        .events
        .wait_for_envelope(
            &format!("SessionStats with {input} in / {output} out"),
            |e| {
                matches!(e, Event::SessionStats { input_tokens, output_tokens, .. }
                if *input_tokens == input && *output_tokens == output)
            },
        )
        .await;
    match stats.event {
        Event::SessionStats {
            input_tokens,
            output_tokens,
            context_usage_pct,
            ..
        } => (input_tokens, output_tokens, context_usage_pct),
        _ => unreachable!(),
    }
}

async fn figures_match_the_server(cli: AgentCli, test: &str) {
    if !gate(test, cli) {
        return;
    }
    let signals = Signals {
        context_limit_tokens: Some(WINDOW),
        ..Signals::default()
    };
    let mut agent = LiveShim::ready_with(
        cli,
        test,
        Launch {
            auth: ClaudeAuth::ApiKey,
            signals,
            ..Launch::default()
        },
    )
    .await;
    agent
        .server
        .push(Reply::text("Stats answer one ✓").usage(usage()));
    let first = agent.send("First stats question").await;
    agent.events.timed_completion_of(&first).await;
    let (input, output, pct) = stats_matching_server(&mut agent).await;
    assert_eq!((input, output, pct), (9_000, 100, Some(91)));
    let warning = agent
        .events
        .seen
        .iter()
        .find(|e| matches!(e.event, Event::ContextWarning { .. }))
        .map(|e| e.event.clone())
        .expect("a ContextWarning once usage crossed 80 %");
    let Event::ContextWarning {
        input_tokens,
        cached_input_tokens,
        cache_read_input_tokens,
        cache_creation_input_tokens,
        output_tokens,
        used_tokens,
        context_limit_tokens,
        usage_pct,
        ..
    } = warning
    else {
        unreachable!()
    };
    assert_eq!(
        (input_tokens, cache_read_input_tokens, output_tokens),
        (9_000, 8_000, 100)
    );
    // Cache reads are one figure: both names carry it, nothing adds them.
    assert_eq!(cached_input_tokens, cache_read_input_tokens);
    assert_eq!(cache_creation_input_tokens, 0);
    assert_eq!(
        (used_tokens, context_limit_tokens, usage_pct),
        (9_100, WINDOW, 91)
    );
    // A second turn above the threshold is no new crossing.
    agent
        .server
        .push(Reply::text("Stats answer two ✓").usage(usage()));
    let second = agent.send("Second stats question").await;
    agent.events.timed_completion_of(&second).await;
    let (input, output, _) = stats_matching_server(&mut agent).await;
    assert_eq!((input, output), (18_000, 200));
    let warnings = agent
        .events
        .count(|e| matches!(e, Event::ContextWarning { .. }));
    assert_eq!(warnings, 1, "one ContextWarning per crossing");
}

#[tokio::test]
async fn live_claude_stats_and_context_warning_match_the_server() {
    let test = "live_claude_stats_and_context_warning_match_the_server";
    figures_match_the_server(AgentCli::Claude, test).await;
}

#[tokio::test]
async fn live_codex_stats_and_context_warning_match_the_server() {
    let test = "live_codex_stats_and_context_warning_match_the_server";
    figures_match_the_server(AgentCli::Codex, test).await;
}

#[tokio::test]
async fn live_gemini_stats_and_context_warning_match_the_server() {
    let test = "live_gemini_stats_and_context_warning_match_the_server";
    figures_match_the_server(AgentCli::Gemini, test).await;
}

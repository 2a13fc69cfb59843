//! Live: the token figures that `SessionLogReader` reads from each real CLI's own session log
//! are the ones the fake model server reported.
//!
//! Per CLI (Claude Code, Codex, Gemini CLI; TUI in a tmux pane, fresh HOME): three model
//! requests with distinct scripted usage (an answer, a shell tool call, an answer after the
//! tool's result), then the reader's totals, last request, context use and window are checked
//! against what the server sent on its main turns. Side requests (titles, Gemini's router) are
//! not in the CLIs' logs. The OpenAI and Gemini wires have no cache-creation figure: the server
//! reports those tokens as plain prompt tokens there.
//!
//! Runs only inside the private network namespace of `scripts/live-agents.sh`.

use crate::support::eventually::Poll;
use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_tmux;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use agentshim::shim::AgentKind;
use agentshim::shim::usage::{SessionLogReader, TokenCounts, UsageSnapshot};
use fake_model::{FakeModelServer, Reply, Usage};
use live_agents::{AgentCli, ClaudeAuth, LiveAgent};

/// Longest wait for startup, an answer on screen, or the log to catch up.
const TIMEOUT: Duration = Duration::from_secs(90);

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The three scripted replies and the usage each reports.
fn replies() -> [Reply; 3] {
    let usage = |input, read, creation, output| Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: read,
        cache_creation_tokens: creation,
    };
    [
        Reply::text("Usage answer one ✓").usage(usage(1_234, 5_678, 910, 321)),
        Reply::shell("echo usage-tool").usage(usage(111, 2_222, 33, 44)),
        Reply::text("Usage answer two ✓").usage(usage(1_500, 9_000, 0, 456)),
    ]
}

/// What the reader must report for usage `sent` over the wire of `cli`.
fn expected_counts(cli: AgentCli, sent: &Usage) -> TokenCounts {
    let creation = match cli {
        AgentCli::Claude => sent.cache_creation_tokens,
        AgentCli::Codex | AgentCli::Gemini => 0,
    };
    TokenCounts {
        input_tokens: sent.prompt_total(),
        cache_read_input_tokens: sent.cache_read_tokens,
        cache_creation_input_tokens: creation,
        output_tokens: sent.output_tokens,
        reasoning_output_tokens: 0,
    }
}

/// Polls `reader` until its snapshot satisfies `done`; the last snapshot either way.
async fn poll_until(
    reader: &mut SessionLogReader,
    done: impl Fn(&UsageSnapshot) -> bool,
) -> Option<UsageSnapshot> {
    let mut last = None;
    let found = Poll::within(TIMEOUT)
        .every(Duration::from_millis(200))
        .until(async || {
            last = reader.poll();
            last.clone().filter(&done)
        })
        .await;
    found.or(last)
}

async fn check_cli(cli: AgentCli) {
    let test = format!("live_{}_usage_log_matches_the_server", cli.program_name());
    if !live_tmux::gate(&test, cli) {
        return;
    }
    let server = FakeModelServer::start().await;
    for reply in replies() {
        server.push(reply);
    }
    let (agent, kind, codex_home): (LiveAgent, AgentKind, Option<PathBuf>) = match cli {
        AgentCli::Claude => (
            live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey),
            AgentKind::Claude,
            None,
        ),
        AgentCli::Codex => {
            let agent = live_agents::codex(&server.openai_base_url());
            let codex_home = agent.home_path().join(".codex");
            (agent, AgentKind::Codex, Some(codex_home))
        }
        AgentCli::Gemini => (
            live_agents::gemini(&server.gemini_base_url()),
            AgentKind::Gemini,
            None,
        ),
    };
    let env = |key: &str| codex_home.clone().filter(|_| key == "CODEX_HOME");
    let mut reader =
        SessionLogReader::for_agent(kind, agent.home_path(), &env, &agent.cwd, SystemTime::now())
            .expect("a reader for this CLI");
    let report = |what: &str, screen: &str| {
        format!(
            "{test}: {what}\n-- screen:\n{screen}\n-- server saw:\n{}",
            server.summary()
        )
    };
    let (pane, _) = live_tmux::start_ready(&agent, cli.ready_marker(), TIMEOUT)
        .await
        .unwrap_or_else(|screen| panic!("{}", report("never ready", &screen)));
    live_tmux::submit(&pane, "First usage question").await;
    pane.wait_screen(TIMEOUT, |s| s.contains("Usage answer one"))
        .await
        .unwrap_or_else(|screen| panic!("{}", report("first answer never showed", &screen)));
    live_tmux::submit(&pane, "Second usage question").await;
    pane.wait_screen(TIMEOUT, |s| s.contains("Usage answer two"))
        .await
        .unwrap_or_else(|screen| panic!("{}", report("second answer never showed", &screen)));

    let sent: Vec<Usage> = server.main_turns().iter().filter_map(|r| r.usage).collect();
    assert_eq!(sent.len(), 3, "{}", server.summary());
    let totals = sent
        .iter()
        .map(|u| expected_counts(cli, u))
        .fold(TokenCounts::default(), |a, b| a + b);
    let last = expected_counts(cli, &sent[2]);
    let snapshot = poll_until(&mut reader, |s| s.totals == totals)
        .await
        .unwrap_or_else(|| panic!("{}", report("no usage in the CLI's log", &pane.capture())));
    let log = reader.session_file().map(|p| p.display().to_string());
    assert_eq!(snapshot.totals, totals, "{test}: totals ({log:?})");
    assert_eq!(snapshot.last_request, Some(last), "{test}: last request");
    assert_eq!(
        snapshot.context_used_tokens,
        last.input_tokens + last.output_tokens
    );
    let (model, window) = match cli {
        AgentCli::Claude => ("claude-opus-4-8", 1_000_000),
        AgentCli::Codex => (live_agents::CODEX_MODEL, 258_400),
        AgentCli::Gemini => ("gemini-3.8-flash", 1_048_576),
    };
    assert_eq!(snapshot.model.as_deref(), Some(model));
    assert_eq!(snapshot.context_limit_tokens, window);
    say(&format!(
        "| {} | input {} (cache read {}, cache write {}) | output {} | context {} of {} ({} %) | pass |",
        cli.program_name(),
        snapshot.totals.input_tokens,
        snapshot.totals.cache_read_input_tokens,
        snapshot.totals.cache_creation_input_tokens,
        snapshot.totals.output_tokens,
        snapshot.context_used_tokens,
        snapshot.context_limit_tokens,
        snapshot.usage_pct(),
    ));
}

#[tokio::test]
async fn live_claude_usage_log_matches_the_server() {
    check_cli(AgentCli::Claude).await;
}

#[tokio::test]
async fn live_codex_usage_log_matches_the_server() {
    check_cli(AgentCli::Codex).await;
}

#[tokio::test]
async fn live_gemini_usage_log_matches_the_server() {
    check_cli(AgentCli::Gemini).await;
}

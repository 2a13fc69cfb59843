//! Records the Claude Code fixture of `tests/fixtures` (`claude-session.cast`) with `agentshim
//! record`, from the real Claude Code 2.1.197 (API-key auth) at 220×50 against the fake model
//! server, driven by `claude-session.steps`: Ready, a short two-line answer, then a slow
//! three-line answer. `tests/replay_fixtures.rs` replays it through the Claude driver. Opt-in,
//! so normal live runs never rewrite fixtures:
//!
//! ```sh
//! AGENTSHIM_RECORD=1 scripts/live-agents.sh -- record_claude_fixtures
//! ```

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::record_fixture;

use std::time::Duration;

use record_fixture::record_fixture;

use fake_model::{FakeModelServer, Reply};
use live_agents::{AgentCli, ClaudeAuth};

/// The scripted answers, in order (the fixture's expected responses are exactly these).
const FIRST: &str = "Hello from the fake model ✓\nThis is the second line.";
const SLOW: &str = "Slow line one: the fake model takes its time.\n\
                    Slow line two has unicode: Grüße ✓ 世界.\n\
                    Slow line three is the last line ✓";

/// Records `tests/fixtures/NAME.cast` from `NAME.steps`.
async fn record(name: &str) {
    let server = FakeModelServer::start().await;
    server.push(Reply::text(FIRST));
    server.push(
        Reply::text(SLOW)
            .slow(Duration::from_secs(3), Duration::from_millis(300))
            .words_per_chunk(2),
    );
    let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
    let status = record_fixture(
        name,
        &format!("claude {}, API key", live_agents::CLAUDE_VERSION),
        &agent,
        &[],
    )
    .await;
    assert!(status.success(), "{name}: {status}\n{}", server.summary());
}

#[tokio::test]
async fn record_claude_fixtures() {
    if std::env::var_os("AGENTSHIM_RECORD").is_none()
        || !live_agents::live_gate("record_claude_fixtures", &[AgentCli::Claude])
    {
        return;
    }
    record("claude-session").await;
}

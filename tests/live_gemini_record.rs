//! Records the Gemini CLI fixture of `tests/fixtures` (`gemini-session.cast`) with `agentshim
//! record`, from the real Gemini CLI 0.61.0 (API-key auth) at 220×50 against the fake model
//! server, driven by `gemini-session.steps`: Ready, a short two-line answer, then a slow
//! three-line answer. `tests/replay_fixtures.rs` replays it through the Gemini driver. Opt-in,
//! so normal live runs never rewrite fixtures:
//!
//! ```sh
//! AGENTSHIM_RECORD=1 scripts/live-agents.sh -- record_gemini_fixtures
//! ```

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::record_fixture;

use std::time::Duration;

use record_fixture::record_fixture;

use fake_model::{FakeModelServer, Reply};
use live_agents::AgentCli;

/// The scripted answers, in order (the fixture's expected responses are exactly these).
const FIRST: &str = "Hello from the fake model ✓\nThis is the second line.";
const SLOW: &str = "Slow line one: the fake model takes its time.\n\
                    Slow line two has unicode: Grüße ✓ 世界.\n\
                    Slow line three is the last line ✓";

/// Records `tests/fixtures/NAME.cast` from `NAME.steps`. Gemini redraws its whole live region
/// on every spinner frame, so the slow answer is kept short to keep the recording small.
async fn record(name: &str) {
    let server = FakeModelServer::start().await;
    server.push(Reply::text(FIRST));
    server.push(
        Reply::text(SLOW)
            .slow(Duration::from_secs(1), Duration::from_millis(150))
            .words_per_chunk(3),
    );
    let agent = live_agents::gemini(&server.gemini_base_url());
    let status = record_fixture(
        name,
        &format!("gemini {}, API key", live_agents::GEMINI_VERSION),
        &agent,
        &[],
    )
    .await;
    assert!(status.success(), "{name}: {status}\n{}", server.summary());
}

#[tokio::test]
async fn record_gemini_fixtures() {
    if std::env::var_os("AGENTSHIM_RECORD").is_none()
        || !live_agents::live_gate("record_gemini_fixtures", &[AgentCli::Gemini])
    {
        return;
    }
    record("gemini-session").await;
}

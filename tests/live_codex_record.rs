//! Records the Codex fixtures of `tests/fixtures` (`codex-inline.cast` with
//! `--no-alt-screen`, `codex-alt-screen.cast` on Codex's default alternate screen) with
//! `agentshim record`, from the real Codex CLI 0.169.0 against the fake model server, driven
//! by the matching `.steps` files; `tests/replay_fixtures.rs` replays them through the Codex
//! driver. Opt-in, so normal live runs never rewrite fixtures:
//!
//! ```sh
//! AGENTSHIM_RECORD=1 scripts/live-agents.sh -- record_codex_fixtures
//! ```

use crate::support::fake_model;
use crate::support::live_codex;
use crate::support::record_fixture;

use std::time::Duration;

use record_fixture::record_fixture;

use fake_model::{ErrorKind, FakeModelServer, Reply};
use live_codex::Mode;

/// Records `tests/fixtures/NAME.cast` from `NAME.steps` with Codex in `mode`.
async fn record(name: &str, mode: Mode) {
    let server = FakeModelServer::start().await;
    server.push(Reply::text("Hello from the fake model, in one line ✓"));
    server.push(
        Reply::text(
            "Slow line one: the fake model takes its time.\n\
             Slow line two has unicode: Grüße ✓ 世界.\nSlow line three is the last line ✓",
        )
        .slow(Duration::from_secs(3), Duration::from_millis(300))
        .words_per_chunk(2),
    );
    server.push(Reply::shell("echo fake-tool"));
    server.push(Reply::text("Tool done ✓"));
    server.push(Reply::error(ErrorKind::ContextTooLong).forever());
    let agent = live_codex::agent(&server);
    let status = record_fixture(
        name,
        &format!("codex 0.169.0, {mode:?}"),
        &agent,
        &mode.args(),
    )
    .await;
    assert!(status.success(), "{name}: {status}\n{}", server.summary());
}

#[tokio::test]
async fn record_codex_fixtures() {
    if std::env::var_os("AGENTSHIM_RECORD").is_none() || !live_codex::gate("record_codex_fixtures")
    {
        return;
    }
    record("codex-inline", Mode::Inline).await;
    record("codex-alt-screen", Mode::AltScreen).await;
}

//! Records a fixture of `tests/fixtures` (`NAME.cast`, driven by `NAME.steps`) with the real
//! `agentshim record`, from a live agent CLI at 220×50 with exactly that agent's environment.
//! Shared by the opt-in `live_*_record.rs` tests.

use super::live_agents::LiveAgent;

/// Runs `agentshim record` for `NAME` on `agent` (plus `extra_args` after its program) and
/// returns its exit status.
pub async fn record_fixture(
    name: &str,
    title: &str,
    agent: &LiveAgent,
    extra_args: &[String],
) -> std::process::ExitStatus {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_agentshim"))
        .args(["record", "--rows", "50", "--cols", "220", "--title", title])
        .arg("--out")
        .arg(fixtures.join(format!("{name}.cast")))
        .arg("--script")
        .arg(fixtures.join(format!("{name}.steps")))
        .arg("--cwd")
        .arg(&agent.cwd)
        .arg("--")
        .arg(&agent.program)
        .args(extra_args)
        .env_clear()
        .envs(agent.env.iter().map(|(k, v)| (k, v)))
        .status()
        .await
        .expect("run agentshim record")
}

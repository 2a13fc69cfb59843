//! What the live tests need to know of Codex CLI 0.169.0 (run by `live_shim::LiveShim`): a
//! temporary HOME whose config sets neither `disable_paste_burst` nor `daemon_auto_start =
//! false` (a user's Codex has neither: Enter must submit exactly once without the first, and
//! the built-in profile's `--no-daemon` must keep the `codex app-server` daemon away without
//! the second), and the built-in `codex` profile's arguments, inline or on the alternate
//! screen.

use super::fake_model::FakeModelServer;
use super::live_agents::{self, AgentCli, LiveAgent};

/// The config lines the tests take out.
const USER_UNLIKE_LINES: &[&str] = &[
    "disable_paste_burst = true\n",
    "daemon_auto_start = false\n",
];

/// The profile flag that keeps Codex off the alternate screen.
const INLINE_FLAG: &str = "--no-alt-screen";

/// How Codex draws: inline (the built-in profile, `--no-alt-screen`) or on the alternate
/// screen (Codex's default; the profile's other arguments still apply).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Inline,
    AltScreen,
}

impl Mode {
    /// The built-in `codex` profile's arguments, without `--no-alt-screen` for `AltScreen`.
    pub fn args(self) -> Vec<String> {
        let profiles = agentshim::server::profiles::Profiles::builtin();
        let profile = profiles.get("codex").expect("built-in codex profile");
        assert_eq!(profile.command[0], "codex");
        assert!(profile.command.iter().any(|a| a == INLINE_FLAG));
        profile.command[1..]
            .iter()
            .filter(|a| self == Mode::Inline || *a != INLINE_FLAG)
            .cloned()
            .collect()
    }
}

/// Codex set up against `server`, with the settings a user's config lacks taken out.
pub fn agent(server: &FakeModelServer) -> LiveAgent {
    let agent = live_agents::codex(&server.openai_base_url());
    let path = agent.home_path().join(".codex/config.toml");
    let mut config = std::fs::read_to_string(&path).expect("read codex config");
    for line in USER_UNLIKE_LINES {
        assert!(config.contains(line), "config layout changed: {line}");
        config = config.replace(line, "");
    }
    std::fs::write(&path, config).expect("write codex config");
    agent
}

/// Whether `test` may run (see `live_agents::live_gate`).
pub fn gate(test: &str) -> bool {
    live_agents::live_gate(test, &[AgentCli::Codex])
}

/// Milliseconds since the Unix epoch, comparable with `Envelope::unix_ms`.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

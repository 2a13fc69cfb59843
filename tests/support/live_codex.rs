//! Codex CLI 0.169.0 under agentshim, for the live Codex tests: a fake model server, a
//! temporary HOME whose config sets neither `disable_paste_burst` nor `daemon_auto_start =
//! false` (a user's Codex has neither: Enter must submit exactly once without the first, and
//! the built-in profile's `--no-daemon` must keep the `codex app-server` daemon away without
//! the second), and a shim with the Codex driver running Codex with the built-in `codex`
//! profile's arguments, whose environment is exactly the agent's (nothing else inherited).
//!
//! Its events are read by the one [`EventReader`], waiting up to [`LIVE_TIMEOUT`]; what is
//! left of the agent after it ended is `procs::agent_leftovers` (a `codex app-server` daemon
//! included, through its HOME).

use std::time::{Duration, Instant};

use agentshim::protocol::Event;
use agentshim::shim::{AgentKind, ShimHandle, ShimSpec};

use super::eventually::Poll;
use super::fake_model::FakeModelServer;
use super::live_agents::{self, AgentCli, LIVE_TIMEOUT, LiveAgent};
use super::shim::EventReader;

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

/// A shim spec running `agent` in `mode` with exactly the agent's environment.
pub fn spec(id: &str, agent: &LiveAgent, mode: Mode) -> ShimSpec {
    let mut spec = ShimSpec::new(id, &agent.program, mode.args())
        .agent(AgentKind::Codex)
        .cwd(&agent.cwd)
        .turn_signals(live_agents::turn_signals());
    for (key, _) in std::env::vars_os() {
        if !agent.env.iter().any(|(k, _)| key == k.as_str()) {
            spec = spec.env_remove(key);
        }
    }
    for (key, value) in &agent.env {
        spec = spec.env(key, value);
    }
    spec
}

/// A running Codex shim and everything it needs.
pub struct LiveCodex {
    pub server: FakeModelServer,
    pub agent: LiveAgent,
    pub handle: ShimHandle,
    pub events: EventReader,
    /// The agent's pid (also its session id).
    pub pid: i32,
    /// When the agent was spawned.
    pub spawned_at: Instant,
    /// From spawn to the `Ready` event.
    pub ready_after: Duration,
}

/// Whether `test` may run (see `live_agents::live_gate`).
pub fn gate(test: &str) -> bool {
    live_agents::live_gate(test, &[AgentCli::Codex])
}

impl LiveCodex {
    /// Starts a fake server and Codex in `mode` under a shim, after `prepare` had its say on
    /// the agent's HOME and cwd; waits for nothing (`ready_after` is zero).
    pub async fn start(id: &str, mode: Mode, prepare: impl FnOnce(&LiveAgent)) -> Self {
        let server = FakeModelServer::start().await;
        let agent = agent(&server);
        prepare(&agent);
        let spawned_at = Instant::now();
        let handle = agentshim::shim::spawn(spec(id, &agent, mode)).expect("spawn codex");
        let events = EventReader::new(&handle).waiting_up_to(LIVE_TIMEOUT);
        let pid = handle.status().await.expect("status").pid as i32;
        Self {
            server,
            agent,
            handle,
            events,
            pid,
            spawned_at,
            ready_after: Duration::ZERO,
        }
    }

    /// Starts Codex in `mode` (see [`LiveCodex::start`]) and waits for `Ready`.
    pub async fn ready(id: &str, mode: Mode) -> Self {
        let mut codex = Self::start(id, mode, |_| {}).await;
        codex
            .events
            .wait_for("Ready", |e| matches!(e, Event::Ready))
            .await;
        codex.ready_after = codex.spawned_at.elapsed();
        codex
    }

    /// Waits for the `Warning` that reports a dialog; its message.
    pub async fn dialog_warning(&mut self) -> String {
        let warning = self
            .events
            .wait_for(
                "a dialog Warning",
                |e| matches!(e, Event::Warning { message, .. } if message.contains("dialog")),
            )
            .await;
        match warning {
            Event::Warning { message, .. } => message,
            _ => unreachable!(),
        }
    }

    /// Sends `body`; its message id.
    pub async fn send(&self, body: &str) -> String {
        self.handle
            .send_message("live-test", body, None)
            .await
            .expect("message accepted")
            .id
    }

    /// Sends `body` and returns the response of its Completion.
    pub async fn ask(&mut self, body: &str) -> String {
        let id = self.send(body).await;
        self.events.completion_of(&id).await
    }

    /// Polls the screen until it shows `text`; that screen.
    pub async fn wait_screen(&self, text: &str) -> String {
        let shown = async || Some(self.screen().await).filter(|screen| screen.contains(text));
        match Poll::within(LIVE_TIMEOUT).until(shown).await {
            Some(screen) => screen,
            None => panic!("`{text}` never showed:\n{}", self.screen().await),
        }
    }

    /// The whole screen with its scrollback, for failure messages.
    pub async fn screen(&self) -> String {
        self.handle
            .capture_scope(None, true)
            .await
            .map(|c| c.content)
            .unwrap_or_else(|e| format!("<no capture: {e}>"))
    }
}

/// Milliseconds since the Unix epoch, comparable with `Envelope::unix_ms`.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

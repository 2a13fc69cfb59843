//! Any of the three real CLIs under a shim, for live tests that run the same scenario on each:
//! a fresh fake model server, a fresh HOME configured as `live_agents` does, the CLI with
//! exactly the agent's environment (Codex inline, as the built-in profile runs it), the
//! driver of its kind and the given [`Signals`]. Dropping it SIGKILLs what is left of the
//! agent before its HOME goes.

use std::time::Duration;

use agentshim::protocol::Event;
use agentshim::shim::{AgentKind, ShimHandle, ShimSpec, Signals};

use super::fake_model::FakeModelServer;
use super::live_agents::{self, AgentCli, ClaudeAuth, LIVE_TIMEOUT, LiveAgent};
use super::live_codex::{self, Mode};
use super::procs::agent_leftovers;
use super::shim::EventReader;

/// A running CLI in a shim, with its server and HOME.
pub struct LiveShim {
    pub cli: AgentCli,
    pub server: FakeModelServer,
    pub agent: LiveAgent,
    pub shim: ShimHandle,
    pub events: EventReader,
    /// The agent's pid (its session id).
    pub pid: i32,
}

impl Drop for LiveShim {
    fn drop(&mut self) {
        for pid in agent_leftovers(self.pid, self.agent.home_path()) {
            // SAFETY: kill(2) on a process of this test's agent; no memory is involved.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// Whether `test` may run with `cli` (see `live_agents::live_gate`).
pub fn gate(test: &str, cli: AgentCli) -> bool {
    live_agents::live_gate(test, &[cli])
}

fn agent_kind(cli: AgentCli) -> AgentKind {
    match cli {
        AgentCli::Claude => AgentKind::Claude,
        AgentCli::Codex => AgentKind::Codex,
        AgentCli::Gemini => AgentKind::Gemini,
    }
}

impl LiveShim {
    /// Starts `cli` against a new fake server and waits for `Ready`.
    pub async fn ready(cli: AgentCli, id: &str, auth: ClaudeAuth, signals: Signals) -> Self {
        let server = FakeModelServer::start().await;
        let agent = match cli {
            AgentCli::Claude => live_agents::claude(&server.anthropic_base_url(), auth),
            AgentCli::Codex => live_codex::agent(&server),
            AgentCli::Gemini => live_agents::gemini(&server.gemini_base_url()),
        };
        let args = match cli {
            AgentCli::Codex => Mode::Inline.args(),
            _ => Vec::new(),
        };
        let mut spec = ShimSpec::new(id, &agent.program, args)
            .agent(agent_kind(cli))
            .cwd(&agent.cwd)
            .signals(signals)
            .turn_signals(live_agents::turn_signals());
        for (key, _) in std::env::vars_os() {
            if !agent.env.iter().any(|(k, _)| key == k.as_str()) {
                spec = spec.env_remove(key);
            }
        }
        for (key, value) in &agent.env {
            spec = spec.env(key, value);
        }
        let shim = agentshim::shim::spawn(spec).expect("spawn the agent in a shim");
        let mut events = EventReader::new(&shim).waiting_up_to(LIVE_TIMEOUT);
        let pid = shim.status().await.expect("status").pid as i32;
        events.ready().await;
        Self {
            cli,
            server,
            agent,
            shim,
            events,
            pid,
        }
    }

    /// Sends `body`; its message id.
    pub async fn send(&self, body: &str) -> String {
        self.shim
            .send_message("test", body, None)
            .await
            .expect("message accepted")
            .id
    }

    /// The screen with its scrollback, for failure messages.
    pub async fn screen(&self) -> String {
        self.shim
            .capture_scope(Some(80), true)
            .await
            .map(|capture| capture.content)
            .unwrap_or_default()
    }

    /// Waits for `InputRequested`: the prompt and the options.
    pub async fn question(&mut self) -> (String, Vec<String>) {
        let asked = self
            .events
            .wait_for("InputRequested", |e| {
                matches!(e, Event::InputRequested { .. })
            })
            .await;
        match asked {
            Event::InputRequested { prompt, options } => (prompt, options),
            _ => unreachable!(),
        }
    }
}

/// Short holds for tests: a quota without a reset time holds messages this long.
pub fn test_signals(unknown_reset_hold: Duration) -> Signals {
    Signals {
        unknown_reset_hold,
        ..Signals::default()
    }
}

//! Claude Code under agentshim for live tests: a fresh fake model server, a fresh HOME with the
//! API-key configuration of `live_agents::claude`, and the real `claude` in a shim with the
//! Claude driver at 220×50. The CLI runs through `env -i`, which execs it with exactly the
//! agent's environment (as `live_tmux` does), so the shim's pid is Claude's.
//!
//! Its events are read by the one [`EventReader`], waiting up to [`LIVE_TIMEOUT`]; what is
//! left of the agent is `procs::agent_leftovers` (its session, anything whose cwd or executable
//! is in its HOME).

use std::time::{Duration, Instant};

use agentshim::shim::{AgentKind, ShimHandle, ShimSpec};

use super::eventually::Poll;
use super::fake_model::FakeModelServer;
use super::live_agents::{self, ClaudeAuth, LIVE_TIMEOUT, LiveAgent};
use super::procs::agent_leftovers;
use super::shim::EventReader;

/// A started Claude shim with its server and HOME (both live as long as this value). Dropping
/// it SIGKILLs whatever is left of the agent before its HOME is removed (the shim's own kill
/// runs later, on its actor task, and a Claude still running would recreate `~/.claude`).
pub struct ClaudeShim {
    pub server: FakeModelServer,
    pub agent: LiveAgent,
    pub shim: ShimHandle,
    pub events: EventReader,
    /// When the shim was spawned.
    pub spawned: Instant,
    /// The agent's pid: its session id.
    pid: i32,
}

impl Drop for ClaudeShim {
    fn drop(&mut self) {
        Poll::within(Duration::from_secs(5)).until_blocking(|| {
            let left = agent_leftovers(self.pid, self.agent.home_path());
            for &pid in &left {
                // SAFETY: kill(2) on a process of this test's agent; no memory is involved.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            left.is_empty().then_some(())
        });
    }
}

impl ClaudeShim {
    /// Starts the fake server and Claude in a shim (does not wait for Ready).
    pub async fn start(id: &str) -> Self {
        Self::start_with(id, |_| {}).await
    }

    /// Like [`ClaudeShim::start`], with `edit` applied to `~/.claude.json` first.
    pub async fn start_with(id: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Self {
        let server = FakeModelServer::start().await;
        let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
        let path = agent.home_path().join(".claude.json");
        let mut config = live_agents::claude_json(&agent.cwd, ClaudeAuth::ApiKey);
        edit(&mut config);
        std::fs::write(&path, config.to_string()).expect("write .claude.json");
        let mut args = vec!["-i".to_owned()];
        args.extend(agent.env_pairs());
        args.push(agent.program.display().to_string());
        let spec = ShimSpec::new(id, "env", args)
            .agent(AgentKind::Claude)
            .cwd(&agent.cwd)
            .turn_signals(live_agents::turn_signals());
        let spawned = Instant::now();
        let shim = agentshim::shim::spawn(spec).expect("spawn claude in a shim");
        let events = EventReader::new(&shim).waiting_up_to(LIVE_TIMEOUT);
        let pid = shim.status().await.expect("shim status").pid as i32;
        Self {
            server,
            agent,
            shim,
            events,
            spawned,
            pid,
        }
    }

    /// Starts Claude and waits for Ready; also returns how long that took.
    pub async fn ready(id: &str) -> (Self, Duration) {
        let mut claude = Self::start(id).await;
        claude.events.ready().await;
        let took = claude.spawned.elapsed();
        (claude, took)
    }

    /// Sends `body`; its message id.
    pub async fn send(&self, body: &str) -> String {
        self.shim
            .send_message("live-test", body, None)
            .await
            .expect("message accepted")
            .id
    }

    /// Waits for the Completion of `id`: its response and when it was read.
    pub async fn completion(&mut self, id: &str) -> (String, Instant) {
        let response = self.events.completion_of(id).await;
        (response, Instant::now())
    }

    /// Sends `body` and waits for its answer.
    pub async fn ask(&mut self, body: &str) -> String {
        let id = self.send(body).await;
        self.completion(&id).await.0
    }

    /// The screen with its scrollback, for failure messages.
    pub async fn screen(&self) -> String {
        match self.shim.capture_scope(None, true).await {
            Ok(capture) => capture.content,
            Err(error) => format!("(no capture: {error})"),
        }
    }

    /// What the server saw and the screen, for failure messages.
    pub async fn report(&self) -> String {
        format!(
            "-- server saw:\n{}-- screen:\n{}\n-- events:\n{}",
            self.server.summary(),
            self.screen().await,
            self.events.describe()
        )
    }
}

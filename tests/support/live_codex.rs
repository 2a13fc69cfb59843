//! Codex CLI 0.169.0 under agentshim, for the live Codex tests: a fake model server, a
//! temporary HOME whose config sets neither `disable_paste_burst` nor `daemon_auto_start =
//! false` (a user's Codex has neither: Enter must submit exactly once without the first, and
//! the built-in profile's `--no-daemon` must keep the `codex app-server` daemon away without
//! the second), and a shim with the Codex driver running Codex with the built-in `codex`
//! profile's arguments, whose environment is exactly the agent's (nothing else inherited).
//!
//! [`Events`] reads the shim's events in order with generous timeouts (never fixed sleeps),
//! keeping their log times for latency figures; [`leftover_processes`] tells what is still
//! running of the agent after it ended: its session, and anything whose cwd or executable is
//! inside its HOME (helpers such as a `codex app-server` daemon included).

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::events::{Envelope, LogItem, Subscription};
use agentshim::shim::process::session_members;
use agentshim::shim::{AgentKind, ShimHandle, ShimSpec};

use super::fake_model::FakeModelServer;
use super::live_agents::{self, AgentCli, LiveAgent};
use super::live_tmux;

/// Longest wait for one event or one answer; a loaded 2-core machine stays well inside it.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(90);

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
    pub events: Events,
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
        let events = Events::new(&handle);
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
        match &warning.event {
            Event::Warning { message, .. } => message.clone(),
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
        self.events.completion_of(&id).await.1
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

/// Reads one shim's events in order, remembering them.
pub struct Events {
    subscription: Subscription,
    /// Everything read so far.
    pub seen: Vec<Arc<Envelope>>,
}

impl Events {
    pub fn new(handle: &ShimHandle) -> Self {
        Self {
            subscription: handle.subscribe(0),
            seen: Vec::new(),
        }
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self
            .seen
            .iter()
            .map(|e| match &e.event {
                Event::StateChanged { from, to, .. } => format!("{from}->{to}"),
                Event::Warning { message, .. } => format!("Warning({message})"),
                other => other.name().to_owned(),
            })
            .collect();
        names.join(", ")
    }

    /// Skips events until one matches `wanted`; panics naming what was seen after
    /// [`LIVE_TIMEOUT`].
    pub async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Arc<Envelope> {
        self.wait_for_within(LIVE_TIMEOUT, what, wanted).await
    }

    /// Like [`Events::wait_for`], waiting up to `timeout`.
    pub async fn wait_for_within(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let item = tokio::time::timeout_at(deadline, self.subscription.next())
                .await
                .unwrap_or_else(|_| {
                    panic!("no {what} within {timeout:?}; seen: {}", self.describe())
                })
                .expect("event log closed");
            let envelope = match item {
                LogItem::Event(envelope) => envelope,
                LogItem::Gap {
                    first_lost,
                    last_lost,
                } => {
                    panic!("events {first_lost}..={last_lost} lost")
                }
            };
            self.seen.push(Arc::clone(&envelope));
            if wanted(&envelope.event) {
                return envelope;
            }
        }
    }

    /// Waits for the Completion of message `id`: its log time (Unix ms) and response.
    pub async fn completion_of(&mut self, id: &str) -> (u64, String) {
        let envelope = self
            .wait_for(
                &format!("Completion of {id}"),
                |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
            )
            .await;
        match &envelope.event {
            Event::Completion { response, .. } => (envelope.unix_ms, response.clone()),
            _ => unreachable!(),
        }
    }

    /// Waits for `MessageDelivered` of message `id`.
    pub async fn delivered(&mut self, id: &str) -> Arc<Envelope> {
        self.wait_for(
            &format!("MessageDelivered of {id}"),
            |e| matches!(e, Event::MessageDelivered { id: d } if d == id),
        )
        .await
    }

    /// The states entered so far, in order.
    pub fn states(&self) -> Vec<ShimState> {
        self.seen
            .iter()
            .filter_map(|e| match e.event {
                Event::StateChanged { to, .. } => Some(to),
                _ => None,
            })
            .collect()
    }

    /// How many events read so far match `wanted`.
    pub fn count(&self, wanted: impl Fn(&Event) -> bool) -> usize {
        self.seen.iter().filter(|e| wanted(&e.event)).count()
    }
}

/// Pids still alive of the agent's session `sid` or with their cwd or executable in `home`.
pub fn leftover_processes(sid: i32, home: &std::path::Path) -> Vec<u32> {
    let mut pids: Vec<u32> = session_members(sid).into_iter().map(|p| p as u32).collect();
    pids.extend(live_tmux::processes_in(home));
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Waits (polling `/proc` every 50 ms, up to 10 s) until nothing is left; what is left.
pub async fn wait_no_leftovers(sid: i32, home: &std::path::Path) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = leftover_processes(sid, home);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Milliseconds since the Unix epoch, comparable with `Envelope::unix_ms`.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

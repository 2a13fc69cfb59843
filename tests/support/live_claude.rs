//! Claude Code under agentshim for live tests: a fresh fake model server, a fresh HOME with the
//! API-key configuration of `live_agents::claude`, and the real `claude` in a shim with the
//! Claude driver at 220×50. The CLI runs through `env -i`, which execs it with exactly the
//! agent's environment (as `live_tmux` does), so the shim's pid is Claude's.
//!
//! [`Events`] waits on the shim's events with generous timeouts and stamps each with the time
//! it was read; [`leftovers`] lists what is still running of the agent (its session, anything
//! whose cwd or executable is in its HOME).

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::events::{Envelope, LogItem, Subscription};
use agentshim::shim::process::session_members;
use agentshim::shim::{AgentKind, ShimHandle, ShimSpec};

use super::fake_model::FakeModelServer;
use super::live_agents::{self, ClaudeAuth, LiveAgent};
use super::live_tmux;

/// Longest wait for one event: startup, or one turn on a loaded 2-core machine.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(90);

/// A started Claude shim with its server and HOME (both live as long as this value). Dropping
/// it SIGKILLs whatever is left of the agent before its HOME is removed (the shim's own kill
/// runs later, on its actor task, and a Claude still running would recreate `~/.claude`).
pub struct ClaudeShim {
    pub server: FakeModelServer,
    pub agent: LiveAgent,
    pub shim: ShimHandle,
    pub events: Events,
    /// When the shim was spawned.
    pub spawned: Instant,
    /// The agent's pid: its session id.
    pid: u32,
}

impl Drop for ClaudeShim {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = leftovers(self.pid, self.agent.home_path());
            if left.is_empty() || Instant::now() >= deadline {
                return;
            }
            for pid in left {
                // SAFETY: kill(2) on a process of this test's agent; no memory is involved.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
        let events = Events::new(&shim);
        let pid = shim.status().await.expect("shim status").pid;
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
        claude
            .events
            .wait("Ready", |e| matches!(e, Event::Ready))
            .await;
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
        let (event, at) = self
            .events
            .wait(
                &format!("Completion of {id}"),
                |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
            )
            .await;
        match event {
            Event::Completion { response, .. } => (response, at),
            _ => unreachable!(),
        }
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
            "-- server saw:\n{}-- screen:\n{}\n-- events:\n{:#?}",
            self.server.summary(),
            self.screen().await,
            self.events.seen
        )
    }
}

/// Reads one shim's events in order, remembering them.
pub struct Events {
    subscription: Subscription,
    pub seen: Vec<Event>,
    /// Sequence number of the last event read.
    pub last_seq: u64,
}

impl Events {
    pub fn new(shim: &ShimHandle) -> Self {
        Self {
            subscription: shim.subscribe(0),
            seen: Vec::new(),
            last_seq: 0,
        }
    }

    async fn next(&mut self, what: &str, deadline: tokio::time::Instant) -> Arc<Envelope> {
        let item = tokio::time::timeout_at(deadline, self.subscription.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {LIVE_TIMEOUT:?}; seen {:#?}", self.seen))
            .expect("event log closed");
        match item {
            LogItem::Event(envelope) => {
                self.seen.push(envelope.event.clone());
                self.last_seq = envelope.seq;
                envelope
            }
            LogItem::Gap {
                first_lost,
                last_lost,
            } => panic!("events {first_lost}..={last_lost} lost"),
        }
    }

    /// Skips events until one matches `wanted`; it and when it was read.
    pub async fn wait(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> (Event, Instant) {
        let deadline = tokio::time::Instant::now() + LIVE_TIMEOUT;
        loop {
            let envelope = self.next(what, deadline).await;
            if wanted(&envelope.event) {
                return (envelope.event.clone(), Instant::now());
            }
        }
    }

    /// Waits for the change into `state`.
    pub async fn state(&mut self, state: ShimState) -> Instant {
        self.wait(
            &format!("StateChanged to {state}"),
            |e| matches!(e, Event::StateChanged { to, .. } if *to == state),
        )
        .await
        .1
    }

    /// How many events read so far match `wanted`.
    pub fn count(&self, wanted: impl Fn(&Event) -> bool) -> usize {
        self.seen.iter().filter(|e| wanted(e)).count()
    }
}

/// Pids still running of an agent started as session leader `sid` with HOME `home`: members
/// of its session, and processes whose cwd or executable lies under its HOME.
pub fn leftovers(sid: u32, home: &std::path::Path) -> Vec<u32> {
    let sid = i32::try_from(sid).expect("pid fits i32");
    let mut pids: Vec<u32> = session_members(sid)
        .into_iter()
        .filter_map(|pid| u32::try_from(pid).ok())
        .chain(live_tmux::processes_in(home))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Waits up to `timeout` for [`leftovers`] to be empty; what is left.
pub async fn wait_gone(sid: u32, home: &std::path::Path, timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = leftovers(sid, home);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

//! The one wrapper of a real CLI under a shim, for every live test: a fresh fake model server,
//! a fresh HOME configured as `live_agents` does (and as a test's `prepare` changes it), the
//! CLI run directly with exactly the agent's environment (Codex with the built-in profile's
//! arguments, inline unless the test asks for the alternate screen; and the arguments a test
//! adds), the driver of its kind, the given [`Signals`] and turn signals (the suite's switch
//! unless a test says otherwise). Its events are read by the one [`EventReader`], waiting up
//! to [`LIVE_TIMEOUT`]. Dropping it SIGKILLs what is left of the agent before its HOME goes
//! (the shim's own kill runs later, on its actor task, and a CLI still running would recreate
//! files in that HOME).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentshim::protocol::Event;
use agentshim::shim::agent_session::AgentSession;
use agentshim::shim::recording::{DEFAULT_RECORDING_BYTES, RecordingSpec};
use agentshim::shim::{AgentKind, ShimHandle, ShimSpec, Signals};

use super::eventually::Poll;
use super::fake_model::FakeModelServer;
use super::live_agents::{self, AgentCli, ClaudeAuth, LIVE_TIMEOUT, LiveAgent};
use super::live_codex::{self, Mode};
use super::procs::agent_leftovers;
use super::shim::EventReader;

/// How a live test starts its CLI, besides which one.
#[derive(Debug, Clone)]
pub struct Launch {
    /// How Claude authenticates (ignored by the others).
    pub auth: ClaudeAuth,
    /// The shim's handling of limits and quotas.
    pub signals: Signals,
    /// Codex inline (as the built-in profile runs it) or on the alternate screen.
    pub codex_mode: Mode,
    /// Whether the shim reads the CLI's turn signals (hooks, OSC records); the suite's switch
    /// (`AGENTSHIM_TURN_SIGNALS=off`) unless a test sets it.
    pub turn_signals: bool,
    /// Arguments the test adds to the CLI's command line (after Codex's mode's, before those
    /// the driver adds, such as Claude's `--settings`).
    pub args: Vec<String>,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            auth: ClaudeAuth::ApiKey,
            signals: Signals::default(),
            codex_mode: Mode::Inline,
            turn_signals: live_agents::turn_signals(),
            args: Vec::new(),
        }
    }
}

/// A running CLI in a shim, with its server and HOME.
pub struct LiveShim {
    pub cli: AgentCli,
    /// The shim's id.
    pub id: String,
    pub launch: Launch,
    pub server: FakeModelServer,
    pub agent: LiveAgent,
    pub shim: ShimHandle,
    pub events: EventReader,
    /// The agent's pid (its session id).
    pub pid: i32,
    /// When the agent was spawned.
    pub spawned: Instant,
    /// From spawn to the `Ready` event (zero until [`LiveShim::wait_ready`]).
    pub ready_after: Duration,
}

impl Drop for LiveShim {
    fn drop(&mut self) {
        self.kill_leftovers();
    }
}

/// The shim of `cli` as a live test runs it: exactly the agent's environment, Codex with its
/// mode's arguments, then the launch's own, recording the CLI's session and the shim's terminal
/// in the agent's HOME.
fn shim_spec(cli: AgentCli, agent: &LiveAgent, id: &str, launch: &Launch) -> ShimSpec {
    let mut args = match cli {
        AgentCli::Codex => launch.codex_mode.args(),
        _ => Vec::new(),
    };
    args.extend(launch.args.iter().cloned());
    let mut spec = ShimSpec::new(id, &agent.program, args)
        .agent(agent_kind(cli))
        .cwd(&agent.cwd)
        .signals(launch.signals.clone())
        .turn_signals(launch.turn_signals)
        .session_record(session_record_in(agent))
        .recording(RecordingSpec {
            path: recording_in(agent),
            max_bytes: DEFAULT_RECORDING_BYTES,
        });
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

/// Where a live shim records its CLI's session: a file of the agent's HOME no CLI reads.
fn session_record_in(agent: &LiveAgent) -> PathBuf {
    agent.home_path().join("agentshim-session.json")
}

/// Where a live shim records its terminal.
fn recording_in(agent: &LiveAgent) -> PathBuf {
    agent.home_path().join("agentshim-terminal.cast")
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
    /// Starts `cli` with the default [`Launch`] and waits for `Ready`.
    pub async fn ready(cli: AgentCli, id: &str) -> Self {
        Self::ready_with(cli, id, Launch::default()).await
    }

    /// Starts Codex in `mode` and waits for `Ready`.
    pub async fn codex(id: &str, mode: Mode) -> Self {
        let launch = Launch {
            codex_mode: mode,
            ..Launch::default()
        };
        Self::ready_with(AgentCli::Codex, id, launch).await
    }

    /// Starts `cli` as `launch` says and waits for `Ready`.
    pub async fn ready_with(cli: AgentCli, id: &str, launch: Launch) -> Self {
        let mut live = Self::start(cli, id, launch, |_| {}).await;
        live.wait_ready().await;
        live
    }

    /// Starts `cli` against a new fake server, after `prepare` had its say on the agent's HOME
    /// and cwd; waits for nothing.
    pub async fn start(
        cli: AgentCli,
        id: &str,
        launch: Launch,
        prepare: impl FnOnce(&LiveAgent),
    ) -> Self {
        let server = FakeModelServer::start().await;
        let agent = match cli {
            AgentCli::Claude => live_agents::claude(&server.anthropic_base_url(), launch.auth),
            AgentCli::Codex => live_codex::agent(&server),
            AgentCli::Gemini => live_agents::gemini(&server.gemini_base_url()),
        };
        prepare(&agent);
        let spec = shim_spec(cli, &agent, id, &launch);
        let spawned = Instant::now();
        let shim = agentshim::shim::spawn(spec).expect("spawn the agent in a shim");
        let events = EventReader::new(&shim).waiting_up_to(LIVE_TIMEOUT);
        let pid = shim.status().await.expect("status").pid as i32;
        Self {
            cli,
            id: id.to_owned(),
            launch,
            server,
            agent,
            shim,
            events,
            pid,
            spawned,
            ready_after: Duration::ZERO,
        }
    }

    /// The screen the shim's recording ends on, once it holds `markers` Completion markers:
    /// what the real `asciinema cat` prints, drawn on a terminal of the recording's size
    /// (`asciinema play` must take it too). Says what the recording holds.
    pub async fn recording_screen(&self, markers: usize) -> String {
        let path = recording_in(&self.agent);
        let completions = || {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (text.matches("\"completion ").count() >= markers).then_some(text)
        };
        let Some(text) = Poll::within(LIVE_TIMEOUT).until_blocking(completions) else {
            panic!(
                "the recording at {} never held {markers} Completions",
                path.display()
            );
        };
        let marks: Vec<String> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| event[1] == "m")
            .map(|event| event[2].as_str().unwrap_or_default().to_owned())
            .collect();
        super::live_gemini_shim::say(&format!(
            "{} recording: {} bytes, {} events, markers {marks:?}",
            self.cli.program_name(),
            text.len(),
            text.lines().count() - 1,
        ));
        let header: serde_json::Value =
            serde_json::from_str(text.lines().next().unwrap_or_default()).expect("a header");
        let size = |key: &str| header[key].as_u64().and_then(|n| u16::try_from(n).ok());
        let (Some(rows), Some(cols)) = (size("height"), size("width")) else {
            panic!("no size in the recording's header {header}");
        };
        super::asciinema::play(&path);
        let mut view = super::terminal_view::TerminalView::new(rows, cols);
        view.feed(super::asciinema::cat(&path).as_bytes());
        view.contents()
    }

    /// Where the shim records the CLI's session ([`AgentSession`]).
    pub fn session_record(&self) -> PathBuf {
        session_record_in(&self.agent)
    }

    /// What a host restart does to the agent, then what a server with a profile that resumes
    /// does after it: waits until the shim has recorded the CLI's session, SIGKILLs the agent
    /// and all it started, and starts the same CLI in a new shim on the same fake server,
    /// HOME and cwd, resuming that session; waits for `Ready`. Returns the session.
    pub async fn restart_resuming(&mut self) -> AgentSession {
        let record = self.session_record();
        let recorded = async || AgentSession::read_record(&record).ok().flatten();
        let Some(session) = Poll::within(LIVE_TIMEOUT).until(recorded).await else {
            panic!(
                "no session recorded in {}\n{}",
                record.display(),
                self.report().await
            );
        };
        self.kill_leftovers();
        let spec = shim_spec(self.cli, &self.agent, &self.id, &self.launch).resume(session.clone());
        self.spawned = Instant::now();
        self.shim = agentshim::shim::spawn(spec).expect("spawn the agent again in a shim");
        self.events = EventReader::new(&self.shim).waiting_up_to(LIVE_TIMEOUT);
        self.pid = self.shim.status().await.expect("status").pid as i32;
        self.wait_ready().await;
        session
    }

    /// SIGKILLs what is left of the agent (its session, anything running from its HOME) until
    /// nothing is.
    fn kill_leftovers(&self) {
        Poll::within(Duration::from_secs(5)).until_blocking(|| {
            let left = agent_leftovers(self.pid, self.agent.home_path());
            for &pid in &left {
                // SAFETY: kill(2) on a process of this test's agent; no memory is involved.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            left.is_empty().then_some(())
        });
    }

    /// Waits for `Ready` and notes how long after the spawn it came; panics with the screen
    /// and what the server saw when it does not come.
    pub async fn wait_ready(&mut self) {
        if self
            .events
            .try_wait_for(|e| matches!(e, Event::Ready))
            .await
            .is_none()
        {
            panic!(
                "{} never became Ready\n{}",
                self.cli.program_name(),
                self.report().await
            );
        }
        self.ready_after = self.spawned.elapsed();
    }

    /// Sends `body`; its message id.
    pub async fn send(&self, body: &str) -> String {
        self.shim
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

    /// Waits for the Completion of `id`: its response and when it was read.
    pub async fn completion(&mut self, id: &str) -> (String, Instant) {
        let response = self.events.completion_of(id).await;
        (response, Instant::now())
    }

    /// The screen with its whole scrollback.
    pub async fn screen(&self) -> String {
        self.capture(None).await
    }

    /// The last `lines` lines of the screen and its scrollback (`None`: all of them).
    async fn capture(&self, lines: Option<usize>) -> String {
        match self.shim.capture_scope(lines, true).await {
            Ok(capture) => capture.content,
            Err(error) => format!("(no capture: {error})"),
        }
    }

    /// Polls the screen until it shows `text`; that screen.
    pub async fn wait_screen(&self, text: &str) -> String {
        let shown = async || Some(self.screen().await).filter(|screen| screen.contains(text));
        match Poll::within(LIVE_TIMEOUT).until(shown).await {
            Some(screen) => screen,
            None => panic!("`{text}` never showed:\n{}", self.screen().await),
        }
    }

    /// What the server saw, the screen and the events, for failure messages.
    pub async fn report(&self) -> String {
        format!(
            "-- server saw:\n{}-- screen (last 80 lines):\n{}\n-- events:\n{}",
            self.server.summary(),
            self.capture(Some(80)).await,
            self.events.describe()
        )
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
}

/// Short holds for tests: a quota without a reset time holds messages this long.
pub fn test_signals(unknown_reset_hold: Duration) -> Signals {
    Signals {
        unknown_reset_hold,
        ..Signals::default()
    }
}

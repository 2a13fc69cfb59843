//! What it takes to start a shim: the agent kind, the process to run, the screen geometry, the
//! timers of the state machine, and where its events go. A spec is serialisable as a whole
//! (but for where its events go), so a host can hand it to a shim process (`agentshim shim
//! --spec FILE`) and keep it to start the shim again.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::agent_session::AgentSession;
use super::agents::AgentKind;
use super::events::{DEFAULT_LOG_CAPACITY, EventLog, LogBounds};
use super::process::ProcessSpec;
use super::recording::RecordingSpec;
use super::screen::DEFAULT_HISTORY_BYTES;

pub const DEFAULT_ROWS: u16 = 50;
pub const DEFAULT_COLS: u16 = 220;
pub const DEFAULT_SCROLLBACK: usize = 5000;
/// The largest number of rows or columns a screen may have (every path that sizes a screen
/// checks it: a 20000×20000 grid would take gigabytes).
pub const MAX_DIMENSION: u16 = 1000;
/// Messages that may wait while the agent is busy.
pub const DEFAULT_QUEUE_CAPACITY: usize = 16;

/// How large a message a shim accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLimits {
    /// Bytes of a body (UTF-8).
    pub max_body_bytes: usize,
    /// Bytes of a message id, and of a `from`.
    pub max_id_bytes: usize,
}

impl Default for MessageLimits {
    /// 256 KiB bodies (a long prompt; a frame holds 1 MiB), 128-byte ids.
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_id_bytes: 128,
        }
    }
}

/// The timers of a shim. Every one of them is a deadline the actor sleeps until, never a
/// polling interval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    /// A `Warning` is emitted when the agent has not reached its prompt after this long.
    pub ready_timeout: Duration,
    /// A `Warning` is emitted when a Working agent has printed nothing for this long.
    pub stale_after: Duration,
    /// `SessionStats` is emitted this often (besides after every Completion); `None`: never.
    pub stats_interval: Option<Duration>,
    /// Longest wait for the echo of a typed message before submitting anyway.
    pub echo_timeout: Duration,
    /// Longest wait for the agent to react to the submit key before `DeliveryFailed`.
    pub accept_timeout: Duration,
    /// Continuous output is classified at least this often, even if it never pauses.
    pub max_settle: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ready_timeout: Duration::from_secs(60),
            stale_after: Duration::from_secs(300),
            stats_interval: Some(Duration::from_secs(60)),
            echo_timeout: Duration::from_secs(2),
            accept_timeout: Duration::from_secs(10),
            max_settle: Duration::from_secs(1),
        }
    }
}

/// How the shim acts on what the agent reports about its limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signals {
    /// Hold messages while a usage quota is used up and deliver them by itself once the reset
    /// time passes. Off: held and new messages fail until then.
    pub auto_resume: bool,
    /// How long messages are held when a quota message names no reset time.
    pub unknown_reset_hold: Duration,
    /// `ContextWarning` when context usage crosses this share of the window, in percent.
    pub context_warning_pct: u8,
    /// The context window in tokens, overriding the driver's table of known models.
    pub context_limit_tokens: Option<u64>,
}

impl Default for Signals {
    fn default() -> Self {
        Self {
            auto_resume: true,
            unknown_reset_hold: Duration::from_secs(15 * 60),
            context_warning_pct: 80,
            context_limit_tokens: None,
        }
    }
}

/// Everything needed to start one shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShimSpec {
    /// The shim's id in events and logs.
    pub id: String,
    pub agent: AgentKind,
    pub process: ProcessSpec,
    /// Lines of scrollback kept beyond the visible screen.
    pub scrollback: usize,
    /// The most bytes that scrollback may take.
    pub history_bytes: usize,
    pub queue_capacity: usize,
    pub message_limits: MessageLimits,
    pub timing: Timing,
    pub signals: Signals,
    /// Use what the agent tells about its own turns (a shell's semantic prompt marks, which
    /// the shim sets up for bash) besides the screen: turn ends at once instead of after a
    /// settle window. Off: the screen alone decides.
    pub turn_signals: bool,
    /// Start the agent on this session of its CLI (its earlier conversation) instead of a new
    /// one, with the CLI's resume option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<AgentSession>,
    /// The seq of the shim's first event (1 for a new shim). A shim started again in place of
    /// one whose process is gone starts past every seq that one can have given, so a client's
    /// cursor of the shim's own seqs stays true (see [`EventLog::numbered_from`]). A log given
    /// with [`ShimSpec::events`] keeps its own numbering.
    #[serde(default = "first_seq_of_a_new_shim")]
    pub first_seq: u64,
    /// Record the shim's terminal there ([`super::recording`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingSpec>,
    /// Where the shim records the agent's session once it knows it ([`AgentSession`]).
    #[serde(skip)]
    pub session_record: Option<PathBuf>,
    /// Where events go; a shim without one gets its own log (so does a spec read back).
    #[serde(skip)]
    pub events: Option<Arc<EventLog>>,
}

fn first_seq_of_a_new_shim() -> u64 {
    1
}

impl ShimSpec {
    /// A spec with every default: generic agent, 50×220 screen, 5000 lines of scrollback.
    pub fn new(
        id: impl Into<String>,
        program: impl Into<OsString>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        Self {
            id: id.into(),
            agent: AgentKind::default(),
            process: ProcessSpec {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
                cwd: None,
                env_set: Vec::new(),
                env_remove: Vec::new(),
                rows: DEFAULT_ROWS,
                cols: DEFAULT_COLS,
                files: Vec::new(),
            },
            scrollback: DEFAULT_SCROLLBACK,
            history_bytes: DEFAULT_HISTORY_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            message_limits: MessageLimits::default(),
            timing: Timing::default(),
            signals: Signals::default(),
            turn_signals: true,
            resume: None,
            first_seq: first_seq_of_a_new_shim(),
            recording: None,
            session_record: None,
            events: None,
        }
    }

    pub fn agent(mut self, agent: AgentKind) -> Self {
        self.agent = agent;
        self
    }

    pub fn cwd(mut self, cwd: impl Into<PathBuf>) -> Self {
        self.process.cwd = Some(cwd.into());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.process.env_set.push((key.into(), value.into()));
        self
    }

    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.process.env_remove.push(key.into());
        self
    }

    pub fn size(mut self, rows: u16, cols: u16) -> Self {
        self.process.rows = rows;
        self.process.cols = cols;
        self
    }

    pub fn scrollback(mut self, lines: usize) -> Self {
        self.scrollback = lines;
        self
    }

    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }

    pub fn message_limits(mut self, limits: MessageLimits) -> Self {
        self.message_limits = limits;
        self
    }

    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages;
        self
    }

    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    pub fn signals(mut self, signals: Signals) -> Self {
        self.signals = signals;
        self
    }

    pub fn turn_signals(mut self, on: bool) -> Self {
        self.turn_signals = on;
        self
    }

    pub fn events(mut self, log: Arc<EventLog>) -> Self {
        self.events = Some(log);
        self
    }

    pub fn resume(mut self, session: AgentSession) -> Self {
        self.resume = Some(session);
        self
    }

    pub fn first_seq(mut self, seq: u64) -> Self {
        self.first_seq = seq;
        self
    }

    /// Records the shim's terminal as `recording` says.
    pub fn recording(mut self, recording: RecordingSpec) -> Self {
        self.recording = Some(recording);
        self
    }

    pub fn session_record(mut self, path: impl Into<PathBuf>) -> Self {
        self.session_record = Some(path.into());
        self
    }

    /// The event log this spec names, or a new one of the default capacity, numbered from
    /// the spec's first seq.
    pub(super) fn event_log(&self) -> Arc<EventLog> {
        self.events.clone().unwrap_or_else(|| {
            EventLog::numbered_from(self.first_seq, LogBounds::events(DEFAULT_LOG_CAPACITY))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    #[test]
    fn a_spec_reads_back_as_it_was_written_non_utf8_arguments_included() {
        let odd = std::ffi::OsStr::from_bytes(b"caf\xe9");
        let spec = ShimSpec::new("s1", "bash", [odd])
            .agent(AgentKind::Claude)
            .env("KEY", odd)
            .env_remove("CI")
            .cwd("/tmp")
            .size(24, 80)
            .queue_capacity(3)
            .turn_signals(false)
            .events(EventLog::new(4));
        let json = serde_json::to_string(&spec).unwrap();
        let back: ShimSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert_eq!(back.process.args, [odd]);
        assert_eq!(back.agent, AgentKind::Claude);
        assert!(
            back.events.is_none(),
            "a spec read back has no log of its own yet"
        );
        assert!(json.contains(r#""agent":"claude""#), "{json}");
    }
}

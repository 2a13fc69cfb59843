//! Why the shim is in the state it is in: every state change is kept (the last
//! [`KEPT_DECISIONS`]) with what decided it (a signal the program sent, the settled screen and
//! its driver's verdict, a request, a timer, the agent's exit), the lines of the screen then,
//! and when output last came, so a user who sees a wrong state can tell why in one call.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crate::protocol::ShimState;
use crate::protocol::link::DecisionRecord;
use crate::unix_time::unix_ms;

/// How many state changes are kept.
pub const KEPT_DECISIONS: usize = 32;

/// What made the core act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Output had paused for this long (the settle window) and the screen was judged.
    Settled { quiet: Duration },
    /// The program's own signal, as it printed it (`OSC 133;B`, `OSC 7501 state=done`).
    Signal(String),
    /// A request: an answer, a message, a shutdown.
    Request(String),
    /// A deadline of the core (the answer grace, a quota's reset, the first prompt's quiet).
    Timer(&'static str),
    /// The agent process exited.
    Exit,
    /// Decided in a shim process, as it described the cause.
    Reported(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Settled { quiet } => {
                write!(f, "screen after {} ms without output", quiet.as_millis())
            }
            Self::Signal(signal) => write!(f, "signal {signal}"),
            Self::Request(request) => write!(f, "request {request}"),
            Self::Timer(timer) => write!(f, "timer {timer}"),
            Self::Exit => f.write_str("agent exited"),
            Self::Reported(cause) => f.write_str(cause),
        }
    }
}

/// One state change and its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub from: ShimState,
    pub to: ShimState,
    /// When it was decided (wall clock).
    pub at: SystemTime,
    pub cause: Cause,
    /// What the driver concluded from the screen, when it was judged (`idle`, `working`, ...).
    pub verdict: Option<String>,
    /// The last non-blank lines of the screen then.
    pub screen: String,
    /// When the agent last wrote anything before the decision (wall clock).
    pub last_output: SystemTime,
    /// When the program's last signal (semantic prompt mark, status record) came before the
    /// decision, if it sent any.
    pub last_signal: Option<SystemTime>,
}

impl Decision {
    /// The decision as the wire carries it (times in Unix milliseconds, the cause described).
    pub fn into_record(self) -> DecisionRecord {
        DecisionRecord {
            from: self.from,
            to: self.to,
            unix_ms: unix_ms(self.at),
            cause: self.cause.to_string(),
            verdict: self.verdict,
            screen: self.screen,
            last_output_unix_ms: unix_ms(self.last_output),
            last_signal_unix_ms: self.last_signal.map(unix_ms),
        }
    }
}

/// The explanation of a shim's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub state: ShimState,
    /// How long the state has lasted.
    pub since: Duration,
    /// The program prints semantic prompt marks (its turn edges need no settle window).
    pub marks_seen: bool,
    /// The most recent state changes, oldest first.
    pub decisions: Vec<Decision>,
}

/// The kept decisions and the wall clock to stamp them.
#[derive(Debug)]
pub(super) struct DecisionLog {
    decisions: VecDeque<Decision>,
    /// The monotonic and the wall clock at one moment: times are stamped from them.
    origin: (Instant, SystemTime),
}

impl DecisionLog {
    pub(super) fn new(origin: (Instant, SystemTime)) -> Self {
        Self {
            decisions: VecDeque::with_capacity(KEPT_DECISIONS),
            origin,
        }
    }

    /// The wall-clock time of `at`.
    pub(super) fn wall(&self, at: Instant) -> SystemTime {
        self.origin.1 + at.saturating_duration_since(self.origin.0)
    }

    pub(super) fn record(&mut self, decision: Decision) {
        if self.decisions.len() == KEPT_DECISIONS {
            self.decisions.pop_front();
        }
        self.decisions.push_back(decision);
    }

    pub(super) fn decisions(&self) -> Vec<Decision> {
        self.decisions.iter().cloned().collect()
    }
}

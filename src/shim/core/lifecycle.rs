//! The end of an agent's life: a graceful shutdown staged as keystrokes, then SIGTERM to the
//! process group at half the grace period, then SIGKILL to everything at the deadline (an
//! immediate kill skips to the last step); and the agent's exit, announced once the PTY output
//! is drained.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::effect::AgentSignal;
use crate::protocol::ShutdownReason;

/// Pause between the keystrokes of an exit request: an interrupt key makes the terminal
/// discard input typed right after it.
pub(super) const EXIT_KEY_PAUSE: Duration = Duration::from_millis(300);

/// How long PTY output is still read after the agent exited, before `Died` is emitted.
pub(super) const EXIT_DRAIN: Duration = Duration::from_millis(500);

/// Why the agent is being stopped, as logs, summaries and interrupted turns say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownCause(&'static str);

impl ShutdownCause {
    /// The cause recorded for `Kill`.
    pub const KILLED: Self = Self("killed");

    pub fn label(self) -> &'static str {
        self.0
    }

    /// What ended the agent, in words: `killed`, `shutdown (requested)`.
    pub fn describe(self) -> String {
        if self == Self::KILLED {
            self.0.to_owned()
        } else {
            format!("shutdown ({})", self.0)
        }
    }
}

impl From<ShutdownReason> for ShutdownCause {
    fn from(reason: ShutdownReason) -> Self {
        Self(reason.label())
    }
}

/// A shutdown in progress.
#[derive(Debug)]
pub(super) struct ShutdownPlan {
    pub(super) cause: ShutdownCause,
    /// Keystrokes of the exit request still to send, and when the next one goes.
    exit_keys: VecDeque<&'static [u8]>,
    next_key_at: Option<Instant>,
    /// When the process group gets SIGTERM (none once sent, or for an immediate kill).
    terminate_at: Option<Instant>,
    /// When everything gets SIGKILL (none once sent).
    kill_at: Option<Instant>,
}

/// What a shutdown step asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Steps {
    pub(super) keys: Option<&'static [u8]>,
    pub(super) signals: Vec<AgentSignal>,
}

impl ShutdownPlan {
    /// A shutdown beginning at `now` that ends the agent within `timeout` (zero: at once),
    /// first typing `exit_keys` when there is time for it.
    pub(super) fn new(
        cause: ShutdownCause,
        now: Instant,
        timeout: Duration,
        exit_keys: &'static [&'static [u8]],
    ) -> Self {
        let graceful = !timeout.is_zero();
        Self {
            cause,
            exit_keys: if graceful {
                exit_keys.iter().copied().collect()
            } else {
                VecDeque::new()
            },
            next_key_at: graceful.then_some(now),
            terminate_at: graceful.then(|| now + timeout / 2),
            kill_at: Some(now + timeout),
        }
    }

    /// Whether `other` ends the agent sooner: a second request may shorten a shutdown, never
    /// lengthen it.
    pub(super) fn is_sooner(&self, other: &Self) -> bool {
        match (self.kill_at, other.kill_at) {
            (Some(mine), Some(theirs)) => theirs < mine,
            _ => false,
        }
    }

    /// The next step's time, if any step is left.
    pub(super) fn deadline(&self) -> Option<Instant> {
        [self.next_key_at, self.terminate_at, self.kill_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// The steps due at `now`.
    pub(super) fn due(&mut self, now: Instant) -> Steps {
        let mut steps = Steps::default();
        if self.next_key_at.is_some_and(|at| now >= at) {
            steps.keys = self.exit_keys.pop_front();
            self.next_key_at = (!self.exit_keys.is_empty()).then(|| now + EXIT_KEY_PAUSE);
        }
        if self.terminate_at.is_some_and(|at| now >= at) {
            self.terminate_at = None;
            steps.signals.push(AgentSignal::TerminateGroup);
        }
        if self.kill_at.is_some_and(|at| now >= at) {
            self.kill_at = None;
            steps.signals.push(AgentSignal::KillAll);
        }
        steps
    }
}

/// The agent's exit, once seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exit {
    pub(super) code: Option<i32>,
    /// When `Died` is emitted even if the PTY has not reported end-of-file.
    pub(super) drain_until: Instant,
    pub(super) announced: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&[u8]] = &[b"\x03", b"\x04"];

    #[test]
    fn graceful_shutdown_is_staged_keys_then_term_then_kill() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut plan = ShutdownPlan::new(ShutdownCause::KILLED, t0, s(10), KEYS);
        let first = plan.due(t0);
        assert_eq!(first.keys, Some(&b"\x03"[..]));
        assert!(first.signals.is_empty());
        assert_eq!(plan.deadline(), Some(t0 + EXIT_KEY_PAUSE));
        assert_eq!(plan.due(t0 + EXIT_KEY_PAUSE).keys, Some(&b"\x04"[..]));
        assert_eq!(plan.deadline(), Some(t0 + s(5)));
        assert_eq!(
            plan.due(t0 + s(5)).signals,
            vec![AgentSignal::TerminateGroup]
        );
        assert_eq!(plan.due(t0 + s(10)).signals, vec![AgentSignal::KillAll]);
        assert_eq!(plan.deadline(), None);
    }

    #[test]
    fn an_immediate_kill_types_nothing_and_a_later_request_only_shortens() {
        let t0 = Instant::now();
        let mut kill = ShutdownPlan::new(ShutdownCause::KILLED, t0, Duration::ZERO, KEYS);
        assert_eq!(
            kill.due(t0),
            Steps {
                keys: None,
                signals: vec![AgentSignal::KillAll]
            }
        );
        let slow = ShutdownPlan::new(ShutdownCause::KILLED, t0, Duration::from_secs(30), KEYS);
        let fast = ShutdownPlan::new(ShutdownCause::KILLED, t0, Duration::from_secs(1), KEYS);
        assert!(slow.is_sooner(&fast));
        assert!(!fast.is_sooner(&slow));
    }
}

//! The end of an agent's life, as part of the shim actor: a graceful shutdown (the driver's
//! exit keystrokes, then SIGTERM to the process group at half the grace period, then SIGKILL to
//! the whole session at the deadline), an immediate kill, reaping the exit, and announcing it
//! (`StateChanged` to dead with the shutdown reason, `Died`, `DeliveryFailed` for what can no
//! longer be delivered) once the PTY output is drained.

use std::collections::VecDeque;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::ShimError;
use super::actor::ShimActor;
use super::process::exit_code;
use super::screen::SUMMARY_LINES;
use super::state::StateInput;
use crate::protocol::{Event, ShimState, ShutdownReason};

/// Pause between the keystrokes of an exit request.
const EXIT_KEY_PAUSE: Duration = Duration::from_millis(300);

/// How long PTY output is still read after the agent exited, before `Died` is emitted.
const EXIT_DRAIN: Duration = Duration::from_millis(500);

/// A graceful shutdown in progress.
#[derive(Debug)]
pub(super) struct ShutdownPlan {
    reason: &'static str,
    /// Keystrokes of the exit request still to send, and when the next one goes.
    exit_keys: VecDeque<&'static [u8]>,
    next_key_at: Option<Instant>,
    /// When the process group gets SIGTERM (none once sent, or for an immediate kill).
    terminate_at: Option<Instant>,
    /// When the whole session gets SIGKILL (none once sent).
    kill_at: Option<Instant>,
}

/// The agent's exit, once seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exit {
    pub(super) code: Option<i32>,
    /// When `Died` is emitted even if the PTY has not reported end-of-file.
    pub(super) drain_until: Instant,
    pub(super) announced: bool,
}

impl ShutdownPlan {
    /// The next step's time, if any step is left.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [self.next_key_at, self.terminate_at, self.kill_at]
            .into_iter()
            .flatten()
            .min()
    }
}

impl ShimActor {
    pub(super) fn begin_shutdown(
        &mut self,
        timeout: Duration,
        reason: impl Into<ShutdownCause>,
        reply: oneshot::Sender<Result<Option<i32>, ShimError>>,
    ) {
        if let Some(exit) = self.exit.filter(|exit| exit.announced) {
            let _ = reply.send(Ok(exit.code));
            return;
        }
        self.exit_waiters.push(reply);
        let reason = reason.into().0;
        tracing::info!(shim = %self.id, reason, ?timeout, "shutting down agent");
        let now = Instant::now();
        let graceful = !timeout.is_zero();
        let plan = ShutdownPlan {
            reason,
            exit_keys: if graceful {
                // A message being typed counts as work: the shell is not at an empty prompt.
                let state = match self.delivery {
                    Some(_) => ShimState::Working,
                    None => self.state(),
                };
                self.driver.exit_request(state).iter().copied().collect()
            } else {
                VecDeque::new()
            },
            next_key_at: graceful.then_some(now),
            terminate_at: graceful.then(|| now + timeout / 2),
            kill_at: Some(now + timeout),
        };
        // A second request may shorten a running shutdown, never lengthen it.
        let sooner = |old: &ShutdownPlan| old.kill_at.is_some_and(|at| now + timeout < at);
        if self.shutdown.as_ref().is_none_or(sooner) {
            self.shutdown = Some(plan);
        }
        self.on_shutdown_deadlines(now);
    }

    pub(super) fn on_exit(&mut self, status: std::io::Result<std::process::ExitStatus>) {
        let code = status.ok().and_then(exit_code);
        tracing::info!(shim = %self.id, ?code, "agent exited");
        // Whatever it left running in its session goes with it.
        self.process.kill_session();
        self.exit = Some(Exit {
            code,
            drain_until: Instant::now() + EXIT_DRAIN,
            announced: false,
        });
    }

    /// Emits `StateChanged`/`Died`, fails what can no longer be delivered, answers waiters.
    pub(super) fn announce_death(&mut self, mut exit: Exit) {
        exit.announced = true;
        self.exit = Some(exit);
        self.settle_at = None;
        let last_lines = self.screen.snapshot().last_lines(SUMMARY_LINES);
        let cause = self.shutdown.take().map_or_else(
            || "agent exited".to_owned(),
            |plan| format!("shutdown ({})", plan.reason),
        );
        let code = exit.code.map_or("unknown".to_owned(), |c| c.to_string());
        let summary = format!("{cause}, exit code {code}\n{last_lines}");
        self.transition(StateInput::Exited, Some(summary));
        self.emit(Event::Died {
            exit_code: exit.code,
            last_lines,
        });
        let reason = format!("agent exited (exit code {code}) before the message was delivered");
        self.fail_pending(&reason);
        for waiter in self.exit_waiters.drain(..) {
            let _ = waiter.send(Ok(exit.code));
        }
    }

    pub(super) fn on_shutdown_deadlines(&mut self, now: Instant) {
        let Some(plan) = self.shutdown.as_mut() else {
            return;
        };
        if plan.next_key_at.is_some_and(|at| now >= at) {
            if let Some(key) = plan.exit_keys.pop_front() {
                self.outbox.extend_from_slice(key);
            }
            plan.next_key_at = (!plan.exit_keys.is_empty()).then(|| now + EXIT_KEY_PAUSE);
        }
        if plan.terminate_at.is_some_and(|at| now >= at) {
            plan.terminate_at = None;
            self.process.signal_group(Signal::SIGTERM);
        }
        if plan.kill_at.is_some_and(|at| now >= at) {
            plan.kill_at = None;
            self.process.kill_session();
        }
    }
}

/// The reason recorded for a shutdown, as it appears in logs and the `StateChanged` summary.
pub(super) struct ShutdownCause(&'static str);

/// The cause recorded for `Kill`.
pub(super) const KILLED: ShutdownCause = ShutdownCause("killed");

impl From<ShutdownReason> for ShutdownCause {
    fn from(reason: ShutdownReason) -> Self {
        Self(reason.label())
    }
}

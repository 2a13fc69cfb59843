//! The shim actor: the single owner of one agent's PTY, process, screen, driver, state machine
//! and message queue (DESIGN rule 1). One `select!` loop waits on the mailbox, PTY output,
//! PTY writability (writes never block the loop), the child's exit and the earliest pending
//! deadline; nothing is polled at a fixed rate. Message delivery and turn completion live in
//! `delivery.rs`; this file holds the loop, requests, timers and the end of the agent's life.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::ShimError;
use super::classifier::AgentDriver;
use super::config::Timing;
use super::delivery::{Delivery, PromptMark, Turn};
use super::events::EventLog;
use super::handle::{OutgoingMessage, Request, ShimStatus, StateReport};
use super::process::{AgentProcess, exit_code, pty_io_error};
use super::screen::{SUMMARY_LINES, Screen};
use super::state::{StateInput, StateMachine};
use crate::protocol::{Event, ShimState, ShutdownReason};

/// Pause between the keystrokes of an exit request.
const EXIT_KEY_PAUSE: Duration = Duration::from_millis(300);

/// How long PTY output is still read after the agent exited, before `Died` is emitted.
const EXIT_DRAIN: Duration = Duration::from_millis(500);

/// A graceful shutdown in progress.
#[derive(Debug)]
struct ShutdownPlan {
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
struct Exit {
    code: Option<i32>,
    /// When `Died` is emitted even if the PTY has not reported end-of-file.
    drain_until: Instant,
    announced: bool,
}

pub(super) struct ShimActor {
    pub(super) id: Arc<str>,
    pub(super) driver: &'static dyn AgentDriver,
    pub(super) timing: Timing,
    pub(super) log: Arc<EventLog>,
    pub(super) screen: Screen,
    process: AgentProcess,
    pub(super) machine: StateMachine,
    pub(super) queue: VecDeque<OutgoingMessage>,
    pub(super) queue_capacity: usize,
    /// The message being typed and submitted, if any.
    pub(super) delivery: Option<Delivery>,
    /// The turn in progress since a message was delivered (or the agent got busy by itself).
    pub(super) turn: Option<Turn>,
    /// Where the agent was last seen at its prompt.
    pub(super) prompt_mark: PromptMark,
    /// Bytes waiting to be written to the PTY.
    pub(super) outbox: Vec<u8>,
    started: Instant,
    /// Seq of the newest event this shim emitted.
    last_event_seq: u64,
    output_bytes: u64,
    pub(super) last_output: Instant,
    /// When buffered output is classified (end of the settle window).
    pub(super) settle_at: Option<Instant>,
    /// First output not yet classified; bounds the settle window under continuous output.
    pub(super) unsettled_since: Option<Instant>,
    stale_warned: bool,
    ready_warned: bool,
    next_stats: Option<Instant>,
    shutdown: Option<ShutdownPlan>,
    exit: Option<Exit>,
    pty_open: bool,
    exit_waiters: Vec<oneshot::Sender<Result<Option<i32>, ShimError>>>,
}

impl ShimActor {
    pub(super) fn new(
        spec: &super::ShimSpec,
        log: Arc<EventLog>,
        screen: Screen,
        process: AgentProcess,
    ) -> Self {
        let now = Instant::now();
        Self {
            id: Arc::from(spec.id.as_str()),
            driver: spec.agent.driver(),
            timing: spec.timing.clone(),
            log,
            screen,
            process,
            machine: StateMachine::new(now.into_std()),
            queue: VecDeque::new(),
            queue_capacity: spec.queue_capacity,
            delivery: None,
            turn: None,
            prompt_mark: PromptMark::default(),
            outbox: Vec::new(),
            started: now,
            last_event_seq: 0,
            output_bytes: 0,
            last_output: now,
            settle_at: None,
            unsettled_since: None,
            stale_warned: false,
            ready_warned: false,
            next_stats: spec.timing.stats_interval.map(|every| now + every),
            shutdown: None,
            exit: None,
            pty_open: true,
            exit_waiters: Vec::new(),
        }
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.last_event_seq = self.log.append(&self.id, event);
    }

    pub(super) fn state(&self) -> ShimState {
        self.machine.state()
    }

    /// The exit code, once the agent has exited (`Some(None)` when it is unknown).
    pub(super) fn exit_code_if_dead(&self) -> Option<Option<i32>> {
        self.exit.map(|exit| exit.code)
    }

    pub(super) fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// Applies `input` to the state machine and emits `Ready`/`StateChanged` for the change.
    pub(super) fn transition(&mut self, input: StateInput, summary: Option<String>) -> bool {
        let Some(change) = self.machine.apply(input, Instant::now().into_std()) else {
            return false;
        };
        if change.first_ready {
            self.emit(Event::Ready);
        }
        let summary = summary.unwrap_or_else(|| self.screen.snapshot().last_lines(SUMMARY_LINES));
        tracing::info!(shim = %self.id, from = %change.from, to = %change.to, "state changed");
        self.emit(Event::StateChanged {
            from: change.from,
            to: change.to,
            summary,
        });
        true
    }

    pub(super) fn session_stats(&self) -> Event {
        Event::SessionStats {
            output_bytes: self.output_bytes,
            uptime_secs: self.started.elapsed().as_secs(),
            input_tokens: 0,
            output_tokens: 0,
            context_usage_pct: None,
        }
    }

    /// Runs until every handle is dropped and the agent is gone.
    pub(super) async fn run(
        mut self,
        mut pty: pty_process::Pty,
        mut requests_rx: mpsc::Receiver<Request>,
    ) {
        let (mut reader, mut writer) = pty.split();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut mailbox_open = true;
        loop {
            if !mailbox_open && self.exit.is_some_and(|exit| exit.announced) {
                break;
            }
            let deadline = self.next_deadline();
            tokio::select! {
                request = requests_rx.recv(), if mailbox_open => match request {
                    Some(request) => self.on_request(request, &writer),
                    None => {
                        // Nobody can control the agent any more: end it.
                        mailbox_open = false;
                        self.process.kill_session();
                    }
                },
                read = reader.read(&mut buffer), if self.pty_open => match read {
                    Ok(n) if n > 0 => self.on_output(&buffer[..n]),
                    // EOF, or EIO once every holder of the terminal's other side is gone.
                    _ => self.pty_open = false,
                },
                written = writer.write(&self.outbox), if self.pty_open && !self.outbox.is_empty() => {
                    match written {
                        Ok(n) => { self.outbox.drain(..n); }
                        Err(error) => {
                            tracing::warn!(shim = %self.id, %error, "pty write failed");
                            self.outbox.clear();
                        }
                    }
                },
                status = self.process.wait(), if self.exit.is_none() => self.on_exit(status),
                () = sleep_until(deadline) => {}
            }
            self.on_deadlines(Instant::now());
        }
        tracing::debug!(shim = %self.id, "actor finished");
    }

    fn on_request(&mut self, request: Request, writer: &pty_process::WritePty<'_>) {
        match request {
            Request::Send { message, reply } => {
                let _ = reply.send(self.accept_message(message));
            }
            Request::Capture {
                last_n_lines,
                include_scrollback,
                reply,
            } => {
                let capture = self.screen.capture(last_n_lines, include_scrollback);
                let _ = reply.send(Ok(capture));
            }
            Request::Status { reply } => {
                let _ = reply.send(Ok(self.status()));
            }
            Request::Resize { rows, cols, reply } => {
                let _ = reply.send(self.resize(rows, cols, writer));
            }
            Request::Shutdown {
                timeout,
                reason,
                reply,
            } => self.begin_shutdown(timeout, reason, reply),
            Request::Kill { reply } => self.begin_shutdown(Duration::ZERO, KILLED, reply),
            Request::Ping { reply } => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn status(&self) -> ShimStatus {
        ShimStatus {
            state: StateReport {
                state: self.state(),
                since: self.machine.elapsed(Instant::now().into_std()),
            },
            pid: self.process.pid(),
            exit_code: self.exit.and_then(|exit| exit.code),
            queued_messages: self.queue.len(),
            last_event_seq: self.last_event_seq,
        }
    }

    fn resize(
        &mut self,
        rows: u16,
        cols: u16,
        writer: &pty_process::WritePty<'_>,
    ) -> Result<(), ShimError> {
        if rows == 0 || cols == 0 {
            return Err(ShimError::InvalidArgument(format!(
                "rows and cols must be at least 1 (got {rows}x{cols})"
            )));
        }
        if let Some(exit) = self.exit {
            return Err(ShimError::AgentDead {
                exit_code: exit.code,
            });
        }
        writer
            .resize(pty_process::Size::new(rows, cols))
            .map_err(|e| ShimError::Pty(pty_io_error(e)))?;
        self.screen.resize(rows, cols);
        Ok(())
    }

    fn begin_shutdown(
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

    fn on_output(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        self.output_bytes += bytes.len() as u64;
        self.last_output = now;
        self.stale_warned = false;
        let replies = self.screen.feed(bytes);
        self.outbox.extend_from_slice(&replies);
        self.output_arrived(now);
        let unsettled_since = *self.unsettled_since.get_or_insert(now);
        let settle_at = (now + self.driver.settle()).min(unsettled_since + self.timing.max_settle);
        self.settle_at = Some(settle_at);
    }

    fn on_exit(&mut self, status: std::io::Result<std::process::ExitStatus>) {
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
    fn announce_death(&mut self, mut exit: Exit) {
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

    fn next_deadline(&self) -> Option<Instant> {
        if let Some(exit) = self.exit {
            // Only the end of the drain matters once the agent is gone.
            return (!exit.announced).then_some(exit.drain_until);
        }
        let timing = &self.timing;
        let state = self.state();
        [
            self.settle_at,
            self.delivery_deadline(),
            (state == ShimState::Working && !self.stale_warned)
                .then(|| self.last_output + timing.stale_after),
            (state == ShimState::Starting && !self.ready_warned)
                .then(|| self.started + timing.ready_timeout),
            self.next_stats,
            self.shutdown.as_ref().and_then(|plan| plan.next_key_at),
            self.shutdown.as_ref().and_then(|plan| plan.terminate_at),
            self.shutdown.as_ref().and_then(|plan| plan.kill_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_deadlines(&mut self, now: Instant) {
        if let Some(exit) = self.exit.filter(|exit| !exit.announced) {
            if !self.pty_open || now >= exit.drain_until {
                self.announce_death(exit);
            }
            return;
        }
        if self.settle_at.is_some_and(|at| now >= at) {
            self.settle_at = None;
            self.unsettled_since = None;
            self.on_settled(now);
        }
        self.on_delivery_deadline(now);
        let state = self.state();
        if state == ShimState::Working
            && !self.stale_warned
            && now >= self.last_output + self.timing.stale_after
        {
            self.stale_warned = true;
            let idle_secs = now.duration_since(self.last_output).as_secs();
            self.emit(Event::Warning {
                message: format!("agent has been working without output for {idle_secs}s"),
                idle_secs: Some(idle_secs),
            });
        }
        if state == ShimState::Starting
            && !self.ready_warned
            && now >= self.started + self.timing.ready_timeout
        {
            self.ready_warned = true;
            self.emit(Event::Warning {
                message: format!(
                    "agent not ready after {}s: no prompt recognised yet",
                    self.timing.ready_timeout.as_secs()
                ),
                idle_secs: Some(now.duration_since(self.last_output).as_secs()),
            });
        }
        if let (Some(at), Some(every)) = (self.next_stats, self.timing.stats_interval)
            && now >= at
        {
            self.emit(self.session_stats());
            self.next_stats = Some(now + every);
        }
        self.on_shutdown_deadlines(now);
    }

    fn on_shutdown_deadlines(&mut self, now: Instant) {
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
struct ShutdownCause(&'static str);

/// The cause recorded for `Kill`.
const KILLED: ShutdownCause = ShutdownCause("killed");

impl From<ShutdownReason> for ShutdownCause {
    fn from(reason: ShutdownReason) -> Self {
        Self(reason.label())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

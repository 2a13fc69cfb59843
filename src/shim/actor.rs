//! The shim actor: the single owner of one agent's PTY, process, screen, driver, state machine
//! and message queue (DESIGN rule 1). One `select!` loop waits on the mailbox, PTY output,
//! PTY writability (writes never block the loop), the child's exit and the earliest pending
//! deadline; nothing is polled at a fixed rate. Message delivery and turn completion live in
//! `delivery.rs`, shutdown and the end of the agent's life in `shutdown.rs`; this file holds
//! the loop, requests and timers.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::ShimError;
use super::classifier::{AgentDriver, InputPrompt};
use super::config::{Signals, Timing};
use super::delivery::Delivery;
use super::events::EventLog;
use super::handle::{OutgoingMessage, Request, ShimStatus, StateReport};
use super::limits::QuotaHold;
use super::process::{AgentProcess, pty_io_error};
use super::questions::Answered;
use super::screen::{SUMMARY_LINES, Screen};
use super::shutdown::{Exit, KILLED, ShutdownPlan};
use super::state::{StateInput, StateMachine};
use super::turn::{PromptMark, Turn};
use super::usage_watch::UsageWatch;
use crate::metrics::queue::MeteredQueue;
use crate::protocol::{Event, ShimState};

pub(super) struct ShimActor {
    pub(super) id: Arc<str>,
    pub(super) driver: &'static dyn AgentDriver,
    pub(super) timing: Timing,
    pub(super) log: Arc<EventLog>,
    pub(super) screen: Screen,
    pub(super) process: AgentProcess,
    pub(super) machine: StateMachine,
    pub(super) queue: MeteredQueue<OutgoingMessage>,
    pub(super) queue_capacity: usize,
    /// The message being typed and submitted, if any.
    pub(super) delivery: Option<Delivery>,
    /// The turn in progress since a message was delivered (or the agent got busy by itself).
    pub(super) turn: Option<Turn>,
    /// Where the agent was last seen at its prompt.
    pub(super) prompt_mark: PromptMark,
    /// The question the agent waits on (state `AwaitingInput`).
    pub(super) question: Option<InputPrompt>,
    /// The question answered last, while its answer is being drawn.
    pub(super) answered: Option<Answered>,
    /// Messages are held while the agent's usage quota is used up.
    pub(super) quota: Option<QuotaHold>,
    pub(super) signals: Signals,
    /// The agent CLI's session log, for real token figures.
    pub(super) usage: UsageWatch,
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
    pub(super) shutdown: Option<ShutdownPlan>,
    pub(super) exit: Option<Exit>,
    pub(super) pty_open: bool,
    pub(super) exit_waiters: Vec<oneshot::Sender<Result<Option<i32>, ShimError>>>,
}

impl ShimActor {
    pub(super) fn new(
        spec: &super::ShimSpec,
        log: Arc<EventLog>,
        screen: Screen,
        process: AgentProcess,
        usage: UsageWatch,
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
            queue: MeteredQueue::default(),
            queue_capacity: spec.queue_capacity,
            delivery: None,
            turn: None,
            prompt_mark: PromptMark::default(),
            question: None,
            answered: None,
            quota: None,
            signals: spec.signals.clone(),
            usage,
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

    /// Input and output tokens of the session so far (zeros until the session log has some).
    pub(super) fn token_totals(&self) -> (u64, u64) {
        self.usage.latest().map_or((0, 0), |usage| {
            (usage.totals.input_tokens, usage.totals.output_tokens)
        })
    }

    pub(super) fn output_bytes(&self) -> u64 {
        self.output_bytes
    }

    pub(super) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub(super) fn session_stats(&self) -> Event {
        let (input_tokens, output_tokens) = self.token_totals();
        Event::SessionStats {
            output_bytes: self.output_bytes,
            uptime_secs: self.uptime().as_secs(),
            input_tokens,
            output_tokens,
            context_usage_pct: self.usage.latest().map(|usage| usage.usage_pct()),
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
            Request::Answer { option, reply } => {
                let _ = reply.send(self.answer(option, Instant::now()));
            }
            Request::SendKeys { keys, reply } => {
                let _ = reply.send(self.send_keys(&keys));
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

    fn on_output(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        self.output_bytes += bytes.len() as u64;
        crate::metrics::pty_bytes_in(bytes.len());
        self.last_output = now;
        self.stale_warned = false;
        let replies = self.screen.feed(bytes);
        self.outbox.extend_from_slice(&replies);
        self.output_arrived(now);
        let unsettled_since = *self.unsettled_since.get_or_insert(now);
        let settle_at = (now + self.driver.settle()).min(unsettled_since + self.timing.max_settle);
        self.settle_at = Some(settle_at);
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
            self.answer_deadline(),
            self.quota_deadline(),
            self.usage_deadline(),
            (state == ShimState::Working && !self.stale_warned)
                .then(|| self.last_output + timing.stale_after),
            (state == ShimState::Starting && !self.ready_warned)
                .then(|| self.started + timing.ready_timeout),
            self.next_stats,
            self.shutdown.as_ref().and_then(ShutdownPlan::next_deadline),
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
        self.on_answer_deadline(now);
        self.on_quota_deadline(now);
        self.on_usage_deadline(now);
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
            self.usage_tick();
            self.next_stats = Some(now + every);
        }
        self.on_shutdown_deadlines(now);
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

//! The shim actor: the I/O shell around [`ShimCore`] and the single owner of one agent's PTY
//! and process (DESIGN rule 1). One `select!` loop waits on the mailboxes (requests, and the
//! attached clients' of [`super::attach`]), PTY output, PTY writability (writes never block
//! the loop), the child's exit and the core's next deadline;
//! every wake-up hands what happened to the core, with the time, and carries out the effects
//! it returns. Nothing is decided here and nothing is polled; reading the agent's session log
//! (file system calls) runs on the blocking pool and comes back as another input.
//!
//! A step ends in a fixed order: the effects are carried out (events appended), the status is
//! published when it changed ([`PublishedStatus`]), and only then are the step's requests
//! answered. So whoever gets an answer finds what the request did in the published status.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

use super::ShimError;
use super::attach::{SharedTerminal, TerminalRequest};
use super::core::{AgentSignal, Effect, ShimCore, ShutdownCause};
use super::events::EventLog;
use super::handle::{PublishedStatus, Request, ShimStatus, StateReport};
use super::process::{AgentProcess, exit_code};
use super::recording::Recorder;
use super::usage::{SessionLogReader, UsageSnapshot};

type ExitWaiter = oneshot::Sender<Result<Option<i32>, ShimError>>;

/// An answer held until its step ends.
type HeldAnswer = Box<dyn FnOnce() + Send>;

/// The shell's clock: tokio's, so tests that pause tokio's time pause the shim's too.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

pub(super) struct ShimActor {
    pub(super) id: Arc<str>,
    pub(super) core: ShimCore,
    pub(super) process: AgentProcess,
    /// Where the core's events go; subscribers hold readers of it.
    pub(super) log: Arc<EventLog>,
    /// The agent CLI's session log, read when the core asks (off the loop: while a read runs
    /// on the blocking pool, the reader is with it).
    pub(super) session_log: Option<SessionLogReader>,
    /// Reads the core asked for that have not started yet.
    pub(super) usage_reads_wanted: usize,
    /// Seq of the newest event this shim emitted.
    pub(super) last_event_seq: u64,
    /// Callers of `Shutdown`/`Kill` waiting for the agent's exit code.
    pub(super) exit_waiters: Vec<ExitWaiter>,
    /// The clients attached to the agent's terminal.
    pub(super) terminal: SharedTerminal,
    /// Where the terminal is recorded, when it is.
    pub(super) recorder: Option<Recorder>,
    /// The status as of the end of the last step; handles hold receivers.
    pub(super) published: watch::Sender<PublishedStatus>,
    /// The answers of this step's requests, sent once it ends.
    pub(super) answers: Vec<HeldAnswer>,
}

impl ShimActor {
    /// Runs until every handle is dropped and the agent is gone.
    pub(super) async fn run(
        mut self,
        mut pty: pty_process::Pty,
        mut requests_rx: mpsc::Receiver<Request>,
        mut terminal_rx: mpsc::Receiver<TerminalRequest>,
    ) {
        let (mut reader, mut writer) = pty.split();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut mailbox_open = true;
        let mut pty_open = true;
        let mut reaped = false;
        // The session-log read in flight: it gives the reader back with what it read.
        let mut usage_read: Option<UsageRead> = None;
        loop {
            self.carry_out_effects(&writer);
            self.publish_status();
            for answer in self.answers.drain(..) {
                answer();
            }
            if usage_read.is_none() && self.usage_reads_wanted > 0 {
                usage_read = self.start_usage_read();
            }
            if !mailbox_open && self.core.finished() {
                break;
            }
            let deadline = self.core.next_deadline();
            tokio::select! {
                request = requests_rx.recv(), if mailbox_open => match request {
                    Some(request) => self.on_request(request),
                    None => {
                        // Nobody can control the agent any more: end it.
                        mailbox_open = false;
                        self.process.kill_session();
                    }
                },
                Some(request) = terminal_rx.recv(), if mailbox_open => {
                    self.terminal.handle(&mut self.core, now(), request);
                },
                read = reader.read(&mut buffer), if pty_open => match read {
                    Ok(n) if n > 0 => {
                        let at = now();
                        if let Some(recorder) = &self.recorder {
                            recorder.output(at, &buffer[..n]);
                        }
                        self.core.output(at, &buffer[..n]);
                        self.terminal.output(&buffer[..n]);
                    }
                    // EOF, or EIO once every holder of the terminal's other side is gone.
                    _ => {
                        pty_open = false;
                        self.core.pty_closed(now());
                    }
                },
                written = writer.write(self.core.outbox()), if pty_open && !self.core.outbox().is_empty() => {
                    match written {
                        Ok(n) => {
                            if let Some(recorder) = &self.recorder {
                                recorder.input(now(), &self.core.outbox()[..n]);
                            }
                            self.core.wrote(n);
                        }
                        Err(error) => {
                            tracing::warn!(shim = %self.id, %error, "pty write failed");
                            self.core.write_failed();
                        }
                    }
                },
                status = self.process.wait(), if !reaped => {
                    reaped = true;
                    let code = status.ok().and_then(exit_code);
                    tracing::info!(shim = %self.id, ?code, "agent exited");
                    self.core.exited(now(), code);
                },
                read = wait_for(&mut usage_read), if usage_read.is_some() => {
                    usage_read = None;
                    match read {
                        Ok((reader, snapshot)) => {
                            self.session_log = Some(reader);
                            self.core.usage_read(now(), snapshot);
                        }
                        Err(error) => {
                            tracing::warn!(shim = %self.id, %error, "session log read failed");
                        }
                    }
                },
                () = sleep_until(deadline) => {}
            }
            self.core.tick(now());
        }
        tracing::debug!(shim = %self.id, "actor finished");
    }

    fn on_request(&mut self, request: Request) {
        let now = now();
        match request {
            Request::Send { message, reply } => {
                let answer = self.core.send(now, message);
                self.answer(reply, answer);
            }
            Request::Capture {
                last_n_lines,
                include_scrollback,
                reply,
            } => {
                let capture = self.core.capture(last_n_lines, include_scrollback);
                self.answer(reply, Ok(capture));
            }
            Request::Status { reply } => {
                let core = self.core.status(now);
                let status = ShimStatus {
                    state: StateReport {
                        state: core.state,
                        since: core.since,
                    },
                    pid: self.process.pid(),
                    exit_code: core.exit_code,
                    queued_messages: core.queued_messages,
                    last_event_seq: self.last_event_seq,
                };
                self.answer(reply, Ok(status));
            }
            Request::Resize { rows, cols, reply } => {
                let answer = self.core.resize(rows, cols);
                self.answer(reply, answer);
            }
            Request::Shutdown {
                timeout,
                reason,
                reply,
            } => self.shutdown(now, timeout, reason.into(), reply),
            Request::Kill { reply } => {
                self.shutdown(now, Duration::ZERO, ShutdownCause::KILLED, reply);
            }
            Request::Ping { reply } => self.answer(reply, Ok(())),
            Request::Answer { option, reply } => {
                let answer = self.core.answer(now, option);
                self.answer(reply, answer);
            }
            Request::SendKeys { keys, reply } => {
                let answer = self.core.send_keys(&keys);
                self.answer(reply, answer);
            }
            Request::Explain { reply } => {
                let explanation = self.core.explain(now);
                self.answer(reply, Ok(explanation));
            }
        }
    }

    fn shutdown(
        &mut self,
        now: std::time::Instant,
        timeout: Duration,
        cause: ShutdownCause,
        reply: ExitWaiter,
    ) {
        match self.core.shutdown(now, timeout, cause) {
            Some(exit_code) => self.answer(reply, Ok(exit_code)),
            None => self.exit_waiters.push(reply),
        }
    }

    /// Sends `answer` to `reply` once this step ends (a caller that stopped waiting has
    /// nothing left to tell).
    fn answer<T: Send + 'static>(&mut self, reply: oneshot::Sender<T>, answer: T) {
        self.answers
            .push(Box::new(move || drop(reply.send(answer))));
    }

    /// Publishes the status when the step changed it.
    fn publish_status(&mut self) {
        let now = now();
        let core = self.core.status(now);
        let status = PublishedStatus {
            version: 0,
            state: core.state,
            entered: now - core.since,
            pid: self.process.pid(),
            exit_code: core.exit_code,
            queued_messages: core.queued_messages,
            last_event_seq: self.last_event_seq,
        };
        self.published.send_if_modified(|published| {
            let changed = !published.same_as(&status);
            if changed {
                *published = PublishedStatus {
                    version: published.version + 1,
                    ..status
                };
            }
            changed
        });
    }

    fn carry_out_effects(&mut self, writer: &pty_process::WritePty<'_>) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Emit(events) => {
                    if let Some(recorder) = &self.recorder {
                        recorder.events(now(), &events);
                    }
                    if let Some(seq) = self.log.append_all(&self.id, events) {
                        self.last_event_seq = seq;
                    }
                }
                Effect::ResizePty { rows, cols } => {
                    if let Err(error) = writer.resize(pty_process::Size::new(rows, cols)) {
                        tracing::warn!(shim = %self.id, %error, "pty resize failed");
                    }
                    self.terminal.resized(rows, cols);
                    if let Some(recorder) = &self.recorder {
                        recorder.resize(now(), rows, cols);
                    }
                }
                Effect::Signal(AgentSignal::TerminateGroup) => {
                    self.process.signal_group(Signal::SIGTERM);
                }
                Effect::Signal(AgentSignal::KillAll) => self.process.kill_session(),
                Effect::ReadUsage => self.usage_reads_wanted += 1,
                Effect::Finished { exit_code } => {
                    for waiter in std::mem::take(&mut self.exit_waiters) {
                        self.answer(waiter, Ok(exit_code));
                    }
                }
            }
        }
    }
}

/// A session-log read on the blocking pool (file system calls never run on the loop).
type UsageRead = tokio::task::JoinHandle<(SessionLogReader, Option<UsageSnapshot>)>;

impl ShimActor {
    /// Starts the next wanted read, if the reader is here (an agent without a session log
    /// gets its answer at once).
    fn start_usage_read(&mut self) -> Option<UsageRead> {
        self.usage_reads_wanted -= 1;
        let Some(mut reader) = self.session_log.take() else {
            self.core.usage_read(now(), None);
            return None;
        };
        Some(tokio::task::spawn_blocking(move || {
            let snapshot = reader.poll();
            (reader, snapshot)
        }))
    }
}

async fn wait_for(
    read: &mut Option<UsageRead>,
) -> Result<(SessionLogReader, Option<UsageSnapshot>), tokio::task::JoinError> {
    match read {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

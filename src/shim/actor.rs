//! The shim actor: the I/O shell around [`ShimCore`] and the single owner of one agent's PTY
//! and process (DESIGN rule 1). One `select!` loop waits on the mailboxes (requests, and the
//! attached clients' of [`super::attach`]), PTY output, PTY writability (writes never block
//! the loop), the child's exit and the core's next deadline;
//! every wake-up hands what happened to the core, with the time, and carries out the effects
//! it returns. Nothing is decided here and nothing is polled; reading the agent's session log
//! (file system calls) runs on the blocking pool and comes back as another input.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::ShimError;
use super::attach::{SharedTerminal, TerminalRequest};
use super::core::{AgentSignal, Effect, ShimCore, ShutdownCause};
use super::events::EventLog;
use super::handle::{Request, ShimStatus, StateReport};
use super::process::{AgentProcess, exit_code};
use super::recording::Recorder;
use super::usage::{SessionLogReader, UsageSnapshot};

type ExitWaiter = oneshot::Sender<Result<Option<i32>, ShimError>>;

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
                let _ = reply.send(self.core.send(now, message));
            }
            Request::Capture {
                last_n_lines,
                include_scrollback,
                reply,
            } => {
                let _ = reply.send(Ok(self.core.capture(last_n_lines, include_scrollback)));
            }
            Request::Status { reply } => {
                let core = self.core.status(now);
                let _ = reply.send(Ok(ShimStatus {
                    state: StateReport {
                        state: core.state,
                        since: core.since,
                    },
                    pid: self.process.pid(),
                    exit_code: core.exit_code,
                    queued_messages: core.queued_messages,
                    last_event_seq: self.last_event_seq,
                }));
            }
            Request::Resize { rows, cols, reply } => {
                let _ = reply.send(self.core.resize(rows, cols));
            }
            Request::Shutdown {
                timeout,
                reason,
                reply,
            } => self.shutdown(now, timeout, reason.into(), reply),
            Request::Kill { reply } => {
                self.shutdown(now, Duration::ZERO, ShutdownCause::KILLED, reply);
            }
            Request::Ping { reply } => {
                let _ = reply.send(Ok(()));
            }
            Request::Answer { option, reply } => {
                let _ = reply.send(self.core.answer(now, option));
            }
            Request::SendKeys { keys, reply } => {
                let _ = reply.send(self.core.send_keys(&keys));
            }
            Request::Explain { reply } => {
                let _ = reply.send(Ok(self.core.explain(now)));
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
            Some(exit_code) => {
                let _ = reply.send(Ok(exit_code));
            }
            None => self.exit_waiters.push(reply),
        }
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
                    for waiter in self.exit_waiters.drain(..) {
                        let _ = waiter.send(Ok(exit_code));
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

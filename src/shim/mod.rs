//! One agent in a PTY: a pure [`core::ShimCore`] that decides everything, inside an I/O shell
//! (the actor) that alone owns the PTY and the process.
//!
//! [`spawn`] starts the agent process on a fresh PTY and an actor task that owns it and the
//! core (screen, driver, state machine, message queue); callers get a cloneable
//! [`ShimHandle`]. Events go into an [`events::EventLog`] that any number of readers follow.

mod actor;
pub mod agent_files;
pub mod agent_session;
pub mod agents;
mod answer;
pub mod attach;
mod config;
pub mod core;
mod error;
pub mod events;
pub(crate) mod handle;
pub mod history;
pub mod inject;
pub mod keys;
pub mod marks;
pub mod process;
pub mod process_tracking;
pub mod recording;
pub mod reset_time;
pub mod screen;
mod session_log;
pub mod state;
mod terminal_queries;
mod turn;
pub mod usage;

use std::sync::Arc;

use tokio::sync::mpsc;

pub use agents::{AgentDriver, AgentKind, UnknownAgentKind};
pub use answer::Answer;
pub use config::{
    DEFAULT_COLS, DEFAULT_QUEUE_CAPACITY, DEFAULT_ROWS, DEFAULT_SCROLLBACK, MAX_DIMENSION,
    MessageLimits, ShimSpec, Signals, Timing,
};
pub use error::{DeliveryRefused, ShimError};
pub use handle::{
    OutgoingMessage, PublishedStatus, SendReceipt, ShimHandle, ShimStatus, StateReport,
};
pub use screen::Capture;
pub use turn::{Turn, TurnLines};

/// Requests that may wait in a shim's mailbox.
const MAILBOX_CAPACITY: usize = 64;

/// Starts the agent of `spec` and the actor that owns it. Must be called inside a tokio
/// runtime. The agent runs until it exits, is shut down or killed, or every handle is dropped.
pub fn spawn(spec: ShimSpec) -> Result<ShimHandle, ShimError> {
    let (rows, cols) = (spec.process.rows, spec.process.cols);
    if !(1..=MAX_DIMENSION).contains(&rows) || !(1..=MAX_DIMENSION).contains(&cols) {
        return Err(ShimError::InvalidArgument(format!(
            "rows and cols must be between 1 and {MAX_DIMENSION} (got {rows}x{cols})"
        )));
    }
    let log = spec.event_log();
    let started_wall = std::time::SystemTime::now();
    let session_log = session_log::reader_for(&spec, started_wall);
    let mut program = spec.process.clone();
    if let Some(session) = &spec.resume
        && !spec
            .agent
            .driver()
            .resume_process(&mut program, &session.id)
    {
        return Err(ShimError::InvalidArgument(format!(
            "cannot resume a session: the {} driver resumes only its own CLI, run directly",
            spec.agent
        )));
    }
    if spec.turn_signals {
        spec.agent.driver().prepare_process(&mut program);
    }
    let out_of_files = |error: &std::io::Error| matches!(error.raw_os_error(), Some(code) if code == nix::libc::EMFILE || code == nix::libc::ENFILE);
    let (pty, process) = process::spawn(&program).map_err(|error| match error {
        ShimError::Spawn { source, .. } if out_of_files(&source) => ShimError::OutOfFiles {
            limit: process::open_files_limit().unwrap_or(0),
        },
        other => other,
    })?;
    tracing::info!(shim = %spec.id, agent = %spec.agent, pid = process.pid(), "agent started");
    let id: Arc<str> = Arc::from(spec.id.as_str());
    let started = tokio::time::Instant::now().into_std();
    let recorder = spec
        .recording
        .as_ref()
        .and_then(|recording| start_recording(recording, &program, &id, &log, started));
    let core = core::ShimCore::new(&spec, started, started_wall, session_log.is_some());
    let (published, published_rx) = tokio::sync::watch::channel(PublishedStatus {
        version: 0,
        state: core.status(started).state,
        entered: started,
        pid: process.pid(),
        exit_code: None,
        queued_messages: 0,
        last_event_seq: log.last_seq(),
    });
    let actor = actor::ShimActor {
        id: Arc::clone(&id),
        core,
        process,
        log: Arc::clone(&log),
        session_log,
        usage_reads_wanted: 0,
        last_event_seq: log.last_seq(),
        exit_waiters: Vec::new(),
        terminal: attach::SharedTerminal::new(),
        recorder,
        published,
        answers: Vec::new(),
    };
    let (requests_tx, requests_rx) = mpsc::channel(MAILBOX_CAPACITY);
    let (terminal_tx, terminal_rx) = mpsc::channel(MAILBOX_CAPACITY);
    let handle = ShimHandle::of_actor(id, requests_tx, terminal_tx, published_rx, log);
    tokio::spawn(actor.run(pty, requests_rx, terminal_rx));
    Ok(handle)
}

/// Starts recording the shim's terminal as `recording` says; a recording that cannot start is
/// said in a `Warning`, and the shim runs unrecorded.
fn start_recording(
    recording: &recording::RecordingSpec,
    program: &process::ProcessSpec,
    id: &Arc<str>,
    log: &events::EventLog,
    started: std::time::Instant,
) -> Option<recording::Recorder> {
    let command = std::iter::once(&program.program)
        .chain(&program.args)
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let size = (program.rows, program.cols);
    match recording::Recorder::start(recording, size, &command, id, started) {
        Ok(recorder) => Some(recorder),
        Err(error) => {
            let path = recording.path.display();
            tracing::warn!(shim = %id, %path, %error, "cannot record");
            let message = format!("cannot record to {path}: {error}; this shim is not recorded");
            log.append_all(
                id,
                vec![crate::protocol::Event::Warning {
                    message,
                    idle_secs: None,
                }],
            );
            None
        }
    }
}

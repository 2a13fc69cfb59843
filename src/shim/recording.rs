//! A shim's recording of its agent's whole life, as asciicast v2 ([`crate::asciicast`]): the
//! agent's output, everything typed into it (messages, answers, a person's keys), resizes,
//! and markers at the events a person replaying it wants to jump between (a message
//! delivered, its Completion, a question, a state change, the death).
//!
//! The actor hands each record to a thread of the shim's own, which alone owns the file, so a
//! slow disk never holds up the agent. The thread flushes whenever it has nothing left to
//! write, so a reader of the file (GetRecording) is never far behind. A shim process started
//! again on the same recording (its agent resumed) writes on at its end.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::asciicast::Cast;
use crate::protocol::Event;

/// Default cap on one recording's size.
pub const DEFAULT_RECORDING_BYTES: u64 = 64 * 1024 * 1024;

/// Stack of the recording thread: it only formats lines and writes them.
const THREAD_STACK: usize = 128 * 1024;

/// Where a shim records, and how much it may write there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingSpec {
    pub path: PathBuf,
    pub max_bytes: u64,
}

enum Record {
    Output(Instant, Vec<u8>),
    Input(Instant, Vec<u8>),
    Resize(Instant, u16, u16),
    Marker(Instant, String),
}

/// The actor's end of a recording.
#[derive(Debug)]
pub(super) struct Recorder {
    records: mpsc::Sender<Record>,
}

impl Recorder {
    /// Starts recording to `spec`'s file (on at its end when it holds a recording already) a
    /// terminal of `size` running `command`, from `started`.
    pub(super) fn start(
        spec: &RecordingSpec,
        size: (u16, u16),
        command: &str,
        title: &str,
        started: Instant,
    ) -> std::io::Result<Self> {
        let cast = match Cast::continue_at(&spec.path, spec.max_bytes)? {
            Some(mut cast) => {
                cast.marker(started, "the shim started again")?;
                cast.resize(started, size.0, size.1)?;
                cast
            }
            None => Cast::create(
                &spec.path,
                size,
                command,
                Some(title),
                started,
                spec.max_bytes,
            )?,
        };
        let (records, received) = mpsc::channel();
        let path = spec.path.clone();
        std::thread::Builder::new()
            .name("recording".to_owned())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                if let Err(error) = write_all(cast, &received) {
                    tracing::warn!(path = %path.display(), %error, "recording stopped: cannot write it");
                }
            })?;
        Ok(Self { records })
    }

    pub(super) fn output(&self, at: Instant, bytes: &[u8]) {
        let _ = self.records.send(Record::Output(at, bytes.to_vec()));
    }

    pub(super) fn input(&self, at: Instant, bytes: &[u8]) {
        let _ = self.records.send(Record::Input(at, bytes.to_vec()));
    }

    pub(super) fn resize(&self, at: Instant, rows: u16, cols: u16) {
        let _ = self.records.send(Record::Resize(at, rows, cols));
    }

    /// Marks `events` that a person replaying the recording would jump to.
    pub(super) fn events(&self, at: Instant, events: &[Event]) {
        for label in events.iter().filter_map(marker_label) {
            let _ = self.records.send(Record::Marker(at, label));
        }
    }
}

/// Writes records until the actor's end is dropped, flushing whenever none is waiting.
fn write_all(mut cast: Cast, received: &mpsc::Receiver<Record>) -> std::io::Result<()> {
    while let Ok(record) = received.recv() {
        let mut next = Some(record);
        while let Some(record) = next {
            match record {
                Record::Output(at, bytes) => cast.output(at, &bytes)?,
                Record::Input(at, bytes) => cast.input(at, &bytes)?,
                Record::Resize(at, rows, cols) => cast.resize(at, rows, cols)?,
                Record::Marker(at, label) => cast.marker(at, &label)?,
            }
            next = received.try_recv().ok();
        }
        cast.flush()?;
    }
    cast.finish().map(drop)
}

/// The marker an event gets, if any.
fn marker_label(event: &Event) -> Option<String> {
    let message = |id: &Option<String>| id.clone().unwrap_or_else(|| "(no message)".to_owned());
    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_owned();
    Some(match event {
        Event::MessageDelivered { id } => format!("delivered {id}"),
        Event::Completion { message_id, .. } => format!("completion {}", message(message_id)),
        Event::TurnInterrupted {
            message_id, reason, ..
        } => format!("interrupted {}: {reason}", message(message_id)),
        Event::InputRequested { prompt, .. } => format!("question: {}", first_line(prompt)),
        Event::StateChanged { from, to, .. } => format!("{from} -> {to}"),
        Event::QuotaBlocked { message, .. } => format!("quota: {}", first_line(message)),
        Event::ContextExhausted { .. } => "context exhausted".to_owned(),
        Event::Died { exit_code, .. } => match exit_code {
            Some(code) => format!("died (exit code {code})"),
            None => "died".to_owned(),
        },
        _ => return None,
    })
}

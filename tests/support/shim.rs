//! Helpers for integration tests that drive in-process shims: a bash spec with a known prompt,
//! the one [`Reader`] over a shim's events with the waits for protocol events, and shortcuts
//! to send a message and read its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::events::{Envelope, LogItem, Subscription};
use agentshim::shim::{ShimHandle, ShimSpec};

use super::procs::Proc;
use super::reader::{EventSource, Reader};

/// The prompt of the test shells.
pub const PROMPT: &str = "agentshim-test$ ";

/// An interactive bash without startup files or history, with a fixed prompt. `LINES` and
/// `COLUMNS` are removed so programs read the size from the terminal, not the environment.
pub fn bash_spec(id: &str) -> ShimSpec {
    ShimSpec::new(id, "bash", ["--norc", "--noprofile", "-i"])
        .env("PS1", PROMPT)
        .env("HISTFILE", "/dev/null")
        .env("LANG", "C.UTF-8")
        .env_remove("LINES")
        .env_remove("COLUMNS")
}

/// An in-process shim's events, as the one [`Reader`] reads them.
pub struct ShimEvents(Subscription);

impl EventSource for ShimEvents {
    type Item = Arc<Envelope>;

    async fn next_item(&mut self) -> Option<Arc<Envelope>> {
        match self.0.next().await? {
            LogItem::Event(envelope) => Some(envelope),
            LogItem::Gap {
                first_lost,
                last_lost,
            } => panic!("events {first_lost}..={last_lost} lost"),
        }
    }

    fn line(envelope: &Arc<Envelope>) -> String {
        let seq = envelope.seq;
        match &envelope.event {
            Event::StateChanged { from, to, .. } => format!("{seq} {from}->{to}"),
            Event::Completion { response, .. } => format!("{seq} Completion {response:?}"),
            Event::Warning { message, .. } => format!("{seq} Warning {message:?}"),
            Event::DeliveryFailed { id, reason } => {
                format!("{seq} DeliveryFailed {id} {reason:?}")
            }
            other => format!("{seq} {}", other.name()),
        }
    }
}

/// The reader of one in-process shim's events, for the tests of shims and for the live tests
/// (which wait longer, see [`Reader::waiting_up_to`]).
pub type EventReader = Reader<ShimEvents>;

impl Reader<ShimEvents> {
    pub fn new(handle: &ShimHandle) -> Self {
        Self::after(handle, 0)
    }

    /// A reader of the events after `seq` (`handle.event_log().last_seq()`: from now on).
    pub fn after(handle: &ShimHandle, seq: u64) -> Self {
        Self::from_source(ShimEvents(handle.subscribe(seq)))
    }

    /// The events read so far.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.seen.iter().map(|e| &e.event)
    }

    /// Sequence number of the last event read (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seen.last().map_or(0, |e| e.seq)
    }

    /// The next logged event with its sequence number and time.
    pub async fn next_envelope(&mut self) -> Arc<Envelope> {
        self.next_item().await
    }

    /// The next event.
    pub async fn next(&mut self) -> Event {
        self.next_item().await.event.clone()
    }

    /// Skips events until one matches `wanted` (within this reader's timeout), and returns it
    /// with its log metadata.
    pub async fn wait_for_envelope(
        &mut self,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        self.wait_for_item(what, |e| wanted(&e.event)).await
    }

    /// Like [`Reader::wait_for_envelope`], waiting up to `timeout` in all.
    pub async fn wait_for_within(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        self.wait_for_item_within(timeout, what, |e| wanted(&e.event))
            .await
    }

    /// Skips events until one matches `wanted`; `None` when none came in time.
    pub async fn try_wait_for(&mut self, wanted: impl Fn(&Event) -> bool) -> Option<Arc<Envelope>> {
        self.try_wait_for_item(|e| wanted(&e.event)).await
    }

    /// Skips events until one matches `wanted`, and returns it.
    pub async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        self.wait_for_envelope(what, wanted).await.event.clone()
    }

    pub async fn ready(&mut self) {
        self.wait_for("Ready", |e| matches!(e, Event::Ready)).await;
    }

    /// Waits for the change into `state`; when it was read.
    pub async fn state(&mut self, state: ShimState) -> Instant {
        self.wait_for(
            &format!("StateChanged to {state}"),
            |e| matches!(e, Event::StateChanged { to, .. } if *to == state),
        )
        .await;
        Instant::now()
    }

    /// The states entered so far, in order.
    pub fn states(&self) -> Vec<ShimState> {
        self.events()
            .filter_map(|e| match e {
                Event::StateChanged { to, .. } => Some(*to),
                _ => None,
            })
            .collect()
    }

    /// Waits for `MessageDelivered` of message `id`.
    pub async fn delivered(&mut self, id: &str) -> Arc<Envelope> {
        self.wait_for_envelope(
            &format!("MessageDelivered of {id}"),
            |e| matches!(e, Event::MessageDelivered { id: d } if d == id),
        )
        .await
    }

    /// Waits for the Completion of message `id` and returns its response.
    pub async fn completion_of(&mut self, id: &str) -> String {
        self.timed_completion_of(id).await.1
    }

    /// Waits for the Completion of message `id`: its log time (Unix ms) and response.
    pub async fn timed_completion_of(&mut self, id: &str) -> (u64, String) {
        let envelope = self.completion_envelope(id).await;
        match &envelope.event {
            Event::Completion { response, .. } => (envelope.unix_ms, response.clone()),
            _ => unreachable!(),
        }
    }

    /// Waits for the Completion of message `id` and returns it with its log metadata.
    pub async fn completion_envelope(&mut self, id: &str) -> Arc<Envelope> {
        self.wait_for_envelope(
            &format!("Completion of {id}"),
            |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
        )
        .await
    }

    /// Waits for `DeliveryFailed` of message `id` and returns its reason.
    pub async fn failure_of(&mut self, id: &str) -> String {
        match self
            .wait_for(
                &format!("DeliveryFailed of {id}"),
                |e| matches!(e, Event::DeliveryFailed { id: f, .. } if f == id),
            )
            .await
        {
            Event::DeliveryFailed { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Waits for `TurnInterrupted` of message `id`; returns its reason and partial response.
    pub async fn interrupted(&mut self, id: &str) -> (String, String) {
        let wanted =
            |e: &Event| matches!(e, Event::TurnInterrupted { message_id: Some(m), .. } if m == id);
        match self
            .wait_for(&format!("TurnInterrupted of {id}"), wanted)
            .await
        {
            Event::TurnInterrupted {
                reason,
                partial_response,
                ..
            } => (reason, partial_response),
            _ => unreachable!(),
        }
    }

    /// Waits for the change into `Dead` and returns its summary.
    pub async fn died_summary(&mut self) -> String {
        match self
            .wait_for("StateChanged to dead", |e| {
                matches!(
                    e,
                    Event::StateChanged {
                        to: ShimState::Dead,
                        ..
                    }
                )
            })
            .await
        {
            Event::StateChanged { summary, .. } => summary,
            _ => unreachable!(),
        }
    }

    /// Waits for `Died` and returns its exit code.
    pub async fn died(&mut self) -> Option<i32> {
        match self
            .wait_for("Died", |e| matches!(e, Event::Died { .. }))
            .await
        {
            Event::Died { exit_code, .. } => exit_code,
            _ => unreachable!(),
        }
    }

    /// How many events read so far match `wanted`.
    pub fn count(&self, wanted: impl Fn(&Event) -> bool) -> usize {
        self.events().filter(|e| wanted(e)).count()
    }
}

/// Starts `spec` and waits until the agent reached its prompt.
pub async fn ready_shim(spec: ShimSpec) -> (ShimHandle, EventReader) {
    let handle = agentshim::shim::spawn(spec).expect("spawn agent");
    let mut events = EventReader::new(&handle);
    events.ready().await;
    (handle, events)
}

/// A started bash shim that reached its prompt, with a reader of its events.
pub async fn ready_bash(id: &str) -> (ShimHandle, EventReader) {
    ready_shim(bash_spec(id)).await
}

/// Sends `body` and returns its message id.
pub async fn send(handle: &ShimHandle, body: &str) -> String {
    handle
        .send_message("test", body, None)
        .await
        .expect("message accepted")
        .id
}

/// Sends `body`, waits for its Completion and returns the response.
pub async fn run(handle: &ShimHandle, events: &mut EventReader, body: &str) -> String {
    let id = send(handle, body).await;
    events.completion_of(&id).await
}

/// Runs `body`, which must print one line `pid=N` (e.g. `sleep 1000 & echo pid=$!`), and returns
/// that process together with its start time.
pub async fn spawn_in_shell(handle: &ShimHandle, events: &mut EventReader, body: &str) -> Proc {
    let response = run(handle, events, body).await;
    let pid = response
        .lines()
        .find_map(|line| line.trim().strip_prefix("pid=")?.parse().ok())
        .unwrap_or_else(|| panic!("no pid=N in {response:?}"));
    Proc::of(pid).unwrap_or_else(|| panic!("process {pid} from {body:?} is not running"))
}

/// The pid of the agent, which is also its session id.
pub async fn agent_pid(handle: &ShimHandle) -> i32 {
    handle.status().await.expect("status").pid as i32
}

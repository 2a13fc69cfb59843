//! Helpers for integration tests that drive real shims: a bash spec with a known prompt, an
//! event reader that waits on events (never on fixed sleeps) with generous timeouts, and
//! `/proc` probes that tell whether an agent's processes are really gone.

use std::sync::Arc;

use agentshim::protocol::{Event, ShimState};
use agentshim::shim::events::{Envelope, LogItem, Subscription};
use agentshim::shim::{ShimHandle, ShimSpec};

use super::procs::Proc;

/// Upper bound for any single wait in a test; a loaded 2-core machine stays well inside it.
pub use super::eventually::TIMEOUT as EVENT_TIMEOUT;

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

/// Reads one shim's events in order.
pub struct EventReader {
    subscription: Subscription,
    /// Everything read so far, for failure messages and for checks over the whole history.
    pub seen: Vec<Event>,
}

impl EventReader {
    pub fn new(handle: &ShimHandle) -> Self {
        Self {
            subscription: handle.subscribe(0),
            seen: Vec::new(),
        }
    }

    /// The next logged event with its sequence number and time, or a panic naming what was
    /// seen when none comes in time.
    pub async fn next_envelope(&mut self) -> Arc<Envelope> {
        let item = tokio::time::timeout(EVENT_TIMEOUT, self.subscription.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {EVENT_TIMEOUT:?}; seen: {:#?}", self.seen))
            .expect("event log closed");
        match item {
            LogItem::Event(envelope) => {
                self.seen.push(envelope.event.clone());
                envelope
            }
            LogItem::Gap {
                first_lost,
                last_lost,
            } => panic!("events {first_lost}..={last_lost} lost"),
        }
    }

    /// The next event.
    pub async fn next(&mut self) -> Event {
        self.next_envelope().await.event.clone()
    }

    /// Skips events until one matches `wanted`, and returns it with its log metadata.
    pub async fn wait_for_envelope(
        &mut self,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        loop {
            let envelope = tokio::time::timeout_at(deadline, self.next_envelope())
                .await
                .unwrap_or_else(|_| {
                    panic!("no {what} within {EVENT_TIMEOUT:?}; seen: {:#?}", self.seen)
                });
            if wanted(&envelope.event) {
                return envelope;
            }
        }
    }

    /// Skips events until one matches `wanted`, and returns it.
    pub async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        self.wait_for_envelope(what, wanted).await.event.clone()
    }

    pub async fn ready(&mut self) {
        self.wait_for("Ready", |e| matches!(e, Event::Ready)).await;
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
        match self.completion_envelope(id).await.event {
            Event::Completion { ref response, .. } => response.clone(),
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
    pub fn count_seen(&self, wanted: impl Fn(&Event) -> bool) -> usize {
        self.seen.iter().filter(|e| wanted(e)).count()
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

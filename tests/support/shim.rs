//! Helpers for integration tests that drive in-process shims: a bash spec with a known prompt,
//! the event reader that waits on a shim's events (never on fixed sleeps) with generous
//! timeouts, and shortcuts to send a message and read its answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Reads one shim's events in order, remembering them: the one reader of an in-process shim's
/// events, for the tests of shims and for the live tests (which wait longer, see
/// [`EventReader::waiting_up_to`]).
pub struct EventReader {
    subscription: Subscription,
    /// The longest wait for one event.
    timeout: Duration,
    /// Everything read so far, for failure messages and for checks over the whole history.
    pub seen: Vec<Arc<Envelope>>,
}

impl EventReader {
    pub fn new(handle: &ShimHandle) -> Self {
        Self::after(handle, 0)
    }

    /// A reader of the events after `seq` (`handle.event_log().last_seq()`: from now on).
    pub fn after(handle: &ShimHandle, seq: u64) -> Self {
        Self {
            subscription: handle.subscribe(seq),
            timeout: EVENT_TIMEOUT,
            seen: Vec::new(),
        }
    }

    /// The same reader waiting up to `timeout` for each event (a real CLI on a loaded machine).
    pub fn waiting_up_to(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// What was read so far, one short line per event, for failure messages.
    pub fn describe(&self) -> String {
        let lines: Vec<String> = self
            .seen
            .iter()
            .map(|e| match &e.event {
                Event::StateChanged { from, to, .. } => format!("{} {from}->{to}", e.seq),
                Event::Completion { response, .. } => format!("{} Completion {response:?}", e.seq),
                Event::Warning { message, .. } => format!("{} Warning {message:?}", e.seq),
                Event::DeliveryFailed { id, reason } => {
                    format!("{} DeliveryFailed {id} {reason:?}", e.seq)
                }
                other => format!("{} {}", e.seq, other.name()),
            })
            .collect();
        lines.join("\n")
    }

    /// The events read so far.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.seen.iter().map(|e| &e.event)
    }

    /// Sequence number of the last event read (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seen.last().map_or(0, |e| e.seq)
    }

    /// The next logged event with its sequence number and time, or a panic naming what was
    /// seen when none comes in time.
    pub async fn next_envelope(&mut self) -> Arc<Envelope> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.next_before(deadline, "event").await
    }

    async fn next_before(&mut self, deadline: tokio::time::Instant, what: &str) -> Arc<Envelope> {
        self.next_until(deadline)
            .await
            .unwrap_or_else(|| panic!("no {what} in time; seen:\n{}", self.describe()))
    }

    /// The next event, or `None` at `deadline`; a closed log or a gap is a panic.
    async fn next_until(&mut self, deadline: tokio::time::Instant) -> Option<Arc<Envelope>> {
        let item = tokio::time::timeout_at(deadline, self.subscription.next())
            .await
            .ok()?
            .expect("event log closed");
        match item {
            LogItem::Event(envelope) => {
                self.seen.push(Arc::clone(&envelope));
                Some(envelope)
            }
            LogItem::Gap {
                first_lost,
                last_lost,
            } => panic!("events {first_lost}..={last_lost} lost"),
        }
    }

    /// Skips events until one matches `wanted`; `None` when none came within this reader's
    /// timeout (for a test that reports more than the events, such as the screen).
    pub async fn try_wait_for(&mut self, wanted: impl Fn(&Event) -> bool) -> Option<Arc<Envelope>> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let envelope = self.next_until(deadline).await?;
            if wanted(&envelope.event) {
                return Some(envelope);
            }
        }
    }

    /// The next event.
    pub async fn next(&mut self) -> Event {
        self.next_envelope().await.event.clone()
    }

    /// Skips events until one matches `wanted` (within this reader's timeout), and returns it
    /// with its log metadata.
    pub async fn wait_for_envelope(
        &mut self,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        self.wait_for_within(self.timeout, what, wanted).await
    }

    /// Like [`EventReader::wait_for_envelope`], waiting up to `timeout` in all.
    pub async fn wait_for_within(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Event) -> bool,
    ) -> Arc<Envelope> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let envelope = self.next_before(deadline, what).await;
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

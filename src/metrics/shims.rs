//! What an event log's traffic tells: every event of every shim passes through the log's
//! append, which hands it to the [`LogMetrics`] observing that log (the shim knows nothing of
//! metrics: it only emits events).
//!
//! A shim is counted from the moment [`ShimLifetime::begin`] registers it (in `starting`)
//! until its lifetime guard drops (the server holds it while it hosts the shim), whatever state
//! it is in then: a dead shim still hosted counts as `dead`, a removed one not at all. Each
//! `StateChanged` moves it from the state it was counted in to the new one, so a gauge only
//! ever takes back what it was given and cannot go negative or leak. A `MessageQueued` counts
//! in the queue until that message's next event (delivered, failed, interrupted); the bytes
//! read from its terminal are the growth of `output_bytes` in its stats events. Events of
//! shims the log does not know (appended by hand) are not measured.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use metrics::{counter, gauge, histogram};

use super::{
    COMPLETION_LATENCY, COMPLETIONS, EVENT_LOG_EVENTS, EVENT_LOG_EVICTIONS, MESSAGE_QUEUE_LENGTH,
    MESSAGES_DELIVERED, MESSAGES_FAILED, MESSAGES_QUEUED, PTY_BYTES_IN, SHIMS,
};
use crate::protocol::{Event, ShimState};
use crate::shim::AgentKind;
use crate::shim::events::{Envelope, LogObserver};

/// The metrics bookkeeping of one event log, watching it as its [`LogObserver`].
#[derive(Debug, Default)]
pub struct LogMetrics {
    book: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    shims: HashMap<Arc<str>, TrackedShim>,
    /// Events this log retains (its share of `EVENT_LOG_EVENTS`).
    retained: u64,
    /// Shims registered so far; numbers each registration.
    registrations: u64,
}

#[derive(Debug)]
struct TrackedShim {
    /// Tells this shim from an earlier or later one with the same id.
    registration: u64,
    agent: &'static str,
    /// The state it is counted in.
    state: ShimState,
    /// The message delivered last and when (Unix ms), until its `Completion`.
    delivered: Option<(String, u64)>,
    /// Messages counted in the queue gauge.
    queued: HashSet<String>,
    /// `output_bytes` of the last stats event.
    output_bytes: u64,
}

impl LogMetrics {
    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every update leaves the book consistent, so a poisoned lock is still usable.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LogObserver for LogMetrics {
    /// Notes `envelope`, just appended; `evicted`: how many of the oldest events made room.
    fn appended(&self, envelope: &Envelope, evicted: usize) {
        let mut book = self.lock();
        counter!(EVENT_LOG_EVICTIONS).increment(evicted as u64);
        book.retained = book.retained + 1 - evicted as u64;
        gauge!(EVENT_LOG_EVENTS).increment(1.0 - evicted as f64);
        if let Some(shim) = book.shims.get_mut(&envelope.shim_id) {
            shim.observe(envelope);
        }
    }
}

impl LogMetrics {
    /// Counts a new shim `id` in `starting`; a shim registered earlier under the same id (and
    /// gone from the caller's view) stops being counted. Returns the registration number.
    fn register(&self, id: &Arc<str>, agent: AgentKind) -> u64 {
        let mut book = self.lock();
        book.registrations += 1;
        let shim = TrackedShim {
            registration: book.registrations,
            agent: agent.name(),
            state: ShimState::Starting,
            delivered: None,
            queued: HashSet::new(),
            output_bytes: 0,
        };
        shim_gauge(shim.state, shim.agent).increment(1.0);
        let registration = shim.registration;
        if let Some(earlier) = book.shims.insert(Arc::clone(id), shim) {
            earlier.uncount();
        }
        registration
    }

    /// Stops counting shim `id` if it is still the one of `registration`.
    fn retire(&self, id: &str, registration: u64) {
        let mut book = self.lock();
        if book
            .shims
            .get(id)
            .is_some_and(|shim| shim.registration == registration)
            && let Some(shim) = book.shims.remove(id)
        {
            shim.uncount();
        }
    }
}

impl Drop for LogMetrics {
    fn drop(&mut self) {
        gauge!(EVENT_LOG_EVENTS).decrement(self.lock().retained as f64);
    }
}

impl TrackedShim {
    /// Takes back what this shim added to the gauges.
    fn uncount(&self) {
        shim_gauge(self.state, self.agent).decrement(1.0);
        gauge!(MESSAGE_QUEUE_LENGTH).decrement(self.queued.len() as f64);
    }

    /// A message left the queue (it is delivered, failed or interrupted).
    fn dequeued(&mut self, id: &str) {
        if self.queued.remove(id) {
            gauge!(MESSAGE_QUEUE_LENGTH).decrement(1.0);
        }
    }

    fn observe(&mut self, envelope: &Envelope) {
        let agent = self.agent;
        match &envelope.event {
            Event::MessageQueued { id, .. } => {
                counter!(MESSAGES_QUEUED).increment(1);
                if self.queued.insert(id.clone()) {
                    gauge!(MESSAGE_QUEUE_LENGTH).increment(1.0);
                }
            }
            Event::TurnInterrupted {
                message_id: Some(id),
                ..
            } => self.dequeued(id),
            Event::SessionStats { output_bytes, .. }
            | Event::ContextWarning { output_bytes, .. } => {
                counter!(PTY_BYTES_IN).increment(output_bytes.saturating_sub(self.output_bytes));
                self.output_bytes = self.output_bytes.max(*output_bytes);
            }
            Event::StateChanged { to, .. } => {
                shim_gauge(self.state, agent).decrement(1.0);
                shim_gauge(*to, agent).increment(1.0);
                self.state = *to;
            }
            Event::MessageDelivered { id } => {
                counter!(MESSAGES_DELIVERED, "agent" => agent).increment(1);
                self.dequeued(id);
                self.delivered = Some((id.clone(), envelope.unix_ms));
            }
            Event::DeliveryFailed { id, .. } => {
                counter!(MESSAGES_FAILED, "agent" => agent).increment(1);
                self.dequeued(id);
            }
            Event::Completion { message_id, .. } => {
                counter!(COMPLETIONS, "agent" => agent).increment(1);
                if let Some((id, delivered_ms)) = self.delivered.take()
                    && message_id.as_deref() == Some(id.as_str())
                {
                    let millis = envelope.unix_ms.saturating_sub(delivered_ms);
                    histogram!(COMPLETION_LATENCY, "agent" => agent).record(millis as f64 / 1e3);
                }
            }
            _ => {}
        }
    }
}

/// The shims gauge of `state` and `agent`.
fn shim_gauge(state: ShimState, agent: &'static str) -> metrics::Gauge {
    gauge!(SHIMS, "agent" => agent, "state" => state_label(state))
}

/// A state's serialized name (`idle`, `working`, ...), so a new state gets its label without
/// a list here.
fn state_label(state: ShimState) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{state:?}"),
    }
}

/// A shim counted in the metrics while this guard lives (the server holds it while it hosts
/// the shim).
#[derive(Debug)]
pub struct ShimLifetime {
    metrics: Arc<LogMetrics>,
    id: Arc<str>,
    registration: u64,
}

impl ShimLifetime {
    pub fn begin(metrics: &Arc<LogMetrics>, id: &Arc<str>, agent: AgentKind) -> Self {
        let registration = metrics.register(id, agent);
        Self {
            metrics: Arc::clone(metrics),
            id: Arc::clone(id),
            registration,
        }
    }
}

impl Drop for ShimLifetime {
    fn drop(&mut self) {
        self.metrics.retire(&self.id, self.registration);
    }
}

#[cfg(test)]
#[path = "shims_tests.rs"]
mod tests;

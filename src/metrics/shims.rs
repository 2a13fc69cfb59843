//! What an event log's traffic tells: every event of every shim passes through
//! `EventLog::append`, which hands it to the log's [`LogMetrics`].
//!
//! A shim is counted from the moment [`ShimLifetime::begin`] registers it (in `starting`)
//! until its lifetime guard drops with the actor, whatever state it is in then: a dead shim
//! still hosted counts as `dead`, a removed one not at all. Each `StateChanged` moves it from
//! the state it was counted in to the new one, so a gauge only ever takes back what it was
//! given and cannot go negative or leak. Events of shims the log does not know (appended by
//! hand) are not measured.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use metrics::{counter, gauge, histogram};

use super::{
    COMPLETION_LATENCY, COMPLETIONS, EVENT_LOG_EVENTS, EVENT_LOG_EVICTIONS, MESSAGES_DELIVERED,
    MESSAGES_FAILED, SHIMS,
};
use crate::protocol::{Event, ShimState};
use crate::shim::AgentKind;
use crate::shim::events::{Envelope, EventLog};

/// The metrics bookkeeping of one event log.
#[derive(Debug, Default)]
pub(crate) struct LogMetrics {
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
}

impl LogMetrics {
    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every update leaves the book consistent, so a poisoned lock is still usable.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes `envelope`, just appended; `evicted`: the oldest event made room for it.
    pub(crate) fn appended(&self, envelope: &Envelope, evicted: bool) {
        let mut book = self.lock();
        if evicted {
            counter!(EVENT_LOG_EVICTIONS).increment(1);
        } else {
            book.retained += 1;
            gauge!(EVENT_LOG_EVENTS).increment(1.0);
        }
        if let Some(shim) = book.shims.get_mut(&envelope.shim_id) {
            shim.observe(envelope);
        }
    }

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
        };
        shim_gauge(shim.state, shim.agent).increment(1.0);
        let registration = shim.registration;
        if let Some(earlier) = book.shims.insert(Arc::clone(id), shim) {
            shim_gauge(earlier.state, earlier.agent).decrement(1.0);
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
            shim_gauge(shim.state, shim.agent).decrement(1.0);
        }
    }
}

impl Drop for LogMetrics {
    fn drop(&mut self) {
        gauge!(EVENT_LOG_EVENTS).decrement(self.lock().retained as f64);
    }
}

impl TrackedShim {
    fn observe(&mut self, envelope: &Envelope) {
        let agent = self.agent;
        match &envelope.event {
            Event::StateChanged { to, .. } => {
                shim_gauge(self.state, agent).decrement(1.0);
                shim_gauge(*to, agent).increment(1.0);
                self.state = *to;
            }
            Event::MessageDelivered { id } => {
                counter!(MESSAGES_DELIVERED, "agent" => agent).increment(1);
                self.delivered = Some((id.clone(), envelope.unix_ms));
            }
            Event::DeliveryFailed { .. } => {
                counter!(MESSAGES_FAILED, "agent" => agent).increment(1);
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

/// A shim counted in its log's metrics while this guard lives (the actor's task holds it).
#[derive(Debug)]
pub(crate) struct ShimLifetime {
    log: Arc<EventLog>,
    id: Arc<str>,
    registration: u64,
}

impl ShimLifetime {
    pub(crate) fn begin(log: &Arc<EventLog>, id: &Arc<str>, agent: AgentKind) -> Self {
        let registration = log.metrics().register(id, agent);
        Self {
            log: Arc::clone(log),
            id: Arc::clone(id),
            registration,
        }
    }
}

impl Drop for ShimLifetime {
    fn drop(&mut self) {
        self.log.metrics().retire(&self.id, self.registration);
    }
}

#[cfg(test)]
#[path = "shims_tests.rs"]
mod tests;

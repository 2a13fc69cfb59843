//! One agent in a PTY, owned by a tokio actor.
//!
//! [`spawn`] starts the agent process on a fresh PTY and an actor task that alone owns it, its
//! screen, its driver, its state machine and its message queue; callers get a cloneable
//! [`ShimHandle`]. Events go into an [`events::EventLog`] that any number of readers follow.

mod actor;
mod answer;
pub mod classifier;
mod config;
mod delivery;
mod error;
pub mod events;
mod handle;
pub mod inject;
pub mod keys;
mod limits;
pub mod process;
mod questions;
pub mod reset_time;
pub mod screen;
mod shutdown;
pub mod state;
mod terminal_queries;
mod turn;
pub mod usage;
mod usage_watch;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::metrics::shims::ShimLifetime;

pub use answer::Answer;
pub use classifier::{AgentDriver, AgentKind, UnknownAgentKind};
pub use config::{
    DEFAULT_COLS, DEFAULT_QUEUE_CAPACITY, DEFAULT_ROWS, DEFAULT_SCROLLBACK, ShimSpec, Signals,
    Timing,
};
pub use error::{DeliveryRefused, ShimError};
pub use handle::{OutgoingMessage, SendReceipt, ShimHandle, ShimStatus, StateReport};
pub use screen::Capture;
pub use turn::{Turn, TurnLines};

/// Requests that may wait in a shim's mailbox.
const MAILBOX_CAPACITY: usize = 64;

/// Starts the agent of `spec` and the actor that owns it. Must be called inside a tokio
/// runtime. The agent runs until it exits, is shut down or killed, or every handle is dropped.
pub fn spawn(spec: ShimSpec) -> Result<ShimHandle, ShimError> {
    let log = spec.event_log();
    let usage = usage_watch::UsageWatch::for_spec(&spec);
    let (pty, process) = process::spawn(&spec.process)?;
    let screen = screen::Screen::new(spec.process.rows, spec.process.cols, spec.scrollback);
    tracing::info!(shim = %spec.id, agent = %spec.agent, pid = process.pid(), "agent started");
    let actor = actor::ShimActor::new(&spec, Arc::clone(&log), screen, process, usage);
    let (requests_tx, requests_rx) = mpsc::channel(MAILBOX_CAPACITY);
    let id: Arc<str> = Arc::from(spec.id.as_str());
    // Counted in the metrics for as long as the actor's task lives.
    let lifetime = ShimLifetime::begin(&log, &id, spec.agent);
    let handle = ShimHandle::new(id, requests_tx, log);
    tokio::spawn(async move {
        let _lifetime = lifetime;
        actor.run(pty, requests_rx).await;
    });
    Ok(handle)
}

//! Observability: every metric agentshim records, its name, description and labels, and the
//! recording logic behind the one-line hooks elsewhere in the code.
//!
//! Recording goes through the `metrics` crate's facade, which does nothing until a recorder is
//! installed: library users and tests without `--metrics-listen` pay next to nothing.
//! `agentshim serve --metrics-listen ADDR` installs the Prometheus recorder ([`install`]) and
//! serves its text over HTTP ([`http`]).
//!
//! Where the numbers come from: everything a shim's events say ([`shims`]: shims by state,
//! messages queued, delivered and failed, completions and their latency, the bytes its
//! terminal produced), observed where every event passes, the event log's append; the log's
//! own size and evictions; and [`StreamSubscriber`], a guard in the gRPC service. Nothing
//! below the server imports this module (DESIGN rule 8).
//!
//! Labels stay bounded: `agent` is one of the agent kinds and `state` one of the shim states
//! (by its serialized name, so new states appear by themselves). There is no shim id label:
//! ids are chosen by clients or random, so a long-running server would grow one series per
//! shim it ever hosted, and the exporter never forgets a series. Per-shim facts are what
//! `ListShims`, `GetShim` and `StreamEvents` are for.

pub mod http;
pub mod shims;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Shims by `state` and `agent` (gauge).
pub const SHIMS: &str = "agentshim_shims";
/// Messages the agent accepted, by `agent` (counter).
pub const MESSAGES_DELIVERED: &str = "agentshim_messages_delivered_total";
/// Messages that could not be delivered, by `agent` (counter).
pub const MESSAGES_FAILED: &str = "agentshim_messages_failed_total";
/// Messages that had to wait in a shim's queue (counter).
pub const MESSAGES_QUEUED: &str = "agentshim_messages_queued_total";
/// Messages waiting in shims' queues now (gauge).
pub const MESSAGE_QUEUE_LENGTH: &str = "agentshim_message_queue_length";
/// Turns that ended with a `Completion`, by `agent` (counter).
pub const COMPLETIONS: &str = "agentshim_completions_total";
/// Seconds from `MessageDelivered` to the `Completion` of the same message, by `agent`.
pub const COMPLETION_LATENCY: &str = "agentshim_completion_latency_seconds";
/// Events retained in event logs (gauge).
pub const EVENT_LOG_EVENTS: &str = "agentshim_event_log_events";
/// Events evicted from full event logs (counter).
pub const EVENT_LOG_EVICTIONS: &str = "agentshim_event_log_evictions_total";
/// Open `StreamEvents` streams (gauge).
pub const STREAM_SUBSCRIBERS: &str = "agentshim_stream_subscribers";
/// Bytes read from agents' PTYs (counter).
pub const PTY_BYTES_IN: &str = "agentshim_pty_bytes_in_total";

/// Upper bounds of the completion latency buckets, in seconds: a shell answers in a fraction
/// of a second, a coding agent in seconds to many minutes.
pub const COMPLETION_LATENCY_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Why metrics cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(
        "a metrics recorder is already installed in this process: only one server per \
         process can serve metrics"
    )]
    AlreadyInstalled,
    #[error("cannot set up the Prometheus recorder: {0}")]
    Recorder(BuildError),
    #[error("cannot serve metrics on {addr}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The Prometheus recorder's configuration: histogram buckets for the latency.
fn prometheus_builder() -> Result<PrometheusBuilder, MetricsError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(COMPLETION_LATENCY.to_owned()),
            COMPLETION_LATENCY_BUCKETS,
        )
        .map_err(MetricsError::Recorder)
}

/// Installs the Prometheus recorder as the process's global recorder and describes every
/// metric. Only what is recorded afterwards is counted, so install it before starting shims.
/// Fails with [`MetricsError::AlreadyInstalled`] when a recorder is already installed.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    let handle = prometheus_builder()?
        .install_recorder()
        .map_err(|error| match error {
            BuildError::FailedToSetGlobalRecorder(_) => MetricsError::AlreadyInstalled,
            other => MetricsError::Recorder(other),
        })?;
    describe();
    Ok(handle)
}

/// Registers the help text and unit of every metric with the installed recorder, and the
/// metrics without labels at zero, so that they are scraped before anything happens.
fn describe() {
    for name in [MESSAGES_QUEUED, EVENT_LOG_EVICTIONS, PTY_BYTES_IN] {
        counter!(name).increment(0);
    }
    for name in [MESSAGE_QUEUE_LENGTH, EVENT_LOG_EVENTS, STREAM_SUBSCRIBERS] {
        gauge!(name).increment(0.0);
    }
    describe_gauge!(SHIMS, Unit::Count, "Shims by state and agent kind.");
    describe_counter!(
        MESSAGES_DELIVERED,
        Unit::Count,
        "Messages the agent accepted (MessageDelivered)."
    );
    describe_counter!(
        MESSAGES_FAILED,
        Unit::Count,
        "Messages that could not be delivered (DeliveryFailed)."
    );
    describe_counter!(
        MESSAGES_QUEUED,
        Unit::Count,
        "Messages that had to wait in a shim's queue."
    );
    describe_gauge!(
        MESSAGE_QUEUE_LENGTH,
        Unit::Count,
        "Messages waiting in shims' queues."
    );
    describe_counter!(
        COMPLETIONS,
        Unit::Count,
        "Turns that ended with a Completion."
    );
    describe_histogram!(
        COMPLETION_LATENCY,
        Unit::Seconds,
        "Time from MessageDelivered to the Completion of the same message."
    );
    describe_gauge!(
        EVENT_LOG_EVENTS,
        Unit::Count,
        "Events retained in the event log."
    );
    describe_counter!(
        EVENT_LOG_EVICTIONS,
        Unit::Count,
        "Events evicted from the full event log."
    );
    describe_gauge!(
        STREAM_SUBSCRIBERS,
        Unit::Count,
        "Open StreamEvents streams."
    );
    describe_counter!(PTY_BYTES_IN, Unit::Bytes, "Bytes read from agents' PTYs.");
}

/// One open event stream, counted in [`STREAM_SUBSCRIBERS`] until dropped.
#[derive(Debug)]
pub struct StreamSubscriber(());

impl StreamSubscriber {
    pub fn open() -> Self {
        gauge!(STREAM_SUBSCRIBERS).increment(1.0);
        Self(())
    }
}

impl Drop for StreamSubscriber {
    fn drop(&mut self) {
        gauge!(STREAM_SUBSCRIBERS).decrement(1.0);
    }
}

/// Test support: runs `scenario` with a fresh Prometheus recorder for this thread, configured
/// as [`install`] configures the global one, and the handle that renders it.
#[cfg(test)]
fn with_test_recorder(scenario: impl FnOnce(&PrometheusHandle)) {
    let recorder = prometheus_builder()
        .expect("valid buckets")
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || scenario(&handle));
}

/// Test support: the current value of `series` (a name and its labels, as rendered).
#[cfg(test)]
fn sample(handle: &PrometheusHandle, series: &str) -> Option<f64> {
    handle
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_counted_while_open() {
        with_test_recorder(|handle| {
            let first = StreamSubscriber::open();
            let second = StreamSubscriber::open();
            assert_eq!(sample(handle, STREAM_SUBSCRIBERS), Some(2.0));
            drop(first);
            assert_eq!(sample(handle, STREAM_SUBSCRIBERS), Some(1.0));
            drop(second);
            assert_eq!(sample(handle, STREAM_SUBSCRIBERS), Some(0.0));
        });
    }
}

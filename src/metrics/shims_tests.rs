//! The bookkeeping of [`LogMetrics`] against a real Prometheus recorder: synthetic envelopes
//! for exact numbers, and a real event log for its size, evictions and lifetime guards.

use super::super::{sample, with_test_recorder};
use super::*;
use crate::shim::events::{EventLog, LogBounds};
use metrics_exporter_prometheus::PrometheusHandle;

/// The rendered series name of the shims gauge for `agent` and `state`.
fn shims(agent: &str, state: &str) -> String {
    format!("{SHIMS}{{agent=\"{agent}\",state=\"{state}\"}}")
}

fn count(handle: &PrometheusHandle, series: &str) -> f64 {
    sample(handle, series).unwrap_or_else(|| panic!("no {series} in\n{}", handle.render()))
}

struct Feed<'a> {
    metrics: &'a LogMetrics,
    id: Arc<str>,
    seq: u64,
}

impl Feed<'_> {
    fn at(&mut self, unix_ms: u64, event: Event) {
        self.seq += 1;
        let envelope = Envelope {
            seq: self.seq,
            shim_id: Arc::clone(&self.id),
            shim_seq: 0,
            unix_ms,
            event,
        };
        self.metrics.appended(&envelope, 0);
    }

    fn change(&mut self, from: ShimState, to: ShimState) {
        let summary = String::new();
        self.at(0, Event::StateChanged { from, to, summary });
    }
}

fn completion(message_id: Option<&str>) -> Event {
    Event::Completion {
        message_id: message_id.map(str::to_owned),
        response: String::new(),
        last_lines: String::new(),
    }
}

#[test]
fn a_life_cycle_is_counted_by_state_and_ends_at_zero() {
    use ShimState::*;
    with_test_recorder(|handle| {
        let metrics = LogMetrics::default();
        let id: Arc<str> = Arc::from("a");
        let registration = metrics.register(&id, AgentKind::Claude);
        assert_eq!(count(handle, &shims("claude", "starting")), 1.0);
        let mut feed = Feed {
            metrics: &metrics,
            id,
            seq: 0,
        };
        feed.change(Starting, Idle);
        feed.at(1_000, Event::MessageDelivered { id: "m1".into() });
        feed.change(Idle, Working);
        assert_eq!(count(handle, &shims("claude", "working")), 1.0);
        feed.change(Working, Idle);
        feed.at(3_500, completion(Some("m1")));
        // A turn the agent began by itself: counted, not timed.
        feed.at(9_000, completion(None));
        feed.at(
            9_100,
            Event::DeliveryFailed {
                id: "m2".into(),
                reason: String::new(),
            },
        );
        let agent = "{agent=\"claude\"}";
        assert_eq!(count(handle, &format!("{MESSAGES_DELIVERED}{agent}")), 1.0);
        assert_eq!(count(handle, &format!("{COMPLETIONS}{agent}")), 2.0);
        assert_eq!(count(handle, &format!("{MESSAGES_FAILED}{agent}")), 1.0);
        assert_eq!(
            count(handle, &format!("{COMPLETION_LATENCY}_count{agent}")),
            1.0
        );
        assert_eq!(
            count(handle, &format!("{COMPLETION_LATENCY}_sum{agent}")),
            2.5
        );
        let bucket =
            |le: &str| format!("{COMPLETION_LATENCY}_bucket{{agent=\"claude\",le=\"{le}\"}}");
        assert_eq!(count(handle, &bucket("0.1")), 0.0);
        assert_eq!(count(handle, &bucket("2.5")), 1.0);
        assert_eq!(count(handle, &shims("claude", "idle")), 1.0);
        assert_eq!(count(handle, &shims("claude", "starting")), 0.0);

        feed.change(Idle, Dead);
        assert_eq!(count(handle, &shims("claude", "dead")), 1.0);
        assert_eq!(count(handle, &shims("claude", "idle")), 0.0);
        metrics.retire("a", registration);
        assert_eq!(count(handle, &shims("claude", "dead")), 0.0);
    });
}

#[test]
fn a_reused_id_moves_the_count_to_the_new_shim_once() {
    with_test_recorder(|handle| {
        let metrics = LogMetrics::default();
        let id: Arc<str> = Arc::from("same");
        let first = metrics.register(&id, AgentKind::Generic);
        let mut feed = Feed {
            metrics: &metrics,
            id: Arc::clone(&id),
            seq: 0,
        };
        feed.change(ShimState::Starting, ShimState::Dead);
        let second = metrics.register(&id, AgentKind::Generic);
        assert_eq!(count(handle, &shims("generic", "dead")), 0.0);
        assert_eq!(count(handle, &shims("generic", "starting")), 1.0);
        // The first shim's guard drops late: the second shim stays counted.
        metrics.retire("same", first);
        assert_eq!(count(handle, &shims("generic", "starting")), 1.0);
        metrics.retire("same", second);
        metrics.retire("same", second);
        assert_eq!(count(handle, &shims("generic", "starting")), 0.0);
        assert_eq!(count(handle, &shims("generic", "dead")), 0.0);
    });
}

#[test]
fn events_of_unknown_shims_are_not_measured() {
    with_test_recorder(|handle| {
        let metrics = LogMetrics::default();
        let mut feed = Feed {
            metrics: &metrics,
            id: Arc::from("stranger"),
            seq: 0,
        };
        feed.at(0, Event::MessageDelivered { id: "m".into() });
        feed.change(ShimState::Idle, ShimState::Working);
        assert!(!handle.render().contains(MESSAGES_DELIVERED));
        assert!(!handle.render().contains(SHIMS));
    });
}

#[test]
fn state_labels_are_the_serialized_names() {
    assert_eq!(
        state_label(ShimState::ContextExhausted),
        "context_exhausted"
    );
    assert_eq!(state_label(ShimState::Idle), "idle");
}

#[test]
fn a_log_counts_its_events_and_evictions_and_gives_them_back_when_dropped() {
    with_test_recorder(|handle| {
        let metrics = Arc::new(LogMetrics::default());
        let log = EventLog::observed(LogBounds::events(3), metrics.clone());
        let id: Arc<str> = Arc::from("s");
        let lifetime = ShimLifetime::begin(&metrics, &id, AgentKind::Generic);
        for _ in 0..5 {
            log.append(&id, Event::Pong);
        }
        assert_eq!(count(handle, EVENT_LOG_EVENTS), 3.0);
        assert_eq!(count(handle, EVENT_LOG_EVICTIONS), 2.0);
        assert_eq!(count(handle, &shims("generic", "starting")), 1.0);
        drop(lifetime);
        assert_eq!(count(handle, &shims("generic", "starting")), 0.0);
        drop(log);
        drop(metrics);
        assert_eq!(count(handle, EVENT_LOG_EVENTS), 0.0);
    });
}

#[test]
fn the_queue_and_terminal_bytes_follow_the_events() {
    with_test_recorder(|handle| {
        let metrics = LogMetrics::default();
        let id: Arc<str> = Arc::from("q");
        let registration = metrics.register(&id, AgentKind::Generic);
        let mut feed = Feed {
            metrics: &metrics,
            id,
            seq: 0,
        };
        for (n, id) in ["m1", "m2", "m3"].into_iter().enumerate() {
            let position = n as u32 + 1;
            feed.at(
                0,
                Event::MessageQueued {
                    id: id.into(),
                    position,
                },
            );
        }
        assert_eq!(count(handle, MESSAGE_QUEUE_LENGTH), 3.0);
        feed.at(0, Event::MessageDelivered { id: "m1".into() });
        let reason = "not delivered: shutdown".to_owned();
        feed.at(
            0,
            Event::DeliveryFailed {
                id: "m2".into(),
                reason,
            },
        );
        assert_eq!(count(handle, MESSAGE_QUEUE_LENGTH), 1.0);
        assert_eq!(count(handle, MESSAGES_QUEUED), 3.0);
        let stats = |output_bytes| Event::SessionStats {
            output_bytes,
            uptime_secs: 0,
            input_tokens: 0,
            output_tokens: 0,
            context_usage_pct: None,
        };
        feed.at(0, stats(100));
        feed.at(0, stats(250));
        assert_eq!(count(handle, PTY_BYTES_IN), 250.0);
        // A removed shim takes its queued messages out of the gauge.
        metrics.retire("q", registration);
        assert_eq!(count(handle, MESSAGE_QUEUE_LENGTH), 0.0);
    });
}

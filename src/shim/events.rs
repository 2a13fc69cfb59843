//! The event log: every event a shim emits gets a sequence number and a timestamp and is kept
//! in a bounded, in-order log that any number of subscribers read at their own pace.
//!
//! Appending never waits for a subscriber (DESIGN rule 2): the writer takes a short lock, pushes,
//! evicts the oldest entries while the log holds more events or more bytes (each event counted
//! at its JSON size) than its [`LogBounds`], and bumps a `watch` counter. A subscriber replays what is
//! still retained after its cursor, then follows live. If it asks for, or falls behind to,
//! sequence numbers that were already evicted, it receives an explicit [`LogItem::Gap`] naming
//! the lost range instead of silently skipping. One log may be shared by many shims (the server
//! keeps one server-wide sequence); each envelope carries its shim id. A [`LogObserver`] (the
//! server's metrics) may watch every append.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::protocol::Event;

/// Default number of events a log retains.
pub const DEFAULT_LOG_CAPACITY: usize = 10_000;
/// Default number of bytes of events a log retains (10,000 full-size Completions would take
/// almost 5 GB).
pub const DEFAULT_LOG_BYTES: usize = 64 * 1024 * 1024;

/// How much a log retains: at most `events` events of at most `bytes` bytes together (the
/// newest event is always kept, whatever its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    pub events: usize,
    pub bytes: usize,
}

impl LogBounds {
    /// At most `events` events, and the default bytes.
    pub fn events(events: usize) -> Self {
        Self {
            events,
            bytes: DEFAULT_LOG_BYTES,
        }
    }
}

/// One logged event.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Position in the log; strictly increasing, from the log's first seq (1 unless the log was
    /// made with [`EventLog::numbered_from`]).
    pub seq: u64,
    /// The shim that emitted the event.
    pub shim_id: Arc<str>,
    /// Where the event sits in its shim's own log, when it came from there into this one (the
    /// server's log, fed by the links to shim processes): that seq survives a restart of the
    /// server. 0 for an event first appended here.
    pub shim_seq: u64,
    /// Wall-clock time of the append, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// The event itself.
    pub event: Event,
}

/// What a subscriber reads next.
#[derive(Debug, Clone)]
pub enum LogItem {
    /// The next event after the subscriber's cursor.
    Event(Arc<Envelope>),
    /// Events `first_lost..=last_lost` were evicted before this subscriber read them.
    Gap { first_lost: u64, last_lost: u64 },
}

struct LogState {
    /// Each entry with its size in bytes.
    entries: VecDeque<(Arc<Envelope>, usize)>,
    bounds: LogBounds,
    /// The sizes of `entries`, summed.
    bytes: usize,
    last_seq: u64,
    /// The first seq this log gives: below it, nothing was ever lost.
    first_seq: u64,
    evicted: u64,
    closed: bool,
}

impl LogState {
    /// Sequence number of the oldest retained entry (or the next one, when empty).
    fn first_retained_seq(&self) -> u64 {
        self.entries
            .front()
            .map_or(self.last_seq + 1, |(e, _)| e.seq)
    }
}

/// Watches every event appended to a log (it is called right after the append, outside the
/// log's lock, in append order per shim).
pub trait LogObserver: Send + Sync {
    /// `envelope` was appended; `evicted`: how many of the oldest events made room for it.
    fn appended(&self, envelope: &Envelope, evicted: usize);
}

/// A bounded, shareable, sequence-numbered event log.
pub struct EventLog {
    state: Mutex<LogState>,
    /// Carries the last appended seq; every subscriber holds a receiver.
    appended_tx: watch::Sender<u64>,
    observer: Option<Arc<dyn LogObserver>>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("last_seq", &self.last_seq())
            .finish_non_exhaustive()
    }
}

impl EventLog {
    /// A log that keeps at most `capacity` events (at least one), of the default bytes.
    pub fn new(capacity: usize) -> Arc<Self> {
        Self::build(LogBounds::events(capacity), None, 1)
    }

    /// A log within `bounds` whose appends `observer` watches.
    pub fn observed(bounds: LogBounds, observer: Arc<dyn LogObserver>) -> Arc<Self> {
        Self::build(bounds, Some(observer), 1)
    }

    /// A log whose first event gets seq `first_seq` (at least 1): a reader from an earlier
    /// seq starts there, with nothing reported lost (a shim that carries on another's
    /// sequence, see [`crate::shim::ShimSpec::first_seq`]).
    pub fn numbered_from(first_seq: u64, bounds: LogBounds) -> Arc<Self> {
        Self::build(bounds, None, first_seq)
    }

    fn build(
        bounds: LogBounds,
        observer: Option<Arc<dyn LogObserver>>,
        first_seq: u64,
    ) -> Arc<Self> {
        let first_seq = first_seq.max(1);
        let bounds = LogBounds {
            events: bounds.events.max(1),
            ..bounds
        };
        Arc::new(Self {
            state: Mutex::new(LogState {
                entries: VecDeque::with_capacity(bounds.events.min(1024)),
                bounds,
                bytes: 0,
                last_seq: first_seq - 1,
                first_seq,
                evicted: 0,
                closed: false,
            }),
            appended_tx: watch::Sender::new(first_seq - 1),
            observer,
        })
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        // A panic while holding this lock leaves the log consistent (every mutation is a
        // single push/pop), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends an event and wakes subscribers; returns its sequence number.
    pub fn append(&self, shim_id: &Arc<str>, event: Event) -> u64 {
        self.append_all(shim_id, [event])
            .expect("one event was appended")
    }

    /// Appends `events` in order under consecutive sequence numbers (no other shim's event
    /// comes between them) and wakes subscribers; returns the last one's (none: no events).
    pub fn append_all(
        &self,
        shim_id: &Arc<str>,
        events: impl IntoIterator<Item = Event>,
    ) -> Option<u64> {
        let first_appended_here = events.into_iter().map(|event| (0, event));
        self.append_stamped(
            shim_id,
            crate::unix_time::now_unix_ms(),
            first_appended_here,
        )
    }

    /// [`append_all`](Self::append_all) of events that come from another log (a shim
    /// process's, over its link), each with its seq there, and the time they were emitted at.
    pub fn append_stamped(
        &self,
        shim_id: &Arc<str>,
        unix_ms: u64,
        events: impl IntoIterator<Item = (u64, Event)>,
    ) -> Option<u64> {
        let mut appended = Vec::new();
        {
            let mut state = self.lock();
            for (shim_seq, event) in events {
                state.last_seq += 1;
                let size = json_size(&event);
                let mut evicted = 0;
                while !state.entries.is_empty()
                    && (state.entries.len() == state.bounds.events
                        || state.bytes + size > state.bounds.bytes)
                {
                    let (_, oldest) = state.entries.pop_front().expect("not empty");
                    state.bytes -= oldest;
                    evicted += 1;
                }
                state.evicted += evicted as u64;
                let envelope = Arc::new(Envelope {
                    seq: state.last_seq,
                    shim_id: Arc::clone(shim_id),
                    shim_seq,
                    unix_ms,
                    event,
                });
                state.entries.push_back((Arc::clone(&envelope), size));
                state.bytes += size;
                appended.push((envelope, evicted));
            }
        }
        let last = appended.last()?.0.seq;
        self.appended_tx.send_replace(last);
        if let Some(observer) = &self.observer {
            for (envelope, evicted) in &appended {
                observer.appended(envelope, *evicted);
            }
        }
        Some(last)
    }

    /// Sequence number of the newest event (0 when none was appended yet).
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// The retained events with a seq in `from..=to`, in order.
    pub fn retained(&self, from: u64, to: u64) -> Vec<Arc<Envelope>> {
        let state = self.lock();
        let first = state.first_retained_seq();
        let start = from.max(first).saturating_sub(first) as usize;
        let end = (to + 1)
            .saturating_sub(first)
            .min(state.entries.len() as u64) as usize;
        state
            .entries
            .range(start.min(end)..end)
            .map(|(envelope, _)| Arc::clone(envelope))
            .collect()
    }

    /// Number of events currently retained.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when no event is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the events currently retained (at their JSON size).
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Number of events evicted so far because the log was full.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }

    /// Ends every subscription once it has read what is retained; later appends still land.
    pub fn close(&self) {
        self.lock().closed = true;
        self.appended_tx.send_modify(|_| {});
    }

    /// Reads events with `seq > after_seq`, of one shim only when `shim_id` is given.
    pub fn subscribe(self: &Arc<Self>, after_seq: u64, shim_id: Option<Arc<str>>) -> Subscription {
        Subscription {
            log: Arc::clone(self),
            appended_rx: self.appended_tx.subscribe(),
            cursor: after_seq,
            shim_id,
        }
    }
}

/// The size of `event` in the framed protocol's JSON, counted without building it.
fn json_size(event: &Event) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serializing an event into a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, event);
    counter.0
}

/// A reader of an [`EventLog`] with its own cursor. Dropping it frees everything it held.
pub struct Subscription {
    log: Arc<EventLog>,
    appended_rx: watch::Receiver<u64>,
    /// Seq of the last item handed out (or skipped by the shim filter).
    cursor: u64,
    shim_id: Option<Arc<str>>,
}

impl Subscription {
    /// Seq of the last event this subscription has moved past.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next item, waiting for one if needed; `None` once the log is closed and drained.
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<LogItem> {
        loop {
            self.appended_rx.borrow_and_update();
            match self.try_next() {
                Ok(item) => return Some(item),
                Err(Drained::Closed) => return None,
                Err(Drained::Open) => {}
            }
            if self.appended_rx.changed().await.is_err() {
                return self.try_next().ok();
            }
        }
    }

    /// The next item if one is available now.
    pub fn try_next(&mut self) -> Result<LogItem, Drained> {
        let state = self.log.lock();
        let first = state.first_retained_seq();
        if self.cursor + 1 < first {
            let first_lost = (self.cursor + 1).max(state.first_seq);
            self.cursor = first - 1;
            if first_lost < first {
                return Ok(LogItem::Gap {
                    first_lost,
                    last_lost: first - 1,
                });
            }
        }
        let start = (self.cursor + 1 - first) as usize;
        for (entry, _) in state.entries.range(start.min(state.entries.len())..) {
            self.cursor = entry.seq;
            if self.shim_id.as_ref().is_none_or(|id| *id == entry.shim_id) {
                return Ok(LogItem::Event(Arc::clone(entry)));
            }
        }
        Err(if state.closed {
            Drained::Closed
        } else {
            Drained::Open
        })
    }
}

/// Why [`Subscription::try_next`] had nothing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Nothing new yet; more may come.
    Open,
    /// The log was closed and everything was read.
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pong_log(capacity: usize, count: usize) -> (Arc<EventLog>, Arc<str>) {
        let log = EventLog::new(capacity);
        let id: Arc<str> = Arc::from("a");
        for _ in 0..count {
            log.append(&id, Event::Pong);
        }
        (log, id)
    }

    fn seq_of(item: LogItem) -> u64 {
        match item {
            LogItem::Event(envelope) => envelope.seq,
            LogItem::Gap { .. } => panic!("unexpected gap"),
        }
    }

    #[test]
    fn replays_after_cursor_in_order() {
        let (log, _) = pong_log(10, 5);
        let mut sub = log.subscribe(2, None);
        let seqs: Vec<u64> = std::iter::from_fn(|| sub.try_next().ok().map(seq_of)).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        assert_eq!(sub.try_next().unwrap_err(), Drained::Open);
    }

    #[test]
    fn reports_evicted_range_as_gap() {
        let (log, _) = pong_log(3, 10);
        assert_eq!(log.evicted(), 7);
        let mut sub = log.subscribe(1, None);
        match sub.try_next().unwrap() {
            LogItem::Gap {
                first_lost,
                last_lost,
            } => assert_eq!((first_lost, last_lost), (2, 7)),
            other => panic!("expected gap, got {other:?}"),
        }
        assert_eq!(seq_of(sub.try_next().unwrap()), 8);
    }

    #[test]
    fn a_log_numbered_from_a_seq_reports_nothing_lost_below_it() {
        let log = EventLog::numbered_from(1000, LogBounds::events(2));
        let id: Arc<str> = Arc::from("a");
        assert_eq!(log.last_seq(), 999);
        let mut early = log.subscribe(0, None);
        assert_eq!(early.try_next().unwrap_err(), Drained::Open);
        assert_eq!(log.append(&id, Event::Pong), 1000);
        assert_eq!(seq_of(early.try_next().unwrap()), 1000);
        for _ in 0..3 {
            log.append(&id, Event::Pong);
        }
        // Evicted events of its own are still reported.
        let mut late = log.subscribe(0, None);
        match late.try_next().unwrap() {
            LogItem::Gap {
                first_lost,
                last_lost,
            } => assert_eq!((first_lost, last_lost), (1000, 1001)),
            other => panic!("expected gap, got {other:?}"),
        }
        assert_eq!(seq_of(late.try_next().unwrap()), 1002);
    }

    #[test]
    fn filters_by_shim_and_still_advances() {
        let log = EventLog::new(10);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        log.append(&a, Event::Pong);
        log.append(&b, Event::Pong);
        log.append(&a, Event::Ready);
        let mut sub = log.subscribe(0, Some(Arc::clone(&b)));
        assert_eq!(seq_of(sub.try_next().unwrap()), 2);
        assert!(sub.try_next().is_err());
        assert_eq!(sub.cursor(), 3);
    }

    #[tokio::test]
    async fn follows_live_and_ends_when_closed() {
        let (log, id) = pong_log(10, 0);
        let mut sub = log.subscribe(0, None);
        let reader = tokio::spawn(async move {
            let mut seqs = Vec::new();
            while let Some(item) = sub.next().await {
                seqs.push(seq_of(item));
            }
            seqs
        });
        for _ in 0..3 {
            log.append(&id, Event::Pong);
            tokio::task::yield_now().await;
        }
        log.close();
        assert_eq!(reader.await.unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn a_log_keeps_at_most_its_bytes_and_always_the_newest_event() {
        let shim: Arc<str> = Arc::from("s");
        let warning = |size: usize| Event::Warning {
            message: "x".repeat(size),
            idle_secs: None,
        };
        let one = json_size(&warning(1000));
        let log = EventLog::numbered_from(
            1,
            LogBounds {
                events: 100,
                bytes: 3 * one,
            },
        );
        for _ in 0..5 {
            log.append(&shim, warning(1000));
        }
        assert_eq!((log.len(), log.bytes(), log.evicted()), (3, 3 * one, 2));
        // An event larger than the whole bound replaces everything.
        log.append(&shim, warning(10_000));
        assert_eq!(log.len(), 1);
        assert_eq!(log.evicted(), 5);
        let mut reader = log.subscribe(0, None);
        assert!(matches!(
            reader.try_next(),
            Ok(LogItem::Gap {
                first_lost: 1,
                last_lost: 5
            })
        ));
    }
}

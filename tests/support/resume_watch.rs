//! [`Watch`]: reads several [`ResumableEvents`] at once (one task each, items timestamped as
//! they arrive) and keeps everything, so a test can wait for an item on one stream (never a
//! fixed sleep), measure when it came, and check afterwards that each stream's seqs had no gap.

use std::time::{Duration, Instant};

use agentshim::client::{ResumableEvents, ResumeItem, ResumeOptions};
use agentshim::rpc::EventEnvelope;
use agentshim::rpc::event_envelope::Event as Pb;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::server::TIMEOUT;

/// Several resumable streams, read concurrently; stream `i` is the `i`th given to `start`.
pub struct Watch {
    items_rx: mpsc::UnboundedReceiver<(usize, Instant, ResumeItem)>,
    /// Every item so far, per stream, with its arrival time.
    pub seen: Vec<Vec<(Instant, ResumeItem)>>,
    readers: Vec<JoinHandle<()>>,
}

impl Watch {
    pub fn start(streams: Vec<ResumableEvents>) -> Self {
        let (items_tx, items_rx) = mpsc::unbounded_channel();
        let seen = streams.iter().map(|_| Vec::new()).collect();
        let readers = streams
            .into_iter()
            .enumerate()
            .map(|(index, mut stream)| {
                let items_tx = items_tx.clone();
                tokio::spawn(async move {
                    while let Some(item) = stream.next().await {
                        if items_tx.send((index, Instant::now(), item)).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Self {
            items_rx,
            seen,
            readers,
        }
    }

    /// How many items stream `index` has yielded so far.
    pub fn len(&self, index: usize) -> usize {
        self.seen[index].len()
    }

    /// Waits (at most [`TIMEOUT`]) for an item of stream `index`, at position `from` or later,
    /// that `matches`; returns its position and arrival time.
    pub async fn wait_for(
        &mut self,
        index: usize,
        from: usize,
        what: &str,
        matches: impl Fn(&ResumeItem) -> bool,
    ) -> (usize, Instant) {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        let mut position = from;
        loop {
            while let Some((at, item)) = self.seen[index].get(position) {
                if matches(item) {
                    return (position, *at);
                }
                position += 1;
            }
            match tokio::time::timeout_at(deadline, self.items_rx.recv()).await {
                Ok(Some((stream, at, item))) => self.seen[stream].push((at, item)),
                Ok(None) => panic!("every stream ended before {what}"),
                Err(_) => panic!(
                    "no {what} on stream {index} within {TIMEOUT:?}; it yielded {:#?}",
                    self.seen[index]
                        .iter()
                        .map(|(_, item)| item)
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Item `position` of stream `index`.
    pub fn item(&self, index: usize, position: usize) -> &ResumeItem {
        &self.seen[index][position].1
    }

    /// The events of stream `index` from position `from` on.
    pub fn events_from(&self, index: usize, from: usize) -> Vec<&EventEnvelope> {
        self.seen[index][from..]
            .iter()
            .filter_map(|(_, item)| match item {
                ResumeItem::Event(envelope) => Some(envelope),
                _ => None,
            })
            .collect()
    }

    /// How many items of stream `index` match.
    pub fn count(&self, index: usize, matches: impl Fn(&ResumeItem) -> bool) -> usize {
        self.seen[index]
            .iter()
            .filter(|(_, item)| matches(item))
            .count()
    }

    /// The shim seqs of the events of `shim_id` that stream `index` yielded (but the ones
    /// the server made itself, at 0), in order.
    pub fn shim_seqs(&self, index: usize, shim_id: &str) -> Vec<u64> {
        self.events_from(index, 0)
            .into_iter()
            .filter(|e| e.shim_id == shim_id && e.shim_seq != 0)
            .map(|e| e.shim_seq)
            .collect()
    }

    /// The seq of the newest event stream `index` yielded (0 for none).
    pub fn last_seq(&self, index: usize) -> u64 {
        self.last_seq_before(index, self.len(index))
    }

    /// The seq of the newest event stream `index` yielded before position `position`.
    pub fn last_seq_before(&self, index: usize, position: usize) -> u64 {
        self.seen[index][..position]
            .iter()
            .rev()
            .find_map(|(_, item)| match item {
                ResumeItem::Event(envelope) => Some(envelope.seq),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Asserts that stream `index` (of every shim, from seq 0) has no gap: its seqs run 1, 2, 3
    /// ... with no `events_lost`, a resume continues right after the last seq it yielded, and
    /// after a server restart they start again at 1.
    pub fn assert_no_gaps(&self, index: usize) {
        let mut next_seq = 1;
        for (position, (_, item)) in self.seen[index].iter().enumerate() {
            match item {
                ResumeItem::Event(envelope) => {
                    assert!(
                        !matches!(envelope.event, Some(Pb::EventsLost(_))),
                        "stream {index} lost events: {envelope:?}"
                    );
                    assert_eq!(
                        envelope.seq, next_seq,
                        "stream {index}, item {position}: a gap in the seqs"
                    );
                    next_seq += 1;
                }
                ResumeItem::Resumed { after_seq, .. } => assert_eq!(
                    *after_seq,
                    next_seq - 1,
                    "stream {index} resumed at the wrong place"
                ),
                ResumeItem::ServerRestarted { .. } => next_seq = 1,
                ResumeItem::Connected { .. } | ResumeItem::Disconnected { .. } => {}
                ResumeItem::Ended { error } => panic!("stream {index} ended: {error}"),
            }
        }
    }
}

/// Quick retries: the tests wait on conditions, never on the clock.
pub fn quick_retries() -> ResumeOptions {
    ResumeOptions {
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(200),
        max_attempts: None,
    }
}

/// A `Completion` whose response is `text`.
pub fn completion_saying(text: &'static str) -> impl Fn(&ResumeItem) -> bool {
    move |item| {
        matches!(item, ResumeItem::Event(e)
            if matches!(&e.event, Some(Pb::Completion(c)) if c.response == text))
    }
}

/// The `Ready` of shim `shim_id`.
pub fn ready_of(shim_id: &'static str) -> impl Fn(&ResumeItem) -> bool {
    move |item| {
        matches!(item, ResumeItem::Event(e)
            if e.shim_id == shim_id && matches!(e.event, Some(Pb::Ready(_))))
    }
}

pub fn is_disconnected(item: &ResumeItem) -> bool {
    matches!(item, ResumeItem::Disconnected { .. })
}

pub fn is_resumed(item: &ResumeItem) -> bool {
    matches!(item, ResumeItem::Resumed { .. })
}

pub fn is_restarted(item: &ResumeItem) -> bool {
    matches!(item, ResumeItem::ServerRestarted { .. })
}

pub fn is_ended(item: &ResumeItem) -> bool {
    matches!(item, ResumeItem::Ended { .. })
}

impl Drop for Watch {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

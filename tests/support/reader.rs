//! The one event reader of the tests: it reads a stream of events in order, remembers every
//! one it read (for failure messages and checks over the whole history), and waits for the one
//! a test wants with a deadline, never a fixed sleep. What it reads from is an
//! [`EventSource`]: an in-process shim's subscription (`support::shim`) or a gRPC
//! `StreamEvents` call (`support::server`); each adds the waits its event type needs on top.

use std::time::Duration;

use tokio::time::Instant;

use super::eventually::TIMEOUT;

/// A stream of events a [`Reader`] reads.
pub trait EventSource {
    /// What one read yields and the reader remembers.
    type Item: Clone + Send;

    /// The next item; `None` once the stream ended. A lost event is a panic.
    fn next_item(&mut self) -> impl Future<Output = Option<Self::Item>> + Send;

    /// One short line for `item` in failure messages.
    fn line(item: &Self::Item) -> String;
}

/// Reads an [`EventSource`] in order, remembering what it read.
pub struct Reader<S: EventSource> {
    source: S,
    /// The longest wait for one event.
    timeout: Duration,
    /// Everything read so far.
    pub seen: Vec<S::Item>,
}

impl<S: EventSource> Reader<S> {
    pub fn from_source(source: S) -> Self {
        Self {
            source,
            timeout: TIMEOUT,
            seen: Vec::new(),
        }
    }

    /// The same reader waiting up to `timeout` for each event (a real CLI on a loaded machine).
    pub fn waiting_up_to(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// What was read so far, one line per event, for failure messages.
    pub fn describe(&self) -> String {
        let lines: Vec<String> = self.seen.iter().map(S::line).collect();
        lines.join("\n")
    }

    /// The next item within `within`: `Some(None)` when the stream ended, `None` on timeout.
    pub async fn next_within(&mut self, within: Duration) -> Option<Option<S::Item>> {
        self.next_until(Instant::now() + within).await
    }

    async fn next_until(&mut self, deadline: Instant) -> Option<Option<S::Item>> {
        let item = tokio::time::timeout_at(deadline, self.source.next_item())
            .await
            .ok()?;
        if let Some(item) = &item {
            self.seen.push(item.clone());
        }
        Some(item)
    }

    /// The next item; panics naming what was seen if none comes in time or the stream ends.
    pub async fn next_item(&mut self) -> S::Item {
        let deadline = Instant::now() + self.timeout;
        self.next_before(deadline, "event").await
    }

    async fn next_before(&mut self, deadline: Instant, what: &str) -> S::Item {
        match self.next_until(deadline).await {
            Some(Some(item)) => item,
            Some(None) => panic!("the stream ended before {what}; seen:\n{}", self.describe()),
            None => panic!("no {what} in time; seen:\n{}", self.describe()),
        }
    }

    /// Skips items until one matches `wanted`, waiting up to this reader's timeout in all.
    pub async fn wait_for_item(
        &mut self,
        what: &str,
        wanted: impl Fn(&S::Item) -> bool,
    ) -> S::Item {
        self.wait_for_item_within(self.timeout, what, wanted).await
    }

    /// Like [`Reader::wait_for_item`], waiting up to `timeout` in all.
    pub async fn wait_for_item_within(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&S::Item) -> bool,
    ) -> S::Item {
        let deadline = Instant::now() + timeout;
        loop {
            let item = self.next_before(deadline, what).await;
            if wanted(&item) {
                return item;
            }
        }
    }

    /// Skips items until one matches `wanted`; `None` when none came within this reader's
    /// timeout (for a test that reports more than the events, such as the screen).
    pub async fn try_wait_for_item(
        &mut self,
        wanted: impl Fn(&S::Item) -> bool,
    ) -> Option<S::Item> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let item = self.next_until(deadline).await.flatten()?;
            if wanted(&item) {
                return Some(item);
            }
        }
    }

    /// Reads until the stream ends (panics if it does not in time); returns what came after
    /// the items already seen.
    pub async fn until_end(&mut self) -> Vec<S::Item> {
        let start = self.seen.len();
        loop {
            match self.next_within(self.timeout).await {
                Some(Some(_)) => {}
                Some(None) => return self.seen[start..].to_vec(),
                None => panic!(
                    "the stream did not end within {:?}; seen:\n{}",
                    self.timeout,
                    self.describe()
                ),
            }
        }
    }
}

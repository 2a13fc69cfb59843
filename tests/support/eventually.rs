//! Waiting in tests: every wait is for a condition, checked a few times a second, for at most
//! one generous deadline ([`TIMEOUT`], so a loaded 2-core machine passes); a fixed sleep never
//! stands in for a condition. A wait that runs out panics saying what it waited for and what it
//! saw last. [`Poll`] is the one polling loop; the `eventually` functions are it with
//! [`TIMEOUT`] and a panic, and a test with its own bound (a measurement that reports what is
//! left after a few seconds, a sampler with a finer cadence) uses [`Poll`] directly.

use std::time::{Duration, Instant};

/// The longest any test waits for anything.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How often a condition is checked unless a wait says otherwise.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// A bounded wait: a condition checked every `every` until it holds or `limit` has passed.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    limit: Duration,
    every: Duration,
}

impl Poll {
    /// Checks for at most `limit`, every 20 ms.
    pub const fn within(limit: Duration) -> Self {
        Self {
            limit,
            every: CHECK_EVERY,
        }
    }

    /// The same wait, checking every `every` (a sampler that timestamps what it sees).
    pub const fn every(self, every: Duration) -> Self {
        Self { every, ..self }
    }

    /// Runs `check` until it gives a value and returns it; `None` once `limit` has passed
    /// (after one last check).
    pub async fn until<T>(self, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + self.limit;
        loop {
            if let Some(value) = check().await {
                return Some(value);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(self.every).await;
        }
    }

    /// [`Poll::until`] for code without a runtime: the thread sleeps between checks.
    pub fn until_blocking<T>(self, mut check: impl FnMut() -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + self.limit;
        loop {
            if let Some(value) = check() {
                return Some(value);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(self.every);
        }
    }
}

/// Checks `check` until it gives a value and returns it; after [`TIMEOUT`] panics with
/// `what()`, which describes the wait and what was seen.
pub async fn eventually<T>(what: impl Fn() -> String, mut check: impl FnMut() -> Option<T>) -> T {
    eventually_async(what, async || check()).await
}

/// [`eventually`] with a check that awaits (an RPC, a screen capture, a scrape).
pub async fn eventually_async<T>(
    what: impl Fn() -> String,
    check: impl AsyncFnMut() -> Option<T>,
) -> T {
    match Poll::within(TIMEOUT).until(check).await {
        Some(value) => value,
        None => panic!("after {TIMEOUT:?}: {}", what()),
    }
}

/// [`eventually`] for tests without a runtime: the thread sleeps between checks.
pub fn eventually_blocking<T>(what: impl Fn() -> String, check: impl FnMut() -> Option<T>) -> T {
    match Poll::within(TIMEOUT).until_blocking(check) {
        Some(value) => value,
        None => panic!("after {TIMEOUT:?}: {}", what()),
    }
}

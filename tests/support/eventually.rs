//! Waiting in tests: every wait is for a condition, checked a few times a second, for at most
//! one generous deadline ([`TIMEOUT`], so a loaded 2-core machine passes); a fixed sleep never
//! stands in for a condition. A wait that runs out panics saying what it waited for and what it
//! saw last.

use std::time::{Duration, Instant};

/// The longest any test waits for anything.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// How often a condition is checked.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// Checks `check` until it gives a value and returns it; after [`TIMEOUT`] panics with
/// `what()`, which describes the wait and what was seen.
pub async fn eventually<T>(what: impl Fn() -> String, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "after {TIMEOUT:?}: {}", what());
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// [`eventually`] for tests without a runtime: the thread sleeps between checks.
pub fn eventually_blocking<T>(
    what: impl Fn() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "after {TIMEOUT:?}: {}", what());
        std::thread::sleep(CHECK_EVERY);
    }
}

//! Wall-clock times as the wire carries them: milliseconds since the Unix epoch (0 for a time
//! before it, `u64::MAX` for one past what 64 bits hold).

use std::time::{SystemTime, UNIX_EPOCH};

/// `at` in milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    })
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    unix_ms(SystemTime::now())
}

//! Wall-clock times as the wire carries them: milliseconds since the Unix epoch in the framed
//! protocol and the state directory (0 for a time before it, `u64::MAX` for one past what 64 bits
//! hold), `google.protobuf.Timestamp` in the gRPC API; and the conversions between the two.

use std::time::{SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;

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

/// The gRPC timestamp of `unix_ms` milliseconds since the Unix epoch.
pub fn timestamp(unix_ms: u64) -> Timestamp {
    let seconds = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX);
    let nanos = i32::try_from(unix_ms % 1000).unwrap_or(0) * 1_000_000;
    Timestamp { seconds, nanos }
}

/// Milliseconds since the Unix epoch of a gRPC timestamp: 0 when it is absent or before the
/// epoch, sub-millisecond parts dropped.
pub fn timestamp_unix_ms(at: Option<&Timestamp>) -> u64 {
    at.map_or(0, |at| {
        let seconds = u64::try_from(at.seconds).unwrap_or(0);
        let millis = u64::try_from(at.nanos / 1_000_000).unwrap_or(0);
        seconds.saturating_mul(1000).saturating_add(millis)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_holds_the_milliseconds_it_was_made_of() {
        for unix_ms in [0, 999, 1_000, 1_700_000_000_123] {
            assert_eq!(timestamp_unix_ms(Some(&timestamp(unix_ms))), unix_ms);
        }
        assert_eq!(
            timestamp(1_700_000_000_123),
            Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000
            }
        );
    }

    #[test]
    fn an_absent_or_pre_epoch_timestamp_reads_as_zero() {
        assert_eq!(timestamp_unix_ms(None), 0);
        let before = Timestamp {
            seconds: -5,
            nanos: 0,
        };
        assert_eq!(timestamp_unix_ms(Some(&before)), 0);
    }
}

//! A used-up usage quota: messages are held until its reset time (the one the agent showed, or
//! a configured hold when it showed none), then delivered in order.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::protocol::Event;
use crate::shim::reset_time::parse_reset;

/// A reset time shown to the minute that lies this far in the past means "moments ago", not
/// the same time tomorrow.
const RECENT_PAST: chrono::Duration = chrono::Duration::minutes(5);

/// Messages are held until `until` because the agent's usage quota is used up.
#[derive(Debug)]
pub(super) struct QuotaHold {
    pub(super) until: Instant,
    /// The reset time as the agent showed it.
    label: Option<String>,
}

impl QuotaHold {
    /// The hold for the quota `message` the agent showed at `now` (`wall` on the wall clock),
    /// and the `QuotaBlocked` event that reports it. `unknown_reset` is how long to hold when
    /// the message names no reset time.
    pub(super) fn begin(
        message: String,
        now: Instant,
        wall: SystemTime,
        unknown_reset: Duration,
    ) -> (Self, Event) {
        let wall_now = chrono::DateTime::<chrono::Utc>::from(wall);
        let reset = parse_reset(&message, wall_now - RECENT_PAST, &chrono::Local);
        let wait = reset.as_ref().map_or(unknown_reset, |r| {
            let now_secs = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
            Duration::from_secs(r.epoch_secs).saturating_sub(now_secs)
        });
        let event = Event::QuotaBlocked {
            message,
            retry_at_epoch_secs: reset.as_ref().map(|r| r.epoch_secs),
            retry_at_label: reset.as_ref().map(|r| r.label.clone()),
        };
        let hold = Self {
            until: now + wait,
            label: reset.map(|r| r.label),
        };
        (hold, event)
    }

    /// Why a message waits, for events and refusals.
    pub(super) fn reason(&self) -> String {
        match &self.label {
            Some(label) => format!("the agent's usage limit is reached until {label}"),
            None => "the agent's usage limit is reached (no reset time shown)".to_owned(),
        }
    }
}

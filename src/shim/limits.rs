//! Limits the agent reports, as part of the shim actor: a used-up usage quota holds messages
//! until its reset time (`QuotaBlocked`, then `QuotaResumed` and delivery in order), a
//! transient rate limit that ended a turn is a `Warning` beside its `Completion`, and
//! compaction is `ContextApproaching` with the token figures known at that time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::actor::ShimActor;
use super::classifier::LimitNotice;
use super::reset_time::parse_reset;
use crate::protocol::Event;

/// A reset time shown to the minute that lies this far in the past means "moments ago", not
/// the same time tomorrow.
const RECENT_PAST: chrono::Duration = chrono::Duration::minutes(5);

/// Messages are held until `until` because the agent's usage quota is used up.
#[derive(Debug)]
pub(super) struct QuotaHold {
    until: Instant,
    /// The reset time as the agent showed it.
    label: Option<String>,
}

impl QuotaHold {
    /// Why a message waits, for events and refusals.
    pub(super) fn reason(&self) -> String {
        match &self.label {
            Some(label) => format!("the agent's usage limit is reached until {label}"),
            None => "the agent's usage limit is reached (no reset time shown)".to_owned(),
        }
    }
}

/// How long from now until `epoch_secs` (zero when it has passed).
fn until_epoch(epoch_secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

impl ShimActor {
    /// Acts on the limits a turn reported, in screen order.
    pub(super) fn report_limits(&mut self, notices: Vec<LimitNotice>) {
        for notice in notices {
            match notice {
                LimitNotice::Quota { message } => self.quota_blocked(message),
                LimitNotice::RateLimited { message } => self.emit(Event::Warning {
                    message: format!("rate limited: {message}"),
                    idle_secs: None,
                }),
                LimitNotice::ContextPressure { message } => {
                    let (input_tokens, output_tokens) = self.token_totals();
                    self.emit(Event::ContextApproaching {
                        message,
                        input_tokens,
                        output_tokens,
                    });
                }
            }
        }
    }

    /// The quota is used up: report it once and hold messages until its reset time.
    fn quota_blocked(&mut self, message: String) {
        if self.quota.is_some() {
            return;
        }
        let reset = parse_reset(&message, chrono::Utc::now() - RECENT_PAST, &chrono::Local);
        let wait = reset.as_ref().map_or(self.signals.unknown_reset_hold, |r| {
            until_epoch(r.epoch_secs)
        });
        tracing::info!(shim = %self.id, %message, wait_secs = wait.as_secs(), "usage limit reached");
        self.emit(Event::QuotaBlocked {
            message,
            retry_at_epoch_secs: reset.as_ref().map(|r| r.epoch_secs),
            retry_at_label: reset.as_ref().map(|r| r.label.clone()),
        });
        let hold = QuotaHold {
            until: Instant::now() + wait,
            label: reset.map(|r| r.label),
        };
        if !self.signals.auto_resume {
            self.fail_pending(&hold.reason());
        }
        self.quota = Some(hold);
    }

    pub(super) fn quota_deadline(&self) -> Option<Instant> {
        self.quota.as_ref().map(|hold| hold.until)
    }

    /// Past the reset time: report it and deliver what was held, in order.
    pub(super) fn on_quota_deadline(&mut self, now: Instant) {
        if self.quota_deadline().is_none_or(|at| now < at) {
            return;
        }
        self.quota = None;
        let held_messages = u32::try_from(self.queue.len()).unwrap_or(u32::MAX);
        tracing::info!(shim = %self.id, held_messages, "usage limit reset");
        self.emit(Event::QuotaResumed { held_messages });
        self.deliver_next(now);
    }
}

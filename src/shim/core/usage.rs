//! Token usage as the agent CLI's own session log tells it, and when it is reported: the core
//! asks for the log to be read when a turn completes and again shortly after (the CLI writes
//! its log line as the reply ends, which may be after the screen showed it), and on the
//! periodic stats tick. `SessionStats` goes out after every Completion and otherwise only when
//! a figure changed (never for an idle or dead agent whose figures stand still);
//! `ContextWarning` once each time context usage crosses the threshold upwards.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::protocol::Event;
use crate::shim::usage::UsageSnapshot;

/// When the session log is read again after a Completion.
const RECHECKS: [Duration; 2] = [Duration::from_millis(1000), Duration::from_millis(4000)];

/// Why the log is read: decides what is reported with what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReadPurpose {
    /// A turn just completed: `SessionStats` goes out whatever the log says.
    AfterTurn,
    /// A follow-up read or the periodic tick: report only what changed.
    Refresh,
}

/// The figures of a `SessionStats` that count as a change (uptime always moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatsFigures {
    output_bytes: u64,
    input_tokens: u64,
    output_tokens: u64,
    context_usage_pct: Option<u8>,
}

/// What the session log said last, and what was reported of it.
#[derive(Debug)]
pub(super) struct UsageTracker {
    /// Whether the agent has a session log at all (a shell has none).
    has_log: bool,
    latest: Option<UsageSnapshot>,
    /// Usage was at or above the warning threshold at the last report.
    above_threshold: bool,
    threshold_pct: u8,
    /// Follow-up reads after the last Completion, earliest first.
    rechecks: Vec<Instant>,
    /// Reads asked for and not answered yet, oldest first.
    pending: VecDeque<ReadPurpose>,
    /// The figures of the last `SessionStats`.
    reported: Option<StatsFigures>,
}

/// What a report needs from the rest of the shim.
#[derive(Debug, Clone, Copy)]
pub(super) struct Uptime {
    pub(super) output_bytes: u64,
    pub(super) uptime_secs: u64,
}

impl UsageTracker {
    pub(super) fn new(has_log: bool, threshold_pct: u8) -> Self {
        Self {
            has_log,
            latest: None,
            above_threshold: false,
            threshold_pct,
            rechecks: Vec::new(),
            pending: VecDeque::new(),
            reported: None,
        }
    }

    pub(super) fn has_log(&self) -> bool {
        self.has_log
    }

    /// Input and output tokens of the session so far (zeros until the log has some).
    pub(super) fn token_totals(&self) -> (u64, u64) {
        self.latest.as_ref().map_or((0, 0), |usage| {
            (usage.totals.input_tokens, usage.totals.output_tokens)
        })
    }

    /// A read is asked for, for `purpose`; the follow-ups after a turn are planned from `now`.
    pub(super) fn ask(&mut self, purpose: ReadPurpose, now: Instant) {
        if purpose == ReadPurpose::AfterTurn {
            self.rechecks = RECHECKS.iter().map(|after| now + *after).collect();
        }
        self.pending.push_back(purpose);
    }

    pub(super) fn recheck_deadline(&self) -> Option<Instant> {
        self.rechecks.first().copied()
    }

    /// True when a follow-up read is due at `now` (it is then off the list).
    pub(super) fn take_due_recheck(&mut self, now: Instant) -> bool {
        let due = self.recheck_deadline().is_some_and(|at| now >= at);
        self.rechecks.retain(|at| *at > now);
        due
    }

    /// The answer to the oldest pending read: the events to emit.
    pub(super) fn read(&mut self, snapshot: Option<UsageSnapshot>, now: Uptime) -> Vec<Event> {
        let purpose = self.pending.pop_front().unwrap_or(ReadPurpose::Refresh);
        if let Some(snapshot) = snapshot {
            self.latest = Some(snapshot);
        }
        self.report(purpose, now)
    }

    /// The stats tick of an agent without a session log (nothing to read).
    pub(super) fn tick_without_log(&mut self, now: Uptime) -> Vec<Event> {
        self.report(ReadPurpose::Refresh, now)
    }

    /// A turn completed for an agent without a session log.
    pub(super) fn turn_without_log(&mut self, now: Uptime) -> Vec<Event> {
        self.report(ReadPurpose::AfterTurn, now)
    }

    /// `ContextWarning` on an upward crossing of the threshold, then `SessionStats` when the
    /// purpose asks for one or a figure changed.
    fn report(&mut self, purpose: ReadPurpose, now: Uptime) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(usage) = &self.latest {
            let above = usage.usage_pct() >= self.threshold_pct;
            if above && !self.above_threshold {
                events.push(context_warning(usage, now));
            }
            self.above_threshold = above;
        }
        let (input_tokens, output_tokens) = self.token_totals();
        let figures = StatsFigures {
            output_bytes: now.output_bytes,
            input_tokens,
            output_tokens,
            context_usage_pct: self.latest.as_ref().map(UsageSnapshot::usage_pct),
        };
        if purpose == ReadPurpose::AfterTurn || self.reported != Some(figures) {
            self.reported = Some(figures);
            events.push(Event::SessionStats {
                output_bytes: figures.output_bytes,
                uptime_secs: now.uptime_secs,
                input_tokens,
                output_tokens,
                context_usage_pct: figures.context_usage_pct,
            });
        }
        events
    }
}

fn context_warning(usage: &UsageSnapshot, now: Uptime) -> Event {
    let last = usage.last_request.unwrap_or(usage.totals);
    Event::ContextWarning {
        model: usage.model.clone(),
        output_bytes: now.output_bytes,
        uptime_secs: now.uptime_secs,
        input_tokens: last.input_tokens,
        // One figure under both names the protocol has for it: never added together.
        cached_input_tokens: last.cache_read_input_tokens,
        cache_creation_input_tokens: last.cache_creation_input_tokens,
        cache_read_input_tokens: last.cache_read_input_tokens,
        output_tokens: last.output_tokens,
        reasoning_output_tokens: last.reasoning_output_tokens,
        used_tokens: usage.context_used_tokens,
        context_limit_tokens: usage.context_limit_tokens,
        usage_pct: usage.usage_pct(),
    }
}

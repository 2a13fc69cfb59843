//! Token usage, as part of the shim actor: the agent CLI's own session log (see
//! [`super::usage`]) is read when a turn completes, and again shortly after (the CLI writes its
//! log line as the reply ends, which may be after the screen showed it). Each look that finds
//! new figures emits `SessionStats` with real totals, and `ContextWarning` once each time
//! context usage crosses the configured threshold upwards.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::ShimSpec;
use super::actor::ShimActor;
use super::usage::{SessionLogReader, UsageSnapshot};
use crate::protocol::Event;

/// When the session log is read again after a Completion.
const RECHECKS: [Duration; 2] = [Duration::from_millis(1000), Duration::from_millis(4000)];

/// The session log being followed and what it said last.
#[derive(Debug)]
pub(super) struct UsageWatch {
    reader: Option<SessionLogReader>,
    latest: Option<UsageSnapshot>,
    /// Usage was at or above the warning threshold at the last look.
    above_threshold: bool,
    threshold_pct: u8,
    /// Pending follow-up reads, earliest first.
    rechecks: Vec<Instant>,
}

/// The value of `key` in the agent's environment: the spec's own setting, else inherited
/// (unless the spec removes it).
fn agent_env(spec: &ShimSpec, key: &str) -> Option<PathBuf> {
    let process = &spec.process;
    if let Some((_, value)) = process.env_set.iter().rev().find(|(k, _)| k == key) {
        return Some(PathBuf::from(value));
    }
    if process.env_remove.iter().any(|k| k == OsStr::new(key)) {
        return None;
    }
    std::env::var_os(key).map(PathBuf::from)
}

impl UsageWatch {
    /// Watches the session log the agent of `spec` will write (none for agents without one).
    /// Made before the agent starts, so only logs created from now on are its own.
    pub(super) fn for_spec(spec: &ShimSpec) -> Self {
        let started = SystemTime::now();
        let cwd = spec
            .process
            .cwd
            .clone()
            .or_else(|| std::env::current_dir().ok());
        let reader = agent_env(spec, "HOME").zip(cwd).and_then(|(home, cwd)| {
            let codex_home = agent_env(spec, "CODEX_HOME");
            let reader = SessionLogReader::for_agent(
                spec.agent,
                &home,
                codex_home.as_deref(),
                Path::new(&cwd),
                started,
            )?;
            Some(match spec.signals.context_limit_tokens {
                Some(limit) => reader.with_context_limit(limit),
                None => reader,
            })
        });
        Self {
            reader,
            latest: None,
            above_threshold: false,
            threshold_pct: spec.signals.context_warning_pct,
            rechecks: Vec::new(),
        }
    }

    /// Reads what the log gained; true when the figures changed.
    fn refresh(&mut self) -> bool {
        let Some(snapshot) = self.reader.as_mut().and_then(SessionLogReader::poll) else {
            return false;
        };
        let changed = self.latest.as_ref() != Some(&snapshot);
        self.latest = Some(snapshot);
        changed
    }

    pub(super) fn latest(&self) -> Option<&UsageSnapshot> {
        self.latest.as_ref()
    }
}

impl ShimActor {
    /// A turn completed: report usage now and look again shortly.
    pub(super) fn usage_after_turn(&mut self, now: Instant) {
        if self.usage.reader.is_none() {
            self.emit(self.session_stats());
            return;
        }
        self.usage.refresh();
        self.report_usage();
        self.usage.rechecks = RECHECKS.iter().map(|after| now + *after).collect();
    }

    /// Reads what the session log gained, reporting nothing yet (figures for other events).
    pub(super) fn refresh_usage(&mut self) {
        self.usage.refresh();
    }

    /// The periodic `SessionStats`, with what the log gained since the last look.
    pub(super) fn usage_tick(&mut self) {
        self.usage.refresh();
        self.report_usage();
    }

    pub(super) fn usage_deadline(&self) -> Option<Instant> {
        self.usage.rechecks.first().copied()
    }

    pub(super) fn on_usage_deadline(&mut self, now: Instant) {
        if self.usage_deadline().is_none_or(|at| now < at) {
            return;
        }
        self.usage.rechecks.retain(|at| *at > now);
        if self.usage.refresh() {
            self.report_usage();
        }
    }

    /// `ContextWarning` on an upward crossing of the threshold, then `SessionStats`.
    fn report_usage(&mut self) {
        if let Some(usage) = self.usage.latest.clone() {
            let pct = usage.usage_pct();
            let above = pct >= self.usage.threshold_pct;
            if above && !self.usage.above_threshold {
                self.emit(self.context_warning(&usage));
            }
            self.usage.above_threshold = above;
        }
        self.emit(self.session_stats());
    }

    fn context_warning(&self, usage: &UsageSnapshot) -> Event {
        let last = usage.last_request.unwrap_or(usage.totals);
        Event::ContextWarning {
            model: usage.model.clone(),
            output_bytes: self.output_bytes(),
            uptime_secs: self.uptime().as_secs(),
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
}

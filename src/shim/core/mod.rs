//! `ShimCore`: every decision of one shim, as one pure state machine (the sans-I/O shape of
//! quinn-proto and rustls). Its inputs are the agent's output bytes, requests, the agent's
//! exit, what the session log said, and the time, always passed in; its outputs are the bytes
//! to type into the PTY ([`ShimCore::outbox`]), [`Effect`]s (events to emit, signals, a PTY
//! resize, a session-log read) and the next deadline. It reads no clock and does no I/O, so
//! tests drive it with a virtual clock; the actor (`super::actor`) is the I/O shell around it.
//!
//! What it decides:
//! - **Admission** ([`ShimCore::gate`], the one rule): a message goes in at once only to an
//!   idle agent with nothing in flight, no quota hold and no person attached to write
//!   (`writer`); it waits in the bounded FIFO queue while the agent is busy or held; it is
//!   refused when the agent is dead, shutting down, out
//!   of context, or held without auto-resume.
//! - **Delivery** (`delivery`, driven by `turn_flow`): type, wait for the echo, press the
//!   submit key once after the driver's pause, and confirm (`MessageDelivered`) when the agent
//!   reacts.
//! - **Turns** (`turn_flow`): the settled screen is classified by the driver; the turn's answer is cut from
//!   the lines after the echo (`Completion`, preceded by `ResponseTruncated` when history was
//!   lost or the text clipped).
//! - **Questions, limits, usage** (`reports`, with `questions`, `quota`, `usage`):
//!   `InputRequested` and answers, quota holds and their resumption, rate-limit warnings,
//!   context pressure, token figures, the watchdogs.
//! - **The end** (`ending`, with `lifecycle`): staged shutdown, kill, exit, `Died`. Every
//!   accepted message ends in exactly one terminal event (see [`crate::protocol::outcome`]):
//!   a shutdown or death fails what was never submitted (`not delivered`), what was submitted
//!   but not confirmed (`unconfirmed`), and interrupts the turn in progress
//!   (`TurnInterrupted`).

mod delivery;
mod effect;
mod ending;
mod explain;
mod lifecycle;
mod prompt_marks;
mod questions;
mod quota;
mod reports;
mod settle;
mod turn_flow;
mod usage;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use effect::{AgentSignal, Effect};
pub use explain::{Cause, Decision, Explanation};
pub use lifecycle::ShutdownCause;

use super::agents::{AgentDriver, InputPrompt, LimitNotice, Observation, Verdict};
use super::config::{MAX_DIMENSION, MessageLimits, ShimSpec, Signals, Timing};
use super::error::ShimError;
use super::handle::{OutgoingMessage, SendReceipt};
use super::inject::{sanitize_body, typing_bytes};
use super::keys::{encode_keys, parse_keys};
use super::screen::{Capture, SUMMARY_LINES, Screen, ScreenSnapshot, clip_to_frame};
use super::state::{StateInput, StateMachine};
use super::turn::{PromptMark, Turn, TurnLines};
use super::usage::UsageSnapshot;
use crate::protocol::outcome::DeliveryFailure;
use crate::protocol::{Event, ShimState};
use crate::untrusted::Untrusted;
use delivery::{Delivery, Phase};
use explain::DecisionLog;
use lifecycle::{EXIT_DRAIN, Exit, ShutdownPlan};
use prompt_marks::{MarkEffect, PromptMarks};
use questions::Questions;
use quota::QuotaHold;
use settle::Settle;
use usage::{ReadPurpose, Uptime, UsageTracker};

/// How long output must pause before the screen is judged once the program declared its
/// turn over: only long enough for a frame written in several reads to be whole.
const SIGNALLED_SETTLE: Duration = Duration::from_millis(5);

/// The core's view of the running shim (the shell adds the pid and the event seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreStatus {
    pub state: ShimState,
    /// How long the current state has lasted.
    pub since: Duration,
    /// Set once the agent has exited (and its code is known).
    pub exit_code: Option<i32>,
    pub queued_messages: usize,
}

/// What [`ShimCore::gate`] says about a message that comes now.
#[derive(Debug)]
enum Gate {
    /// Type it now (when nothing waits before it).
    Open,
    /// Queue it; `held` says why when a quota holds it.
    Wait { held: Option<String> },
    /// Refuse it.
    Closed(ShimError),
}

/// Everything one shim decides. See the module docs.
pub struct ShimCore {
    id: Arc<str>,
    driver: &'static dyn AgentDriver,
    timing: Timing,
    signals: Signals,
    screen: Screen,
    machine: StateMachine,
    queue: VecDeque<OutgoingMessage>,
    queue_capacity: usize,
    message_limits: MessageLimits,
    /// The message being typed and submitted, if any.
    delivery: Option<Delivery>,
    /// The turn in progress since a message was delivered (or the agent got busy by itself).
    turn: Option<Turn>,
    /// Where the agent was last seen at its prompt.
    prompt_mark: PromptMark,
    questions: Questions,
    /// What the program says about its turns (semantic prompt marks), when `turn_signals`.
    marks: PromptMarks,
    /// Whether marks count (`ShimSpec::turn_signals`); off: the screen alone decides.
    turn_signals: bool,
    /// Messages are held while the agent's usage quota is used up.
    quota: Option<QuotaHold>,
    /// A person attached to type into the agent; messages wait meanwhile.
    writer: Option<writer::Writer>,
    /// What the writer typed while a message was being delivered, typed once it is not.
    held_keys: Vec<u8>,
    usage: UsageTracker,
    settle: Settle,
    /// When a first prompt has been quiet long enough to count as ready (see
    /// `AgentDriver::ready_quiet`).
    ready_check: Option<Instant>,
    shutdown: Option<ShutdownPlan>,
    exit: Option<Exit>,
    /// The PTY reported end of file: no more output will come.
    pty_closed: bool,
    /// Bytes waiting to be written to the PTY.
    outbox: Vec<u8>,
    effects: VecDeque<Effect>,
    started: Instant,
    /// The state changes and their evidence, for `explain`; also the wall clock (quota reset
    /// times and decisions are wall-clock times).
    decisions: DecisionLog,
    /// What made the core act now, for the decision it may take.
    cause: Cause,
    /// The driver's verdict on the screen at the last classification.
    verdict: Option<String>,
    /// When the program's last signal came.
    last_signal: Option<Instant>,
    output_bytes: u64,
    last_output: Instant,
    stale_warned: bool,
    ready_warned: bool,
    next_stats: Option<Instant>,
}

impl std::fmt::Debug for ShimCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimCore")
            .field("id", &self.id)
            .field("state", &self.machine.state())
            .finish_non_exhaustive()
    }
}

impl ShimCore {
    /// The core of the shim `spec` describes, its agent started at `now` (`wall` on the wall
    /// clock); `has_session_log`: whether the agent's session log can be read.
    pub fn new(spec: &ShimSpec, now: Instant, wall: SystemTime, has_session_log: bool) -> Self {
        let (rows, cols) = (spec.process.rows, spec.process.cols);
        Self {
            id: Arc::from(spec.id.as_str()),
            driver: spec.agent.driver(),
            timing: spec.timing.clone(),
            signals: spec.signals.clone(),
            screen: Screen::with_history_bytes(rows, cols, spec.scrollback, spec.history_bytes),
            message_limits: spec.message_limits,
            machine: StateMachine::new(now),
            queue: VecDeque::new(),
            queue_capacity: spec.queue_capacity,
            delivery: None,
            turn: None,
            prompt_mark: PromptMark::default(),
            questions: Questions::default(),
            marks: PromptMarks::default(),
            turn_signals: spec.turn_signals,
            quota: None,
            writer: None,
            held_keys: Vec::new(),
            usage: UsageTracker::new(has_session_log, spec.signals.context_warning_pct),
            settle: Settle::default(),
            ready_check: None,
            shutdown: None,
            exit: None,
            pty_closed: false,
            outbox: Vec::new(),
            effects: VecDeque::new(),
            started: now,
            decisions: DecisionLog::new((now, wall)),
            cause: Cause::Timer("start"),
            verdict: None,
            last_signal: None,
            output_bytes: 0,
            last_output: now,
            stale_warned: false,
            ready_warned: false,
            next_stats: spec.timing.stats_interval.map(|every| now + every),
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// Bytes to write to the PTY, in order.
    pub fn outbox(&self) -> &[u8] {
        &self.outbox
    }

    /// The first `count` bytes of the outbox were written.
    pub fn wrote(&mut self, count: usize) {
        self.outbox.drain(..count.min(self.outbox.len()));
    }

    /// The PTY cannot be written any more: what waits is dropped.
    pub fn write_failed(&mut self) {
        self.outbox.clear();
    }

    /// The next effect for the shell to carry out.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When [`Self::tick`] must be called next, if anything is scheduled.
    pub fn next_deadline(&self) -> Option<Instant> {
        if let Some(exit) = self.exit {
            // Only the end of the drain matters once the agent is gone.
            return (!exit.announced).then_some(exit.drain_until);
        }
        let state = self.state();
        [
            self.settle.deadline(),
            self.ready_check,
            self.delivery
                .as_ref()
                .map(|delivery| delivery.deadline(&self.timing)),
            self.questions.deadline(),
            self.quota.as_ref().map(|hold| hold.until),
            self.usage.recheck_deadline(),
            (state == ShimState::Working && !self.stale_warned)
                .then(|| self.last_output + self.timing.stale_after),
            (state == ShimState::Starting && !self.ready_warned)
                .then(|| self.started + self.timing.ready_timeout),
            self.next_stats,
            self.shutdown.as_ref().and_then(ShutdownPlan::deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn state(&self) -> ShimState {
        self.machine.state()
    }

    pub fn status(&self, now: Instant) -> CoreStatus {
        CoreStatus {
            state: self.state(),
            since: self.machine.elapsed(now),
            exit_code: self.exit.and_then(|exit| exit.code),
            queued_messages: self.queue.len(),
        }
    }

    /// Whether the agent's death was announced (`Died` emitted): nothing happens any more.
    pub fn finished(&self) -> bool {
        self.exit.is_some_and(|exit| exit.announced)
    }

    /// The state and the evidence of the last state changes.
    pub fn explain(&self, now: Instant) -> Explanation {
        Explanation {
            state: self.state(),
            since: self.machine.elapsed(now),
            marks_seen: self.marks.integrated(),
            decisions: self.decisions.decisions(),
        }
    }

    /// The screen as a client sees it (see [`Screen::capture`]).
    pub fn capture(&mut self, last_n_lines: Option<usize>, include_scrollback: bool) -> Capture {
        self.screen.capture(last_n_lines, include_scrollback)
    }

    // ---- inputs from the agent ----------------------------------------------------------

    /// The agent wrote `bytes` at `now`.
    pub fn output(&mut self, now: Instant, bytes: &[u8]) {
        self.output_bytes += bytes.len() as u64;
        self.last_output = now;
        self.stale_warned = false;
        let replies = self.screen.feed(bytes);
        self.outbox.extend_from_slice(&replies);
        if let Some(delivery) = &mut self.delivery {
            delivery.output_arrived();
        }
        let marks = self.screen.take_marks();
        let pause = if self.turn_signals && self.marks.turn_over_declared() {
            SIGNALLED_SETTLE
        } else {
            self.driver.settle()
        };
        self.settle.output(now, pause, self.timing.max_settle);
        if self.turn_signals && !marks.is_empty() {
            self.on_marks(now, &marks);
        }
    }

    /// The program's own marks came: a read command line confirms the message being
    /// delivered at once, a prompt waiting for input is judged at once (no settle window).
    /// Not for a multi-line message, whose lines run as commands one after the other: each
    /// brings its prompt back for a moment, so the settle window still tells its end.
    fn on_marks(&mut self, now: Instant, marks: &[super::marks::PlacedMark]) {
        let mut command_started = None;
        let mut working = false;
        let mut judge_now = false;
        let shown: Vec<String> = marks.iter().map(|placed| placed.mark.to_string()).collect();
        self.cause = Cause::Signal(shown.join(", "));
        self.last_signal = Some(now);
        for placed in marks {
            match self.marks.observe(placed) {
                MarkEffect::CommandStarted { row } => command_started = Some(row),
                MarkEffect::Working => working = true,
                MarkEffect::JudgeNow => judge_now = true,
                MarkEffect::None => {}
            }
        }
        let message = match (&self.delivery, &self.turn) {
            (Some(delivery), _) => Some(delivery.message.body.as_str()),
            (None, Some(turn)) => turn.message.as_deref(),
            (None, None) => None,
        };
        if message.is_some_and(|body| body.contains('\n')) {
            return;
        }
        let accepted = match (&mut self.delivery, command_started) {
            (Some(delivery), Some(row)) => delivery.command_started(row),
            (Some(delivery), None) => working && delivery.is_submitted(),
            (None, _) => false,
        };
        if accepted {
            self.settle.clear();
            self.confirm_delivery(now);
        } else if judge_now && self.delivery.is_none() && self.exit.is_none() {
            self.settle.clear();
            self.classify(now);
        }
    }

    /// The agent process exited at `now` with `code` (`None` when unknown). `Died` follows
    /// once the PTY is drained ([`Self::pty_closed`]) or after a short drain.
    pub fn exited(&mut self, now: Instant, code: Option<i32>) {
        if self.exit.is_some() {
            return;
        }
        // Whatever it left running goes with it.
        self.effects.push_back(Effect::Signal(AgentSignal::KillAll));
        // Output may still be on its way from the PTY; once it reported end of file, none is.
        let drain = if self.pty_closed {
            Duration::ZERO
        } else {
            EXIT_DRAIN
        };
        self.exit = Some(Exit {
            code,
            drain_until: now + drain,
            announced: false,
        });
        self.tick(now);
    }

    /// Every holder of the terminal's other side is gone (end of file).
    pub fn pty_closed(&mut self, now: Instant) {
        self.pty_closed = true;
        if let Some(exit) = self.exit.filter(|exit| !exit.announced) {
            self.announce_death(now, exit);
        }
    }

    /// The answer to an [`Effect::ReadUsage`]: what the session log says now (`None`: nothing
    /// logged yet, or the log is gone).
    pub fn usage_read(&mut self, now: Instant, snapshot: Option<UsageSnapshot>) {
        if self.finished() {
            return;
        }
        let events = self.usage.read(snapshot, self.uptime(now));
        self.emit_all(events);
    }

    /// Runs everything due at `now`.
    pub fn tick(&mut self, now: Instant) {
        self.run_due(now);
        self.release_writer_input();
    }

    fn run_due(&mut self, now: Instant) {
        if let Some(exit) = self.exit {
            if !exit.announced && now >= exit.drain_until {
                self.announce_death(now, exit);
            }
            return;
        }
        let ready_check = self.ready_check.is_some_and(|at| now >= at);
        let settled = self.settle.take_due(now);
        if settled || ready_check {
            self.ready_check = None;
            self.cause = if settled {
                Cause::Settled {
                    quiet: now.saturating_duration_since(self.last_output),
                }
            } else {
                Cause::Timer("first prompt's quiet")
            };
            self.on_settled(now);
        }
        self.cause = Cause::Timer("delivery deadline");
        self.on_delivery_deadline(now);
        if self.questions.take_grace_over(now) && !self.settle.pending() {
            // Judge the screen again: it may not have changed since the answer.
            self.cause = Cause::Timer("answer grace");
            self.on_settled(now);
        }
        self.cause = Cause::Timer("quota reset");
        self.on_quota_deadline(now);
        if self.usage.take_due_recheck(now) {
            self.read_usage(ReadPurpose::Refresh, now);
        }
        self.watchdogs(now);
        self.on_shutdown_deadlines(now);
    }

    // ---- requests -----------------------------------------------------------------------

    /// Accepts a message: delivers it now, queues it, or refuses it.
    pub fn send(
        &mut self,
        now: Instant,
        mut message: OutgoingMessage,
    ) -> Result<SendReceipt, ShimError> {
        self.check_size(&message)?;
        let (open, held) = match self.gate() {
            Gate::Closed(error) => return Err(error),
            Gate::Open => (true, None),
            Gate::Wait { held } => (false, held),
        };
        if self.is_pending(&message.id) {
            return Err(ShimError::DuplicateMessage(message.id));
        }
        let deliver_now = open && self.queue.is_empty();
        if !deliver_now && self.queue.len() >= self.queue_capacity {
            return Err(ShimError::QueueFull {
                capacity: self.queue_capacity,
            });
        }
        let clean = sanitize_body(&message.body);
        let removed = clean.removed_summary();
        if let Some(removed) = &removed {
            tracing::warn!(shim = %self.id, id = %Untrusted(&message.id), removed, "escape sequences removed from message body");
            self.emit(Event::Warning {
                message: format!(
                    "message {}: removed from its body before typing: {removed}",
                    message.id
                ),
                idle_secs: None,
            });
        }
        message.body = clean.text;
        let receipt = SendReceipt {
            id: message.id.clone(),
            queued: !deliver_now,
            removed,
        };
        if deliver_now {
            self.start_delivery(message, now);
        } else {
            if let Some(reason) = held {
                self.emit(Event::Warning {
                    message: format!("message {} held: {reason}", message.id),
                    idle_secs: None,
                });
            }
            self.emit(Event::MessageQueued {
                id: message.id.clone(),
                position: u32::try_from(self.queue.len() + 1).unwrap_or(u32::MAX),
            });
            self.queue.push_back(message);
        }
        Ok(receipt)
    }

    /// Resizes the screen (and, through [`Effect::ResizePty`], the PTY); while a writer is
    /// attached, only remembers the size for when it leaves.
    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<(), ShimError> {
        check_dimensions(rows, cols)?;
        if let Some(exit) = self.exit {
            return Err(ShimError::AgentDead {
                exit_code: exit.code,
            });
        }
        if !self.remember_own_size(rows, cols) {
            self.apply_size(rows, cols);
        }
        Ok(())
    }

    fn apply_size(&mut self, rows: u16, cols: u16) {
        self.screen.resize(rows, cols);
        self.effects.push_back(Effect::ResizePty { rows, cols });
    }

    /// The escape sequences that draw the screen as it is now (see [`Screen::drawing`]).
    pub fn drawing(&self) -> Vec<u8> {
        self.screen.drawing()
    }

    /// The terminal's size, `(rows, cols)`.
    pub fn size(&self) -> (u16, u16) {
        self.screen.size()
    }

    /// Picks `option` (1-based) of the open question; returns the option's text.
    pub fn answer(&mut self, now: Instant, option: u32) -> Result<String, ShimError> {
        self.check_input_allowed()?;
        let Some(question) = self.questions.open_question() else {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "no question is waiting for an answer".to_owned(),
            });
        };
        let count = question.options.len();
        let index = usize::try_from(option)
            .ok()
            .and_then(|option| option.checked_sub(1))
            .filter(|&index| index < count);
        let Some(index) = index else {
            return Err(ShimError::InvalidArgument(if count == 0 {
                "this question has no numbered options: answer it with SendKeys".to_owned()
            } else {
                format!(
                    "option {option} is not a choice: pick 1 to {count} ({})",
                    question.options.join(" | ")
                )
            }));
        };
        let chosen = question.options[index].clone();
        self.cause = Cause::Request(format!("Answer {option}"));
        tracing::info!(shim = %self.id, option, chosen = %Untrusted(&chosen), "answering");
        let keys = self.driver.answer_keys(question, index);
        self.outbox.extend_from_slice(&keys);
        self.questions.answered(now);
        self.transition(
            now,
            StateInput::Answered,
            Some(format!("answered option {option}: {chosen}")),
        );
        Ok(chosen)
    }

    /// Types `keys` (text and named keys such as `<Enter>`) into the agent.
    pub fn send_keys(&mut self, keys: &str) -> Result<(), ShimError> {
        self.check_input_allowed()?;
        if self.delivery.is_some() {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "a message is being typed; send keys after its MessageDelivered".to_owned(),
            });
        }
        let keys = parse_keys(keys).map_err(|e| ShimError::InvalidArgument(e.to_string()))?;
        let bytes = encode_keys(&keys, self.screen.application_cursor());
        self.outbox.extend_from_slice(&bytes);
        Ok(())
    }

    /// Ends the agent within `timeout` (zero: kill it now). Returns the exit code when the
    /// agent is already gone; otherwise [`Effect::Finished`] reports it later.
    pub fn shutdown(
        &mut self,
        now: Instant,
        timeout: Duration,
        cause: ShutdownCause,
    ) -> Option<Option<i32>> {
        if let Some(exit) = self.exit.filter(|exit| exit.announced) {
            return Some(exit.code);
        }
        tracing::info!(shim = %self.id, reason = cause.label(), ?timeout, "shutting down agent");
        self.cause = Cause::Request(format!("Shutdown ({})", cause.label()));
        // A message being typed counts as work: the agent is not at an empty prompt.
        let state = match self.delivery {
            Some(_) => ShimState::Working,
            None => self.state(),
        };
        let plan = ShutdownPlan::new(cause, now, timeout, self.driver.exit_request(state));
        let first = self.shutdown.is_none() && self.exit.is_none();
        if self
            .shutdown
            .as_ref()
            .is_none_or(|old| old.is_sooner(&plan))
        {
            self.shutdown = Some(plan);
        }
        if first {
            // A turn whose end is on screen but not yet settled ended before the shutdown.
            if self.turn.is_some() && self.delivery.is_none() && self.settle.pending() {
                self.settle.clear();
                self.on_settled(now);
            }
            self.interrupt_pending(&cause.describe());
        }
        self.on_shutdown_deadlines(now);
        None
    }

    // ---- the admission rule -------------------------------------------------------------

    /// May a message that comes now go in? The one place that answers it.
    fn gate(&self) -> Gate {
        let state = self.state();
        let closed = |detail: String| Gate::Closed(ShimError::Unavailable { state, detail });
        if let Some(exit) = self.exit {
            return Gate::Closed(ShimError::AgentDead {
                exit_code: exit.code,
            });
        }
        if self.shutdown.is_some() {
            return closed("the agent is shutting down".to_owned());
        }
        if state == ShimState::ContextExhausted {
            return closed("its context window is full; start a new session".to_owned());
        }
        match &self.quota {
            Some(hold) if !self.signals.auto_resume => return closed(hold.reason()),
            Some(hold) => {
                return Gate::Wait {
                    held: Some(hold.reason()),
                };
            }
            None => {}
        }
        if let Some(reason) = self.writer_hold() {
            return Gate::Wait { held: Some(reason) };
        }
        // A question is open while AwaitingInput: text typed into a menu would pick its
        // options, so messages wait.
        if state != ShimState::Idle || self.delivery.is_some() {
            Gate::Wait { held: None }
        } else {
            Gate::Open
        }
    }

    /// Refuses a message larger than the shim's [`MessageLimits`].
    fn check_size(&self, message: &OutgoingMessage) -> Result<(), ShimError> {
        let limits = self.message_limits;
        let fields = [
            ("message body", message.body.len(), limits.max_body_bytes),
            ("message id", message.id.len(), limits.max_id_bytes),
            ("message `from`", message.from.len(), limits.max_id_bytes),
        ];
        match fields.into_iter().find(|(_, bytes, limit)| bytes > limit) {
            Some((what, bytes, limit)) => Err(ShimError::TooLarge {
                what: what.into(),
                bytes,
                limit,
            }),
            None => Ok(()),
        }
    }

    /// Whether a message with `id` is queued, being delivered, or its turn is in progress.
    fn is_pending(&self, id: &str) -> bool {
        self.queue.iter().any(|message| message.id == id)
            || self
                .delivery
                .as_ref()
                .is_some_and(|delivery| delivery.message.id == id)
            || self
                .turn
                .as_ref()
                .is_some_and(|turn| turn.message_id.as_deref() == Some(id))
    }

    fn deliver_next(&mut self, now: Instant) {
        if matches!(self.gate(), Gate::Open)
            && let Some(message) = self.queue.pop_front()
        {
            self.start_delivery(message, now);
        }
    }
}

/// Refuses a terminal size outside `1..=MAX_DIMENSION`.
fn check_dimensions(rows: u16, cols: u16) -> Result<(), ShimError> {
    let valid = 1..=MAX_DIMENSION;
    if valid.contains(&rows) && valid.contains(&cols) {
        Ok(())
    } else {
        Err(ShimError::InvalidArgument(format!(
            "rows and cols must be between 1 and {MAX_DIMENSION} (got {rows}x{cols})"
        )))
    }
}

// ---- small helpers ------------------------------------------------------------------------
impl ShimCore {
    fn emit(&mut self, event: Event) {
        self.effects.push_back(Effect::Emit(vec![event]));
    }

    fn emit_all(&mut self, events: Vec<Event>) {
        if !events.is_empty() {
            self.effects.push_back(Effect::Emit(events));
        }
    }

    fn fail(&mut self, message: OutgoingMessage, failure: DeliveryFailure, detail: &str) {
        tracing::info!(shim = %self.id, id = %Untrusted(&message.id), detail, "message failed");
        self.emit(Event::DeliveryFailed {
            id: message.id,
            reason: failure.reason(detail),
        });
    }

    fn fail_queued(&mut self, failure: DeliveryFailure, detail: &str) {
        for message in std::mem::take(&mut self.queue) {
            self.fail(message, failure, detail);
        }
    }

    /// Applies `input` to the state machine and emits `Ready`/`StateChanged` for the change.
    fn transition(&mut self, now: Instant, input: StateInput, summary: Option<String>) -> bool {
        let Some(change) = self.machine.apply(input, now) else {
            return false;
        };
        if change.first_ready {
            self.emit(Event::Ready);
        }
        let screen = self.screen.snapshot().last_lines(SUMMARY_LINES);
        let summary = summary.unwrap_or_else(|| screen.clone());
        tracing::info!(shim = %self.id, from = %change.from, to = %change.to, cause = %self.cause, "state changed");
        self.decisions.record(Decision {
            from: change.from,
            to: change.to,
            at: self.decisions.wall(now),
            cause: self.cause.clone(),
            verdict: self.verdict.take(),
            screen,
            last_output: self.decisions.wall(self.last_output),
            last_signal: self.last_signal.map(|at| self.decisions.wall(at)),
        });
        self.emit(Event::StateChanged {
            from: change.from,
            to: change.to,
            summary,
        });
        true
    }

    fn read_usage(&mut self, purpose: ReadPurpose, now: Instant) {
        self.usage.ask(purpose, now);
        self.effects.push_back(Effect::ReadUsage);
    }

    fn uptime(&self, now: Instant) -> Uptime {
        Uptime {
            output_bytes: self.output_bytes,
            uptime_secs: now.saturating_duration_since(self.started).as_secs(),
        }
    }

    fn check_input_allowed(&self) -> Result<(), ShimError> {
        if let Some(exit) = self.exit {
            return Err(ShimError::AgentDead {
                exit_code: exit.code,
            });
        }
        if self.shutdown.is_some() {
            return Err(ShimError::Unavailable {
                state: self.state(),
                detail: "the agent is shutting down".to_owned(),
            });
        }
        Ok(())
    }
}

//! What the core reports about the agent by itself, as `ShimCore` methods: the questions it
//! asks (`InputRequested`), the limits its turns show (a used-up quota, which holds messages
//! until its reset; rate limits; context pressure), and the watchdogs (working without output,
//! not ready in time, the periodic stats).

use super::*;

impl ShimCore {
    /// The classifier sees `question` on screen.
    pub(super) fn question_shown(&mut self, now: Instant, question: InputPrompt) {
        if self.questions.answer_in_progress(&question, now) {
            // Our answer is still being drawn: the agent is working on it.
            return;
        }
        self.questions.forget_answer();
        let entered = self.transition(now, StateInput::SawAwaitingInput, None);
        let awaiting = self.state() == ShimState::AwaitingInput;
        let asked_again = awaiting && self.questions.differs_from_open(&question);
        if entered && let Some(turn) = &self.turn {
            // A usage-limit menu or modal: the quota notice comes with the question.
            let lines = turn.lines(&mut self.screen, true);
            let quota = self
                .driver
                .limit_notices(&turn.view(&lines))
                .into_iter()
                .filter(|notice| matches!(notice, LimitNotice::Quota { .. }))
                .collect();
            self.report_limits(now, quota);
        }
        if entered || asked_again {
            tracing::info!(shim = %self.id, prompt = %Untrusted(&question.prompt), "input requested");
            self.emit(Event::InputRequested {
                prompt: question.prompt.clone(),
                options: question.options.clone(),
            });
        }
        if awaiting {
            self.questions.open(question);
        }
    }

    /// Acts on the limits a turn reported, in screen order.
    pub(super) fn report_limits(&mut self, now: Instant, notices: Vec<LimitNotice>) {
        for notice in notices {
            match notice {
                LimitNotice::Quota { message } => self.quota_blocked(now, message),
                LimitNotice::RateLimited { message } => self.emit(Event::Warning {
                    message: format!("rate limited: {message}"),
                    idle_secs: None,
                }),
                LimitNotice::ContextPressure { message } => {
                    let (input_tokens, output_tokens) = self.usage.token_totals();
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
    pub(super) fn quota_blocked(&mut self, now: Instant, message: String) {
        if self.quota.is_some() {
            return;
        }
        let wall = self.decisions.wall(now);
        let (hold, event) = QuotaHold::begin(message, now, wall, self.signals.unknown_reset_hold);
        tracing::info!(shim = %self.id, until = ?hold.until, "usage limit reached");
        self.emit(event);
        if !self.signals.auto_resume {
            let reason = hold.reason();
            self.fail_queued(DeliveryFailure::NotDelivered, &reason);
        }
        self.quota = Some(hold);
    }

    /// Past the reset time: report it and deliver what was held, in order.
    pub(super) fn on_quota_deadline(&mut self, now: Instant) {
        if self.quota.as_ref().is_none_or(|hold| now < hold.until) {
            return;
        }
        self.quota = None;
        let held_messages = u32::try_from(self.queue.len()).unwrap_or(u32::MAX);
        tracing::info!(shim = %self.id, held_messages, "usage limit reset");
        self.emit(Event::QuotaResumed { held_messages });
        self.deliver_next(now);
    }

    /// The stale and not-ready warnings and the periodic stats.
    pub(super) fn watchdogs(&mut self, now: Instant) {
        let state = self.state();
        if state == ShimState::Working
            && !self.stale_warned
            && now >= self.last_output + self.timing.stale_after
        {
            self.stale_warned = true;
            let idle_secs = now.duration_since(self.last_output).as_secs();
            self.emit(Event::Warning {
                message: format!("agent has been working without output for {idle_secs}s"),
                idle_secs: Some(idle_secs),
            });
        }
        if state == ShimState::Starting
            && !self.ready_warned
            && now >= self.started + self.timing.ready_timeout
        {
            self.ready_warned = true;
            self.emit(Event::Warning {
                message: format!(
                    "agent not ready after {}s: no prompt recognised yet",
                    self.timing.ready_timeout.as_secs()
                ),
                idle_secs: Some(now.saturating_duration_since(self.last_output).as_secs()),
            });
        }
        if let (Some(at), Some(every)) = (self.next_stats, self.timing.stats_interval)
            && now >= at
        {
            self.next_stats = Some(now + every);
            if self.usage.has_log() {
                self.read_usage(ReadPurpose::Refresh, now);
            } else {
                let events = self.usage.tick_without_log(self.uptime(now));
                self.emit_all(events);
            }
        }
    }
}

//! Message delivery and turn completion, as part of the shim actor.
//!
//! A message is delivered only to an idle agent, one at a time: it is typed (see `inject`),
//! its echo is awaited, the submit key is pressed once after the driver's pause, and the agent's
//! reaction to it confirms delivery (`MessageDelivered`, `Idle → Working`). Others wait in a
//! bounded FIFO queue. When the classifier next sees the agent idle, the turn's answer is cut
//! from the lines printed after the echo and emitted as `Completion`.

use tokio::time::Instant;

use super::ShimError;
use super::actor::ShimActor;
use super::classifier::{Observation, Verdict};
use super::handle::{OutgoingMessage, SendReceipt};
use super::inject::{sanitize_body, typing_bytes};
use super::screen::{SUMMARY_LINES, ScreenSnapshot, clip_to_frame};
use super::state::StateInput;
use super::turn::{PromptMark, Turn, TurnLines};
use crate::protocol::{Event, ShimState};
use crate::untrusted::Untrusted;

/// Where a message is on its way into the agent.
#[derive(Debug)]
enum Phase {
    /// Typed; waiting for the echo to arrive and settle.
    Typing { since: Instant, echo_seen: bool },
    /// The echo settled; the submit key is pressed at `at`.
    Pausing { at: Instant },
    /// The submit key was pressed; waiting for the agent to react.
    Submitted {
        at: Instant,
        before: ScreenSnapshot,
        echo_end_row: u64,
    },
}

/// The message being delivered.
#[derive(Debug)]
pub(super) struct Delivery {
    message: OutgoingMessage,
    phase: Phase,
    /// The turn this message starts (its echo end is known once submitted).
    turn: Turn,
}

impl ShimActor {
    /// Delivers now, queues, or refuses a new message.
    pub(super) fn accept_message(
        &mut self,
        message: OutgoingMessage,
    ) -> Result<SendReceipt, ShimError> {
        if let Some(exit_code) = self.exit_code_if_dead() {
            return Err(ShimError::AgentDead { exit_code });
        }
        let state = self.state();
        let refuse = |detail: &str| ShimError::Unavailable {
            state,
            detail: detail.to_owned(),
        };
        if self.shutting_down() {
            return Err(refuse("the agent is shutting down"));
        }
        if state == ShimState::ContextExhausted {
            return Err(refuse("its context window is full; start a new session"));
        }
        if let Some(hold) = &self.quota
            && !self.signals.auto_resume
        {
            return Err(refuse(&hold.reason()));
        }
        let id = message.id.clone();
        if self.ready_for_delivery() && self.queue.is_empty() {
            self.start_delivery(message, Instant::now());
            return Ok(SendReceipt { id, queued: false });
        }
        if self.queue.len() >= self.queue_capacity {
            return Err(ShimError::QueueFull {
                capacity: self.queue_capacity,
            });
        }
        if let Some(hold) = &self.quota {
            self.emit(Event::Warning {
                message: format!("message {id} held: {}", hold.reason()),
                idle_secs: None,
            });
        }
        self.queue.push_back(message);
        Ok(SendReceipt { id, queued: true })
    }

    fn start_delivery(&mut self, message: OutgoingMessage, now: Instant) {
        let clean = sanitize_body(&message.body);
        if clean.removed > 0 {
            tracing::warn!(shim = %self.id, id = %Untrusted(&message.id), removed = clean.removed,
                "control characters removed from message body");
        }
        tracing::info!(shim = %self.id, id = %Untrusted(&message.id), from = %Untrusted(&message.from), "delivering message");
        let snapshot = self.screen.snapshot();
        let start_row = self.turn_start_row(&snapshot);
        let turn = Turn {
            message_id: Some(message.id.clone()),
            message: Some(clean.text.clone()),
            start_row,
            echo_end_row: self.screen.cursor_absolute_row(),
            prompt: snapshot.cursor_line_split().0.to_owned(),
            clears_at_start: self.screen.clears(),
        };
        let keys = typing_bytes(&clean.text, self.screen.bracketed_paste());
        // Nothing typed half-way is classified: the settle window restarts with the echo.
        self.settle_at = None;
        self.unsettled_since = None;
        let phase = if keys.is_empty() {
            Phase::Pausing { at: now }
        } else {
            self.outbox.extend_from_slice(&keys);
            Phase::Typing {
                since: now,
                echo_seen: false,
            }
        };
        self.delivery = Some(Delivery {
            message,
            phase,
            turn,
        });
        self.on_delivery_deadline(now);
    }

    /// Notes output during typing: it is the echo.
    pub(super) fn output_arrived(&mut self, _now: Instant) {
        if let Some(Delivery {
            phase: Phase::Typing { echo_seen, .. },
            ..
        }) = &mut self.delivery
        {
            *echo_seen = true;
        }
    }

    /// Output has paused: move the delivery on, or classify the screen.
    pub(super) fn on_settled(&mut self, now: Instant) {
        match self.delivery.as_ref().map(|d| &d.phase) {
            Some(Phase::Typing {
                echo_seen: true, ..
            }) => self.finish_typing(now),
            Some(Phase::Submitted { before, .. })
                if self.driver.accepted(before, &self.screen.snapshot()) =>
            {
                self.confirm_delivery(now);
            }
            Some(_) => {}
            None => self.classify(now),
        }
    }

    pub(super) fn delivery_deadline(&self) -> Option<Instant> {
        Some(match self.delivery.as_ref()?.phase {
            Phase::Typing { since, .. } => since + self.timing.echo_timeout,
            Phase::Pausing { at } => at,
            Phase::Submitted { at, .. } => at + self.timing.accept_timeout,
        })
    }

    pub(super) fn on_delivery_deadline(&mut self, now: Instant) {
        if self.delivery_deadline().is_none_or(|at| now < at) {
            return;
        }
        match self.delivery.as_ref().map(|d| &d.phase) {
            // No echo in time: submit anyway.
            Some(Phase::Typing { .. }) => self.finish_typing(now),
            Some(Phase::Pausing { .. }) => self.submit(now),
            Some(Phase::Submitted { .. }) => {
                let waited = self.timing.accept_timeout;
                if let Some(delivery) = self.delivery.take() {
                    self.emit(Event::DeliveryFailed {
                        id: delivery.message.id,
                        reason: format!(
                            "the agent did not react to the submitted message within {:.1}s",
                            waited.as_secs_f64()
                        ),
                    });
                }
                self.classify(now);
            }
            None => {}
        }
    }

    fn finish_typing(&mut self, now: Instant) {
        if let Some(delivery) = &mut self.delivery {
            delivery.phase = Phase::Pausing {
                at: now + self.driver.submit_pause(),
            };
        }
        self.on_delivery_deadline(now);
    }

    fn submit(&mut self, now: Instant) {
        let echo_end_row = self.screen.cursor_absolute_row();
        let before = self.screen.snapshot();
        if let Some(delivery) = &mut self.delivery {
            self.outbox.extend_from_slice(self.driver.submit_key());
            delivery.phase = Phase::Submitted {
                at: now,
                before,
                echo_end_row,
            };
        }
    }

    fn confirm_delivery(&mut self, now: Instant) {
        let Some(Delivery {
            message,
            phase: Phase::Submitted { echo_end_row, .. },
            turn,
        }) = self.delivery.take()
        else {
            return;
        };
        self.emit(Event::MessageDelivered { id: message.id });
        self.turn = Some(Turn {
            echo_end_row,
            ..turn
        });
        self.transition(StateInput::Delivered, None);
        // A fast command may already be done: classify the same screen.
        self.classify(now);
    }

    /// Classifies the settled screen and acts on the verdict.
    fn classify(&mut self, now: Instant) {
        if self.exit_code_if_dead().is_some() {
            return;
        }
        let snapshot = self.screen.snapshot();
        let turn_lines = match &self.turn {
            Some(turn) => turn.lines(&mut self.screen, true),
            None => TurnLines::default(),
        };
        let verdict = self.driver.classify(&Observation {
            screen: &snapshot,
            turn: self.turn.as_ref().map(|turn| turn.view(&turn_lines)),
            quiet_for: now.duration_since(self.last_output),
        });
        if !matches!(verdict, Verdict::AwaitingInput(_)) {
            self.no_question_shown();
        }
        let was = self.state();
        match verdict {
            Verdict::Idle => {
                if self.transition(StateInput::SawIdle, None)
                    && matches!(was, ShimState::Working | ShimState::AwaitingInput)
                {
                    self.complete_turn(&snapshot);
                }
                self.prompt_mark = PromptMark {
                    row: self.turn_start_row(&snapshot),
                    text: snapshot.cursor_line_split().0.to_owned(),
                    clears: self.screen.clears(),
                };
                self.deliver_next(now);
            }
            Verdict::Working => {
                if self.transition(StateInput::SawWorking, None) && was == ShimState::Idle {
                    // The agent got busy without a message of ours (typed by a person, or a
                    // job of its own): its output since the last prompt is the turn.
                    self.turn = Some(Turn::unprompted(&self.prompt_mark));
                }
            }
            Verdict::ContextExhausted { message } => {
                if self.transition(StateInput::SawContextExhausted, None) {
                    if let Some(turn) = self.turn.take() {
                        // A compaction that did not help comes before the exhaustion.
                        self.refresh_usage();
                        let lines = turn.lines(&mut self.screen, false);
                        self.report_limits(self.driver.limit_notices(&turn.view(&lines)));
                    }
                    self.emit(Event::ContextExhausted {
                        message,
                        last_lines: snapshot.last_lines(SUMMARY_LINES),
                    });
                    self.fail_pending("the agent's context window is full");
                }
            }
            Verdict::AwaitingInput(question) => self.question_shown(question, now),
        }
    }

    /// The absolute row where a turn beginning on `snapshot` starts, as the driver sees it.
    fn turn_start_row(&self, snapshot: &ScreenSnapshot) -> u64 {
        let above_cursor = snapshot
            .cursor_row
            .saturating_sub(self.driver.turn_start_row(snapshot));
        self.screen.cursor_absolute_row() - u64::from(above_cursor)
    }

    fn complete_turn(&mut self, snapshot: &ScreenSnapshot) {
        let Some(mut turn) = self.turn.take() else {
            return;
        };
        let mut lines = turn.lines(&mut self.screen, false);
        if self.driver.turn_repainted(&turn.view(&lines)) {
            turn = turn.read_from_screen_top(&self.screen);
            lines = turn.lines(&mut self.screen, false);
        }
        let view = turn.view(&lines);
        self.refresh_usage();
        self.report_limits(self.driver.limit_notices(&view));
        let response = self.driver.extract_response(&view);
        self.emit(Event::Completion {
            message_id: turn.message_id,
            response: clip_to_frame(response),
            last_lines: snapshot.last_lines(SUMMARY_LINES),
        });
        self.usage_after_turn(Instant::now());
    }

    /// Idle, nothing in flight (text typed into a menu would pick options: a question makes
    /// the state `AwaitingInput`) and no usage limit holding messages.
    fn ready_for_delivery(&self) -> bool {
        self.state() == ShimState::Idle && !self.delivery_in_flight() && self.quota.is_none()
    }

    /// A message is being typed or submitted.
    pub(super) fn delivery_in_flight(&self) -> bool {
        self.delivery.is_some()
    }

    pub(super) fn deliver_next(&mut self, now: Instant) {
        if self.ready_for_delivery()
            && !self.shutting_down()
            && let Some(message) = self.queue.pop_front()
        {
            self.start_delivery(message, now);
        }
    }

    /// Fails the message in flight and every queued one with `reason`.
    pub(super) fn fail_pending(&mut self, reason: &str) {
        let in_flight = self.delivery.take().map(|d| d.message);
        let queued = self.queue.take_all();
        for message in in_flight.into_iter().chain(queued) {
            self.emit(Event::DeliveryFailed {
                id: message.id,
                reason: reason.to_owned(),
            });
        }
    }
}

//! How a message goes into the agent and its turn comes out, as `ShimCore` methods: start the
//! delivery (type, or submit at once), follow its phases (echo, submit pause, submit key,
//! confirmation), classify the settled screen with the driver, and end the turn with its
//! `Completion` (cut from the lines after the echo, with `CommandExited` and
//! `ResponseTruncated` before it when there is one).

use super::*;

impl ShimCore {
    pub(super) fn start_delivery(&mut self, message: OutgoingMessage, now: Instant) {
        tracing::info!(shim = %self.id, id = %Untrusted(&message.id), from = %Untrusted(&message.from), "delivering message");
        let snapshot = self.screen.snapshot();
        let turn = Turn {
            message_id: Some(message.id.clone()),
            message: Some(message.body.clone()),
            start_row: self.turn_start_row(&snapshot),
            echo_end_row: self.screen.cursor_absolute_row(),
            prompt: snapshot.cursor_line_split().0.to_owned(),
            clears_at_start: self.screen.clears(),
        };
        let bracketed = self.screen.bracketed_paste();
        let keys = typing_bytes(&message.body, bracketed);
        // Nothing typed half-way is classified: the settle window restarts with the echo.
        self.settle.clear();
        self.marks.turn_started();
        let at_once = self.turn_signals
            && !keys.is_empty()
            && (bracketed || !message.body.contains('\n'))
            && self.driver.submit_with_text(self.marks.integrated());
        self.outbox.extend_from_slice(&keys);
        if at_once {
            // The program's `C` mark confirms it read the line: no echo to wait for.
            let echo_end_row = self.screen.cursor_absolute_row();
            self.outbox.extend_from_slice(self.driver.submit_key());
            let delivery = Delivery::submitted(message, turn, now, snapshot, echo_end_row);
            self.delivery = Some(delivery);
            return;
        }
        let typed = !keys.is_empty();
        self.delivery = Some(Delivery::new(message, turn, now, typed, bracketed));
        self.on_delivery_deadline(now);
    }

    /// Output has paused: move the delivery on, or classify the screen.
    pub(super) fn on_settled(&mut self, now: Instant) {
        let Some(delivery) = &self.delivery else {
            self.classify(now);
            return;
        };
        match &delivery.phase {
            Phase::Typing {
                echo_seen: true, ..
            } => self.finish_typing(now),
            Phase::Submitted { before, .. }
                if self.driver.accepted(before, &self.screen.snapshot()) =>
            {
                self.confirm_delivery(now);
            }
            _ => {}
        }
    }

    pub(super) fn on_delivery_deadline(&mut self, now: Instant) {
        let Some(delivery) = &self.delivery else {
            return;
        };
        if now < delivery.deadline(&self.timing) {
            return;
        }
        match delivery.phase {
            // No echo in time: submit anyway.
            Phase::Typing { .. } => self.finish_typing(now),
            Phase::Pausing { .. } => self.submit(now),
            Phase::Submitted { .. } => {
                let waited = self.timing.accept_timeout.as_secs_f64();
                if let Some(delivery) = self.delivery.take() {
                    self.fail(
                        delivery.message,
                        DeliveryFailure::Unconfirmed,
                        &format!(
                            "the agent did not react to the submitted message within {waited:.1}s"
                        ),
                    );
                }
                self.classify(now);
            }
        }
    }

    pub(super) fn finish_typing(&mut self, now: Instant) {
        if let Some(delivery) = &mut self.delivery {
            delivery.phase = Phase::Pausing {
                at: now + self.driver.submit_pause(),
            };
        }
        self.on_delivery_deadline(now);
    }

    pub(super) fn submit(&mut self, now: Instant) {
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

    pub(super) fn confirm_delivery(&mut self, now: Instant) {
        let Some(delivery) = self.delivery.take() else {
            return;
        };
        let Phase::Submitted { echo_end_row, .. } = delivery.phase else {
            self.delivery = Some(delivery);
            return;
        };
        self.emit(Event::MessageDelivered {
            id: delivery.message.id,
        });
        self.turn = Some(Turn {
            echo_end_row,
            ..delivery.turn
        });
        self.transition(now, StateInput::Delivered, None);
        // A fast command may already be done: classify the same screen.
        self.classify(now);
    }

    /// Classifies the settled screen and acts on the verdict.
    pub(super) fn classify(&mut self, now: Instant) {
        if self.exit.is_some() {
            return;
        }
        let snapshot = self.screen.snapshot();
        let lines = self.turn_lines(true);
        let quiet = now.saturating_duration_since(self.last_output);
        let verdict = self.driver.classify(&Observation {
            screen: &snapshot,
            turn: self.turn.as_ref().map(|turn| turn.view(&lines)),
            quiet_for: quiet,
            marks: self.marks.view(),
        });
        self.verdict = Some(verdict.label());
        if !matches!(verdict, Verdict::AwaitingInput(_)) {
            self.questions.clear();
        }
        let was = self.state();
        match verdict {
            Verdict::Idle if was == ShimState::Starting && quiet < self.driver.ready_quiet() => {
                self.ready_check = Some(self.last_output + self.driver.ready_quiet());
            }
            Verdict::Idle => {
                if self.transition(now, StateInput::SawIdle, None)
                    && matches!(was, ShimState::Working | ShimState::AwaitingInput)
                {
                    self.complete_turn(now, &snapshot);
                }
                self.prompt_mark = PromptMark {
                    row: self.turn_start_row(&snapshot),
                    text: snapshot.cursor_line_split().0.to_owned(),
                    clears: self.screen.clears(),
                };
                self.deliver_next(now);
            }
            Verdict::Working => {
                if self.transition(now, StateInput::SawWorking, None)
                    && was == ShimState::Idle
                    && self.shutdown.is_none()
                {
                    // The agent got busy without a message of ours (typed by a person, or a
                    // job of its own): its output since the last prompt is the turn.
                    self.turn = Some(Turn::unprompted(&self.prompt_mark));
                }
            }
            Verdict::ContextExhausted { message } => {
                if self.transition(now, StateInput::SawContextExhausted, None) {
                    if let Some(turn) = self.turn.take() {
                        let lines = turn.lines(&mut self.screen, false);
                        let view = turn.view(&lines);
                        // A compaction that did not help comes before the exhaustion.
                        let notices = self.driver.limit_notices(&view);
                        let partial_response = self.driver.partial_response(&view);
                        self.report_limits(now, notices);
                        self.emit(Event::TurnInterrupted {
                            message_id: turn.message_id,
                            reason: format!("the agent's context window is full: {message}"),
                            partial_response: clip_to_frame(partial_response).0,
                        });
                    }
                    self.emit(Event::ContextExhausted {
                        message,
                        last_lines: snapshot.last_lines(SUMMARY_LINES),
                    });
                    self.fail_queued(
                        DeliveryFailure::NotDelivered,
                        "the agent's context window is full",
                    );
                }
            }
            Verdict::AwaitingInput(question) => self.question_shown(now, question),
        }
    }

    /// The absolute row where a turn beginning on `snapshot` starts, as the driver sees it.
    pub(super) fn turn_start_row(&self, snapshot: &ScreenSnapshot) -> u64 {
        let above_cursor = snapshot
            .cursor_row
            .saturating_sub(self.driver.turn_start_row(snapshot));
        self.screen.cursor_absolute_row() - u64::from(above_cursor)
    }

    /// The current turn's lines (none without a turn). When the agent repainted its screen so
    /// that the rows where the turn began no longer hold it (the driver tells), the turn is
    /// read from the top of the screen from now on.
    pub(super) fn turn_lines(&mut self, for_classifier: bool) -> TurnLines {
        let Some(turn) = &self.turn else {
            return TurnLines::default();
        };
        let lines = turn.lines(&mut self.screen, for_classifier);
        if !self.driver.turn_repainted(&turn.view(&lines)) {
            return lines;
        }
        let anchored = turn.read_from_screen_top(&self.screen);
        let lines = anchored.lines(&mut self.screen, for_classifier);
        self.turn = Some(anchored);
        lines
    }

    pub(super) fn complete_turn(&mut self, now: Instant, snapshot: &ScreenSnapshot) {
        let mut lines = self.turn_lines(false);
        let Some(turn) = self.turn.take() else {
            return;
        };
        if let Some((start, end)) = self.marks.output_span() {
            lines.marked_output = Some(self.screen.lines_before(start, end).join("\n"));
        }
        let view = turn.view(&lines);
        let notices = self.driver.limit_notices(&view);
        let response = self.driver.extract_response(&view);
        self.report_limits(now, notices);
        let lines_lost = self
            .screen
            .oldest_retained_row()
            .saturating_sub(turn.start_row);
        let (response, bytes_omitted) = clip_to_frame(response);
        let mut events = Vec::new();
        if let Some(exit_code) = self.marks.exit_code() {
            events.push(Event::CommandExited {
                message_id: turn.message_id.clone(),
                exit_code,
            });
        }
        if lines_lost > 0 || bytes_omitted > 0 {
            tracing::info!(shim = %self.id, lines_lost, bytes_omitted, "response truncated");
            events.push(Event::ResponseTruncated {
                message_id: turn.message_id.clone(),
                lines_lost,
                bytes_omitted: bytes_omitted as u64,
            });
        }
        events.push(Event::Completion {
            message_id: turn.message_id,
            response,
            last_lines: snapshot.last_lines(SUMMARY_LINES),
        });
        self.effects.push_back(Effect::Emit(events));
        if self.usage.has_log() {
            self.read_usage(ReadPurpose::AfterTurn, now);
        } else {
            let events = self.usage.turn_without_log(self.uptime(now));
            self.emit_all(events);
        }
    }
}

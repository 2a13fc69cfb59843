//! The end of the agent's life, as `ShimCore` methods: the staged shutdown's steps when they
//! are due, everything in flight ended when the agent goes away (the turn interrupted, the
//! message being delivered and the queued ones failed), and the death announced.

use super::*;

impl ShimCore {
    pub(super) fn on_shutdown_deadlines(&mut self, now: Instant) {
        let Some(plan) = self.shutdown.as_mut() else {
            return;
        };
        let steps = plan.due(now);
        if let Some(keys) = steps.keys {
            self.outbox.extend_from_slice(keys);
        }
        for signal in steps.signals {
            self.effects.push_back(Effect::Signal(signal));
        }
    }

    /// Ends everything in flight because the agent is going away (`cause`): the turn in
    /// progress is interrupted, the message being delivered and the queued ones fail.
    pub(super) fn interrupt_pending(&mut self, cause: &str) {
        if let Some(turn) = self.turn.take() {
            let lines = turn.lines(&mut self.screen, false);
            let partial_response = self.driver.partial_response(&turn.view(&lines));
            tracing::info!(shim = %self.id, id = %Untrusted(turn.message_id.as_deref().unwrap_or("")), cause, "turn interrupted");
            self.emit(Event::TurnInterrupted {
                message_id: turn.message_id,
                reason: cause.to_owned(),
                partial_response: clip_to_frame(partial_response).0,
            });
        }
        if let Some(delivery) = self.delivery.take() {
            let failure = delivery.failure();
            let detail = match failure {
                DeliveryFailure::NotDelivered => {
                    format!("{cause} before the message was submitted")
                }
                DeliveryFailure::Unconfirmed => {
                    format!("{cause} after the message was submitted, before the agent took it")
                }
            };
            self.fail(delivery.message, failure, &detail);
        }
        self.fail_queued(
            DeliveryFailure::NotDelivered,
            &format!("{cause} before the message's turn came"),
        );
    }

    /// Emits `StateChanged`/`Died` after ending what was in flight, and reports the exit.
    pub(super) fn announce_death(&mut self, now: Instant, mut exit: Exit) {
        self.cause = Cause::Exit;
        let code = exit.code.map_or("unknown".to_owned(), |c| c.to_string());
        let cause = match &self.shutdown {
            Some(plan) => plan.cause.describe(),
            None => "agent exited".to_owned(),
        };
        self.interrupt_pending(&format!("{cause} (exit code {code})"));
        exit.announced = true;
        self.exit = Some(exit);
        self.settle.clear();
        self.shutdown = None;
        let last_lines = self.screen.snapshot().last_lines(SUMMARY_LINES);
        let summary = format!("{cause}, exit code {code}\n{last_lines}");
        self.transition(now, StateInput::Exited, Some(summary));
        self.emit(Event::Died {
            exit_code: exit.code,
            last_lines,
        });
        self.effects.push_back(Effect::Finished {
            exit_code: exit.code,
        });
    }
}

//! Sending a message and waiting for its answer: the subscription starts before the message is
//! sent, so the outcome cannot slip by, and the wait ends with the message's terminal event
//! (see [`crate::protocol::outcome`]): its `Completion`, its `TurnInterrupted` or its
//! `DeliveryFailed`.

use super::error::{DeliveryRefused, ShimError};
use super::events::LogItem;
use super::handle::{SendReceipt, ShimHandle};
use crate::protocol::Event;

/// The answer to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub receipt: SendReceipt,
    pub response: String,
    pub last_lines: String,
    /// `(lines_lost, bytes_omitted)` when the response is not the whole answer (the
    /// `ResponseTruncated` before the Completion).
    pub truncated: Option<(u64, u64)>,
    /// The command's exit code, when the program reported it (`CommandExited`).
    pub exit_code: Option<i32>,
}

impl ShimHandle {
    /// Sends a message and waits for its Completion. Dropping the future stops waiting (the
    /// message itself stays delivered or queued).
    pub async fn send_and_wait(
        &self,
        from: impl Into<String>,
        body: impl Into<String>,
        message_id: Option<String>,
    ) -> Result<Answer, DeliveryRefused> {
        let mut events = self.subscribe(self.event_log().last_seq());
        let receipt = self.send_message(from, body, message_id).await?;
        let refused = |reason: String| DeliveryRefused {
            id: receipt.id.clone(),
            error: ShimError::NotAnswered(reason),
        };
        let ours = |id: &Option<String>| id.as_deref() == Some(receipt.id.as_str());
        let mut truncated = None;
        let mut exit_code = None;
        while let Some(item) = events.next().await {
            let envelope = match item {
                LogItem::Event(envelope) => envelope,
                LogItem::Gap {
                    first_lost,
                    last_lost,
                } => {
                    return Err(refused(format!(
                        "events {first_lost}..={last_lost} were evicted while waiting; \
                         the answer may be among them"
                    )));
                }
            };
            match &envelope.event {
                Event::ResponseTruncated {
                    message_id,
                    lines_lost,
                    bytes_omitted,
                } if ours(message_id) => truncated = Some((*lines_lost, *bytes_omitted)),
                Event::CommandExited {
                    message_id,
                    exit_code: code,
                } if ours(message_id) => exit_code = Some(*code),
                Event::Completion {
                    message_id,
                    response,
                    last_lines,
                } if ours(message_id) => {
                    return Ok(Answer {
                        receipt,
                        response: response.clone(),
                        last_lines: last_lines.clone(),
                        truncated,
                        exit_code,
                    });
                }
                Event::TurnInterrupted {
                    message_id, reason, ..
                } if ours(message_id) => {
                    return Err(refused(format!("its turn was interrupted: {reason}")));
                }
                Event::DeliveryFailed { id, reason } if *id == receipt.id => {
                    return Err(refused(reason.clone()));
                }
                // The terminal event of every message comes before `Died`; this one is a
                // safety net for a shim that ended some other way.
                Event::Died { exit_code, .. } => {
                    let error = ShimError::AgentDead {
                        exit_code: *exit_code,
                    };
                    return Err(refused(format!("{error} before answering")));
                }
                _ => {}
            }
        }
        Err(refused("the event log was closed".to_owned()))
    }
}

//! Sending a message and waiting for its answer: the subscription starts before the message is
//! sent, so the Completion cannot slip by, and the wait ends with the first event that decides
//! the message's fate (its Completion, its DeliveryFailed, the agent's death or context limit).

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
                Event::Completion {
                    message_id: Some(id),
                    response,
                    last_lines,
                } if *id == receipt.id => {
                    return Ok(Answer {
                        receipt,
                        response: response.clone(),
                        last_lines: last_lines.clone(),
                    });
                }
                Event::DeliveryFailed { id, reason } if *id == receipt.id => {
                    return Err(refused(reason.clone()));
                }
                Event::Died { exit_code, .. } => {
                    let error = ShimError::AgentDead {
                        exit_code: *exit_code,
                    };
                    return Err(refused(format!("{error} before answering")));
                }
                Event::ContextExhausted { message, .. } => {
                    return Err(refused(format!("context window exhausted: {message}")));
                }
                _ => {}
            }
        }
        Err(refused("the event log was closed".to_owned()))
    }
}

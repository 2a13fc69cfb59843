//! What becomes of a message, as the events tell it (not part of the seed contract, which has
//! the events but not these rules).
//!
//! Every message a shim accepted ends in exactly one terminal event that names its id:
//! - `Completion { message_id }`: the agent answered it;
//! - `TurnInterrupted { message_id }`: the agent took it, then the turn was cut off (the agent
//!   died or was killed or shut down, or its context filled up), with the partial output;
//! - `DeliveryFailed { id, reason }`: the agent never confirmed taking it. The reason starts
//!   with `not delivered:` when the message certainly did not run (the submit key was never
//!   pressed), and with `unconfirmed:` when it may have run (the submit key was pressed, or a
//!   newline typed outside a bracketed paste, but the agent's reaction was never seen). A
//!   client may retry a `not delivered` message; an `unconfirmed` one may run twice if it does.
//!
//! A `DeliveryFailed` answering a `SendMessage` that was refused outright (full queue, dead
//! agent, bad input) means the message was never accepted.

/// How sure the shim is that a failed message did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The message certainly did not reach the agent.
    NotDelivered,
    /// The message may have reached the agent; its delivery could not be confirmed.
    Unconfirmed,
}

impl DeliveryFailure {
    const NOT_DELIVERED: &'static str = "not delivered: ";
    const UNCONFIRMED: &'static str = "unconfirmed: ";

    /// The `DeliveryFailed.reason` for this failure, explained by `detail`.
    pub fn reason(self, detail: &str) -> String {
        let prefix = match self {
            Self::NotDelivered => Self::NOT_DELIVERED,
            Self::Unconfirmed => Self::UNCONFIRMED,
        };
        format!("{prefix}{detail}")
    }

    /// The failure a `DeliveryFailed.reason` states (`None` for a reason without the prefix).
    pub fn of(reason: &str) -> Option<Self> {
        if reason.starts_with(Self::NOT_DELIVERED) {
            Some(Self::NotDelivered)
        } else if reason.starts_with(Self::UNCONFIRMED) {
            Some(Self::Unconfirmed)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for failure in [DeliveryFailure::NotDelivered, DeliveryFailure::Unconfirmed] {
            assert_eq!(DeliveryFailure::of(&failure.reason("why")), Some(failure));
        }
        assert_eq!(
            DeliveryFailure::Unconfirmed.reason("the agent died"),
            "unconfirmed: the agent died"
        );
        assert_eq!(DeliveryFailure::of("queue full"), None);
    }
}

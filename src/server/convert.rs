//! Conversions between the domain (protocol events, shim states, shim errors) and the
//! generated protobuf types, and the one place where errors become gRPC statuses
//! (DESIGN rule 5).

use std::sync::Arc;

use prost_types::Timestamp;
use tonic::{Code, Status};

use super::ServiceError;
use crate::protocol::outcome::DeliveryFailure;
use crate::protocol::{Event, ShimState, ShutdownReason};
use crate::rpc::{self, event_envelope::Event as Pb};
use crate::shim::ShimError;
use crate::shim::core::Explanation;
use crate::shim::events::{Envelope, EventLog, LogItem};
use crate::unix_time::timestamp;

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let code = match &error {
            ServiceError::NotFound(_) => Code::NotFound,
            ServiceError::AlreadyExists(_) => Code::AlreadyExists,
            ServiceError::ResourceExhausted(_) => Code::ResourceExhausted,
            ServiceError::InvalidArgument(_) => Code::InvalidArgument,
            ServiceError::PermissionDenied(_) => Code::PermissionDenied,
            ServiceError::Unauthenticated(_) => Code::Unauthenticated,
            ServiceError::Unavailable(_) => Code::Unavailable,
            ServiceError::Launch(_) => Code::Internal,
            ServiceError::Shim(shim) => match shim {
                ShimError::InvalidArgument(_) | ShimError::TooLarge { .. } => Code::InvalidArgument,
                ShimError::QueueFull { .. } => Code::ResourceExhausted,
                ShimError::DuplicateMessage(_) => Code::AlreadyExists,
                ShimError::OutOfFiles { .. } => Code::ResourceExhausted,
                ShimError::Spawn { .. }
                | ShimError::AgentDead { .. }
                | ShimError::Unavailable { .. }
                | ShimError::NotAnswered(_) => Code::FailedPrecondition,
                ShimError::ShimGone | ShimError::LinkLost(_) => Code::Unavailable,
                ShimError::Pty(_) => Code::Internal,
            },
        };
        Status::new(code, error.to_string())
    }
}

pub fn state_to_proto(state: ShimState) -> rpc::ShimState {
    match state {
        ShimState::Starting => rpc::ShimState::Starting,
        ShimState::Idle => rpc::ShimState::Idle,
        ShimState::Working => rpc::ShimState::Working,
        ShimState::Dead => rpc::ShimState::Dead,
        ShimState::ContextExhausted => rpc::ShimState::ContextExhausted,
        ShimState::AwaitingInput => rpc::ShimState::AwaitingInput,
    }
}

pub fn explanation_to_proto(explanation: Explanation) -> rpc::ExplainResponse {
    rpc::ExplainResponse {
        state: state_to_proto(explanation.state).into(),
        since_ms: explanation.since.as_millis() as u64,
        marks_seen: explanation.marks_seen,
        decisions: explanation
            .decisions
            .into_iter()
            .map(|decision| {
                let record = decision.into_record();
                rpc::Decision {
                    from_state: state_to_proto(record.from).into(),
                    to_state: state_to_proto(record.to).into(),
                    decided_at: Some(timestamp(record.unix_ms)),
                    cause: record.cause,
                    verdict: record.verdict,
                    screen: record.screen,
                    last_output_at: Some(timestamp(record.last_output_unix_ms)),
                    last_signal_at: record.last_signal_unix_ms.map(timestamp),
                }
            })
            .collect(),
    }
}

/// The seed's reason for a proto reason (unspecified or unknown values mean `requested`).
pub fn reason_from_proto(value: i32) -> ShutdownReason {
    match rpc::ShutdownReason::try_from(value).unwrap_or_default() {
        rpc::ShutdownReason::Unspecified | rpc::ShutdownReason::Requested => {
            ShutdownReason::Requested
        }
        rpc::ShutdownReason::RestartHandoff => ShutdownReason::RestartHandoff,
        rpc::ShutdownReason::ContextExhausted => ShutdownReason::ContextExhausted,
        rpc::ShutdownReason::TopologyChange => ShutdownReason::TopologyChange,
        rpc::ShutdownReason::DaemonStop => ShutdownReason::DaemonStop,
    }
}

pub fn completion_to_proto(
    message_id: Option<String>,
    response: String,
    last_lines: String,
) -> rpc::Completion {
    rpc::Completion {
        message_id,
        response,
        last_lines,
        truncated: None,
        exit_code: None,
    }
}

/// Converts the log items of one stream in order. The events that describe a Completion
/// (`CommandExited`, `ResponseTruncated`) are appended right before it, in one emission of the
/// shim, so the Completion gets them as its fields too.
#[derive(Debug, Default)]
pub struct StreamConverter {
    /// The shim whose describing events were just converted, and what they said.
    pending: Option<(Arc<str>, CompletionNotes)>,
}

/// What the events right before a Completion say about it.
#[derive(Debug, Default, Clone)]
struct CompletionNotes {
    message_id: Option<String>,
    truncated: Option<rpc::ResponseTruncated>,
    exit_code: Option<i32>,
}

impl StreamConverter {
    /// A converter for a stream that starts after `after_seq`: the events that describe a
    /// Completion may be at or just before the cursor (a client resuming right after a
    /// `CommandExited`), so they are read again, without being sent, for the Completion that
    /// follows to carry them.
    pub fn resuming(log: &EventLog, after_seq: u64) -> Self {
        let mut converter = Self::default();
        // A Completion is preceded by at most two describing events, in one emission.
        for envelope in log.retained(after_seq.saturating_sub(1), after_seq) {
            converter.convert(&LogItem::Event(envelope));
        }
        converter
    }

    pub fn convert(&mut self, item: &LogItem) -> rpc::EventEnvelope {
        let mut envelope = log_item_to_proto(item);
        let pending = self.pending.take();
        let LogItem::Event(logged) = item else {
            return envelope;
        };
        let same_shim = pending.filter(|(shim, _)| *shim == logged.shim_id);
        let notes = |message_id: &Option<String>| {
            same_shim
                .clone()
                .map(|(_, notes)| notes)
                .filter(|notes| notes.message_id == *message_id)
                .unwrap_or_else(|| CompletionNotes {
                    message_id: message_id.clone(),
                    ..CompletionNotes::default()
                })
        };
        match &mut envelope.event {
            Some(Pb::ResponseTruncated(truncated)) => {
                let mut kept = notes(&truncated.message_id);
                kept.truncated = Some(truncated.clone());
                self.pending = Some((Arc::clone(&logged.shim_id), kept));
            }
            Some(Pb::CommandExited(exited)) => {
                let mut kept = notes(&exited.message_id);
                kept.exit_code = Some(exited.exit_code);
                self.pending = Some((Arc::clone(&logged.shim_id), kept));
            }
            Some(Pb::Completion(completion)) => {
                let kept = notes(&completion.message_id);
                completion.truncated = kept.truncated;
                completion.exit_code = kept.exit_code;
            }
            _ => {}
        }
        envelope
    }
}

/// A log item as it goes on the wire.
pub fn log_item_to_proto(item: &LogItem) -> rpc::EventEnvelope {
    match item {
        LogItem::Event(envelope) => envelope_to_proto(envelope),
        LogItem::Gap {
            first_lost,
            last_lost,
        } => rpc::EventEnvelope {
            seq: *last_lost,
            shim_id: String::new(),
            recorded_at: None,
            shim_seq: 0,
            event: Some(Pb::EventsLost(rpc::EventsLost {
                first_seq: *first_lost,
                last_seq: *last_lost,
            })),
        },
    }
}

pub fn envelope_to_proto(envelope: &Envelope) -> rpc::EventEnvelope {
    rpc::EventEnvelope {
        seq: envelope.seq,
        shim_id: envelope.shim_id.to_string(),
        recorded_at: Some(timestamp(envelope.unix_ms)),
        shim_seq: envelope.shim_seq,
        event: event_to_proto(envelope.event.clone()),
    }
}

/// A field's value as the wire carries it, and back: protocol states are proto enums, small
/// numbers are wider on the wire, the rest is the same.
trait Wire<P>: Sized {
    fn to_wire(self) -> P;
    fn from_wire(wire: P) -> Self;
}

impl<T> Wire<T> for T {
    fn to_wire(self) -> T {
        self
    }
    fn from_wire(wire: T) -> Self {
        wire
    }
}

impl Wire<i32> for ShimState {
    fn to_wire(self) -> i32 {
        state_to_proto(self).into()
    }
    fn from_wire(wire: i32) -> Self {
        state_from_proto(wire)
    }
}

impl Wire<u32> for u8 {
    fn to_wire(self) -> u32 {
        self.into()
    }
    fn from_wire(wire: u32) -> Self {
        wire.try_into().unwrap_or(u8::MAX)
    }
}

impl Wire<u32> for u16 {
    fn to_wire(self) -> u32 {
        self.into()
    }
    fn from_wire(wire: u32) -> Self {
        wire.try_into().unwrap_or(u16::MAX)
    }
}

impl Wire<Option<u32>> for Option<u8> {
    fn to_wire(self) -> Option<u32> {
        self.map(u32::from)
    }
    fn from_wire(wire: Option<u32>) -> Self {
        wire.map(u8::from_wire)
    }
}

/// A time in seconds since the Unix epoch (the protocol's reset times) is a timestamp on the
/// wire.
impl Wire<Option<Timestamp>> for Option<u64> {
    fn to_wire(self) -> Option<Timestamp> {
        self.map(|epoch_secs| crate::unix_time::timestamp(epoch_secs.saturating_mul(1000)))
    }
    fn from_wire(wire: Option<Timestamp>) -> Self {
        wire.map(|at| crate::unix_time::timestamp_unix_ms(Some(&at)) / 1000)
    }
}

/// The protocol state of a proto state (unknown values read as `starting`).
pub fn state_from_proto(value: i32) -> ShimState {
    match rpc::ShimState::try_from(value).unwrap_or_default() {
        rpc::ShimState::Unspecified | rpc::ShimState::Starting => ShimState::Starting,
        rpc::ShimState::Idle => ShimState::Idle,
        rpc::ShimState::Working => ShimState::Working,
        rpc::ShimState::Dead => ShimState::Dead,
        rpc::ShimState::ContextExhausted => ShimState::ContextExhausted,
        rpc::ShimState::AwaitingInput => ShimState::AwaitingInput,
    }
}

/// The field of proto message `$message` that carries protocol field `$field`: the one of the
/// same name, or `$wire` where the list of events names another.
macro_rules! wire_field {
    ($message:ident, $field:ident) => {
        $message.$field
    };
    ($message:ident, $field:ident => $wire:ident) => {
        $message.$wire
    };
}

macro_rules! impl_event_conversions {
    ($($variant:ident { $($field:ident $(=> $wire:ident)?),* }),* $(,)?) => {
        /// One proto message per protocol event, with the same fields (named as the list of
        /// events says; proto-only fields at their defaults, but `DeliveryFailed.unconfirmed`,
        /// which its reason states); `None` for a frame of the link to a shim process or of an
        /// attachment, which no log holds.
        #[allow(clippy::field_reassign_with_default)] // fields are set one by one, by name
        pub fn event_to_proto(event: Event) -> Option<Pb> {
            let mut wire = match event {
                $(Event::$variant { $($field),* } => {
                    let mut _message = rpc::$variant::default();
                    $(wire_field!(_message, $field $(=> $wire)?) = Wire::to_wire($field);)*
                    Pb::$variant(_message)
                })*
                $crate::connection_frames!() => return None,
            };
            if let Pb::DeliveryFailed(failed) = &mut wire {
                failed.unconfirmed =
                    DeliveryFailure::of(&failed.reason) == Some(DeliveryFailure::Unconfirmed);
            }
            Some(wire)
        }

        /// The protocol event of a proto one (`None` for what only the gRPC stream has: a
        /// report of lost events).
        pub fn event_from_proto(wire: Pb) -> Option<Event> {
            match wire {
                $(Pb::$variant(_message) => Some(Event::$variant {
                    $($field: Wire::from_wire(wire_field!(_message, $field $(=> $wire)?)),)*
                }),)*
                Pb::EventsLost(_) => None,
            }
        }
    };
}

crate::for_each_event!(impl_event_conversions);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shim_error_has_its_status_code() {
        let code = |error: ShimError| Status::from(ServiceError::Shim(error)).code();
        assert_eq!(
            code(ShimError::QueueFull { capacity: 16 }),
            Code::ResourceExhausted
        );
        assert_eq!(
            code(ShimError::AgentDead { exit_code: Some(3) }),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(ShimError::InvalidArgument("x".into())),
            Code::InvalidArgument
        );
        let not_found = Status::from(ServiceError::NotFound("abc".into()));
        assert_eq!(not_found.code(), Code::NotFound);
        assert!(not_found.message().contains("abc"));
    }

    #[test]
    fn unknown_shutdown_reasons_mean_requested() {
        assert_eq!(reason_from_proto(0), ShutdownReason::Requested);
        assert_eq!(reason_from_proto(99), ShutdownReason::Requested);
        assert_eq!(reason_from_proto(5), ShutdownReason::DaemonStop);
    }

    #[test]
    fn gaps_become_events_lost() {
        let item = LogItem::Gap {
            first_lost: 3,
            last_lost: 9,
        };
        let envelope = log_item_to_proto(&item);
        assert_eq!(envelope.seq, 9);
        assert!(matches!(
            envelope.event,
            Some(Pb::EventsLost(rpc::EventsLost {
                first_seq: 3,
                last_seq: 9
            }))
        ));
    }
}

//! The one error type of shim operations, with variants a caller can act on (the gRPC layer
//! maps each to a status code in one place), and its form on a link to a shim process
//! ([`CallError`]), which keeps the variant and what it says.

use std::borrow::Cow;

use crate::protocol::ShimState;
use crate::protocol::link::CallError;
use crate::untrusted::Untrusted;

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The process has no file descriptor left for another agent (its PTY and pipes).
    #[error(
        "no file descriptors left for another agent: this process may open {limit} files \
         (RLIMIT_NOFILE); stop some shims or raise the limit"
    )]
    OutOfFiles { limit: u64 },
    /// The agent program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A request carried a value the shim cannot use.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The agent has exited; only captures and state queries still work.
    #[error("agent is dead (exit code {})", exit_code.map_or("unknown".to_owned(), |c| c.to_string()))]
    AgentDead { exit_code: Option<i32> },
    /// The agent is in a state that refuses the request (context exhausted, shutting down).
    #[error("agent is {state}: {detail}")]
    Unavailable { state: ShimState, detail: String },
    /// A message with this id is already queued, being delivered or being answered.
    #[error("a message with id {} is already queued or in progress; ids must be unique", Untrusted(.0))]
    DuplicateMessage(String),
    /// A value is larger than the shim accepts (`what` names it, and the setting).
    #[error("{what} is {bytes} bytes, over the limit of {limit}")]
    TooLarge {
        what: Cow<'static, str>,
        bytes: usize,
        limit: usize,
    },
    /// The message queue is full.
    #[error("message queue is full ({capacity} messages waiting); retry after a Completion")]
    QueueFull { capacity: usize },
    /// A message was accepted but will not be answered (the reason says why).
    #[error("message not answered: {0}")]
    NotAnswered(String),
    /// The shim's actor has ended (its agent is gone and every handle but this one dropped).
    #[error("shim has shut down")]
    ShimGone,
    /// The PTY failed.
    #[error("pty error: {0}")]
    Pty(#[source] std::io::Error),
    /// The shim runs in another process and its link to it failed (the reason says how).
    #[error("the link to the shim process failed: {0}")]
    LinkLost(String),
}

/// A message the shim refused, with the id it was (or would have been) known by.
#[derive(Debug, thiserror::Error)]
#[error("message {id} refused: {error}")]
pub struct DeliveryRefused {
    pub id: String,
    #[source]
    pub error: ShimError,
}

impl From<ShimError> for CallError {
    fn from(error: ShimError) -> Self {
        match error {
            ShimError::OutOfFiles { limit } => Self::OutOfFiles { limit },
            ShimError::Spawn { program, source } => Self::Spawn {
                program,
                reason: source.to_string(),
            },
            ShimError::InvalidArgument(detail) => Self::InvalidArgument { detail },
            ShimError::AgentDead { exit_code } => Self::AgentDead { exit_code },
            ShimError::Unavailable { state, detail } => Self::Unavailable { state, detail },
            ShimError::DuplicateMessage(id) => Self::DuplicateMessage { id },
            ShimError::TooLarge { what, bytes, limit } => Self::TooLarge {
                what: what.into_owned(),
                bytes,
                limit,
            },
            ShimError::QueueFull { capacity } => Self::QueueFull { capacity },
            ShimError::NotAnswered(detail) => Self::NotAnswered { detail },
            ShimError::ShimGone => Self::ShimGone,
            ShimError::Pty(source) => Self::Pty {
                reason: source.to_string(),
            },
            ShimError::LinkLost(reason) => Self::LinkLost { reason },
        }
    }
}

impl From<CallError> for ShimError {
    /// The error a shim process reported; the causes of I/O errors come back as their text.
    fn from(error: CallError) -> Self {
        match error {
            CallError::OutOfFiles { limit } => Self::OutOfFiles { limit },
            CallError::Spawn { program, reason } => Self::Spawn {
                program,
                source: std::io::Error::other(reason),
            },
            CallError::InvalidArgument { detail } => Self::InvalidArgument(detail),
            CallError::AgentDead { exit_code } => Self::AgentDead { exit_code },
            CallError::Unavailable { state, detail } => Self::Unavailable { state, detail },
            CallError::DuplicateMessage { id } => Self::DuplicateMessage(id),
            CallError::TooLarge { what, bytes, limit } => Self::TooLarge {
                what: what.into(),
                bytes,
                limit,
            },
            CallError::QueueFull { capacity } => Self::QueueFull { capacity },
            CallError::NotAnswered { detail } => Self::NotAnswered(detail),
            CallError::ShimGone => Self::ShimGone,
            CallError::Pty { reason } => Self::Pty(std::io::Error::other(reason)),
            CallError::LinkLost { reason } => Self::LinkLost(reason),
        }
    }
}

//! The one error type of shim operations, with variants a caller can act on (the gRPC layer
//! maps each to a status code in one place).

use crate::protocol::ShimState;
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
        what: &'static str,
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
}

/// A message the shim refused, with the id it was (or would have been) known by.
#[derive(Debug, thiserror::Error)]
#[error("message {id} refused: {error}")]
pub struct DeliveryRefused {
    pub id: String,
    #[source]
    pub error: ShimError,
}

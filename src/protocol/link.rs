//! The link: what a program that hosts shim processes (the server) speaks to each of them on
//! top of the seed protocol, as new variants only (DESIGN §2).
//!
//! A client turns its connection into a link with [`Command::Link`], naming the last event it
//! already has (`after_seq`, in the shim's own sequence). The shim answers
//! [`Event::Linked`] and from then on sends every event of its log wrapped in
//! [`Event::Logged`] with its sequence number and time, in order from `after_seq + 1`, and a
//! range it no longer holds as [`Event::EventsLost`]. Because the sequence belongs to the shim,
//! a host that restarts and links again from its last seq misses nothing and repeats nothing.
//!
//! [`Command::Call`] is a request with an id; its answer is the [`Event::Reply`] with the same
//! id, carrying a typed [`CallReply`] (a refusal included, as a [`CallError`] a host can map to
//! its own errors). Calls run concurrently, so their replies may come in any order.
//!
//! From version 2 on, the shim also sends its status as [`Event::Status`] whenever it changes,
//! and each `Reply` names the status version that holds what its call did. A host may answer a
//! status lookup from the newest status it got while that status is current: its
//! `last_event_seq` is the newest event the host has, and its version is at least the version
//! of every reply the host has. Then the answer agrees with every event and every reply a
//! client of the host has seen, without a round trip to a shim process that may be busy.
//!
//! [`LINK_VERSION`] grows by one whenever a variant is added here; a shim answers with its own
//! version, and a host drives every version up to its own (the link is additive: a newer host
//! never needs what an older shim lacks to run what that shim already does).
//!
//! [`Command::Link`]: super::Command::Link
//! [`Command::Call`]: super::Command::Call
//! [`Event::Linked`]: super::Event::Linked
//! [`Event::Logged`]: super::Event::Logged
//! [`Event::EventsLost`]: super::Event::EventsLost
//! [`Event::Reply`]: super::Event::Reply
//! [`Event::Status`]: super::Event::Status

use serde::{Deserialize, Serialize};

use super::{ShimState, ShutdownReason};

/// The version of the link this build speaks.
pub const LINK_VERSION: u32 = 2;

/// A request to the shim, sent as `Command::Call` and answered by one `Event::Reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// Deliver a message now, or queue it; answered by `Sent` (or a refusal).
    Send {
        message_id: String,
        from: String,
        body: String,
    },
    /// The screen, or with `include_scrollback` the history above it too; with
    /// `last_n_lines` only that many trailing lines. Answered by `Captured`.
    Capture {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_n_lines: Option<usize>,
        include_scrollback: bool,
    },
    /// Answered by `Status`.
    Status,
    /// Answered by `Done`.
    Resize { rows: u16, cols: u16 },
    /// Ask the agent to exit, then SIGTERM, then SIGKILL at the timeout; answered by `Exited`
    /// once it is gone.
    Shutdown {
        timeout_ms: u64,
        reason: ShutdownReason,
    },
    /// SIGKILL the agent's session; answered by `Exited`.
    Kill,
    /// Answered by `Done` when the shim's actor answers.
    Ping,
    /// Pick option `option` (1-based) of the question asked; answered by `Answered`.
    Answer { option: u32 },
    /// Type raw input with named keys; answered by `Done`.
    SendKeys { keys: String },
    /// Answered by `Explained`.
    Explain,
}

impl Call {
    /// The call's wire name (the `call` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Send { .. } => "send",
            Self::Capture { .. } => "capture",
            Self::Status => "status",
            Self::Resize { .. } => "resize",
            Self::Shutdown { .. } => "shutdown",
            Self::Kill => "kill",
            Self::Ping => "ping",
            Self::Answer { .. } => "answer",
            Self::SendKeys { .. } => "send_keys",
            Self::Explain => "explain",
        }
    }
}

/// The answer to a [`Call`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum CallReply {
    /// The message was accepted: typed at once (`queued` false) or queued.
    Sent {
        id: String,
        queued: bool,
        /// What was removed from the body before typing, if anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        removed: Option<String>,
    },
    Captured {
        content: String,
        cursor_row: u16,
        cursor_col: u16,
        rows: u16,
        cols: u16,
    },
    Status {
        state: ShimState,
        since_ms: u64,
        pid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        queued_messages: usize,
        /// Seq of the newest event the shim emitted (0 if none).
        last_event_seq: u64,
    },
    /// The agent is gone, with its exit code.
    Exited {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    /// The text of the option picked.
    Answered { text: String },
    Explained {
        state: ShimState,
        since_ms: u64,
        marks_seen: bool,
        decisions: Vec<DecisionRecord>,
    },
    /// Done, nothing to tell.
    Done,
    /// The call was refused or failed.
    Failed { error: CallError },
}

impl CallReply {
    /// The reply's wire name (the `reply` tag).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sent { .. } => "sent",
            Self::Captured { .. } => "captured",
            Self::Status { .. } => "status",
            Self::Exited { .. } => "exited",
            Self::Answered { .. } => "answered",
            Self::Explained { .. } => "explained",
            Self::Done => "done",
            Self::Failed { .. } => "failed",
        }
    }
}

/// What a shim process started by a host (`agentshim shim --announce`) prints on its stdout,
/// as one line of JSON, before it serves: that its socket listens (so the host links at
/// once, never polling for the socket), or why its agent could not start, as the error a
/// call would have failed with. Nothing else is ever written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "started", rename_all = "snake_case")]
pub enum StartReport {
    /// The socket listens; `pid` is the agent's.
    Listening {
        pid: u32,
    },
    Failed {
        error: CallError,
    },
}

/// What `Explain` reports (the framed `Event::Explanation`): the state, how long it has
/// lasted, whether the agent's own turn marks (OSC 133) were seen, and the last state changes
/// with their evidence, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplanationRecord {
    pub state: ShimState,
    pub since_ms: u64,
    pub marks_seen: bool,
    pub decisions: Vec<DecisionRecord>,
}

/// One state change of a shim and its evidence, as `Explain` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub from: ShimState,
    pub to: ShimState,
    pub unix_ms: u64,
    /// What decided it, described.
    pub cause: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    pub screen: String,
    pub last_output_unix_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_signal_unix_ms: Option<u64>,
}

/// Why a call failed: one variant per error a host acts on differently, with what it needs
/// to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum CallError {
    OutOfFiles {
        limit: u64,
    },
    Spawn {
        program: String,
        reason: String,
    },
    InvalidArgument {
        detail: String,
    },
    AgentDead {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
    },
    Unavailable {
        state: ShimState,
        detail: String,
    },
    DuplicateMessage {
        id: String,
    },
    TooLarge {
        what: String,
        bytes: usize,
        limit: usize,
    },
    QueueFull {
        capacity: usize,
    },
    NotAnswered {
        detail: String,
    },
    ShimGone,
    Pty {
        reason: String,
    },
    /// The shim answering is itself linked to another process, and that link failed.
    LinkLost {
        reason: String,
    },
}

//! The wire contract our first customer speaks (the seed contract, kept verbatim in
//! `tests/contract/seed_protocol.rs`; `docs/PROTOCOL.md` is its reference): commands in, events
//! out, each frame a 4-byte big-endian length followed by JSON, at most [`MAX_FRAME_LEN`] bytes.
//!
//! Every public item, variant, field and serde attribute below is the customer's and stays
//! exactly as it is; new capability arrives as new variants only. [`Channel`] is the blocking
//! client side; [`codec::JsonFrameCodec`] speaks the same bytes on tokio.

pub mod attach;
pub mod codec;
pub mod link;
pub mod outcome;

/// Largest JSON payload of one frame, in bytes (the length prefix not included).
pub const MAX_FRAME_LEN: usize = 1_048_576;

use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum Command {
    SendMessage {
        from: String,
        body: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
    },
    CaptureScreen {
        last_n_lines: Option<usize>,
    },
    GetState,
    Resize {
        rows: u16,
        cols: u16,
    },
    Shutdown {
        timeout_secs: u32,
        #[serde(default)]
        reason: ShutdownReason,
    },
    Kill,
    Ping,
    /// Picks choice `option` (1-based) of the question the agent is asking
    /// (`Event::InputRequested`), the way its CLI expects. Not part of the seed contract.
    Answer {
        option: u32,
    },
    /// Types raw input: text, with named keys such as `<Enter>`, `<Esc>`, `<Up>`, `<C-c>`
    /// (`<lt>` is a literal `<`). Not part of the seed contract.
    SendKeys {
        keys: String,
    },
    /// Turns this connection into a link ([`link`]): events from `after_seq + 1` on, each as
    /// `Event::Logged`, answered first by `Event::Linked`. Not part of the seed contract.
    Link {
        version: u32,
        after_seq: u64,
    },
    /// A request answered by the `Event::Reply` with the same `call_id` ([`link`]). Not part
    /// of the seed contract.
    Call {
        call_id: u64,
        call: link::Call,
    },
    /// Turns this connection into an attachment to the agent's terminal ([`attach`]),
    /// answered by `Event::Attached`; `rows` and `cols` are a writer's terminal size (none:
    /// keep the agent's). Not part of the seed contract.
    Attach {
        #[serde(default)]
        mode: attach::AttachMode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rows: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cols: Option<u16>,
    },
    /// On an attachment that writes: bytes typed into the agent's terminal as they are
    /// (`data` base64-encoded). Not part of the seed contract.
    TerminalInput {
        data: String,
    },
    /// Ends an attachment; answered by `Event::Detached`. Not part of the seed contract.
    Detach,
    /// Why the shim is in its state: answered by `Event::Explanation`. Not part of the seed
    /// contract.
    Explain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownReason {
    #[default]
    Requested,
    RestartHandoff,
    ContextExhausted,
    TopologyChange,
    DaemonStop,
}

impl ShutdownReason {
    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::RestartHandoff => "restart_handoff",
            Self::ContextExhausted => "context_exhausted",
            Self::TopologyChange => "topology_change",
            Self::DaemonStop => "daemon_stop",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum Event {
    Ready,
    StateChanged {
        from: ShimState,
        to: ShimState,
        summary: String,
    },
    MessageDelivered {
        id: String,
    },
    Completion {
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        response: String,
        last_lines: String,
    },
    Died {
        exit_code: Option<i32>,
        last_lines: String,
    },
    ContextExhausted {
        message: String,
        last_lines: String,
    },
    ContextWarning {
        model: Option<String>,
        output_bytes: u64,
        uptime_secs: u64,
        input_tokens: u64,
        cached_input_tokens: u64,
        cache_creation_input_tokens: u64,
        cache_read_input_tokens: u64,
        output_tokens: u64,
        reasoning_output_tokens: u64,
        used_tokens: u64,
        context_limit_tokens: u64,
        usage_pct: u8,
    },
    ContextApproaching {
        message: String,
        input_tokens: u64,
        output_tokens: u64,
    },
    QuotaBlocked {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at_epoch_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at_label: Option<String>,
    },
    ScreenCapture {
        content: String,
        cursor_row: u16,
        cursor_col: u16,
    },
    State {
        state: ShimState,
        since_secs: u64,
    },
    SessionStats {
        output_bytes: u64,
        uptime_secs: u64,
        #[serde(default)]
        input_tokens: u64,
        #[serde(default)]
        output_tokens: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context_usage_pct: Option<u8>,
    },
    Pong,
    Warning {
        message: String,
        idle_secs: Option<u64>,
    },
    DeliveryFailed {
        id: String,
        reason: String,
    },
    Error {
        command: String,
        reason: String,
    },
    /// The agent asks a question and waits (a permission prompt, a menu): the question as
    /// shown and its choices in order, without their numbering. Answer with
    /// `Command::Answer`. Not part of the seed contract.
    InputRequested {
        prompt: String,
        options: Vec<String>,
    },
    /// The usage limit reported by `QuotaBlocked` is over: `held_messages` messages kept while
    /// blocked are delivered now, in order. Not part of the seed contract.
    QuotaResumed {
        held_messages: u32,
    },
    /// A message was accepted and waits in the shim's queue (the agent is busy, asking a
    /// question, or held by a usage limit); `position` 1 is next. Messages typed at once get
    /// no such event. Not part of the seed contract.
    MessageQueued {
        id: String,
        position: u32,
    },
    /// A message the agent took, whose turn was cut off before it answered: the agent died or
    /// was killed or shut down, or its context filled up (`reason` says which). Carries what
    /// the agent had printed for it so far. Its message's terminal event, as `Completion` is
    /// for an answered one (see [`outcome`]). Not part of the seed contract.
    TurnInterrupted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        reason: String,
        partial_response: String,
    },
    /// The command of the `Completion` that immediately follows (same `message_id`) exited
    /// with `exit_code`, as the program reported it (a shell with semantic prompt marks). Not
    /// part of the seed contract.
    CommandExited {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        exit_code: i32,
    },
    /// The `Completion` that immediately follows (same `message_id`) does not hold the whole
    /// answer: `lines_lost` rows of the turn (the echo of the message included) scrolled out
    /// of the retained history before it ended (the response then starts later than the
    /// answer did), and `bytes_omitted` bytes were cut
    /// from its start to fit a frame. Not part of the seed contract.
    ResponseTruncated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        lines_lost: u64,
        bytes_omitted: u64,
    },
    /// The answer to `Command::Link`: the shim's link version, its agent's pid and the seq
    /// of its newest event. Not part of the seed contract.
    Linked {
        version: u32,
        shim_id: String,
        pid: u32,
        last_seq: u64,
    },
    /// An event of the shim's log, on a link: its seq in the shim's own sequence and the time
    /// it was emitted (milliseconds since the Unix epoch). Not part of the seed contract.
    Logged {
        seq: u64,
        unix_ms: u64,
        emitted: Box<Event>,
    },
    /// On a link: events `first_lost..=last_lost` were evicted from the shim's log before
    /// they were sent. Not part of the seed contract.
    EventsLost {
        first_lost: u64,
        last_lost: u64,
    },
    /// The answer to the `Command::Call` with this `call_id`. From link version 2 on,
    /// `status_version` is the version of the shim's published status ([`Event::Status`])
    /// that holds what the call did: a host's cached status older than that is stale. Not
    /// part of the seed contract.
    Reply {
        call_id: u64,
        reply: link::CallReply,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status_version: Option<u64>,
    },
    /// On a link of version 2 or later: the shim's status, sent whenever it changes (state,
    /// queue, exit code, or the seq of the newest event emitted), numbered by `version`,
    /// which grows with each change. A host answers status lookups from the newest one while
    /// it is current ([`link`]), so a lookup never waits for a busy shim process.
    /// `entered_unix_ms` is when the state was entered (milliseconds since the Unix epoch).
    /// Not part of the seed contract.
    Status {
        version: u64,
        state: ShimState,
        entered_unix_ms: u64,
        pid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        queued_messages: usize,
        last_event_seq: u64,
    },
    /// The answer to `Command::Attach` ([`attach`]): whether this client is the writer, and
    /// the agent's terminal size. The screen follows as `TerminalOutput`. Not part of the seed
    /// contract.
    Attached {
        writer: bool,
        rows: u16,
        cols: u16,
    },
    /// On an attachment: bytes of the agent's terminal, base64-encoded. Not part of the seed
    /// contract.
    TerminalOutput {
        data: String,
    },
    /// On an attachment: the agent's terminal is now `rows`x`cols`. Not part of the seed
    /// contract.
    TerminalResized {
        rows: u16,
        cols: u16,
    },
    /// On an attachment: this client fell behind (`reason` says by how much); what it missed
    /// is skipped and the `TerminalOutput` that follows draws the screen again. Not part of
    /// the seed contract.
    TerminalRefreshed {
        reason: String,
    },
    /// On an attachment: this client is the writer now (`writer`) or no longer, and why (sent
    /// today when another client took over). Not part of the seed contract.
    WriterChanged {
        writer: bool,
        reason: String,
    },
    /// On an attachment, its last frame: why it ended. Not part of the seed contract.
    Detached {
        reason: String,
    },
    /// The answer to `Command::Explain`: the state, how long it has lasted, and the last
    /// state changes with their evidence (what decided each, the screen it read). Not part of
    /// the seed contract.
    Explanation {
        #[serde(flatten)]
        explanation: link::ExplanationRecord,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShimState {
    Starting,
    Idle,
    Working,
    Dead,
    ContextExhausted,
    /// Waiting for an answer to a question or menu (`Event::InputRequested`). Not part of the
    /// seed contract.
    AwaitingInput,
}

impl std::fmt::Display for ShimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Starting => write!(f, "starting"),
            Self::Idle => write!(f, "idle"),
            Self::Working => write!(f, "working"),
            Self::Dead => write!(f, "dead"),
            Self::ContextExhausted => write!(f, "context_exhausted"),
            Self::AwaitingInput => write!(f, "awaiting_input"),
        }
    }
}

pub struct Channel {
    stream: UnixStream,
    read_buf: Vec<u8>,
}

impl Channel {
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            read_buf: vec![0u8; 4096],
        }
    }

    pub fn send<T: Serialize>(&mut self, msg: &T) -> anyhow::Result<()> {
        let json = serde_json::to_vec(msg)?;
        if json.len() > MAX_FRAME_LEN {
            anyhow::bail!("message too large: {} bytes", json.len());
        }
        let len = (json.len() as u32).to_be_bytes();
        self.stream.write_all(&len)?;
        self.stream.write_all(&json)?;
        self.stream.flush()?;
        Ok(())
    }

    pub fn recv<T: for<'de> Deserialize<'de>>(&mut self) -> anyhow::Result<Option<T>> {
        let mut len_buf = [0u8; 4];
        match self.stream.read_exact(&mut len_buf) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let len = u32::from_be_bytes(len_buf) as usize;
        if len > MAX_FRAME_LEN {
            anyhow::bail!("incoming message too large: {} bytes", len);
        }
        if self.read_buf.len() < len {
            self.read_buf.resize(len, 0);
        }
        self.stream.read_exact(&mut self.read_buf[..len])?;
        let msg = serde_json::from_slice(&self.read_buf[..len])?;
        Ok(Some(msg))
    }

    pub fn set_read_timeout(&mut self, timeout: Option<std::time::Duration>) -> anyhow::Result<()> {
        self.stream.set_read_timeout(timeout)?;
        Ok(())
    }

    pub fn set_write_timeout(
        &mut self,
        timeout: Option<std::time::Duration>,
    ) -> anyhow::Result<()> {
        self.stream.set_write_timeout(timeout)?;
        Ok(())
    }

    pub fn try_clone(&self) -> anyhow::Result<Self> {
        Ok(Self {
            stream: self.stream.try_clone()?,
            read_buf: vec![0u8; 4096],
        })
    }
}

pub fn socketpair() -> anyhow::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    Ok((a, b))
}

impl Command {
    /// The command's wire name (the `cmd` tag), used in `Error { command }` events and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SendMessage { .. } => "SendMessage",
            Self::CaptureScreen { .. } => "CaptureScreen",
            Self::GetState => "GetState",
            Self::Resize { .. } => "Resize",
            Self::Shutdown { .. } => "Shutdown",
            Self::Kill => "Kill",
            Self::Ping => "Ping",
            Self::Answer { .. } => "Answer",
            Self::SendKeys { .. } => "SendKeys",
            Self::Link { .. } => "Link",
            Self::Call { .. } => "Call",
            Self::Attach { .. } => "Attach",
            Self::TerminalInput { .. } => "TerminalInput",
            Self::Detach => "Detach",
            Self::Explain => "Explain",
        }
    }
}

/// Calls `$callback!` with every [`Event`] variant a shim emits into its log and the names of
/// its fields (after `=>`, the gRPC field's name where it differs): the one list that
/// [`Event::name`] and the conversions to and from the gRPC types (`server::convert`) are made
/// from, so a variant missing here does not compile. The
/// link's frames ([`Event::is_link_frame`]) never enter a log and are not in it.
#[macro_export]
macro_rules! for_each_event {
    ($callback:ident) => {
        $callback! {
            Ready {},
            StateChanged { from => from_state, to => to_state, summary },
            MessageDelivered { id },
            Completion { message_id, response, last_lines },
            Died { exit_code, last_lines },
            ContextExhausted { message, last_lines },
            ContextWarning {
                model, output_bytes, uptime_secs, input_tokens, cached_input_tokens,
                cache_creation_input_tokens, cache_read_input_tokens, output_tokens,
                reasoning_output_tokens, used_tokens, context_limit_tokens, usage_pct
            },
            ContextApproaching { message, input_tokens, output_tokens },
            QuotaBlocked { message, retry_at_epoch_secs => retry_at, retry_at_label },
            ScreenCapture { content, cursor_row, cursor_col },
            State { state, since_secs },
            SessionStats { output_bytes, uptime_secs, input_tokens, output_tokens, context_usage_pct },
            Pong {},
            Warning { message, idle_secs },
            DeliveryFailed { id, reason },
            Error { command, reason },
            InputRequested { prompt, options },
            QuotaResumed { held_messages },
            TurnInterrupted { message_id, reason, partial_response },
            ResponseTruncated { message_id, lines_lost, bytes_omitted },
            MessageQueued { id, position },
            CommandExited { message_id, exit_code },
        }
    };
}

/// The pattern that matches every [`Event`] variant a connection carries rather than a log
/// holds and gRPC has no event of: the frames of a link ([`Event::is_link_frame`]) and of an
/// attachment ([`Event::is_attach_frame`]), and the `Explanation` that answers `Explain` (the
/// gRPC `Explain` has its own response). For the `match`es over every event that have nothing
/// to do with those frames.
#[macro_export]
macro_rules! connection_frames {
    () => {
        $crate::protocol::Event::Linked { .. }
            | $crate::protocol::Event::Logged { .. }
            | $crate::protocol::Event::EventsLost { .. }
            | $crate::protocol::Event::Reply { .. }
            | $crate::protocol::Event::Status { .. }
            | $crate::protocol::Event::Attached { .. }
            | $crate::protocol::Event::TerminalOutput { .. }
            | $crate::protocol::Event::TerminalResized { .. }
            | $crate::protocol::Event::TerminalRefreshed { .. }
            | $crate::protocol::Event::WriterChanged { .. }
            | $crate::protocol::Event::Detached { .. }
            | $crate::protocol::Event::Explanation { .. }
    };
}

macro_rules! impl_event_name {
    ($($variant:ident { $($field:ident $(=> $wire:ident)?),* }),* $(,)?) => {
        impl Event {
            /// The event's wire name (the `event` tag).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => stringify!($variant),)*
                    Self::Linked { .. } => "Linked",
                    Self::Logged { .. } => "Logged",
                    Self::EventsLost { .. } => "EventsLost",
                    Self::Reply { .. } => "Reply",
                    Self::Status { .. } => "Status",
                    Self::Attached { .. } => "Attached",
                    Self::TerminalOutput { .. } => "TerminalOutput",
                    Self::TerminalResized { .. } => "TerminalResized",
                    Self::TerminalRefreshed { .. } => "TerminalRefreshed",
                    Self::WriterChanged { .. } => "WriterChanged",
                    Self::Detached { .. } => "Detached",
                    Self::Explanation { .. } => "Explanation",
                }
            }
        }
    };
}

for_each_event!(impl_event_name);

impl Event {
    /// True for the frames of a link ([`link`]), which carry events or answers rather than
    /// being events of a shim.
    pub fn is_link_frame(&self) -> bool {
        matches!(
            self,
            Self::Linked { .. }
                | Self::Logged { .. }
                | Self::EventsLost { .. }
                | Self::Reply { .. }
                | Self::Status { .. }
        )
    }

    /// True for the frames of an attachment ([`attach`]), which carry a terminal rather
    /// than being events of a shim.
    pub fn is_attach_frame(&self) -> bool {
        matches!(
            self,
            Self::Attached { .. }
                | Self::TerminalOutput { .. }
                | Self::TerminalResized { .. }
                | Self::TerminalRefreshed { .. }
                | Self::WriterChanged { .. }
                | Self::Detached { .. }
        )
    }
}

//! `ShimHandle`: the only way to talk to a shim. It is cheap to clone and holds the sending end
//! of the actor's mailbox; every method sends one [`Request`] carrying a `oneshot` for the
//! reply, so callers never touch the PTY, the process or the screen themselves.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::attach::{Attachment, ClientId, Redraw, TerminalRequest};
use super::core::Explanation;
use super::error::{DeliveryRefused, ShimError};
use super::events::{EventLog, Subscription};
use super::screen::Capture;
use crate::protocol::attach::AttachMode;
use crate::protocol::{ShimState, ShutdownReason};

/// A message to deliver, with its id already assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub from: String,
    pub body: String,
}

/// What happened to an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub id: String,
    /// True when it waits behind other work; false when typing started at once.
    pub queued: bool,
    /// What was removed from the body before typing (escape sequences, controls), if any.
    pub removed: Option<String>,
}

/// The state and how long it has lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateReport {
    pub state: ShimState,
    pub since: Duration,
}

/// Facts about the running shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimStatus {
    pub state: StateReport,
    pub pid: u32,
    pub exit_code: Option<i32>,
    pub queued_messages: usize,
    /// Seq of the newest event this shim emitted (0 if none).
    pub last_event_seq: u64,
}

/// The shim's status as its actor published it when a step ended, numbered: what a link
/// sends its host ([`crate::protocol::Event::Status`]), so the host can answer a status
/// lookup without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedStatus {
    /// Grows by one with each change; 0 before the first.
    pub version: u64,
    pub state: ShimState,
    /// When the state was entered (the actor's clock, tokio's).
    pub entered: std::time::Instant,
    pub pid: u32,
    pub exit_code: Option<i32>,
    pub queued_messages: usize,
    /// Seq of the newest event the shim emitted (0 if none).
    pub last_event_seq: u64,
}

impl PublishedStatus {
    /// The same status, ignoring its number.
    pub fn same_as(&self, other: &Self) -> bool {
        Self {
            version: other.version,
            ..*self
        } == *other
    }
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, ShimError>>;

/// A request to the actor (or, for a shim in another process, to its link). Every variant
/// carries the sender of its reply.
#[derive(Debug)]
pub(crate) enum Request {
    Send {
        message: OutgoingMessage,
        reply: Reply<SendReceipt>,
    },
    Capture {
        last_n_lines: Option<usize>,
        include_scrollback: bool,
        reply: Reply<Capture>,
    },
    Status {
        reply: Reply<ShimStatus>,
    },
    Resize {
        rows: u16,
        cols: u16,
        reply: Reply<()>,
    },
    /// Replies with the exit code once the agent is gone.
    Shutdown {
        timeout: Duration,
        reason: ShutdownReason,
        reply: Reply<Option<i32>>,
    },
    /// Replies with the exit code once the agent is gone.
    Kill {
        reply: Reply<Option<i32>>,
    },
    Ping {
        reply: Reply<()>,
    },
    /// Replies with the text of the option picked.
    Answer {
        option: u32,
        reply: Reply<String>,
    },
    SendKeys {
        keys: String,
        reply: Reply<()>,
    },
    Explain {
        reply: Reply<Explanation>,
    },
}

impl Request {
    /// Answers the request with `error`, whatever it asked for.
    pub(crate) fn fail(self, error: ShimError) {
        // A caller that stopped waiting has nothing left to tell.
        match self {
            Self::Send { reply, .. } => drop(reply.send(Err(error))),
            Self::Capture { reply, .. } => drop(reply.send(Err(error))),
            Self::Status { reply } => drop(reply.send(Err(error))),
            Self::Resize { reply, .. } | Self::Ping { reply } | Self::SendKeys { reply, .. } => {
                drop(reply.send(Err(error)))
            }
            Self::Shutdown { reply, .. } | Self::Kill { reply } => drop(reply.send(Err(error))),
            Self::Answer { reply, .. } => drop(reply.send(Err(error))),
            Self::Explain { reply } => drop(reply.send(Err(error))),
        }
    }
}

/// A cloneable handle to one shim.
#[derive(Debug, Clone)]
pub struct ShimHandle {
    id: Arc<str>,
    /// Mailbox of the actor, which holds the receiving end.
    requests_tx: mpsc::Sender<Request>,
    /// The actor's mailbox for its shared terminal (`None`: the shim runs in another
    /// process, whose own socket takes attachments).
    terminal_tx: Option<mpsc::Sender<TerminalRequest>>,
    /// The status the actor publishes (`None`: the shim runs in another process).
    published: Option<watch::Receiver<PublishedStatus>>,
    events: Arc<EventLog>,
}

impl ShimHandle {
    /// A handle whose requests go to `requests_tx` (an actor, or a link to a shim process)
    /// and whose events are read from `events`.
    pub(crate) fn new(
        id: Arc<str>,
        requests_tx: mpsc::Sender<Request>,
        events: Arc<EventLog>,
    ) -> Self {
        Self {
            id,
            requests_tx,
            terminal_tx: None,
            published: None,
            events,
        }
    }

    /// The handle of an actor in this process, which shares its terminal through
    /// `terminal_tx` and publishes its status through `published`.
    pub(super) fn of_actor(
        id: Arc<str>,
        requests_tx: mpsc::Sender<Request>,
        terminal_tx: mpsc::Sender<TerminalRequest>,
        published: watch::Receiver<PublishedStatus>,
        events: Arc<EventLog>,
    ) -> Self {
        Self {
            terminal_tx: Some(terminal_tx),
            published: Some(published),
            ..Self::new(id, requests_tx, events)
        }
    }

    /// The status the shim's actor publishes at the end of each step that changed it (`None`
    /// for a shim in another process).
    pub fn published_status(&self) -> Option<watch::Receiver<PublishedStatus>> {
        self.published.clone()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The log this shim's events go to (possibly shared with other shims).
    pub fn event_log(&self) -> &Arc<EventLog> {
        &self.events
    }

    /// This shim's events with `seq > after_seq`.
    pub fn subscribe(&self, after_seq: u64) -> Subscription {
        self.events.subscribe(after_seq, Some(Arc::clone(&self.id)))
    }

    async fn call<T>(&self, request: impl FnOnce(Reply<T>) -> Request) -> Result<T, ShimError> {
        let (reply, response) = oneshot::channel();
        self.requests_tx
            .send(request(reply))
            .await
            .map_err(|_| ShimError::ShimGone)?;
        response.await.map_err(|_| ShimError::ShimGone)?
    }

    /// Delivers a message now when the agent is idle, or queues it. Without an id, a new one is
    /// generated; the receipt (or the refusal) carries the id either way.
    pub async fn send_message(
        &self,
        from: impl Into<String>,
        body: impl Into<String>,
        message_id: Option<String>,
    ) -> Result<SendReceipt, DeliveryRefused> {
        let message = OutgoingMessage {
            id: message_id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            from: from.into(),
            body: body.into(),
        };
        let id = message.id.clone();
        self.call(|reply| Request::Send { message, reply })
            .await
            .map_err(|error| DeliveryRefused { id, error })
    }

    /// The visible screen, or its last `last_n_lines` lines (reaching into the scrollback):
    /// what the protocol's `CaptureScreen` returns.
    pub async fn capture(&self, last_n_lines: Option<usize>) -> Result<Capture, ShimError> {
        self.capture_scope(last_n_lines, last_n_lines.is_some())
            .await
    }

    /// The visible screen, or with `include_scrollback` the scrollback above it too; with
    /// `last_n_lines`, only that many trailing lines.
    pub async fn capture_scope(
        &self,
        last_n_lines: Option<usize>,
        include_scrollback: bool,
    ) -> Result<Capture, ShimError> {
        self.call(|reply| Request::Capture {
            last_n_lines,
            include_scrollback,
            reply,
        })
        .await
    }

    pub async fn state(&self) -> Result<StateReport, ShimError> {
        Ok(self.status().await?.state)
    }

    pub async fn status(&self) -> Result<ShimStatus, ShimError> {
        self.call(|reply| Request::Status { reply }).await
    }

    /// Resizes the PTY and the screen.
    pub async fn resize(&self, rows: u16, cols: u16) -> Result<(), ShimError> {
        self.call(|reply| Request::Resize { rows, cols, reply })
            .await
    }

    /// Asks the agent to exit, then SIGTERM, then SIGKILL at `timeout`; returns its exit code.
    pub async fn shutdown(
        &self,
        timeout: Duration,
        reason: ShutdownReason,
    ) -> Result<Option<i32>, ShimError> {
        self.call(|reply| Request::Shutdown {
            timeout,
            reason,
            reply,
        })
        .await
    }

    /// SIGKILLs the agent's whole session; returns its exit code.
    pub async fn kill(&self) -> Result<Option<i32>, ShimError> {
        self.call(|reply| Request::Kill { reply }).await
    }

    /// Picks `option` (1-based) of the question the agent waits on (`InputRequested`), the
    /// way its CLI expects; returns the option's text.
    pub async fn answer(&self, option: u32) -> Result<String, ShimError> {
        self.call(|reply| Request::Answer { option, reply }).await
    }

    /// Types raw input: text with named keys such as `<Enter>`, `<Esc>`, `<Up>`, `<C-c>`.
    pub async fn send_keys(&self, keys: impl Into<String>) -> Result<(), ShimError> {
        let keys = keys.into();
        self.call(|reply| Request::SendKeys { keys, reply }).await
    }

    /// The state and the evidence of its last changes: what decided each (a signal, the
    /// settled screen, a request, a timer), the screen then, when output last came.
    pub async fn explain(&self) -> Result<Explanation, ShimError> {
        self.call(|reply| Request::Explain { reply }).await
    }

    /// Succeeds when the actor answers (proves it is alive and not stuck).
    pub async fn ping(&self) -> Result<(), ShimError> {
        self.call(|reply| Request::Ping { reply }).await
    }

    /// Attaches to the agent's terminal: the screen now and the output after it; with a
    /// writing `mode`, this client types and its terminal `size` (if any) sizes the agent's.
    pub async fn attach(
        &self,
        mode: AttachMode,
        size: Option<(u16, u16)>,
    ) -> Result<Attachment, ShimError> {
        self.terminal(|reply| TerminalRequest::Attach { mode, size, reply })
            .await?
    }

    /// The screen now and the output after it, for an attached client that fell behind.
    pub async fn redraw(&self) -> Result<Redraw, ShimError> {
        self.terminal(|reply| TerminalRequest::Redraw { reply })
            .await
    }

    /// Types `bytes` as the writer `client`.
    pub async fn type_as_writer(&self, client: ClientId, bytes: Vec<u8>) -> Result<(), ShimError> {
        self.terminal(|reply| TerminalRequest::Input {
            client,
            bytes,
            reply,
        })
        .await?
    }

    /// Sizes the agent's terminal as the writer `client`.
    pub async fn resize_as_writer(
        &self,
        client: ClientId,
        rows: u16,
        cols: u16,
    ) -> Result<(), ShimError> {
        self.terminal(|reply| TerminalRequest::Resize {
            client,
            rows,
            cols,
            reply,
        })
        .await?
    }

    /// Ends `client`'s attachment (a writer's ends its writing).
    pub async fn detach(&self, client: ClientId) {
        if let Some(terminal_tx) = &self.terminal_tx {
            let _ = terminal_tx.send(TerminalRequest::Detach { client }).await;
        }
    }

    async fn terminal<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<T>) -> TerminalRequest,
    ) -> Result<T, ShimError> {
        let Some(terminal_tx) = &self.terminal_tx else {
            return Err(ShimError::InvalidArgument(
                "this shim runs in a process of its own: attach through its socket".to_owned(),
            ));
        };
        let (reply, response) = oneshot::channel();
        terminal_tx
            .send(request(reply))
            .await
            .map_err(|_| ShimError::ShimGone)?;
        response.await.map_err(|_| ShimError::ShimGone)
    }
}

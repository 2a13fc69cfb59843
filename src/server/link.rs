//! The server side of the link to a shim process (the shim side is [`crate::frontend`]; the
//! frames are [`crate::protocol::link`]): [`link`] connects to a shim's socket, links from a
//! cursor in the shim's own sequence, and returns a [`ShimHandle`] that works as one in this
//! process would, while one task owns the connection.
//!
//! That task turns each request of the handle into a `Call` and its `Reply` back into the
//! request's answer, and appends every event the shim sends into the server's event log under
//! the shim's id, with the time the shim emitted it. Nothing is lost or repeated silently: an
//! event the link already has (a seq at or below its cursor) is dropped, and a seq that skips
//! ahead, or a range the shim says it evicted, is appended as a `Warning` naming the lost
//! range. The events that describe a Completion (`CommandExited`, `ResponseTruncated`) are
//! held back until it comes and appended with it, so they stay next to it in the server's log
//! as they were in the shim's. A status answer's `last_event_seq` (the shim's seq) is
//! translated into the server log's seq of that event, waiting for the event when the answer
//! overtook it; a kill or shutdown answer waits likewise for the agent's `Died`.
//!
//! A status lookup is answered without a call while the newest status the shim process
//! published (link version 2) is current: it names the newest event appended as its newest
//! event, and it is at least as new as every reply received. Then the answer agrees with
//! every event and answer a client has had, and a lookup never waits for a shim process the
//! machine is too busy to run (a burst of creates, say). Otherwise the lookup is a call: while
//! the shim's terminal is attached through this server ([`LinkedShim::attachment`]), whose
//! frames come on connections of their own, in no order with the link's; and while a call has
//! gone unanswered for [`UNANSWERED`] (or expired, and nothing came since), so a shim process
//! that is stuck is not vouched for. What the link knows of the status, and that rule, are
//! [`status`]'s.
//!
//! A call the shim process does not answer in time (it is stopped, or stuck) fails with
//! [`ShimError::LinkLost`] after [`CALL_TIMEOUT`] (a shutdown: after its own timeout plus
//! that), and the link stays: a shim that recovers answers the next call. The link ends when
//! every handle is dropped, or when the shim process closes the socket or breaks the protocol;
//! calls in flight then fail with [`ShimError::LinkLost`], and [`LinkedShim::ended`] says why.
//! A link that ends the second way before the agent's `Died` came appends a `Warning` with the
//! reason and a `Died` without an exit code: every stream and waiter learns the agent is gone.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::frontend::connection::events_lost_warning;
use crate::protocol::codec::{FrameError, JsonFrameCodec};
use crate::protocol::link::{Call, CallReply, LINK_VERSION};
use crate::protocol::{Command, Event};
use crate::shim::core::{Cause, Decision, Explanation};
use crate::shim::events::EventLog;
use crate::shim::handle::{Reply, Request};
use crate::shim::{Capture, SendReceipt, ShimError, ShimHandle, ShimStatus, StateReport};

mod status;

pub use status::{AttachmentGuard, UNANSWERED};
use status::{Attachments, StatusKnowledge};

/// How long a shim process may take to answer `Link`.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a shim process may take to answer a call (a shutdown: beyond its own timeout).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests a handle may have waiting for the link task.
const MAILBOX: usize = 64;

/// How many recent events keep their server seq, to translate a status answer's seq.
const KEPT_SEQS: usize = 1024;

/// Why a link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot connect to the shim process's socket: {0}")]
    Connect(#[source] std::io::Error),
    #[error("the shim process refused the link: {0}")]
    Refused(String),
    #[error("the shim process closed its socket before it linked")]
    Closed,
    #[error("the shim process did not link within {} s", LINK_TIMEOUT.as_secs())]
    Timeout,
    #[error("the link to the shim process failed: {0}")]
    Frame(#[from] FrameError),
}

/// A shim in another process, reached over its link.
#[derive(Debug)]
pub struct LinkedShim {
    pub handle: ShimHandle,
    /// The id the shim process knows itself by (from its spec).
    pub shim_id: String,
    /// The agent's pid, as the shim process reported it (0: never linked).
    pub pid: u32,
    /// The link version the shim process speaks (0: never linked).
    pub version: u32,
    /// The shim process's socket, where other connections (attachments) go (`None`: never
    /// linked).
    pub socket: Option<PathBuf>,
    /// The shim's seq of the newest event appended to the server's log.
    cursor: watch::Receiver<u64>,
    /// The server log's seq of the newest event the link appended.
    appended: watch::Receiver<u64>,
    /// Set once, to why the link ended.
    end: watch::Receiver<Option<String>>,
    /// Attachments to the shim's terminal open through this server.
    attachments: Attachments,
}

impl LinkedShim {
    /// A shim whose process was gone before it could be linked (`reason` says how): as a
    /// link that ended before its agent's `Died` came, the log gets a `Warning` with the
    /// reason and a `Died` without an exit code, and every call fails with
    /// [`ShimError::ShimGone`].
    pub fn lost(shim_id: Arc<str>, events: Arc<EventLog>, reason: &str) -> Self {
        let died_at = append_lost_agent(&events, &shim_id, reason);
        // No task reads the requests: every call finds the shim gone.
        let (requests, _) = mpsc::channel(1);
        Self {
            handle: ShimHandle::new(Arc::clone(&shim_id), requests, events),
            shim_id: shim_id.to_string(),
            pid: 0,
            version: 0,
            socket: None,
            cursor: watch::channel(0).1,
            appended: watch::channel(died_at).1,
            end: watch::channel(Some(reason.to_owned())).1,
            attachments: Attachments::default(),
        }
    }

    /// Counts an attachment to the shim's terminal until the guard is dropped: meanwhile its
    /// status lookups are calls, because what the attachment shows comes on its own
    /// connection, in no order with what the link has.
    pub fn attachment(&self) -> AttachmentGuard {
        self.attachments.attach()
    }

    /// The shim's seq of the newest event the link appended (where a new link resumes).
    pub fn cursor(&self) -> u64 {
        *self.cursor.borrow()
    }

    /// The server log's seq of the newest event the link appended (0: none yet).
    pub fn last_appended(&self) -> u64 {
        *self.appended.borrow()
    }

    /// Resolves with why the link ended.
    pub async fn ended(&self) -> String {
        self.ending().await
    }

    /// [`Self::ended`], as a future that borrows nothing (for a task of its own).
    pub fn ending(&self) -> impl Future<Output = String> + Send + 'static {
        let mut end = self.end.clone();
        async move {
            match end.wait_for(Option::is_some).await {
                Ok(reason) => reason.clone().unwrap_or_default(),
                Err(_) => "the link task ended".to_owned(),
            }
        }
    }
}

type Frames = FramedRead<OwnedReadHalf, JsonFrameCodec<Event>>;

/// Links to the shim process listening on `socket`, from the event after `after_seq` (in the
/// shim's sequence), appending its events to `events` under `shim_id`.
pub async fn link(
    socket: &Path,
    shim_id: Arc<str>,
    events: Arc<EventLog>,
    after_seq: u64,
) -> Result<LinkedShim, LinkError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(LinkError::Connect)?;
    let (read_half, write_half) = stream.into_split();
    let mut frames = FramedRead::new(read_half, JsonFrameCodec::<Event>::new());
    let mut commands = FramedWrite::new(write_half, JsonFrameCodec::<Event>::new());
    commands
        .send(&Command::Link {
            version: LINK_VERSION,
            after_seq,
        })
        .await?;
    let (
        Linked {
            version,
            pid,
            shim_id: own_id,
        },
        first_frame,
    ) = tokio::time::timeout(LINK_TIMEOUT, async {
        let linked = linked(&mut frames).await?;
        let first_frame = match linked.version {
            1 => None,
            _ => next_frame(&mut frames).await?,
        };
        Ok::<_, LinkError>((linked, first_frame))
    })
    .await
    .map_err(|_| LinkError::Timeout)??;
    let (requests_tx, requests) = mpsc::channel(MAILBOX);
    let (cursor_tx, cursor) = watch::channel(after_seq);
    let (appended_tx, appended) = watch::channel(0);
    let (end_tx, end) = watch::channel(None);
    let (calls_tx, calls) = mpsc::unbounded_channel();
    let attachments = Attachments::default();
    let (write_failed_tx, write_failed) = oneshot::channel();
    tokio::spawn(write_calls(commands, calls, write_failed_tx));
    let task_shim_id = Arc::clone(&shim_id);
    let mut task = LinkTask {
        shim_id: Arc::clone(&shim_id),
        events: Arc::clone(&events),
        calls: calls_tx,
        pending: HashMap::new(),
        next_call: 1,
        cursor: cursor_tx,
        appended: appended_tx,
        seqs: VecDeque::new(),
        parked: Vec::new(),
        died: false,
        exits: Vec::new(),
        held: Vec::new(),
        status: StatusKnowledge::new(attachments.clone()),
    };
    // The status, which a shim of version 2 or later sends right after `Linked`: lookups
    // need no call from the start.
    if let Some(frame) = first_frame {
        task.receive(frame).map_err(LinkError::Refused)?;
    }
    tokio::spawn(async move {
        let reason = task.run(frames, requests, write_failed).await;
        tracing::debug!(shim = %task_shim_id, %reason, "link ended");
        end_tx.send_replace(Some(reason));
    });
    Ok(LinkedShim {
        handle: ShimHandle::new(shim_id, requests_tx, events),
        shim_id: own_id,
        pid,
        version,
        socket: Some(socket.to_owned()),
        cursor,
        appended,
        end,
        attachments,
    })
}

/// What a shim process says of itself when it links.
struct Linked {
    version: u32,
    pid: u32,
    shim_id: String,
}

/// Reads up to the shim's `Linked`. Events the connection sent before it was a link are not
/// the link's and are skipped.
async fn linked(frames: &mut Frames) -> Result<Linked, LinkError> {
    loop {
        match frames.next().await {
            None => return Err(LinkError::Closed),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Ok(Event::Linked {
                version,
                pid,
                shim_id,
                ..
            }))) => {
                return Ok(Linked {
                    version,
                    pid,
                    shim_id,
                });
            }
            Some(Ok(Ok(Event::Error { command, reason }))) if command == "Link" => {
                return Err(LinkError::Refused(reason));
            }
            Some(Ok(_)) => {}
        }
    }
}

/// The next frame of the link (`None`: one that is not an event, which is logged and skipped,
/// as the link task does).
async fn next_frame(frames: &mut Frames) -> Result<Option<Event>, LinkError> {
    match frames.next().await {
        None => Err(LinkError::Closed),
        Some(Err(error)) => Err(error.into()),
        Some(Ok(Ok(event))) => Ok(Some(event)),
        Some(Ok(Err(malformed))) => {
            tracing::warn!(%malformed, "a shim process sent a frame that is not an event");
            Ok(None)
        }
    }
}

/// Says in `events` that the process of `shim_id` is gone before its agent's `Died` came:
/// its agent is gone with it (the PTY it held is closed) or out of reach. A `Warning` with
/// `reason`, then a `Died` without an exit code; returns the `Died`'s seq.
fn append_lost_agent(events: &EventLog, shim_id: &Arc<str>, reason: &str) -> u64 {
    let warning = Event::Warning {
        message: format!(
            "the shim process is gone before its agent's end was reported ({reason}); its \
             agent is treated as dead"
        ),
        idle_secs: None,
    };
    let died = Event::Died {
        exit_code: None,
        last_lines: String::new(),
    };
    events
        .append_all(shim_id, [warning, died])
        .expect("two events were appended")
}

/// Writes the calls the link task hands over, in order; says so once a write fails.
async fn write_calls(
    mut commands: FramedWrite<OwnedWriteHalf, JsonFrameCodec<Event>>,
    mut calls: mpsc::UnboundedReceiver<Command>,
    failed: oneshot::Sender<String>,
) {
    while let Some(command) = calls.recv().await {
        if let Err(error) = commands.send(&command).await {
            let _ = failed.send(format!("cannot write to the shim process: {error}"));
            return;
        }
    }
}

/// The state of one link, owned by its task.
struct LinkTask {
    shim_id: Arc<str>,
    events: Arc<EventLog>,
    /// Commands to write; [`write_calls`] holds the receiver.
    calls: mpsc::UnboundedSender<Command>,
    /// Requests whose call was sent, by call id.
    pending: HashMap<u64, PendingCall>,
    next_call: u64,
    /// The shim's seq of the newest event appended; the [`LinkedShim`] holds the receiver.
    cursor: watch::Sender<u64>,
    /// The server seq of the newest event appended; the [`LinkedShim`] holds the receiver.
    appended: watch::Sender<u64>,
    /// (shim seq, server seq) of the most recent events appended, oldest first.
    seqs: VecDeque<(u64, u64)>,
    /// Status answers waiting for the event their `last_event_seq` names.
    parked: Vec<(ShimStatus, Reply<ShimStatus>)>,
    /// Whether the agent's `Died` came over the link.
    died: bool,
    /// Answers to a kill or shutdown that overtook the agent's `Died`, waiting for it.
    exits: Vec<(Option<i32>, Reply<Option<i32>>)>,
    /// Events (shim seq, time, event) held back until the Completion they describe comes.
    held: Vec<(u64, u64, Event)>,
    /// What the link knows of the shim's status without asking.
    status: StatusKnowledge,
}

/// A request whose call was sent.
struct PendingCall {
    request: Request,
    sent: Instant,
    /// When it fails unanswered.
    deadline: Instant,
}

impl LinkTask {
    /// Serves the link until it ends; returns why.
    async fn run(
        mut self,
        mut frames: Frames,
        mut requests: mpsc::Receiver<Request>,
        mut write_failed: oneshot::Receiver<String>,
    ) -> String {
        let reason = loop {
            let next_deadline = self.pending.values().map(|call| call.deadline).min();
            tokio::select! {
                () = sleep_until_some(next_deadline) => self.expire(),
                request = requests.recv() => match request {
                    Some(request) => self.send(request),
                    None => {
                        self.append_held();
                        return "every handle was dropped".to_owned();
                    }
                },
                frame = frames.next() => match frame {
                    None => break "the shim process closed its socket".to_owned(),
                    Some(Err(error)) => break format!("cannot read from the shim process: {error}"),
                    Some(Ok(Err(malformed))) => {
                        tracing::warn!(shim = %self.shim_id, %malformed, "the shim process sent a frame that is not an event");
                    }
                    Some(Ok(Ok(event))) => {
                        self.status.heard_from();
                        if let Err(violation) = self.receive(event) {
                            break violation;
                        }
                    }
                },
                Ok(reason) = &mut write_failed => break reason,
            }
        };
        self.append_held();
        for (_, call) in self.pending.drain() {
            call.request.fail(ShimError::LinkLost(reason.clone()));
        }
        for (_, reply) in self.parked.drain(..) {
            let _ = reply.send(Err(ShimError::LinkLost(reason.clone())));
        }
        if !self.died {
            self.report_lost_agent(&reason);
        }
        for (exit_code, reply) in self.exits.drain(..) {
            let _ = reply.send(Ok(exit_code));
        }
        reason
    }

    /// The shim process is gone before its agent's `Died` came (see [`append_lost_agent`]).
    fn report_lost_agent(&self, reason: &str) {
        let seq = append_lost_agent(&self.events, &self.shim_id, reason);
        self.appended.send_replace(seq);
    }

    /// Sends `request` as a call and keeps it until its reply comes; a status lookup is
    /// answered from the published status instead while that is current.
    fn send(&mut self, request: Request) {
        let request = match request {
            Request::Status { reply } => match self.current_status() {
                Some(status) => return self.reply_status(status, reply),
                None => Request::Status { reply },
            },
            other => other,
        };
        let call_id = self.next_call;
        self.next_call += 1;
        let call = call_of(&request);
        if self.calls.send(Command::Call { call_id, call }).is_err() {
            request.fail(ShimError::LinkLost(
                "cannot write to the shim process".to_owned(),
            ));
            return;
        }
        let sent = Instant::now();
        let deadline = sent + answer_within(&request);
        self.pending.insert(
            call_id,
            PendingCall {
                request,
                sent,
                deadline,
            },
        );
    }

    /// Fails the calls whose time is up.
    fn expire(&mut self) {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, call)| call.deadline <= now)
            .map(|(call_id, _)| *call_id)
            .collect();
        if !expired.is_empty() {
            self.status.call_expired();
        }
        for call_id in expired {
            let request = self.pending.remove(&call_id).expect("listed").request;
            let within = answer_within(&request);
            let asked = call_of(&request).name();
            tracing::warn!(shim = %self.shim_id, call_id, asked, "the shim process did not answer");
            request.fail(ShimError::LinkLost(format!(
                "the shim process did not answer a {asked} call within {} s",
                within.as_secs()
            )));
        }
    }

    /// The newest published status, while it may answer a lookup ([`StatusKnowledge`]).
    fn current_status(&self) -> Option<ShimStatus> {
        let oldest_call = self.pending.values().map(|call| call.sent).min();
        self.status
            .current(*self.cursor.borrow(), self.held.is_empty(), oldest_call)
    }

    /// Handles one frame of the shim; an error ends the link.
    fn receive(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Logged {
                seq,
                unix_ms,
                emitted,
            } => {
                if emitted.is_link_frame() || emitted.is_attach_frame() {
                    return Err(format!(
                        "the shim process logged a {} frame as an event",
                        emitted.name()
                    ));
                }
                self.logged(seq, unix_ms, *emitted);
            }
            Event::EventsLost {
                first_lost,
                last_lost,
            } => self.lost(
                first_lost,
                last_lost,
                "of this shim were evicted from its process's log before the server read them",
            ),
            Event::Reply {
                call_id,
                reply,
                status_version,
            } => {
                // Known before anyone has the answer: a lookup after it finds it.
                self.status.answered(status_version);
                match self.pending.remove(&call_id) {
                    Some(call) => self.answer(call.request, reply),
                    None => tracing::warn!(
                        shim = %self.shim_id,
                        call_id,
                        "the shim process answered a call that was not made or had expired"
                    ),
                }
            }
            Event::Status {
                version,
                state,
                entered_unix_ms,
                pid,
                exit_code,
                queued_messages,
                last_event_seq,
            } => {
                let status = ShimStatus {
                    // `since` is reckoned from `entered_unix_ms` when a lookup is answered.
                    state: StateReport {
                        state,
                        since: Duration::ZERO,
                    },
                    pid,
                    exit_code,
                    queued_messages,
                    last_event_seq,
                };
                self.status.published(version, entered_unix_ms, status);
            }
            Event::Error { command, reason } => tracing::warn!(
                shim = %self.shim_id,
                command = %crate::untrusted::Untrusted(&command),
                reason = %crate::untrusted::Untrusted(&reason),
                "the shim process reported an error on its link"
            ),
            // Answers to seed commands, which a link does not send.
            _ => {}
        }
        Ok(())
    }

    fn logged(&mut self, seq: u64, unix_ms: u64, event: Event) {
        let cursor = self
            .held
            .last()
            .map_or(*self.cursor.borrow(), |(held, ..)| *held);
        if seq <= cursor {
            tracing::debug!(shim = %self.shim_id, seq, cursor, "event already appended");
            return;
        }
        if seq > cursor + 1 {
            self.append_held();
            let why = "of this shim never came over the link from its process";
            self.lost(cursor + 1, seq - 1, why);
        }
        // The events that describe a Completion came in one emission with it, and go into
        // the log with it, as one: no other shim's event comes between them there.
        let describes_completion = matches!(
            event,
            Event::CommandExited { .. } | Event::ResponseTruncated { .. }
        );
        self.held.push((seq, unix_ms, event));
        if !describes_completion {
            self.append_held();
        }
    }

    /// Appends the events held back, as one emission.
    fn append_held(&mut self) {
        let Some(&(_, unix_ms, _)) = self.held.first() else {
            return;
        };
        let held = std::mem::take(&mut self.held);
        let died = held
            .iter()
            .any(|(_, _, event)| matches!(event, Event::Died { .. }));
        let seqs: Vec<u64> = held.iter().map(|(seq, ..)| *seq).collect();
        let last_server_seq = self
            .events
            .append_stamped(
                &self.shim_id,
                unix_ms,
                held.into_iter().map(|(seq, _, event)| (seq, event)),
            )
            .expect("events were appended");
        let first_server_seq = last_server_seq + 1 - seqs.len() as u64;
        for (seq, server_seq) in seqs.into_iter().zip(first_server_seq..) {
            self.advance(seq, server_seq);
        }
        if died {
            self.died = true;
            for (exit_code, reply) in self.exits.drain(..) {
                let _ = reply.send(Ok(exit_code));
            }
        }
    }

    /// Appends the `Warning` for shim events `first..=last`, which the server will not have.
    /// It stands in the log for them, at the shim seq of the last: a client that resumes
    /// past that seq (after a restart of the server) has nothing lost.
    fn lost(&mut self, first: u64, last: u64, why: &str) {
        // What came before the range goes into the log before its warning.
        self.append_held();
        let warning = events_lost_warning(first, last, why);
        let server_seq = self
            .events
            .append_stamped(
                &self.shim_id,
                crate::unix_time::now_unix_ms(),
                [(last, warning)],
            )
            .expect("the warning was appended");
        let cursor = *self.cursor.borrow();
        self.advance(last.max(cursor), server_seq);
    }

    /// The events up to shim seq `seq` are in the log, the last at `server_seq`.
    fn advance(&mut self, seq: u64, server_seq: u64) {
        self.cursor.send_replace(seq);
        self.appended.send_replace(server_seq);
        if self.seqs.len() == KEPT_SEQS {
            self.seqs.pop_front();
        }
        self.seqs.push_back((seq, server_seq));
        let (ready, waiting) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(status, _)| status.last_event_seq <= seq);
        self.parked = waiting;
        for (status, reply) in ready {
            self.reply_status(status, reply);
        }
    }

    /// Answers a status whose event is appended, with that event's server seq.
    fn reply_status(&self, mut status: ShimStatus, reply: Reply<ShimStatus>) {
        let shim_seq = status.last_event_seq;
        status.last_event_seq = self
            .seqs
            .iter()
            .rev()
            .find(|(seq, _)| *seq <= shim_seq)
            .map_or(0, |(_, server_seq)| *server_seq);
        let _ = reply.send(Ok(status));
    }

    /// Answers `request` with the shim's `reply`.
    fn answer(&mut self, request: Request, reply: CallReply) {
        match (request, reply) {
            (request, CallReply::Failed { error }) => request.fail(error.into()),
            (
                Request::Send { reply, .. },
                CallReply::Sent {
                    id,
                    queued,
                    removed,
                },
            ) => {
                let _ = reply.send(Ok(SendReceipt {
                    id,
                    queued,
                    removed,
                }));
            }
            (
                Request::Capture { reply, .. },
                CallReply::Captured {
                    content,
                    cursor_row,
                    cursor_col,
                    rows,
                    cols,
                },
            ) => {
                let _ = reply.send(Ok(Capture {
                    content,
                    cursor_row,
                    cursor_col,
                    rows,
                    cols,
                }));
            }
            (
                Request::Status { reply },
                CallReply::Status {
                    state,
                    since_ms,
                    pid,
                    exit_code,
                    queued_messages,
                    last_event_seq,
                },
            ) => {
                let status = ShimStatus {
                    state: StateReport {
                        state,
                        since: Duration::from_millis(since_ms),
                    },
                    pid,
                    exit_code,
                    queued_messages,
                    last_event_seq,
                };
                if last_event_seq <= *self.cursor.borrow() {
                    self.reply_status(status, reply);
                } else {
                    self.parked.push((status, reply));
                }
            }
            (
                Request::Resize { reply, .. }
                | Request::Ping { reply }
                | Request::SendKeys { reply, .. },
                CallReply::Done,
            ) => {
                let _ = reply.send(Ok(()));
            }
            // The agent is dead once it is answered, and so its `Died` is in the log, as
            // with a shim in this process.
            (
                Request::Shutdown { reply, .. } | Request::Kill { reply },
                CallReply::Exited { exit_code },
            ) if self.died => {
                let _ = reply.send(Ok(exit_code));
            }
            (
                Request::Shutdown { reply, .. } | Request::Kill { reply },
                CallReply::Exited { exit_code },
            ) => self.exits.push((exit_code, reply)),
            (Request::Answer { reply, .. }, CallReply::Answered { text }) => {
                let _ = reply.send(Ok(text));
            }
            (
                Request::Explain { reply },
                CallReply::Explained {
                    state,
                    since_ms,
                    marks_seen,
                    decisions,
                },
            ) => {
                let decisions = decisions
                    .into_iter()
                    .map(|record| Decision {
                        from: record.from,
                        to: record.to,
                        at: from_unix_ms(record.unix_ms),
                        cause: Cause::Reported(record.cause),
                        verdict: record.verdict,
                        screen: record.screen,
                        last_output: from_unix_ms(record.last_output_unix_ms),
                        last_signal: record.last_signal_unix_ms.map(from_unix_ms),
                    })
                    .collect();
                let _ = reply.send(Ok(Explanation {
                    state,
                    since: Duration::from_millis(since_ms),
                    marks_seen,
                    decisions,
                }));
            }
            (request, other) => {
                let asked = call_of(&request).name();
                request.fail(ShimError::LinkLost(format!(
                    "the shim process answered a {asked} call with {}",
                    other.name()
                )));
            }
        }
    }
}

/// How long the shim process has to answer `request`.
fn answer_within(request: &Request) -> Duration {
    match request {
        Request::Shutdown { timeout, .. } => *timeout + CALL_TIMEOUT,
        _ => CALL_TIMEOUT,
    }
}

/// Resolves at `deadline`; never without one.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The call that asks what `request` asks.
fn call_of(request: &Request) -> Call {
    match request {
        Request::Send { message, .. } => Call::Send {
            message_id: message.id.clone(),
            from: message.from.clone(),
            body: message.body.clone(),
        },
        Request::Capture {
            last_n_lines,
            include_scrollback,
            ..
        } => Call::Capture {
            last_n_lines: *last_n_lines,
            include_scrollback: *include_scrollback,
        },
        Request::Status { .. } => Call::Status,
        Request::Resize { rows, cols, .. } => Call::Resize {
            rows: *rows,
            cols: *cols,
        },
        Request::Shutdown {
            timeout, reason, ..
        } => Call::Shutdown {
            timeout_ms: timeout.as_millis().try_into().unwrap_or(u64::MAX),
            reason: *reason,
        },
        Request::Kill { .. } => Call::Kill,
        Request::Ping { .. } => Call::Ping,
        Request::Answer { option, .. } => Call::Answer { option: *option },
        Request::SendKeys { keys, .. } => Call::SendKeys { keys: keys.clone() },
        Request::Explain { .. } => Call::Explain,
    }
}

fn from_unix_ms(unix_ms: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(unix_ms)
}

//! One framed-JSON connection to a shim: commands read from the client are applied to the
//! shim and answered directly (`ScreenCapture`, `State`, `Pong`, `Explanation`,
//! `DeliveryFailed` for a refused message, `Error` for a command that cannot be applied);
//! everything the shim emits by itself comes from its event log, read by this connection's
//! own subscription from [`ConnectionOptions::after_seq`] on, in order, with an evicted range
//! reported as a `Warning`.
//!
//! A malformed or unknown command gets an `Error` and the connection stays usable; an oversize
//! frame gets an `Error` and the connection is closed. Whoever admitted the connection bounds
//! it: a write timeout for a client that does not read, and a signal that closes it to make
//! room for another client ([`super::clients`]). [`Served::delivered_seq`] says how far the
//! client got: the seq of the last event whose frame was written to it.
//!
//! A client that sends `Link` turns its connection into a link ([`crate::protocol::link`]):
//! its events restart after the seq it names, each wrapped in `Logged`, an evicted range comes
//! as `EventsLost`, and its `Call`s run concurrently (at most [`MAX_CALLS_IN_FLIGHT`]; more
//! wait to be read) with each `Reply` written when its call is done. From link version 2 on,
//! the shim's status goes to the link as `Status` whenever the actor publishes a change
//! (changes that come faster than the client reads are sent as the newest), and each `Reply`
//! names the status version the call's step published. A client that sends
//! `Attach` attaches its connection to the terminal ([`super::attach`]) until it detaches.

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, WriteHalf};
use tokio::sync::{oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::attach::Attached;
use super::calls::{explanation_record, millis, run_call};
use crate::protocol::codec::{FrameError, JsonFrameCodec, MalformedFrame};
use crate::protocol::link::{CallReply, LINK_VERSION};
use crate::protocol::{Command, Event};
use crate::shim::events::{LogItem, Subscription};
use crate::shim::{PublishedStatus, ShimHandle};

/// Calls of one link that run at once; the next command is read when one of them is done.
pub const MAX_CALLS_IN_FLIGHT: usize = 64;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The client closed its side.
    ClientClosed,
    /// The client sent an oversize frame; the connection was closed after an `Error`.
    ProtocolViolation,
    /// The connection failed (reset, broken pipe, end of file in the middle of a frame).
    Failed,
    /// The event log was closed: the shim is going away.
    ShimClosed,
    /// A frame could not be written within the write timeout: the client is not reading.
    NotReading,
    /// Closed to make room for another client.
    Displaced,
    /// The connection was attached to the terminal ([`super::attach`]) and the attachment
    /// ended (the client detached or left, or the agent exited). An attachment reads no
    /// events, so it does not move the resume point.
    Detached,
}

impl ConnectionEnd {
    /// True when the client ended the connection (it closed it, broke it, or broke the
    /// protocol), false when the shim did.
    pub fn client_left(self) -> bool {
        matches!(
            self,
            Self::ClientClosed | Self::ProtocolViolation | Self::Failed
        )
    }
}

/// How a connection is served. The default: from the first retained event, no write timeout,
/// never displaced.
#[derive(Debug, Default)]
pub struct ConnectionOptions {
    /// Events with a greater seq are sent first (0: everything retained), then live ones.
    pub after_seq: u64,
    /// A frame that cannot be written within this long closes the connection.
    pub write_timeout: Option<Duration>,
    /// A reason to close the connection for; the admitting side holds the sender.
    pub displace: Option<oneshot::Receiver<String>>,
    /// Updated with every frame the client sends, and when the connection becomes a link; the
    /// admitting side holds the receiver to tell which client has been quiet for the longest
    /// and which are links (a host's link is never displaced).
    pub activity: Option<watch::Sender<ClientActivity>>,
}

/// What the admitting side sees of a connection's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientActivity {
    /// When the client last sent a frame (or connected).
    pub last_frame: Instant,
    /// The client made the connection a link.
    pub linked: bool,
    /// The client attached the connection to the terminal.
    pub attached: bool,
}

impl ClientActivity {
    /// A client that connected just now.
    pub fn connected() -> Self {
        Self {
            last_frame: Instant::now(),
            linked: false,
            attached: false,
        }
    }
}

/// How a connection ended and how far its client got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub end: ConnectionEnd,
    /// Seq of the last event whose frame was written to the client (`after_seq` if none).
    pub delivered_seq: u64,
}

pub(super) type EventSink<S> = FramedWrite<WriteHalf<S>, JsonFrameCodec<Command>>;

/// Serves `handle` over `stream` until the connection ends.
pub async fn serve_connection<S>(
    stream: S,
    handle: &ShimHandle,
    options: ConnectionOptions,
) -> Served
where
    S: AsyncRead + AsyncWrite,
{
    let ConnectionOptions {
        after_seq,
        write_timeout,
        displace,
        activity,
    } = options;
    let (read_half, write_half) = tokio::io::split(stream);
    let mut commands = FramedRead::new(read_half, JsonFrameCodec::<Command>::new());
    let mut events = FramedWrite::new(write_half, JsonFrameCodec::<Command>::new());
    let mut subscription = handle.subscribe(after_seq);
    let mut delivered_seq = after_seq;
    // Set once the client sent `Link`: events are then sent as the link sends them.
    let mut linked = false;
    // The status the actor publishes, sent to a link of version 2 or later.
    let mut published: Option<watch::Receiver<PublishedStatus>> = None;
    let mut calls: FuturesUnordered<BoxFuture<'_, (u64, CallReply)>> = FuturesUnordered::new();
    let displaced = async move {
        match displace {
            Some(reason) => reason.await.unwrap_or_default(),
            None => std::future::pending().await,
        }
    };
    tokio::pin!(displaced);
    loop {
        // Each outgoing event with the log seq it brings the client to (none for answers).
        let outgoing: Vec<(Event, Option<u64>)> = tokio::select! {
            reason = &mut displaced => {
                say_farewell(&mut events, reason);
                return Served { end: ConnectionEnd::Displaced, delivered_seq };
            }
            Some((call_id, reply)) = calls.next(), if !calls.is_empty() => {
                let status_version = published.as_ref().map(|status| status.borrow().version);
                vec![(Event::Reply { call_id, reply, status_version }, None)]
            }
            changed = status_change(&mut published), if published.is_some() => match changed {
                Some(status) => vec![(status_frame(&status), None)],
                // The actor is gone; the events say how it ended.
                None => {
                    published = None;
                    Vec::new()
                }
            },
            frame = commands.next(), if calls.len() < MAX_CALLS_IN_FLIGHT => {
                if let Some(activity) = &activity {
                    activity.send_modify(|seen| seen.last_frame = Instant::now());
                }
                match frame {
                    None => return Served { end: ConnectionEnd::ClientClosed, delivered_seq },
                    Some(Ok(Ok(Command::Link { version, after_seq }))) => {
                        match link(handle, version, after_seq).await {
                            Ok((linked_from, answer)) => {
                                subscription = linked_from;
                                delivered_seq = after_seq;
                                linked = true;
                                if let Some(activity) = &activity {
                                    activity.send_modify(|seen| seen.linked = true);
                                }
                                let mut frames = vec![(answer, None)];
                                // From version 2, the status comes right after `Linked`.
                                if version >= 2 {
                                    published = handle.published_status();
                                    if let Some(status) = &mut published {
                                        let status = status_frame(&status.borrow_and_update());
                                        frames.push((status, None));
                                    }
                                }
                                frames
                            }
                            Err(reason) => vec![(
                                Event::Error { command: "Link".to_owned(), reason },
                                None,
                            )],
                        }
                    }
                    Some(Ok(Ok(Command::Attach { mode, rows, cols }))) => {
                        let size = rows.zip(cols);
                        match handle.attach(mode, size).await {
                            Ok(attachment) => {
                                if let Some(activity) = &activity {
                                    activity.send_modify(|seen| seen.attached = true);
                                }
                                let attached = Attached {
                                    commands: &mut commands,
                                    events: &mut events,
                                    subscription: &mut subscription,
                                    write_timeout,
                                };
                                let end = attached.serve(handle, attachment).await;
                                return Served { end, delivered_seq };
                            }
                            Err(error) => vec![(
                                Event::Error { command: "Attach".to_owned(), reason: error.to_string() },
                                None,
                            )],
                        }
                    }
                    Some(Ok(Ok(Command::Call { call_id, call }))) => {
                        calls.push(Box::pin(run_call(handle, call).map(move |r| (call_id, r))));
                        Vec::new()
                    }
                    Some(Ok(Ok(command))) => {
                        apply(handle, command).await.into_iter().map(|e| (e, None)).collect()
                    }
                    Some(Ok(Err(malformed))) => vec![(malformed_error(&malformed), None)],
                    Some(Err(FrameError::TooLarge { len })) => {
                        let error = oversize_error(len);
                        let _ = write_within(&mut events, &error, write_timeout).await;
                        return Served { end: ConnectionEnd::ProtocolViolation, delivered_seq };
                    }
                    Some(Err(error)) => {
                        tracing::debug!(%error, "client connection failed");
                        return Served { end: ConnectionEnd::Failed, delivered_seq };
                    }
                }
            }
            item = subscription.next() => match item {
                None => return Served { end: ConnectionEnd::ShimClosed, delivered_seq },
                Some(LogItem::Event(envelope)) if linked => vec![(
                    Event::Logged {
                        seq: envelope.seq,
                        unix_ms: envelope.unix_ms,
                        emitted: Box::new(envelope.event.clone()),
                    },
                    Some(envelope.seq),
                )],
                Some(LogItem::Event(envelope)) => {
                    vec![(envelope.event.clone(), Some(envelope.seq))]
                }
                Some(LogItem::Gap { first_lost, last_lost }) if linked => {
                    vec![(Event::EventsLost { first_lost, last_lost }, Some(last_lost))]
                }
                Some(LogItem::Gap { first_lost, last_lost }) => {
                    let why = "were evicted from the event log before this client read them";
                    vec![(events_lost_warning(first_lost, last_lost, why), Some(last_lost))]
                }
            },
        };
        for (event, seq) in &outgoing {
            tokio::select! {
                reason = &mut displaced => {
                    say_farewell(&mut events, reason);
                    return Served { end: ConnectionEnd::Displaced, delivered_seq };
                }
                written = write_within(&mut events, event, write_timeout) => match written {
                    Ok(()) => delivered_seq = seq.unwrap_or(delivered_seq),
                    Err(end) => return Served { end, delivered_seq },
                },
            }
        }
    }
}

/// The `Warning` that tells a client of events `first_lost..=last_lost`, which it will not get
/// for the reason `why` (`were evicted from the event log`, say).
pub fn events_lost_warning(first_lost: u64, last_lost: u64, why: &str) -> Event {
    Event::Warning {
        message: format!("events {first_lost}..={last_lost} {why}"),
        idle_secs: None,
    }
}

/// The next status the actor publishes (`None`: it has stopped publishing).
async fn status_change(
    published: &mut Option<watch::Receiver<PublishedStatus>>,
) -> Option<PublishedStatus> {
    let published = published.as_mut()?;
    published.changed().await.ok()?;
    Some(*published.borrow_and_update())
}

/// The `Status` frame of `status`, with when its state was entered by the wall clock.
fn status_frame(status: &PublishedStatus) -> Event {
    let now = tokio::time::Instant::now().into_std();
    let since = now.saturating_duration_since(status.entered);
    Event::Status {
        version: status.version,
        state: status.state,
        entered_unix_ms: crate::unix_time::now_unix_ms().saturating_sub(millis(since)),
        pid: status.pid,
        exit_code: status.exit_code,
        queued_messages: status.queued_messages,
        last_event_seq: status.last_event_seq,
    }
}

/// Starts a link from `after_seq`: the subscription it reads and the `Linked` that answers it,
/// or why it cannot.
async fn link(
    handle: &ShimHandle,
    version: u32,
    after_seq: u64,
) -> Result<(Subscription, Event), String> {
    if version == 0 {
        return Err("link version 0 does not exist; the first is 1".to_owned());
    }
    let last_seq = handle.event_log().last_seq();
    if after_seq > last_seq {
        return Err(format!(
            "cursor {after_seq} is ahead of this shim's newest event ({last_seq})"
        ));
    }
    let pid = handle.status().await.map_err(|e| e.to_string())?.pid;
    let linked = Event::Linked {
        version: LINK_VERSION,
        shim_id: handle.id().to_owned(),
        pid,
        last_seq,
    };
    Ok((handle.subscribe(after_seq), linked))
}

/// Writes `event`, failing with how the connection ends when it cannot.
pub(super) async fn write_within<S: AsyncWrite>(
    events: &mut EventSink<S>,
    event: &Event,
    write_timeout: Option<Duration>,
) -> Result<(), ConnectionEnd> {
    let Some(limit) = write_timeout else {
        return send_event(events, event)
            .await
            .map_err(|_| ConnectionEnd::Failed);
    };
    match tokio::time::timeout(limit, send_event(events, event)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(ConnectionEnd::Failed),
        Err(_) => {
            tracing::warn!(
                timeout = ?limit,
                "a client did not read a {} event in time; closing its connection",
                event.name()
            );
            Err(ConnectionEnd::NotReading)
        }
    }
}

/// Tells a displaced client why, if its socket takes the frame at once (it is closed anyway).
fn say_farewell<S: AsyncWrite>(events: &mut EventSink<S>, reason: String) {
    tracing::warn!(%reason, "closing a client connection");
    let error = Event::Error {
        command: "unknown".to_owned(),
        reason,
    };
    let _ = send_event(events, &error).now_or_never();
}

async fn send_event<S: AsyncWrite>(
    events: &mut EventSink<S>,
    event: &Event,
) -> Result<(), FrameError> {
    match events.send(event).await {
        Err(FrameError::TooLarge { len }) => {
            // Events are clipped to fit a frame; should one still not, say so instead.
            let error = Event::Error {
                command: event.name().to_owned(),
                reason: format!(
                    "{} event of {len} bytes exceeds the frame limit",
                    event.name()
                ),
            };
            events.send(&error).await
        }
        other => other,
    }
}

/// The `Error` for a frame of `len` bytes, beyond the limit: the connection closes after it.
pub(super) fn oversize_error(len: usize) -> Event {
    Event::Error {
        command: "unknown".to_owned(),
        reason: format!("frame of {len} bytes exceeds the 1 MiB limit; closing the connection"),
    }
}

pub(super) fn malformed_error(malformed: &MalformedFrame) -> Event {
    let command = malformed
        .string_field("cmd")
        .unwrap_or_else(|| "unknown".to_owned());
    Event::Error {
        command,
        reason: format!("cannot parse command: {}", malformed.source),
    }
}

/// Runs one command against the shim and returns the events that answer it directly.
pub async fn apply(handle: &ShimHandle, command: Command) -> Vec<Event> {
    let name = command.name();
    let error = |reason: String| {
        vec![Event::Error {
            command: name.to_owned(),
            reason,
        }]
    };
    match command {
        Command::SendMessage {
            from,
            body,
            message_id,
        } => match handle.send_message(from, body, message_id).await {
            Ok(_) => Vec::new(),
            Err(refused) => vec![Event::DeliveryFailed {
                id: refused.id,
                reason: refused.error.to_string(),
            }],
        },
        Command::CaptureScreen { last_n_lines } => match handle.capture(last_n_lines).await {
            Ok(capture) => vec![Event::ScreenCapture {
                content: capture.content,
                cursor_row: capture.cursor_row,
                cursor_col: capture.cursor_col,
            }],
            Err(e) => error(e.to_string()),
        },
        Command::GetState => match handle.state().await {
            Ok(report) => vec![Event::State {
                state: report.state,
                since_secs: report.since.as_secs(),
            }],
            Err(e) => error(e.to_string()),
        },
        Command::Resize { rows, cols } => match handle.resize(rows, cols).await {
            Ok(()) => Vec::new(),
            Err(e) => error(e.to_string()),
        },
        Command::Shutdown {
            timeout_secs,
            reason,
        } => {
            // The outcome arrives as StateChanged/Died events; don't hold the connection.
            let handle = handle.clone();
            let timeout = Duration::from_secs(timeout_secs.into());
            tokio::spawn(async move { handle.shutdown(timeout, reason).await });
            Vec::new()
        }
        Command::Kill => {
            let handle = handle.clone();
            tokio::spawn(async move { handle.kill().await });
            Vec::new()
        }
        Command::Ping => match handle.ping().await {
            Ok(()) => vec![Event::Pong],
            Err(e) => error(e.to_string()),
        },
        // The outcome shows in the events (StateChanged, then the turn's Completion).
        Command::Answer { option } => match handle.answer(option).await {
            Ok(_) => Vec::new(),
            Err(e) => error(e.to_string()),
        },
        Command::SendKeys { keys } => match handle.send_keys(keys).await {
            Ok(()) => Vec::new(),
            Err(e) => error(e.to_string()),
        },
        Command::Explain => match handle.explain().await {
            Ok(explanation) => vec![Event::Explanation {
                explanation: explanation_record(explanation),
            }],
            Err(e) => error(e.to_string()),
        },
        // A connection answers these itself (`serve_connection`); alone, they have no answer.
        Command::Link { .. } | Command::Call { .. } | Command::Attach { .. } => {
            error("only a connection to a shim can be linked, called or attached".to_owned())
        }
        Command::TerminalInput { .. } | Command::Detach => {
            error("this connection is not attached to the terminal: send Attach first".to_owned())
        }
    }
}

//! The framed-JSON front end: serves one shim to one client connection at a time, speaking the
//! customer's protocol (`Command` frames in, `Event` frames out).
//!
//! Requests are answered directly (`ScreenCapture`, `State`, `Pong`, `DeliveryFailed` for a
//! refused message, `Error` for a command that cannot be applied); everything the shim emits by
//! itself comes from its event log, resumed where the previous connection stopped so a client
//! that reconnects misses nothing. A malformed or unknown command gets an `Error` and the
//! connection stays usable; an oversize frame gets an `Error` and the connection is closed.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::protocol::codec::{FrameError, JsonFrameCodec, MalformedFrame};
use crate::protocol::{Command, Event};
use crate::shim::ShimHandle;
use crate::shim::events::LogItem;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The client closed its side.
    ClientClosed,
    /// The client sent an oversize frame; the connection was closed after an `Error`.
    ProtocolViolation,
    /// The connection failed (reset, broken pipe).
    Failed,
    /// The event log was closed: the shim is going away.
    ShimClosed,
}

/// Serves `handle` over `stream` until the connection ends. `delivered_seq` is the seq of the
/// last event a client received; it is read to resume and updated as events go out.
pub async fn serve_connection<S>(
    stream: S,
    handle: &ShimHandle,
    delivered_seq: &mut u64,
) -> ConnectionEnd
where
    S: AsyncRead + AsyncWrite,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let mut commands = FramedRead::new(read_half, JsonFrameCodec::<Command>::new());
    let mut events = FramedWrite::new(write_half, JsonFrameCodec::<Command>::new());
    let mut subscription = handle.subscribe(*delivered_seq);
    loop {
        let outgoing = tokio::select! {
            frame = commands.next() => match frame {
                None => return ConnectionEnd::ClientClosed,
                Some(Ok(Ok(command))) => apply(handle, command).await,
                Some(Ok(Err(malformed))) => vec![malformed_error(&malformed)],
                Some(Err(FrameError::TooLarge { len })) => {
                    let error = Event::Error {
                        command: "unknown".to_owned(),
                        reason: format!(
                            "frame of {len} bytes exceeds the 1 MiB limit; closing the connection"
                        ),
                    };
                    let _ = send_event(&mut events, &error).await;
                    return ConnectionEnd::ProtocolViolation;
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "client connection failed");
                    return ConnectionEnd::Failed;
                }
            },
            item = subscription.next() => match item {
                None => return ConnectionEnd::ShimClosed,
                Some(LogItem::Event(envelope)) => {
                    *delivered_seq = envelope.seq;
                    vec![envelope.event.clone()]
                }
                Some(LogItem::Gap { first_lost, last_lost }) => {
                    *delivered_seq = last_lost;
                    vec![Event::Warning {
                        message: format!(
                            "events {first_lost}..={last_lost} were evicted from the event log \
                             before this client read them"
                        ),
                        idle_secs: None,
                    }]
                }
            },
        };
        for event in &outgoing {
            if send_event(&mut events, event).await.is_err() {
                return ConnectionEnd::Failed;
            }
        }
    }
}

async fn send_event<W: AsyncWrite + Unpin>(
    events: &mut FramedWrite<W, JsonFrameCodec<Command>>,
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

fn malformed_error(malformed: &MalformedFrame) -> Event {
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
    }
}

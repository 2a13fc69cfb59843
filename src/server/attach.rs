//! The server side of an `Attach` stream: a connection of its own to the shim process's
//! socket, attached there ([`crate::protocol::attach`]), and a task that carries the gRPC
//! client's requests to it and its frames back, one for one. The link to the shim is not
//! involved, so a terminal's output never delays events or calls.
//!
//! Back-pressure runs end to end: a gRPC client that reads slowly fills the stream's buffer,
//! the task stops reading the shim's socket, and the shim skips that client ahead with a
//! refreshed screen; the agent never waits. A client that reads nothing for 30 s (the shim's
//! client write timeout) is detached.

use std::path::Path;

use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::codec::{FramedRead, FramedWrite};
use tonic::Status;

use super::link::{AttachmentGuard, LINK_TIMEOUT};
use crate::protocol::attach::{AttachMode, decode_bytes, encode_bytes};
use crate::protocol::codec::JsonFrameCodec;
use crate::protocol::{Command, Event};
use crate::rpc::{self, attach_request, attach_response};
use crate::untrusted::Untrusted;

/// Responses buffered per stream before the task stops reading the shim's socket.
const STREAM_BUFFER: usize = 64;

type Frames = FramedRead<OwnedReadHalf, JsonFrameCodec<Event>>;
type Commands = FramedWrite<OwnedWriteHalf, JsonFrameCodec<Event>>;

/// The responses of one Attach stream.
pub type AttachStream = ReceiverStream<Result<rpc::AttachResponse, Status>>;

/// The requests of one Attach stream after its `start`: a gRPC stream's, or the web
/// console's terminal's.
pub trait AttachRequests:
    futures_util::Stream<Item = Result<rpc::AttachRequest, Status>> + Send + Unpin + 'static
{
}

impl<T> AttachRequests for T where
    T: futures_util::Stream<Item = Result<rpc::AttachRequest, Status>> + Send + Unpin + 'static
{
}

/// Attaches to the shim listening on `socket` as `start` asks, then serves the stream's
/// `requests` from a task of its own, which holds `attachment` until the attachment ends.
pub async fn attach(
    socket: &Path,
    start: rpc::AttachStart,
    requests: impl AttachRequests,
    attachment: AttachmentGuard,
) -> Result<AttachStream, Status> {
    let mode = mode_from_proto(start.mode)?;
    let size = start.size.map(|size| terminal_size(&size)).transpose()?;
    let stream = UnixStream::connect(socket).await.map_err(|error| {
        Status::unavailable(format!("cannot reach the shim process's socket: {error}"))
    })?;
    let (read_half, write_half) = stream.into_split();
    let mut frames = FramedRead::new(read_half, JsonFrameCodec::<Event>::new());
    let mut commands = FramedWrite::new(write_half, JsonFrameCodec::<Event>::new());
    let attach = Command::Attach {
        mode,
        rows: size.map(|(rows, _)| rows),
        cols: size.map(|(_, cols)| cols),
    };
    commands.send(&attach).await.map_err(shim_failed)?;
    let attached = tokio::time::timeout(LINK_TIMEOUT, attached(&mut frames))
        .await
        .map_err(|_| Status::unavailable("the shim process did not attach in time"))??;
    let (responses, stream) = mpsc::channel(STREAM_BUFFER);
    // The first response is sent before the stream is returned, so it is first whatever
    // the task does.
    let _ = responses.try_send(Ok(attached));
    tokio::spawn(async move {
        bridge(frames, commands, requests, responses).await;
        drop(attachment);
    });
    Ok(ReceiverStream::new(stream))
}

/// Reads up to the shim's `Attached` (what the connection sent before is not the
/// attachment's) and converts it.
async fn attached(frames: &mut Frames) -> Result<rpc::AttachResponse, Status> {
    loop {
        match frames.next().await {
            Some(Ok(Ok(Event::Attached { writer, rows, cols }))) => {
                return Ok(response(attach_response::Response::Attached(
                    rpc::AttachAttached {
                        writer,
                        size: Some(rpc::TerminalSize::new(rows, cols)),
                    },
                )));
            }
            Some(Ok(Ok(Event::Error { command, reason }))) if command == "Attach" => {
                return Err(Status::failed_precondition(format!(
                    "cannot attach: {reason}"
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(shim_failed(error)),
            None => {
                return Err(Status::unavailable(
                    "the shim process closed the connection before it attached",
                ));
            }
        }
    }
}

/// Carries requests to the shim and its frames back until either side ends. A client that
/// has no more requests (an observer may send none) stays attached until it stops reading
/// the responses.
async fn bridge(
    mut frames: Frames,
    mut commands: Commands,
    mut requests: impl AttachRequests,
    responses: mpsc::Sender<Result<rpc::AttachResponse, Status>>,
) {
    let mut requests_open = true;
    loop {
        tokio::select! {
            () = responses.closed() => {
                let _ = commands.send(&Command::Detach).await;
                return;
            }
            frame = frames.next() => {
                let reply = match frame {
                    Some(Ok(Ok(event))) => match response_of(event) {
                        Some(reply) => reply,
                        None => continue,
                    },
                    Some(Ok(Err(malformed))) => Err(Status::internal(format!(
                        "the shim process sent a malformed frame: {}",
                        malformed.source
                    ))),
                    Some(Err(error)) => Err(shim_failed(error)),
                    None => Ok(response(attach_response::Response::Detached(
                        rpc::AttachDetached { reason: "the shim process closed the connection".to_owned() },
                    ))),
                };
                let last = matches!(
                    &reply,
                    Err(_) | Ok(rpc::AttachResponse {
                        response: Some(attach_response::Response::Detached(_))
                    })
                );
                if responses.send(reply).await.is_err() || last {
                    return;
                }
            }
            request = requests.next(), if requests_open => {
                let command = match request {
                    Some(Ok(request)) => match command_of(request) {
                        Ok(command) => command,
                        Err(status) => {
                            let _ = responses.send(Err(status)).await;
                            return;
                        }
                    },
                    // The client broke the stream: detach.
                    Some(Err(_)) => Command::Detach,
                    None => {
                        requests_open = false;
                        continue;
                    }
                };
                if commands.send(&command).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// What the client's `request` asks of the shim.
fn command_of(request: rpc::AttachRequest) -> Result<Command, Status> {
    use attach_request::Request;
    match request.request {
        Some(Request::Input(bytes)) => Ok(Command::TerminalInput {
            data: encode_bytes(&bytes),
        }),
        Some(Request::Resize(size)) => {
            let (rows, cols) = terminal_size(&size)?;
            Ok(Command::Resize { rows, cols })
        }
        Some(Request::Detach(_)) => Ok(Command::Detach),
        Some(Request::Start(_)) => Err(Status::invalid_argument(
            "only the first AttachRequest may be `start`",
        )),
        None => Err(Status::invalid_argument(
            "an AttachRequest must set one request",
        )),
    }
}

/// The response to a frame of the shim (`None`: not one the client gets).
fn response_of(event: Event) -> Option<Result<rpc::AttachResponse, Status>> {
    use attach_response::Response;
    let converted = match event {
        Event::TerminalOutput { data } => match decode_bytes(&data) {
            Ok(bytes) => Response::Output(bytes),
            Err(error) => {
                return Some(Err(Status::internal(format!(
                    "the shim process sent output that is not base64: {error}"
                ))));
            }
        },
        Event::TerminalResized { rows, cols } => {
            Response::Resized(rpc::TerminalSize::new(rows, cols))
        }
        Event::TerminalRefreshed { reason } => Response::Refreshed(rpc::AttachRefreshed { reason }),
        Event::WriterChanged { writer, reason } => {
            Response::WriterChanged(rpc::AttachWriterChanged { writer, reason })
        }
        Event::Detached { reason } => Response::Detached(rpc::AttachDetached { reason }),
        Event::Error { command, reason } => Response::Refusal(rpc::AttachRefusal {
            request: match command.as_str() {
                "TerminalInput" => "input".to_owned(),
                "Resize" => "resize".to_owned(),
                other => Untrusted(other).to_string(),
            },
            reason,
        }),
        _ => return None,
    };
    Some(Ok(response(converted)))
}

fn response(response: attach_response::Response) -> rpc::AttachResponse {
    rpc::AttachResponse {
        response: Some(response),
    }
}

fn mode_from_proto(mode: i32) -> Result<AttachMode, Status> {
    match rpc::AttachMode::try_from(mode) {
        Ok(rpc::AttachMode::Unspecified | rpc::AttachMode::Observe) => Ok(AttachMode::Observe),
        Ok(rpc::AttachMode::Write) => Ok(AttachMode::Write),
        Ok(rpc::AttachMode::Takeover) => Ok(AttachMode::Takeover),
        Err(_) => Err(Status::invalid_argument(format!(
            "attach mode {mode} does not exist"
        ))),
    }
}

/// A client's terminal size, within the bounds every terminal size has.
fn terminal_size(size: &rpc::TerminalSize) -> Result<(u16, u16), Status> {
    let max = crate::shim::MAX_DIMENSION;
    let valid = |value: u32| {
        u16::try_from(value)
            .ok()
            .filter(|value| (1..=max).contains(value))
    };
    match (valid(size.rows), valid(size.cols)) {
        (Some(rows), Some(cols)) => Ok((rows, cols)),
        _ => Err(Status::invalid_argument(format!(
            "rows and cols must be between 1 and {max} (got {}x{})",
            size.rows, size.cols
        ))),
    }
}

fn shim_failed(error: impl std::fmt::Display) -> Status {
    Status::unavailable(format!(
        "the connection to the shim process failed: {error}"
    ))
}

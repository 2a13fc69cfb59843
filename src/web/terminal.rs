//! `GET /api/shims/{id}/terminal`: a shim's terminal over a WebSocket, for the agent view's
//! xterm.js. The socket is one Attach stream of the service (observer by default; `write` and
//! `takeover` as for `agentshim attach`, the single-writer rule included): the agent's bytes
//! go out as binary messages, the rest of the stream (attached, resized, refreshed, writer
//! changed, detached, an error) as JSON text messages `{"type": ...}`; the page's keys come in
//! as binary messages (or `{"type":"input","data"}`), its size as `{"type":"resize"}`, and
//! `{"type":"detach"}` or closing the socket detaches.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::Console;
use super::api::ApiError;
use crate::rpc::{self, attach_request, attach_response};

/// Requests (keys, sizes) buffered from the page before reading it waits.
const REQUEST_BUFFER: usize = 64;

#[derive(Deserialize)]
pub struct Attachment {
    mode: Option<String>,
    rows: Option<u16>,
    cols: Option<u16>,
}

/// What the page sends in a text message.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum PageMessage {
    Input { data: String },
    Resize { rows: u16, cols: u16 },
    Detach,
}

pub async fn attach(
    State(console): State<Console>,
    Path(shim_id): Path<String>,
    Query(attachment): Query<Attachment>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let mode = match attachment.mode.as_deref().unwrap_or("observe") {
        "observe" => rpc::AttachMode::Observe,
        "write" => rpc::AttachMode::Write,
        "takeover" => rpc::AttachMode::Takeover,
        other => {
            return Err(Status::invalid_argument(format!(
                "mode {} is not observe, write or takeover",
                crate::untrusted::Untrusted(other)
            ))
            .into());
        }
    };
    let size = attachment
        .rows
        .zip(attachment.cols)
        .map(|(rows, cols)| rpc::TerminalSize::new(rows, cols));
    let start = rpc::AttachStart {
        shim_id,
        mode: mode.into(),
        size,
    };
    Ok(upgrade.on_upgrade(move |socket| serve(console, start, socket)))
}

/// Attaches, then carries the socket's messages to the attachment and back until either ends.
async fn serve(console: Console, start: rpc::AttachStart, mut socket: WebSocket) {
    let (requests, requested) = mpsc::channel(REQUEST_BUFFER);
    let attached = console
        .service
        .attach_terminal(start, ReceiverStream::new(requested).map(Ok))
        .await;
    let mut responses = match attached {
        Ok(responses) => responses,
        Err(status) => {
            let _ = socket.send(error_message(status)).await;
            let _ = socket.close().await;
            return;
        }
    };
    let (mut to_page, mut from_page) = socket.split();
    loop {
        tokio::select! {
            response = responses.next() => {
                let Some(response) = response else { break };
                let (message, last) = match response {
                    Ok(response) => page_message(response),
                    Err(status) => (Some(error_message(status)), true),
                };
                if let Some(message) = message
                    && to_page.send(message).await.is_err()
                {
                    break;
                }
                if last {
                    break;
                }
            }
            message = from_page.next() => {
                let request = match message {
                    Some(Ok(Message::Binary(keys))) => attach_request::Request::Input(keys.to_vec()),
                    Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                        Ok(PageMessage::Input { data }) => attach_request::Request::Input(data.into_bytes()),
                        Ok(PageMessage::Resize { rows, cols }) => {
                            attach_request::Request::Resize(rpc::TerminalSize::new(rows, cols))
                        }
                        Ok(PageMessage::Detach) => attach_request::Request::Detach(rpc::AttachDetach {}),
                        Err(error) => {
                            let refused = Status::invalid_argument(format!("not a terminal message: {error}"));
                            let _ = to_page.send(error_message(refused)).await;
                            break;
                        }
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // Closed, or broken: the attachment ends with it.
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                let request = rpc::AttachRequest { request: Some(request) };
                if requests.send(request).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_page.close().await;
}

/// The page's message for one response, and whether it is the last.
fn page_message(response: rpc::AttachResponse) -> (Option<Message>, bool) {
    use attach_response::Response;
    let text = |value: Value| Some(Message::Text(Utf8Bytes::from(value.to_string())));
    match response.response {
        Some(Response::Output(bytes)) => (Some(Message::Binary(bytes.into())), false),
        Some(Response::Attached(attached)) => {
            let size = attached.size.unwrap_or_default();
            let value = json!({"type": "attached", "writer": attached.writer, "rows": size.rows, "cols": size.cols});
            (text(value), false)
        }
        Some(Response::Resized(size)) => (
            text(json!({"type": "resized", "rows": size.rows, "cols": size.cols})),
            false,
        ),
        Some(Response::Refreshed(refreshed)) => (
            text(json!({"type": "refreshed", "reason": refreshed.reason})),
            false,
        ),
        Some(Response::WriterChanged(changed)) => {
            let value = json!({"type": "writer_changed", "writer": changed.writer, "reason": changed.reason});
            (text(value), false)
        }
        Some(Response::Detached(detached)) => (
            text(json!({"type": "detached", "reason": detached.reason})),
            true,
        ),
        Some(Response::Refusal(refused)) => {
            let value =
                json!({"type": "refused", "request": refused.request, "reason": refused.reason});
            (text(value), false)
        }
        None => (None, false),
    }
}

fn error_message(status: Status) -> Message {
    let mut value = ApiError::from(status).to_json();
    value["type"] = "error".into();
    Message::Text(Utf8Bytes::from(value.to_string()))
}

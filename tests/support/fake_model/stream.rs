//! Response plumbing shared by the three APIs: server-sent-event framing, paced streaming
//! bodies (first chunk after a delay, then one chunk per interval, or a hang), text chunking and
//! JSON responses.
//!
//! A paced body is fed by a task through a channel: the task ends when the client goes away (the
//! send fails) or, for a hang, when the server shuts down.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::script::Pacing;

/// One piece of a streamed body and how long to wait before sending it.
pub struct Frame {
    pub delay: Duration,
    pub bytes: Bytes,
}

impl Frame {
    pub fn now(bytes: Bytes) -> Self {
        Self {
            delay: Duration::ZERO,
            bytes,
        }
    }

    pub fn after(delay: Duration, bytes: Bytes) -> Self {
        Self { delay, bytes }
    }
}

/// An SSE event: `event: NAME` (when given) and one `data:` line of compact JSON.
pub fn sse(event: Option<&str>, data: &Value) -> Bytes {
    let mut out = String::new();
    if let Some(name) = event {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&data.to_string());
    out.push_str("\n\n");
    Bytes::from(out)
}

/// Splits `text` into chunks of `words` words, each word keeping the whitespace after it, so
/// the chunks concatenate back to `text` exactly (newlines and unicode included).
pub fn chunk_text(text: &str, words: usize) -> Vec<String> {
    let words = words.max(1);
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            in_space = true;
        } else if in_space {
            pieces.push(std::mem::take(&mut current));
            in_space = false;
        }
        current.push(ch);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    let chunks: Vec<String> = pieces.chunks(words).map(|c| c.concat()).collect();
    if chunks.is_empty() {
        vec![String::new()]
    } else {
        chunks
    }
}

/// Delays for `n` content chunks under `pacing`: the first after `first_chunk_delay`, the rest
/// after `chunk_delay` each.
pub fn chunk_delays(pacing: &Pacing, n: usize) -> impl Iterator<Item = Duration> + '_ {
    (0..n).map(move |i| {
        if i == 0 {
            pacing.first_chunk_delay
        } else {
            pacing.chunk_delay
        }
    })
}

/// Total time a non-streamed reply of `n` chunks waits before it is sent.
pub fn total_delay(pacing: &Pacing, n: usize) -> Duration {
    chunk_delays(pacing, n).sum()
}

/// A 200 `text/event-stream` response sending `frames` on their schedule. With `hang`, the body
/// stays open after the frames until the server shuts down.
pub fn paced_sse(frames: Vec<Frame>, hang: bool, shutdown: watch::Receiver<bool>) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(feed(frames, hang, shutdown, tx));
    let body = Body::from_stream(ReceiverStream::new(rx));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// Sends the frames; `tx` is the only sender of the body's channel (the body holds `rx`).
async fn feed(
    frames: Vec<Frame>,
    hang: bool,
    mut shutdown: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    for frame in frames {
        if !frame.delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(frame.delay) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
        if tx.send(Ok(frame.bytes)).await.is_err() {
            return; // client went away
        }
    }
    if hang {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {}
            _ = tx.closed() => {}
        }
    }
}

/// A JSON response with `status` and extra headers.
pub fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A 200 response whose headers go out at once and whose body never comes (until shutdown).
pub fn hang_response(content_type: &'static str, shutdown: watch::Receiver<bool>) -> Response {
    let mut response = paced_sse(Vec::new(), true, shutdown);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

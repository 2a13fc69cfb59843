//! `GET /api/events`: the server's event stream as Server-Sent Events, for the fleet view.
//! Each event's SSE id is its seq and its data the JSON `agentshim events --json` prints, so a
//! browser's EventSource resumes by itself after a drop (it sends the last id back as
//! `Last-Event-ID`, or the page gives `?after_seq=`). A cursor the server does not have (one
//! from before a restart) starts the stream over from the oldest event retained, after an SSE
//! event named `reset` that tells the page to read the fleet again.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request};

use super::Console;
use super::api::ApiError;
use crate::cli::event_format::event_json;
use crate::rpc::{self, agent_shim_service_server::AgentShimService as _};
use crate::server::service::EventStream;

/// A comment line this often keeps proxies and the browser from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
pub struct Cursor {
    after_seq: Option<u64>,
}

pub async fn stream(
    State(console): State<Console>,
    Query(cursor): Query<Cursor>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resumed_at = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok());
    let after_seq = resumed_at.or(cursor.after_seq).unwrap_or(0);
    let (reset, events) = match subscribe(&console, after_seq).await {
        Err(status) if status.code() == Code::OutOfRange && after_seq > 0 => {
            (true, subscribe(&console, 0).await?)
        }
        subscribed => (false, subscribed?),
    };
    let reset = tokio_stream::iter(reset.then(|| Ok(Event::default().event("reset").data("{}"))));
    let events = events.map_while(|response| {
        let envelope = response.ok()?.envelope?;
        let data = event_json(&envelope).to_string();
        Some(Ok(Event::default().id(envelope.seq.to_string()).data(data)))
    });
    Ok(Sse::new(reset.chain(events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Every shim's events after `after_seq`.
async fn subscribe(console: &Console, after_seq: u64) -> Result<EventStream, tonic::Status> {
    let request = Request::new(rpc::StreamEventsRequest {
        shim_id: String::new(),
        after_seq,
        after_shim_seqs: Default::default(),
    });
    Ok(console.service.stream_events(request).await?.into_inner())
}

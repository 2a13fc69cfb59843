//! What `agentshim send --wait` shows while it waits, when stderr is a terminal (nothing
//! when it is not): the shim's events from the moment of sending, one line each as
//! `agentshim events` prints them, except the Completion and what comes with it (the answer
//! goes to stdout) and the periodic figures. A question the agent asks meanwhile is shown
//! with how to answer it. With `--follow`, the agent's terminal instead, live, as an
//! observer of it ([`crate::protocol::attach`]) sees it.

use std::io::Write;

use futures_util::StreamExt;

use crate::client::Client;
use crate::rpc::event_envelope::Event as Pb;
use crate::rpc::{AttachMode, AttachResponse, AttachStart, attach_response};

use super::event_format::event_text;

/// Follows shim `shim_id`'s events after `after_seq` and prints them on stderr, until the
/// stream ends or the caller drops the future.
pub(super) async fn show(mut client: Client, shim_id: String, after_seq: u64) {
    let Ok(mut events) = client.stream_events(Some(&shim_id), after_seq).await else {
        return;
    };
    while let Ok(Some(envelope)) = events.next_event().await {
        if matches!(
            envelope.event,
            Some(
                Pb::Completion(_)
                    | Pb::CommandExited(_)
                    | Pb::ResponseTruncated(_)
                    | Pb::SessionStats(_)
                    | Pb::ContextWarning(_)
            )
        ) {
            continue;
        }
        // One write per line, so the answer printed at the end never lands inside one.
        let line = format!("{}\n", event_text(&envelope).trim_end());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Attaches to shim `shim_id`'s terminal as an observer; once this returns, everything the
/// agent prints is on the stream (`None`: the attachment was refused, and nothing is shown).
pub(super) async fn observe(
    mut client: Client,
    shim_id: String,
) -> Option<tonic::Streaming<AttachResponse>> {
    let start = AttachStart {
        shim_id,
        mode: AttachMode::Observe.into(),
        size: None,
    };
    client
        .attach(start, futures_util::stream::pending())
        .await
        .ok()
}

/// Writes what the observed terminal prints to stderr until the attachment ends or the
/// caller drops the future.
pub(super) async fn follow(mut responses: tonic::Streaming<AttachResponse>) {
    while let Some(Ok(response)) = responses.next().await {
        match response.response {
            Some(attach_response::Response::Output(bytes)) => {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(&bytes);
                let _ = stderr.flush();
            }
            Some(attach_response::Response::Detached(_)) => return,
            _ => {}
        }
    }
}

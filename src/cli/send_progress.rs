//! What `agentshim send --wait` shows while it waits, when stderr is a terminal (nothing
//! when it is not): the shim's events from the moment of sending, one line each as
//! `agentshim events` prints them, except the Completion and what comes with it (the answer
//! goes to stdout) and the periodic figures. A question the agent asks meanwhile is shown
//! with how to answer it. With `--follow`, the agent's terminal instead, live, as an
//! observer of it ([`crate::protocol::attach`]) sees it.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::oneshot;

use crate::client::Client;
use crate::rpc::event_envelope::Event as Pb;
use crate::rpc::{AttachMode, AttachResponse, AttachStart, attach_response};
use crate::shim::screen::{SUMMARY_LINES, Screen};

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

/// How long the terminal is drawn, at most, after the answer came: the answer and the
/// terminal travel on connections of their own, so output of the turn may still be on its way.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Writes what the observed terminal prints to stderr until the attachment ends, or, once
/// `finished` gives the turn's last lines (its Completion's), until the terminal shows them
/// too (at most [`CATCH_UP`] later).
pub(super) async fn follow(
    mut responses: tonic::Streaming<AttachResponse>,
    mut finished: oneshot::Receiver<String>,
) {
    // The agent's screen as drawn here, to tell when the turn's end has arrived.
    let mut screen: Option<Screen> = None;
    let mut turn_end: Option<String> = None;
    let catch_up = tokio::time::sleep(Duration::MAX);
    tokio::pin!(catch_up);
    loop {
        if let (Some(last_lines), Some(screen)) = (&turn_end, &screen)
            && screen.snapshot().last_lines(SUMMARY_LINES) == *last_lines
        {
            return;
        }
        let response = tokio::select! {
            last_lines = &mut finished, if turn_end.is_none() => {
                let Ok(last_lines) = last_lines else { return };
                turn_end = Some(last_lines);
                catch_up.as_mut().reset(tokio::time::Instant::now() + CATCH_UP);
                continue;
            }
            () = &mut catch_up => return,
            response = responses.next() => response,
        };
        let Some(Ok(AttachResponse {
            response: Some(response),
        })) = response
        else {
            return;
        };
        match response {
            attach_response::Response::Attached(attached) => {
                let size = attached.size.unwrap_or_default();
                screen = Some(Screen::new(clamp(size.rows), clamp(size.cols), 0));
            }
            attach_response::Response::Resized(size) => {
                if let Some(screen) = &mut screen {
                    screen.resize(clamp(size.rows), clamp(size.cols));
                }
            }
            attach_response::Response::Output(bytes) => {
                let mut stderr = std::io::stderr().lock();
                let _ = stderr.write_all(&bytes);
                let _ = stderr.flush();
                if let Some(screen) = &mut screen {
                    screen.feed(&bytes);
                }
            }
            attach_response::Response::Detached(_) => return,
            _ => {}
        }
    }
}

/// A terminal dimension from the wire, at least 1.
fn clamp(dimension: u32) -> u16 {
    u16::try_from(dimension).unwrap_or(u16::MAX).max(1)
}

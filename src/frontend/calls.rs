//! The shim side of the link's calls ([`crate::protocol::link`]): runs one [`Call`] against the
//! shim and says how it went as a [`CallReply`], a refusal included, so the host that sent it
//! gets the same answer it would get from the shim's handle in its own process.

use std::time::Duration;

use crate::protocol::link::{Call, CallReply, ExplanationRecord};
use crate::shim::ShimHandle;
use crate::shim::core::{Decision, Explanation};

/// Runs `call` and answers it.
pub async fn run_call(handle: &ShimHandle, call: Call) -> CallReply {
    let outcome = match call {
        Call::Send {
            message_id,
            from,
            body,
        } => handle
            .send_message(from, body, Some(message_id))
            .await
            .map(|receipt| CallReply::Sent {
                id: receipt.id,
                queued: receipt.queued,
                removed: receipt.removed,
            })
            .map_err(|refused| refused.error),
        Call::Capture {
            last_n_lines,
            include_scrollback,
        } => handle
            .capture_scope(last_n_lines, include_scrollback)
            .await
            .map(|capture| CallReply::Captured {
                content: capture.content,
                cursor_row: capture.cursor_row,
                cursor_col: capture.cursor_col,
                rows: capture.rows,
                cols: capture.cols,
            }),
        Call::Status => handle.status().await.map(|status| CallReply::Status {
            state: status.state.state,
            since_ms: millis(status.state.since),
            pid: status.pid,
            exit_code: status.exit_code,
            queued_messages: status.queued_messages,
            last_event_seq: status.last_event_seq,
        }),
        Call::Resize { rows, cols } => handle.resize(rows, cols).await.map(|()| CallReply::Done),
        Call::Shutdown { timeout_ms, reason } => handle
            .shutdown(Duration::from_millis(timeout_ms), reason)
            .await
            .map(|exit_code| CallReply::Exited { exit_code }),
        Call::Kill => handle
            .kill()
            .await
            .map(|exit_code| CallReply::Exited { exit_code }),
        Call::Ping => handle.ping().await.map(|()| CallReply::Done),
        Call::Answer { option } => handle
            .answer(option)
            .await
            .map(|text| CallReply::Answered { text }),
        Call::SendKeys { keys } => handle.send_keys(keys).await.map(|()| CallReply::Done),
        Call::Explain => handle.explain().await.map(explained),
    };
    outcome.unwrap_or_else(|error| CallReply::Failed {
        error: error.into(),
    })
}

fn explained(explanation: Explanation) -> CallReply {
    let ExplanationRecord {
        state,
        since_ms,
        marks_seen,
        decisions,
    } = explanation_record(explanation);
    CallReply::Explained {
        state,
        since_ms,
        marks_seen,
        decisions,
    }
}

/// `explanation` as the link and the framed protocol carry it.
pub(super) fn explanation_record(explanation: Explanation) -> ExplanationRecord {
    ExplanationRecord {
        state: explanation.state,
        since_ms: millis(explanation.since),
        marks_seen: explanation.marks_seen,
        decisions: explanation
            .decisions
            .into_iter()
            .map(Decision::into_record)
            .collect(),
    }
}

/// `duration` in whole milliseconds, as the link carries durations.
pub(super) fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}

//! [`EventStream`]: the server's `StreamEvents` response as a [`Stream`] of
//! [`EventEnvelope`]s, with the transport's errors turned into [`ClientError`]s.
//!
//! The stream first replays the retained events after the requested `after_seq`, then follows
//! live events, in `seq` order. An `events_lost` envelope says which range the server evicted
//! before this stream could read it. To resume after a disconnect, open a new stream with the
//! last `seq` seen, on the same server process: the stream's [`EventStream::boot_id`] tells
//! which one it is ([`super::ResumableEvents`] does all of this for you).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

use super::ClientError;
use crate::rpc::{BOOT_ID_HEADER, EventEnvelope, StreamEventsResponse};

/// A live stream of events from the server (owned; dropping it closes the RPC).
#[derive(Debug)]
pub struct EventStream {
    /// The gRPC response stream; the server's `StreamEvents` handler holds the other end.
    inner: tonic::Streaming<StreamEventsResponse>,
    /// Seq of the newest envelope yielded so far (0 before the first).
    last_seq: u64,
    /// The boot id of the server process sending the stream, from its response header.
    boot_id: Option<String>,
}

/// The server's boot id in a response's (or an error status's) metadata.
pub(super) fn boot_id_of(metadata: &tonic::metadata::MetadataMap) -> Option<String> {
    metadata
        .get(BOOT_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

impl EventStream {
    pub(super) fn new(response: tonic::Response<tonic::Streaming<StreamEventsResponse>>) -> Self {
        let boot_id = boot_id_of(response.metadata());
        Self {
            inner: response.into_inner(),
            last_seq: 0,
            boot_id,
        }
    }

    /// The boot id of the server process sending this stream (`None` from a server too old to
    /// say): compare it with the one of an earlier stream before resuming by seq.
    pub fn boot_id(&self) -> Option<&str> {
        self.boot_id.as_deref()
    }

    /// The next envelope, `None` when the server ended the stream.
    pub async fn next_event(&mut self) -> Result<Option<EventEnvelope>, ClientError> {
        let Some(response) = self.inner.message().await? else {
            return Ok(None);
        };
        let envelope = super::part_of(response.envelope, "envelope")?;
        self.last_seq = self.last_seq.max(envelope.seq);
        Ok(Some(envelope))
    }

    /// Seq of the newest envelope yielded so far: the `after_seq` to resume from.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

impl Stream for EventStream {
    type Item = Result<EventEnvelope, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(response))) => {
                let envelope = super::part_of(response.envelope, "envelope");
                if let Ok(envelope) = &envelope {
                    this.last_seq = this.last_seq.max(envelope.seq);
                }
                Poll::Ready(Some(envelope))
            }
            Poll::Ready(Some(Err(status))) => Poll::Ready(Some(Err(status.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

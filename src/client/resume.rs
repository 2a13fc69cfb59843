//! [`ResumableEvents`]: an event stream that outlives disconnects, for an orchestrator that
//! follows many servers. It wraps [`Client::stream_events`], remembers the last `seq` it
//! yielded and the last `shim_seq` of each shim, and when the stream breaks (transport error,
//! cut link detected by keepalive, server gone or stopping) it reconnects with capped
//! exponential backoff plus jitter and resumes after them. Every transition is an explicit
//! [`ResumeItem`], never silence:
//!
//! - `Disconnected` each time the stream broke or a reconnect failed, with the error;
//! - `Resumed` when it reopened on the same server process (same boot id): the events the
//!   server still kept follow, exactly the missed ones; if the server evicted some of them
//!   meanwhile, an `events_lost` envelope names that range, as on any stream;
//! - `ServerRestarted` when the server answering is a new process (another boot id): the old
//!   seqs are gone, so the stream goes on from the new server's first event, leaving out the
//!   events of each shim up to the last `shim_seq` yielded. The shims the new server adopted
//!   (after a crash or an upgrade) go on exactly where they were, each event once; a stream of
//!   one shim the new server does not have ends with `Ended` (NOT_FOUND);
//! - `Ended` when going on is pointless (unknown shim, refused token, attempts exhausted).
//!
//! A server's boot id comes with every `StreamEvents` response (see
//! [`EventStream::boot_id`]), so a stream is compared with the very server process that sends
//! it. Pair this with [`super::ConnectOptions::keepalive`]: without keepalive, a link that is
//! cut without a reset is never noticed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{Client, ClientError, EventStream};
use crate::rpc::{EventEnvelope, StreamEventsRequest};

/// How [`ResumableEvents`] retries.
#[derive(Clone, Debug)]
pub struct ResumeOptions {
    /// The delay before the first reconnect; it doubles with each failure in a row.
    pub backoff_min: Duration,
    /// The longest delay between two reconnects.
    pub backoff_max: Duration,
    /// Give up ([`ResumeItem::Ended`]) when this many reconnect attempts in a row have failed;
    /// `None` never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for ResumeOptions {
    /// 100 ms doubling up to 10 s, retrying forever.
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

impl ResumeOptions {
    /// The delay before reconnect attempt `failures` (1 for the first): `backoff_min` doubled
    /// per earlier failure, capped at `backoff_max`, then scaled by `jitter` (0.0..=1.0) into
    /// its upper half, so hosts cut off together do not all come back in the same instant.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let doubled = self
            .backoff_min
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)));
        doubled
            .min(self.backoff_max)
            .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// What a [`ResumableEvents`] yields.
#[derive(Debug)]
pub enum ResumeItem {
    /// The stream opened for the first time, on the server process with this boot id (the
    /// expected one, if [`ResumableEvents::expecting_boot_id`] named one).
    Connected { boot_id: Option<String> },
    /// An event, in `seq` order. `events_lost` envelopes pass through unchanged.
    Event(EventEnvelope),
    /// The stream broke (or a reconnect failed) with `error`; reconnect attempt `attempt`
    /// follows after `retry_in`.
    Disconnected {
        error: ClientError,
        attempt: u32,
        retry_in: Duration,
    },
    /// Reopened on the same server process after `after_seq`, `outage` after it broke; the
    /// events it missed follow.
    Resumed {
        boot_id: Option<String>,
        after_seq: u64,
        outage: Duration,
    },
    /// Reopened on a restarted server: `last_seq` of `previous_boot_id` means nothing there.
    /// The stream goes on from the new server's first event, without the events of each shim
    /// up to the last `shim_seq` yielded: the shims it adopted go on where they were.
    ServerRestarted {
        previous_boot_id: Option<String>,
        boot_id: Option<String>,
        last_seq: u64,
        outage: Duration,
    },
    /// The stream is over: nothing follows. `error` is why (for example NOT_FOUND for a shim
    /// a restarted server does not have, or the last failure once attempts ran out).
    Ended { error: ClientError },
}

/// An event stream that reconnects and resumes by `seq`; see the module docs. Make one with
/// [`Client::resumable_events`]; read it with [`ResumableEvents::next`] or as a
/// [`futures_util::Stream`] ([`ResumableEvents::into_stream`]). Dropping it closes the stream.
#[derive(Debug)]
pub struct ResumableEvents {
    client: Client,
    shim_id: Option<String>,
    options: ResumeOptions,
    /// The last seq yielded: where the next stream starts.
    after_seq: u64,
    /// The last `shim_seq` yielded of each shim: where a stream on a restarted server starts.
    after_shim_seqs: HashMap<String, u64>,
    /// The boot id of the server the stream last came from (`None` before the first open
    /// unless the caller gave one, or from a server that does not send it).
    boot_id: Option<String>,
    /// Whether `boot_id` is known (from an open stream or the caller), so the next open checks
    /// that the server is still that process.
    boot_known: bool,
    /// Whether a stream was open before: the next open is then a resume.
    opened: bool,
    stream: Option<EventStream>,
    /// Failures since the last successful open.
    failures: u32,
    /// Wait this long before the next open.
    retry_in: Option<Duration>,
    /// When the last open stream broke.
    broke_at: Option<Instant>,
    /// Yielded by the next call, before anything else.
    pending: Option<ResumeItem>,
    ended: bool,
}

impl Client {
    /// Events of one shim (or of every shim with `None`) after `after_seq`, reconnecting and
    /// resuming as `options` say. Nothing is sent until the first [`ResumableEvents::next`].
    pub fn resumable_events(
        &self,
        shim_id: Option<&str>,
        after_seq: u64,
        options: ResumeOptions,
    ) -> ResumableEvents {
        ResumableEvents {
            client: self.clone(),
            shim_id: shim_id.map(str::to_owned),
            options,
            after_seq,
            after_shim_seqs: HashMap::new(),
            boot_id: None,
            boot_known: false,
            opened: false,
            stream: None,
            failures: 0,
            retry_in: None,
            broke_at: None,
            pending: None,
            ended: false,
        }
    }
}

impl ResumableEvents {
    /// Expect the server process with `boot_id` (from `ShimInfo.boot_id`, or saved from an
    /// earlier stream): if another one answers, the first open reports `ServerRestarted`
    /// instead of `Connected`, and does not resume by the old seq.
    pub fn expecting_boot_id(mut self, boot_id: impl Into<String>) -> Self {
        self.boot_id = Some(boot_id.into());
        self.boot_known = true;
        self
    }

    /// Leave out, on a restarted server, the events of each shim up to the `shim_seq` given:
    /// saved from [`Self::last_shim_seqs`] of an earlier stream by an orchestrator that
    /// restarted too, with that stream's boot id ([`Self::expecting_boot_id`]) and last seq.
    pub fn after_shim_seqs(mut self, after_shim_seqs: HashMap<String, u64>) -> Self {
        self.after_shim_seqs = after_shim_seqs;
        self
    }

    /// The last seq yielded (or the starting `after_seq`).
    pub fn last_seq(&self) -> u64 {
        self.after_seq
    }

    /// The last `shim_seq` yielded of each shim (with the starting ones).
    pub fn last_shim_seqs(&self) -> &HashMap<String, u64> {
        &self.after_shim_seqs
    }

    /// The next item; `None` after [`ResumeItem::Ended`]. Cancel-safe: dropping the future
    /// loses nothing (a backoff wait it interrupted starts over).
    pub async fn next(&mut self) -> Option<ResumeItem> {
        if let Some(item) = self.pending.take() {
            return Some(item);
        }
        if self.ended {
            return None;
        }
        let Some(stream) = &mut self.stream else {
            if let Some(delay) = self.retry_in {
                tokio::time::sleep(delay).await;
                self.retry_in = None;
            }
            return Some(match self.open().await {
                Ok(item) => item,
                Err(error) => {
                    let new_boot_id = self.restarted_boot_id(&error).await;
                    let failure = self.failed(error);
                    match new_boot_id {
                        Some(boot_id) => self.restarted_before(failure, boot_id),
                        None => failure,
                    }
                }
            });
        };
        let failure = match stream.next_event().await {
            Ok(Some(envelope)) => {
                self.after_seq = self.after_seq.max(envelope.seq);
                self.saw_shim_seq(&envelope);
                return Some(ResumeItem::Event(envelope));
            }
            Ok(None) => ClientError::StreamEnded,
            Err(error) => error,
        };
        self.stream = None;
        self.broke_at = Some(Instant::now());
        Some(self.failed(failure))
    }

    /// This stream as a [`Stream`], e.g. to merge many hosts with
    /// `futures_util::stream::select_all`.
    pub fn into_stream(self) -> BoxStream<'static, ResumeItem> {
        futures_util::stream::unfold(self, |mut events| async move {
            let item = events.next().await?;
            Some((item, events))
        })
        .boxed()
    }

    fn saw_shim_seq(&mut self, envelope: &EventEnvelope) {
        if envelope.shim_seq == 0 {
            return;
        }
        match self.after_shim_seqs.get_mut(&envelope.shim_id) {
            Some(last) => *last = (*last).max(envelope.shim_seq),
            None => {
                let shim_id = envelope.shim_id.clone();
                self.after_shim_seqs.insert(shim_id, envelope.shim_seq);
            }
        }
    }

    /// Opens a stream after `after_seq` (or, on another server process than the one it came
    /// from, after the shim seqs), checking which server it is. Changes nothing until the
    /// stream is open (so a dropped future loses nothing).
    async fn open(&mut self) -> Result<ResumeItem, ClientError> {
        let (mut after_seq, mut expected) = (self.after_seq, self.boot_id.clone());
        let mut restarted_from = None;
        let (stream, boot_id) = loop {
            let request = StreamEventsRequest {
                shim_id: self.shim_id.clone().unwrap_or_default(),
                after_seq,
                after_shim_seqs: match restarted_from {
                    Some(_) => self.after_shim_seqs.clone(),
                    None => HashMap::new(),
                },
            };
            let opened = self.client.clone().stream_events_as(request).await;
            let (stream, boot_id) = match opened {
                Ok(stream) => {
                    let boot_id = stream.boot_id().map(str::to_owned);
                    (Some(stream), boot_id)
                }
                // OUT_OF_RANGE: `after_seq` is ahead of the server's log, which happens when
                // our seqs come from the process before it.
                Err(ClientError::Status(status))
                    if status.code() == tonic::Code::OutOfRange && self.boot_known =>
                {
                    let boot_id = super::events::boot_id_of(status.metadata());
                    if boot_id == expected {
                        return Err(ClientError::Status(status));
                    }
                    (None, boot_id)
                }
                Err(error) => return Err(error),
            };
            let same_server = !self.boot_known || boot_id == expected;
            if !same_server {
                // Another server process: its seqs have nothing to do with ours.
                let previous = std::mem::replace(&mut expected, boot_id.clone());
                restarted_from.get_or_insert((previous, after_seq));
            }
            match stream {
                Some(stream) if same_server || after_seq == 0 => break (stream, boot_id),
                _ => after_seq = 0,
            }
        };
        let outage = self
            .broke_at
            .take()
            .map_or(Duration::ZERO, |at| at.elapsed());
        let item = match restarted_from {
            Some((previous_boot_id, last_seq)) => ResumeItem::ServerRestarted {
                previous_boot_id,
                boot_id: boot_id.clone(),
                last_seq,
                outage,
            },
            None if self.opened => ResumeItem::Resumed {
                boot_id: boot_id.clone(),
                after_seq,
                outage,
            },
            None => ResumeItem::Connected {
                boot_id: boot_id.clone(),
            },
        };
        self.after_seq = after_seq;
        self.boot_id = boot_id;
        self.boot_known = true;
        self.opened = true;
        self.stream = Some(stream);
        self.failures = 0;
        Ok(item)
    }

    /// When `error` ends the stream (an unknown shim, typically), whether that is because the
    /// server restarted: its new boot id (asked with `GetServerInfo`) if so.
    async fn restarted_boot_id(&self, error: &ClientError) -> Option<String> {
        if !self.boot_known || is_retryable(error) {
            return None;
        }
        let info = self.client.clone().server_info().await.ok()?;
        (self.boot_id.as_deref() != Some(info.boot_id.as_str())).then_some(info.boot_id)
    }

    /// `ServerRestarted` (to `boot_id`) now, and `failure` next.
    fn restarted_before(&mut self, failure: ResumeItem, boot_id: String) -> ResumeItem {
        self.pending = Some(failure);
        ResumeItem::ServerRestarted {
            previous_boot_id: self.boot_id.replace(boot_id.clone()),
            boot_id: Some(boot_id),
            last_seq: std::mem::take(&mut self.after_seq),
            outage: self
                .broke_at
                .take()
                .map_or(Duration::ZERO, |at| at.elapsed()),
        }
    }

    /// Counts a failure: `Ended` when it is final, else `Disconnected` with the next delay.
    fn failed(&mut self, error: ClientError) -> ResumeItem {
        self.failures += 1;
        let exhausted = self
            .options
            .max_attempts
            .is_some_and(|max| self.failures > max);
        if exhausted || !is_retryable(&error) {
            self.ended = true;
            return ResumeItem::Ended { error };
        }
        let retry_in = self.options.delay(self.failures, fastrand::f64());
        self.retry_in = Some(retry_in);
        ResumeItem::Disconnected {
            error,
            attempt: self.failures,
            retry_in,
        }
    }
}

/// Whether trying again may help: not for an unknown shim, a refused token or a bad request.
fn is_retryable(error: &ClientError) -> bool {
    use tonic::Code;
    !matches!(
        error.code(),
        Some(
            Code::NotFound
                | Code::Unauthenticated
                | Code::PermissionDenied
                | Code::InvalidArgument
                | Code::OutOfRange
                | Code::Unimplemented
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let options = ResumeOptions {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            max_attempts: None,
        };
        let full = |failures| options.delay(failures, 1.0);
        assert_eq!(full(1), Duration::from_millis(100));
        assert_eq!(full(2), Duration::from_millis(200));
        assert_eq!(full(4), Duration::from_millis(800));
        assert_eq!(full(5), Duration::from_secs(1));
        assert_eq!(full(u32::MAX), Duration::from_secs(1));
        assert_eq!(options.delay(3, 0.0), Duration::from_millis(200));
        assert_eq!(options.delay(3, 0.5), Duration::from_millis(300));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |code| ClientError::Status(tonic::Status::new(code, "x"));
        assert!(is_retryable(&status(tonic::Code::Unavailable)));
        assert!(is_retryable(&status(tonic::Code::Unknown)));
        assert!(is_retryable(&ClientError::StreamEnded));
        assert!(!is_retryable(&status(tonic::Code::NotFound)));
        assert!(!is_retryable(&status(tonic::Code::Unauthenticated)));
    }
}

//! What a link knows of its shim's status without asking ([`StatusKnowledge`]): the newest
//! status the shim process published (link version 2), the newest status version a reply
//! named, whether the shim process went quiet, and the attachments the server bridges to its
//! terminal; and the rule that says when that status may answer a lookup instead of a call
//! (the link's module doc says why each part of it is there).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::shim::{ShimStatus, StateReport};

/// A call unanswered this long stops the link answering lookups from the published status.
pub const UNANSWERED: Duration = Duration::from_secs(5);

/// The attachments to a linked shim's terminal open through this server.
#[derive(Debug, Clone, Default)]
pub(super) struct Attachments(Arc<AtomicUsize>);

impl Attachments {
    /// Counts an attachment until the guard is dropped.
    pub(super) fn attach(&self) -> AttachmentGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        AttachmentGuard(Arc::clone(&self.0))
    }

    fn none(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }
}

/// An attachment to a linked shim's terminal, counted while it lives
/// ([`super::LinkedShim::attachment`]).
#[derive(Debug)]
pub struct AttachmentGuard(Arc<AtomicUsize>);

impl Drop for AttachmentGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A status the shim process published, as the link keeps it.
struct KeptStatus {
    version: u64,
    /// When its state was entered (milliseconds since the Unix epoch).
    entered_unix_ms: u64,
    status: ShimStatus,
}

/// What one link knows of its shim's status; owned by the link's task.
pub(super) struct StatusKnowledge {
    /// The newest status the shim process published.
    published: Option<KeptStatus>,
    /// The newest status version a reply named: a published status older than that does
    /// not hold what that call did.
    answered_version: u64,
    /// A call expired unanswered, and nothing has come from the shim process since.
    silent: bool,
    attachments: Attachments,
}

impl StatusKnowledge {
    pub(super) fn new(attachments: Attachments) -> Self {
        Self {
            published: None,
            answered_version: 0,
            silent: false,
            attachments,
        }
    }

    /// Keeps a status the shim process published (its `since` is reckoned from
    /// `entered_unix_ms` when it answers), if it is newer than the one kept.
    pub(super) fn published(&mut self, version: u64, entered_unix_ms: u64, status: ShimStatus) {
        if self
            .published
            .as_ref()
            .is_some_and(|kept| kept.version >= version)
        {
            return;
        }
        self.published = Some(KeptStatus {
            version,
            entered_unix_ms,
            status,
        });
    }

    /// A reply named `status_version` (version 1 names none).
    pub(super) fn answered(&mut self, status_version: Option<u64>) {
        self.answered_version = self.answered_version.max(status_version.unwrap_or(0));
    }

    /// A frame came from the shim process.
    pub(super) fn heard_from(&mut self) {
        self.silent = false;
    }

    /// A call expired unanswered.
    pub(super) fn call_expired(&mut self) {
        self.silent = true;
    }

    /// The newest published status, while it is current and can be vouched for: it names
    /// `newest_event` (the shim seq of the newest event appended) as its newest, no event is
    /// held back, no reply named a newer one, no attachment shows the terminal meanwhile,
    /// and no call has waited for [`UNANSWERED`] since `oldest_call` was sent.
    pub(super) fn current(
        &self,
        newest_event: u64,
        nothing_held: bool,
        oldest_call: Option<Instant>,
    ) -> Option<ShimStatus> {
        let published = self.published.as_ref()?;
        let answering = !self.silent && oldest_call.is_none_or(|sent| sent.elapsed() < UNANSWERED);
        let current = nothing_held
            && published.status.last_event_seq == newest_event
            && published.version >= self.answered_version
            && self.attachments.none()
            && answering;
        current.then(|| ShimStatus {
            state: StateReport {
                since: Duration::from_millis(
                    crate::unix_time::now_unix_ms().saturating_sub(published.entered_unix_ms),
                ),
                ..published.status.state
            },
            ..published.status.clone()
        })
    }
}

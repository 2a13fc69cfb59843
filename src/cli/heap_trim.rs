//! A shim process gives back to the system, after each turn, the memory the turn left free on
//! its heap. A turn's output passes through buffers far bigger than what stays of it (the
//! history rows, the Completion): the PTY reads, the turn's text, its frame for the link.
//! glibc keeps freed memory for reuse, so without this every shim process would stay at the
//! size of its biggest turn (about 1.3 MB more per shim after a 5000-line turn, beside the
//! 6.5 MB it holds). One process per agent makes this worth doing: in-process, the shims
//! shared one heap and its free memory.

use std::sync::Arc;
use std::time::Duration;

use crate::protocol::Event;
use crate::shim::events::{EventLog, LogItem};

/// How long after a turn ends the heap is trimmed: once the turn's frames have been written.
const AFTER_THE_TURN: Duration = Duration::from_secs(1);

/// Trims the heap [`AFTER_THE_TURN`] after each turn of the log's shim ends (a `Completion`,
/// a `TurnInterrupted`, a `Died`), for as long as the log is open.
pub async fn trim_after_turns(events: Arc<EventLog>) {
    let mut subscription = events.subscribe(events.last_seq(), None);
    while let Some(item) = subscription.next().await {
        let LogItem::Event(envelope) = item else {
            continue;
        };
        if matches!(
            envelope.event,
            Event::Completion { .. } | Event::TurnInterrupted { .. } | Event::Died { .. }
        ) {
            tokio::time::sleep(AFTER_THE_TURN).await;
            trim();
        }
    }
}

/// Returns the heap's free pages to the system, and logs what that did to the resident set.
fn trim() {
    let before = resident_kb();
    // SAFETY: malloc_trim only hands free pages of the allocator's heap back to the system;
    // it touches no memory in use.
    let released = unsafe { libc::malloc_trim(0) } == 1;
    tracing::debug!(
        released,
        rss_kb_before = before,
        rss_kb_after = resident_kb(),
        "trimmed the heap after a turn"
    );
}

/// This process's resident set, in kB (0 if `/proc` cannot say).
fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_kb())
}

fn page_kb() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4, |bytes| bytes as u64 / 1024)
}

//! What a link knows of its shim's status without asking the shim process. Every change of a
//! status field comes with an event (a state change, a message queued or delivered, the
//! agent's death), so the newest status answer stays true, with each `StateChanged` after it
//! applied, until another kind of change comes, some events are lost, or the server sends a
//! call that acts on the shim (anything but status, capture, ping and explain). Until then a
//! status is this answer, its state's age grown by the time since.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::{Event, ShimState};
use crate::shim::{ShimStatus, StateReport};

/// The link's knowledge of its shim's status.
#[derive(Default)]
pub(super) struct KnownStatus {
    /// The newest status answer (its `last_event_seq` in the shim's sequence) while it is
    /// still exact, and when its state was last known to have begun or lasted.
    latest: Option<(ShimStatus, Instant)>,
    /// How many calls that act on the shim were sent so far: a status answer made before the
    /// latest of them may not show what it did.
    acts_sent: u64,
}

impl KnownStatus {
    /// A call that acts on the shim is being sent: what was known may no longer be.
    pub fn acting(&mut self) {
        self.acts_sent += 1;
        self.latest = None;
    }

    /// How many acting calls were sent so far: to stamp a status call with.
    pub fn acts_sent(&self) -> u64 {
        self.acts_sent
    }

    /// The shim answered a status call sent after `acts_sent` acting calls: it is known
    /// unless another one was sent since.
    pub fn answered(&mut self, status: &ShimStatus, acts_sent: u64) {
        if acts_sent == self.acts_sent {
            self.latest = Some((status.clone(), Instant::now()));
        }
    }

    /// Some of the shim's events will never come: what they changed is not known.
    pub fn forget(&mut self) {
        self.latest = None;
    }

    /// Takes in the shim's event `seq`, or forgets when it changes what it does not tell.
    pub fn observe(&mut self, seq: u64, event: &Event) {
        let Some((status, at)) = &mut self.latest else {
            return;
        };
        let last = status.last_event_seq;
        if seq <= last {
            return; // The answer shows it already.
        }
        match effect(event) {
            Effect::Keeps if seq == last + 1 => status.last_event_seq = seq,
            Effect::Enters(state) if seq == last + 1 => {
                status.state = StateReport {
                    state,
                    since: Duration::ZERO,
                };
                status.last_event_seq = seq;
                *at = Instant::now();
            }
            _ => self.latest = None,
        }
    }

    /// The status now, if it is known exactly with the link's log at shim seq `cursor`: what
    /// a status call would answer, but for its state's age.
    pub fn exact(&self, cursor: u64) -> Option<ShimStatus> {
        let (status, at) = self.latest.as_ref()?;
        (status.last_event_seq == cursor).then(|| {
            let mut status = status.clone();
            status.state.since += at.elapsed();
            status
        })
    }
}

/// What an event of the shim does to its status.
enum Effect {
    /// Nothing.
    Keeps,
    /// The agent is in this state from now on, and nothing else changed.
    Enters(ShimState),
    /// Something the event alone does not tell (the queue, the exit code).
    Changes,
}

fn effect(event: &Event) -> Effect {
    match event {
        Event::StateChanged { to, .. } => Effect::Enters(*to),
        Event::Ready
        | Event::Completion { .. }
        | Event::ContextWarning { .. }
        | Event::ContextApproaching { .. }
        | Event::ScreenCapture { .. }
        | Event::State { .. }
        | Event::SessionStats { .. }
        | Event::Pong
        | Event::Warning { .. }
        | Event::Error { .. }
        | Event::InputRequested { .. }
        | Event::ResponseTruncated { .. }
        | Event::CommandExited { .. } => Effect::Keeps,
        Event::MessageDelivered { .. }
        | Event::MessageQueued { .. }
        | Event::DeliveryFailed { .. }
        | Event::TurnInterrupted { .. }
        | Event::Died { .. }
        | Event::ContextExhausted { .. }
        | Event::QuotaBlocked { .. }
        | Event::QuotaResumed { .. }
        | Event::Linked { .. }
        | Event::Logged { .. }
        | Event::EventsLost { .. }
        | Event::Reply { .. } => Effect::Changes,
    }
}

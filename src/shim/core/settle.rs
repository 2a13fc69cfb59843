//! The settle window: the screen is judged once output has paused for the driver's settle
//! time, and at least every `max_settle` while output never pauses (agents redraw in bursts;
//! a frame half drawn is never classified).

use std::time::{Duration, Instant};

/// When buffered output is next classified.
#[derive(Debug, Default)]
pub(super) struct Settle {
    /// The end of the current window, if output is waiting to be judged.
    at: Option<Instant>,
    /// The first output not judged yet: bounds the window under continuous output.
    since: Option<Instant>,
}

impl Settle {
    /// Output arrived at `now`: the window ends `pause` later, or `max` after the first
    /// output not judged, whichever is sooner.
    pub(super) fn output(&mut self, now: Instant, pause: Duration, max: Duration) {
        let since = *self.since.get_or_insert(now);
        self.at = Some((now + pause).min(since + max));
    }

    /// Forgets the pending window (what was drawn is judged some other way, or not at all).
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.at
    }

    pub(super) fn pending(&self) -> bool {
        self.at.is_some()
    }

    /// True (once) when the window has ended by `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> bool {
        let due = self.at.is_some_and(|at| now >= at);
        if due {
            self.clear();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_end_the_window_and_continuous_output_is_bounded() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut settle = Settle::default();
        settle.output(t0, ms(120), ms(1000));
        assert_eq!(settle.deadline(), Some(t0 + ms(120)));
        assert!(!settle.take_due(t0 + ms(119)));
        // Output every 100 ms: the window moves on, but not past a second after the first.
        for step in 1..=12 {
            settle.output(t0 + ms(100 * step), ms(120), ms(1000));
        }
        assert_eq!(settle.deadline(), Some(t0 + ms(1000)));
        assert!(settle.take_due(t0 + ms(1000)));
        assert!(!settle.pending());
        assert!(!settle.take_due(t0 + ms(5000)));
    }
}

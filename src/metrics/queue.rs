//! A FIFO queue that keeps the queue metrics itself: every push counts in
//! [`MESSAGES_QUEUED`](super::MESSAGES_QUEUED), and what it holds is added to
//! [`MESSAGE_QUEUE_LENGTH`](super::MESSAGE_QUEUE_LENGTH) until it leaves, by being taken or
//! with the queue itself. Reading goes through `Deref` to the inner `VecDeque`; only the
//! methods below change it, so the gauge cannot drift.

use std::collections::VecDeque;
use std::ops::Deref;

use metrics::{counter, gauge};

use super::{MESSAGE_QUEUE_LENGTH, MESSAGES_QUEUED};

#[derive(Debug)]
pub(crate) struct MeteredQueue<T> {
    items: VecDeque<T>,
}

impl<T> Default for MeteredQueue<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
        }
    }
}

impl<T> MeteredQueue<T> {
    pub(crate) fn push_back(&mut self, item: T) {
        self.items.push_back(item);
        counter!(MESSAGES_QUEUED).increment(1);
        gauge!(MESSAGE_QUEUE_LENGTH).increment(1.0);
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.pop_front()?;
        gauge!(MESSAGE_QUEUE_LENGTH).decrement(1.0);
        Some(item)
    }

    /// Empties the queue, returning everything it held in order.
    pub(crate) fn take_all(&mut self) -> VecDeque<T> {
        gauge!(MESSAGE_QUEUE_LENGTH).decrement(self.items.len() as f64);
        std::mem::take(&mut self.items)
    }
}

impl<T> Deref for MeteredQueue<T> {
    type Target = VecDeque<T>;

    fn deref(&self) -> &VecDeque<T> {
        &self.items
    }
}

impl<T> Drop for MeteredQueue<T> {
    fn drop(&mut self) {
        gauge!(MESSAGE_QUEUE_LENGTH).decrement(self.items.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sample, with_test_recorder};
    use super::*;

    #[test]
    fn length_follows_pushes_pops_takes_and_drop() {
        with_test_recorder(|handle| {
            let length = || sample(handle, MESSAGE_QUEUE_LENGTH);
            let mut queue = MeteredQueue::default();
            for n in 0..4 {
                queue.push_back(n);
            }
            assert_eq!(queue.pop_front(), Some(0));
            assert_eq!((queue.len(), length()), (3, Some(3.0)));
            assert_eq!(Vec::from(queue.take_all()), vec![1, 2, 3]);
            assert_eq!(queue.pop_front(), None);
            assert_eq!(length(), Some(0.0));
            queue.push_back(4);
            assert_eq!(length(), Some(1.0));
            drop(queue);
            assert_eq!(length(), Some(0.0));
            assert_eq!(sample(handle, MESSAGES_QUEUED), Some(5.0));
        });
    }
}

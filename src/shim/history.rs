//! The rows that scrolled off the top of the screen, kept compactly: their text (trailing
//! spaces removed) and whether each wraps into the next, numbered by absolute row (0 is the
//! first row that ever left the screen). vt100 keeps the live grid; its own scrollback, a full
//! cell grid with attributes for every row, is not used: nothing reads colour from history,
//! and text alone is a fraction of the size. Bounded by rows and by bytes; the oldest rows go
//! first, and how many went is counted, so absolute rows stay stable.

use std::collections::VecDeque;

/// Bytes a retained row costs besides its text (the box and the flag).
const ROW_OVERHEAD: usize = std::mem::size_of::<HistoryRow>();

/// One row of history.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HistoryRow {
    text: Box<str>,
    /// The row's text goes on in the next row (the line was wider than the screen).
    wrapped: bool,
}

/// The retained rows and how many were dropped before them.
#[derive(Debug)]
pub struct History {
    rows: VecDeque<HistoryRow>,
    /// Rows dropped from the front so far: the absolute row of `rows[0]`.
    dropped: u64,
    /// Bytes the retained rows cost.
    bytes: usize,
    max_rows: usize,
    max_bytes: usize,
}

impl History {
    pub fn new(max_rows: usize, max_bytes: usize) -> Self {
        Self {
            rows: VecDeque::new(),
            dropped: 0,
            bytes: 0,
            max_rows,
            max_bytes,
        }
    }

    /// A row left the screen.
    pub fn push(&mut self, text: &str, wrapped: bool) {
        let row = HistoryRow {
            text: text.trim_end().into(),
            wrapped,
        };
        self.bytes += row.text.len() + ROW_OVERHEAD;
        self.rows.push_back(row);
        while self.rows.len() > self.max_rows || self.bytes > self.max_bytes {
            let Some(oldest) = self.rows.pop_front() else {
                break;
            };
            self.bytes -= oldest.text.len() + ROW_OVERHEAD;
            self.dropped += 1;
        }
    }

    /// The absolute row of the oldest retained row.
    pub fn first_row(&self) -> u64 {
        self.dropped
    }

    /// The absolute row after the newest one: how many rows have left the screen so far (the
    /// absolute row of the screen's top line).
    pub fn end_row(&self) -> u64 {
        self.dropped + self.rows.len() as u64
    }

    /// Bytes the retained rows cost.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The retained rows `from..to` (absolute, clamped to what is retained): text and wrap.
    pub fn rows(&self, from: u64, to: u64) -> impl Iterator<Item = (&str, bool)> {
        let start = from
            .saturating_sub(self.dropped)
            .min(self.rows.len() as u64) as usize;
        let end = to.saturating_sub(self.dropped).min(self.rows.len() as u64) as usize;
        self.rows
            .range(start..end.max(start))
            .map(|row| (&*row.text, row.wrapped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_absolute_numbers_as_old_ones_go() {
        let mut history = History::new(3, usize::MAX);
        for n in 0..5 {
            history.push(&format!("row {n}   "), n == 1);
        }
        assert_eq!((history.first_row(), history.end_row()), (2, 5));
        let rows: Vec<(&str, bool)> = history.rows(0, 10).collect();
        assert_eq!(rows, [("row 2", false), ("row 3", false), ("row 4", false)]);
        assert_eq!(history.rows(3, 4).collect::<Vec<_>>(), [("row 3", false)]);
        assert_eq!(history.rows(4, 2).count(), 0);
    }

    #[test]
    fn the_byte_bound_drops_the_oldest_rows() {
        let row_cost = 100 + ROW_OVERHEAD;
        let mut history = History::new(1000, 3 * row_cost);
        for _ in 0..10 {
            history.push(&"x".repeat(100), false);
        }
        assert_eq!(history.rows(0, 100).count(), 3);
        assert_eq!(history.bytes(), 3 * row_cost);
        assert_eq!(history.first_row(), 7);
    }
}

//! A person typing into the agent through an attachment (the writer), as `ShimCore` methods.
//! While a writer is attached:
//! - messages wait in the queue ([`ShimCore::gate`]), so nothing is typed into a person's
//!   half-typed line; the queue moves on when the writer leaves;
//! - the terminal has the writer's size; a `Resize` request is remembered as the shim's own
//!   size, which the terminal returns to when the writer leaves;
//! - what the person types goes to the agent as it is, except while a message is being
//!   delivered (one that was under way when they attached): their keys wait, in order, until
//!   the delivery is over (the agent took the message, or it failed), even if they detach
//!   meanwhile.
//!
//! A line the person leaves half-typed when they detach stays as it is: the next message is
//! typed after it.
//!
//! The state is still read from the screen and the program's signals: a person who runs a
//! command makes the agent work, and its turn ends with a `Completion` without a message id.

use super::*;

/// The writer attached now.
#[derive(Debug)]
pub(super) struct Writer {
    /// The terminal's size to return to when the writer leaves.
    own_size: (u16, u16),
}

impl ShimCore {
    /// A writer attached (or took over from another), its terminal `size` if it has one.
    pub fn writer_attached(&mut self, size: Option<(u16, u16)>) -> Result<(), ShimError> {
        self.check_input_allowed()?;
        if let Some((rows, cols)) = size {
            check_dimensions(rows, cols)?;
        }
        let own_size = match self.writer.take() {
            Some(previous) => previous.own_size,
            None => self.screen.size(),
        };
        tracing::info!(shim = %self.id, ?size, "writer attached");
        self.writer = Some(Writer { own_size });
        if let Some((rows, cols)) = size {
            self.apply_size(rows, cols);
        }
        Ok(())
    }

    /// The writer typed `bytes`.
    pub fn writer_typed(&mut self, bytes: &[u8]) -> Result<(), ShimError> {
        self.check_input_allowed()?;
        if self.writer.is_none() {
            return Err(no_writer());
        }
        self.held_keys.extend_from_slice(bytes);
        self.release_writer_input();
        Ok(())
    }

    /// The writer's terminal is now `rows`x`cols`.
    pub fn writer_resized(&mut self, rows: u16, cols: u16) -> Result<(), ShimError> {
        check_dimensions(rows, cols)?;
        self.check_input_allowed()?;
        if self.writer.is_none() {
            return Err(no_writer());
        }
        self.apply_size(rows, cols);
        Ok(())
    }

    /// The writer left: the terminal returns to the shim's own size and the queue moves on.
    pub fn writer_detached(&mut self, now: Instant) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        tracing::info!(shim = %self.id, "writer detached");
        let (rows, cols) = writer.own_size;
        if self.exit.is_none() && self.screen.size() != (rows, cols) {
            self.apply_size(rows, cols);
        }
        self.cause = Cause::Request("writer detached".to_owned());
        // What the person typed goes in before the next message does.
        self.release_writer_input();
        self.deliver_next(now);
    }

    /// Whether a writer is attached.
    pub fn has_writer(&self) -> bool {
        self.writer.is_some()
    }

    /// Remembers `rows`x`cols` as the shim's own size while a writer sizes the terminal;
    /// true when it did (the terminal keeps the writer's size).
    pub(super) fn remember_own_size(&mut self, rows: u16, cols: u16) -> bool {
        match &mut self.writer {
            Some(writer) => {
                writer.own_size = (rows, cols);
                true
            }
            None => false,
        }
    }

    /// Types what the writer typed while a message was being delivered, once it is not.
    pub(super) fn release_writer_input(&mut self) {
        if self.delivery.is_none() && !self.held_keys.is_empty() {
            self.outbox.append(&mut self.held_keys);
        }
    }

    /// The reason a message waits while a writer is attached.
    pub(super) fn writer_hold(&self) -> Option<String> {
        self.writer.as_ref().map(|_| {
            "a person is attached to the agent's terminal as its writer; it is typed once \
             they detach"
                .to_owned()
        })
    }
}

fn no_writer() -> ShimError {
    ShimError::InvalidArgument("no writer is attached".to_owned())
}

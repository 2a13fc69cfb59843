//! The agent's terminal shared with attached clients ([`crate::protocol::attach`]): the actor
//! owns one [`SharedTerminal`], which hands every attached client the screen as it is and a
//! receiver of everything the agent prints after it, and knows which client is the writer.
//!
//! Output goes to the clients through one bounded broadcast channel: the agent never waits for
//! a client. A client that reads too slowly loses its place in the channel (it is *lagged*);
//! it then asks for a [`Redraw`], the screen as it is now with a fresh receiver, so it skips
//! what it missed without ever showing a wrong screen. Nothing is copied while nobody is
//! attached.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{broadcast, oneshot, watch};

use super::ShimError;
use super::core::ShimCore;
use crate::protocol::attach::AttachMode;

/// Output reads a client may be behind before it is lagged and redrawn.
const BACKLOG: usize = 256;

/// Clients attached to one shim at once; one more is refused.
pub const MAX_ATTACHED: usize = 32;

/// What an attached client receives after the screen.
#[derive(Debug, Clone)]
pub enum TerminalUpdate {
    /// Bytes the agent printed.
    Output(Bytes),
    /// The terminal is now `rows`x`cols`.
    Resized { rows: u16, cols: u16 },
}

/// An attached client's id, given by the shim.
pub type ClientId = u64;

/// What a client gets when it attaches.
#[derive(Debug)]
pub struct Attachment {
    pub client: ClientId,
    /// Whether this client is the writer.
    pub writer: bool,
    /// The screen now and where the output after it starts.
    pub redraw: Redraw,
    /// The writer's id whenever it changes.
    pub writer_now: watch::Receiver<Option<ClientId>>,
}

/// The screen drawn from scratch, and the updates that follow it.
#[derive(Debug)]
pub struct Redraw {
    pub rows: u16,
    pub cols: u16,
    /// Escape sequences that draw the screen (see [`super::screen::Screen::drawing`]).
    pub drawing: Vec<u8>,
    pub updates: broadcast::Receiver<TerminalUpdate>,
}

/// A request about the shared terminal, to the actor that owns it.
#[derive(Debug)]
pub(crate) enum TerminalRequest {
    Attach {
        mode: AttachMode,
        size: Option<(u16, u16)>,
        reply: oneshot::Sender<Result<Attachment, ShimError>>,
    },
    Redraw {
        reply: oneshot::Sender<Redraw>,
    },
    Input {
        client: ClientId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<(), ShimError>>,
    },
    Resize {
        client: ClientId,
        rows: u16,
        cols: u16,
        reply: oneshot::Sender<Result<(), ShimError>>,
    },
    Detach {
        client: ClientId,
    },
}

/// The attached clients of one shim, as its actor sees them.
#[derive(Debug)]
pub(super) struct SharedTerminal {
    updates: broadcast::Sender<TerminalUpdate>,
    writer: watch::Sender<Option<ClientId>>,
    next_client: ClientId,
    /// Clients attached now.
    attached: HashSet<ClientId>,
}

impl SharedTerminal {
    pub(super) fn new() -> Self {
        Self {
            updates: broadcast::channel(BACKLOG).0,
            writer: watch::channel(None).0,
            next_client: 1,
            attached: HashSet::new(),
        }
    }

    /// The agent printed `bytes`.
    pub(super) fn output(&self, bytes: &[u8]) {
        if self.updates.receiver_count() > 0 {
            let _ = self
                .updates
                .send(TerminalUpdate::Output(Bytes::copy_from_slice(bytes)));
        }
    }

    /// The terminal was resized.
    pub(super) fn resized(&self, rows: u16, cols: u16) {
        let _ = self.updates.send(TerminalUpdate::Resized { rows, cols });
    }

    /// Carries out `request` against `core` at `now`.
    pub(super) fn handle(&mut self, core: &mut ShimCore, now: Instant, request: TerminalRequest) {
        match request {
            TerminalRequest::Attach { mode, size, reply } => {
                let _ = reply.send(self.attach(core, mode, size));
            }
            TerminalRequest::Redraw { reply } => {
                let _ = reply.send(self.redraw(core));
            }
            TerminalRequest::Input {
                client,
                bytes,
                reply,
            } => {
                let _ = reply.send(
                    self.check_writer(client)
                        .and_then(|()| core.writer_typed(&bytes)),
                );
            }
            TerminalRequest::Resize {
                client,
                rows,
                cols,
                reply,
            } => {
                let _ = reply.send(
                    self.check_writer(client)
                        .and_then(|()| core.writer_resized(rows, cols)),
                );
            }
            TerminalRequest::Detach { client } => {
                self.attached.remove(&client);
                if self.is_writer(client) {
                    self.writer.send_replace(None);
                    core.writer_detached(now);
                }
            }
        }
    }

    fn attach(
        &mut self,
        core: &mut ShimCore,
        mode: AttachMode,
        size: Option<(u16, u16)>,
    ) -> Result<Attachment, ShimError> {
        let client = self.next_client;
        if self.attached.len() >= MAX_ATTACHED {
            return Err(ShimError::Unavailable {
                state: core.state(),
                detail: format!("{MAX_ATTACHED} clients are attached already"),
            });
        }
        if mode == AttachMode::Write && self.writer.borrow().is_some() {
            return Err(ShimError::Unavailable {
                state: core.state(),
                detail: "another client is attached as the writer; attach with takeover to \
                         take its place"
                    .to_owned(),
            });
        }
        if mode.writes() {
            core.writer_attached(size)?;
            self.writer.send_replace(Some(client));
        }
        self.next_client += 1;
        self.attached.insert(client);
        Ok(Attachment {
            client,
            writer: mode.writes(),
            redraw: self.redraw(core),
            writer_now: self.writer.subscribe(),
        })
    }

    fn redraw(&self, core: &ShimCore) -> Redraw {
        let (rows, cols) = core.size();
        Redraw {
            rows,
            cols,
            drawing: core.drawing(),
            updates: self.updates.subscribe(),
        }
    }

    fn is_writer(&self, client: ClientId) -> bool {
        *self.writer.borrow() == Some(client)
    }

    fn check_writer(&self, client: ClientId) -> Result<(), ShimError> {
        if self.is_writer(client) {
            Ok(())
        } else {
            Err(ShimError::InvalidArgument(
                "this client is not the writer: attach with write or takeover to type".to_owned(),
            ))
        }
    }
}

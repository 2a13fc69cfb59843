//! One connection attached to the shim's terminal ([`crate::protocol::attach`]): the screen
//! first, then the agent's output as it comes, the writer's input into the agent, and the
//! frames that say what changed (a resize, a redraw after falling behind, the writer's place
//! taken, the end). The connection's other commands (`GetState`, `SendMessage`, ...) are still
//! answered; the shim's events are not sent, except that the agent's death ends the
//! attachment.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::codec::FramedRead;

use super::connection::{
    ConnectionEnd, EventSink, apply, malformed_error, oversize_error, write_within,
};
use crate::protocol::attach::{decode_bytes, encode_bytes};
use crate::protocol::codec::{FrameError, JsonFrameCodec};
use crate::protocol::{Command, Event};
use crate::shim::ShimHandle;
use crate::shim::attach::{Attachment, TerminalUpdate};
use crate::shim::events::{LogItem, Subscription};

/// Bytes of the screen's drawing per `TerminalOutput` frame (base64 makes a third more).
const DRAWING_CHUNK: usize = 256 * 1024;

pub(super) type CommandStream<S> = FramedRead<ReadHalf<S>, JsonFrameCodec<Command>>;

/// The connection, once attached.
pub(super) struct Attached<'a, S> {
    pub(super) commands: &'a mut CommandStream<S>,
    pub(super) events: &'a mut EventSink<S>,
    /// The connection's events, read only for the agent's death.
    pub(super) subscription: &'a mut Subscription,
    pub(super) write_timeout: Option<Duration>,
}

impl<S: AsyncRead + AsyncWrite> Attached<'_, S> {
    /// Serves `attachment` until it ends; the shim is then told the client is gone.
    pub(super) async fn serve(
        mut self,
        handle: &ShimHandle,
        attachment: Attachment,
    ) -> ConnectionEnd {
        let client = attachment.client;
        let end = self.run(handle, attachment).await;
        handle.detach(client).await;
        end
    }

    async fn run(&mut self, handle: &ShimHandle, attachment: Attachment) -> ConnectionEnd {
        let Attachment {
            client,
            mut writer,
            redraw,
            mut writer_now,
        } = attachment;
        let attached = Event::Attached {
            writer,
            rows: redraw.rows,
            cols: redraw.cols,
        };
        if let Err(end) = self.write(&attached).await {
            return end;
        }
        if let Err(end) = self.draw(&redraw.drawing).await {
            return end;
        }
        let mut updates = redraw.updates;
        loop {
            let outgoing: Vec<Event> = tokio::select! {
                // The client's commands first, so a flood of output never keeps its keys (a
                // Ctrl-C for the flood) waiting; output before the death that follows it.
                biased;
                frame = self.commands.next() => match frame {
                    None => return ConnectionEnd::Detached,
                    Some(Ok(Ok(Command::Detach))) => {
                        return self.detached("detached at the client's request").await;
                    }
                    Some(Ok(Ok(command))) => self.command(handle, client, writer, command).await,
                    Some(Ok(Err(malformed))) => vec![malformed_error(&malformed)],
                    Some(Err(FrameError::TooLarge { len })) => {
                        let _ = self.write(&oversize_error(len)).await;
                        return ConnectionEnd::ProtocolViolation;
                    }
                    Some(Err(_)) => return ConnectionEnd::Failed,
                },
                Ok(()) = writer_now.changed() => {
                    let now_writer = *writer_now.borrow_and_update() == Some(client);
                    if writer && !now_writer {
                        writer = false;
                        vec![Event::WriterChanged {
                            writer: false,
                            reason: "another client took over as the writer; this one observes"
                                .to_owned(),
                        }]
                    } else {
                        Vec::new()
                    }
                },
                update = updates.recv() => match update {
                    Ok(update) => vec![update_frame(update)],
                    Err(RecvError::Lagged(missed)) => match handle.redraw().await {
                        Ok(redraw) => {
                            updates = redraw.updates;
                            let refreshed = Event::TerminalRefreshed {
                                reason: format!(
                                    "this client fell {missed} output reads behind the agent; \
                                     they are skipped and the screen is drawn again"
                                ),
                            };
                            let size = Event::TerminalResized { rows: redraw.rows, cols: redraw.cols };
                            if let Err(end) = self.write(&refreshed).await {
                                return end;
                            }
                            if let Err(end) = self.write(&size).await {
                                return end;
                            }
                            if let Err(end) = self.draw(&redraw.drawing).await {
                                return end;
                            }
                            Vec::new()
                        }
                        Err(error) => return self.detached(&error.to_string()).await,
                    },
                    Err(RecvError::Closed) => return self.detached("the shim is closing").await,
                },
                item = self.subscription.next() => match item {
                    Some(LogItem::Event(envelope)) => match envelope.event {
                        Event::Died { exit_code, .. } => {
                            // The agent's last output was broadcast before its death.
                            while let Ok(update) = updates.try_recv() {
                                if let Err(end) = self.write(&update_frame(update)).await {
                                    return end;
                                }
                            }
                            let code = exit_code.map_or("unknown".to_owned(), |c| c.to_string());
                            return self.detached(&format!("the agent exited (exit code {code})")).await;
                        }
                        _ => Vec::new(),
                    },
                    Some(LogItem::Gap { .. }) => Vec::new(),
                    None => return self.detached("the shim is closing").await,
                },
            };
            for event in &outgoing {
                if let Err(end) = self.write(event).await {
                    return end;
                }
            }
        }
    }

    /// Answers a command sent on the attached connection.
    async fn command(
        &mut self,
        handle: &ShimHandle,
        client: u64,
        writer: bool,
        command: Command,
    ) -> Vec<Event> {
        let name = command.name();
        let refused = |reason: String| {
            vec![Event::Error {
                command: name.to_owned(),
                reason,
            }]
        };
        match command {
            Command::TerminalInput { data } => match decode_bytes(&data) {
                Ok(bytes) => match handle.type_as_writer(client, bytes).await {
                    Ok(()) => Vec::new(),
                    Err(error) => refused(error.to_string()),
                },
                Err(error) => refused(format!("data is not base64: {error}")),
            },
            Command::Resize { rows, cols } if writer => {
                match handle.resize_as_writer(client, rows, cols).await {
                    Ok(()) => Vec::new(),
                    Err(error) => refused(error.to_string()),
                }
            }
            Command::Resize { .. } => refused(
                "an observer does not size the agent's terminal; the writer does".to_owned(),
            ),
            Command::Attach { .. } | Command::Link { .. } | Command::Call { .. } => {
                refused("this connection is attached; open another connection for that".to_owned())
            }
            other => apply(handle, other).await,
        }
    }

    /// Writes the screen's drawing as `TerminalOutput` frames.
    async fn draw(&mut self, drawing: &[u8]) -> Result<(), ConnectionEnd> {
        for chunk in drawing.chunks(DRAWING_CHUNK) {
            let output = Event::TerminalOutput {
                data: encode_bytes(chunk),
            };
            self.write(&output).await?;
        }
        Ok(())
    }

    /// Ends the attachment with `Detached`.
    async fn detached(&mut self, reason: &str) -> ConnectionEnd {
        let detached = Event::Detached {
            reason: reason.to_owned(),
        };
        match self.write(&detached).await {
            Ok(()) => ConnectionEnd::Detached,
            Err(end) => end,
        }
    }

    async fn write(&mut self, event: &Event) -> Result<(), ConnectionEnd> {
        write_within(self.events, event, self.write_timeout).await
    }
}

/// The frame that carries `update`.
fn update_frame(update: TerminalUpdate) -> Event {
    match update {
        TerminalUpdate::Output(bytes) => Event::TerminalOutput {
            data: encode_bytes(&bytes),
        },
        TerminalUpdate::Resized { rows, cols } => Event::TerminalResized { rows, cols },
    }
}

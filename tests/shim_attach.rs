//! Attaching to `agentshim shim --socket` (real bash, real sockets): an observer gets the
//! screen, then the output; a writer types and sizes the terminal while messages wait, which
//! go on once it detaches, at the shim's own size again; a second writer is refused unless it
//! takes over, and the writer it replaces is told; a client that reads too slowly is redrawn
//! while the agent goes on; a writer's keys get through a flood of output; the agent's exit
//! ends every attachment.

use crate::support::shim_socket;
use crate::support::terminal_view::TerminalView;

use agentshim::protocol::attach::{AttachMode, encode_bytes};
use agentshim::protocol::{Channel, Command, Event};
use agentshim::shim::{DEFAULT_COLS, DEFAULT_ROWS};
use shim_socket::{PROMPT, SocketShim, completion, send, wait_for};

/// An attached connection and the screen it shows.
struct Attached {
    client: Channel,
    view: TerminalView,
    writer: bool,
}

impl Attached {
    /// Attaches a new connection to `shim` in `mode`, with a writer's `size`.
    fn new(shim: &SocketShim, mode: AttachMode, size: Option<(u16, u16)>) -> Self {
        let (mut client, _) = shim.connect();
        client
            .send(&Command::Attach {
                mode,
                rows: size.map(|(rows, _)| rows),
                cols: size.map(|(_, cols)| cols),
            })
            .unwrap();
        match wait_for(&mut client, "Attached", |e| {
            matches!(e, Event::Attached { .. })
        }) {
            Event::Attached { writer, rows, cols } => Self {
                client,
                view: TerminalView::new(rows, cols),
                writer,
            },
            _ => unreachable!(),
        }
    }

    /// Reads frames into the view until its screen shows `text`; returns the frames that
    /// are not output.
    fn shows(&mut self, text: &str) -> Vec<Event> {
        let mut others = Vec::new();
        while !self.view.contents().contains(text) {
            let frame = match self.client.recv::<Event>() {
                Ok(Some(frame)) => frame,
                other => panic!(
                    "the screen never showed {text:?}: {other:?}; it shows:\n{}",
                    self.view.contents()
                ),
            };
            self.view.apply(&frame);
            if !matches!(
                frame,
                Event::TerminalOutput { .. } | Event::TerminalResized { .. }
            ) {
                others.push(frame);
            }
        }
        others
    }

    /// Reads frames (drawing the output) until one matches.
    fn frame(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
        loop {
            let frame = match self.client.recv::<Event>() {
                Ok(Some(frame)) => frame,
                other => panic!("no {what}: {other:?}"),
            };
            self.view.apply(&frame);
            if wanted(&frame) {
                return frame;
            }
        }
    }

    fn types(&mut self, text: &str) {
        self.client
            .send(&Command::TerminalInput {
                data: encode_bytes(text.as_bytes()),
            })
            .unwrap();
    }
}

/// A shim whose bash is at its prompt, and a client of its events.
fn ready_shim() -> (SocketShim, Channel) {
    let shim = SocketShim::start(&[]);
    let (mut events, _) = shim.connect();
    wait_for(&mut events, "Ready", |e| matches!(e, Event::Ready));
    (shim, events)
}

#[test]
fn an_observer_sees_the_screen_then_the_output() {
    let (shim, mut events) = ready_shim();
    let mut observer = Attached::new(&shim, AttachMode::Observe, None);
    assert!(!observer.writer);
    observer.shows(PROMPT);
    send(&mut events, "m1", "echo attached-$((6*7))");
    completion(&mut events, "m1");
    observer.shows("attached-42");
    // An observer cannot type.
    observer.types("echo nope\r");
    observer.frame("refusal", |e| {
        matches!(e, Event::Error { command, reason } if command == "TerminalInput" && reason.contains("not the writer"))
    });
}

#[test]
fn messages_wait_for_the_writer_to_detach_and_the_size_returns() {
    let (shim, mut events) = ready_shim();
    let mut writer = Attached::new(&shim, AttachMode::Write, Some((30, 100)));
    assert!(writer.writer);
    writer.shows(PROMPT);
    writer.types("stty size\r");
    writer.shows("30 100");
    send(&mut events, "queued", "stty size");
    wait_for(
        &mut events,
        "the hold's Warning",
        |e| matches!(e, Event::Warning { message, .. } if message.contains("held") && message.contains("writer")),
    );
    wait_for(
        &mut events,
        "MessageQueued",
        |e| matches!(e, Event::MessageQueued { id, .. } if id == "queued"),
    );
    writer.client.send(&Command::Detach).unwrap();
    writer.frame(
        "Detached",
        |e| matches!(e, Event::Detached { reason } if reason.contains("client's request")),
    );
    let own_size = format!("{DEFAULT_ROWS} {DEFAULT_COLS}");
    assert!(completion(&mut events, "queued").contains(&own_size));
}

#[test]
fn a_second_writer_is_refused_unless_it_takes_over() {
    let (shim, _events) = ready_shim();
    let mut first = Attached::new(&shim, AttachMode::Write, None);
    first.shows(PROMPT);
    let (mut refused, _) = shim.connect();
    refused
        .send(&Command::Attach {
            mode: AttachMode::Write,
            rows: None,
            cols: None,
        })
        .unwrap();
    wait_for(
        &mut refused,
        "the refusal",
        |e| matches!(e, Event::Error { command, reason } if command == "Attach" && reason.contains("takeover")),
    );
    let mut second = Attached::new(&shim, AttachMode::Takeover, None);
    assert!(second.writer);
    first.frame("WriterChanged", |e| {
        matches!(e, Event::WriterChanged { writer: false, .. })
    });
    first.types("echo from-first\r");
    first.frame(
        "refusal",
        |e| matches!(e, Event::Error { command, .. } if command == "TerminalInput"),
    );
    second.types("echo from-$((2+3))-second\r");
    second.shows("from-5-second");
    first.shows("from-5-second");
}

#[test]
fn a_client_that_falls_behind_is_redrawn_and_the_agent_goes_on() {
    let (shim, mut events) = ready_shim();
    let mut slow = Attached::new(&shim, AttachMode::Observe, None);
    // The slow client reads nothing while the agent prints megabytes.
    send(
        &mut events,
        "flood",
        "seq 1 400000; echo flood-$((1+1))-done",
    );
    completion(&mut events, "flood");
    let others = slow.shows("flood-2-done");
    assert!(
        others
            .iter()
            .any(|e| matches!(e, Event::TerminalRefreshed { reason } if reason.contains("behind"))),
        "no TerminalRefreshed among {others:?}"
    );
}

#[test]
fn a_writers_ctrl_c_gets_through_a_flood_of_output() {
    let (shim, _events) = ready_shim();
    let mut writer = Attached::new(&shim, AttachMode::Write, None);
    writer.shows(PROMPT);
    writer.types("yes\r");
    writer.shows("y\ny\ny");
    writer.types("\x03");
    writer.types("echo stopped-$((2*4))\r");
    writer.shows("stopped-8");
}

#[test]
fn the_agents_exit_ends_every_attachment() {
    let (shim, _events) = ready_shim();
    let mut observer = Attached::new(&shim, AttachMode::Observe, None);
    let mut writer = Attached::new(&shim, AttachMode::Write, None);
    writer.shows(PROMPT);
    writer.types("exit 3\r");
    for attached in [&mut writer, &mut observer] {
        attached.frame(
            "Detached",
            |e| matches!(e, Event::Detached { reason } if reason.contains("exit code 3")),
        );
    }
}

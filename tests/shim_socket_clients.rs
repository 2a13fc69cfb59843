//! `agentshim shim --socket` with several clients at once, over real sockets with a real bash:
//! a stuck client (connects, sends nothing, reads nothing) blocks nobody; a client that stops
//! reading while the agent talks stalls neither the agent nor the others and is closed after
//! `--client-write-timeout`; a new connection replays from where the last client that left
//! stopped (from the start while none has left); at `--max-clients` the quietest connection
//! makes room; the shim exits when a client that received `Died` leaves.

use crate::support::shim_socket;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use agentshim::protocol::{Channel, Command, Event};
use shim_socket::{SocketShim, TIMEOUT, completion, ping, send, wait_for};

/// Waits (bounded by [`TIMEOUT`]) until `socket` reports one of `events` (`poll(2)` flags)
/// without reading it; panics naming `what` otherwise.
fn wait_readiness(socket: &UnixStream, events: libc::c_short, what: &str) -> libc::c_short {
    let mut pollfd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events,
        revents: 0,
    };
    let timeout_ms = TIMEOUT.as_millis() as libc::c_int;
    // SAFETY: one valid pollfd for an open descriptor owned by `socket`.
    let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
    assert!(
        ready == 1,
        "no {what} within {TIMEOUT:?} (poll gave {ready})"
    );
    pollfd.revents
}

/// Bytes received on `socket` and not read yet.
fn unread_bytes(socket: &UnixStream) -> usize {
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int for an open socket owned by `socket`.
    let result = unsafe { libc::ioctl(socket.as_raw_fd(), libc::FIONREAD, &mut unread) };
    assert_eq!(result, 0, "FIONREAD failed");
    unread as usize
}

/// A connection the test never reads from (nor writes to), once the shim has started writing
/// to it: the stuck client of the issue.
fn stuck_client(shim: &SocketShim) -> UnixStream {
    let (_, raw) = shim.connect();
    wait_readiness(&raw, libc::POLLIN, "first frame to the stuck client");
    raw
}

/// Reads events until `what`, counting the bytes of every frame read on the way (each frame
/// is a 4-byte length plus the JSON the shim sent, which is serde_json's encoding of it).
fn wait_counting(client: &mut Channel, what: &str, wanted: impl Fn(&Event) -> bool) -> usize {
    let mut bytes = 0;
    loop {
        let event: Event = match client.recv() {
            Ok(Some(event)) => event,
            other => panic!("no {what}: {other:?}"),
        };
        bytes += 4 + serde_json::to_vec(&event).unwrap().len();
        if wanted(&event) {
            return bytes;
        }
    }
}

fn is_ready(event: &Event) -> bool {
    matches!(event, Event::Ready)
}

#[test]
fn a_stuck_client_blocks_no_other_client() {
    let shim = SocketShim::start(&[]);
    let _stuck = stuck_client(&shim);

    // The second client starts from the beginning (nobody has left yet): Ready first.
    let (mut client, _raw) = shim.connect();
    wait_for(&mut client, "Ready", is_ready);
    ping(&mut client);
    send(&mut client, "m1", "echo served beside a stuck client");
    assert_eq!(
        completion(&mut client, "m1"),
        "served beside a stuck client"
    );
}

#[test]
fn a_client_that_stops_reading_stalls_nothing_and_is_closed() {
    let shim = SocketShim::start(&["--client-write-timeout", "2"]);
    let stuck = stuck_client(&shim);
    let (mut client, _raw) = shim.connect();
    let mut received = wait_counting(&mut client, "Ready", is_ready);

    // Three answers of 200 KB each: more than a Unix socket buffers for a reader that never
    // reads, so the shim's writes to the stuck client block.
    let lines = "for i in $(seq 1 1000); do printf '%0200d\\n' $i; done";
    for id in ["big1", "big2", "big3"] {
        send(&mut client, id, lines);
        received += wait_counting(
            &mut client,
            id,
            |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
        );
    }
    let stuck_unread = unread_bytes(&stuck);
    assert!(
        stuck_unread < received,
        "the stuck client holds {stuck_unread} bytes, the reader got {received}: \
         the shim must still be trying to write to it"
    );
    // The agent goes on and the other client is answered while that write is blocked.
    send(&mut client, "after", "echo the agent was not stalled");
    assert_eq!(
        completion(&mut client, "after"),
        "the agent was not stalled"
    );
    ping(&mut client);

    // After the write timeout the shim gives up: the stuck socket is hung up, and what it
    // holds ends (possibly mid-frame) with end-of-file.
    let revents = wait_readiness(&stuck, libc::POLLRDHUP, "hang-up of the stuck client");
    assert!(revents & libc::POLLRDHUP != 0, "revents {revents:#x}");
    let mut drained = Vec::new();
    let mut reader = &stuck;
    reader.read_to_end(&mut drained).unwrap();
    assert_eq!(drained.len(), stuck_unread);
    ping(&mut client);
}

#[test]
fn a_new_connection_resumes_where_the_last_client_that_left_stopped() {
    let mut shim = SocketShim::start(&[]);
    let (mut observer, _observer_raw) = shim.connect();
    wait_for(&mut observer, "Ready", is_ready);
    let (mut first, first_raw) = shim.connect();
    wait_for(&mut first, "Ready", is_ready);
    send(&mut first, "m1", "echo one");
    assert_eq!(completion(&mut first, "m1"), "one");
    drop((first, first_raw));

    // m2 happens while the first client is away; the observer sees it live.
    send(&mut observer, "m2", "echo two");
    assert_eq!(completion(&mut observer, "m2"), "two");
    let (mut back, back_raw) = shim.connect();
    let event = wait_for(&mut back, "m2's Completion", |e| {
        assert!(
            !is_ready(e)
                && !matches!(e, Event::Completion { message_id: Some(m), .. } if m == "m1"),
            "replayed what the client had already received: {e:?}"
        );
        matches!(e, Event::Completion { message_id: Some(m), .. } if m == "m2")
    });
    assert!(matches!(event, Event::Completion { .. }));

    // Died reaches both; the shim exits when a client that received it leaves, which closes
    // the other connection too.
    back.send(&Command::Kill).unwrap();
    wait_for(&mut back, "Died", |e| matches!(e, Event::Died { .. }));
    wait_for(&mut observer, "Died", |e| matches!(e, Event::Died { .. }));
    drop((back, back_raw));
    assert!(shim.process.wait_exit().success());
    assert!(matches!(observer.recv::<Event>(), Ok(None)));
    assert!(!shim.path.exists());
}

#[test]
fn at_max_clients_the_quietest_connection_makes_room() {
    let shim = SocketShim::start(&["--max-clients", "2"]);
    let (mut quiet, _quiet_raw) = shim.connect();
    wait_for(&mut quiet, "Ready", is_ready);
    let (mut active, _active_raw) = shim.connect();
    ping(&mut active);

    let (mut newcomer, _newcomer_raw) = shim.connect();
    ping(&mut newcomer);
    let farewell = wait_for(&mut quiet, "Error", |e| matches!(e, Event::Error { .. }));
    assert!(
        matches!(&farewell, Event::Error { reason, .. } if reason.contains("2 clients")),
        "{farewell:?}"
    );
    assert!(matches!(quiet.recv::<Event>(), Ok(None)));
    ping(&mut active);
}

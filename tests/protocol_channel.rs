//! Proves the blocking `Channel` behaves as the spec's: every variant round-trips over a
//! socketpair; a hung-up peer reads as `Ok(None)`; a frame above `MAX_FRAME_LEN` is an error, not
//! a panic, both when its header arrives and when sending it (nothing is written, so the stream
//! stays usable); a frame of exactly the limit passes; an expired write timeout surfaces as an
//! `std::io::Error`.

use std::io::{ErrorKind, Write};
use std::thread;
use std::time::Duration;

use agentshim::protocol::{self, Channel, MAX_FRAME_LEN, socketpair};
use serde::Serialize;

use crate::support::frame_limit;
use crate::support::protocol_samples as samples;

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serialize")
}

#[test]
fn channel_round_trips_every_variant_and_reports_eof() {
    let (client_end, shim_end) = socketpair().expect("socketpair");
    let (mut client, mut shim) = (Channel::new(client_end), Channel::new(shim_end));
    let commands = samples::ours::commands()
        .into_iter()
        .chain(samples::ours::link_commands())
        .chain(samples::ours::attach_commands());
    for command in commands {
        client.send(&command).expect("send command");
        let received: protocol::Command = shim.recv().expect("recv").expect("not EOF");
        assert_eq!(json(&received), json(&command));
    }
    let events = samples::ours::events()
        .into_iter()
        .chain(samples::ours::link_frames())
        .chain(samples::ours::attach_frames());
    for event in events {
        shim.send(&event).expect("send event");
        let received: protocol::Event = client.recv().expect("recv").expect("not EOF");
        assert_eq!(json(&received), json(&event));
    }
    drop(client);
    assert!(
        shim.recv::<protocol::Command>()
            .expect("EOF is not an error")
            .is_none()
    );
}

#[test]
fn channel_rejects_incoming_header_over_the_limit() {
    let (mut raw_peer, shim_end) = socketpair().expect("socketpair");
    let announced = u32::try_from(MAX_FRAME_LEN + 1).expect("fits u32");
    raw_peer
        .write_all(&announced.to_be_bytes())
        .expect("write header");
    let err = Channel::new(shim_end)
        .recv::<protocol::Command>()
        .expect_err("oversize frame must be an error");
    assert!(err.to_string().contains("too large"), "{err}");
}

#[test]
fn channel_carries_a_frame_of_exactly_the_limit() {
    let (client_end, shim_end) = socketpair().expect("socketpair");
    let largest = frame_limit::message_with_json_len(MAX_FRAME_LEN);
    let expected = json(&largest);
    let sender = thread::spawn(move || Channel::new(client_end).send(&largest));
    let received: protocol::Command = Channel::new(shim_end).recv().expect("recv").expect("frame");
    sender
        .join()
        .expect("sender thread")
        .expect("send at the limit");
    assert_eq!(json(&received), expected);
}

#[test]
fn channel_refuses_to_send_over_the_limit_and_stays_usable() {
    let (client_end, shim_end) = socketpair().expect("socketpair");
    let (mut client, mut shim) = (Channel::new(client_end), Channel::new(shim_end));
    let too_large = frame_limit::message_with_json_len(MAX_FRAME_LEN + 1);
    assert!(client.send(&too_large).is_err());
    client
        .send(&protocol::Command::Ping)
        .expect("send after refusal");
    let received: protocol::Command = shim.recv().expect("recv").expect("not EOF");
    assert!(
        matches!(received, protocol::Command::Ping),
        "nothing of the refused frame was sent"
    );
}

#[test]
fn send_fails_with_an_io_error_when_the_write_timeout_expires() {
    let (client_end, _unread_peer) = socketpair().expect("socketpair");
    let mut client = Channel::new(client_end);
    client
        .set_write_timeout(Some(Duration::from_millis(20)))
        .expect("set timeout");
    let filler = frame_limit::message_with_json_len(64 * 1024);
    let err = (0..10_000)
        .find_map(|_| client.send(&filler).err())
        .expect("an unread socket fills up");
    let io = err.downcast_ref::<std::io::Error>().expect("an io::Error");
    assert!(
        matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{io:?}"
    );
}

//! The link keeps its word to the shim processes already running: every frame a version-1
//! host and a version-1 shim write (`contract/link_v1.json`, frozen when version 1 shipped),
//! and every frame version 2 added (`contract/link_v2.json`), still reads as the same thing
//! today and writes back as the same JSON. A server upgraded
//! while its shim processes run (SIGUSR1, then the new binary) adopts shims of the old
//! binary, so nothing of what they say or expect may change meaning: new capability comes as
//! new variants and new optional fields, and a new `LINK_VERSION` with a fixture of its own.
//!
//! The exhaustive matches below list the variants version 1 has: a variant added later does
//! not compile here until it is listed, with the link version that brought it.

use std::collections::BTreeSet;

use agentshim::protocol::link::{Call, CallError, CallReply, StartReport};
use agentshim::protocol::{Command, Event};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const FIXTURE_V1: &str = include_str!("contract/link_v1.json");
const FIXTURE_V2: &str = include_str!("contract/link_v2.json");

fn fixture(text: &str, version: u32) -> Value {
    let fixture: Value = serde_json::from_str(text).expect("the fixture is JSON");
    assert_eq!(fixture["version"], version, "the version-{version} fixture");
    fixture
}

/// Reads `frame` as today's `T` and writes it back: the same JSON, or the frame has changed
/// meaning.
fn read_back<T: Serialize + DeserializeOwned>(frame: &Value) -> T {
    let read: T = serde_json::from_value(frame.clone())
        .unwrap_or_else(|error| panic!("a version-1 frame no longer reads: {error}\n{frame}"));
    let written = serde_json::to_value(&read).expect("serialise");
    assert_eq!(&written, frame, "a version-1 frame reads as something else");
    read
}

fn frames(section: &str) -> Vec<Value> {
    frames_of(&fixture(FIXTURE_V1, 1), section)
}

fn frames_of(fixture: &Value, section: &str) -> Vec<Value> {
    fixture[section]
        .as_array()
        .unwrap_or_else(|| panic!("no {section} in the fixture"))
        .clone()
}

/// The link version a call came with (all of today's: 1).
fn call_version(call: &Call) -> u32 {
    match call {
        Call::Send { .. }
        | Call::Capture { .. }
        | Call::Status
        | Call::Resize { .. }
        | Call::Shutdown { .. }
        | Call::Kill
        | Call::Ping
        | Call::Answer { .. }
        | Call::SendKeys { .. }
        | Call::Explain => 1,
    }
}

/// The link version a reply came with.
fn reply_version(reply: &CallReply) -> u32 {
    match reply {
        CallReply::Sent { .. }
        | CallReply::Captured { .. }
        | CallReply::Status { .. }
        | CallReply::Exited { .. }
        | CallReply::Answered { .. }
        | CallReply::Explained { .. }
        | CallReply::Done
        | CallReply::Failed { .. } => 1,
    }
}

/// The link version an error came with, and its wire name.
fn error_version(error: &CallError) -> (u32, &'static str) {
    match error {
        CallError::OutOfFiles { .. } => (1, "out_of_files"),
        CallError::Spawn { .. } => (1, "spawn"),
        CallError::InvalidArgument { .. } => (1, "invalid_argument"),
        CallError::AgentDead { .. } => (1, "agent_dead"),
        CallError::Unavailable { .. } => (1, "unavailable"),
        CallError::DuplicateMessage { .. } => (1, "duplicate_message"),
        CallError::TooLarge { .. } => (1, "too_large"),
        CallError::QueueFull { .. } => (1, "queue_full"),
        CallError::NotAnswered { .. } => (1, "not_answered"),
        CallError::ShimGone => (1, "shim_gone"),
        CallError::Pty { .. } => (1, "pty"),
        CallError::LinkLost { .. } => (1, "link_lost"),
    }
}

#[test]
fn every_frame_a_version_1_host_writes_reads_the_same_today() {
    let mut calls = BTreeSet::new();
    let mut linked_from = BTreeSet::new();
    for frame in frames("host") {
        match read_back::<Command>(&frame) {
            Command::Link { version, after_seq } => {
                assert_eq!(version, 1);
                linked_from.insert(after_seq);
            }
            Command::Call { call, .. } => {
                assert_eq!(call_version(&call), 1, "{frame}");
                calls.insert(call.name());
            }
            other => panic!("not a link frame: {other:?}"),
        }
    }
    let every_call: BTreeSet<_> = [
        "send",
        "capture",
        "status",
        "resize",
        "shutdown",
        "kill",
        "ping",
        "answer",
        "send_keys",
        "explain",
    ]
    .into();
    assert_eq!(calls, every_call, "the fixture holds every version-1 call");
    assert_eq!(linked_from, [0, 41].into());
}

#[test]
fn every_frame_a_version_1_shim_writes_reads_the_same_today() {
    let (mut replies, mut errors, mut kinds) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for frame in frames("shim") {
        let event = read_back::<Event>(&frame);
        assert!(event.is_link_frame(), "{frame}");
        kinds.insert(event.name());
        match event {
            Event::Logged { emitted, .. } => assert!(!emitted.is_link_frame()),
            Event::Reply { reply, .. } => {
                assert_eq!(reply_version(&reply), 1);
                replies.insert(reply.name());
                if let CallReply::Failed { error } = &reply {
                    let (version, name) = error_version(error);
                    assert_eq!(version, 1);
                    errors.insert(name);
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        kinds,
        ["Linked", "Logged", "EventsLost", "Reply"].into(),
        "every kind of link frame"
    );
    let every_reply: BTreeSet<_> = [
        "sent",
        "captured",
        "status",
        "exited",
        "answered",
        "explained",
        "done",
        "failed",
    ]
    .into();
    assert_eq!(
        replies, every_reply,
        "the fixture holds every version-1 reply"
    );
    let every_error: BTreeSet<_> = [
        "out_of_files",
        "spawn",
        "invalid_argument",
        "agent_dead",
        "unavailable",
        "duplicate_message",
        "too_large",
        "queue_full",
        "not_answered",
        "shim_gone",
        "pty",
        "link_lost",
    ]
    .into();
    assert_eq!(
        errors, every_error,
        "the fixture holds every version-1 error"
    );
}

#[test]
fn what_a_version_1_shim_process_announces_reads_the_same_today() {
    let reports: Vec<StartReport> = frames("start_reports").iter().map(read_back).collect();
    assert!(matches!(reports[0], StartReport::Listening { pid: 4242 }));
    assert!(matches!(
        &reports[1],
        StartReport::Failed {
            error: CallError::Spawn { .. }
        }
    ));
}

#[test]
fn every_frame_version_2_added_reads_the_same_today() {
    let fixture = fixture(FIXTURE_V2, 2);
    for frame in frames_of(&fixture, "host") {
        let command = read_back::<Command>(&frame);
        assert!(
            matches!(command, Command::Link { version: 2, .. }),
            "{frame}"
        );
    }
    let mut kinds = BTreeSet::new();
    let mut named_versions = Vec::new();
    for frame in frames_of(&fixture, "shim") {
        let event = read_back::<Event>(&frame);
        assert!(event.is_link_frame(), "{frame}");
        kinds.insert(event.name());
        match event {
            Event::Reply { status_version, .. } => named_versions.extend(status_version),
            Event::Status { version, .. } => named_versions.push(version),
            _ => {}
        }
    }
    assert_eq!(kinds, ["Linked", "Status", "Reply"].into());
    assert_eq!(named_versions, [1, 2, 2, 9]);
}

//! Proves that `agentshim::protocol` honours the customer's wire contract, the seed
//! `spec/protocol.rs` kept verbatim in `tests/contract/seed_protocol.rs`:
//!
//! - the fixture has not drifted from the shared spec;
//! - every `Command` and `Event` variant serialises to the same JSON bytes from the seed types and
//!   from ours, in both directions, including omitted optional and defaulted fields;
//! - `ShimState` and `ShutdownReason` keep their names, `Display` and `label()`;
//! - the seed's own blocking `Channel` and ours talk to each other and agree on the size limit.
//!
//! A program written against the spec is in `protocol_spec_program.rs`, `Channel`'s own
//! behaviours in `protocol_channel.rs`, the async codec's in `protocol_codec.rs`.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::Path;
use std::thread;

use agentshim::protocol::{self, Channel, MAX_FRAME_LEN, ShimState, ShutdownReason};
use serde::{Serialize, de::DeserializeOwned};

use crate::support::frame_limit;
use crate::support::protocol_samples as samples;

/// The customer's contract compiled as-is, with the shared samples built from its types.
#[allow(dead_code)] // kept verbatim: not every item of the spec is exercised from here
mod seed {
    include!("contract/seed_protocol.rs");

    protocol_samples!();
}

const SEED_FIXTURE: &[u8] = include_bytes!("contract/seed_protocol.rs");

const COMMAND_TAGS: [&str; 7] = [
    "SendMessage",
    "CaptureScreen",
    "GetState",
    "Resize",
    "Shutdown",
    "Kill",
    "Ping",
];

const EVENT_TAGS: [&str; 16] = [
    "Ready",
    "StateChanged",
    "MessageDelivered",
    "Completion",
    "Died",
    "ContextExhausted",
    "ContextWarning",
    "ContextApproaching",
    "QuotaBlocked",
    "ScreenCapture",
    "State",
    "SessionStats",
    "Pong",
    "Warning",
    "DeliveryFailed",
    "Error",
];

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("serialize")
}

/// Serialises `value`, parses that JSON as `To`, serialises again and asserts the bytes did not
/// change; returns the JSON.
fn assert_reserializes_as<To: Serialize + DeserializeOwned>(value: &impl Serialize) -> String {
    let wire = json(value);
    let parsed: To = serde_json::from_str(&wire).unwrap_or_else(|e| panic!("{wire}: {e}"));
    assert_eq!(json(&parsed), wire);
    wire
}

fn tags(values: &[impl Serialize], tag_field: &str) -> BTreeSet<String> {
    values
        .iter()
        .map(|value| {
            let value = serde_json::to_value(value).expect("serialize");
            value[tag_field].as_str().expect("a string tag").to_string()
        })
        .collect()
}

#[test]
fn seed_fixture_is_byte_identical_to_shared_spec() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/protocol.rs");
    match std::fs::read(&spec) {
        Ok(shared) => assert!(
            shared == SEED_FIXTURE,
            "tests/contract/seed_protocol.rs has drifted from {}",
            spec.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            eprintln!("note: {} not found; drift check skipped", spec.display());
        }
        Err(e) => panic!("cannot read {}: {e}", spec.display()),
    }
}

#[test]
fn samples_cover_every_spec_variant_and_name_matches_the_wire_tag() {
    let expected = |names: &[&str]| names.iter().map(|name| name.to_string()).collect();
    assert_eq!(tags(&seed::commands(), "cmd"), expected(&COMMAND_TAGS));
    assert_eq!(tags(&seed::events(), "event"), expected(&EVENT_TAGS));
    for command in samples::ours::commands() {
        assert_eq!(tags(&[&command], "cmd"), expected(&[command.name()]));
    }
    for event in samples::ours::events() {
        assert_eq!(tags(&[&event], "event"), expected(&[event.name()]));
    }
}

#[test]
fn every_command_round_trips_between_seed_and_agentshim() {
    let (seed_commands, our_commands) = (seed::commands(), samples::ours::commands());
    assert_eq!(seed_commands.len(), our_commands.len());
    for (seed_command, our_command) in seed_commands.iter().zip(&our_commands) {
        let seed_wire = assert_reserializes_as::<protocol::Command>(seed_command);
        let our_wire = assert_reserializes_as::<seed::Command>(our_command);
        assert_eq!(our_wire, seed_wire);
    }
}

#[test]
fn every_event_round_trips_between_seed_and_agentshim() {
    let (seed_events, our_events) = (seed::events(), samples::ours::events());
    assert_eq!(seed_events.len(), our_events.len());
    for (seed_event, our_event) in seed_events.iter().zip(&our_events) {
        let seed_wire = assert_reserializes_as::<protocol::Event>(seed_event);
        let our_wire = assert_reserializes_as::<seed::Event>(our_event);
        assert_eq!(our_wire, seed_wire);
    }
}

/// The variants added to the seed contract speak its dialect: tagged and named like the seed's
/// own, absent options left out, read back the same.
#[test]
fn additive_variants_are_tagged_named_and_read_back_like_the_seed() {
    let commands = samples::ours::additive_commands()
        .into_iter()
        .chain(samples::ours::link_commands())
        .chain(samples::ours::attach_commands());
    for command in commands {
        assert_eq!(
            tags(&[&command], "cmd").pop_first().unwrap(),
            command.name()
        );
        assert_reserializes_as::<protocol::Command>(&command);
    }
    let events = samples::ours::additive_events()
        .into_iter()
        .chain(samples::ours::link_frames())
        .chain(samples::ours::attach_frames())
        .chain(samples::ours::connection_answers());
    for event in events {
        assert_eq!(tags(&[&event], "event").pop_first().unwrap(), event.name());
        let wire = assert_reserializes_as::<protocol::Event>(&event);
        assert!(
            !wire.contains("null"),
            "absent options are left out: {wire}"
        );
    }
    assert_eq!(
        json(&protocol::Event::MessageQueued {
            id: "m3".into(),
            position: 2
        }),
        r#"{"event":"MessageQueued","id":"m3","position":2}"#
    );
}

/// Every event, of the seed and added, goes through the gRPC types and comes back the same:
/// the conversions are made from one list of the variants and their fields.
#[test]
fn every_event_survives_the_grpc_round_trip() {
    use agentshim::server::convert::{event_from_proto, event_to_proto};
    let events = samples::ours::events()
        .into_iter()
        .chain(samples::ours::additive_events());
    for event in events {
        let before = json(&event);
        let wire = event_to_proto(event).expect("a gRPC twin");
        let back = event_from_proto(wire).expect("a protocol event");
        assert_eq!(json(&back), before);
    }
}

/// The frames of a link carry events or answers; none of them is an event of a gRPC stream.
#[test]
fn link_frames_have_no_grpc_twin() {
    use agentshim::server::convert::event_to_proto;
    for frame in samples::ours::link_frames() {
        assert!(frame.is_link_frame(), "{}", frame.name());
        assert!(event_to_proto(frame).is_none());
    }
    assert!(
        samples::ours::additive_events()
            .iter()
            .all(|e| !e.is_link_frame() && !e.is_attach_frame())
    );
}

/// `Explanation` answers the framed `Explain`; gRPC's `Explain` has its own response.
#[test]
fn connection_answers_have_no_grpc_event_twin() {
    use agentshim::server::convert::event_to_proto;
    for answer in samples::ours::connection_answers() {
        assert!(!answer.is_link_frame() && !answer.is_attach_frame());
        assert!(event_to_proto(answer).is_none());
    }
}

/// The frames of an attachment carry a terminal; none of them is an event of a gRPC stream
/// (the Attach RPC has its own messages).
#[test]
fn attach_frames_have_no_grpc_event_twin() {
    use agentshim::server::convert::event_to_proto;
    for frame in samples::ours::attach_frames() {
        assert!(frame.is_attach_frame(), "{}", frame.name());
        assert!(!frame.is_link_frame(), "{}", frame.name());
        assert!(event_to_proto(frame).is_none());
    }
}

/// Parses `wire` with the seed type and with ours and asserts both re-serialise identically.
fn assert_parses_alike<Seed, Ours>(wire: &str)
where
    Seed: Serialize + DeserializeOwned,
    Ours: Serialize + DeserializeOwned,
{
    let seed: Seed = serde_json::from_str(wire).unwrap_or_else(|e| panic!("seed, {wire}: {e}"));
    let ours: Ours = serde_json::from_str(wire).unwrap_or_else(|e| panic!("ours, {wire}: {e}"));
    assert_eq!(json(&ours), json(&seed), "parsed from {wire}");
}

#[test]
fn omitted_optional_and_defaulted_fields_parse_like_the_spec() {
    let commands = [
        r#"{"cmd":"SendMessage","from":"human","body":"hi"}"#,
        r#"{"cmd":"CaptureScreen"}"#,
        r#"{"cmd":"Shutdown","timeout_secs":10}"#,
    ];
    for wire in commands {
        assert_parses_alike::<seed::Command, protocol::Command>(wire);
    }
    let events = [
        r#"{"event":"Completion","response":"ok","last_lines":""}"#,
        r#"{"event":"Died","last_lines":"bye"}"#,
        r#"{"event":"QuotaBlocked","message":"limit"}"#,
        r#"{"event":"SessionStats","output_bytes":7,"uptime_secs":9}"#,
        r#"{"event":"Warning","message":"idle"}"#,
    ];
    for wire in events {
        assert_parses_alike::<seed::Event, protocol::Event>(wire);
    }
}

#[test]
fn shutdown_without_reason_defaults_to_requested() {
    let wire = r#"{"cmd":"Shutdown","timeout_secs":10}"#;
    let command: protocol::Command = serde_json::from_str(wire).expect("parse");
    assert!(matches!(
        command,
        protocol::Command::Shutdown {
            timeout_secs: 10,
            reason: ShutdownReason::Requested
        }
    ));
    assert_eq!(
        json(&command),
        r#"{"cmd":"Shutdown","timeout_secs":10,"reason":"requested"}"#
    );
    assert_eq!(ShutdownReason::default(), ShutdownReason::Requested);
}

#[test]
fn shim_state_display_and_serde_match_the_spec() {
    let states = [
        (ShimState::Starting, seed::ShimState::Starting, "starting"),
        (ShimState::Idle, seed::ShimState::Idle, "idle"),
        (ShimState::Working, seed::ShimState::Working, "working"),
        (ShimState::Dead, seed::ShimState::Dead, "dead"),
        (
            ShimState::ContextExhausted,
            seed::ShimState::ContextExhausted,
            "context_exhausted",
        ),
    ];
    for (ours, seed, name) in states {
        let quoted = format!("\"{name}\"");
        assert_eq!(ours.to_string(), name);
        assert_eq!(seed.to_string(), name);
        assert_eq!(json(&ours), quoted);
        assert_eq!(json(&seed), quoted);
        assert_eq!(
            serde_json::from_str::<ShimState>(&quoted).expect("parse"),
            ours
        );
    }
}

#[test]
fn shutdown_reason_labels_and_serde_match_the_spec() {
    let reasons = [
        (
            ShutdownReason::Requested,
            seed::ShutdownReason::Requested,
            "requested",
        ),
        (
            ShutdownReason::RestartHandoff,
            seed::ShutdownReason::RestartHandoff,
            "restart_handoff",
        ),
        (
            ShutdownReason::ContextExhausted,
            seed::ShutdownReason::ContextExhausted,
            "context_exhausted",
        ),
        (
            ShutdownReason::TopologyChange,
            seed::ShutdownReason::TopologyChange,
            "topology_change",
        ),
        (
            ShutdownReason::DaemonStop,
            seed::ShutdownReason::DaemonStop,
            "daemon_stop",
        ),
    ];
    for (ours, seed, label) in reasons {
        let quoted = format!("\"{label}\"");
        assert_eq!(ours.label(), label);
        assert_eq!(seed.label(), label);
        assert_eq!(json(&ours), quoted);
        assert_eq!(json(&seed), quoted);
        assert_eq!(
            serde_json::from_str::<ShutdownReason>(&quoted).expect("parse"),
            ours
        );
    }
}

#[test]
fn seed_channel_and_agentshim_channel_interoperate() {
    let (client_end, shim_end) = seed::socketpair().expect("socketpair");
    let (mut client, mut shim) = (seed::Channel::new(client_end), Channel::new(shim_end));
    for command in seed::commands() {
        client.send(&command).expect("seed send");
        let received: protocol::Command = shim.recv().expect("recv").expect("not EOF");
        assert_eq!(json(&received), json(&command));
    }
    for event in samples::ours::events() {
        shim.send(&event).expect("send");
        let received: seed::Event = client.recv().expect("seed recv").expect("not EOF");
        assert_eq!(json(&received), json(&event));
    }
}

#[test]
fn seed_channel_and_agentshim_channel_agree_on_the_size_limit() {
    let largest = frame_limit::message_with_json_len(MAX_FRAME_LEN);
    let too_large = frame_limit::message_with_json_len(MAX_FRAME_LEN + 1);
    let (seed_end, our_end) = seed::socketpair().expect("socketpair");
    let mut seed_channel = seed::Channel::new(seed_end);
    let mut our_channel = Channel::new(our_end);
    assert!(seed_channel.send(&too_large).is_err());
    assert!(our_channel.send(&too_large).is_err());

    let expected = json(&largest);
    let sender = thread::spawn(move || seed_channel.send(&largest));
    let received: protocol::Command = our_channel.recv().expect("recv").expect("a frame");
    sender
        .join()
        .expect("sender thread")
        .expect("seed sends the limit");
    assert_eq!(json(&received), expected);
}

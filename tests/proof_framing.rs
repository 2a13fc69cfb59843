//! The framed protocol under attack, against the real `agentshim shim` serving bash: frames made
//! by a seeded generator (so a failure replays) from the contract's own samples, mutated (wrong
//! types, missing and unknown fields, unknown commands, extreme sizes), and from nothing
//! (random bytes, invalid UTF-8, deep nesting, oversize lengths, frames cut off by a closed
//! connection). After every frame the shim must answer Ping, on the same connection or, when
//! the frame broke it, on a new one; at the end bash still answers a message. Short mode in
//! `cargo test`; `scripts/soak.sh` runs 100,000 frames.

use std::cell::Cell;
use std::io::Write;
use std::os::unix::net::UnixStream;

use agentshim::protocol::{Channel, Command, Event};
use serde_json::{Value, json};

use crate::support::protocol_samples::ours;
use crate::support::shim_socket::{
    SocketShim, completion, connect, send, wait_for, write_raw_frame,
};
use crate::support::soak;

const SEED: u64 = 0x5eed_f4a3;

/// What one attack did to the connection.
#[derive(Debug, Default)]
struct Tally {
    frames: usize,
    /// Answered with an `Error` event, connection kept.
    errors: usize,
    /// Accepted as a harmless command (Ping, GetState, CaptureScreen, a bounded Resize).
    applied: usize,
    /// The connection was closed (oversize frame) or cut by us mid-frame, then reopened.
    reconnects: usize,
}

/// One frame's bytes, and whether the connection is left mid-frame (to be closed).
enum Attack {
    Frame(Vec<u8>),
    Oversize(u32),
    CutOff(Vec<u8>),
}

/// A value of a random JSON type, sometimes huge or odd.
fn random_value(rng: &mut fastrand::Rng) -> Value {
    match rng.u8(0..10) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(rng.i64(..)),
        3 => json!(u64::MAX),
        4 => json!(-1),
        5 => json!(1e300),
        6 => json!("\u{1b}[2J\u{0}\u{202e}".repeat(rng.usize(1..50))),
        7 => json!([1, "two", null]),
        8 => json!({"nested": {"deeper": [rng.u32(..)]}}),
        _ => json!(rng.u16(..)),
    }
}

/// A command that is harmless to apply for real: never typed into bash, never ending it.
fn harmless(value: &Value) -> bool {
    match serde_json::from_value::<Command>(value.clone()) {
        Ok(command) => matches!(
            command,
            Command::Ping
                | Command::GetState
                | Command::CaptureScreen { .. }
                | Command::Resize { .. }
        ),
        Err(_) => true,
    }
}

/// A sample command with one thing wrong (or, rarely, right and harmless).
fn mutated_sample(rng: &mut fastrand::Rng, samples: &[Value]) -> Value {
    let mut value = samples[rng.usize(..samples.len())].clone();
    let object = value.as_object_mut().expect("commands are objects");
    let keys: Vec<String> = object.keys().cloned().collect();
    match rng.u8(0..5) {
        0 => {
            let key = &keys[rng.usize(..keys.len())];
            object.insert(key.clone(), random_value(rng));
        }
        1 if keys.len() > 1 => {
            let key = keys.iter().find(|k| *k != "cmd").expect("a field");
            object.remove(key);
        }
        2 => {
            object.insert(format!("unknown_{}", rng.u16(..)), random_value(rng));
        }
        3 => {
            object.insert("cmd".into(), json!(format!("Nope{}", rng.u16(..))));
        }
        _ => {
            let (rows, cols) =
                [(0, 5), (5000, 5000), (20000, 20000), (1000, 1000), (1, 1)][rng.usize(..5)];
            value = json!({"cmd": "Resize", "rows": rows, "cols": cols});
        }
    }
    if harmless(&value) {
        value
    } else {
        json!({"cmd": "SendMessage", "from": 7, "body": ["not", "text"]})
    }
}

fn attack(rng: &mut fastrand::Rng, samples: &[Value]) -> Attack {
    match rng.u8(0..12) {
        0..=5 => Attack::Frame(serde_json::to_vec(&mutated_sample(rng, samples)).unwrap()),
        6 => Attack::Frame((0..rng.usize(0..2000)).map(|_| rng.u8(..)).collect()),
        7 => Attack::Frame(vec![0xff, 0xfe, b'{', 0xc3, 0x28]),
        8 => {
            let depth = rng.usize(100..20_000);
            Attack::Frame(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes())
        }
        9 => Attack::Frame(br#"{"cmd":"Ping","cmd":"Kill"}"#.to_vec()),
        10 => Attack::Oversize(rng.u32(1024 * 1024 + 1..)),
        _ => {
            let frame = serde_json::to_vec(&json!({"cmd": "GetState"})).unwrap();
            Attack::CutOff(frame[..rng.usize(0..frame.len())].to_vec())
        }
    }
}

/// Pings on `client` and counts the `Error`s answered before the Pong; `pongs_before`: Pongs
/// already due (the attack was itself a Ping).
fn ping_counting_errors(client: &mut Channel, pongs_before: usize) -> usize {
    client.send(&Command::Ping).expect("ping");
    let (errors, pongs) = (Cell::new(0), Cell::new(0));
    wait_for(client, "Pong", |event| {
        errors.set(errors.get() + usize::from(matches!(event, Event::Error { .. })));
        pongs.set(pongs.get() + usize::from(matches!(event, Event::Pong)));
        pongs.get() > pongs_before
    });
    errors.get()
}

/// Whether `payload` is a Ping the shim answers.
fn is_ping(payload: &[u8]) -> bool {
    matches!(serde_json::from_slice(payload), Ok(Command::Ping))
}

#[test]
fn the_shim_answers_ping_after_every_hostile_frame() {
    let frames = soak::size(3_000, 100_000);
    let shim = SocketShim::start(&[]);
    let (mut client, mut raw) = shim.connect();
    wait_for(&mut client, "Ready", |e| matches!(e, Event::Ready));
    let samples: Vec<Value> = ours::commands()
        .iter()
        .map(|command| serde_json::to_value(command).unwrap())
        .collect();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut tally = Tally::default();
    for _ in 0..frames {
        tally.frames += 1;
        let mut pongs_before = 0;
        let reconnect = match attack(&mut rng, &samples) {
            Attack::Frame(payload) => {
                write_raw_frame(&mut raw, &payload);
                pongs_before = usize::from(is_ping(&payload));
                false
            }
            Attack::Oversize(len) => {
                raw.write_all(&len.to_be_bytes()).unwrap();
                let error = wait_for(&mut client, "the oversize Error", |e| {
                    matches!(e, Event::Error { .. })
                });
                assert!(format!("{error:?}").contains("exceeds"), "{error:?}");
                assert!(matches!(client.recv::<Event>(), Ok(None)), "not closed");
                true
            }
            Attack::CutOff(partial) => {
                let header = (partial.len() as u32 + 10).to_be_bytes();
                raw.write_all(&header).unwrap();
                raw.write_all(&partial).unwrap();
                raw.shutdown(std::net::Shutdown::Both).unwrap();
                true
            }
        };
        if reconnect {
            tally.reconnects += 1;
            (client, raw) = reopen(&shim);
        }
        match ping_counting_errors(&mut client, pongs_before) {
            0 if !reconnect => tally.applied += 1,
            errors => tally.errors += errors,
        }
    }
    eprintln!("proof_framing: seed {SEED:#x}: {tally:?}");
    assert_eq!(tally.frames, frames);
    assert!(tally.errors > frames / 3, "{tally:?}");
    // The attacks may have left any size up to 1000×1000; a sane one for the last check.
    let size = Command::Resize {
        rows: 50,
        cols: 220,
    };
    client.send(&size).unwrap();
    ping_counting_errors(&mut client, 0);
    send(&mut client, "after", "echo survived");
    assert_eq!(completion(&mut client, "after"), "survived");
    let mut shim = shim;
    assert!(shim.process.is_running(), "the shim exited");
}

/// A new connection to the shim, its replay of retained events read past.
fn reopen(shim: &SocketShim) -> (Channel, UnixStream) {
    let (mut client, raw) = connect(&shim.path);
    ping_counting_errors(&mut client, 0);
    (client, raw)
}

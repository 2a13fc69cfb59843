//! Resuming by `after_seq` under load, against a real in-process server: while two bash shims
//! answer a stream of messages, many subscribers each read a random number of events, drop
//! their stream, and open a new one after the last seq they saw (a seeded generator decides
//! when). Every subscriber must end with exactly the server's sequence, 1 to the last `Died`,
//! each event the one a single uninterrupted stream carries: no gap, no duplicate. Short mode in
//! `cargo test`; `scripts/soak.sh` runs 140 subscribers.

use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::shim::events::LogBounds;

use crate::support::server::{
    Events, TestServer, connect, create_ready, kind, send_wait, test_options,
};
use crate::support::soak;

const SEED: u64 = 0x2e50_0e5e;
const SHIMS: [&str; 2] = ["r1", "r2"];

/// What one subscriber saw, `(seq, kind)` in order, and how many streams it opened.
async fn subscriber(url: String, seed: u64) -> (Vec<(u64, String)>, usize) {
    let mut client = connect(&url).await;
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut seen, mut opened, mut died) = (Vec::new(), 0, 0);
    let mut after = 0;
    while died < SHIMS.len() {
        let mut events = Events::open(&mut client, "", after).await;
        opened += 1;
        for _ in 0..rng.usize(1..40) {
            let envelope = events.next().await;
            after = envelope.seq;
            seen.push((envelope.seq, kind(&envelope)));
            died += usize::from(matches!(envelope.event, Some(Pb::Died(_))));
            if died == SHIMS.len() {
                break;
            }
        }
    }
    (seen, opened)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_subscribers_see_every_event_once() {
    let (subscribers, messages) = (soak::size(20, 140), soak::size(40, 400));
    let mut options = test_options();
    options.event_log = LogBounds {
        events: 10_000_000,
        bytes: 1 << 30,
    };
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    for shim in SHIMS {
        create_ready(&mut client, shim).await;
    }
    let readers: Vec<_> = (0..subscribers)
        .map(|n| tokio::spawn(subscriber(server.url(), SEED + n as u64)))
        .collect();
    for n in 0..messages {
        let shim = SHIMS[n % SHIMS.len()];
        send_wait(&mut client, shim, &format!("echo resume-{n}")).await;
    }
    for shim in SHIMS {
        client.kill(shim).await.expect("kill");
    }

    let mut reference = Events::open(&mut client, "", 0).await;
    let mut died = 0;
    while died < SHIMS.len() {
        let envelope = reference.next().await;
        died += usize::from(matches!(envelope.event, Some(Pb::Died(_))));
    }
    let expected: Vec<(u64, String)> = reference
        .seen
        .iter()
        .map(|envelope| (envelope.seq, kind(envelope)))
        .collect();
    let last = expected.last().expect("events").0;
    assert_eq!(
        expected.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=last).collect::<Vec<_>>(),
        "the reference stream itself has a gap"
    );
    let mut streams = 0;
    for (n, reader) in readers.into_iter().enumerate() {
        let (seen, opened) = reader.await.expect("subscriber");
        streams += opened;
        assert_eq!(
            seen.len(),
            expected.len(),
            "subscriber {n}: gap or duplicate"
        );
        assert_eq!(seen, expected, "subscriber {n} differs from the reference");
    }
    eprintln!(
        "proof_resume: seed {SEED:#x}: {subscribers} subscribers, {streams} streams opened, \
         {last} events each, 0 lost, 0 duplicated"
    );
}

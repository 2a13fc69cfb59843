//! `StreamEvents` against a real in-process server: with three shims working at once, each
//! per-shim stream carries exactly its shim's events (the same envelopes, in the same order, as
//! the all-shims stream), and seq is strictly increasing without duplicates; a client that
//! reconnects with `after_seq` = the last seq it saw gets exactly what it missed, then follows
//! live; and a replay of events the bounded log already evicted starts with an `events_lost`
//! envelope naming the lost range. A per-shim stream of a reused id carries only the new
//! shim's events; it ends after its shim's `Died` (a stream of a dead shim with nothing left
//! ends at once), so it never carries a later shim's. A stream asked to start after a seq the
//! server never reached (a client back from a restarted server) is OUT_OF_RANGE, naming the
//! newest seq and the boot id.

use crate::support::server as server_support;

use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{EventEnvelope, EventsLost, ShimState};
use agentshim::shim::events::LogBounds;
use server_support::{
    Client, Events, TestServer, assert_status, bash_shim, create_ready, last_seq, send, send_wait,
    test_options,
};
use tonic::Code;

const SHIMS: [&str; 3] = ["s1", "s2", "s3"];

/// Asserts seqs are strictly increasing (hence no duplicates).
#[track_caller]
fn assert_increasing(envelopes: &[EventEnvelope]) {
    for pair in envelopes.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "out of order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test]
async fn three_shims_interleaved_each_stream_carries_only_its_shim() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    let mut all = Events::open(&mut client, "", 0).await;
    let mut per_shim = Vec::new();
    for id in SHIMS {
        client.create_shim(bash_shim(id)).await.unwrap();
        per_shim.push(Events::open(&mut client, id, 0).await);
    }

    // Every shim gets three messages at once; their events interleave in the log.
    let mut last_ids = Vec::new();
    for round in 0..3 {
        for id in SHIMS {
            last_ids.push(send(&mut client, id, &format!("echo {id}-r{round}"), "").await);
        }
    }
    for (stream, id) in per_shim.iter_mut().zip(SHIMS) {
        for round in 0..3 {
            let message = &last_ids[round * 3 + SHIMS.iter().position(|s| *s == id).unwrap()];
            let completion = stream.completion_of(message).await;
            assert_eq!(completion.response, format!("{id}-r{round}"));
        }
    }

    let mut ends = Vec::new();
    for id in SHIMS {
        ends.push(last_seq(&mut client, id).await);
    }
    all.read_through(*ends.iter().max().unwrap()).await;
    assert_increasing(&all.seen);
    for ((stream, id), end) in per_shim.iter_mut().zip(SHIMS).zip(ends) {
        stream.read_through(end).await;
        assert!(
            stream.seen.iter().all(|e| e.shim_id == id),
            "{id}: {:?}",
            stream.kinds()
        );
        let from_all: Vec<&EventEnvelope> = all
            .seen
            .iter()
            .filter(|e| e.shim_id == id && e.seq <= end)
            .collect();
        let own: Vec<&EventEnvelope> = stream.seen.iter().filter(|e| e.seq <= end).collect();
        assert_eq!(
            own, from_all,
            "{id}: its stream and the all-shims stream differ"
        );
        let completions = own
            .iter()
            .filter(|e| matches!(e.event, Some(Pb::Completion(_))));
        assert_eq!(completions.count(), 3, "{id}: {:?}", stream.kinds());
    }
    let shims_seen: std::collections::BTreeSet<&str> =
        all.seen.iter().map(|e| e.shim_id.as_str()).collect();
    assert_eq!(shims_seen.into_iter().collect::<Vec<_>>(), SHIMS);
}

/// Reads `first` through some events, drops it, lets more happen, reconnects after the last
/// seq seen and checks the two halves against an uninterrupted `reference` stream.
async fn resume_matches_reference(client: &mut Client, filter: &str, shims: &[&str]) {
    let mut reference = Events::open(client, filter, 0).await;
    let mut first = Events::open(client, filter, 0).await;
    let watched = if filter.is_empty() { shims[0] } else { filter };
    let id = send(client, watched, "echo before", "").await;
    first.completion_of(&id).await;
    let resume_after = first.seen.last().unwrap().seq;
    drop(first);

    // Missed while disconnected: events of every shim.
    for shim in shims {
        send_wait(client, shim, &format!("echo missed-{shim}")).await;
    }
    let mut resumed = Events::open(client, filter, resume_after).await;
    let id = send(client, watched, "echo live", "").await;
    assert_eq!(resumed.completion_of(&id).await.response, "live");
    let end = last_seq(client, watched).await;
    resumed.read_through(end).await;
    reference.read_through(end).await;

    let before: Vec<&EventEnvelope> = reference
        .seen
        .iter()
        .filter(|e| e.seq <= resume_after)
        .collect();
    let after: Vec<&EventEnvelope> = reference
        .seen
        .iter()
        .filter(|e| e.seq > resume_after && e.seq <= end)
        .collect();
    let got: Vec<&EventEnvelope> = resumed.seen.iter().filter(|e| e.seq <= end).collect();
    assert!(!before.is_empty());
    assert_eq!(
        got, after,
        "resumed after {resume_after}: a gap or a duplicate"
    );
    assert!(
        after.iter().any(
            |e| matches!(&e.event, Some(Pb::Completion(c)) if c.response.starts_with("missed"))
        ),
        "the missed completions are in the replay: {:?}",
        resumed.kinds()
    );
    if !filter.is_empty() {
        assert!(got.iter().all(|e| e.shim_id == filter));
    }
}

#[tokio::test]
async fn reconnecting_after_the_last_seq_yields_exactly_the_missed_events() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    for id in ["r1", "r2"] {
        create_ready(&mut client, id).await;
    }
    resume_matches_reference(&mut client, "", &["r1", "r2"]).await;
    resume_matches_reference(&mut client, "r2", &["r1", "r2"]).await;
}

#[tokio::test]
async fn replaying_evicted_events_starts_with_events_lost() {
    let mut options = test_options();
    // Big enough for the burst of one turn (a waiting send must not lose its answer), small
    // enough to evict.
    const CAPACITY: u64 = 10;
    options.event_log = LogBounds::events(CAPACITY as usize);
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    create_ready(&mut client, "small").await;
    for n in 0..6 {
        send_wait(&mut client, "small", &format!("echo {n}")).await;
    }
    let end = last_seq(&mut client, "small").await;
    assert!(end >= 3 * CAPACITY, "only {end} events");

    for (filter, after_seq) in [("", 0), ("small", 0), ("", 3)] {
        let mut replay = Events::open(&mut client, filter, after_seq).await;
        let lost = replay.next().await;
        assert_eq!(
            lost.event,
            Some(Pb::EventsLost(EventsLost {
                first_seq: after_seq + 1,
                last_seq: end - CAPACITY
            })),
            "{filter:?} after {after_seq}: {lost:?}"
        );
        assert_eq!((lost.seq, lost.shim_id.as_str()), (end - CAPACITY, ""));
        replay.read_through(end).await;
        let retained: Vec<u64> = replay.seqs()[1..].to_vec();
        assert_eq!(retained, (end - CAPACITY + 1..=end).collect::<Vec<_>>());
    }

    // The log keeps working after evicting: a new turn streams live, without loss.
    let mut live = Events::open(&mut client, "small", end).await;
    let id = send(&mut client, "small", "echo after", "").await;
    assert_eq!(live.completion_of(&id).await.response, "after");
    assert_eq!(live.seen[0].seq, end + 1, "{:?}", live.kinds());
    assert!(
        live.seen
            .iter()
            .all(|e| !matches!(e.event, Some(Pb::EventsLost(_))))
    );
    let info = client.get_shim("small").await.unwrap();
    assert_eq!(info.state(), ShimState::Idle);
}

#[tokio::test]
async fn a_reused_id_streams_only_the_new_shims_events() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "again").await;
    send_wait(&mut client, "again", "echo first-life").await;
    client.delete_shim("again").await.unwrap();
    // Every event of the first "again" precedes this marker's Ready.
    create_ready(&mut client, "marker").await;
    let marker = last_seq(&mut client, "marker").await;

    client.create_shim(bash_shim("again")).await.unwrap();
    let mut events = Events::open(&mut client, "again", 0).await;
    let first = events.next().await;
    assert!(
        first.seq > marker,
        "the new shim's stream replays its predecessor's events: {first:?} (marker at {marker})"
    );
}

#[tokio::test]
async fn a_shims_stream_ends_after_its_death_and_never_reaches_its_successor() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "mortal").await;
    let mut live = Events::open(&mut client, "mortal", 0).await;
    live.wait_for("Ready", |e| matches!(e, Pb::Ready(_))).await;
    client.delete_shim("mortal").await.unwrap();
    let rest = live.until_end().await;
    assert!(
        matches!(
            rest.last().and_then(|e| e.event.as_ref()),
            Some(Pb::Died(_))
        ),
        "the stream must end with Died: {:?}",
        live.kinds()
    );

    // A successor under the same id is not the old stream's business, nor a replay's.
    create_ready(&mut client, "mortal").await;
    let mut replay = Events::open(&mut client, "mortal", 0).await;
    replay
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    assert!(
        !replay
            .seen
            .iter()
            .any(|e| matches!(e.event, Some(Pb::Died(_)))),
        "{:?}",
        replay.kinds()
    );

    // A dead shim's stream after its last event has nothing to wait for: it ends at once.
    send(&mut client, "mortal", "exit 3", "bye").await;
    let died = replay.wait_for("Died", |e| matches!(e, Pb::Died(_))).await;
    let mut after_death = Events::open(&mut client, "mortal", died.seq).await;
    assert_eq!(after_death.until_end().await, vec![]);
}

#[tokio::test]
async fn a_stream_after_a_seq_the_server_never_reached_is_out_of_range() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "young").await;
    let newest = last_seq(&mut client, "young").await;
    let boot_id = client.server_info().await.unwrap().boot_id;
    for shim_id in ["", "young"] {
        let shim_id = (!shim_id.is_empty()).then_some(shim_id);
        let result = client.stream_events(shim_id, newest + 1000).await;
        let newest = newest.to_string();
        assert_status(result, Code::OutOfRange, &[&newest, &boot_id]);
    }
    // The newest seq itself is a valid cursor: the stream follows live.
    let mut events = Events::open(&mut client, "young", newest).await;
    send(&mut client, "young", "echo later", "later").await;
    events.completion_of("later").await;
}

#[tokio::test]
async fn a_stream_resumed_between_a_commands_exit_and_its_completion_keeps_the_exit_code() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "exits").await;
    send_wait(&mut client, "exits", "(exit 3)").await;
    let mut full = Events::open(&mut client, "exits", 0).await;
    full.wait_for("Completion", |e| matches!(e, Pb::Completion(_)))
        .await;
    let exited = full
        .seen
        .iter()
        .find(|e| matches!(e.event, Some(Pb::CommandExited(_))))
        .unwrap_or_else(|| panic!("no CommandExited: {:?}", full.kinds()))
        .seq;
    let mut resumed = Events::open(&mut client, "exits", exited).await;
    let Some(Pb::Completion(completion)) = resumed.next().await.event else {
        panic!("not the Completion next: {:?}", resumed.kinds());
    };
    assert_eq!(completion.exit_code, Some(3));
}

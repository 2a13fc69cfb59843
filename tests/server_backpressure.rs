//! Slow readers cannot hurt anyone (issue §2): a stream that is opened and never read, by a
//! client whose HTTP/2 windows are small (64 KiB), is flooded with far more event bytes and
//! events than those windows and the server's per-stream buffer (256 envelopes) can hold.
//! Meanwhile another client keeps getting answers and Completions promptly, and every actor
//! keeps answering. Read later, the stalled streams deliver every event in order; and when the
//! bounded log overtakes a stalled stream, it is told exactly which range it lost. Nor can many
//! creates at once: agents are forked off the runtime's workers, so lookups go on meanwhile.

use crate::support::server as server_support;

use std::time::{Duration, Instant};

use crate::support::eventually::eventually_async;
use agentshim::client::SendOptions;
use agentshim::rpc::EventEnvelope;
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::shim::events::LogBounds;
use server_support::{
    Client, Events, TestServer, bash_shim, create_ready, last_seq, send, small_window_client,
    test_options,
};

/// Shims that flood the log.
const NOISY: [&str; 3] = ["n1", "n2", "n3"];
/// Messages per noisy shim, sent in batches that fit its queue.
const MESSAGES: usize = 30;
const BATCH: usize = 15;
/// One ~8 KB line of output: each Completion carries it.
const BIG: &str = "head -c 8000 /dev/zero | tr '\\0' x; echo";
/// An answer slower than this means something waits on the stalled stream.
const PROMPTLY: Duration = Duration::from_secs(10);

/// Sends [`MESSAGES`] big-output messages to `shim` and returns when all are answered. Each
/// batch ends with a waiting send, which keeps the queue bounded; with a tiny event log its
/// waiter may itself be overtaken on a loaded machine, and then says so (FAILED_PRECONDITION,
/// "evicted"): the batch is over either way.
async fn flood(mut client: Client, shim: &'static str) {
    for _ in 0..MESSAGES / BATCH {
        for _ in 1..BATCH {
            send(&mut client, shim, BIG, "").await;
        }
        let options = SendOptions {
            from: Some("flood".into()),
            wait: true,
            ..SendOptions::default()
        };
        match client.send_message(shim, BIG, options).await {
            Ok(_) => {}
            Err(error) if error.to_string().contains("evicted") => {}
            Err(error) => panic!("the flood was refused: {error:?}"),
        }
    }
}

/// Flooding from every noisy shim at once.
fn start_flood(client: &Client) -> tokio::task::JoinHandle<()> {
    let floods: Vec<_> = NOISY
        .iter()
        .map(|shim| flood(client.clone(), shim))
        .collect();
    tokio::spawn(async move {
        futures_util::future::join_all(floods).await;
    })
}

/// One round trip through the probe shim: `wait=true` answers and its own stream shows the
/// Completion, both within [`PROMPTLY`].
async fn probe(client: &mut Client, events: &mut Events, n: usize) -> Duration {
    let started = Instant::now();
    let id = format!("probe-{n}");
    let options = SendOptions {
        from: Some("test".into()),
        message_id: Some(id.clone()),
        wait: true,
    };
    let body = format!("echo {id}");
    let answer = tokio::time::timeout(PROMPTLY, client.send_message("probe", &body, options))
        .await
        .unwrap_or_else(|_| panic!("{id} not answered within {PROMPTLY:?}"))
        .expect("probe accepted");
    assert_eq!(answer.completion.unwrap().response, id);
    let streamed = tokio::time::timeout(PROMPTLY, events.completion_of(&id)).await;
    assert!(
        streamed.is_ok(),
        "{id}: Completion not streamed within {PROMPTLY:?}"
    );
    started.elapsed()
}

#[tokio::test]
async fn a_stalled_stream_blocks_neither_other_clients_nor_actors_and_loses_nothing() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    for shim in NOISY.iter().chain(&["probe"]) {
        create_ready(&mut client, shim).await;
    }
    // Separate connections, so reading one stalled stream later cannot be held up by the
    // other's unread data in a shared connection window.
    let stalled_all = Events::open(&mut small_window_client(&server).await, "", 0).await;
    let stalled_n1 = Events::open(&mut small_window_client(&server).await, "n1", 0).await;
    let mut probe_events = Events::open(&mut client, "probe", 0).await;

    let flooding = start_flood(&client);
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while !flooding.is_finished() {
        slowest = slowest.max(probe(&mut client, &mut probe_events, probes).await);
        probes += 1;
    }
    flooding.await.expect("flood");
    // The stalled streams are now far behind: probe again, and every actor answers.
    for _ in 0..3 {
        slowest = slowest.max(probe(&mut client, &mut probe_events, probes).await);
        probes += 1;
    }
    for shim in NOISY {
        let ping = client.ping(shim);
        tokio::time::timeout(PROMPTLY, ping)
            .await
            .expect("ping in time")
            .expect("ping");
    }
    let mut ends = Vec::new();
    for shim in NOISY.iter().chain(&["probe"]) {
        ends.push(last_seq(&mut client, shim).await);
    }
    let end = *ends.iter().max().unwrap();
    eprintln!("{probes} probes, slowest {slowest:?}; {end} events in the log");
    assert!(
        end > 400,
        "only {end} events: not enough to fill the stalled stream"
    );

    // Read at last, the stalled all-shims stream holds every seq exactly once, in order.
    let mut stalled_all = stalled_all;
    stalled_all.read_through(end).await;
    let seqs: Vec<u64> = stalled_all
        .seqs()
        .into_iter()
        .filter(|s| *s <= end)
        .collect();
    assert_eq!(
        seqs,
        (1..=end).collect::<Vec<_>>(),
        "{:?}",
        stalled_all.kinds()
    );
    let mut stalled_n1 = stalled_n1;
    stalled_n1.read_through(ends[0]).await;
    let n1_from_all: Vec<&EventEnvelope> = stalled_all
        .seen
        .iter()
        .filter(|e| e.shim_id == "n1" && e.seq <= ends[0])
        .collect();
    let n1: Vec<&EventEnvelope> = stalled_n1
        .seen
        .iter()
        .filter(|e| e.seq <= ends[0])
        .collect();
    assert_eq!(n1, n1_from_all);
}

#[tokio::test]
async fn a_stream_the_log_overtakes_is_told_exactly_what_it_lost() {
    let mut options = test_options();
    options.event_log = LogBounds::events(20);
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    for shim in NOISY {
        create_ready(&mut client, shim).await;
    }
    let mut stalled_client = small_window_client(&server).await;
    let mut stalled = Events::open(&mut stalled_client, "", 0).await;
    start_flood(&client).await.expect("flood");
    let mut end = 0;
    for shim in NOISY {
        end = end.max(last_seq(&mut client, shim).await);
    }

    stalled.read_through(end).await;
    // Every seq is either delivered or inside one events_lost range: nothing skipped silently
    // (the last range may reach past `end`).
    let mut expected = 1;
    let mut lost = Vec::new();
    for envelope in &stalled.seen {
        if expected > end {
            break;
        }
        match &envelope.event {
            Some(Pb::EventsLost(range)) => {
                assert_eq!(range.first_seq, expected, "{:?}", stalled.kinds());
                assert!(range.last_seq >= range.first_seq);
                assert_eq!(envelope.seq, range.last_seq);
                lost.push(range.first_seq..=range.last_seq);
                expected = range.last_seq + 1;
            }
            _ => {
                assert_eq!(envelope.seq, expected, "{:?}", stalled.kinds());
                expected += 1;
            }
        }
    }
    assert!(expected > end, "{:?}", stalled.kinds());
    let delivered_before_loss = lost.first().map(|range| range.start() - 1);
    eprintln!(
        "{end} events; lost {lost:?}; delivered before the first loss: {delivered_before_loss:?}"
    );
    assert!(
        !lost.is_empty(),
        "the log (20 events) overtook the stalled stream: a loss is due"
    );
}

/// Found by `benches/fleet.rs`: forking and starting agents ran on the runtime's workers, so
/// 200 creates at once held a GetShim up for 0.8 s. Here the runtime has a single thread (the
/// test's, which the server shares): a lookup made while 40 agents start must be answered in a
/// fraction of the time they take, not behind them.
#[tokio::test]
async fn many_creates_at_once_do_not_hold_up_lookups() {
    const CREATES: usize = 40;
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "anchor").await;
    let creator = server.client().await;
    let started = Instant::now();
    let creates = tokio::spawn(async move {
        let calls = (0..CREATES).map(|n| {
            let mut creator = creator.clone();
            async move {
                let new = bash_shim(&format!("starting-{n}"));
                creator.create_shim(new).await.expect("create");
            }
        });
        futures_util::future::join_all(calls).await;
        started.elapsed()
    });
    // Once the creates are under way (the first is registered), time one lookup.
    let under_way = async || {
        let shims = client.list_shims().await.ok()?;
        shims
            .iter()
            .any(|s| s.id.starts_with("starting-"))
            .then_some(())
    };
    eventually_async(|| "no create reached the server".into(), under_way).await;
    let asked = Instant::now();
    client.get_shim("anchor").await.expect("GetShim");
    let lookup = asked.elapsed();
    let all_started = creates.await.expect("creates");
    assert!(
        lookup * 4 < all_started,
        "a GetShim during {CREATES} creates took {lookup:?}; the creates took {all_started:?}"
    );
}

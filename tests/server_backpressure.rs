//! Slow readers cannot hurt anyone (issue §2): a stream that is opened and never read, by a
//! client whose HTTP/2 windows are small (64 KiB), is flooded with far more event bytes and
//! events than those windows and the server's per-stream buffer (256 envelopes) can hold.
//! Meanwhile another client keeps getting answers and Completions promptly, and every actor
//! keeps answering. Read later, the stalled streams deliver every event in order; and when the
//! bounded log overtakes a stalled stream, it is told exactly which range it lost. Nor can many
//! creates at once: agents are forked off the runtime's workers, so lookups go on meanwhile.

use crate::support::server as server_support;

use std::time::{Duration, Instant};

use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{EventEnvelope, GetShimRequest, PingRequest, SendMessageRequest};
use agentshim::shim::events::LogBounds;
use server_support::{Client, Events, TestServer, bash_request, create_ready, send, test_options};
use tonic::transport::Endpoint;

/// Shims that flood the log.
const NOISY: [&str; 3] = ["n1", "n2", "n3"];
/// Messages per noisy shim, sent in batches that fit its queue.
const MESSAGES: usize = 30;
const BATCH: usize = 15;
/// One ~8 KB line of output: each Completion carries it.
const BIG: &str = "head -c 8000 /dev/zero | tr '\\0' x; echo";
/// An answer slower than this means something waits on the stalled stream.
const PROMPTLY: Duration = Duration::from_secs(10);

/// A client whose connection and stream windows are the HTTP/2 minimum default (64 KiB), so a
/// stream it does not read stalls the server's sender after 64 KiB.
async fn small_window_client(server: &TestServer) -> Client {
    let channel = Endpoint::from_shared(server.url())
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .expect("connect");
    Client::new(channel)
}

/// Sends [`MESSAGES`] big-output messages to `shim` and returns when all are answered. Each
/// batch ends with a waiting send, which keeps the queue bounded; with a tiny event log its
/// waiter may itself be overtaken on a loaded machine, and then says so (FAILED_PRECONDITION,
/// "evicted"): the batch is over either way.
async fn flood(mut client: Client, shim: &'static str) {
    for _ in 0..MESSAGES / BATCH {
        for _ in 1..BATCH {
            send(&mut client, shim, BIG, "").await;
        }
        let request = SendMessageRequest {
            shim_id: shim.into(),
            from: "flood".into(),
            body: BIG.into(),
            message_id: String::new(),
            wait: true,
        };
        match client.send_message(request).await {
            Ok(_) => {}
            Err(status) if status.message().contains("evicted") => {}
            Err(status) => panic!("the flood was refused: {status:?}"),
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

async fn last_seq(client: &mut Client, shim_id: &str) -> u64 {
    let request = GetShimRequest {
        shim_id: shim_id.into(),
    };
    client
        .get_shim(request)
        .await
        .unwrap()
        .into_inner()
        .last_event_seq
}

/// One round trip through the probe shim: `wait=true` answers and its own stream shows the
/// Completion, both within [`PROMPTLY`].
async fn probe(client: &mut Client, events: &mut Events, n: usize) -> Duration {
    let started = Instant::now();
    let id = format!("probe-{n}");
    let request = SendMessageRequest {
        shim_id: "probe".into(),
        from: "test".into(),
        body: format!("echo {id}"),
        message_id: id.clone(),
        wait: true,
    };
    let answer = tokio::time::timeout(PROMPTLY, client.send_message(request))
        .await
        .unwrap_or_else(|_| panic!("{id} not answered within {PROMPTLY:?}"))
        .expect("probe accepted")
        .into_inner();
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
        let ping = client.ping(PingRequest {
            shim_id: shim.into(),
        });
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
    // Every seq is either delivered or inside one events_lost range: nothing skipped silently.
    let mut expected = 1;
    let mut lost = Vec::new();
    for envelope in stalled.seen.iter().filter(|e| e.seq <= end) {
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
    assert_eq!(expected, end + 1);
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
                let request = bash_request(&format!("starting-{n}"));
                creator.create_shim(request).await.expect("create");
            }
        });
        futures_util::future::join_all(calls).await;
        started.elapsed()
    });
    // Time for the creates to reach the server and its first agents to start forking.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let asked = Instant::now();
    let request = GetShimRequest {
        shim_id: "anchor".into(),
    };
    client.get_shim(request).await.expect("GetShim");
    let lookup = asked.elapsed();
    let all_started = creates.await.expect("creates");
    assert!(
        lookup * 4 < all_started,
        "a GetShim during {CREATES} creates took {lookup:?}; the creates took {all_started:?}"
    );
}

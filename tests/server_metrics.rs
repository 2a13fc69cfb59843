//! `agentshim serve --metrics-listen 127.0.0.1:0` as a real process, scraped over real HTTP
//! while a bash shim works through messages sent over gRPC: deliveries, completions and their
//! latency histogram, the queue, failures, shims by state (and none once the shim is removed),
//! PTY bytes, the event log's size and evictions, and stream subscribers while a stream is
//! open and after it closes. A second server in one process cannot serve metrics too.

use crate::support::serve_process;
use crate::support::server as server_support;

use crate::support::eventually::Poll;
use crate::support::http::http_get;

use agentshim::client::SendOptions;
use agentshim::metrics::{
    COMPLETION_LATENCY, COMPLETIONS, EVENT_LOG_EVENTS, EVENT_LOG_EVICTIONS, MESSAGE_QUEUE_LENGTH,
    MESSAGES_DELIVERED, MESSAGES_FAILED, MESSAGES_QUEUED, PTY_BYTES_IN, SHIMS, STREAM_SUBSCRIBERS,
};
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::server::{ServerError, bind};
use serve_process::{ServeProcess, TempDir};
use server_support::{CONFIG_TOML, Client, Events, TIMEOUT, create_ready, send_wait, test_options};

/// A small event log, so that the scenario evicts some of its events.
const LOG_CAPACITY: u64 = 10;

/// The agent kind of the test profile, as the `agent` label shows it.
const AGENT: &str = "{agent=\"generic\"}";

/// One scrape of `/metrics`.
struct Scrape(String);

impl Scrape {
    async fn of(addr: &str) -> Self {
        let response = http_get(addr, "/metrics").await;
        assert_eq!(response.status, 200, "{response:?}");
        Self(response.body)
    }

    /// The value of `series` (a name and its labels, as rendered), if it was recorded.
    fn get(&self, series: &str) -> Option<f64> {
        self.0
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[track_caller]
    fn value(&self, series: &str) -> f64 {
        self.get(series)
            .unwrap_or_else(|| panic!("no {series} in the scrape:\n{}", self.0))
    }
}

/// The shims gauge of the test profile's agent in `state`.
fn shims(state: &str) -> String {
    format!("{SHIMS}{{agent=\"generic\",state=\"{state}\"}}")
}

/// Scrapes until `series` has `wanted` (gauges move when tasks end, a moment after the RPC).
async fn wait_for_value(addr: &str, series: &str, wanted: f64) -> Scrape {
    let reached = async || Some(Scrape::of(addr).await).filter(|s| s.get(series) == Some(wanted));
    match Poll::within(TIMEOUT).until(reached).await {
        Some(scrape) => scrape,
        None => panic!(
            "{series} did not become {wanted} within {TIMEOUT:?}:\n{}",
            Scrape::of(addr).await.0
        ),
    }
}

/// Sends `body` as message `id` without waiting; returns whether it was queued.
async fn send_queued(client: &mut Client, id: &str, body: &str) -> bool {
    let options = SendOptions {
        from: Some("test".to_owned()),
        message_id: Some(id.to_owned()),
        wait: false,
    };
    client
        .send_message("m", body, options)
        .await
        .unwrap_or_else(|error| panic!("{body:?} refused: {error}"))
        .queued
}

/// A shell command that finishes once `path` exists.
fn wait_for_file(path: &std::path::Path, then: &str) -> String {
    format!(
        "until [ -e {} ]; do sleep 0.05; done; echo {then}",
        path.display()
    )
}

/// A scrape taken while the server appends no event; returns it with the log's last seq.
async fn quiet_scrape(client: &Client, addr: &str) -> (Scrape, u64) {
    let last_seq = || {
        let mut client = client.clone();
        async move { client.get_shim("m").await.expect("GetShim").last_event_seq }
    };
    loop {
        let before = last_seq().await;
        let scrape = Scrape::of(addr).await;
        if last_seq().await == before {
            return (scrape, before);
        }
    }
}

#[tokio::test]
async fn a_scrape_shows_what_the_server_did() {
    let dir = TempDir::new("metrics");
    let config = dir.join("agentshim.toml");
    std::fs::write(
        &config,
        format!("event_log_capacity = {LOG_CAPACITY}\n{CONFIG_TOML}"),
    )
    .expect("write config");
    let server = ServeProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().expect("UTF-8 temp path"),
    ]);
    let metrics_line = server.next_line();
    let addr = metrics_line
        .strip_prefix("agentshim metrics on ")
        .unwrap_or_else(|| panic!("unexpected second line {metrics_line:?}"))
        .to_owned();
    let mut client = server_support::connect(&format!("http://{}", server.addr)).await;
    create_ready(&mut client, "m").await;
    let mut stream = Events::open(&mut client, "m", 0).await;
    wait_for_value(&addr, STREAM_SUBSCRIBERS, 1.0).await;

    assert_eq!(send_wait(&mut client, "m", "echo one").await, "one");
    let gate = dir.join("go");
    assert!(!send_queued(&mut client, "two", &wait_for_file(&gate, "two")).await);
    stream
        .wait_for(
            "delivery of two",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == "two"),
        )
        .await;
    assert!(send_queued(&mut client, "three", "echo three").await);
    // The metrics follow the events, which may reach the server after the call's answer.
    let busy = wait_for_value(&addr, MESSAGE_QUEUE_LENGTH, 1.0).await;
    assert_eq!(busy.value(MESSAGES_QUEUED), 1.0);
    assert_eq!(busy.value(&shims("working")), 1.0);
    assert_eq!(busy.value(&shims("idle")), 0.0);

    std::fs::write(&gate, "").expect("open the gate");
    assert_eq!(stream.completion_of("three").await.response, "three");
    let (done, last_seq) = quiet_scrape(&client, &addr).await;
    for counter in [MESSAGES_DELIVERED, COMPLETIONS] {
        assert_eq!(done.value(&format!("{counter}{AGENT}")), 3.0, "{counter}");
    }
    assert_eq!(
        done.value(&format!("{COMPLETION_LATENCY}_count{AGENT}")),
        3.0
    );
    assert!(done.value(&format!("{COMPLETION_LATENCY}_sum{AGENT}")) > 0.0);
    assert_eq!(done.value(&shims("idle")), 1.0);
    assert_eq!(done.value(&shims("starting")), 0.0);
    assert_eq!(done.value(MESSAGE_QUEUE_LENGTH), 0.0);
    assert!(done.value(PTY_BYTES_IN) > 0.0);
    assert!(last_seq > LOG_CAPACITY, "only {last_seq} events");
    assert_eq!(done.value(EVENT_LOG_EVENTS), LOG_CAPACITY as f64);
    assert_eq!(
        done.value(EVENT_LOG_EVICTIONS),
        (last_seq - LOG_CAPACITY) as f64
    );

    // Killed with a message in its queue: that message fails, the shim counts as dead.
    let never = dir.join("never");
    send_queued(&mut client, "stuck", &wait_for_file(&never, "stuck")).await;
    stream
        .wait_for(
            "delivery of stuck",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == "stuck"),
        )
        .await;
    assert!(send_queued(&mut client, "lost", "echo lost").await);
    client.kill("m").await.expect("Kill");
    stream
        .wait_for(
            "failure of lost",
            |e| matches!(e, Pb::DeliveryFailed(f) if f.id == "lost"),
        )
        .await;
    let dead = Scrape::of(&addr).await;
    assert_eq!(dead.value(&format!("{MESSAGES_FAILED}{AGENT}")), 1.0);
    assert_eq!(dead.value(&format!("{MESSAGES_DELIVERED}{AGENT}")), 4.0);
    assert_eq!(dead.value(&shims("dead")), 1.0);
    assert_eq!(dead.value(&shims("working")), 0.0);
    assert_eq!(dead.value(MESSAGE_QUEUE_LENGTH), 0.0);

    drop(stream);
    wait_for_value(&addr, STREAM_SUBSCRIBERS, 0.0).await;
    client.delete_shim("m").await.expect("DeleteShim");
    let removed = wait_for_value(&addr, &shims("dead"), 0.0).await;
    let counted: Vec<&str> = removed
        .0
        .lines()
        .filter(|line| line.starts_with(SHIMS) && !line.ends_with(" 0"))
        .collect();
    assert!(
        counted.is_empty(),
        "a removed shim is still counted: {counted:?}"
    );

    let response = http_get(&addr, "/").await;
    assert_eq!(response.status, 404, "{response:?}");
    assert!(response.body.contains("/metrics"), "{response:?}");
}

#[tokio::test]
async fn only_one_server_per_process_can_serve_metrics() {
    let with_metrics = || {
        let mut options = test_options();
        options.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        options
    };
    let first = bind(with_metrics()).await.expect("the first server binds");
    assert!(first.metrics_addr().is_some_and(|addr| addr.port() != 0));
    let Err(refused) = bind(with_metrics()).await else {
        panic!("a second metrics recorder was installed");
    };
    assert!(matches!(refused, ServerError::Metrics(_)), "{refused:?}");
    assert!(
        refused.to_string().contains("already installed"),
        "{refused}"
    );
}

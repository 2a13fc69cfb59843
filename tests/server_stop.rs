//! Stopping an in-process server (its stop future resolves) with live shims and open event
//! streams: `serve()` returns Ok within the shutdown deadline, every shim is shut down with
//! reason `daemon_stop` (one that ignores the polite requests is killed at the deadline), the
//! open streams deliver the `Died` events and then end, no agent process remains, and the port
//! no longer accepts connections. While it stops, health says NOT_SERVING and new shims are
//! refused (UNAVAILABLE). Neither a client that stopped reading its event stream nor an open
//! health Watch can hold the server up.

use crate::support::server as server_support;

use std::time::Duration;

use crate::support::procs::{Proc, assert_gone};
use agentshim::client::{Client, ConnectOptions, SendOptions};
use agentshim::rpc::ShimState;
use agentshim::rpc::event_envelope::Event as Pb;
use server_support::{
    Events, TestServer, assert_status, bash_shim, create_ready, kind, send_wait,
    small_window_client, test_options,
};
use tonic::Code;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(4);
/// Slack on top of the shutdown deadline for a loaded machine.
const SLACK: Duration = Duration::from_secs(15);

#[tokio::test]
async fn stopping_shuts_every_shim_down_ends_the_streams_and_leaves_no_process() {
    let mut options = test_options();
    options.shutdown_timeout = SHUTDOWN_TIMEOUT;
    let mut server = TestServer::start(options).await;
    let mut client = server.client().await;
    let mut agents = Vec::new();
    for id in ["idle", "busy", "stubborn"] {
        agents.push(Proc::running(create_ready(&mut client, id).await.pid));
    }
    let mut all = Events::open(&mut client, "", 0).await;
    let mut busy = Events::open(&mut client, "busy", 0).await;
    // `busy` runs a child of its own, and its caller waits for the answer; `stubborn`
    // ignores Ctrl-D, SIGTERM and SIGHUP.
    let waiting = {
        let mut client = client.clone();
        let options = SendOptions {
            from: Some("test".into()),
            message_id: Some("sleeping".into()),
            wait: true,
        };
        tokio::spawn(async move { client.send_message("busy", "sleep 1000", options).await })
    };
    busy.wait_for(
        "MessageDelivered",
        |e| matches!(e, Pb::MessageDelivered(d) if d.id == "sleeping"),
    )
    .await;
    let stubborn = "IGNOREEOF=1000; trap '' TERM HUP INT; echo stubborn-now";
    assert_eq!(
        send_wait(&mut client, "stubborn", stubborn).await,
        "stubborn-now"
    );

    let took = server.stop_within(SHUTDOWN_TIMEOUT + SLACK).await;
    eprintln!("serve() returned {took:?} after the stop");
    assert!(
        took >= SHUTDOWN_TIMEOUT / 2,
        "the stubborn shell was given its deadline: {took:?}"
    );

    // The waiting caller is released (the shutdown's Ctrl-C ends the turn: an answer of
    // `^C`, or an error if the agent was gone first); it does not hang.
    let answer = tokio::time::timeout(SLACK, waiting).await;
    let _ = answer.expect("the waiting send ended with the server");

    let rest = all.until_end().await;
    let mut died = std::collections::BTreeMap::new();
    for envelope in &rest {
        match &envelope.event {
            Some(Pb::Died(d)) => {
                died.insert(envelope.shim_id.clone(), d.exit_code);
            }
            Some(Pb::StateChanged(change)) if change.to_state() == ShimState::Dead => {
                assert!(change.summary.contains("daemon_stop"), "{change:?}");
            }
            _ => {}
        }
    }
    let kinds: Vec<String> = rest
        .iter()
        .map(|e| format!("{} {}", e.shim_id, kind(e)))
        .collect();
    assert_eq!(
        died.len(),
        3,
        "every shim's Died before the stream ended: {kinds:#?}"
    );
    assert_eq!(died["stubborn"], Some(137), "killed at the deadline");
    let busy_rest = busy.until_end().await;
    assert!(
        busy_rest
            .iter()
            .any(|e| matches!(e.event, Some(Pb::Died(_))))
    );
    assert_gone(&agents).await;

    let url = server.url();
    let refused =
        tokio::time::timeout(SLACK, Client::connect(&url, ConnectOptions::default())).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "the port still accepts: {refused:?}"
    );
}

#[tokio::test]
async fn a_client_that_stopped_reading_does_not_hold_the_server_up() {
    let mut options = test_options();
    options.shutdown_timeout = SHUTDOWN_TIMEOUT;
    let mut server = TestServer::start(options).await;
    let mut client = server.client().await;
    let agent = Proc::running(create_ready(&mut client, "loud").await.pid);
    // A stream with a 64 KiB window that is never read, then an event far larger than that.
    let mut stalled_client = small_window_client(&server).await;
    let _stalled = Events::open(&mut stalled_client, "", 0).await;
    let big = "head -c 300000 /dev/zero | tr '\\0' x; echo";
    assert_eq!(send_wait(&mut client, "loud", big).await.len(), 300_000);

    let took = server.stop_within(SHUTDOWN_TIMEOUT + SLACK).await;
    eprintln!("serve() returned {took:?} after the stop");
    assert_gone(&[agent]).await;
}

async fn watch_health(server: &TestServer) -> tonic::Streaming<HealthCheckResponse> {
    let channel = Endpoint::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let request = HealthCheckRequest {
        service: "agentshim.v1.AgentShimService".into(),
    };
    HealthClient::new(channel)
        .watch(request)
        .await
        .expect("Watch")
        .into_inner()
}

async fn next_status(watch: &mut tonic::Streaming<HealthCheckResponse>) -> ServingStatus {
    let next = tokio::time::timeout(SLACK, watch.message()).await;
    let next = next
        .expect("a health update in time")
        .expect("Watch failed");
    next.expect("Watch ended").status()
}

#[tokio::test]
async fn while_stopping_health_is_not_serving_and_new_shims_are_refused() {
    let mut options = test_options();
    options.shutdown_timeout = SHUTDOWN_TIMEOUT;
    let mut server = TestServer::start(options).await;
    let mut client = server.client().await;
    create_ready(&mut client, "stubborn").await;
    // This shell holds the stop for the whole deadline, so there is time to look around.
    let stubborn = "IGNOREEOF=1000; trap '' TERM HUP INT; echo stubborn-now";
    assert_eq!(
        send_wait(&mut client, "stubborn", stubborn).await,
        "stubborn-now"
    );
    let mut watch = watch_health(&server).await;
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);

    let stopping = tokio::spawn(async move {
        server.stop_within(SHUTDOWN_TIMEOUT + SLACK).await;
    });
    assert_eq!(next_status(&mut watch).await, ServingStatus::NotServing);
    drop(watch);
    let refused = client.create_shim(bash_shim("late")).await;
    assert_status(refused, Code::Unavailable, &["shutting down"]);
    stopping.await.expect("stopped in time");
}

#[tokio::test]
async fn an_open_health_watch_does_not_hold_the_server_up() {
    let mut server = TestServer::start(test_options()).await;
    let mut watch = watch_health(&server).await;
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving);
    // A client-side health checker keeps its Watch open (and reads it) for as long as it runs.
    let reader = tokio::spawn(async move { while let Ok(Some(_)) = watch.message().await {} });
    let took = server.stop_within(SLACK).await;
    eprintln!("serve() returned {took:?} after the stop");
    reader.abort();
}

//! A client that vanishes without closing its connection (a frozen proxy: the TCP connection
//! stays open, nothing passes) is disconnected by the server's HTTP/2 keepalive, so its event
//! stream does not hold the server's resources forever; the server keeps serving others.

use crate::support::cut_proxy;
use crate::support::server as server_support;

use std::time::{Duration, Instant};

use agentshim::client::{Client, ConnectOptions, NewShim};
use cut_proxy::CutProxy;
use server_support::{BASH, TIMEOUT, TestServer, test_options};

const KEEPALIVE: Duration = Duration::from_secs(1);

async fn connect(addr: &str) -> Client {
    Client::connect(addr, ConnectOptions::default())
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_silent_client_is_disconnected_by_keepalive() {
    let mut options = test_options();
    options.keepalive = KEEPALIVE;
    let server = TestServer::start(options).await;
    let mut proxy = CutProxy::start(server.addr.parse().unwrap()).await;
    let mut watcher = connect(&proxy.addr.to_string()).await;
    let mut stream = watcher.stream_events(None, 0).await.expect("stream");
    let mut direct = connect(&server.addr).await;
    direct
        .create_shim(NewShim {
            id: Some("k1".into()),
            ..NewShim::profile(BASH)
        })
        .await
        .expect("create");
    // The stream works through the proxy.
    tokio::time::timeout(TIMEOUT, stream.next_event())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("an event");

    proxy.freeze();
    let frozen = Instant::now();
    tokio::time::timeout(TIMEOUT, proxy.server_closed(1))
        .await
        .expect("the server drops a client that stopped answering its pings");
    let took = frozen.elapsed();
    eprintln!("keepalive {KEEPALIVE:?}: silent client disconnected after {took:?}");
    assert!(took >= KEEPALIVE, "closed before a ping went unanswered");
    // Everyone else is still served.
    assert_eq!(direct.list_shims().await.expect("list").len(), 1);
}

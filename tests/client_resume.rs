//! `ResumableEvents` on loopback, without root: a connection cut by a proxy while the server
//! keeps running is resumed after the last seq with exactly the missed events; a server that
//! stops and comes back as a new process is reported as restarted (new boot id), and a stream
//! of one of its old shims ends with NOT_FOUND; with `max_attempts`, a server that stays away
//! ends the stream. (`multi_host.rs` does the same across network namespaces, as root.)

use crate::support::cut_proxy;
use crate::support::resume_watch;
use crate::support::server as server_support;

use std::net::SocketAddr;

use agentshim::client::{Client, ConnectOptions, NewShim, ResumeItem, ResumeOptions, SendOptions};
use agentshim::server::ListenAddr;
use cut_proxy::CutProxy;
use resume_watch::{
    Watch, completion_saying, is_disconnected, is_ended, is_restarted, is_resumed, quick_retries,
    ready_of,
};
use server_support::{BASH, TIMEOUT, TestServer, test_options};

async fn connect(addr: &str) -> Client {
    Client::connect(addr, ConnectOptions::default())
        .await
        .expect("connect")
}

/// A server on `addr` (`127.0.0.1:0` for any port).
async fn server_on(addr: SocketAddr) -> TestServer {
    let mut options = test_options();
    options.listen = ListenAddr::Tcp(addr);
    TestServer::start(options).await
}

async fn ask(client: &mut Client, shim_id: &str, body: &str) -> String {
    let options = SendOptions {
        wait: true,
        ..SendOptions::default()
    };
    let sent = tokio::time::timeout(TIMEOUT, client.send_message(shim_id, body, options));
    let response = sent.await.expect("answer in time").expect("send_message");
    response.completion.expect("a completion").response
}

#[tokio::test]
async fn a_cut_connection_resumes_with_exactly_the_missed_events() {
    let server = TestServer::start_default().await;
    let proxy = CutProxy::start(server.addr.parse().unwrap()).await;
    let mut direct = connect(&server.url()).await;
    let through_proxy = connect(&format!("http://{}", proxy.addr)).await;
    let mut watch = Watch::start(vec![through_proxy.resumable_events(
        None,
        0,
        quick_retries(),
    )]);
    direct
        .create_shim(NewShim::profile(BASH).id("r1"))
        .await
        .expect("create r1");
    watch.wait_for(0, 0, "r1 Ready", ready_of("r1")).await;
    assert_eq!(ask(&mut direct, "r1", "echo before").await, "before");
    watch
        .wait_for(0, 0, "before", completion_saying("before"))
        .await;

    proxy.cut();
    let (lost, _) = watch.wait_for(0, 0, "the cut", is_disconnected).await;
    assert_eq!(ask(&mut direct, "r1", "echo while-cut").await, "while-cut");
    proxy.restore();
    let (resumed, _) = watch.wait_for(0, lost, "the resume", is_resumed).await;
    let &ResumeItem::Resumed { after_seq, .. } = watch.item(0, resumed) else {
        unreachable!("is_resumed")
    };
    assert_eq!(after_seq, watch.last_seq_before(0, resumed));
    let missed = completion_saying("while-cut");
    watch.wait_for(0, resumed, "while-cut", missed).await;
    watch.assert_no_gaps(0);
}

#[tokio::test]
async fn a_restarted_server_is_reported_and_its_old_shims_are_gone() {
    let mut server = server_on("127.0.0.1:0".parse().unwrap()).await;
    let addr: SocketAddr = server.addr.parse().unwrap();
    let mut client = connect(&server.url()).await;
    let first_boot = client.server_info().await.expect("server info").boot_id;
    let old = client
        .create_shim(NewShim::profile(BASH).id("old"))
        .await
        .expect("create old");
    assert_eq!(old.boot_id, first_boot);
    let mut watch = Watch::start(vec![
        client.resumable_events(None, 0, quick_retries()),
        client
            .resumable_events(Some("old"), 0, quick_retries())
            .expecting_boot_id(&old.boot_id),
    ]);
    watch.wait_for(0, 0, "old Ready", ready_of("old")).await;
    let (connected, _) = watch.wait_for(1, 0, "the first open", |_| true).await;
    assert!(
        matches!(watch.item(1, connected), ResumeItem::Connected { boot_id } if boot_id.as_deref() == Some(first_boot.as_str())),
        "{:?}",
        watch.item(1, connected)
    );

    // A graceful stop ends the streams; that is a disconnect too.
    server.stop_within(TIMEOUT).await;
    let (stopped, _) = watch.wait_for(0, 0, "the stop", is_disconnected).await;
    let ResumeItem::Disconnected { error, .. } = watch.item(0, stopped) else {
        unreachable!("is_disconnected")
    };
    assert!(
        error.to_string().contains("ended the event stream"),
        "{error}"
    );

    let _restarted = server_on(addr).await;
    let (notice, _) = watch
        .wait_for(0, stopped, "the restart", is_restarted)
        .await;
    let new_boot = client.server_info().await.expect("server info").boot_id;
    let ResumeItem::ServerRestarted {
        previous_boot_id,
        boot_id,
        last_seq,
        ..
    } = watch.item(0, notice)
    else {
        unreachable!("is_restarted")
    };
    assert_eq!(previous_boot_id.as_deref(), Some(first_boot.as_str()));
    assert_eq!(boot_id.as_deref(), Some(new_boot.as_str()));
    assert_eq!(*last_seq, watch.last_seq_before(0, notice));
    client
        .create_shim(NewShim::profile(BASH).id("new"))
        .await
        .expect("create new");
    watch
        .wait_for(0, notice, "new Ready", ready_of("new"))
        .await;
    watch.assert_no_gaps(0);

    let (old_notice, _) = watch.wait_for(1, 0, "old's restart", is_restarted).await;
    let (end, _) = watch.wait_for(1, old_notice, "old's end", is_ended).await;
    let ResumeItem::Ended { error } = watch.item(1, end) else {
        unreachable!("is_ended")
    };
    assert_eq!(error.code(), Some(tonic::Code::NotFound), "{error}");
}

#[tokio::test]
async fn a_server_that_stays_away_ends_the_stream_after_max_attempts() {
    let mut server = TestServer::start_default().await;
    let client = connect(&server.url()).await;
    let options = ResumeOptions {
        max_attempts: Some(2),
        ..quick_retries()
    };
    let mut events = client.resumable_events(None, 0, options);
    assert!(matches!(
        events.next().await,
        Some(ResumeItem::Connected { .. })
    ));
    server.stop_within(TIMEOUT).await;
    let mut attempts = Vec::new();
    let ended = loop {
        let item = tokio::time::timeout(TIMEOUT, events.next()).await;
        match item.expect("an item in time").expect("an item") {
            ResumeItem::Disconnected { attempt, .. } => attempts.push(attempt),
            ResumeItem::Ended { error } => break error,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(attempts, [1, 2], "then the third failure ends it: {ended}");
    assert!(events.next().await.is_none());
}

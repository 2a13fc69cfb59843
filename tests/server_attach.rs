//! The Attach RPC against a real server and bash shims: the first response says who writes,
//! the output draws the screen and follows live; a writer's bytes reach the agent and every
//! observer sees them; a second writer is refused (FAILED_PRECONDITION) unless it takes over;
//! a malformed first request and an unknown shim get precise errors; closing the stream
//! detaches, and the queue moves on.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::support::grpc_attach::GrpcAttached;
use crate::support::server::{PROMPT, TestServer, create_ready};
use agentshim::rpc::attach_response::Response;
use agentshim::rpc::{AttachMode, AttachRequest, AttachStart, TerminalSize, attach_request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_types_and_every_observer_sees_it() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "g1").await;
    let mut observer = GrpcAttached::new(&mut client, "g1", AttachMode::Observe)
        .await
        .unwrap();
    assert!(!observer.writer);
    let mut writer = GrpcAttached::new(&mut client, "g1", AttachMode::Write)
        .await
        .unwrap();
    assert!(writer.writer);
    writer.shows(PROMPT).await;
    writer.types("echo grpc-$((3*3))\r").await;
    writer.shows("grpc-9").await;
    observer.shows("grpc-9").await;

    let refused = GrpcAttached::new(&mut client, "g1", AttachMode::Write).await;
    let status = refused.err().expect("a second writer is refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("takeover"), "{status:?}");

    let taker = GrpcAttached::new(&mut client, "g1", AttachMode::Takeover)
        .await
        .unwrap();
    assert!(taker.writer);
    writer
        .response(|r| matches!(r, Response::WriterChanged(changed) if !changed.writer))
        .await;
    writer.types("echo not-mine\r").await;
    writer
        .response(|r| matches!(r, Response::Refusal(refusal) if refusal.request == "input"))
        .await;

    // A message waits while a writer is attached, and goes in once its stream is gone.
    let sent = client
        .send_message(
            "g1",
            "echo after-$((5+5))",
            agentshim::client::SendOptions::default(),
        )
        .await
        .unwrap();
    assert!(sent.queued);
    drop(taker);
    observer.shows("after-10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_attach_requests_get_precise_errors() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    create_ready(&mut client, "g2").await;
    let unknown = GrpcAttached::new(&mut client, "nope", AttachMode::Observe).await;
    assert_eq!(unknown.err().unwrap().code(), Code::NotFound);

    let no_start = futures_util::stream::iter([AttachRequest {
        request: Some(attach_request::Request::Input(b"x".to_vec())),
    }]);
    let status = client.rpc().attach(no_start).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let (_requests, outbound) = mpsc::channel(1);
    let start = AttachStart {
        shim_id: "g2".to_owned(),
        mode: AttachMode::Write.into(),
        size: Some(TerminalSize { rows: 0, cols: 80 }),
    };
    let status = client
        .attach(start, ReceiverStream::new(outbound))
        .await
        .unwrap_err();
    assert!(status.to_string().contains("between 1 and"), "{status}");
    // The shim is unharmed.
    tokio::time::timeout(Duration::from_secs(30), client.ping("g2"))
        .await
        .unwrap()
        .unwrap();
}

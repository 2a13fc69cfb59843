//! `agentshim serve` as a real process: SIGTERM with live shims and an open event stream ends
//! the stream (after the `Died` events), exits 0 within its deadline and leaves no agent
//! process; a non-loopback listener without a token is refused at startup with a message
//! about the token; and a server on `unix:PATH` serves the crate's client over the socket
//! (and removes the socket file when it stops).

use crate::support::serve_process;
use crate::support::server as server_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::eventually::Poll;
use crate::support::procs::{Proc, assert_gone};
use agentshim::rpc::ShimState;
use agentshim::rpc::event_envelope::Event as Pb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serve_process::{ServeProcess, TempDir};
use server_support::{Events, TIMEOUT, connect, create_ready, send, send_wait};

/// The server's own shutdown deadline, and what the test allows on top of it.
const SHUTDOWN_SECS: &str = "5";
const EXIT_WITHIN: Duration = Duration::from_secs(20);

fn terminate(server: &ServeProcess) {
    kill(Pid::from_raw(server.pid()), Signal::SIGTERM).expect("SIGTERM");
}

#[tokio::test]
async fn sigterm_ends_streams_exits_zero_and_leaves_no_agent() {
    let dir = TempDir::new("process-sigterm");
    let config = dir.config();
    let listen = ["--listen", "127.0.0.1:0"];
    let mut server = ServeProcess::start(
        &[
            &listen[..],
            &["--config", &config, "--shutdown-timeout", SHUTDOWN_SECS],
        ]
        .concat(),
    );
    let mut client = connect(&format!("http://{}", server.addr)).await;
    let mut agents = Vec::new();
    for id in ["one", "two"] {
        agents.push(Proc::running(create_ready(&mut client, id).await.pid));
    }
    let mut stream = Events::open(&mut client, "", 0).await;
    let sleeping = send(&mut client, "two", "sleep 1000", "").await;
    stream
        .wait_for(
            "MessageDelivered",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == sleeping),
        )
        .await;

    terminate(&server);
    let rest = stream.until_end().await;
    let died: Vec<&str> = rest
        .iter()
        .filter(|e| matches!(e.event, Some(Pb::Died(_))))
        .map(|e| e.shim_id.as_str())
        .collect();
    assert_eq!(died.len(), 2, "{:?}", stream.kinds());
    assert!(rest.iter().any(|e| matches!(
        &e.event,
        Some(Pb::StateChanged(c)) if c.to_state() == ShimState::Dead && c.summary.contains("daemon_stop")
    )));

    let (status, took) = server.wait_within(EXIT_WITHIN).await;
    assert!(status.success(), "exit status {status:?} after {took:?}");
    assert_gone(&agents).await;
}

#[tokio::test]
async fn a_non_loopback_listener_without_a_token_is_refused() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentshim"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("AGENTSHIM_TOKEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agentshim serve");
    let exited = Poll::within(TIMEOUT).until_blocking(|| child.try_wait().unwrap());
    if exited.is_none() {
        let _ = child.kill();
        panic!("agentshim serve --listen 0.0.0.0:0 kept running without a token");
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(
        stderr.contains("token"),
        "the refusal explains itself: {stderr}"
    );
    assert!(
        stderr.contains("--insecure"),
        "and says how to override: {stderr}"
    );
}

#[tokio::test]
async fn a_unix_socket_server_serves_the_typed_client() {
    let dir = TempDir::new("process-unix");
    let socket = dir.join("s.sock");
    let listen = format!("unix:{}", socket.display());
    let mut server = ServeProcess::start(&["--listen", &listen, "--config", &dir.config()]);
    assert_eq!(server.addr, listen);
    let mut client = connect(&listen).await;
    let agent = Proc::running(create_ready(&mut client, "local").await.pid);
    assert_eq!(
        send_wait(&mut client, "local", "echo over-unix").await,
        "over-unix"
    );
    let listed = client.list_shims().await.unwrap();
    assert_eq!(listed.len(), 1);

    terminate(&server);
    let (status, took) = server.wait_within(EXIT_WITHIN).await;
    assert!(status.success(), "exit status {status:?} after {took:?}");
    assert!(!socket.exists(), "socket file {socket:?} left behind");
    assert_gone(&[agent]).await;
}

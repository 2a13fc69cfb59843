//! The cost of the extra hop when a shim runs in a process of its own (`agentshim shim
//! --socket`, reached through `server::link`) instead of inside the host's process: the same
//! turn (`true` typed into an interactive bash whose semantic prompt marks end the turn at
//! once, so no settle window hides the hop) timed from `send_message` to its `Completion` in
//! the host's event log, both ways in one run, interleaved so machine load falls on both alike;
//! and the memory of idle shim processes: the resident set of one, and what each of
//! [`IDLE_PROCESSES`] costs when they run together (their proportional sets, averaged: the
//! binary's pages are shared among them).
//!
//! Run: `cargo bench --bench link`.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentshim::protocol::Event;
use agentshim::server::link::{LinkedShim, link};
use agentshim::shim::events::{EventLog, LogItem};
use agentshim::shim::{ShimHandle, ShimSpec};
use support::procs::{pss_kb, rss_kb};
use support::{ms, percentile};

/// Turns timed each way.
const TURNS: usize = 300;

/// Idle shim processes whose memory is measured together.
const IDLE_PROCESSES: usize = 10;

const BASH: [&str; 3] = ["--norc", "--noprofile", "-i"];

/// Sends `true` and waits for its Completion; how long that took.
async fn turn(handle: &ShimHandle, n: usize) -> Duration {
    let id = format!("m{n}");
    let mut events = handle.subscribe(handle.event_log().last_seq());
    let started = Instant::now();
    handle
        .send_message("bench", "true", Some(id.clone()))
        .await
        .expect("accepted");
    loop {
        let item = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("an event within 30 s")
            .expect("log open");
        if let LogItem::Event(envelope) = item
            && matches!(&envelope.event, Event::Completion { message_id: Some(m), .. } if *m == id)
        {
            return started.elapsed();
        }
    }
}

/// Waits until the shim is idle at its prompt.
async fn ready(handle: &ShimHandle) {
    let mut events = handle.subscribe(0);
    loop {
        match events.next().await.expect("log open") {
            LogItem::Event(envelope) if matches!(envelope.event, Event::Ready) => return,
            _ => {}
        }
    }
}

/// A shim process and its link, once its bash is at the prompt.
async fn linked_process(socket: &Path, id: &str) -> (Child, LinkedShim) {
    let child = shim_process(socket);
    let started = Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no socket");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let linked = link(socket, Arc::from(id), EventLog::new(10_000), 0)
        .await
        .expect("link");
    ready(&linked.handle).await;
    (child, linked)
}

/// `agentshim shim --socket PATH -- bash ...`, the way a host starts a shim process.
fn shim_process(socket: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_agentshim"))
        .args([
            "shim",
            "--env",
            "PS1=bench$ ",
            "--env",
            "HISTFILE=/dev/null",
        ])
        .arg("--socket")
        .arg(socket)
        .arg("--")
        .arg("bash")
        .args(BASH)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("start agentshim shim")
}

/// Kills the agent and ends the link: the shim process exits once its linked client, which
/// received the `Died`, has left.
async fn stop(mut child: Child, linked: LinkedShim) {
    linked.handle.kill().await.expect("kill");
    drop(linked);
    child.wait().expect("the shim process exits");
}

fn report(label: &str, sorted: &[Duration]) {
    println!(
        "{label:<26} n={:<4} p50={:>6.2} ms  p90={:>6.2} ms  p99={:>6.2} ms",
        sorted.len(),
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 90.0)),
        ms(percentile(sorted, 99.0)),
    );
}

#[tokio::main]
async fn main() {
    support::print_load("link, at the start");
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, linked) = linked_process(&dir.path().join("shim.sock"), "linked").await;
    let in_process = agentshim::shim::spawn(
        ShimSpec::new("in-process", "bash", BASH)
            .env("PS1", "bench$ ")
            .env("HISTFILE", "/dev/null"),
    )
    .expect("spawn bash");
    ready(&in_process).await;
    let idle_rss_kb = rss_kb(child.id());

    let (mut local, mut remote) = (Vec::new(), Vec::new());
    for n in 0..TURNS {
        local.push(turn(&in_process, n).await);
        remote.push(turn(&linked.handle, n).await);
    }
    local.sort();
    remote.sort();
    println!("send_message -> Completion of `true` in bash with prompt marks ({TURNS} turns each)");
    report("in-process shim", &local);
    report("shim process over a link", &remote);
    let extra = |p: f64| ms(percentile(&remote, p)) - ms(percentile(&local, p));
    println!(
        "extra hop: p50 {:+.2} ms, p90 {:+.2} ms, p99 {:+.2} ms (goal: at most +1 ms)",
        extra(50.0),
        extra(90.0),
        extra(99.0)
    );
    in_process.kill().await.expect("kill");
    stop(child, linked).await;

    let mut idle = Vec::new();
    for n in 0..IDLE_PROCESSES {
        idle.push(linked_process(&dir.path().join(format!("idle-{n}.sock")), "idle").await);
    }
    let pss: u64 = idle.iter().map(|(child, _)| pss_kb(child.id())).sum();
    println!(
        "idle shim process (bash at its prompt, empty history), goal at most 3 MB: RSS {:.1} MB \
         alone; {:.1} MB each of {IDLE_PROCESSES} together (proportional set)",
        idle_rss_kb as f64 / 1024.0,
        pss as f64 / 1024.0 / IDLE_PROCESSES as f64
    );
    for (child, linked) in idle {
        stop(child, linked).await;
    }
    support::print_load("link, at the end");
}

//! Turn latency of a bash shim, side by side with tmux in the same run.
//!
//! - **Round trip**: a client sends `echo xN` and waits for its answer: `SendMessage(wait)`
//!   over gRPC to an in-process `agentshim serve` on loopback (the path an orchestrator
//!   takes), and `send_and_wait` on the shim's handle (the same without gRPC). Each with turn
//!   signals (the shell integration's OSC 133 marks, the default) and without (the screen and
//!   its settle windows alone).
//! - **Detection**: from the moment bash runs the `PROMPT_COMMAND` of a finished turn (a
//!   user's `PROMPT_COMMAND` stamps `$EPOCHREALTIME` into a file) to the `Completion`
//!   reaching a subscriber.
//! - **tmux**: the crude loop an orchestrator could write instead: `tmux send-keys 'echo xN'
//!   Enter`, then `tmux capture-pane -p` back to back until the answer shows.
//!
//! Prints p50 and p99 per configuration and the ratio of each round trip to tmux's p50.
//! Run: `cargo bench --bench turn_latency` (needs tmux on PATH).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentshim::client::{Client, ConnectOptions, NewShim, SendOptions};
use agentshim::protocol::Event;
use agentshim::server::config::ConfigFile;
use agentshim::server::profiles::Profiles;
use agentshim::server::{ListenAddr, ServerOptions};
use agentshim::shim::events::LogItem;
use agentshim::shim::{ShimHandle, ShimSpec};

const TURNS: usize = 200;
const PROMPT: &str = "bench$ ";

/// An interactive bash without startup files, its prompt fixed, every prompt stamped.
fn bash_spec(id: &str, stamps: &Path, signals: bool) -> ShimSpec {
    ShimSpec::new(id, "bash", ["--norc", "--noprofile", "-i"])
        .env("PS1", PROMPT)
        .env("HISTFILE", "/dev/null")
        .env(
            "PROMPT_COMMAND",
            format!("echo $EPOCHREALTIME >> {}", stamps.display()),
        )
        .turn_signals(signals)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

fn stamps_file(label: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "agentshim-turn-bench-{}-{label}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// Milliseconds at quantile `q` of `samples`.
fn quantile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}

struct Row {
    label: String,
    p50: f64,
    p99: f64,
}

fn row(label: &str, mut samples: Vec<f64>) -> Row {
    Row {
        label: label.to_owned(),
        p50: quantile(&mut samples, 0.5),
        p99: quantile(&mut samples, 0.99),
    }
}

/// Waits until `shim` has reached its prompt.
async fn ready(shim: &ShimHandle) {
    let mut events = shim.subscribe(0);
    loop {
        let item = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("ready within 30 s")
            .expect("log open");
        if matches!(item, LogItem::Event(ref e) if matches!(e.event, Event::Ready)) {
            return;
        }
    }
}

/// Round trips through the shim's handle; also the detection latency of each turn.
async fn handle_round_trips(signals: bool) -> (Vec<f64>, Vec<f64>) {
    let label = if signals { "marks" } else { "screen" };
    let stamps = stamps_file(label);
    let shim = agentshim::shim::spawn(bash_spec(label, &stamps, signals)).expect("spawn bash");
    ready(&shim).await;
    let mut events = shim.subscribe(shim.event_log().last_seq());
    let (mut round_trips, mut detections) = (Vec::new(), Vec::new());
    for n in 0..TURNS {
        let started = Instant::now();
        let answer = shim
            .send_and_wait("bench", format!("echo x{n}"), None)
            .await
            .expect("answered");
        round_trips.push(started.elapsed().as_secs_f64() * 1e3);
        assert_eq!(answer.response, format!("x{n}"));
        // The subscriber's view of the same Completion, against the prompt's stamp.
        let received = loop {
            let item = events.next().await.expect("log open");
            if let LogItem::Event(e) = item
                && matches!(e.event, Event::Completion { .. })
            {
                break now_secs();
            }
        };
        let stamp = std::fs::read_to_string(&stamps).expect("stamps");
        let prompt_at: f64 = stamp
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok())
            .expect("a stamp");
        detections.push((received - prompt_at) * 1e3);
    }
    shim.kill().await.expect("kill");
    let _ = std::fs::remove_file(&stamps);
    (round_trips, detections)
}

/// Round trips of `SendMessage(wait)` through a gRPC server on loopback.
async fn grpc_round_trips(signals: bool) -> Vec<f64> {
    let config: ConfigFile = toml::from_str(&format!(
        r#"[profiles.bench]
command = ["bash", "--norc", "--noprofile", "-i"]
env = {{ PS1 = "{PROMPT}", HISTFILE = "/dev/null" }}
turn_signals = {signals}
"#
    ))
    .expect("bench config");
    let mut options = ServerOptions::new(ListenAddr::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))));
    options.profiles = Profiles::with_config(&config).expect("bench profiles");
    let state = tempfile::tempdir().expect("a state directory");
    options.state_dir = Some(state.path().join("state"));
    options.shim_program = Some(env!("CARGO_BIN_EXE_agentshim").into());
    let bound = agentshim::server::bind(options).await.expect("bind");
    let addr = format!("http://{}", bound.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.serve(async {
        let _ = stop_rx.await;
    }));
    let mut client = Client::connect(&addr, ConnectOptions::default())
        .await
        .expect("connect");
    client
        .create_shim(NewShim::profile("bench").id("bench"))
        .await
        .expect("create");
    // The first answer also waits for the shell to be ready.
    let wait = || SendOptions {
        wait: true,
        ..SendOptions::default()
    };
    client
        .send_message("bench", "true", wait())
        .await
        .expect("first");
    let mut samples = Vec::new();
    for n in 0..TURNS {
        let started = Instant::now();
        let response = client
            .send_message("bench", &format!("echo x{n}"), wait())
            .await
            .expect("answered");
        samples.push(started.elapsed().as_secs_f64() * 1e3);
        let completion = response.completion.expect("completion");
        assert_eq!(completion.response, format!("x{n}"));
    }
    let _ = stop_tx.send(());
    server.await.expect("server task").expect("server");
    samples
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("tmux runs");
    assert!(output.status.success(), "tmux {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The tmux loop: send the keys, capture the pane until the answer (unique per turn) and a
/// new prompt show.
fn tmux_round_trips() -> Vec<f64> {
    let socket = format!("agentshim-bench-{}", std::process::id());
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            "220",
            "-y",
            "50",
            "env",
            "-i",
            "TERM=xterm-256color",
            &format!("PS1={PROMPT}"),
            "HISTFILE=/dev/null",
            "bash",
            "--norc",
            "--noprofile",
            "-i",
        ],
    );
    let answered = |screen: &str, n: usize| {
        let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
        let answer = format!("x{n}");
        lines
            .windows(2)
            .any(|pair| pair[0] == answer && pair[1] == PROMPT.trim_end())
    };
    while !tmux(&socket, &["capture-pane", "-p", "-t", "bench"]).contains(PROMPT.trim_end()) {}
    let mut samples = Vec::new();
    for n in 0..TURNS {
        let started = Instant::now();
        tmux(
            &socket,
            &["send-keys", "-t", "bench", &format!("echo x{n}"), "Enter"],
        );
        while !answered(&tmux(&socket, &["capture-pane", "-p", "-t", "bench"]), n) {}
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    tmux(&socket, &["kill-server"]);
    samples
}

#[tokio::main]
async fn main() {
    println!("turn latency of a bash shim: `echo xN`, {TURNS} turns per row");
    let tmux = row("tmux send-keys + capture-pane", tmux_round_trips());
    let (marks, marks_detection) = handle_round_trips(true).await;
    let (screen, screen_detection) = handle_round_trips(false).await;
    let rows = [
        row(
            "gRPC SendMessage(wait), marks",
            grpc_round_trips(true).await,
        ),
        row(
            "gRPC SendMessage(wait), screen",
            grpc_round_trips(false).await,
        ),
        row("handle send_and_wait, marks", marks),
        row("handle send_and_wait, screen", screen),
    ];
    println!(
        "{:<34} {:>9} {:>9} {:>12}",
        "round trip", "p50 ms", "p99 ms", "p50 / tmux"
    );
    for r in rows.iter().chain([&tmux]) {
        println!(
            "{:<34} {:>9.2} {:>9.2} {:>12.2}",
            r.label,
            r.p50,
            r.p99,
            r.p50 / tmux.p50
        );
    }
    println!(
        "{:<34} {:>9} {:>9}",
        "completion detection", "p50 ms", "p99 ms"
    );
    for r in [
        row("prompt -> Completion, marks", marks_detection),
        row("prompt -> Completion, screen", screen_detection),
    ] {
        println!("{:<34} {:>9.2} {:>9.2}", r.label, r.p50, r.p99);
    }
}

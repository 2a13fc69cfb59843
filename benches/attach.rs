//! Keystroke echo through an attachment, side by side with tmux in one run: a key is written
//! to a terminal and timed until bash's echo of it comes back out of that terminal.
//!
//! - **raw PTY**: bash on a PTY of the bench's own, written and read directly: the floor.
//! - **tmux attach**: a real `tmux attach` client on a PTY, its session running the same bash
//!   (the baseline a person compares with).
//! - **agentshim attach**: the real `agentshim attach` command on a PTY, attached through a
//!   real `agentshim serve` (gRPC on loopback, then the shim process's socket) to a bash shim:
//!   what a person typing feels.
//! - **Attach RPC**: the same path from a Rust gRPC client, without the CLI's terminal.
//!
//! Keys alternate `x` and `y` (neither is in the prompts or the escape sequences tmux draws
//! with), so the first output holding the key after it was written is its echo; every 60
//! keys the line is killed (`Ctrl-U`) so it never wraps. Prints p50 and p99 per path and each
//! p50 as a ratio to tmux's. Run: `cargo bench --bench attach` (needs tmux on PATH).

mod support;

use std::time::{Duration, Instant};

use agentshim::rpc::{AttachMode, AttachRequest, AttachStart, TerminalSize, attach_request};
use agentshim::shim::process::{self, AgentProcess, ProcessSpec};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use support::serve::{BASH, Serve, bash_config};
use support::tmux::Tmux;
use support::{ms, percentile, print_load};

/// Keys timed per path.
const KEYS: usize = 300;
const ROWS: u16 = 30;
const COLS: u16 = 100;

/// How long any one echo (or the first prompt) may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// The key of sample `n`, and whether the line is killed before it.
fn key(n: usize) -> (u8, bool) {
    (if n.is_multiple_of(2) { b'x' } else { b'y' }, n % 60 == 59)
}

/// A program on a PTY of the bench's own.
struct OnPty {
    reader: pty_process::OwnedReadPty,
    writer: pty_process::OwnedWritePty,
    _process: AgentProcess,
}

impl OnPty {
    fn start(program: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let spec = ProcessSpec {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: None,
            env_set: env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
            env_remove: Vec::new(),
            rows: ROWS,
            cols: COLS,
            files: Vec::new(),
        };
        let (pty, process) = process::spawn(&spec).expect("start the program");
        let (reader, writer) = pty.into_split();
        Self {
            reader,
            writer,
            _process: process,
        }
    }

    /// Reads until the output holds `text`.
    async fn read_until(&mut self, text: &[u8]) {
        let mut seen = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        while !contains(&seen, text) {
            let read = tokio::time::timeout(PATIENCE, self.reader.read(&mut buffer))
                .await
                .expect("output in time")
                .expect("the PTY reads");
            assert!(read > 0, "the program ended");
            seen.extend_from_slice(&buffer[..read]);
        }
    }

    async fn echoes(mut self, ready: &str) -> Vec<Duration> {
        self.read_until(ready.as_bytes()).await;
        let mut samples = Vec::with_capacity(KEYS);
        for n in 0..KEYS {
            let (key, kill_line) = key(n);
            if kill_line {
                self.writer.write_all(b"\x15").await.expect("write");
            }
            let started = Instant::now();
            self.writer.write_all(&[key]).await.expect("write");
            self.read_until(&[key]).await;
            samples.push(started.elapsed());
        }
        samples
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Keystrokes through the Attach RPC, as the writer of shim `shim_id`.
async fn attach_rpc(serve: &Serve, shim_id: &str) -> Vec<Duration> {
    let mut client = serve.client().await;
    let (requests, outbound) = mpsc::channel(16);
    let start = AttachStart {
        shim_id: shim_id.to_owned(),
        mode: AttachMode::Write.into(),
        size: Some(TerminalSize {
            rows: ROWS.into(),
            cols: COLS.into(),
        }),
    };
    let mut responses = client
        .attach(start, ReceiverStream::new(outbound))
        .await
        .expect("attach");
    let mut until = async |text: &[u8]| {
        let mut seen = Vec::new();
        while !contains(&seen, text) {
            let response = tokio::time::timeout(PATIENCE, responses.next())
                .await
                .expect("a response in time")
                .expect("the stream goes on")
                .expect("no error");
            if let Some(agentshim::rpc::attach_response::Response::Output(bytes)) =
                response.response
            {
                seen.extend_from_slice(&bytes);
            }
        }
    };
    until(b"bench$ ").await;
    let input = |bytes: &[u8]| AttachRequest {
        request: Some(attach_request::Request::Input(bytes.to_vec())),
    };
    let mut samples = Vec::with_capacity(KEYS);
    for n in 0..KEYS {
        let (key, kill_line) = key(n);
        if kill_line {
            requests.send(input(b"\x15")).await.expect("send");
        }
        let started = Instant::now();
        requests.send(input(&[key])).await.expect("send");
        until(&[key]).await;
        samples.push(started.elapsed());
    }
    samples
}

struct Row {
    label: &'static str,
    p50: Duration,
    p99: Duration,
}

fn row(label: &'static str, mut samples: Vec<Duration>) -> Row {
    samples.sort();
    Row {
        label,
        p50: percentile(&samples, 50.0),
        p99: percentile(&samples, 99.0),
    }
}

#[tokio::main]
async fn main() {
    print_load("start");
    let bash = ["--norc", "--noprofile", "-i"];
    let clean = [("PS1", "bench$ "), ("HISTFILE", "/dev/null")];
    let raw = OnPty::start("bash", &bash, &clean).echoes("bench$ ").await;

    let tmux = Tmux::start("attach-bench", ROWS, COLS, 100);
    tmux.run(&["set-option", "-g", "status", "off"]);
    let tmux_client = OnPty::start(
        "tmux",
        &[
            "-L",
            tmux.socket(),
            "-f",
            "/dev/null",
            "attach",
            "-t",
            "base",
        ],
        &[],
    )
    .echoes("$ ")
    .await;
    drop(tmux);

    let serve = Serve::start(&bash_config(4));
    let mut client = serve.client().await;
    for id in ["cli", "rpc"] {
        client
            .create_shim(agentshim::client::NewShim::profile(BASH).id(id))
            .await
            .expect("create a shim");
    }
    let runtime_dir = tempfile::tempdir().expect("temp dir");
    let runtime_dir = runtime_dir.path().to_string_lossy().into_owned();
    let cli = OnPty::start(
        env!("CARGO_BIN_EXE_agentshim"),
        &["attach", "cli"],
        &[
            ("AGENTSHIM_ADDR", serve.addr.as_str()),
            ("XDG_RUNTIME_DIR", runtime_dir.as_str()),
            ("RUST_LOG", "off"),
        ],
    )
    .echoes("bench$ ")
    .await;
    let rpc = attach_rpc(&serve, "rpc").await;

    let rows = [
        row("raw PTY", raw),
        row("tmux attach", tmux_client),
        row("agentshim attach (CLI)", cli),
        row("Attach RPC", rpc),
    ];
    let tmux_p50 = rows[1].p50;
    println!("\nkeystroke echo, {KEYS} keys per path ({ROWS}x{COLS}):");
    println!(
        "{:<26} {:>9} {:>9} {:>12}",
        "path", "p50 ms", "p99 ms", "p50 / tmux"
    );
    for row in &rows {
        println!(
            "{:<26} {:>9.3} {:>9.3} {:>12.2}",
            row.label,
            ms(row.p50),
            ms(row.p99),
            row.p50.as_secs_f64() / tmux_p50.as_secs_f64()
        );
    }
    print_load("end");
}

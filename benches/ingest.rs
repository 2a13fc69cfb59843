//! Ingest: how fast a shim takes in a 50 MiB mixed stream through PTY, screen and driver, side
//! by side with a tmux pane and with a bare PTY read loop, in the same run (issue 14's row
//! "ingest of a 50 MiB mixed stream").
//!
//! The stream is a file generated from a fixed seed: plain and coloured text (16, 256 and
//! 24-bit colours, bold, underline), wide characters (CJK, emoji) and combining marks, tabs,
//! lines wider than the screen, progress bars redrawn with `\r` and erase-line, and cursor
//! moves up and down; its last line is a marker. In each round, three consumers of a `cat` of
//! it, each timed from the start of the `cat` until the marker has been taken in:
//!
//! - agentshim: a real `agentshim serve` (bash profile, 50×220, 5000 rows of history) is sent
//!   `cat FILE` with SendMessage(wait), which returns with the Completion once bash's next
//!   prompt came after the marker; CPU time is the server's and its shim process's.
//! - tmux: the same bash in a tmux pane (50×220, 5000 lines of history) is typed `cat FILE; tmux
//!   wait-for -S ...`; the bench waits for that signal, then polls the pane until the marker
//!   shows; CPU time is the tmux server's.
//! - raw PTY: `cat FILE` on a fresh PTY whose master this process reads (64 KiB reads) until
//!   EOF; CPU time is this process's. The floor: no parsing at all.
//!
//! The `cat` itself (the same in all three) is not counted. Three rounds; the median of each
//! is compared. Ratios: tmux's wall time over agentshim's (the issue's goal: ≥ 1.5), CPU over
//! raw PTY's.
//!
//! Run: `cargo bench --bench ingest` (needs tmux on PATH).

mod support;

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentshim::client::{NewShim, SendOptions};
use support::procs::{cpu_time, cpu_time_total};
use support::serve::{BASH, Serve, bash_config};
use support::tmux::Tmux;

const STREAM_BYTES: usize = 50 * 1024 * 1024;
const ROUNDS: usize = 3;
const ROWS: u16 = 50;
const COLS: u16 = 220;
const HISTORY: usize = 5000;
const MARKER: &str = "ingest-end-marker-14";

/// Writes the mixed stream (at least [`STREAM_BYTES`], then the marker line) to `path`.
fn write_stream(path: &Path) {
    // No word ends with a prompt marker (`$ # % > :` ...): a line cut there by a pause of the
    // loaded machine would look like a shell's prompt to the generic driver's screen reading,
    // which could end the turn before the stream did.
    const WORDS: &[&str] = &[
        "shim",
        "agent",
        "terminal",
        "screen",
        "history",
        "fn",
        "let",
        "match",
        "Ok(())",
        "=",
        "cargo",
        "build",
        "0x1f",
        "warning",
        "error[E0502]",
        "src/main.rs:42:7",
        "|",
        "{",
        "}",
    ];
    const WIDE: &[&str] = &[
        "漢字",
        "テスト",
        "한국어",
        "🚀",
        "✅",
        "e\u{301}",
        "ﬁ",
        "表示",
    ];
    let mut rng = fastrand::Rng::with_seed(14);
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create stream file"));
    let mut written = 0;
    let mut line = String::new();
    while written < STREAM_BYTES {
        line.clear();
        match rng.u8(0..10) {
            // Coloured words: 16, 256 and 24-bit colours, bold and underline.
            0..=2 => {
                for _ in 0..rng.usize(4..30) {
                    match rng.u8(0..4) {
                        0 => line.push_str(&format!("\x1b[{}m", rng.u8(30..38))),
                        1 => line.push_str(&format!("\x1b[1;38;5;{}m", rng.u8(..))),
                        2 => line.push_str(&format!(
                            "\x1b[4;38;2;{};{};{}m",
                            rng.u8(..),
                            rng.u8(..),
                            rng.u8(..)
                        )),
                        _ => line.push_str("\x1b[0m"),
                    }
                    line.push_str(WORDS[rng.usize(..WORDS.len())]);
                    line.push(' ');
                }
                line.push_str("\x1b[0m");
            }
            // Wide characters and combining marks among words.
            3 => {
                for _ in 0..rng.usize(4..40) {
                    line.push_str(if rng.bool() {
                        WIDE[rng.usize(..WIDE.len())]
                    } else {
                        WORDS[rng.usize(..WORDS.len())]
                    });
                    line.push(' ');
                }
            }
            // A progress bar redrawn in place.
            4 => {
                for step in 0..=10 {
                    line.push_str(&format!(
                        "\r\x1b[K[{:<10}] {:>3}%",
                        "=".repeat(step),
                        step * 10
                    ));
                }
            }
            // Up two rows, over, a note, back down: a TUI touching earlier rows.
            5 => line.push_str(&format!(
                "\x1b[2A\x1b[{}C\x1b[7mnote\x1b[0m\x1b[2B\r",
                rng.u8(0..200)
            )),
            // A line wider than the screen (it wraps), with tabs.
            6 => {
                while line.len() < 300 + rng.usize(0..400) {
                    line.push_str(WORDS[rng.usize(..WORDS.len())]);
                    line.push(if rng.u8(0..5) == 0 { '\t' } else { ' ' });
                }
            }
            // Plain text.
            _ => {
                for _ in 0..rng.usize(3..25) {
                    line.push_str(WORDS[rng.usize(..WORDS.len())]);
                    line.push(' ');
                }
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).expect("write stream");
        written += line.len();
    }
    writeln!(out, "{MARKER}").expect("write marker");
    out.flush().expect("flush stream");
}

/// One consumer's figures for one round.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

/// Drains `cat FILE` from a fresh PTY in this process; checks the marker came last.
fn raw_pty(file: &Path) -> Took {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave = std::fs::File::from(pty.slave);
    let me = std::process::id();
    let (cpu_before, started) = (cpu_time(me), Instant::now());
    let mut cat = Command::new("cat")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(slave.try_clone().expect("dup slave"))
        .stderr(slave)
        .spawn()
        .expect("spawn cat");
    let mut master = std::fs::File::from(pty.master);
    let mut buffer = vec![0; 64 * 1024];
    let mut tail = Vec::new();
    loop {
        match master.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                tail.extend_from_slice(&buffer[..read]);
                let keep = tail.len().saturating_sub(MARKER.len() + 4);
                tail.drain(..keep);
            }
            // EIO: the last holder of the slave side (cat) is gone.
            Err(error) if error.raw_os_error() == Some(nix::libc::EIO) => break,
            Err(error) => panic!("read the PTY: {error}"),
        }
    }
    let took = Took {
        wall: started.elapsed(),
        cpu: cpu_time(me) - cpu_before,
    };
    cat.wait().expect("cat exits");
    assert!(
        String::from_utf8_lossy(&tail).contains(MARKER),
        "the raw PTY ended with {tail:?}"
    );
    took
}

/// `cat FILE` typed into a tmux pane; waits for the signal after it, then for the marker.
fn tmux_pane(tmux: &Tmux, file: &Path) -> Took {
    let pid = tmux.pid();
    let target = "base";
    tmux.run(&["clear-history", "-t", target]);
    let (cpu_before, started) = (cpu_time(pid), Instant::now());
    tmux.type_line(
        target,
        &format!(
            "clear; cat {}; tmux -L {} wait-for -S ingested",
            file.display(),
            tmux.socket()
        ),
    );
    tmux.run(&["wait-for", "ingested"]);
    tmux.wait_for_line(target, MARKER);
    Took {
        wall: started.elapsed(),
        cpu: cpu_time(pid) - cpu_before,
    }
}

/// `cat FILE` sent to a shim of a real server; returns when its Completion came.
async fn agentshim_shim(server: &Serve, shim_id: &str, file: &Path) -> Took {
    let mut client = server.client().await;
    let pids = server.pids();
    let (cpu_before, started) = (cpu_time_total(&pids), Instant::now());
    let sent = client
        .send_message(
            shim_id,
            &format!("cat {}", file.display()),
            SendOptions {
                wait: true,
                ..SendOptions::default()
            },
        )
        .await
        .expect("SendMessage");
    let took = Took {
        wall: started.elapsed(),
        cpu: cpu_time_total(&pids) - cpu_before,
    };
    let response = sent.completion.expect("a completion").response;
    assert!(
        response.contains(MARKER),
        "the completion ends with {:?}",
        &response[response.len().saturating_sub(300)..]
    );
    took
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    support::print_load("ingest, at the start");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("mixed-stream");
    write_stream(&file);
    let size = std::fs::metadata(&file).expect("stream file").len();
    println!(
        "stream: {:.1} MiB of mixed output ({} lines), {ROWS}×{COLS}, {HISTORY} rows of history",
        size as f64 / (1024.0 * 1024.0),
        std::fs::read(&file)
            .expect("read stream")
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    );

    let server = Serve::start(&bash_config(1));
    let mut client = server.client().await;
    let shim = client
        .create_shim(NewShim {
            size: Some((ROWS, COLS)),
            scrollback: Some(HISTORY as u32),
            ..NewShim::profile(BASH).id("ingest")
        })
        .await
        .expect("CreateShim");
    let ready = client
        .send_message(
            &shim.id,
            "echo ready",
            SendOptions {
                wait: true,
                ..SendOptions::default()
            },
        )
        .await
        .expect("echo");
    assert!(ready.completion.is_some(), "the shim answered");
    let tmux = Tmux::start("ingest", ROWS, COLS, HISTORY);

    let mut rounds: [Vec<Took>; 3] = Default::default();
    println!(
        "{:>6} {:>22} {:>22} {:>22}",
        "round", "agentshim wall / cpu", "tmux wall / cpu", "raw PTY wall / cpu"
    );
    for round in 1..=ROUNDS {
        let took = [
            agentshim_shim(&server, &shim.id, &file).await,
            tmux_pane(&tmux, &file),
            raw_pty(&file),
        ];
        let cell = |t: &Took| {
            format!(
                "{:.2} s / {:.2} s",
                t.wall.as_secs_f64(),
                t.cpu.as_secs_f64()
            )
        };
        println!(
            "{round:>6} {:>22} {:>22} {:>22}",
            cell(&took[0]),
            cell(&took[1]),
            cell(&took[2])
        );
        for (all, one) in rounds.iter_mut().zip(took) {
            all.push(one);
        }
    }
    let [ours, tmux_took, raw] = rounds.map(|takes| Took {
        wall: median(takes.iter().map(|t| t.wall).collect()),
        cpu: median(takes.iter().map(|t| t.cpu).collect()),
    });
    let mib = size as f64 / (1024.0 * 1024.0);
    println!("medians of {ROUNDS} rounds:");
    println!(
        "  {:<10} {:>9} {:>10} {:>9} {:>16} {:>14}",
        "", "wall", "MiB/s", "cpu", "cpu / raw PTY's", "tmux wall / it"
    );
    for (name, took) in [("agentshim", ours), ("tmux", tmux_took), ("raw PTY", raw)] {
        println!(
            "  {name:<10} {:>7.2} s {:>10.1} {:>7.2} s {:>16.2} {:>14.2}",
            took.wall.as_secs_f64(),
            mib / took.wall.as_secs_f64(),
            took.cpu.as_secs_f64(),
            took.cpu.as_secs_f64() / raw.cpu.as_secs_f64(),
            tmux_took.wall.as_secs_f64() / took.wall.as_secs_f64()
        );
    }
    println!("  goal (issue 14): agentshim ≥ 1.5× tmux's speed (tmux wall / agentshim wall ≥ 1.5)");
    support::print_load("ingest, at the end");
}

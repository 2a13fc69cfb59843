//! Memory of shims with full histories, side by side with tmux panes holding the same text.
//!
//! For N = 1, 10, 50: N bash shims at 50×220 in this process each print 5000 full lines
//! (`yes` cut to 220 columns), and this process's RSS growth per shim is taken; then N tmux
//! panes of the same size and a 5000-line history print the same, and the tmux server's RSS
//! per pane is taken. Also the cost of an empty shim (a bash at its prompt), and, as the
//! baseline of how shims kept history before, vt100's own scrollback holding the same text.
//!
//! Run: `cargo bench --bench scale` (needs tmux on PATH).

use std::process::Command;
use std::time::Duration;

use agentshim::protocol::Event;
use agentshim::shim::events::LogItem;
use agentshim::shim::{ShimHandle, ShimSpec};

const LINES: usize = 5000;
const COLS: u16 = 220;
const ROWS: u16 = 50;
/// Prints LINES full lines, then a marker line.
const FILL: &str = "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | tr -d '\\n' | fold -w 220 | head -n 5000; echo filled-up";

/// Resident set size of `pid`, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

fn spec(n: usize) -> ShimSpec {
    ShimSpec::new(
        format!("scale-{n}"),
        "bash",
        ["--norc", "--noprofile", "-i"],
    )
    .env("PS1", "$ ")
    .env("HISTFILE", "/dev/null")
    .size(ROWS, COLS)
}

async fn wait_for(shim: &ShimHandle, wanted: impl Fn(&Event) -> bool) {
    let mut events = shim.subscribe(0);
    loop {
        let item = tokio::time::timeout(Duration::from_secs(120), events.next())
            .await
            .expect("in time")
            .expect("log open");
        if let LogItem::Event(envelope) = item
            && wanted(&envelope.event)
        {
            return;
        }
    }
}

/// RSS growth of this process per shim: (empty, full).
async fn agentshim_per_shim(count: usize) -> (f64, f64) {
    let me = std::process::id();
    let before = rss_kb(me);
    let mut shims = Vec::new();
    for n in 0..count {
        let shim = agentshim::shim::spawn(spec(n)).expect("spawn");
        wait_for(&shim, |e| matches!(e, Event::Ready)).await;
        shims.push(shim);
    }
    let empty = rss_kb(me);
    for shim in &shims {
        shim.send_message("bench", FILL, None).await.expect("sent");
    }
    for shim in &shims {
        wait_for(shim, |e| matches!(e, Event::Completion { .. })).await;
    }
    let full = rss_kb(me);
    for shim in &shims {
        shim.kill().await.expect("kill");
    }
    let per = |kb: u64| kb.saturating_sub(before) as f64 / count as f64;
    (per(empty), per(full))
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let output = Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("tmux runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The tmux server's RSS growth per pane with the same content (from a server with one
/// idle session to one with `count` more, filled).
fn tmux_per_pane(count: usize) -> f64 {
    let socket = format!("agentshim-scale-{}-{count}", std::process::id());
    let shell = [
        "env",
        "-i",
        "TERM=xterm-256color",
        "PS1=$ ",
        "bash",
        "--norc",
        "--noprofile",
        "-i",
    ];
    let session = |name: &str| {
        let mut args = vec!["new-session", "-d", "-s", name, "-x", "220", "-y", "50"];
        args.extend(shell);
        tmux(&socket, &args);
    };
    session("base");
    tmux(
        &socket,
        &["set-option", "-g", "history-limit", &LINES.to_string()],
    );
    let pid: u32 = tmux(&socket, &["display-message", "-p", "#{pid}"])
        .trim()
        .parse()
        .expect("tmux pid");
    let before = rss_kb(pid);
    for n in 0..count {
        session(&format!("s{n}"));
        tmux(
            &socket,
            &["send-keys", "-t", &format!("s{n}"), FILL, "Enter"],
        );
    }
    for n in 0..count {
        let target = format!("s{n}");
        while !tmux(&socket, &["capture-pane", "-p", "-t", &target]).contains("\nfilled-up") {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let full = rss_kb(pid);
    tmux(&socket, &["kill-server"]);
    full.saturating_sub(before) as f64 / count as f64
}

/// What the same text costs in vt100's own scrollback (how shims kept history before): RSS
/// growth per parser holding it.
fn vt100_scrollback_per_screen(count: usize) -> f64 {
    let me = std::process::id();
    let before = rss_kb(me);
    let line: String = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        .chars()
        .cycle()
        .take(usize::from(COLS))
        .collect();
    let screens: Vec<vt100::Parser> = (0..count)
        .map(|_| {
            let size = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
            let mut parser = vt100::Parser::new(size(ROWS), size(COLS), LINES);
            for _ in 0..LINES {
                parser.process(line.as_bytes());
                parser.process(b"\r\n");
            }
            parser
        })
        .collect();
    let grown = rss_kb(me).saturating_sub(before);
    drop(screens);
    grown as f64 / count as f64
}

#[tokio::main]
async fn main() {
    println!(
        "memory per shim with a full history ({LINES} lines of {COLS} columns), agentshim vs tmux"
    );
    println!(
        "{:>6} {:>16} {:>16} {:>16} {:>10} {:>22}",
        "shims", "agentshim empty", "agentshim full", "tmux full", "ratio", "vt100 scrollback full"
    );
    for count in [1, 10, 50] {
        let (empty, full) = agentshim_per_shim(count).await;
        let tmux = tmux_per_pane(count);
        let vt100 = vt100_scrollback_per_screen(count.min(10));
        println!(
            "{count:>6} {:>13.0} kB {:>13.0} kB {:>13.0} kB {:>10.2} {:>19.0} kB",
            empty,
            full,
            tmux,
            full / tmux,
            vt100
        );
    }
}

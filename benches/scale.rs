//! Memory of shims with full histories, side by side with tmux panes holding the same text.
//!
//! For N = 1, 10, 50: N bash shims at 50×220 in this process each print 5000 full lines
//! (`yes` cut to 220 columns), and this process's RSS growth per shim is taken; then N tmux
//! panes of the same size and a 5000-line history print the same, and the tmux server's RSS
//! per pane is taken. Also the cost of an empty shim (a bash at its prompt), and, as the
//! baseline of how shims kept history before, vt100's own scrollback holding the same text.
//!
//! Then where one shim's memory goes, measured with a counting global allocator (live heap
//! bytes) in this process: the vt100 screen grid alone, the driver/state/queue core beyond it,
//! the history once the 5000 rows are in, the event log holding the shim's events, and the rest
//! of a running shim (actor task, PTY, channels, buffers) as what a spawned shim holds beyond
//! those parts; beside the RSS per shim measured above (the allocator's overhead and slack).
//!
//! Run: `cargo bench --bench scale` (needs tmux on PATH).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use agentshim::protocol::Event;
use agentshim::shim::core::ShimCore;
use agentshim::shim::events::{EventLog, LogItem};
use agentshim::shim::screen::Screen;
use agentshim::shim::{ShimHandle, ShimSpec};
use support::procs::rss_kb;
use support::tmux::Tmux;
use support::{FILL, FILL_LINES as LINES};

const COLS: u16 = 220;
const ROWS: u16 = 50;
/// Running shims the breakdown averages over (one of the RSS rows' counts, to compare with).
const BREAKDOWN_SHIMS: usize = 10;

/// The system allocator, counting the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes live now (all threads).
fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
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

/// The tmux server's RSS growth per pane with the same content (from a server with one
/// idle session to one with `count` more, filled).
fn tmux_per_pane(count: usize) -> f64 {
    let tmux = Tmux::start(&format!("scale-{count}"), ROWS, COLS, LINES);
    let pid = tmux.pid();
    let before = rss_kb(pid);
    for n in 0..count {
        let target = format!("s{n}");
        tmux.new_session(&target, ROWS, COLS);
        tmux.type_line(&target, FILL);
    }
    for n in 0..count {
        tmux.wait_for_line(&format!("s{n}"), "filled-up");
    }
    rss_kb(pid).saturating_sub(before) as f64 / count as f64
}

/// One full row of the history's text (as FILL prints them).
fn full_line() -> String {
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        .chars()
        .cycle()
        .take(usize::from(COLS))
        .collect()
}

/// What the same text costs in vt100's own scrollback (how shims kept history before): RSS
/// growth per parser holding it.
fn vt100_scrollback_per_screen(count: usize) -> f64 {
    let me = std::process::id();
    let before = rss_kb(me);
    let line = full_line();
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

/// Live heap bytes since `before`, in kB per one of `count`.
fn heap_kb(before: isize, count: usize) -> f64 {
    (live() - before) as f64 / 1000.0 / count as f64
}

/// Where one shim's heap goes, each part measured on its own (live heap bytes), the running
/// shims averaged over `count`; `rss_full`: the RSS per full shim measured before, and over
/// how many shims.
async fn breakdown(count: usize, (rss_shims, rss_full): (usize, f64)) {
    let before = live();
    let mut screen = Screen::new(ROWS, COLS, LINES);
    let grid = heap_kb(before, 1);
    let before = live();
    let line = full_line();
    for _ in 0..LINES {
        screen.feed(line.as_bytes());
        screen.feed(b"\r\n");
    }
    drop(line);
    let history = heap_kb(before, 1);
    let history_counted = screen.history_bytes() as f64 / 1000.0;
    drop(screen);

    let before = live();
    let core = ShimCore::new(&spec(0), Instant::now(), SystemTime::now(), false);
    let core_beyond_screen = heap_kb(before, 1) - grid;
    drop(core);

    let before = live();
    let mut shims = Vec::new();
    for n in 0..count {
        let shim = agentshim::shim::spawn(spec(n)).expect("spawn");
        wait_for(&shim, |e| matches!(e, Event::Ready)).await;
        shims.push(shim);
    }
    let empty = heap_kb(before, count);
    for shim in &shims {
        shim.send_message("bench", FILL, None).await.expect("sent");
    }
    for shim in &shims {
        wait_for(shim, |e| matches!(e, Event::Completion { .. })).await;
    }
    let full = heap_kb(before, count);
    // The same events again, deep copies in a log of their own: what the shim's log holds.
    let log = EventLog::new(agentshim::shim::events::DEFAULT_LOG_CAPACITY);
    let copies: Arc<str> = Arc::from("copy");
    let shim_log = shims[0].event_log();
    let events = shim_log.retained(1, shim_log.last_seq());
    let before = live();
    for envelope in &events {
        log.append(&copies, envelope.event.clone());
    }
    let event_log = heap_kb(before, 1);
    for shim in &shims {
        shim.kill().await.expect("kill");
    }
    let rest = full - grid - core_beyond_screen - history - event_log;
    println!();
    println!(
        "where one shim's memory goes (live heap bytes, {ROWS}×{COLS}, {LINES} rows of \
         history; running shims: the mean of {count})"
    );
    let rows = [
        (format!("screen grid (vt100 {ROWS}×{COLS})"), grid),
        (
            "core beyond the screen (driver, state, queue)".to_owned(),
            core_beyond_screen,
        ),
        (
            format!("history ({LINES} rows; it counts {history_counted:.0} kB)"),
            history,
        ),
        (
            format!("event log ({} events, deep copies)", events.len()),
            event_log,
        ),
        (
            "the rest (actor task, PTY, channels, buffers)".to_owned(),
            rest,
        ),
        ("heap of a running shim, full".to_owned(), full),
        ("heap of a running shim at its prompt".to_owned(), empty),
        (
            format!("RSS per full shim ({rss_shims} shims, above)"),
            rss_full,
        ),
    ];
    for (part, kb) in rows {
        println!("  {part:<56} {kb:>9.1} kB");
    }
    println!(
        "  RSS beyond the heap (allocator slack, code, stacks)      {:>9.1} kB",
        rss_full - full
    );
}

#[tokio::main]
async fn main() {
    support::print_load("scale, at the start");
    println!(
        "memory per shim with a full history ({LINES} lines of {COLS} columns), agentshim vs tmux"
    );
    println!(
        "{:>6} {:>16} {:>16} {:>16} {:>10} {:>22}",
        "shims", "agentshim empty", "agentshim full", "tmux full", "ratio", "vt100 scrollback full"
    );
    let mut rss_full = (0, 0.0);
    for count in [1, 10, 50] {
        let (empty, full) = agentshim_per_shim(count).await;
        if count == BREAKDOWN_SHIMS {
            rss_full = (count, full);
        }
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
    breakdown(BREAKDOWN_SHIMS, rss_full).await;
}

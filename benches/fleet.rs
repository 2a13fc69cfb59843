//! A fleet of shims in one real `agentshim serve` process, side by side with the same panes in
//! one tmux server (issue 14's rows "1000 idle shell shims", "1000 shims × full history" and
//! "CreateShim p99 while 200 others are created").
//!
//! 1. Lookups during creates: on a fresh server with one shim, GetShim, ListShims and GetState
//!    of that shim, each back to back in a loop of its own, the three at once, first alone,
//!    then while 200 CreateShim calls run at once (on a connection of their own);
//!    p50/p99/max of each, and of the creates.
//! 2. 1000 idle shells: 1000 CreateShim of a `bash --norc --noprofile -i` profile (8 in flight),
//!    then `echo` sent to all of them at once (SendMessage with wait); then the CPU at rest
//!    over 10 s (utime+stime from `/proc`) and the memory (proportional set sizes, summed) of
//!    the server and its 1000 shim processes together, and the server's open files and
//!    threads per shim. tmux: 1000 sessions made one `new-session` at a time, `echo` typed
//!    into each and each screen polled until it shows; its server's CPU and memory the same
//!    way.
//! 3. Full history: the same shims (and panes) print 5000 full lines of 220 columns, 200 at a
//!    time; memory after the first 200, the projection to 1000 from that slope, and the figure
//!    measured once all 1000 are full.
//!
//! Needs tmux on PATH, about 1000 × 6 processes at once (fills run `yes | tr | fold | head` in
//! every shell), 2 PTYs and a dozen files per shim; the bench checks the limits first and stops
//! saying which one is short rather than run fewer shims. Takes a few minutes.
//!
//! Run: `cargo bench --bench fleet` (`-- lookups`: part 1 alone, a minute). With
//! `AGENTSHIM_BENCH_BASELINE=/path/to/agentshim` (an earlier build), part 1 runs against that
//! binary too, in the same run.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use agentshim::client::{CaptureOptions, Client, NewShim, SendOptions};
use futures_util::stream::{self, StreamExt};
use support::procs::{cpu_time_total, open_fds, pss_kb_total, threads};
use support::serve::{BASH, Serve, bash_config, waiting};
use support::tmux::Tmux;
use support::{FILL, FILL_LINES, ms, percentile};

const SHIMS: usize = 1000;
/// The first wave of full histories, the slope of the projection.
const FULL_SAMPLE: usize = 200;
/// CreateShim calls in flight while the fleet is made.
const CREATES_IN_FLIGHT: usize = 8;
/// CreateShim calls at once while lookups are timed.
const CONCURRENT_CREATES: usize = 200;
const ROWS: u16 = 50;
const COLS: u16 = 220;
const HISTORY: usize = FILL_LINES;
const REST: Duration = Duration::from_secs(10);

fn new_shim(id: String) -> NewShim {
    NewShim {
        size: Some((ROWS, COLS)),
        ..NewShim::profile(BASH).id(id)
    }
}

/// The command each shell is sent, and the line it answers with (which the command's echo
/// on the screen does not hold).
fn echo(n: usize) -> String {
    format!("echo answer-$((1+{n}))")
}

fn echoed(n: usize) -> String {
    format!("answer-{}", n + 1)
}

fn fleet_id(n: usize) -> String {
    format!("fleet-{n}")
}

/// Refuses to start (naming the limit) unless this machine can hold the fleet: open files
/// (the server raises its soft limit to the hard one), processes and PTYs.
fn check_limits() {
    let (_, files) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("RLIMIT_NOFILE");
    let (processes, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC)
        .expect("RLIMIT_NPROC");
    let read = |path: &str| -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(u64::MAX)
    };
    let ptys = read("/proc/sys/kernel/pty/max").saturating_sub(read("/proc/sys/kernel/pty/nr"));
    let pids = read("/proc/sys/kernel/pid_max").min(read("/proc/sys/kernel/threads-max"));
    let shims = SHIMS as u64;
    let needs = [
        ("open files (RLIMIT_NOFILE hard)", files, 16 * shims),
        ("processes (RLIMIT_NPROC)", processes, 6 * shims),
        ("pids (pid_max, threads-max)", pids, 6 * shims),
        ("free PTYs (kernel.pty.max - nr)", ptys, shims + 16),
    ];
    println!("limits for {SHIMS} shims:");
    let mut short = false;
    for (what, has, needed) in needs {
        let verdict = if has >= needed { "ok" } else { "TOO FEW" };
        println!("  {what:<34} {has:>20} needed ~{needed:<8} {verdict}");
        short |= has < needed;
    }
    if short {
        println!("this machine cannot hold {SHIMS} shims: not measured");
        std::process::exit(1);
    }
}

/// `(p50, p99, max)` of `samples`, sorted in place.
fn spread(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    samples.sort();
    (
        percentile(samples, 50.0),
        percentile(samples, 99.0),
        samples.last().copied().unwrap_or_default(),
    )
}

/// The latencies of each lookup RPC on `shim_id`, back to back until `done` says stop.
#[derive(Default)]
struct Lookups {
    get_shim: Vec<Duration>,
    list_shims: Vec<Duration>,
    get_state: Vec<Duration>,
}

impl Lookups {
    /// GetShim, ListShims and GetState of `shim_id`, each back to back in a loop of its own,
    /// all three at once, until `done` (given how many calls a loop has made) says so: a slow
    /// ListShims does not hold the other two up.
    async fn run(client: &Client, shim_id: &str, done: impl Fn(usize) -> bool) -> Self {
        let (mut shims, mut lists, mut states) = (client.clone(), client.clone(), client.clone());
        let (get_shim, list_shims, get_state) = tokio::join!(
            timed(&done, async || {
                shims.get_shim(shim_id).await.expect("GetShim");
            }),
            timed(&done, async || {
                lists.list_shims().await.expect("ListShims");
            }),
            timed(&done, async || {
                states.get_state(shim_id).await.expect("GetState");
            }),
        );
        Self {
            get_shim,
            list_shims,
            get_state,
        }
    }

    fn kinds(&mut self) -> [(&'static str, &mut Vec<Duration>); 3] {
        [
            ("GetShim", &mut self.get_shim),
            ("ListShims", &mut self.list_shims),
            ("GetState", &mut self.get_state),
        ]
    }
}

/// The time each of `call`, made back to back, took, until `done` (given how many were made)
/// says so.
async fn timed(done: &impl Fn(usize) -> bool, mut call: impl AsyncFnMut()) -> Vec<Duration> {
    let mut taken = Vec::new();
    while !done(taken.len()) {
        let started = Instant::now();
        call().await;
        taken.push(started.elapsed());
    }
    taken
}

async fn lookups_during_creates(program: &Path, name: &str) {
    println!();
    println!("1. lookups while {CONCURRENT_CREATES} CreateShim calls run at once ({name})");
    let server = Serve::start_program(program, &bash_config(CONCURRENT_CREATES + 1));
    let mut client = server.client().await;
    let anchor = client
        .create_shim(new_shim("anchor".into()))
        .await
        .expect("create anchor");
    let echoed = client
        .send_message(&anchor.id, "echo anchored", waiting())
        .await
        .expect("echo");
    assert!(echoed.completion.is_some(), "the anchor answered");
    let mut idle = Lookups::run(&client, &anchor.id, |calls| calls == 500).await;
    // The same burst with nothing else going on, then gone again: what creates cost alone.
    let (mut alone_creates, alone_took) = create_burst(server.client().await, "alone").await;
    for n in 0..CONCURRENT_CREATES {
        let id = format!("alone-{n}");
        client.delete_shim(&id).await.expect("DeleteShim");
    }
    let creates = tokio::spawn(create_burst(server.client().await, "busy"));
    let mut during = Lookups::run(&client, &anchor.id, |_| creates.is_finished()).await;
    let (mut create_latencies, creates_took) = creates.await.expect("creates");
    println!(
        "  {:<10} {:>22} {:>28} {:>8} {:>10}",
        "rpc", "alone p50/p99/max", "during creates p50/p99/max", "n", "p99 ratio"
    );
    for ((name, alone), (_, busy)) in idle.kinds().into_iter().zip(during.kinds()) {
        let (a50, a99, amax) = spread(alone);
        let (b50, b99, bmax) = spread(busy);
        println!(
            "  {name:<10} {:>6.2}/{:>6.2}/{:>6.2} ms {:>10.2}/{:>6.2}/{:>6.2} ms {:>8} {:>10.1}",
            ms(a50),
            ms(a99),
            ms(amax),
            ms(b50),
            ms(b99),
            ms(bmax),
            busy.len(),
            b99.as_secs_f64() / a99.as_secs_f64()
        );
    }
    for (when, latencies, took) in [
        ("alone", &mut alone_creates, alone_took),
        ("with the lookups", &mut create_latencies, creates_took),
    ] {
        let (c50, c99, cmax) = spread(latencies);
        println!(
            "  CreateShim x{CONCURRENT_CREATES} at once, {when}: p50 {:.1} ms, p99 {:.1} ms, \
             max {:.1} ms, all in {:.2} s",
            ms(c50),
            ms(c99),
            ms(cmax),
            took.as_secs_f64()
        );
    }
    println!(
        "  goal: lookups p99 < 10 ms during creates; issue 14's baseline: 53 ms (registry lock)"
    );
}

/// [`CONCURRENT_CREATES`] CreateShim calls at once, ids `PREFIX-N`, on `client`'s connection;
/// their latencies and the time until the last returned.
async fn create_burst(client: Client, prefix: &'static str) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let calls = (0..CONCURRENT_CREATES).map(|n| {
        let mut client = client.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            client
                .create_shim(new_shim(format!("{prefix}-{n}")))
                .await
                .expect("CreateShim");
            started.elapsed()
        })
    });
    let mut latencies = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        latencies.push(call.await.expect("create task"));
    }
    (latencies, started.elapsed())
}

/// Sends `echo` to every shim at once (SendMessage with wait); checks each answer and returns
/// the time until the last one came.
async fn echo_all(client: &Client) -> Duration {
    let started = Instant::now();
    let calls = (0..SHIMS).map(|n| {
        let mut client = client.clone();
        let (body, answer) = (echo(n), echoed(n));
        tokio::spawn(async move {
            let sent = client
                .send_message(&fleet_id(n), &body, waiting())
                .await
                .expect("SendMessage");
            let response = sent.completion.expect("a completion").response;
            assert!(response.contains(&answer), "shim {n} answered {response:?}");
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.expect("send task");
    }
    started.elapsed()
}

/// Sends [`FILL`] to shims `range` at once, then polls each one's screen (as the tmux side
/// does) until it shows `filled-up`; returns the time that took. (Not SendMessage with wait: 200
/// Completions of 480 KiB at once overrun the server's 64 MiB event log, and waiters whose
/// Completion was evicted fail.)
async fn fill_shims(client: &Client, range: std::ops::Range<usize>) -> Duration {
    let started = Instant::now();
    let sends = range.clone().map(|n| {
        let mut client = client.clone();
        tokio::spawn(async move {
            client
                .send_message(&fleet_id(n), FILL, SendOptions::default())
                .await
                .expect("SendMessage")
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.expect("send task");
    }
    let mut client = client.clone();
    for n in range {
        loop {
            let screen = client
                .capture_screen(&fleet_id(n), CaptureOptions::default())
                .await
                .expect("CaptureScreen");
            if screen.content.lines().any(|line| line == "filled-up") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    started.elapsed()
}

/// CPU `pids` used together over [`REST`], as a percentage of one core (sleeps: the bench has
/// nothing else to do meanwhile).
fn cpu_at_rest(pids: &[u32]) -> f64 {
    let before = cpu_time_total(pids);
    std::thread::sleep(REST);
    (cpu_time_total(pids) - before).as_secs_f64() / REST.as_secs_f64() * 100.0
}

/// What one side measured of the fleet.
struct Fleet {
    /// Until all [`SHIMS`] were created.
    create: Duration,
    /// Until every shell had answered its `echo`.
    echo: Duration,
    /// The CPU at rest of the server (and its shim processes), % of a core.
    cpu_pct: f64,
    /// Memory (PSS) growth per idle shell.
    idle_kb: f64,
    /// Memory per full shell: idle, plus the growth per shell of the first [`FULL_SAMPLE`] filled.
    sample_kb: f64,
    /// Memory growth per shell once all of them are full.
    full_kb: f64,
}

impl Fleet {
    fn print(&self, tmux: &Fleet) {
        let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
        let kb = |kb: f64| format!("{kb:.0} kB");
        let ratio = |ours: f64, theirs: f64| format!("{:.2}", ours / theirs);
        let rows = [
            (
                format!("create {SHIMS} shells"),
                secs(self.create),
                secs(tmux.create),
                ratio(self.create.as_secs_f64(), tmux.create.as_secs_f64()),
                "< 30 s",
            ),
            (
                format!("all {SHIMS} answer echo"),
                secs(self.echo),
                secs(tmux.echo),
                ratio(self.echo.as_secs_f64(), tmux.echo.as_secs_f64()),
                "< 10 s",
            ),
            (
                format!("CPU at rest ({} s)", REST.as_secs()),
                format!("{:.2} %", self.cpu_pct),
                format!("{:.2} %", tmux.cpu_pct),
                "-".into(),
                "< 1 % of a core",
            ),
            (
                "memory per idle shell".into(),
                kb(self.idle_kb),
                kb(tmux.idle_kb),
                ratio(self.idle_kb, tmux.idle_kb),
                "-",
            ),
            (
                format!("memory per full shell (first {FULL_SAMPLE})"),
                kb(self.sample_kb),
                kb(tmux.sample_kb),
                ratio(self.sample_kb, tmux.sample_kb),
                "-",
            ),
            (
                format!("memory per full shell (all {SHIMS})"),
                kb(self.full_kb),
                kb(tmux.full_kb),
                ratio(self.full_kb, tmux.full_kb),
                "-",
            ),
        ];
        println!(
            "  {:<36} {:>12} {:>12} {:>8}  goal (issue 14)",
            "", "agentshim", "tmux", "ratio"
        );
        for (label, ours, theirs, ratio, goal) in rows {
            println!("  {label:<36} {ours:>12} {theirs:>12} {ratio:>8}  {goal}");
        }
    }
}

/// The shims filled after the first [`FULL_SAMPLE`], in waves of as many: 800 shells printing
/// at once on 2 cores starve each other past the shim's 10 s wait for a message's echo.
fn waves() -> impl Iterator<Item = std::ops::Range<usize>> {
    (FULL_SAMPLE..SHIMS)
        .step_by(FULL_SAMPLE)
        .map(|start| start..(start + FULL_SAMPLE).min(SHIMS))
}

/// Growth of `total` over `base` per shim.
fn per_shim(total: u64, base: u64, shims: usize) -> f64 {
    total.saturating_sub(base) as f64 / shims as f64
}

async fn agentshim_fleet() -> Fleet {
    let server = Serve::start(&bash_config(SHIMS));
    let pid = server.pid();
    // The server and its shim processes: the memory of all of them is the fleet's.
    let memory_kb = || pss_kb_total(&server.pids());
    let client = server.client().await;
    let (base_kb, base_fds, base_threads) = (memory_kb(), open_fds(pid), threads(pid));
    let started = Instant::now();
    stream::iter(0..SHIMS)
        .for_each_concurrent(CREATES_IN_FLIGHT, |n| {
            let mut client = client.clone();
            async move {
                client
                    .create_shim(new_shim(fleet_id(n)))
                    .await
                    .expect("CreateShim");
            }
        })
        .await;
    let create = started.elapsed();
    let echo = echo_all(&client).await;
    std::thread::sleep(Duration::from_secs(2));
    let pids = server.pids();
    let cpu_pct = cpu_at_rest(&pids);
    let idle_total = memory_kb();
    let idle_kb = per_shim(idle_total, base_kb, SHIMS);
    println!(
        "  agentshim: {SHIMS} created in {:.2} s, all answered echo in {:.2} s, CPU at rest {cpu_pct:.2} % \
         (the server and {} shim processes)",
        create.as_secs_f64(),
        echo.as_secs_f64(),
        pids.len() - 1
    );
    println!(
        "  agentshim: {idle_total} kB PSS with {SHIMS} idle shims ({base_kb} kB, the server \
         empty); server: {:.1} open files and {} threads more per shim ({} files, {} threads in \
         all)",
        (open_fds(pid) - base_fds) as f64 / SHIMS as f64,
        (threads(pid) - base_threads) as f64 / SHIMS as f64,
        open_fds(pid),
        threads(pid)
    );
    let fill = |range| fill_shims(&client, range);
    let took = fill(0..FULL_SAMPLE).await;
    let sample_total = memory_kb();
    let slope = per_shim(sample_total, idle_total, FULL_SAMPLE);
    let projected_gb = (idle_total as f64 + slope * SHIMS as f64) / 1e6;
    println!(
        "  {FULL_SAMPLE} full histories in {:.1} s: PSS {sample_total} kB, +{slope:.0} kB per \
         shim filled; PROJECTION from that slope for {SHIMS} full: {projected_gb:.2} GB",
        took.as_secs_f64()
    );
    let mut took = Duration::ZERO;
    for wave in waves() {
        took += fill(wave).await;
    }
    let full_kb = memory_kb();
    println!(
        "  {SHIMS} full histories (the other {} in {:.1} s, {FULL_SAMPLE} at a time): PSS \
         measured {:.2} GB",
        SHIMS - FULL_SAMPLE,
        took.as_secs_f64(),
        full_kb as f64 / 1e6
    );
    drop(client);
    let mut server = server;
    println!(
        "  the server stopped its {SHIMS} shims in {:.1} s",
        server.stop().as_secs_f64()
    );
    Fleet {
        create,
        echo,
        cpu_pct,
        idle_kb,
        sample_kb: idle_kb + slope,
        full_kb: full_kb.saturating_sub(base_kb) as f64 / SHIMS as f64,
    }
}

fn tmux_fleet() -> Fleet {
    let tmux = Tmux::start("fleet", ROWS, COLS, HISTORY);
    let pid = tmux.pid();
    let memory_kb = || pss_kb_total(&[pid]);
    let base_kb = memory_kb();
    let target = |n: usize| fleet_id(n);
    let started = Instant::now();
    for n in 0..SHIMS {
        tmux.new_session(&target(n), ROWS, COLS);
    }
    let create = started.elapsed();
    let started = Instant::now();
    for n in 0..SHIMS {
        tmux.type_line(&target(n), &echo(n));
    }
    for n in 0..SHIMS {
        tmux.wait_for_line(&target(n), &echoed(n));
    }
    let echo = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    let cpu_pct = cpu_at_rest(&[pid]);
    let idle_total = memory_kb();
    let idle_kb = per_shim(idle_total, base_kb, SHIMS);
    let fill = |range: std::ops::Range<usize>| {
        for n in range.clone() {
            tmux.type_line(&target(n), FILL);
        }
        for n in range {
            tmux.wait_for_line(&target(n), "filled-up");
        }
    };
    fill(0..FULL_SAMPLE);
    let slope = per_shim(memory_kb(), idle_total, FULL_SAMPLE);
    waves().for_each(fill);
    let full_kb = memory_kb();
    println!(
        "  tmux server: {full_kb} kB PSS with {SHIMS} full panes ({base_kb} kB with one idle \
         session)"
    );
    Fleet {
        create,
        echo,
        cpu_pct,
        idle_kb,
        sample_kb: idle_kb + slope,
        full_kb: full_kb.saturating_sub(base_kb) as f64 / SHIMS as f64,
    }
}

#[tokio::main]
async fn main() {
    support::print_load("fleet, at the start");
    check_limits();
    lookups_during_creates(Path::new(env!("CARGO_BIN_EXE_agentshim")), "this build").await;
    if let Some(baseline) = std::env::var_os("AGENTSHIM_BENCH_BASELINE") {
        lookups_during_creates(Path::new(&baseline), "baseline").await;
    }
    if std::env::args().any(|arg| arg == "lookups") {
        return;
    }
    println!();
    println!(
        "2./3. {SHIMS} shells in one server, idle, then with full histories ({HISTORY}×{COLS})"
    );
    let ours = agentshim_fleet().await;
    let tmux = tmux_fleet();
    ours.print(&tmux);
    support::print_load("fleet, at the end");
}

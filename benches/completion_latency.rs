//! Completion latency: the time from the moment an agent prints its prompt (the end of a turn)
//! to the moment the shim's `Completion` event reaches a subscriber.
//!
//! The agent is a bash loop that stamps `$EPOCHREALTIME` (a builtin, no fork) right after it
//! prints its prompt; the bench stamps the wall clock when it receives the event. Two drivers'
//! settle windows are compared side by side: the generic driver's default, and a zero window
//! (the floor: PTY read + screen + classification + event log, with no waiting for quiet).
//! The floor is measured again with the Prometheus recorder installed, as `agentshim serve
//! --metrics-listen` installs it: the cost of recording metrics (the first two run without a
//! recorder, when recording does nothing).
//!
//! Run: `cargo bench --bench completion_latency`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentshim::protocol::Event;
use agentshim::shim::events::LogItem;
use agentshim::shim::{ShimSpec, Timing};

const MESSAGES: usize = 40;

/// One prompt per line read; each prompt's print time is appended to `$STAMPS`.
const AGENT: &str = r#"while true; do printf 'bench$ '; echo "$EPOCHREALTIME" >> "$STAMPS"; IFS= read -r line || exit 0; echo "got $line"; done"#;

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

async fn measure(label: &str, timing: Timing) -> Vec<f64> {
    let stamps =
        std::env::temp_dir().join(format!("agentshim-bench-{}-{label}", std::process::id()));
    let _ = std::fs::remove_file(&stamps);
    let spec = ShimSpec::new(
        format!("bench-{label}"),
        "bash",
        ["--norc", "--noprofile", "-c", AGENT],
    )
    .env("STAMPS", &stamps)
    .timing(timing);
    let shim = agentshim::shim::spawn(spec).expect("spawn bench agent");
    let mut events = shim.subscribe(0);
    let mut latencies = Vec::with_capacity(MESSAGES);
    let mut waiting_ready = true;
    let mut sent = 0;
    while latencies.len() < MESSAGES {
        let item = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("event within 30 s")
            .expect("log open");
        let received = now_secs();
        let LogItem::Event(envelope) = item else {
            panic!("events lost")
        };
        let ready = matches!(envelope.event, Event::Ready) && waiting_ready;
        if let Event::Completion { .. } = envelope.event {
            let prompt_printed = read_stamp(&stamps, sent).await;
            latencies.push((received - prompt_printed) * 1000.0);
        }
        if ready || matches!(envelope.event, Event::Completion { .. }) {
            waiting_ready = false;
            if sent < MESSAGES {
                shim.send_message("bench", format!("message {sent}"), None)
                    .await
                    .expect("accepted");
                sent += 1;
            }
        }
    }
    shim.kill().await.expect("kill");
    let _ = std::fs::remove_file(&stamps);
    latencies
}

/// The `index`-th stamp (0 is the first prompt, printed before any message). Bash appends it
/// right after printing the prompt, so with no settle window the Completion can come first:
/// the stamp is waited for (its value, not when it is read, is what counts).
async fn read_stamp(path: &PathBuf, index: usize) -> f64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(stamp) = text.lines().nth(index).and_then(|l| l.trim().parse().ok()) {
            return stamp;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stamp {index} in {path:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn report(label: &str, mut latencies: Vec<f64>) {
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label:<28} n={:<3} p50={:>7.1} ms  p90={:>7.1} ms  max={:>7.1} ms",
        latencies.len(),
        pick(0.5),
        pick(0.9),
        pick(1.0)
    );
}

#[tokio::main]
async fn main() {
    println!(
        "completion latency: prompt printed -> Completion received ({MESSAGES} messages each)"
    );
    let default = measure("default", Timing::default()).await;
    let no_settle = || Timing {
        max_settle: Duration::ZERO,
        ..Timing::default()
    };
    let floor = measure("floor", no_settle()).await;
    let _recorder = agentshim::metrics::install().expect("install the metrics recorder");
    let floor_metrics = measure("floor-metrics", no_settle()).await;
    report("generic driver (default)", default);
    report("no settle window (floor)", floor);
    report("floor, metrics recorded", floor_metrics);
}

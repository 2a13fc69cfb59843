//! Timings of the real Codex CLI (0.169.0) under agentshim, printed (never asserted): how long
//! Codex takes to be ready under agentshim and in tmux, side by side in the same run, and how
//! long the shim takes to report a finished turn. Live only (`scripts/live-agents.sh`).
//!
//! - Ready: agentshim = spawn → `Ready` event; tmux = `new-session` → the pane shows the empty
//!   input box's footer (`? for shortcuts`) under a header done `loading` (the screen the
//!   driver calls ready), polled every 20 ms. Runs alternate between the two, [`RUNS`] each, inline mode (the profile's).
//! - Completion-detection latency: from the moment the shim's screen first shows the turn's
//!   end line (`Worked for …` under the answer), found by polling the shim's screen every
//!   10 ms, to the `Completion` event's log time. The end line is the last thing Codex draws
//!   for a turn, so this approximates "last output byte → Completion" (to within the polling
//!   interval), for [`RUNS`] turns of one session.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_codex;
use crate::support::live_shim::LiveShim;
use crate::support::live_tmux;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::eventually::Poll;
use fake_model::{FakeModelServer, Reply};
use live_agents::LIVE_TIMEOUT;
use live_codex::Mode;

/// Samples of each measurement.
const RUNS: usize = 5;

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// `min / median / max` of `samples`, in seconds.
fn spread(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    format!(
        "{:.3} / {:.3} / {:.3}",
        samples[0],
        samples[samples.len() / 2],
        samples[samples.len() - 1]
    )
}

/// Seconds until Codex in a 220×50 tmux pane shows its ready screen.
async fn tmux_ready(server: &FakeModelServer) -> f64 {
    let agent = live_codex::agent(server);
    let started = Instant::now();
    let pane = live_tmux::TmuxPane::start(&agent, &Mode::Inline.args(), 220, 50);
    let ready = async || ready_screen(&pane.capture()).then(|| started.elapsed());
    let took = Poll::within(LIVE_TIMEOUT).until(ready).await;
    took.expect("tmux: never ready").as_secs_f64()
}

#[tokio::test]
async fn live_codex_ready_time_agentshim_vs_tmux() {
    if !live_codex::gate("live_codex_ready_time_agentshim_vs_tmux") || !tmux_present() {
        return;
    }
    let server = FakeModelServer::start().await;
    let (mut shim, mut tmux) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let codex = LiveShim::codex(&format!("codex-ready-{run}"), Mode::Inline).await;
        shim.push(codex.ready_after.as_secs_f64());
        codex.shim.kill().await.expect("kill");
        tmux.push(tmux_ready(&server).await);
    }
    say(&format!(
        "\n== codex ready time, s (min / median / max of {RUNS}): agentshim {} | tmux {}\n   agentshim {shim:.3?}\n   tmux      {tmux:.3?}",
        spread(&mut shim.clone()),
        spread(&mut tmux.clone())
    ));
}

#[tokio::test]
async fn live_codex_completion_detection_latency() {
    if !live_codex::gate("live_codex_completion_detection_latency") {
        return;
    }
    let mut codex = LiveShim::codex("codex-latency", Mode::Inline).await;
    let mut latencies = Vec::new();
    for run in 0..RUNS {
        let answer = format!("Answer number {run} ✓");
        codex.server.push(Reply::text(&answer));
        let id = codex.send(&format!("Question number {run}")).await;
        let shown = async || {
            let screen = codex.shim.capture(None).await.expect("capture").content;
            finished(&screen, &answer).then(live_codex::unix_ms_now)
        };
        let shown_ms = Poll::within(LIVE_TIMEOUT)
            .every(Duration::from_millis(10))
            .until(shown)
            .await
            .expect("the answer showed");
        let (done_ms, response) = codex.events.timed_completion_of(&id).await;
        assert_eq!(response, answer);
        latencies.push(done_ms.saturating_sub(shown_ms) as f64 / 1000.0);
        let explanation = codex.shim.explain().await.expect("explain");
        let done = explanation.decisions.last().expect("a decision");
        say(&format!(
            "run {run}: decided by {}; last output {:?} before, last signal {:?}",
            done.cause,
            done.at.duration_since(done.last_output).unwrap_or_default(),
            done.last_signal
                .map(|at| done.at.duration_since(at).unwrap_or_default())
        ));
    }
    say(&format!(
        "\n== codex completion-detection latency, s (end line on screen → Completion; min / median / max of {RUNS}): {}\n   {latencies:.3?}",
        spread(&mut latencies.clone())
    ));
}

/// The screen the driver calls ready: the empty input box's footer, the header done loading.
fn ready_screen(screen: &str) -> bool {
    screen.contains("? for shortcuts") && !screen.lines().any(|l| l.trim() == "loading")
}

/// Whether `screen` shows `answer` with a `Worked for` line under it.
fn finished(screen: &str, answer: &str) -> bool {
    screen
        .split_once(answer)
        .is_some_and(|(_, after)| after.lines().any(|l| l.starts_with("  Worked for ")))
}

/// Whether tmux is there (required under `AGENTSHIM_LIVE=1`).
fn tmux_present() -> bool {
    if live_tmux::tmux_available() {
        return true;
    }
    assert!(
        !live_agents::live_required(),
        "AGENTSHIM_LIVE=1 but tmux is not on PATH"
    );
    say("\n*** SKIPPED live_codex_ready_time_agentshim_vs_tmux: tmux is not on PATH ***\n");
    false
}

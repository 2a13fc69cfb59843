//! Measurements of the real Claude Code 2.1.197 under agentshim, printed (never asserted on
//! timing):
//!
//! - Ready time, agentshim vs tmux, side by side in one run, alternating, N rounds each:
//!   agentshim from `spawn` to the `Ready` event, and to the first capture of its screen
//!   showing `? for shortcuts`; tmux from `new-session` to the first capture of the pane
//!   showing it (captures every 20 ms). The difference between the two agentshim figures is
//!   the settle window plus Claude's output after its first idle frame (terminal probes,
//!   redraws).
//! - Completion-detection latency: from the last change of the screen to the `Completion`
//!   event. The last change is approximated by polling the shim's screen every 20 ms during
//!   the turn: the time the first poll that saw the final screen returned. The screen changed
//!   up to one poll interval earlier, so the figure may be low by about 20 ms. It includes the
//!   driver's settle window (120 ms of quiet before a screen is judged).
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

#[path = "support/fake_model/mod.rs"]
mod fake_model;
#[path = "support/live_agents.rs"]
mod live_agents;
#[path = "support/live_claude.rs"]
mod live_claude;
#[path = "support/live_tmux.rs"]
mod live_tmux;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentshim::protocol::Event;
use fake_model::{FakeModelServer, Reply};
use live_agents::{AgentCli, ClaudeAuth};
use live_claude::{ClaudeShim, LIVE_TIMEOUT};

/// Rounds of each way of starting Claude.
const READY_ROUNDS: usize = 3;
/// Messages whose completion latency is measured.
const LATENCY_TURNS: usize = 5;
/// Screen polling interval.
const POLL: Duration = Duration::from_millis(20);

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn summary(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let all: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
    format!(
        "mean {mean:.0} ms, min {min:.0}, max {max:.0} ({})",
        all.join(", ")
    )
}

/// Milliseconds from `new-session` to `? for shortcuts` on the pane.
async fn tmux_ready_ms() -> f64 {
    let server = FakeModelServer::start().await;
    let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
    let started = Instant::now();
    let pane = live_tmux::TmuxPane::start(&agent, &[], 220, 50);
    loop {
        if pane.capture().contains(AgentCli::Claude.ready_marker()) {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(started.elapsed() < LIVE_TIMEOUT, "{}", pane.capture());
        tokio::time::sleep(POLL).await;
    }
}

/// Milliseconds from `spawn` to `? for shortcuts` on the shim's screen (polled) and to the
/// `Ready` event.
async fn shim_ready_ms() -> (f64, f64) {
    let mut claude = ClaudeShim::start("claude-bench-ready").await;
    let (shim, spawned) = (claude.shim.clone(), claude.spawned);
    let poller = tokio::spawn(async move {
        loop {
            let capture = shim.capture(None).await.expect("capture");
            if capture.content.contains(AgentCli::Claude.ready_marker()) {
                return spawned.elapsed();
            }
            tokio::time::sleep(POLL).await;
        }
    });
    let (_, ready) = claude
        .events
        .wait("Ready", |e| matches!(e, Event::Ready))
        .await;
    let screen = poller.await.expect("poller");
    claude.shim.kill().await.expect("kill");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(screen), ms(ready - spawned))
}

#[tokio::test]
async fn live_claude_ready_time_shim_vs_tmux() {
    let test = "live_claude_ready_time_shim_vs_tmux";
    if !live_agents::live_gate(test, &[AgentCli::Claude]) {
        return;
    }
    if !live_tmux::tmux_available() {
        assert!(
            !live_agents::live_required(),
            "AGENTSHIM_LIVE=1 but no tmux ({test})"
        );
        say(&format!(
            "\n*** SKIPPED live test {test}: tmux is not on PATH ***\n"
        ));
        return;
    }
    let (mut shim_ms, mut shim_screen_ms, mut tmux_ms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..READY_ROUNDS {
        // Alternate which goes first, so neither always gets a warm cache.
        for shim_turn in [round % 2 == 0, round % 2 != 0] {
            if shim_turn {
                let (screen, ready) = shim_ready_ms().await;
                shim_screen_ms.push(screen);
                shim_ms.push(ready);
            } else {
                tmux_ms.push(tmux_ready_ms().await);
            }
        }
    }
    say(&format!(
        "\n== live claude Ready time, {READY_ROUNDS} rounds each\n\
         | how | Ready time |\n|---|---|\n| agentshim, `Ready` event | {} |\n\
         | agentshim, `? for shortcuts` on its screen | {} |\n| tmux, `? for shortcuts` on the pane | {} |",
        summary(&shim_ms),
        summary(&shim_screen_ms),
        summary(&tmux_ms)
    ));
}

#[tokio::test]
async fn live_claude_completion_latency() {
    if !live_agents::live_gate("live_claude_completion_latency", &[AgentCli::Claude]) {
        return;
    }
    let (mut claude, _) = ClaudeShim::ready("claude-bench-latency").await;
    let mut latencies = Vec::new();
    for turn in 1..=LATENCY_TURNS {
        let answer = format!("Answer number {turn} ✓\nwith a second line");
        claude
            .server
            .push(Reply::text(&answer).slow(Duration::from_millis(300), Duration::from_millis(50)));
        // (time the poll returned, screen) of each change seen.
        let changes: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let poller = tokio::spawn({
            let (shim, changes) = (claude.shim.clone(), changes.clone());
            async move {
                loop {
                    let Ok(capture) = shim.capture(None).await else {
                        return;
                    };
                    {
                        let mut changes = changes.lock().unwrap();
                        if changes.last().is_none_or(|(_, s)| *s != capture.content) {
                            changes.push((Instant::now(), capture.content));
                        }
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        });
        let id = claude.send(&format!("Question {turn}")).await;
        let (response, done) = claude.completion(&id).await;
        poller.abort();
        assert_eq!(response, answer, "{}", claude.report().await);
        // The final screen, and the first poll that saw it.
        let last = claude.shim.capture(None).await.expect("capture").content;
        let changes = changes.lock().unwrap();
        let last_change = changes
            .iter()
            .find(|(_, screen)| *screen == last)
            .map(|(at, _)| *at)
            .expect("the poller saw the final screen");
        latencies.push((done.duration_since(last_change)).as_secs_f64() * 1000.0);
    }
    say(&format!(
        "\n== live claude completion latency (last screen change → Completion, {LATENCY_TURNS} turns, \
         {}-ms polling): {}",
        POLL.as_millis(),
        summary(&latencies)
    ));
}

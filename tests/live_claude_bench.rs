//! Measurements of the real Claude Code 2.1.197 under agentshim, printed (never asserted on
//! timing):
//!
//! - Ready time, agentshim vs tmux, side by side in one run, alternating, N rounds each:
//!   agentshim from `spawn` to the `Ready` event, and to the first capture of its screen
//!   showing `? for shortcuts`; tmux from `new-session` to the first capture of the pane
//!   showing it (captures every 20 ms). The difference between the two agentshim figures is
//!   the settle window plus Claude's output after its first idle frame (terminal probes,
//!   redraws).
//! - Completion-detection latency, as the shim's `explain` records it for the decision that
//!   ended each turn: from Claude's turn-end signal (its Stop hook's OSC 7501 record) and from
//!   its last frame (the last output before the decision) to the decision; and the delivery
//!   confirmation's, for the decision that started each turn: from Claude accepting the
//!   prompt (its `UserPromptSubmit` hook's record) to the decision, which `MessageDelivered`
//!   comes with.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_shim;
use crate::support::live_tmux;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use crate::support::eventually::Poll;
use agentshim::protocol::ShimState;
use fake_model::{FakeModelServer, Reply};
use live_agents::LIVE_TIMEOUT;
use live_agents::{AgentCli, ClaudeAuth};
use live_shim::{Launch, LiveShim};

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
    let ready = async || {
        let shown = pane.capture().contains(AgentCli::Claude.ready_marker());
        shown.then(|| started.elapsed())
    };
    let took = Poll::within(LIVE_TIMEOUT)
        .every(POLL)
        .until(ready)
        .await
        .unwrap_or_else(|| panic!("never ready:\n{}", pane.capture()));
    took.as_secs_f64() * 1000.0
}

/// Milliseconds from `spawn` to `? for shortcuts` on the shim's screen (polled) and to the
/// `Ready` event.
async fn shim_ready_ms() -> (f64, f64) {
    let mut claude = LiveShim::start(
        AgentCli::Claude,
        "claude-bench-ready",
        Launch::default(),
        |_| {},
    )
    .await;
    let (shim, spawned) = (claude.shim.clone(), claude.spawned);
    let shown = async || {
        let capture = shim.capture(None).await.expect("capture");
        let ready = capture.content.contains(AgentCli::Claude.ready_marker());
        ready.then(|| spawned.elapsed())
    };
    let screen_shown = Poll::within(LIVE_TIMEOUT).every(POLL).until(shown);
    let ready_read = async {
        claude.events.ready().await;
        Instant::now()
    };
    let (screen, ready) = tokio::join!(screen_shown, ready_read);
    let screen = screen.expect("the ready screen showed");
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

/// What one configuration measured over [`LATENCY_TURNS`] turns, in milliseconds.
#[derive(Default)]
struct Latencies {
    /// From the send to `MessageDelivered` (the submit confirmed: by the `UserPromptSubmit`
    /// hook with turn signals, by the screen without).
    delivered: Vec<f64>,
    /// From the `UserPromptSubmit` hook's signal to the delivery's decision (turn signals
    /// only).
    after_accept: Vec<f64>,
    /// From the Stop hook's signal to the Completion (turn signals only).
    after_signal: Vec<f64>,
    /// From the agent's last frame to the Completion.
    after_frame: Vec<f64>,
}

/// Delivery and completion latencies of [`LATENCY_TURNS`] turns with the turn signals on or
/// off. The shim's own record of each decision gives the completion times (`Explain`).
async fn latencies(turn_signals: bool) -> Latencies {
    let launch = Launch {
        turn_signals,
        ..Launch::default()
    };
    let id = format!("claude-bench-latency-signals-{turn_signals}");
    let mut claude = LiveShim::ready_with(AgentCli::Claude, &id, launch).await;
    let mut measured = Latencies::default();
    for turn in 1..=LATENCY_TURNS {
        let answer = format!("Answer number {turn} ✓\nwith a second line");
        claude
            .server
            .push(Reply::text(&answer).slow(Duration::from_millis(300), Duration::from_millis(50)));
        let sent = Instant::now();
        let id = claude.send(&format!("Question {turn}")).await;
        claude.events.delivered(&id).await;
        measured
            .delivered
            .push(sent.elapsed().as_secs_f64() * 1000.0);
        let (response, _) = claude.completion(&id).await;
        assert_eq!(response, answer, "{}", claude.report().await);
        let explanation = claude.shim.explain().await.expect("explain");
        let decided = |from, to| {
            explanation
                .decisions
                .iter()
                .rev()
                .find(|d| d.from == from && d.to == to)
                .expect("the turn's start and end are decisions")
        };
        let (started, done) = (
            decided(ShimState::Idle, ShimState::Working),
            decided(ShimState::Working, ShimState::Idle),
        );
        let ms = |later: SystemTime, earlier: SystemTime| {
            later
                .duration_since(earlier)
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        };
        measured.after_frame.push(ms(done.at, done.last_output));
        if turn_signals {
            let accepted = started.last_signal.expect("Claude's prompt hook signalled");
            measured.after_accept.push(ms(started.at, accepted));
            let signal = done.last_signal.expect("Claude's hooks signalled");
            measured.after_signal.push(ms(done.at, signal));
        }
        say(&format!(
            "turn {turn} (signals {turn_signals}): decided by {}",
            done.cause
        ));
    }
    measured
}

#[tokio::test]
async fn live_claude_completion_latency() {
    if !live_agents::live_gate("live_claude_completion_latency", &[AgentCli::Claude]) {
        return;
    }
    // Screen only, and (unless the suite runs screen-only) with the hooks, in one run.
    let screen_only = latencies(false).await;
    let mut table = format!(
        "\n== live claude latencies, {LATENCY_TURNS} turns\n\
         | turn signals | send → MessageDelivered | prompt accepted (hook) → MessageDelivered | Stop hook's signal → Completion | last frame → Completion |\n\
         |---|---|---|---|---|\n\
         | off (screen only) | {} | - | - | {} |",
        summary(&screen_only.delivered),
        summary(&screen_only.after_frame)
    );
    if live_agents::turn_signals() {
        let hooks = latencies(true).await;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        table += &format!(
            "\n| on (hooks) | {} | {} | {} | {} |\n(last frame → Completion, on/off: {:.2}; send → \
             MessageDelivered, on/off: {:.2})",
            summary(&hooks.delivered),
            summary(&hooks.after_accept),
            summary(&hooks.after_signal),
            summary(&hooks.after_frame),
            mean(&hooks.after_frame) / mean(&screen_only.after_frame),
            mean(&hooks.delivered) / mean(&screen_only.delivered)
        );
    }
    say(&table);
}

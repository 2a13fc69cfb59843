//! Measurements of the real Claude Code 2.1.197 under agentshim, printed (never asserted on
//! timing):
//!
//! - Ready time, agentshim vs tmux, side by side in one run, alternating, N rounds each:
//!   agentshim from `spawn` to the `Ready` event, and to the first capture of its screen
//!   showing `? for shortcuts`; tmux from `new-session` to the first capture of the pane
//!   showing it (captures every 20 ms). The difference between the two agentshim figures is
//!   the settle window plus Claude's output after its first idle frame (terminal probes,
//!   redraws).
//! - Delivery and completion latencies with the turn signals off and on, measured as for
//!   every CLI ([`live_latency`](crate::support::live_latency)): Claude's prompt is accepted
//!   by its `UserPromptSubmit` hook and its turn is over at its `Stop` hook.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_latency::{self, summary};
use crate::support::live_shim;
use crate::support::live_tmux;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::eventually::Poll;
use fake_model::FakeModelServer;
use live_agents::LIVE_TIMEOUT;
use live_agents::{AgentCli, ClaudeAuth};
use live_shim::{Launch, LiveShim};

/// Rounds of each way of starting Claude.
const READY_ROUNDS: usize = 3;
/// Screen polling interval.
const POLL: Duration = Duration::from_millis(20);

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
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

#[tokio::test]
async fn live_claude_completion_latency() {
    if !live_agents::live_gate("live_claude_completion_latency", &[AgentCli::Claude]) {
        return;
    }
    say(&live_latency::table(AgentCli::Claude, "UserPromptSubmit", "Stop").await);
}

//! Gemini CLI 0.61.0's turn signals under agentshim: its `BeforeAgent`, `AfterAgent` and
//! `Notification` hooks, from the system-defaults settings file the shim gives it, print OSC
//! 7501 records on its terminal.
//!
//! - The signals arrive and decide: with the user's own hook in `~/.gemini/settings.json`
//!   (which runs too: Gemini adds the layers' hooks together), the delivery is confirmed by
//!   `BeforeAgent`'s `working` and the turn's end follows `AfterAgent`'s `done`, as `explain`
//!   records them; the answer is exact although Gemini's status line says `Executing Hooks:
//!   …` (on screen at the Completion) for 3 s after each hook started.
//! - Latencies, printed (never asserted on): from the send to `MessageDelivered`, from the
//!   agent's last frame to the `Completion`, and with the signals from `AfterAgent`'s record
//!   to the `Completion`; [`LATENCY_TURNS`] turns with the signals off, then on, in one run.
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_gemini_shim;
use crate::support::live_shim;

use std::time::{Duration, Instant, SystemTime};

use crate::support::eventually::Poll;
use agentshim::protocol::ShimState;
use agentshim::shim::core::Decision;
use fake_model::Reply;
use live_agents::{AgentCli, LIVE_TIMEOUT};
use live_gemini_shim::{gate, say};
use live_shim::{Launch, LiveShim};

/// Messages whose latencies are measured.
const LATENCY_TURNS: usize = 5;

/// Milliseconds from `earlier` to `later` (0 when `later` is earlier).
fn ms(later: SystemTime, earlier: SystemTime) -> f64 {
    later
        .duration_since(earlier)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
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

/// The turn's start (`Idle → Working`) and end (`Working → Idle`) as `explain` records them:
/// the last of each.
async fn turn_decisions(gemini: &LiveShim) -> (Decision, Decision) {
    let explanation = gemini.shim.explain().await.expect("explain");
    let decided = |from, to| {
        explanation
            .decisions
            .iter()
            .rev()
            .find(|d| d.from == from && d.to == to)
            .cloned()
            .expect("the turn's start and end are decisions")
    };
    (
        decided(ShimState::Idle, ShimState::Working),
        decided(ShimState::Working, ShimState::Idle),
    )
}

#[tokio::test]
async fn live_gemini_hooks_signal_turn_edges_beside_the_users_own() {
    let test = "live_gemini_hooks_signal_turn_edges_beside_the_users_own";
    if !gate(test) {
        return;
    }
    let launch = Launch {
        turn_signals: true,
        ..Launch::default()
    };
    // The user's own hook, in the user's settings: it must keep running.
    let mut user_hook_log = None;
    let mut gemini = LiveShim::start(AgentCli::Gemini, "gemini-signals", launch, |agent| {
        let log = agent.home_path().join("user-hook.log");
        let settings_path = agent.home_path().join(".gemini/settings.json");
        let mut settings = live_agents::gemini_settings();
        settings["hooks"] = serde_json::json!({"AfterAgent": [{"hooks": [{
            "type": "command",
            "name": "user-hook",
            "command": format!("echo after-agent >> '{}'", log.display()),
        }]}]});
        std::fs::write(&settings_path, settings.to_string()).expect("write the user's settings");
        user_hook_log = Some(log);
    })
    .await;
    gemini.wait_ready().await;
    let user_hook_log = user_hook_log.expect("prepared");
    let reply = "Signalled answer ✓\nsecond line";
    gemini.server.push(Reply::text(reply));
    let id = gemini.send("Say something").await;
    let (response, _) = gemini.completion(&id).await;
    assert_eq!(response, reply, "{}", gemini.report().await);
    // The answer came without Gemini's status line of the hooks that just ran (shown for 3 s
    // after each started).
    let screen = gemini.screen().await;
    let hook_status = screen
        .lines()
        .find(|line| line.contains("Executing Hook"))
        .unwrap_or_else(|| panic!("no hook status on screen:\n{screen}"));

    let (started, done) = turn_decisions(&gemini).await;
    let explanation = gemini.shim.explain().await.expect("explain");
    let causes: Vec<String> = explanation
        .decisions
        .iter()
        .map(|d| format!("{:?} → {:?}: {}", d.from, d.to, d.cause))
        .collect();
    let described = causes.join("\n");
    let done_signal = done
        .last_signal
        .unwrap_or_else(|| panic!("no signal came before the turn's end:\n{described}"));
    assert!(
        done_signal >= started.at,
        "the last signal is older than the turn:\n{described}"
    );
    // The delivery is confirmed by `BeforeAgent`'s record (the decision that makes the shim
    // Working comes with MessageDelivered, caused by the signal).
    assert_eq!(
        started.cause.to_string(),
        "signal OSC 7501 state=working",
        "{described}"
    );
    let ran = async || {
        std::fs::read_to_string(&user_hook_log)
            .ok()
            .filter(|log| log.contains("after-agent"))
    };
    Poll::within(LIVE_TIMEOUT)
        .until(ran)
        .await
        .expect("the user's own AfterAgent hook ran too");
    say(&format!(
        "live gemini signals: turn started by `{}`, ended by `{}` {:.0} ms after the last signal \
         ({:.0} ms after the last output); status line then: `{}`\n{described}",
        started.cause,
        done.cause,
        ms(done.at, done_signal),
        ms(done.at, done.last_output),
        hook_status.trim_end()
    ));
}

/// What one configuration measured over [`LATENCY_TURNS`] turns, in milliseconds.
#[derive(Default)]
struct Latencies {
    /// From the send to `MessageDelivered`.
    delivered: Vec<f64>,
    /// From the `AfterAgent` hook's record to the Completion's decision (signals only).
    after_signal: Vec<f64>,
    /// From the agent's last frame to the Completion's decision.
    after_frame: Vec<f64>,
    /// From the send to the Completion.
    turn: Vec<f64>,
}

async fn latencies(turn_signals: bool) -> Latencies {
    let launch = Launch {
        turn_signals,
        ..Launch::default()
    };
    let id = format!("gemini-latency-signals-{turn_signals}");
    let mut gemini = LiveShim::ready_with(AgentCli::Gemini, &id, launch).await;
    let mut measured = Latencies::default();
    for turn in 1..=LATENCY_TURNS {
        let answer = format!("Answer number {turn} ✓\nwith a second line");
        gemini
            .server
            .push(Reply::text(&answer).slow(Duration::from_millis(300), Duration::from_millis(50)));
        let sent = Instant::now();
        let id = gemini.send(&format!("Question {turn}")).await;
        gemini.events.delivered(&id).await;
        measured
            .delivered
            .push(sent.elapsed().as_secs_f64() * 1000.0);
        let (response, _) = gemini.completion(&id).await;
        measured.turn.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(response, answer, "{}", gemini.report().await);
        let (_, done) = turn_decisions(&gemini).await;
        measured.after_frame.push(ms(done.at, done.last_output));
        if turn_signals {
            let signal = done
                .last_signal
                .expect("Gemini's AfterAgent hook signalled");
            measured.after_signal.push(ms(done.at, signal));
        }
        say(&format!(
            "turn {turn} (signals {turn_signals}): ended by {}",
            done.cause
        ));
    }
    measured
}

#[tokio::test]
async fn live_gemini_completion_latency() {
    if !gate("live_gemini_completion_latency") {
        return;
    }
    let screen_only = latencies(false).await;
    let mut table = format!(
        "\n== live gemini latencies, {LATENCY_TURNS} turns\n\
         | turn signals | send → MessageDelivered | AfterAgent hook's signal → Completion | last frame → Completion | send → Completion |\n\
         |---|---|---|---|---|\n\
         | off (screen only) | {} | - | {} | {} |",
        summary(&screen_only.delivered),
        summary(&screen_only.after_frame),
        summary(&screen_only.turn)
    );
    if live_agents::turn_signals() {
        let hooks = latencies(true).await;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        table += &format!(
            "\n| on (hooks) | {} | {} | {} | {} |\n(last frame → Completion, on/off: {:.2}; send → \
             MessageDelivered, on/off: {:.2})",
            summary(&hooks.delivered),
            summary(&hooks.after_signal),
            summary(&hooks.after_frame),
            summary(&hooks.turn),
            mean(&hooks.after_frame) / mean(&screen_only.after_frame),
            mean(&hooks.delivered) / mean(&screen_only.delivered)
        );
    }
    say(&table);
}

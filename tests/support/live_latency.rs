//! Turn latencies of a real agent CLI under agentshim, measured the same way for every CLI
//! and printed by the live benches (never asserted on): from the send to `MessageDelivered`
//! and to the `Completion`, and, as the shim's `explain` records the decisions that started
//! and ended each turn, from the CLI's own signals (its hooks' OSC 7501 records) and from its
//! last frame to those decisions. [`LATENCY_TURNS`] turns with the turn signals off, then
//! (unless the suite runs screen-only) on, in one run.

use std::time::{Duration, Instant, SystemTime};

use agentshim::protocol::ShimState;
use agentshim::shim::core::Decision;

use super::fake_model::Reply;
use super::live_agents::{self, AgentCli};
use super::live_shim::{Launch, LiveShim};

/// Messages whose latencies are measured, per configuration.
pub const LATENCY_TURNS: usize = 5;

/// What one configuration measured over [`LATENCY_TURNS`] turns, in milliseconds.
#[derive(Default)]
pub struct Latencies {
    /// From the send to `MessageDelivered`.
    pub delivered: Vec<f64>,
    /// From the CLI's "prompt accepted" signal to the decision that started the turn (which
    /// `MessageDelivered` comes with); turn signals only.
    pub after_accept: Vec<f64>,
    /// From the CLI's "turn over" signal to the Completion's decision; turn signals only.
    pub after_signal: Vec<f64>,
    /// From the agent's last frame to the Completion's decision.
    pub after_frame: Vec<f64>,
    /// From the send to the Completion.
    pub turn: Vec<f64>,
}

/// Milliseconds from `earlier` to `later` (0 when `later` is earlier).
pub fn ms(later: SystemTime, earlier: SystemTime) -> f64 {
    later
        .duration_since(earlier)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// `mean M ms, min A, max B (each value)`, or `-` for none.
pub fn summary(values: &[f64]) -> String {
    if values.is_empty() {
        return "-".to_owned();
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(0.0, f64::max);
    let all: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
    format!(
        "mean {:.0} ms, min {min:.0}, max {max:.0} ({})",
        mean(values),
        all.join(", ")
    )
}

/// The turn's start (`Idle → Working`) and end (`Working → Idle`) as `explain` records them:
/// the last of each.
pub async fn turn_decisions(agent: &LiveShim) -> (Decision, Decision) {
    let explanation = agent.shim.explain().await.expect("explain");
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

/// [`LATENCY_TURNS`] turns of `cli` with its turn signals on or off, each a two-line answer
/// streamed slowly by the fake model.
pub async fn measure(cli: AgentCli, turn_signals: bool) -> Latencies {
    let launch = Launch {
        turn_signals,
        ..Launch::default()
    };
    let id = format!("{cli:?}-latency-signals-{turn_signals}").to_lowercase();
    let mut agent = LiveShim::ready_with(cli, &id, launch).await;
    let mut measured = Latencies::default();
    for turn in 1..=LATENCY_TURNS {
        let answer = format!("Answer number {turn} ✓\nwith a second line");
        agent
            .server
            .push(Reply::text(&answer).slow(Duration::from_millis(300), Duration::from_millis(50)));
        let sent = Instant::now();
        let id = agent.send(&format!("Question {turn}")).await;
        agent.events.delivered(&id).await;
        measured
            .delivered
            .push(sent.elapsed().as_secs_f64() * 1000.0);
        let (response, _) = agent.completion(&id).await;
        measured.turn.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(response, answer, "{}", agent.report().await);
        let (started, done) = turn_decisions(&agent).await;
        measured.after_frame.push(ms(done.at, done.last_output));
        if turn_signals {
            let accepted = started
                .last_signal
                .expect("the CLI's prompt hook signalled");
            measured.after_accept.push(ms(started.at, accepted));
            let over = done.last_signal.expect("the CLI's turn-end hook signalled");
            measured.after_signal.push(ms(done.at, over));
        }
        eprintln!(
            "turn {turn} (signals {turn_signals}): started by {}, ended by {}",
            started.cause, done.cause
        );
    }
    measured
}

/// Measures `cli` screen only, then with its hooks (`accept_hook` says it took the prompt,
/// `end_hook` that the turn is over), and returns the table of both.
pub async fn table(cli: AgentCli, accept_hook: &str, end_hook: &str) -> String {
    let screen_only = measure(cli, false).await;
    let row = |how: &str, l: &Latencies| {
        format!(
            "\n| {how} | {} | {} | {} | {} | {} |",
            summary(&l.delivered),
            summary(&l.after_accept),
            summary(&l.after_signal),
            summary(&l.after_frame),
            summary(&l.turn)
        )
    };
    let mut table = format!(
        "\n== live {cli:?} latencies, {LATENCY_TURNS} turns\n\
         | turn signals | send → MessageDelivered | {accept_hook} hook → MessageDelivered | \
         {end_hook} hook → Completion | last frame → Completion | send → Completion |\n\
         |---|---|---|---|---|---|"
    );
    table += &row("off (screen only)", &screen_only);
    if live_agents::turn_signals() {
        let hooks = measure(cli, true).await;
        table += &row("on (hooks)", &hooks);
        table += &format!(
            "\n(last frame → Completion, on/off: {:.2}; send → MessageDelivered, on/off: {:.2})",
            mean(&hooks.after_frame) / mean(&screen_only.after_frame),
            mean(&hooks.delivered) / mean(&screen_only.delivered)
        );
    }
    table
}

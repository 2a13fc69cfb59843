//! `agentshim explain SHIM`: why a shim is in its state. Prints the state, whether the agent
//! sends semantic prompt marks, and its last state changes, each with when and what decided it
//! (a signal, the settled screen and the driver's verdict, a request, a timer, the exit), when
//! output and signals last came before it, and the screen's last lines then. `--json` prints
//! the same as one object.

use clap::Args;
use serde_json::json;

use super::connect_args::ConnectArgs;
use super::output::{clock_time, print_json, print_text, state_name};
use crate::rpc::{Decision, ExplainResponse};
use crate::unix_time::timestamp_unix_ms;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The shim's id.
    shim_id: String,
    #[command(flatten)]
    pub(super) connect: ConnectArgs,
}

pub async fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let explanation = args.connect.connect().await?.explain(&args.shim_id).await?;
    if args.connect.json {
        print_json(&explanation_json(&args.shim_id, &explanation))?;
    } else {
        print_text(&explanation_text(&explanation))?;
    }
    Ok(())
}

fn decision_json(decision: &Decision) -> serde_json::Value {
    json!({
        "from": state_name(decision.from_state),
        "to": state_name(decision.to_state),
        "unix_ms": timestamp_unix_ms(decision.decided_at.as_ref()),
        "cause": decision.cause,
        "verdict": decision.verdict,
        "screen": decision.screen,
        "last_output_unix_ms": timestamp_unix_ms(decision.last_output_at.as_ref()),
        "last_signal_unix_ms": decision.last_signal_at.as_ref().map(|at| timestamp_unix_ms(Some(at))),
    })
}

fn explanation_json(shim_id: &str, explanation: &ExplainResponse) -> serde_json::Value {
    json!({
        "shim_id": shim_id,
        "state": state_name(explanation.state),
        "since_ms": explanation.since_ms,
        "marks_seen": explanation.marks_seen,
        "decisions": explanation.decisions.iter().map(decision_json).collect::<Vec<_>>(),
    })
}

/// `idle for 12.3s; the agent sends semantic prompt marks`, then one block per decision.
fn explanation_text(explanation: &ExplainResponse) -> String {
    let marks = if explanation.marks_seen {
        "the agent sends semantic prompt marks"
    } else {
        "no semantic prompt marks seen: the screen decides"
    };
    let mut text = format!(
        "{} for {:.1}s; {marks}\n",
        state_name(explanation.state),
        explanation.since_ms as f64 / 1000.0
    );
    for decision in &explanation.decisions {
        text.push_str(&format!(
            "{} {} -> {}: {}",
            clock_time(timestamp_unix_ms(decision.decided_at.as_ref())),
            state_name(decision.from_state),
            state_name(decision.to_state),
            decision.cause
        ));
        if let Some(verdict) = &decision.verdict {
            text.push_str(&format!(" (driver: {verdict})"));
        }
        text.push_str(&format!(
            "\n    last output {}",
            clock_time(timestamp_unix_ms(decision.last_output_at.as_ref()))
        ));
        if let Some(signal) = &decision.last_signal_at {
            let signal_ms = timestamp_unix_ms(Some(signal));
            text.push_str(&format!(", last signal {}", clock_time(signal_ms)));
        }
        for line in decision.screen.lines() {
            text.push_str(&format!("\n    | {line}"));
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::ShimState;
    use crate::unix_time::timestamp;

    #[test]
    fn decisions_read_as_what_decided_them() {
        let explanation = ExplainResponse {
            state: ShimState::Idle as i32,
            since_ms: 2500,
            marks_seen: true,
            decisions: vec![Decision {
                from_state: ShimState::Working as i32,
                to_state: ShimState::Idle as i32,
                decided_at: Some(timestamp(3_723_456)),
                cause: "signal OSC 133;B".into(),
                verdict: Some("idle".into()),
                screen: "hi\n$".into(),
                last_output_at: Some(timestamp(3_723_455)),
                last_signal_at: Some(timestamp(3_723_456)),
            }],
        };
        assert_eq!(
            explanation_text(&explanation),
            "idle for 2.5s; the agent sends semantic prompt marks\n\
             01:02:03.456 working -> idle: signal OSC 133;B (driver: idle)\n    \
             last output 01:02:03.455, last signal 01:02:03.456\n    | hi\n    | $\n"
        );
        let value = explanation_json("s", &explanation);
        assert_eq!(value["decisions"][0]["cause"], "signal OSC 133;B");
        assert_eq!(value["state"], "idle");
    }
}

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
//!   to the `Completion`, with the signals off, then on, in one run
//!   ([`live_latency`](crate::support::live_latency)).
//!
//! Live: runs only inside a private loopback-only network namespace (`scripts/live-agents.sh`);
//! elsewhere it skips loudly, or fails with `AGENTSHIM_LIVE=1`.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_gemini_shim;
use crate::support::live_latency::{self, ms, turn_decisions};
use crate::support::live_shim;

use crate::support::eventually::Poll;
use fake_model::Reply;
use live_agents::{AgentCli, LIVE_TIMEOUT};
use live_gemini_shim::{gate, say};
use live_shim::{Launch, LiveShim};

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

#[tokio::test]
async fn live_gemini_completion_latency() {
    if !gate("live_gemini_completion_latency") {
        return;
    }
    say(&live_latency::table(AgentCli::Gemini, "BeforeAgent", "AfterAgent").await);
}

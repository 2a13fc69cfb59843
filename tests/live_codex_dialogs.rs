//! The folder-trust dialog of the real Codex CLI (0.169.0) on a first start in an untrusted git
//! repository is a question (`InputRequested`, state `awaiting_input`, no `Ready`), never
//! answered by the shim; answering it lets Codex start, and `Ready` follows. (Command approvals:
//! `tests/live_questions.rs`.) Live only (`scripts/live-agents.sh`); skipped loudly elsewhere.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_codex;
use crate::support::live_shim::{Launch, LiveShim};

use agentshim::protocol::{Event, ShimState};
use fake_model::Reply;
use live_agents::AgentCli;
use live_agents::LiveAgent;
use live_codex::Mode;

/// Takes the cwd's trust out of the config and makes the cwd a git repository, which is when
/// Codex asks.
fn untrust(agent: &LiveAgent) {
    let path = agent.home_path().join(".codex/config.toml");
    let config = std::fs::read_to_string(&path).expect("read config");
    let trusted = format!(
        "[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        agent.cwd.display()
    );
    assert!(config.contains(&trusted), "config layout changed");
    std::fs::write(&path, config.replace(&trusted, "")).expect("write config");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .arg(&agent.cwd)
        .status();
    assert!(git.is_ok_and(|s| s.success()), "git init");
}

#[tokio::test]
async fn live_codex_trust_dialog_is_asked_and_answered() {
    if !live_codex::gate("live_codex_trust_dialog_is_asked_and_answered") {
        return;
    }
    let mut codex = LiveShim::start(
        AgentCli::Codex,
        "codex-trust",
        Launch {
            codex_mode: Mode::Inline,
            ..Launch::default()
        },
        untrust,
    )
    .await;
    let asked = codex
        .events
        .wait_for_envelope("InputRequested", |e| {
            matches!(e, Event::InputRequested { .. })
        })
        .await;
    let Event::InputRequested { prompt, options } = &asked.event else {
        unreachable!()
    };
    let screen = codex.screen().await;
    assert!(prompt.contains("Trust this folder?"), "{prompt}\n{screen}");
    assert_eq!(options[0], "Trust and continue", "{screen}");
    let state = codex.shim.state().await.expect("state").state;
    assert_eq!(state, ShimState::AwaitingInput, "{screen}");
    assert_eq!(codex.events.count(|e| matches!(e, Event::Ready)), 0);
    // Nothing was typed into it: the dialog is still there.
    assert!(codex.screen().await.contains("Trust and continue"));
    codex.shim.answer(1).await.expect("trust the folder");
    codex
        .events
        .wait_for_envelope("Ready", |e| matches!(e, Event::Ready))
        .await;
    codex.server.push(Reply::text("Trusted and ready ✓"));
    assert_eq!(
        codex.ask("Hello after trusting").await,
        "Trusted and ready ✓"
    );
}

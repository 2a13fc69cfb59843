//! Dialogs of the real Codex CLI (0.169.0) under agentshim are reported, never answered: the
//! folder-trust dialog of a first start in an untrusted git repository keeps the shim Starting
//! (no `Ready`), and a command approval in the middle of a turn keeps it Working; each is
//! reported once as a `Warning` naming the dialog, and nothing is typed into it. Live only
//! (`scripts/live-agents.sh`); skipped loudly elsewhere.

#[path = "support/fake_model/mod.rs"]
mod fake_model;
#[path = "support/live_agents.rs"]
mod live_agents;
#[path = "support/live_codex.rs"]
mod live_codex;
#[path = "support/live_tmux.rs"]
mod live_tmux;

use agentshim::protocol::{Event, ShimState};
use fake_model::Reply;
use live_agents::LiveAgent;
use live_codex::{LiveCodex, Mode};

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

/// How many dialog warnings were read so far.
fn dialog_warnings(codex: &LiveCodex) -> usize {
    codex
        .events
        .count(|e| matches!(e, Event::Warning { message, .. } if message.contains("dialog")))
}

#[tokio::test]
async fn live_codex_trust_dialog_is_reported_not_answered() {
    if !live_codex::gate("live_codex_trust_dialog_is_reported_not_answered") {
        return;
    }
    let mut codex = LiveCodex::start("codex-trust", Mode::Inline, untrust).await;
    let warning = codex.dialog_warning().await;
    assert!(
        warning.contains("folder trust: Trust this folder?"),
        "{warning}"
    );
    let screen = codex.screen().await;
    assert!(screen.contains("Trust and continue"), "{screen}");
    let state = codex.handle.state().await.expect("state").state;
    assert_eq!(state, ShimState::Starting, "{screen}");
    assert_eq!(codex.events.count(|e| matches!(e, Event::Ready)), 0);
    assert_eq!(dialog_warnings(&codex), 1);
}

#[tokio::test]
async fn live_codex_command_approval_is_reported_not_answered() {
    if !live_codex::gate("live_codex_command_approval_is_reported_not_answered") {
        return;
    }
    let mut codex = LiveCodex::ready("codex-approval", Mode::Inline).await;
    codex
        .server
        .push(Reply::shell_escalated("touch fake-tool-file.txt"));
    let id = codex.send("Touch a file").await;
    codex.events.delivered(&id).await;
    let warning = codex.dialog_warning().await;
    assert!(
        warning.contains(
            "approval: Would you like to run the following command? $ touch fake-tool-file.txt"
        ),
        "{warning}"
    );
    let state = codex.handle.state().await.expect("state").state;
    assert_eq!(state, ShimState::Working);
    assert!(!codex.agent.cwd.join("fake-tool-file.txt").exists());
    assert_eq!(dialog_warnings(&codex), 1);
}

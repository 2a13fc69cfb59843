//! `agentshim record` end to end, with the fake agent in Kiro mode as the program: a scripted
//! recording replays to the answers the fake gave; a wait that never ends fails naming its
//! line and showing the screen, and keeps what was recorded; an interactive recording (the
//! recorder itself run by a shim, so it has a terminal) passes keys through, follows the
//! program to its exit and replays to the same answer.

use crate::support::fake_agent;
use crate::support::replay;
use crate::support::shim as support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use agentshim::protocol::ShutdownReason;
use agentshim::shim::{AgentKind, ShimSpec};
use fake_agent::{FAKE_AGENT, replies};
use support::{ready_shim, send};

const AGENTSHIM: &str = env!("CARGO_BIN_EXE_agentshim");

/// Writes the fake agent's script (kind kiro) into `dir` and returns the program and its args.
fn fake_kiro(dir: &Path, answers: &[&str]) -> Vec<String> {
    let script = dir.join("fake.json");
    let mut json = replies(answers, 0.3);
    json["kind"] = "kiro".into();
    std::fs::write(&script, json.to_string()).unwrap();
    [
        "python3",
        "-B",
        FAKE_AGENT,
        "--script",
        script.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn record(dir: &Path, steps: &str, answers: &[&str]) -> std::process::Output {
    let steps_path = dir.join("steps");
    std::fs::write(&steps_path, steps).unwrap();
    Command::new(AGENTSHIM)
        .args(["record", "--rows", "24", "--cols", "80", "--out"])
        .arg(dir.join("out.cast"))
        .arg("--script")
        .arg(&steps_path)
        .arg("--")
        .args(fake_kiro(dir, answers))
        .output()
        .expect("run agentshim record")
}

#[test]
fn a_scripted_recording_replays_to_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "timeout 30\nwait kiro> ask\nquiet 0.5\ntype \"Hi ✓\\nthere\"\nquiet 0.3\n\
                 key enter\nwait ▸ Credits\nquiet 0.5\n";
    let output = record(dir.path(), steps, &["Hello back."]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("recorded"), "{stderr}");

    let cast = replay::load(&dir.path().join("out.cast"));
    assert_eq!((cast.rows, cast.cols), (24, 80));
    let typed: Vec<&str> = cast
        .events
        .iter()
        .filter(|e| e.code == "i")
        .map(|e| e.data.as_str())
        .collect();
    // The cursor-position answer, the message as one bracketed paste, the submit key.
    assert_eq!(typed, ["\x1b[1;1R", "\x1b[200~Hi ✓\nthere\x1b[201~", "\r"]);
    let seen = replay::replay(&cast, AgentKind::Kiro, true);
    assert_eq!(replay::responses(&seen), ["Hello back."]);
    assert_eq!(seen.first().map(String::as_str), Some("Ready"));
}

#[test]
fn a_wait_that_never_ends_fails_with_the_screen_and_keeps_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let output = record(dir.path(), "timeout 1\n\nwait never shown\n", &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3: `wait never shown` still waiting after 1s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kiro> ask a question, or describe a task"),
        "{stderr}"
    );
    let cast = replay::load(&dir.path().join("out.cast"));
    assert!(cast.events.iter().any(|e| e.data.contains("KIRO")));
}

#[tokio::test]
async fn an_interactive_recording_passes_keys_through_until_the_program_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.cast");
    let mut args: Vec<String> = vec!["record".into(), "--out".into(), out.display().to_string()];
    args.push("--".into());
    args.extend(fake_kiro(dir.path(), &["Recorded live."]));
    // The shim gives the recorder a terminal, and drives the fake agent through it.
    let spec = ShimSpec::new("recorder", AGENTSHIM, args)
        .agent(AgentKind::Kiro)
        .size(30, 100);
    let (shim, mut events) = ready_shim(spec).await;
    let id = send(&shim, "Are you recorded?").await;
    assert_eq!(events.completion_of(&id).await, "Recorded live.");
    // `/quit` reaches the fake through the recorder; the recorder ends with it.
    let code = shim
        .shutdown(Duration::from_secs(20), ShutdownReason::Requested)
        .await;
    assert_eq!(code.unwrap(), Some(0));

    let cast = replay::load(&out);
    assert_eq!((cast.rows, cast.cols), (30, 100), "the terminal's size");
    assert!(
        cast.events
            .iter()
            .any(|e| e.code == "i" && e.data.contains("Are you recorded?"))
    );
    assert_eq!(
        replay::responses(&replay::replay(&cast, AgentKind::Kiro, true)),
        ["Recorded live."]
    );
}

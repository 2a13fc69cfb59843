//! A real bash with the shim's shell integration (OSC 133 semantic prompt marks): every turn
//! reports its command's exit code, a prompt without any marker character is still known as
//! a prompt, the user's own `PROMPT_COMMAND` keeps working, nothing of the integration leaks
//! into the commands the shell runs, and with turn signals off the screen alone decides.

use crate::support::shim as support;

use agentshim::protocol::Event;
use support::{bash_spec, ready_shim, run, send};

/// The exit code reported for message `id`.
fn exit_code_of(events: &support::EventReader, id: &str) -> Option<i32> {
    events.events().find_map(|event| match event {
        Event::CommandExited {
            message_id: Some(m),
            exit_code,
        } if m == id => Some(*exit_code),
        _ => None,
    })
}

#[tokio::test]
async fn every_turn_reports_its_exit_code() {
    let (shim, mut events) = ready_shim(bash_spec("exit-codes")).await;
    for (body, code, output) in [
        ("true", 0, ""),
        ("(exit 3)", 3, ""),
        ("ls /no/such/place 2>&1 | head -c 2; (exit 7)", 7, "ls"),
        ("echo done", 0, "done"),
    ] {
        let id = send(&shim, body).await;
        assert_eq!(events.completion_of(&id).await, output, "{body}");
        assert_eq!(exit_code_of(&events, &id), Some(code), "{body}");
    }
}

#[tokio::test]
async fn a_prompt_without_a_marker_character_is_a_prompt() {
    let spec = bash_spec("lambda").env("PS1", "λ");
    let (shim, mut events) = ready_shim(spec).await;
    assert_eq!(run(&shim, &mut events, "echo hi").await, "hi");
    // The output ends at the prompt's mark, even without a final newline.
    assert_eq!(
        run(&shim, &mut events, "printf unterminated").await,
        "unterminated"
    );
}

#[tokio::test]
async fn the_users_prompt_command_keeps_running_and_nothing_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("prompts");
    let spec = bash_spec("user-prompt-command")
        .env("PROMPT_COMMAND", format!("echo x >> {}", counter.display()));
    let (shim, mut events) = ready_shim(spec).await;
    run(&shim, &mut events, "true").await;
    let prompts = std::fs::read_to_string(&counter).unwrap_or_default();
    assert!(prompts.lines().count() >= 2, "{prompts:?}");
    // Commands see neither the integration script nor a PROMPT_COMMAND naming its functions
    // (only the owner marker every agent carries for process tracking).
    let env = run(
        &shim,
        &mut events,
        "env | grep -v ^AGENTSHIM_OWNER= | grep -c -e AGENTSHIM -e PROMPT_COMMAND",
    )
    .await;
    assert_eq!(env, "0");
    // A nested bash starts clean: its prompts print no errors.
    let nested = run(&shim, &mut events, "bash --norc -i -c 'echo nested' 2>&1").await;
    assert_eq!(nested, "nested");
}

#[tokio::test]
async fn with_turn_signals_off_there_are_no_marks() {
    let (shim, mut events) = ready_shim(bash_spec("screen-only").turn_signals(false)).await;
    let id = send(&shim, "(exit 4)").await;
    events.completion_of(&id).await;
    assert_eq!(exit_code_of(&events, &id), None);
    let env = run(
        &shim,
        &mut events,
        "env | grep -v ^AGENTSHIM_OWNER= | grep -c AGENTSHIM",
    )
    .await;
    assert_eq!(env, "0");
}

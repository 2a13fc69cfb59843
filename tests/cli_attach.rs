//! `agentshim attach` as a person uses it, inside a real tmux pane against a real server and
//! bash: the screen appears, typed keys reach the agent and their echo comes back, the agent's
//! terminal follows the pane's size, a message sent meanwhile waits, and the detach key ends
//! it with the reason printed, the queue moving on and the shim back at its own size.

use crate::support::cli::{BIN, PROMPT, Server, TIMEOUT, json_lines};
use crate::support::eventually::eventually_blocking;
use crate::support::live_tmux::{TmuxPane, tmux_available};

/// Waits until the pane shows `text`; panics with the screen otherwise.
fn pane_shows(pane: &TmuxPane, text: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime
        .block_on(pane.wait_screen(TIMEOUT, |screen| screen.contains(text)))
        .unwrap_or_else(|screen| panic!("the pane never showed {text:?}; it shows:\n{screen}"))
}

#[test]
fn attach_in_a_tmux_pane_types_resizes_and_detaches() {
    assert!(tmux_available(), "tmux is needed (installed by .ci/run)");
    let server = Server::start("attach", &[], &[]);
    server
        .cli(&["spawn", "bash", "--id", "a1"])
        .expect_ok("spawn");
    server.wait_for_state("a1", "idle");
    let own_size = server
        .cli(&["send", "a1", "stty size", "--wait"])
        .expect_ok("stty size")
        .trim()
        .to_owned();

    let env = [
        format!("AGENTSHIM_ADDR={}", server.addr),
        format!("XDG_RUNTIME_DIR={}", server.dir.display()),
        "TERM=tmux-256color".to_owned(),
        "RUST_LOG=off".to_owned(),
    ];
    let pane = TmuxPane::start_program(
        &server.dir,
        &env,
        BIN,
        &["attach".into(), "a1".into()],
        100,
        30,
    );
    pane_shows(&pane, PROMPT);

    pane.type_text("echo typed-$((40+2))");
    pane.press(&["Enter"]);
    pane_shows(&pane, "typed-42");
    let screen = server.cli(&["capture", "a1"]);
    assert!(screen.expect_ok("capture").contains("typed-42"));

    pane.type_text("stty size");
    pane.press(&["Enter"]);
    pane_shows(&pane, "30 100");
    pane.resize(120, 40);
    let size = std::cell::RefCell::new(String::new());
    eventually_blocking(
        || {
            format!(
                "the agent's terminal never followed the pane: {}",
                size.borrow()
            )
        },
        || {
            let capture = server.cli(&["capture", "a1", "--json"]);
            let capture = &json_lines(capture.expect_ok("capture --json"))[0];
            *size.borrow_mut() = format!("{}x{}", capture["rows"], capture["cols"]);
            (*size.borrow() == "40x120").then_some(())
        },
    );

    let sent = server.cli(&["send", "a1", "echo queued-$((1+1))"]);
    assert!(
        sent.expect_ok("send while attached").contains("(queued)"),
        "a message waits while a person writes: {sent:?}"
    );

    pane.press(&["C-]"]);
    pane_shows(&pane, "agentshim: detached from a1");
    let screen = server.cli(&["send", "a1", "stty size", "--wait"]);
    assert_eq!(screen.expect_ok("stty size after").trim(), own_size);
    let screen = server.cli(&["capture", "a1"]);
    assert!(screen.expect_ok("capture").contains("queued-2"));
}

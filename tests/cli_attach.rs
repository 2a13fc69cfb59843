//! `agentshim attach` as a person uses it, inside a real tmux pane against a real server and
//! bash: the screen appears, typed keys reach the agent and their echo comes back, the agent's
//! terminal follows the pane's size, a message sent meanwhile waits, and the detach key ends
//! it with the reason printed, the queue moving on and the shim back at its own size. And, in
//! a pane too, `send --wait` showing the events while it waits (the agent's terminal with
//! `--follow`); `spawn --record` with
//! `agentshim recording`, to a file and to stdout.

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

    let args = ["attach".to_owned(), "a1".to_owned()];
    let pane = TmuxPane::start_program(&server.dir, &pane_env(&server), BIN, &args, 100, 30);
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

/// The environment of an `agentshim` client run in a tmux pane against `server`.
fn pane_env(server: &Server) -> [String; 4] {
    [
        format!("AGENTSHIM_ADDR={}", server.addr),
        format!("XDG_RUNTIME_DIR={}", server.dir.display()),
        "TERM=tmux-256color".to_owned(),
        "RUST_LOG=off".to_owned(),
    ]
}

#[test]
fn send_wait_on_a_terminal_shows_the_events_while_it_waits() {
    assert!(tmux_available(), "tmux is needed (installed by .ci/run)");
    let server = Server::start("progress", &[], &[]);
    server
        .cli(&["spawn", "bash", "--id", "p1", "--wait-ready"])
        .expect_ok("spawn");
    let args = ["send", "p1", "sleep 0.3; echo late-$((3+4))", "--wait"].map(str::to_owned);
    let pane = TmuxPane::start_program(&server.dir, &pane_env(&server), BIN, &args, 120, 30);
    let screen = pane_shows(&pane, "late-7");
    // (The pane's very first line is not asserted: tmux may drop what a program prints
    // while its new pane is being sized.)
    assert!(screen.contains("idle -> working"), "{screen}");
    assert!(
        !screen.contains("Completion"),
        "the answer alone stands for it: {screen}"
    );
    // With --follow, the agent's terminal itself, prompt and all.
    let args = ["send", "p1", "echo followed-$((2+2))", "--wait", "--follow"].map(str::to_owned);
    let pane = TmuxPane::start_program(&server.dir, &pane_env(&server), BIN, &args, 120, 30);
    // The turn drawn live: the command's line, its output, the prompt again (the answer on
    // stdout alone would be `followed-4`).
    let screen = pane_shows(&pane, &format!("followed-4\n{PROMPT}"));
    assert!(
        !screen.contains("StateChanged"),
        "the terminal instead of the events: {screen}"
    );
    // Piped, the answer alone.
    let piped = server.cli(&["send", "p1", "echo quiet", "--wait"]);
    assert_eq!(piped.expect_ok("send --wait"), "quiet\n");
    assert_eq!(piped.stderr, "");
}

#[test]
fn a_shim_spawned_with_record_is_read_back_with_recording() {
    let server = Server::start("recording", &[], &[]);
    let spawned = server.cli(&["spawn", "bash", "--id", "r1", "--record", "--json"]);
    assert_eq!(
        json_lines(spawned.expect_ok("spawn --record"))[0]["recorded"],
        true
    );
    server.wait_for_state("r1", "idle");
    server
        .cli(&["send", "r1", "echo on-tape", "--wait"])
        .expect_ok("send --wait");
    let file = server.dir.join("r1.cast");
    // The shim writes its recording from a thread of its own: the Completion's marker may
    // follow the answer by a moment.
    let text = eventually_blocking(
        || "no Completion marker in the recording".to_owned(),
        || {
            let run = server.cli(&["recording", "r1", "-o", file.to_str().unwrap()]);
            assert!(
                run.expect_ok("recording -o").is_empty(),
                "nothing on stdout with -o"
            );
            let text = std::fs::read_to_string(&file).unwrap();
            text.contains("\"completion ").then_some(text)
        },
    );
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{text}");
    let stdout = server.cli(&["recording", "r1"]);
    assert!(stdout.expect_ok("recording to stdout").contains("on-tape"));
    let plain = server.cli(&["spawn", "bash", "--id", "r2"]);
    plain.expect_ok("spawn");
    let refused = server.cli(&["recording", "r2"]);
    assert!(
        refused
            .expect_err("recording of a shim not recorded")
            .contains("not recorded")
    );
}

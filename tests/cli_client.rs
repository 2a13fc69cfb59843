//! The `agentshim` client commands end to end, as a user runs them: a real `agentshim serve`
//! child process, and the binary for every command (spawn, send --wait, capture, state, ls,
//! events with and without --follow, ping, resize, shutdown, kill, rm, info), in human and JSON
//! output, errors as JSON with --json; help, completions and man pages.

use crate::support::cli as cli_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::support::eventually::eventually_blocking;
use cli_common::{PROMPT, Server, TIMEOUT, cli_command, json_lines, scratch_dir};

#[test]
fn a_shell_is_driven_end_to_end() {
    let server = Server::start("e2e", &[], &[]);
    let id = server
        .cli(&["spawn", "bash", "--id", "cli1"])
        .expect_ok("spawn")
        .to_owned();
    assert_eq!(id, "cli1\n");
    server.wait_for_state("cli1", "idle");

    let answer = server.cli(&["send", "cli1", "echo hi", "--wait"]);
    assert_eq!(answer.expect_ok("send --wait"), "hi\n", "{}", server.log());

    let screen = server.cli(&["capture", "cli1"]);
    let screen = screen.expect_ok("capture");
    assert!(screen.contains(&format!("{PROMPT}echo hi")), "{screen}");
    assert!(screen.trim_end().ends_with(PROMPT.trim_end()), "{screen}");

    let state = server.cli(&["state", "cli1"]);
    assert!(
        state.expect_ok("state").starts_with("idle for "),
        "{state:?}"
    );
    let state = server.cli(&["state", "cli1", "--json"]);
    let state = &json_lines(state.expect_ok("state --json"))[0];
    assert_eq!(state["state"], "idle");
    assert_eq!(state["shim_id"], "cli1");

    let listed = server.cli(&["ls", "--json"]);
    let listed = json_lines(listed.expect_ok("ls --json"));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], "cli1");
    assert_eq!(listed[0]["profile"], "bash");
    assert_eq!(listed[0]["state"], "idle");
    assert!(listed[0]["pid"].as_u64().unwrap() > 0);
    let table = server.cli(&["ls"]);
    let table = table.expect_ok("ls");
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{table}");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("cli1 ") && row.contains(" idle "),
        "{table}"
    );

    // Without --follow, `events` prints what is retained and exits once caught up.
    let events = server.cli(&["events", "cli1", "--after", "0"]);
    let events = events.expect_ok("events");
    assert!(events.contains(" cli1 Ready"), "{events}");
    assert!(
        events.contains(" cli1 StateChanged starting -> idle"),
        "{events}"
    );
    assert!(events.contains(" cli1 Completion "), "{events}");
    assert!(events.contains("\n    hi\n"), "{events}");
    let events = server.cli(&["events", "cli1", "--json"]);
    let events = json_lines(events.expect_ok("events --json"));
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
    assert!(
        events
            .iter()
            .all(|e| e["shim_id"] == "cli1" && e["unix_ms"].is_u64())
    );
    let completion = events
        .iter()
        .find(|e| e["event"] == "Completion")
        .expect("a Completion event");
    assert_eq!(completion["response"], "hi");
    // Asking after the newest seq prints nothing and still exits.
    let newest = seqs.last().unwrap().to_string();
    let none = server.cli(&["events", "cli1", "--after", &newest]);
    assert_eq!(none.expect_ok("events --after newest"), "");
    // Every shim's events (no id) work the same way.
    let all = server.cli(&["events", "--json"]);
    assert_eq!(
        json_lines(all.expect_ok("events (all)")).len(),
        events.len()
    );

    // --follow sees what happens after it started.
    let mut follower = server
        .command(&["events", "cli1", "--follow", "--json", "--after", &newest])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start events --follow");
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let sent = server.cli(&["send", "cli1", "echo again", "--json"]);
    let sent = &json_lines(sent.expect_ok("send"))[0];
    let message_id = sent["message_id"].as_str().unwrap().to_owned();
    assert!(!message_id.is_empty());
    let completion = loop {
        let line = line_rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("no completion followed; log:\n{}", server.log()));
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON event");
        assert!(event["seq"].as_u64().unwrap() > newest.parse().unwrap());
        if event["event"] == "Completion" {
            break event;
        }
    };
    assert_eq!(completion["message_id"], message_id.as_str());
    assert_eq!(completion["response"], "again");

    // Who the server is: the same boot id every time while it runs.
    let info = server.cli(&["info", "--json"]);
    let info = &json_lines(info.expect_ok("info"))[0];
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let boot_id = info["boot_id"].as_str().expect("boot id").to_owned();
    assert_eq!(boot_id.len(), 36, "{info}");
    assert!(info["started_unix_ms"].as_u64().unwrap() > 0);
    let text = server.cli(&["info"]);
    assert!(text.expect_ok("info").contains(&boot_id), "{text:?}");

    let pong = server.cli(&["ping", "cli1"]);
    assert!(
        pong.expect_ok("ping").starts_with("pong from cli1 in "),
        "{pong:?}"
    );

    server
        .cli(&["resize", "cli1", "30", "100"])
        .expect_ok("resize");
    let screen = server.cli(&["capture", "cli1", "--json"]);
    let screen = &json_lines(screen.expect_ok("capture --json"))[0];
    assert_eq!(
        (screen["rows"].as_u64(), screen["cols"].as_u64()),
        (Some(30), Some(100))
    );

    let killed = server.cli(&["kill", "cli1"]);
    let said = killed.expect_ok("kill").trim().to_owned();
    assert!(
        said == "cli1: killed by SIGKILL (exit code 137)" || said == "cli1: exit code unknown",
        "{killed:?}"
    );
    server.wait_for_state("cli1", "dead");
    // The follower prints the Died and exits by itself, saying why.
    let last = loop {
        match line_rx.recv_timeout(TIMEOUT) {
            Ok(line) => {
                let event: serde_json::Value = serde_json::from_str(&line).expect("JSON event");
                if event["event"] == "Died" {
                    break event;
                }
            }
            Err(error) => panic!("no Died followed ({error}); log:\n{}", server.log()),
        }
    };
    assert_eq!(last["shim_id"], "cli1");
    assert!(
        line_rx.recv_timeout(TIMEOUT).is_err(),
        "the follower printed after Died"
    );
    let followed = follower.wait_with_output().expect("the follower's end");
    let why = String::from_utf8_lossy(&followed.stderr);
    assert!(followed.status.success(), "{followed:?}");
    assert!(why.contains("shim `cli1` died (exit code"), "{why}");
    let listed = server.cli(&["ls", "--json"]);
    assert_eq!(json_lines(listed.expect_ok("ls"))[0]["state"], "dead");

    server.cli(&["rm", "cli1"]).expect_ok("rm");
    let gone = server.cli(&["state", "cli1"]);
    assert!(
        gone.expect_err("state after rm").contains("not found"),
        "{gone:?}"
    );
    assert_eq!(server.cli(&["ls", "--json"]).expect_ok("ls"), "");
}

#[test]
fn send_without_wait_shutdown_and_the_builtin_shell() {
    let server = Server::start("shutdown", &[], &[]);
    // The built-in profile runs $SHELL (bash here); its prompt is whatever bash makes of it.
    let spawned = server.cli(&["spawn", "--json"]);
    let spawned = &json_lines(spawned.expect_ok("spawn shell"))[0];
    let id = spawned["id"].as_str().expect("generated id").to_owned();
    assert!(!id.is_empty());
    assert_eq!(spawned["profile"], "shell");
    server.wait_for_state(&id, "idle");
    let answer = server.cli(&["send", &id, "echo $((6 * 7))", "--wait", "--json"]);
    let answer = &json_lines(answer.expect_ok("send --wait --json"))[0];
    assert_eq!(answer["completion"]["response"], "42", "{answer}");

    // Without --wait: the message id (given here) is printed at once.
    let sent = server.cli(&["send", &id, "sleep 0.2; echo later", "--id", "m-7"]);
    assert_eq!(sent.expect_ok("send").trim_end(), "m-7");
    // Its answer arrives as an event (the send returned before the agent even started).
    eventually_blocking(
        || "m-7 not answered".into(),
        || {
            let events = server.cli(&["events", &id, "--json"]);
            json_lines(events.expect_ok("events"))
                .iter()
                .any(|event| event["event"] == "Completion" && event["message_id"] == "m-7")
                .then_some(())
        },
    );

    let exited = server.cli(&[
        "shutdown",
        &id,
        "--timeout",
        "5",
        "--reason",
        "topology_change",
    ]);
    // An idle shell exits when asked; SIGKILL (137) would mean the request was lost.
    assert_eq!(
        exited.expect_ok("shutdown").trim(),
        format!("{id}: exited with code 0"),
        "{}",
        server.log()
    );
    server.wait_for_state(&id, "dead");
    let bad = server.cli(&["shutdown", &id, "--reason", "bored"]);
    assert!(
        bad.expect_err("bad reason").contains("unknown reason"),
        "{bad:?}"
    );
    server.cli(&["rm", &id]).expect_ok("rm");
}

#[test]
fn send_wait_gives_up_at_its_timeout_and_the_message_goes_on() {
    let server = Server::start("timeout", &[], &[]);
    server
        .cli(&["spawn", "bash", "--id", "slow"])
        .expect_ok("spawn");
    server.wait_for_state("slow", "idle");
    let waited = server.cli(&[
        "send",
        "slow",
        "sleep 2; echo late",
        "--wait",
        "--timeout",
        "0.5",
        "--id",
        "late-1",
    ]);
    let error = waited.expect_err("send --wait past its timeout");
    assert!(
        error.contains("no answer within 0.5 s; message late-1 stays accepted"),
        "{error}"
    );
    eventually_blocking(
        || "late-1 never answered".into(),
        || {
            let events = server.cli(&["events", "slow", "--json"]);
            json_lines(events.expect_ok("events"))
                .iter()
                .any(|event| event["event"] == "Completion" && event["response"] == "late")
                .then_some(())
        },
    );
    let generated = server.cli(&["send", "slow", "sleep 5", "--wait", "--timeout", "0.2"]);
    let error = generated.expect_err("send --wait past its timeout, no id given");
    assert!(error.contains("stays accepted"), "{error}");
    let bad = server.cli(&["send", "slow", "true", "--wait", "--timeout=-1"]);
    assert!(
        bad.expect_err("a negative timeout")
            .contains("--timeout -1"),
        "{bad:?}"
    );
    let unwaited = server.cli(&["send", "slow", "true", "--timeout", "1"]);
    assert!(
        unwaited
            .expect_err("--timeout without --wait")
            .contains("--wait"),
        "{unwaited:?}"
    );
}

#[test]
fn failures_exit_non_zero_with_the_servers_message() {
    let server = Server::start("errors", &[], &[]);
    for args in [
        &["state", "nope"][..],
        &["send", "nope", "hello"],
        &["capture", "nope"],
        &["kill", "nope"],
        &["ping", "nope"],
        &["rm", "nope"],
        &["events", "nope"],
    ] {
        let run = server.cli(args);
        let stderr = run.expect_err(&format!("{args:?}"));
        assert!(stderr.starts_with("agentshim: "), "{args:?}: {run:?}");
        assert!(stderr.contains("not found"), "{args:?}: {run:?}");
        assert!(stderr.contains("(NotFound)"), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let refused = server.cli(&["spawn", "bash", "--", "/bin/true"]);
    let stderr = refused.expect_err("spawn with a command");
    assert!(stderr.contains("PermissionDenied"), "{refused:?}");
    let unknown = server.cli(&["spawn", "no-such-profile"]);
    unknown.expect_err("unknown profile");

    let unreachable = cli_common::run(cli_command(&["ls", "--addr", "127.0.0.1:1"]));
    let stderr = unreachable.expect_err("unreachable server");
    assert!(
        stderr.contains("cannot connect to http://127.0.0.1:1"),
        "{unreachable:?}"
    );
    let invalid = cli_common::run(cli_command(&["ls", "--addr", "ftp://x"]));
    let stderr = invalid.expect_err("bad address");
    assert!(stderr.contains("invalid server address"), "{invalid:?}");
}

#[test]
fn errors_are_json_with_json_and_rm_goes_on_past_unknown_ids() {
    // `localhost` is accepted to listen on, as clients accept it.
    let server = Server::start_on("plain", "localhost:0", &[], &[]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    let refused = server.cli(&["state", "nope", "--json"]);
    let stderr = refused.expect_err("state of an unknown shim");
    assert_eq!(refused.stdout, "");
    let error: serde_json::Value = serde_json::from_str(stderr.trim()).expect("one JSON line");
    assert_eq!(error["code"], "NOT_FOUND", "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("not found"),
        "{error}"
    );
    let unreachable = cli_common::run(cli_command(&["ls", "--json", "--addr", "127.0.0.1:1"]));
    let error: serde_json::Value =
        serde_json::from_str(unreachable.expect_err("unreachable").trim()).expect("JSON");
    assert_eq!(
        error["code"],
        serde_json::Value::Null,
        "not a refusal: {error}"
    );

    for id in ["a", "b"] {
        server
            .cli(&["spawn", "bash", "--id", id])
            .expect_ok("spawn");
    }
    let removed = server.cli(&["rm", "a", "nope", "b"]);
    let stderr = removed.expect_err("rm with an unknown id");
    assert!(stderr.contains("shim \"nope\" not found"), "{removed:?}");
    assert!(stderr.contains("1 of 3 shims not removed"), "{removed:?}");
    let listed = server.cli(&["ls", "--json"]);
    assert!(
        json_lines(listed.expect_ok("ls")).is_empty(),
        "a and b are gone"
    );

    let info = server.cli(&["info"]);
    let info = info.expect_ok("info");
    assert!(info.contains(", up ") && info.contains(" UTC)"), "{info}");
}

#[test]
fn evicted_events_print_as_a_gap() {
    let server = Server::start_with("gap", "127.0.0.1:0", "event_log_capacity = 4", &[], &[]);
    server
        .cli(&["spawn", "bash", "--id", "g1"])
        .expect_ok("spawn");
    server.wait_for_state("g1", "idle");
    // Without --wait: a waiting send may itself be told its answer was evicted.
    server.cli(&["send", "g1", "echo filler"]).expect_ok("send");
    eventually_blocking(
        || "fewer than 7 events".into(),
        || {
            let listed = server.cli(&["ls", "--json"]);
            let newest = json_lines(listed.expect_ok("ls"))[0]["last_event_seq"].as_u64();
            (newest.unwrap() >= 7).then_some(())
        },
    );

    let events = server.cli(&["events", "g1"]);
    let events = events.expect_ok("events");
    let first = events.lines().next().unwrap();
    assert!(first.starts_with("----- events 1..="), "{events}");
    assert!(first.contains(" lost"), "{events}");
    let events = server.cli(&["events", "g1", "--json"]);
    let events = json_lines(events.expect_ok("events --json"));
    assert_eq!(events[0]["event"], "EventsLost", "{events:?}");
    assert_eq!(events[0]["first_seq"], 1);
    let after_gap = events[0]["last_seq"].as_u64().unwrap() + 1;
    assert_eq!(events[1]["seq"].as_u64(), Some(after_gap), "{events:?}");
}

#[test]
fn help_completions_and_the_man_page_come_from_one_definition() {
    let help = |args: &[&str]| {
        let run = cli_common::run(cli_command(args));
        run.expect_ok(&format!("{args:?}")).to_owned()
    };
    let state = help(&["state", "--help"]);
    assert!(
        !state.contains("--log-format"),
        "a client command does not log: {state}"
    );
    assert!(
        state.contains("[env: AGENTSHIM_ADDR]"),
        "no value shown for the variable: {state}"
    );
    assert!(help(&["serve", "--help"]).contains("--log-format"));
    assert!(help(&["resize", "--help"]).contains("New terminal rows"));
    assert!(help(&["shim", "--help"]).contains("Terminal rows of the agent"));

    let bash = help(&["completions", "bash"]);
    let mut check = Command::new("bash");
    check.args(["-c", "source /dev/stdin && complete -p agentshim"]);
    let registered = pipe_into(check, &bash);
    assert!(registered.contains("_agentshim"), "{registered}");
    for shell in ["zsh", "fish"] {
        assert!(help(&["completions", shell]).contains("attach"), "{shell}");
    }
    let page = help(&["man"]);
    assert!(page.contains(".TH agentshim 1"), "{page}");
    let dir = scratch_dir("man");
    help(&["man", "--out-dir", dir.to_str().unwrap()]);
    let attach =
        std::fs::read_to_string(dir.join("agentshim-attach.1")).expect("a page per command");
    assert!(attach.contains("detach"), "{attach}");
}

/// Runs `command` with `input` on its stdin; its stdout.
fn pipe_into(mut command: Command, input: &str) -> String {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{command:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn spawn_wait_ready_returns_once_the_agent_is_ready_or_says_it_died() {
    let server = Server::start("ready", &[], &["--allow-any-command"]);
    let spawned = server.cli(&["spawn", "bash", "--id", "w1", "--wait-ready"]);
    assert_eq!(spawned.expect_ok("spawn --wait-ready"), "w1\n");
    let state = server.cli(&["state", "w1"]);
    assert!(
        state.expect_ok("state").starts_with("idle"),
        "ready means idle: {state:?}"
    );
    let died = server.cli(&[
        "spawn",
        "bash",
        "--id",
        "w2",
        "--wait-ready",
        "--",
        "sh",
        "-c",
        "echo bye; exit 3",
    ]);
    let stderr = died.expect_err("an agent that dies at once");
    assert!(
        stderr.contains("w2 died before it was ready (exited with code 3)"),
        "{died:?}"
    );
    assert!(stderr.contains("bye"), "its last lines: {died:?}");
}

#[test]
fn the_example_config_works_as_it_is_and_is_the_one_in_the_readme() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("examples/agentshim.toml");
    let checked = cli_common::run(cli_command(&[
        "serve",
        "--check-config",
        "--config",
        example.to_str().unwrap(),
    ]));
    let said = checked.expect_ok("check the example config");
    assert!(said.starts_with("config OK: "), "{said}");
    assert!(said.contains("py") && said.contains("default py"), "{said}");

    let text = std::fs::read_to_string(&example).unwrap();
    let indented: String = text
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("  {line}\n")
            }
        })
        .collect();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("  ```toml\n{indented}  ```\n")),
        "the README shows examples/agentshim.toml as it is"
    );

    let dir = scratch_dir("bad-config");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[profiles.x]\ncommand = [\"no-such-program-here\"]\n").unwrap();
    let refused = cli_common::run(cli_command(&[
        "serve",
        "--check-config",
        "--config",
        bad.to_str().unwrap(),
    ]));
    let stderr = refused.expect_err("a config whose program is missing");
    assert!(
        stderr.contains("profile `x`") && stderr.contains("no-such-program-here"),
        "{stderr}"
    );
}

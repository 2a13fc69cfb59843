//! A client cannot forge lines of the server's log: a real `agentshim serve` gets a message
//! whose `from` holds a newline, a fake log line and an ANSI escape, and its text log shows
//! that `from` quoted and escaped, on the one line that logs the delivery.

use crate::support::cli as cli_common;

use cli_common::Server;

const FORGED_FROM: &str = "x\n2026-12-03T00:00:00Z  INFO forged line\x1b[31m";

#[test]
fn a_forged_from_stays_escaped_on_one_line() {
    let server = Server::start("log-injection", &[], &[]);
    server
        .cli(&["spawn", "bash", "--id", "log1"])
        .expect_ok("spawn");
    server.wait_for_state("log1", "idle");
    let answer = server.cli(&[
        "send",
        "log1",
        "echo logged",
        "--from",
        FORGED_FROM,
        "--wait",
    ]);
    assert_eq!(answer.expect_ok("send --wait"), "logged\n");

    let log = server.log();
    let delivering: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("delivering message"))
        .collect();
    assert_eq!(delivering.len(), 1, "{log}");
    assert!(
        delivering[0].contains(r#""x\n2026-12-03T00:00:00Z  INFO forged line\u{1b}[31m""#),
        "the from is shown escaped: {:?}",
        delivering[0]
    );
    assert!(
        !log.lines()
            .any(|line| line.starts_with("2026-12-03T00:00:00Z")),
        "a forged line: {log}"
    );
    assert!(
        !log.contains("forged line\x1b[31m"),
        "a raw escape: {log:?}"
    );
}

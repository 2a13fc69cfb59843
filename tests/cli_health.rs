//! `agentshim health` against real `agentshim serve` processes: SERVING (also on a token server,
//! without the token), an unknown service, a port nobody listens on, a peer that never answers
//! (the timeout), and a server that is stopping (NOT_SERVING while its shims shut down).

use crate::support::cli as cli_common;

use std::net::TcpListener;

use crate::support::eventually::eventually_blocking;
use cli_common::{Server, cli_command, json_lines, run};

#[test]
fn a_running_server_is_serving_even_without_the_token() {
    let server = Server::start("health-ok", &[("AGENTSHIM_TOKEN", "health-token")], &[]);
    assert_eq!(server.cli(&["health"]).expect_ok("health"), "SERVING\n");

    let json = json_lines(server.cli(&["health", "--json"]).expect_ok("health --json"));
    assert_eq!(json[0]["status"], "SERVING");
    assert_eq!(json[0]["service"], "");

    let service = server.cli(&["health", "--service", "agentshim.v1.AgentShimService"]);
    assert_eq!(service.expect_ok("health of the service"), "SERVING\n");

    let unknown = server.cli(&["health", "--service", "no.such.Service"]);
    let stderr = unknown.expect_err("health of an unknown service");
    assert!(
        stderr.contains("`no.such.Service` (NOT_FOUND)"),
        "{unknown:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {unknown:?}");
}

#[test]
fn nobody_listening_fails_with_cannot_connect() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let addr = format!("127.0.0.1:{port}");
    let refused = run(cli_command(&["health", "--addr", &addr]));
    let stderr = refused.expect_err("health on a closed port");
    assert!(
        stderr.contains(&format!("cannot connect to http://{addr}")),
        "{refused:?}"
    );
    assert!(stderr.contains("refused"), "{refused:?}");
    assert_eq!(stderr.lines().count(), 1, "one line: {refused:?}");
}

#[test]
fn a_peer_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    // The kernel completes the TCP handshake; nothing ever speaks HTTP/2.
    let silent = run(cli_command(&["health", "--addr", &addr, "--timeout", "1"]));
    let stderr = silent.expect_err("health of a silent peer");
    assert!(
        stderr.contains(&format!("no health answer from http://{addr} within 1s")),
        "{silent:?}"
    );
    drop(listener);
}

#[test]
fn a_stopping_server_is_not_serving() {
    let server = Server::start("health-stop", &[], &["--shutdown-timeout", "10"]);
    server
        .cli(&["spawn", "bash", "--id", "stubborn"])
        .expect_ok("spawn");
    server.wait_for_state("stubborn", "idle");
    // The shell ignores Ctrl-D, SIGTERM and SIGHUP, so stopping waits for the 10 s deadline.
    let ignore = "IGNOREEOF=1000; trap '' TERM HUP INT; echo stubborn-now";
    let answer = server.cli(&["send", "stubborn", ignore, "--wait"]);
    assert_eq!(answer.expect_ok("send"), "stubborn-now\n");

    server.terminate();
    let stderr = eventually_blocking(
        || format!("still SERVING after SIGTERM; log:\n{}", server.log()),
        || {
            let health = server.cli(&["health"]);
            (!health.ok()).then_some(health.stderr)
        },
    );
    assert!(
        stderr.contains(&format!("http://{} is NOT_SERVING", server.addr)),
        "{stderr}"
    );
}

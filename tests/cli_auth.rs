//! How the CLI reaches a server: the bearer token (flag or `AGENTSHIM_TOKEN`) against a server
//! that requires one, a server on a Unix socket (`--addr unix:/path`), and a TLS server
//! (`--addr https://...` with `--tls-ca`, `--tls-domain`).

use crate::support::certs;
use crate::support::cli as cli_common;

use certs::make_certificates;
use cli_common::{Server, json_lines};

#[test]
fn a_token_server_refuses_clients_without_the_token() {
    let server = Server::start("token", &[("AGENTSHIM_TOKEN", "s3cret-token")], &[]);

    let refused = server.cli(&["ls"]);
    let stderr = refused.expect_err("ls without a token").to_lowercase();
    assert!(stderr.contains("unauthenticated"), "{refused:?}");

    let wrong = server.cli(&["ls", "--token", "not-it"]);
    let stderr = wrong.expect_err("ls with a wrong token");
    assert!(
        stderr.to_lowercase().contains("unauthenticated"),
        "{wrong:?}"
    );
    assert!(
        !stderr.contains("not-it"),
        "the token must not be echoed: {wrong:?}"
    );

    let flag = server.cli(&["spawn", "bash", "--id", "t1", "--token", "s3cret-token"]);
    assert_eq!(flag.expect_ok("spawn with --token"), "t1\n");
    let env = server.cli_with_env(&["ls", "--json"], &[("AGENTSHIM_TOKEN", "s3cret-token")]);
    let listed = json_lines(env.expect_ok("ls with AGENTSHIM_TOKEN"));
    assert_eq!(listed[0]["id"], "t1");

    // The token never shows in help, even when it comes from the environment.
    let help = server.cli_with_env(&["ls", "--help"], &[("AGENTSHIM_TOKEN", "s3cret-token")]);
    assert!(!help.expect_ok("ls --help").contains("s3cret"), "{help:?}");
}

#[test]
fn a_unix_socket_server_is_reached_with_a_unix_address() {
    let server = Server::start_on("unix", "unix:{dir}/agentshim.sock", &[], &[]);
    assert!(server.addr.contains("agentshim.sock"), "{}", server.addr);
    let addr = if server.addr.starts_with("unix:") {
        server.addr.clone()
    } else {
        format!("unix:{}", server.addr)
    };
    let spawned = server.cli(&["spawn", "bash", "--id", "u1", "--addr", &addr]);
    assert_eq!(spawned.expect_ok("spawn over a unix socket"), "u1\n");
    server.wait_for_state("u1", "idle");
    let answer = server.cli(&["send", "u1", "echo over-unix", "--wait", "--addr", &addr]);
    assert_eq!(answer.expect_ok("send --wait"), "over-unix\n");
    server.cli(&["rm", "u1", "--addr", &addr]).expect_ok("rm");
}

#[test]
fn a_tls_server_is_reached_with_its_ca() {
    let certs = cli_common::scratch_dir("certs");
    if make_certificates(&certs, &[]).is_none() {
        eprintln!("skipped: openssl is not available to make test certificates");
        return;
    }
    let (cert, key, ca) = (
        certs.join("leaf.pem"),
        certs.join("leaf.key"),
        certs.join("ca.pem"),
    );
    let (cert, key, ca) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        ca.to_str().unwrap(),
    );
    let server = Server::start("tls", &[], &["--tls-cert", cert, "--tls-key", key]);
    let port = server.addr.rsplit(':').next().unwrap();

    let https = format!("https://localhost:{port}");
    let listed = server.cli(&["ls", "--addr", &https, "--tls-ca", ca]);
    assert!(
        listed.expect_ok("ls over TLS").starts_with("ID "),
        "{listed:?}"
    );
    let by_ip = format!("https://127.0.0.1:{port}");
    let renamed = server.cli(&[
        "ls",
        "--addr",
        &by_ip,
        "--tls-ca",
        ca,
        "--tls-domain",
        "localhost",
    ]);
    renamed.expect_ok("ls over TLS with --tls-domain");

    let untrusted = server.cli(&["ls", "--addr", &https]);
    let stderr = untrusted.expect_err("ls without the CA");
    assert!(
        stderr.contains(&format!("cannot connect to {https}")),
        "{untrusted:?}"
    );
    let wrong_name = server.cli(&[
        "ls",
        "--addr",
        &by_ip,
        "--tls-ca",
        ca,
        "--tls-domain",
        "x.test",
    ]);
    wrong_name.expect_err("ls with a name the certificate lacks");
    let _ = std::fs::remove_dir_all(certs);
}

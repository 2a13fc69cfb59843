//! An agent runs as the server's uid, yet cannot read the server's secrets out of `/proc`: a
//! server running as `nobody` with its token in `AGENTSHIM_TOKEN` hosts a bash shim (also
//! `nobody`), which tries `/proc/<server>/environ` and `/proc/<server>/mem` (at an address
//! the server has mapped) and is refused both, while it runs commands as usual.

use crate::support::other_user;
use crate::support::serve_process;
use crate::support::server as server_support;

use std::process::Command;

use agentshim::client::{Client, ConnectOptions, NewShim, SendOptions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serve_process::{ServeProcess, TempDir};
use server_support::{BASH, TIMEOUT};

const TOKEN: &str = "s3cret-token-in-the-environment";

#[tokio::test]
async fn an_agent_cannot_read_the_servers_environment_or_memory() {
    if !other_user::available() {
        return;
    }
    let dir = TempDir::new("secrets");
    // `env` puts the token into the server's environment (ServeProcess clears it), then execs
    // the server, which so keeps its pid.
    let mut command = Command::new("env");
    command.arg(format!("AGENTSHIM_TOKEN={TOKEN}")).args([
        env!("CARGO_BIN_EXE_agentshim"),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--config",
        &dir.config(),
        "--state-dir",
    ]);
    // The server's state directory is nobody's own, in the scratch directory nobody owns.
    let nobody = Some(other_user::NOBODY);
    std::os::unix::fs::chown(&dir.0, nobody, nobody).expect("chown the scratch directory");
    command.arg(dir.join("state"));
    other_user::as_nobody(&mut command);
    let mut server = ServeProcess::spawn(command);
    let pid = server.pid();
    // An address the server has mapped (its first mapping), read as root.
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let first = maps.split('-').next().expect("a mapping");
    let page = u64::from_str_radix(first, 16).expect("hex address") / 4096;

    let options = ConnectOptions::with_token(TOKEN);
    let mut client = Client::connect(&format!("http://{}", server.addr), options)
        .await
        .expect("connect");
    let shim = client
        .create_shim(NewShim::profile(BASH))
        .await
        .expect("CreateShim");
    let probe = format!(
        "id -u; \
         cat /proc/{pid}/environ >/dev/null 2>&1 && echo environ-readable || echo environ-refused; \
         dd if=/proc/{pid}/mem bs=4096 skip={page} count=1 status=none 2>/dev/null | wc -c"
    );
    let wait = SendOptions {
        wait: true,
        ..SendOptions::default()
    };
    let sent = tokio::time::timeout(TIMEOUT, client.send_message(&shim.id, &probe, wait))
        .await
        .expect("an answer in time")
        .expect("SendMessage");
    let answer = sent.completion.expect("a completion").response;
    let lines: Vec<&str> = answer.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [&other_user::NOBODY.to_string(), "environ-refused", "0"],
        "the agent is the server's uid, and reads neither environ nor mem: {answer:?}"
    );
    assert!(!answer.contains(TOKEN), "{answer:?}");

    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM");
    let (status, _) = server.wait_within(TIMEOUT).await;
    assert!(status.success(), "{status:?}");
}

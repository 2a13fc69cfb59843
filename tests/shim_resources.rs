//! File descriptors, as a real `agentshim` process sees them: it raises its soft open-files
//! limit to the hard one at start (each shim costs a PTY and pipes), and an agent that cannot
//! get its descriptors is refused with an error that says so, not an obscure I/O error.

use std::process::{Command, Stdio};

use crate::support::eventually::eventually_blocking;

const AGENTSHIM: &str = env!("CARGO_BIN_EXE_agentshim");

/// `agentshim shim` under `ulimit` settings `limits` (bash syntax), serving bash on `socket`.
fn shim_under(limits: &str, socket: &std::path::Path) -> Command {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(format!(
            "{limits}; exec \"$0\" shim --socket \"$1\" -- bash --norc --noprofile -i"
        ))
        .arg(AGENTSHIM)
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[test]
fn an_agent_without_file_descriptors_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let output = shim_under("ulimit -n 12", &dir.path().join("s.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("no file descriptors left for another agent")
            && stderr.contains("may open 12 files"),
        "{stderr}"
    );
}

#[test]
fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("s.sock");
    let mut shim = shim_under("ulimit -Sn 64; ulimit -Hn 4096", &socket)
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", shim.id());
    // The limit is raised before the agent starts; wait for the socket as the sign of that.
    eventually_blocking(
        || "the shim never listened".into(),
        || socket.exists().then_some(()),
    );
    let text = std::fs::read_to_string(&limits).unwrap();
    let open_files = text
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{open_files}");
    shim.kill().unwrap();
    shim.wait().unwrap();
}

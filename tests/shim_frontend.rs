//! `agentshim shim` as an outside program sees it: the real binary, driven with the blocking
//! `Channel` of the protocol module over `--socket` and over an inherited `--fd`. Covers
//! delivery and completion, `Explain`, malformed and unknown commands (connection stays
//! usable), oversize frames (connection closed, agent unharmed), reconnecting without losing
//! events, and the shim's own exit.

use crate::support::shim_socket;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;

use agentshim::protocol::{Command, Event, ShimState, socketpair};
use shim_socket::{
    ShimProcess, SocketShim, bash_args, channel, completion, send, shim_command, wait_for,
    write_raw_frame,
};

#[test]
fn socket_client_drives_bash_and_survives_bad_input() {
    let mut shim = SocketShim::start(&[]);
    let (mut client, mut raw) = shim.connect();
    wait_for(&mut client, "Ready", |e| matches!(e, Event::Ready));
    send(&mut client, "m1", "echo hello");
    assert_eq!(completion(&mut client, "m1"), "hello");

    // Malformed JSON and an unknown command: an Error each, and the connection stays usable.
    write_raw_frame(&mut raw, b"{not json");
    let error = wait_for(&mut client, "Error", |e| matches!(e, Event::Error { .. }));
    assert!(
        matches!(&error, Event::Error { command, .. } if command == "unknown"),
        "{error:?}"
    );
    write_raw_frame(&mut raw, br#"{"cmd":"Bogus"}"#);
    let error = wait_for(&mut client, "Error", |e| matches!(e, Event::Error { .. }));
    assert!(
        matches!(&error, Event::Error { command, .. } if command == "Bogus"),
        "{error:?}"
    );
    client.send(&Command::Ping).unwrap();
    wait_for(&mut client, "Pong", |e| matches!(e, Event::Pong));

    // Explain: the changes so far, with what decided each.
    client.send(&Command::Explain).unwrap();
    let explanation = wait_for(&mut client, "Explanation", |e| {
        matches!(e, Event::Explanation { .. })
    });
    let Event::Explanation { explanation } = explanation else {
        unreachable!()
    };
    assert_eq!(explanation.state, ShimState::Idle);
    let changes: Vec<_> = explanation
        .decisions
        .iter()
        .map(|decision| (decision.from, decision.to))
        .collect();
    assert_eq!(
        changes,
        [
            (ShimState::Starting, ShimState::Idle),
            (ShimState::Idle, ShimState::Working),
            (ShimState::Working, ShimState::Idle),
        ],
        "{explanation:?}"
    );
    assert!(explanation.decisions.iter().all(|d| !d.cause.is_empty()));

    // A message still running when the client leaves: its Completion waits for the next one.
    send(&mut client, "m2", "sleep 1; echo later");
    wait_for(&mut client, "MessageDelivered", |e| {
        matches!(e, Event::MessageDelivered { .. })
    });
    drop((client, raw));
    let (mut client, mut raw) = shim.connect();
    assert_eq!(completion(&mut client, "m2"), "later");

    // An oversize frame: an Error, then the connection is closed; the agent keeps running.
    raw.write_all(&(2u32 << 20).to_be_bytes()).unwrap();
    let error = wait_for(&mut client, "Error", |e| matches!(e, Event::Error { .. }));
    assert!(matches!(&error, Event::Error { reason, .. } if reason.contains("exceeds")));
    assert!(
        matches!(client.recv::<Event>(), Ok(None)),
        "connection should be closed"
    );
    drop((client, raw));
    let (mut client, _raw) = shim.connect();
    client.send(&Command::GetState).unwrap();
    let state = wait_for(&mut client, "State", |e| matches!(e, Event::State { .. }));
    assert!(
        matches!(
            state,
            Event::State {
                state: ShimState::Idle,
                ..
            }
        ),
        "{state:?}"
    );

    // Kill: Died reaches the client, then the shim exits by itself and removes its socket.
    client.send(&Command::Kill).unwrap();
    let died = wait_for(&mut client, "Died", |e| matches!(e, Event::Died { .. }));
    assert!(
        matches!(
            died,
            Event::Died {
                exit_code: Some(137),
                ..
            }
        ),
        "{died:?}"
    );
    drop((client, _raw));
    assert!(shim.process.wait_exit().success());
    assert!(!shim.path.exists());
}

#[test]
fn inherited_fd_client_leaving_stops_the_agent() {
    let (ours, theirs) = socketpair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut command = shim_command();
    command.args(["--fd", &fd.to_string()]);
    // SAFETY: fcntl is async-signal-safe; it only clears close-on-exec on the child's copy.
    unsafe {
        command.pre_exec(move || {
            let flags = nix::fcntl::FdFlag::empty();
            let borrowed = std::os::fd::BorrowedFd::borrow_raw(fd);
            nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_SETFD(flags))?;
            Ok(())
        });
    }
    let mut shim = ShimProcess(bash_args(&mut command).spawn().unwrap());
    drop(theirs);
    let mut client = channel(ours);
    wait_for(&mut client, "Ready", |e| matches!(e, Event::Ready));
    send(
        &mut client,
        "m1",
        "echo $((6 * 7)) ${CI-unset} ${AGENTSHIM_TOKEN-unset}",
    );
    assert_eq!(completion(&mut client, "m1"), "42 unset unset");
    let bash_pids = children_of(shim.0.id());
    assert!(!bash_pids.is_empty());
    drop(client);
    assert!(shim.wait_exit().success());
    for pid in bash_pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "agent {pid} survived"
        );
    }
}

/// Pids of the direct children of `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

//! `agentshim shim` as an outside program sees it: the real binary, driven with the blocking
//! `Channel` of the protocol module over `--socket` and over an inherited `--fd`. Covers
//! delivery and completion, malformed and unknown commands (connection stays usable), oversize
//! frames (connection closed, agent unharmed), reconnecting without losing events, and the
//! shim's own exit.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use agentshim::protocol::{Channel, Command, Event, ShimState, socketpair};

const TIMEOUT: Duration = Duration::from_secs(30);
const PROMPT: &str = "frontend-test$ ";

fn shim_command() -> Process {
    let mut command = Process::new(env!("CARGO_BIN_EXE_agentshim"));
    command
        .arg("shim")
        .args([
            "--env",
            &format!("PS1={PROMPT}"),
            "--env",
            "HISTFILE=/dev/null",
        ])
        .env("RUST_LOG", "warn")
        // Agents never inherit CI (TUIs drop their interactive screen when it is set) nor the
        // server's token.
        .env("CI", "true")
        .env("AGENTSHIM_TOKEN", "secret")
        .stdin(Stdio::null());
    command
}

fn bash_args(command: &mut Process) -> &mut Process {
    command.args(["--", "bash", "--norc", "--noprofile", "-i"])
}

/// A client channel with timeouts, so a missing event fails the test instead of hanging it.
fn channel(stream: UnixStream) -> Channel {
    let mut channel = Channel::new(stream);
    channel.set_read_timeout(Some(TIMEOUT)).unwrap();
    channel.set_write_timeout(Some(TIMEOUT)).unwrap();
    channel
}

/// A client channel plus a raw handle on the same socket (for hand-made frames).
fn connect(path: &Path) -> (Channel, UnixStream) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match UnixStream::connect(path) {
            Ok(stream) => return (channel(stream.try_clone().unwrap()), stream),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("cannot connect to {path:?}: {error}"),
        }
    }
}

/// Reads events until one matches, returning it; panics with what was seen otherwise.
fn wait_for(client: &mut Channel, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
    let mut seen = Vec::new();
    loop {
        let event: Event = match client.recv() {
            Ok(Some(event)) => event,
            other => panic!("no {what}: {other:?}; seen {seen:#?}"),
        };
        if wanted(&event) {
            return event;
        }
        seen.push(event);
    }
}

fn completion(client: &mut Channel, id: &str) -> String {
    match wait_for(
        client,
        "Completion",
        |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
    ) {
        Event::Completion { response, .. } => response,
        _ => unreachable!(),
    }
}

fn send(client: &mut Channel, id: &str, body: &str) {
    client
        .send(&Command::SendMessage {
            from: "test".into(),
            body: body.into(),
            message_id: Some(id.into()),
        })
        .unwrap();
}

/// The shim child process; killed when a test fails before it exits by itself.
struct ShimProcess(Child);

impl Drop for ShimProcess {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A directory removed when the test ends, however it ends.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("agentshim-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_exit(ShimProcess(child): &mut ShimProcess) -> std::process::ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "shim did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn socket_client_drives_bash_and_survives_bad_input() {
    let dir = TempDir::new();
    let path = dir.0.join("shim.sock");
    let mut shim = ShimProcess(
        bash_args(shim_command().args(["--socket".as_ref(), path.as_os_str()]))
            .spawn()
            .unwrap(),
    );
    let (mut client, mut raw) = connect(&path);
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

    // A message still running when the client leaves: its Completion waits for the next one.
    send(&mut client, "m2", "sleep 1; echo later");
    wait_for(&mut client, "MessageDelivered", |e| {
        matches!(e, Event::MessageDelivered { .. })
    });
    drop((client, raw));
    let (mut client, mut raw) = connect(&path);
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
    let (mut client, _raw) = connect(&path);
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
    assert!(wait_exit(&mut shim).success());
    assert!(!path.exists());
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
    assert!(wait_exit(&mut shim).success());
    for pid in bash_pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "agent {pid} survived"
        );
    }
}

/// Writes a frame of arbitrary bytes (the `Channel` only sends serialisable values).
fn write_raw_frame(raw: &mut UnixStream, payload: &[u8]) {
    raw.write_all(&(payload.len() as u32).to_be_bytes())
        .unwrap();
    raw.write_all(payload).unwrap();
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

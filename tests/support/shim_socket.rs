//! Helpers for tests that run the real `agentshim shim` binary and talk to it with the blocking
//! `Channel` of the protocol module: the command line (bash with a fixed prompt), a shim on a
//! Unix socket in its own temporary directory, connections with timeouts, event waits that
//! panic naming what was seen, hand-made frames, and the shim process killed when a test fails.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitStatus, Stdio};

use agentshim::protocol::{Channel, Command, Event};

use super::eventually::eventually_blocking;

/// Upper bound for any single wait; a loaded 2-core machine stays well inside it.
pub use super::eventually::TIMEOUT;

/// The prompt of the test shells.
pub const PROMPT: &str = "frontend-test$ ";

/// `agentshim shim` with a fixed prompt and no history; the transport and the program are
/// added by the caller.
pub fn shim_command() -> Process {
    let mut command = bare_shim_command();
    command.args([
        "--env",
        &format!("PS1={PROMPT}"),
        "--env",
        "HISTFILE=/dev/null",
    ]);
    command
}

/// `agentshim shim` and nothing else on its command line (a spec file says the rest).
pub fn bare_shim_command() -> Process {
    let mut command = Process::new(env!("CARGO_BIN_EXE_agentshim"));
    command
        .arg("shim")
        .env("RUST_LOG", "warn")
        // Agents never inherit CI (TUIs drop their interactive screen when it is set) nor the
        // server's token.
        .env("CI", "true")
        .env("AGENTSHIM_TOKEN", "secret")
        .stdin(Stdio::null());
    command
}

/// Appends the agent: an interactive bash without startup files.
pub fn bash_args(command: &mut Process) -> &mut Process {
    command.args(["--", "bash", "--norc", "--noprofile", "-i"])
}

/// The shim child process; killed when a test fails before it exits by itself.
pub struct ShimProcess(pub Child);

impl ShimProcess {
    /// Waits (bounded by [`TIMEOUT`]) for the shim to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        eventually_blocking(
            || "the shim did not exit".into(),
            || self.0.try_wait().unwrap(),
        )
    }

    /// True while the shim process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for ShimProcess {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `agentshim shim --socket PATH [extra args] -- bash ...` in a temporary directory that is
/// removed when the value is dropped (after the shim is killed).
pub struct SocketShim {
    pub process: ShimProcess,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl SocketShim {
    pub fn start(extra_args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("agentshim-shim-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("shim.sock");
        let mut command = shim_command();
        command
            .args(["--socket".as_ref(), path.as_os_str()])
            .args(extra_args);
        let process = ShimProcess(bash_args(&mut command).spawn().unwrap());
        Self {
            process,
            path,
            _dir: dir,
        }
    }

    /// A new client connection (see [`connect`]).
    pub fn connect(&self) -> (Channel, UnixStream) {
        connect(&self.path)
    }
}

/// A client channel with timeouts, so a missing event fails the test instead of hanging it.
pub fn channel(stream: UnixStream) -> Channel {
    let mut channel = Channel::new(stream);
    channel.set_read_timeout(Some(TIMEOUT)).unwrap();
    channel.set_write_timeout(Some(TIMEOUT)).unwrap();
    channel
}

/// A client channel plus a raw handle on the same socket (for hand-made frames), retrying
/// until the shim listens.
pub fn connect(path: &Path) -> (Channel, UnixStream) {
    let stream = eventually_blocking(
        || format!("cannot connect to {path:?}"),
        || UnixStream::connect(path).ok(),
    );
    (channel(stream.try_clone().unwrap()), stream)
}

/// Reads events until one matches, returning it; panics with what was seen otherwise.
pub fn wait_for(client: &mut Channel, what: &str, wanted: impl Fn(&Event) -> bool) -> Event {
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

/// Waits for the Completion of message `id` and returns its response.
pub fn completion(client: &mut Channel, id: &str) -> String {
    match wait_for(
        client,
        "Completion",
        |e| matches!(e, Event::Completion { message_id: Some(m), .. } if m == id),
    ) {
        Event::Completion { response, .. } => response,
        _ => unreachable!(),
    }
}

/// Sends `body` as message `id`.
pub fn send(client: &mut Channel, id: &str, body: &str) {
    client
        .send(&Command::SendMessage {
            from: "test".into(),
            body: body.into(),
            message_id: Some(id.into()),
        })
        .unwrap();
}

/// Sends Ping and waits for its Pong.
pub fn ping(client: &mut Channel) {
    client.send(&Command::Ping).unwrap();
    wait_for(client, "Pong", |e| matches!(e, Event::Pong));
}

/// Writes a frame of arbitrary bytes (the `Channel` only sends serialisable values).
pub fn write_raw_frame(raw: &mut UnixStream, payload: &[u8]) {
    raw.write_all(&(payload.len() as u32).to_be_bytes())
        .unwrap();
    raw.write_all(payload).unwrap();
}

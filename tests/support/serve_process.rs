//! A real `agentshim serve` child process for integration tests (it prints its address,
//! is stopped with signals, and is killed on drop), with a runtime directory of its own (where
//! it keeps a generated token), and temp dirs holding its config file. Used together with
//! `server.rs`, included as `server_support`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use agentshim::shim::process_tracking::procfs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::eventually::Poll;
use super::server::{CONFIG_TOML, TIMEOUT};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "agentshim-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes [`CONFIG_TOML`] (the `bash` profile) into the directory; returns its path.
    pub fn config(&self) -> String {
        self.config_adding("")
    }

    /// Writes [`CONFIG_TOML`] followed by `more` (profiles of a test's own) into the
    /// directory; returns its path.
    pub fn config_adding(&self, more: &str) -> String {
        let path = self.join("agentshim.toml");
        std::fs::write(&path, format!("{CONFIG_TOML}{more}")).expect("write config");
        path.to_str().expect("UTF-8 temp path").to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real `agentshim serve` child process; killed (SIGKILL) on drop if still running.
pub struct ServeProcess {
    pub child: Child,
    /// What the server printed: `IP:PORT` or `unix:PATH`.
    pub addr: String,
    /// The lines it prints on stdout after the address line.
    lines: Receiver<std::io::Result<String>>,
    /// Its `XDG_RUNTIME_DIR` unless the command set one: its own, so no two servers (or test
    /// runs) share token files.
    _runtime: TempDir,
    /// Its `XDG_STATE_HOME` unless the command set one or `--state-dir`: its own state
    /// directory (under `agentshim/`).
    _state: TempDir,
    /// The state directory its shim processes run in.
    state_dir: PathBuf,
}

impl ServeProcess {
    /// Starts `agentshim serve --no-auth ARGS`, for tests of anything but auth (as the
    /// in-process servers of `server.rs`), and waits for `agentshim listening on ADDR`.
    pub fn start(args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentshim"));
        command.arg("serve").arg("--no-auth").args(args);
        Self::spawn(command)
    }

    /// Starts `command`, an `agentshim serve` (possibly behind a wrapper that execs it, such as
    /// `ip netns exec NS`), without a token in its environment and with its own runtime
    /// directory (unless `command` names one), and waits for its address.
    pub fn spawn(mut command: Command) -> Self {
        let shown = format!("{command:?}");
        let runtime = TempDir::new("runtime");
        if !command.get_envs().any(|(key, _)| key == "XDG_RUNTIME_DIR") {
            command.env("XDG_RUNTIME_DIR", &runtime.0);
        }
        let state = TempDir::new("state");
        let state_dir = state_dir_of(&command).unwrap_or_else(|| {
            command.env("XDG_STATE_HOME", &state.0);
            state.join("agentshim")
        });
        command
            .env("RUST_LOG", "warn")
            .env_remove("AGENTSHIM_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("spawn agentshim serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (line_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads on after the receiver is gone, so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let _ = line_tx.send(line);
            }
        });
        let line = match lines.recv_timeout(TIMEOUT) {
            Ok(Ok(line)) => line,
            other => {
                let _ = child.kill();
                panic!("{shown} printed no address: {other:?}")
            }
        };
        let addr = line
            .strip_prefix("agentshim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            addr,
            lines,
            _runtime: runtime,
            _state: state,
            state_dir,
        }
    }

    /// The state directory its shim processes run in.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The token the server generated, from the file its next line names: `agentshim token in
    /// FILE (...)`.
    pub fn generated_token(&self) -> String {
        let line = self.next_line();
        let file = line
            .strip_prefix("agentshim token in ")
            .and_then(|rest| rest.split(" (").next())
            .unwrap_or_else(|| panic!("not a token line: {line:?}"));
        let token = std::fs::read_to_string(file).expect("read the token file");
        token.trim().to_owned()
    }

    /// The next line the server prints on stdout, within [`TIMEOUT`].
    pub fn next_line(&self) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(Ok(line)) => line,
            other => panic!("agentshim serve printed no further line: {other:?}"),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits (bounded by `within`) for the process to exit; returns its status and how long
    /// the wait took.
    pub async fn wait_within(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let exited = async || self.child.try_wait().expect("try_wait");
        match Poll::within(within).until(exited).await {
            Some(status) => (status, started.elapsed()),
            None => panic!("agentshim serve did not exit within {within:?}"),
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A server killed (here or by its test) leaves its shim processes running: SIGTERM
        // shuts each one's agent down.
        for pid in shim_processes_in(&self.state_dir) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}

/// The state directory `command` names by `--state-dir` or `XDG_STATE_HOME`, if it does.
fn state_dir_of(command: &Command) -> Option<PathBuf> {
    let args: Vec<_> = command.get_args().collect();
    let named = args
        .windows(2)
        .find(|pair| pair[0] == "--state-dir")
        .map(|pair| PathBuf::from(pair[1]));
    named.or_else(|| {
        command
            .get_envs()
            .find(|(key, _)| *key == "XDG_STATE_HOME")
            .and_then(|(_, value)| value)
            .map(|home| Path::new(home).join("agentshim"))
    })
}

/// The pids of the `agentshim shim` processes running in `state_dir` (found by the spec path
/// on their command line).
pub fn shim_processes_in(state_dir: &Path) -> Vec<i32> {
    let needle = state_dir.as_os_str().as_encoded_bytes();
    procfs::live_processes()
        .into_iter()
        .filter(|process| {
            std::fs::read(format!("/proc/{}/cmdline", process.pid)).is_ok_and(|cmdline| {
                let mut args = cmdline.split(|byte| *byte == 0);
                args.nth(1) == Some(b"shim") && args.any(|arg| arg.starts_with(needle))
            })
        })
        .map(|process| process.pid)
        .collect()
}

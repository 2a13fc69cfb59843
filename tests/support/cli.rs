//! Helpers for the CLI end-to-end tests: a real `agentshim serve` child process (its address
//! read from the `agentshim listening on ADDR` line it prints; with the default auth, so it
//! generates its token into its scratch directory, which is its and its clients'
//! `XDG_RUNTIME_DIR`), and the `agentshim` binary run as a user would (finding that token by
//! itself), with a deadline on every run so a hung command fails the test instead of hanging
//! it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use nix::sys::signal::{Signal, kill};

use super::eventually::{Poll, eventually_blocking};
use super::serve_process::shim_processes_in;
use nix::unistd::Pid;

/// Upper bound for one CLI run or one wait; a loaded 2-core machine stays well inside it.
pub use super::eventually::TIMEOUT;

/// The prompt of the `bash` profile the test servers define.
pub const PROMPT: &str = "cli-test$ ";

pub const BIN: &str = env!("CARGO_BIN_EXE_agentshim");

/// A fresh, empty directory for one test.
pub fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "agentshim-cli-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A running `agentshim serve`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server {
    child: Child,
    /// What clients pass as `--addr`.
    pub addr: String,
    pub dir: PathBuf,
}

impl Server {
    /// Starts a server on `127.0.0.1:0` with a `bash` profile (bash without startup files,
    /// prompt [`PROMPT`]) and `SHELL=/bin/bash`.
    pub fn start(name: &str, envs: &[(&str, &str)], extra_args: &[&str]) -> Self {
        Self::start_on(name, "127.0.0.1:0", envs, extra_args)
    }

    /// Like [`Server::start`], listening on `listen` (`{dir}` is replaced by the test's
    /// scratch directory).
    pub fn start_on(name: &str, listen: &str, envs: &[(&str, &str)], extra_args: &[&str]) -> Self {
        Self::start_with(name, listen, "", envs, extra_args)
    }

    /// Like [`Server::start_on`], with `top_config` (top-level TOML keys such as
    /// `event_log_capacity = 4`) at the start of the config file.
    pub fn start_with(
        name: &str,
        listen: &str,
        top_config: &str,
        envs: &[(&str, &str)],
        extra_args: &[&str],
    ) -> Self {
        let dir = scratch_dir(name);
        let config = dir.join("agentshim.toml");
        std::fs::write(
            &config,
            format!(
                "{top_config}\n\
                 [profiles.bash]\n\
                 command = [\"bash\", \"--norc\", \"--noprofile\", \"-i\"]\n\
                 env = {{ PS1 = \"{PROMPT}\", HISTFILE = \"/dev/null\", LANG = \"C.UTF-8\" }}\n"
            ),
        )
        .expect("write config");
        let listen = listen.replace("{dir}", &dir.display().to_string());
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--listen")
            .arg(&listen)
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(extra_args)
            .env("SHELL", "/bin/bash")
            .env("RUST_LOG", "agentshim=debug")
            .env("XDG_RUNTIME_DIR", &dir)
            .env_remove("AGENTSHIM_TOKEN")
            .env_remove("AGENTSHIM_ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("server.log")).expect("server log"));
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start agentshim serve");
        let stdout = child.stdout.take().expect("server stdout");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = line_tx.send(line);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = line_rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("server printed no `listening` line within {TIMEOUT:?}; log:\n{log}")
        });
        let addr = line
            .strip_prefix("agentshim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"))
            .to_owned();
        Self { child, addr, dir }
    }

    /// The server's log so far, then its shim processes' logs (`shim.log` in each shim's
    /// directory).
    pub fn log(&self) -> String {
        let mut log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let shims = std::fs::read_dir(self.dir.join("state/shims"))
            .into_iter()
            .flatten();
        for shim in shims.flatten() {
            log += &std::fs::read_to_string(shim.path().join("shim.log")).unwrap_or_default();
        }
        log
    }

    /// `agentshim ARGS... --addr ADDR`, with no token in the environment, as the server's
    /// user (with its runtime directory).
    pub fn cli(&self, args: &[&str]) -> Run {
        self.cli_with_env(args, &[])
    }

    /// Like [`Server::cli`], with extra environment variables.
    pub fn cli_with_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (key, value) in envs {
            command.env(key, value);
        }
        run(command)
    }

    /// The command [`Server::cli`] runs, to be run some other way.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = cli_command(args);
        command
            .env("AGENTSHIM_ADDR", &self.addr)
            .env("XDG_RUNTIME_DIR", &self.dir);
        command
    }

    /// Polls `agentshim state ID` until it starts with `state`.
    pub fn wait_for_state(&self, shim_id: &str, state: &str) {
        let last = std::cell::RefCell::new(None);
        eventually_blocking(
            || format!("shim {shim_id} not {state}; last: {:?}", last.borrow()),
            || {
                let run = self.cli(&["state", shim_id]);
                let reached = run.ok() && run.stdout.starts_with(state);
                *last.borrow_mut() = Some(run);
                reached.then_some(())
            },
        );
    }

    /// Sends the server SIGTERM: it starts stopping gracefully.
    pub fn terminate(&self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        let _ = kill(pid, Signal::SIGTERM);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        let exited = Poll::within(TIMEOUT).until_blocking(|| self.child.try_wait().ok().flatten());
        if exited.is_some() {
            let _ = std::fs::remove_dir_all(&self.dir);
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in shim_processes_in(&self.dir.join("state")) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}

/// The `agentshim` binary with `args`, no address or token from the test's environment.
pub fn cli_command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("AGENTSHIM_TOKEN")
        .env_remove("AGENTSHIM_ADDR")
        .env("RUST_LOG", "off")
        .stdin(Stdio::null());
    command
}

/// What one CLI run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status.success()
    }

    /// Panics (showing everything) unless the run succeeded; returns stdout.
    pub fn expect_ok(&self, what: &str) -> &str {
        assert!(self.ok(), "{what} failed: {self:#?}");
        &self.stdout
    }

    /// Panics unless the run failed; returns stderr.
    pub fn expect_err(&self, what: &str) -> &str {
        assert!(!self.ok(), "{what} should have failed: {self:#?}");
        &self.stderr
    }
}

/// Runs `command` to completion, failing the test if it takes longer than [`TIMEOUT`].
pub fn run(mut command: Command) -> Run {
    let (done_tx, done_rx) = mpsc::channel();
    let shown = format!("{command:?}");
    std::thread::spawn(move || {
        let _ = done_tx.send(command.output());
    });
    let output: Output = done_rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("{shown} did not finish within {TIMEOUT:?}"))
        .expect("run agentshim");
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Every stdout line parsed as JSON (panics on a line that is not an object).
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line:?}"));
            assert!(value.is_object(), "not a JSON object: {line:?}");
            value
        })
        .collect()
}

//! A real `agentshim serve` child (the bench profile's binary) on `127.0.0.1:0` without auth,
//! with a config file, a runtime directory and a state directory of its own (`XDG_STATE_HOME`); stopped with
//! SIGTERM on drop (so it stops its agents), SIGKILLed if it has not exited a minute later.
//! Each of its shims runs in an `agentshim shim` process it started: what a fleet costs is
//! the server's and theirs ([`Serve::pids`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentshim::client::{Client, ConnectOptions, SendOptions};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The bench profile: bash without startup files or history, with a fixed prompt.
pub const BASH: &str = "bash";

/// A config with the [`BASH`] profile and room for `max_shims` shims.
pub fn bash_config(max_shims: usize) -> String {
    format!(
        r#"
[profiles.bash]
command = ["bash", "--norc", "--noprofile", "-i"]
env = {{ PS1 = "bench$ ", HISTFILE = "/dev/null", LANG = "C.UTF-8" }}

[limits]
max_shims = {max_shims}
"#
    )
}

/// SendMessage options that wait for the Completion.
pub fn waiting() -> SendOptions {
    SendOptions {
        wait: true,
        ..SendOptions::default()
    }
}

pub struct Serve {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// Starts `agentshim serve --no-auth --listen 127.0.0.1:0 --config FILE` with `config`
    /// (TOML) in FILE, and waits for its address.
    pub fn start(config: &str) -> Self {
        Self::start_program(Path::new(env!("CARGO_BIN_EXE_agentshim")), config)
    }

    /// [`Serve::start`] of another `agentshim` binary (an earlier build, for a baseline); its
    /// state directory is given as `XDG_STATE_HOME`, which builds without `--state-dir`
    /// ignore.
    pub fn start_program(program: &Path, config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("agentshim.toml");
        std::fs::write(&file, config).expect("write config");
        let mut child = Command::new(program)
            .args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--config"])
            .arg(&file)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .env("XDG_RUNTIME_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .env_remove("AGENTSHIM_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn agentshim serve");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = lines.next().expect("a first line").expect("UTF-8");
        let addr = line
            .strip_prefix("agentshim listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        // Reads on, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server and its shim processes, as they are now.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.pid()];
        pids.extend(super::procs::children_named(self.pid(), "agentshim"));
        pids
    }

    /// A client of the server (loopback only).
    pub async fn client(&self) -> Client {
        Client::connect(&self.addr, ConnectOptions::default())
            .await
            .expect("connect to the bench server")
    }

    /// Stops the server (SIGTERM) and waits until it has exited; returns how long that took.
    pub fn stop(&mut self) -> Duration {
        let started = Instant::now();
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            while self.child.try_wait().ok().flatten().is_none() {
                if started.elapsed() > Duration::from_secs(60) {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        started.elapsed()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop();
    }
}

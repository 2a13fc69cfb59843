//! A tmux server of the bench's own (`tmux -L NAME`, no config file), killed on drop (and
//! waited for: a server with a thousand panes takes a while to go, and would load the next
//! measurement).

use std::process::Command;
use std::time::Duration;

/// The shell every bench pane runs: the same bash as the bench shims, with a clean environment.
pub const SHELL: &[&str] = &[
    "env",
    "-i",
    "TERM=xterm-256color",
    "LANG=C.UTF-8",
    "PS1=$ ",
    "HISTFILE=/dev/null",
    "bash",
    "--norc",
    "--noprofile",
    "-i",
];

pub struct Tmux {
    socket: String,
    pid: u32,
}

impl Tmux {
    /// A server on its own socket with one idle session `base` of `rows`×`cols`, keeping
    /// `history` lines per pane.
    pub fn start(name: &str, rows: u16, cols: u16, history: usize) -> Self {
        let mut tmux = Self {
            socket: format!("agentshim-{name}-{}", std::process::id()),
            pid: 0,
        };
        tmux.new_session("base", rows, cols);
        tmux.pid = tmux
            .run(&["display-message", "-p", "#{pid}"])
            .trim()
            .parse()
            .expect("tmux pid");
        tmux.run(&["set-option", "-g", "history-limit", &history.to_string()]);
        tmux
    }

    /// Runs `tmux ARGS` against this server; returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A detached session `name` of `rows`×`cols` running [`SHELL`].
    pub fn new_session(&self, name: &str, rows: u16, cols: u16) {
        let (rows, cols) = (rows.to_string(), cols.to_string());
        let mut args = vec!["new-session", "-d", "-s", name, "-x", &cols, "-y", &rows];
        args.extend(SHELL);
        self.run(&args);
    }

    /// The socket's name (`tmux -L NAME`), for a pane to signal the bench.
    pub fn socket(&self) -> &str {
        &self.socket
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Types `line` and Enter into the pane of `target`.
    pub fn type_line(&self, target: &str, line: &str) {
        self.run(&["send-keys", "-t", target, line, "Enter"]);
    }

    /// The visible screen of `target`.
    pub fn capture(&self, target: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", target])
    }

    /// Polls the screen of `target` until a line of it is `line`.
    pub fn wait_for_line(&self, target: &str, line: &str) {
        while !self.capture(target).lines().any(|shown| shown == line) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
        let gone = || {
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).map_or(true, |stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while !gone() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

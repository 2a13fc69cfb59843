//! A real CLI in a tmux pane, for live tests that look at the interactive (TUI) mode the way a
//! person would: start it at a fixed size, type, press keys, read the screen.
//!
//! Each [`TmuxPane`] runs its own tmux server on a private socket (`tmux -L`), with no config
//! file, and the pane command is `env -i <the agent's env> <program> <args>`, so the CLI sees
//! exactly [`LiveAgent::env`]. Dropping the pane kills that tmux server and then the CLI's
//! process group (SIGTERM, then SIGKILL): Gemini CLI survives the hang-up alone.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::eventually::Poll;
use super::live_agents::{self, AgentCli, LiveAgent};
use super::procs::group_members;

static NEXT_SOCKET: AtomicUsize = AtomicUsize::new(0);

/// Whether tmux is on PATH.
pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Like [`live_agents::live_gate`], and tmux must be on PATH too.
pub fn gate(test: &str, cli: AgentCli) -> bool {
    if !live_agents::live_gate(test, &[cli]) {
        return false;
    }
    if tmux_available() {
        return true;
    }
    assert!(
        !live_agents::live_required(),
        "AGENTSHIM_LIVE=1 but tmux is not on PATH ({test})"
    );
    // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr().lock(),
        format!("\n*** SKIPPED live test {test}: tmux is not on PATH ***\n\n").as_bytes(),
    );
    false
}

/// A CLI running in a detached tmux session of its own.
pub struct TmuxPane {
    socket: String,
    /// The pane's process: the CLI (via `env`, which execs it), leader of its own session and
    /// process group.
    pane_pid: Option<i32>,
}

impl TmuxPane {
    /// Starts `agent` with `args` in a `cols`×`rows` pane (kept on screen after it exits).
    pub fn start(agent: &LiveAgent, args: &[String], cols: u16, rows: u16) -> Self {
        let program = agent.program.to_string_lossy();
        Self::start_program(&agent.cwd, &agent.env_pairs(), &program, args, cols, rows)
    }

    /// Starts `program` with `args` in `cwd` in a `cols`×`rows` pane (kept on screen after it
    /// exits), with exactly the environment `env` (`KEY=VALUE` each).
    pub fn start_program(
        cwd: &std::path::Path,
        env: &[String],
        program: &str,
        args: &[String],
        cols: u16,
        rows: u16,
    ) -> Self {
        let socket = format!(
            "agentshim-live-{}-{}",
            std::process::id(),
            NEXT_SOCKET.fetch_add(1, Ordering::Relaxed)
        );
        let mut pane = Self {
            socket,
            pane_pid: None,
        };
        let mut cmd = pane.tmux();
        cmd.args([
            "new-session",
            "-d",
            "-s",
            "agent",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ])
        .arg("-c")
        .arg(cwd)
        .arg("env")
        .arg("-i")
        .args(env)
        .arg(program)
        .args(args)
        .args([";", "set-option", "-t", "agent", "remain-on-exit", "on"]);
        let out = cmd.output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = pane
            .tmux()
            .args(["display-message", "-p", "-t", "agent", "#{pane_pid}"])
            .output();
        pane.pane_pid = out
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
        pane
    }

    /// Resizes the pane's window to `cols`×`rows`.
    pub fn resize(&self, cols: u16, rows: u16) {
        let status = self
            .tmux()
            .args([
                "resize-window",
                "-t",
                "agent",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .status()
            .expect("tmux resize-window");
        assert!(status.success());
    }

    /// The CLI's pid (also its process group id).
    pub fn pane_pid(&self) -> Option<i32> {
        self.pane_pid
    }

    /// Kills the tmux server, which hangs up the pane (SIGHUP to the CLI's process group). Some
    /// CLIs survive that; [`TmuxPane::terminate`] (or dropping the pane) finishes the job.
    pub fn hang_up(&self) {
        let _ = self.tmux().arg("kill-server").output();
    }

    /// Hangs up, then SIGTERM to the CLI's process group, then SIGKILL after `grace` if any
    /// member is left. Returns the signals that were needed.
    pub fn terminate(&mut self, grace: Duration) -> Vec<&'static str> {
        self.hang_up();
        let Some(pgid) = self.pane_pid.take() else {
            return Vec::new();
        };
        let mut used = Vec::new();
        for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGKILL, "SIGKILL")] {
            if !group_alive(pgid) {
                break;
            }
            // SAFETY: kill(2) on a process group we started; no memory is involved.
            unsafe { libc::kill(-pgid, signal) };
            used.push(name);
            Poll::within(grace).until_blocking(|| (!group_alive(pgid)).then_some(()));
        }
        used
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]);
        cmd
    }

    /// The visible screen as text.
    pub fn capture(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "agent"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "agent", "-l", "--", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Presses tmux-named keys (`Enter`, `Escape`, `C-c`, …).
    pub fn press(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "agent"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Polls the screen (every 100 ms) until `pred` holds; the screen, or the last one seen.
    pub async fn wait_screen(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        Poll::within(timeout)
            .every(Duration::from_millis(100))
            .until(async || Some(self.capture()).filter(|screen| pred(screen)))
            .await
            .ok_or_else(|| self.capture())
    }

    /// Waits (up to `limit`) until the screen has not changed for `quiet`: the CLI finished
    /// drawing. The screen then, or the last one seen.
    pub async fn wait_quiet(&self, quiet: Duration, limit: Duration) -> Result<String, String> {
        let (mut last, mut since) = (self.capture(), Instant::now());
        let settled = async || {
            let now = self.capture();
            if now != last {
                (last, since) = (now, Instant::now());
                return None;
            }
            (since.elapsed() >= quiet).then_some(now)
        };
        Poll::within(limit)
            .every(Duration::from_millis(50))
            .until(settled)
            .await
            .ok_or_else(|| self.capture())
    }
}

impl Drop for TmuxPane {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(2));
    }
}

/// Whether a live (not zombie) process is still in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    !group_members(pgid).is_empty()
}

/// Starts `agent`'s TUI in a 220×50 pane and waits until `ready` is on screen; the pane and
/// how long that took, or the last screen.
pub async fn start_ready(
    agent: &LiveAgent,
    ready: &str,
    timeout: Duration,
) -> Result<(TmuxPane, Duration), String> {
    let started = Instant::now();
    let pane = TmuxPane::start(agent, &[], 220, 50);
    let screen = pane.wait_screen(timeout, |s| s.contains(ready)).await?;
    let _ = screen;
    Ok((pane, started.elapsed()))
}

/// Types `text`, waits 0.5 s (Codex treats an Enter right after typed text as part of a paste
/// burst unless `disable_paste_burst` is set), and presses Enter.
pub async fn submit(pane: &TmuxPane, text: &str) {
    pane.type_text(text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    pane.press(&["Enter"]);
}

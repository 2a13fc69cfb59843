//! What the `live_gemini*` tests need besides `live_shim::LiveShim`: Gemini CLI's ready times
//! in tmux for comparison, a screen watcher that notes when the screen last changed (to
//! measure how long after the agent's last output a Completion comes), and the message of a
//! main turn as the fake server received it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentshim::shim::ShimHandle;

use super::fake_model::{FakeModelServer, RequestRecord};
use super::live_agents::{self, AgentCli, LIVE_TIMEOUT};
use super::live_tmux;

pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether a live Gemini test may run here (see `live_agents::live_gate`).
pub fn gate(test: &str) -> bool {
    live_agents::live_gate(test, &[AgentCli::Gemini])
}

/// Seconds with two decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

/// When Gemini CLI started in tmux (220×50) showed its input box, and when it showed the
/// banner too (its configuration loaded: what agentshim calls Ready). The screen is polled
/// every 100 ms, so both are up to 0.1 s late.
pub async fn tmux_ready_times(server: &FakeModelServer) -> (Duration, Duration) {
    let agent = live_agents::gemini(&server.gemini_base_url());
    let input_box = AgentCli::Gemini.ready_marker();
    let started = Instant::now();
    let mut pane = live_tmux::TmuxPane::start(&agent, &[], 220, 50);
    let shown = |what: &'static str| {
        let pane = &pane;
        async move {
            pane.wait_screen(LIVE_TIMEOUT, |s| s.contains(what) && s.contains(input_box))
                .await
                .unwrap_or_else(|screen| panic!("gemini in tmux never showed `{what}`:\n{screen}"));
            started.elapsed()
        }
    };
    let input_shown = shown(input_box).await;
    let banner_shown = shown("Gemini CLI v").await;
    pane.terminate(Duration::from_secs(3));
    (input_shown, banner_shown)
}

/// Polls the screen every 10 ms and remembers when it changed, until dropped.
pub struct ScreenWatch {
    changes: Arc<Mutex<Vec<Instant>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScreenWatch {
    pub fn start(shim: &ShimHandle) -> Self {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let shim = shim.clone();
        let noted = Arc::clone(&changes);
        let task = tokio::spawn(async move {
            let mut last = String::new();
            while let Ok(capture) = shim.capture(None).await {
                if capture.content != last {
                    noted.lock().unwrap().push(Instant::now());
                    last = capture.content;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Self { changes, task }
    }

    /// The last screen change at or before `at`.
    pub fn last_change_before(&self, at: Instant) -> Option<Instant> {
        let changes = self.changes.lock().unwrap();
        changes.iter().rev().find(|t| **t <= at).copied()
    }
}

impl Drop for ScreenWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `ps` lines (pid, parent, group, session, state, command) for `pids`.
pub fn describe(pids: &[u32]) -> String {
    if pids.is_empty() {
        return String::new();
    }
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    std::process::Command::new("ps")
        .args(["-o", "pid,ppid,pgid,sid,stat,args", "-p", &list.join(",")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("ps failed: {e}"))
}

/// The message of a Gemini main turn: the last text part of its last user content (the first
/// turn of a session also carries a `<session_context>` part before it).
pub fn user_message(turn: &RequestRecord) -> Option<String> {
    let content = turn.body["contents"]
        .as_array()?
        .iter()
        .rev()
        .find(|c| c["role"] == "user")?;
    let parts = content["parts"].as_array()?;
    parts
        .iter()
        .rev()
        .find_map(|p| p["text"].as_str())
        .map(str::to_owned)
}

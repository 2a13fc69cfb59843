//! The fake agent (`tests/bin/fake_agent.py`, test-only) under agentshim: [`FakeAgent::new`]
//! writes its JSON script into a temporary directory, [`FakeAgent::spec`] runs it as one agent
//! kind in its own working directory ([`FakeAgent::workdir`], where approved commands run), and
//! [`FakeAgent::messages`] reads back every message it received (its log), to prove a message
//! was submitted exactly once and arrived whole.
//!
//! The script format is documented at the top of `tests/bin/fake_agent.py`.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;

use agentshim::shim::{AgentKind, ShimSpec};
use serde_json::{Value, json};

/// The fake agent program.
pub const FAKE_AGENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bin/fake_agent.py");

/// A scripted fake agent of one kind.
pub struct FakeAgent {
    kind: AgentKind,
    script: PathBuf,
    log: PathBuf,
    /// Holds the script and the log; removed on drop.
    pub dir: tempfile::TempDir,
}

impl FakeAgent {
    /// A fake agent of `kind` (`claude`, `codex`, `gemini`, `kiro`) following `script`.
    pub fn new(kind: &str, script: Value) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("agentshim-fake-{kind}-"))
            .tempdir()
            .expect("temp dir");
        let mut script = script;
        script["kind"] = json!(kind);
        let path = dir.path().join("script.json");
        std::fs::write(&path, script.to_string()).expect("write script");
        std::fs::create_dir(dir.path().join("work")).expect("create the working directory");
        Self {
            kind: kind.parse().expect("a known agent kind"),
            log: dir.path().join("messages.jsonl"),
            script: path,
            dir,
        }
    }

    /// The agent's working directory (`work`, empty at first).
    pub fn workdir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// The script file (for a server profile that runs this fake agent).
    pub fn script(&self) -> &std::path::Path {
        &self.script
    }

    /// The shim spec that runs this fake agent (`python3 -B`, so no bytecode is written next to
    /// it) in [`FakeAgent::workdir`], driven by the driver of its kind.
    pub fn spec(&self, id: &str) -> ShimSpec {
        ShimSpec::new(
            id,
            "python3",
            [
                "-B".into(),
                FAKE_AGENT.into(),
                "--script".into(),
                self.script.clone().into_os_string(),
                "--log".into(),
                self.log.clone().into_os_string(),
            ],
        )
        .agent(self.kind)
        .cwd(self.workdir())
        .env("LANG", "C.UTF-8")
        .env_remove("LINES")
        .env_remove("COLUMNS")
    }

    /// Every message the fake agent received, in order.
    pub fn messages(&self) -> Vec<String> {
        let Ok(log) = std::fs::read_to_string(&self.log) else {
            return Vec::new();
        };
        log.lines()
            .map(|line| {
                let entry: Value = serde_json::from_str(line).expect("log line is JSON");
                entry["message"].as_str().expect("message text").to_owned()
            })
            .collect()
    }
}

/// A script with one reply per message, each answered after `delay` seconds.
pub fn replies(texts: &[&str], delay: f64) -> Value {
    let replies: Vec<Value> = texts
        .iter()
        .map(|text| json!({"text": text, "delay": delay}))
        .collect();
    json!({ "replies": replies })
}

//! The fake agent (`tests/bin/fake_agent.py`, test-only) under agentshim: [`FakeAgent::new`]
//! writes its JSON script into a temporary directory, [`FakeAgent::spec`] runs it as one agent
//! kind in its own working directory ([`FakeAgent::workdir`], where approved commands run), and
//! [`FakeAgent::messages`] reads back every message it received (its log), to prove a message
//! was submitted exactly once and arrived whole.
//!
//! The script format is documented at the top of `tests/bin/fake_agent.py`.

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

    /// The command line that runs this fake agent (`python3 -B`, so no bytecode is written
    /// next to it).
    pub fn argv(&self) -> Vec<String> {
        let path = |p: &PathBuf| p.to_str().expect("UTF-8 temp path").to_owned();
        ["python3", "-B", FAKE_AGENT, "--script"]
            .map(str::to_owned)
            .into_iter()
            .chain([path(&self.script), "--log".to_owned(), path(&self.log)])
            .collect()
    }

    /// The shim spec that runs this fake agent in [`FakeAgent::workdir`], driven by the driver
    /// of its kind.
    pub fn spec(&self, id: &str) -> ShimSpec {
        let argv = self.argv();
        ShimSpec::new(id, &argv[0], argv[1..].iter().map(String::as_str))
            .agent(self.kind)
            .cwd(self.workdir())
            .env("LANG", "C.UTF-8")
            .env_remove("LINES")
            .env_remove("COLUMNS")
    }

    /// A server profile `[profiles.NAME]` (TOML) that runs this fake agent the same way.
    pub fn profile_toml(&self, name: &str) -> String {
        let quoted = |text: &str| serde_json::to_string(text).expect("a JSON string");
        let command: Vec<String> = self.argv().iter().map(|arg| quoted(arg)).collect();
        format!(
            "[profiles.{name}]\nagent = \"{}\"\ncommand = [{}]\ncwd = {}\n\
             env = {{ LANG = \"C.UTF-8\" }}\n",
            self.kind,
            command.join(", "),
            quoted(self.workdir().to_str().expect("UTF-8 temp path")),
        )
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

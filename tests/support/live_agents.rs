//! Helpers for live tests with the real agent CLIs (Claude Code 2.1.197, Codex 0.169.0, Gemini
//! CLI 0.61.0) against the fake model server, following `shared/agents/REAL_AGENTS.md`.
//!
//! - [`claude`], [`codex`], [`gemini`] each make a fresh temporary HOME (with a `work/`
//!   directory as the cwd), write the CLI's config files into it and return a [`LiveAgent`]:
//!   program, the complete environment (nothing inherited but `PATH`), HOME and cwd. The config
//!   contents are also available on their own ([`claude_json`], [`codex_config_toml`],
//!   [`gemini_settings`]) for drivers that build their own command.
//! - [`live_gate`] decides whether a live test may run: only inside a private network
//!   namespace whose only interface up is loopback, with the CLIs found. Otherwise the test is
//!   skipped loudly, or fails when `AGENTSHIM_LIVE=1` (set by `scripts/live-agents.sh`).
//!
//! CLIs are looked up in `AGENTSHIM_LIVE_BIN`, then on `PATH`, then in the cache that
//! `scripts/install-live-agents.sh` fills (`$HOME/.cache/agentshim-live/npm/node_modules/.bin`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

/// The longest a live test waits for one thing a real CLI does (startup, a turn, an exit) on a
/// loaded 2-core machine; the tests of everything else use `eventually::TIMEOUT`.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(90);

pub const CLAUDE_VERSION: &str = "2.1.197";
pub const CODEX_VERSION: &str = "0.169.0";
pub const GEMINI_VERSION: &str = "0.61.0";

/// The fake Anthropic key; Claude approves keys by their last 20 characters.
pub const FAKE_ANTHROPIC_KEY: &str = "sk-ant-api03-fakefakefake-0123456789ABCDEFGHIJ";
pub const FAKE_OPENAI_KEY: &str = "sk-fake";
pub const FAKE_GEMINI_KEY: &str = "fake-gemini-key";
/// Codex's model and the fake provider id in its config.
pub const CODEX_MODEL: &str = "gpt-5.5";

/// Which agent CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentCli {
    Claude,
    Codex,
    Gemini,
}

impl AgentCli {
    /// Text on the idle TUI screen once the CLI takes input (footer or input placeholder).
    pub fn ready_marker(self) -> &'static str {
        match self {
            AgentCli::Claude | AgentCli::Codex => "? for shortcuts",
            AgentCli::Gemini => "Type your message",
        }
    }

    pub fn program_name(self) -> &'static str {
        match self {
            AgentCli::Claude => "claude",
            AgentCli::Codex => "codex",
            AgentCli::Gemini => "gemini",
        }
    }
}

/// How Claude Code authenticates: an API key (header `Opus 4.8 … API Usage Billing`) or a
/// subscription OAuth token (`Sonnet 5 · Claude API`; needed for the usage-limit screens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaudeAuth {
    ApiKey,
    OAuth,
}

/// A real CLI set up to run against the fake model server.
pub struct LiveAgent {
    pub cli: AgentCli,
    pub program: PathBuf,
    /// The whole environment of the child (use with `env_clear`).
    pub env: Vec<(String, String)>,
    /// The temporary HOME (removed on drop).
    pub home: tempfile::TempDir,
    /// The working directory, `HOME/work`, canonical.
    pub cwd: PathBuf,
}

impl LiveAgent {
    pub fn home_path(&self) -> &Path {
        self.home.path()
    }

    /// Arguments for a one-shot, non-interactive run answering `prompt`.
    pub fn print_args(&self, prompt: &str) -> Vec<String> {
        let args: Vec<&str> = match self.cli {
            AgentCli::Claude => vec!["-p", prompt],
            AgentCli::Codex => vec!["exec", "--skip-git-repo-check", prompt],
            AgentCli::Gemini => vec!["-p", prompt],
        };
        args.into_iter().map(String::from).collect()
    }

    /// A command running the CLI with `args`, with exactly [`LiveAgent::env`], in the cwd,
    /// killed when dropped, stdin closed.
    pub fn command(&self, args: &[String]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// The environment as `KEY=value` strings (for a shim spec or `env -i`).
    pub fn env_pairs(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// A temporary HOME with `work/` in it; returns it and the canonical cwd.
fn make_home(cli: AgentCli) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::Builder::new()
        .prefix(&format!("agentshim-live-{}-", cli.program_name()))
        .tempdir()
        .expect("temp HOME");
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).expect("create work dir");
    let cwd = work.canonicalize().expect("canonical cwd");
    (home, cwd)
}

/// The environment every CLI gets: PATH from this process (the CLIs' bin dir and node), HOME,
/// a terminal type, a UTF-8 locale, and `TMPDIR=HOME/tmp` (Codex refuses to create its helper
/// binaries under the temporary directory, which HOME would otherwise be in; and everything a
/// CLI leaves behind stays inside HOME).
fn base_env(home: &Path) -> Vec<(String, String)> {
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp).expect("create TMPDIR");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let path = match live_bin_dir() {
        Some(bin) => format!("{}:{path}", bin.display()),
        None => path,
    };
    vec![
        ("PATH".into(), path),
        ("HOME".into(), home.display().to_string()),
        ("TERM".into(), "xterm-256color".into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("TMPDIR".into(), tmp.display().to_string()),
    ]
}

fn write(path: &Path, contents: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create config dir");
    }
    std::fs::write(path, contents).expect("write config file");
}

/// Whether the live shims use the agents' turn signals (hooks, OSC records; the default) or
/// judge by the screen alone: `AGENTSHIM_TURN_SIGNALS=off scripts/live-agents.sh` runs the
/// whole live suite screen-only.
pub fn turn_signals() -> bool {
    std::env::var("AGENTSHIM_TURN_SIGNALS").as_deref() != Ok("off")
}

/// `~/.claude.json`: onboarding done, the key approved (by its last 20 characters, API-key mode
/// only) and the cwd trusted.
pub fn claude_json(cwd: &Path, auth: ClaudeAuth) -> Value {
    let mut config = json!({
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": CLAUDE_VERSION,
        "theme": "dark",
        "autoUpdates": false,
        "projects": {cwd.display().to_string(): {
            "hasTrustDialogAccepted": true,
            "hasCompletedProjectOnboarding": true,
            "projectOnboardingSeenCount": 1,
            "allowedTools": [],
        }},
    });
    if auth == ClaudeAuth::ApiKey {
        let tail = &FAKE_ANTHROPIC_KEY[FAKE_ANTHROPIC_KEY.len() - 20..];
        config["customApiKeyResponses"] = json!({"approved": [tail], "rejected": []});
    }
    config
}

/// Claude Code against `base_url` (the fake server's root URL).
pub fn claude(base_url: &str, auth: ClaudeAuth) -> LiveAgent {
    let cli = AgentCli::Claude;
    let (home, cwd) = make_home(cli);
    let config = serde_json::to_string_pretty(&claude_json(&cwd, auth)).unwrap();
    write(&home.path().join(".claude.json"), &config);
    let mut env = base_env(home.path());
    let credential = match auth {
        ClaudeAuth::ApiKey => ("ANTHROPIC_API_KEY", FAKE_ANTHROPIC_KEY),
        ClaudeAuth::OAuth => ("CLAUDE_CODE_OAUTH_TOKEN", "fake-oauth-token"),
    };
    for (k, v) in [
        ("ANTHROPIC_BASE_URL", base_url),
        credential,
        ("DISABLE_AUTOUPDATER", "1"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_TELEMETRY", "1"),
        ("DISABLE_ERROR_REPORTING", "1"),
        ("CLAUDE_CODE_MAX_RETRIES", "0"),
    ] {
        env.push((k.into(), v.into()));
    }
    LiveAgent {
        cli,
        program: program_path(cli),
        env,
        home,
        cwd,
    }
}

/// `$CODEX_HOME/config.toml` for the fake provider at `base_url` (`http://127.0.0.1:PORT/v1`).
pub fn codex_config_toml(base_url: &str, cwd: &Path) -> String {
    format!(
        r#"model = "{CODEX_MODEL}"
model_provider = "fake"
check_for_update_on_startup = false
disable_paste_burst = true

[model_providers.fake]
name = "Fake local"
base_url = "{base_url}"
env_key = "FAKE_OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
daemon_auto_start = false
plugins = false
remote_plugin = false
apps = false
in_app_updates = false

[analytics]
enabled = false

[projects."{cwd}"]
trust_level = "trusted"

[tui]
screen_reader_detection_done = true

[tui.model_availability_nux]
"gpt-6.1-sol" = 1

[notice.model_migrations]
"gpt-5.5" = "gpt-6-sol"
"#,
        cwd = cwd.display()
    )
}

/// Codex against `base_url` (`http://127.0.0.1:PORT/v1`).
pub fn codex(base_url: &str) -> LiveAgent {
    let cli = AgentCli::Codex;
    let (home, cwd) = make_home(cli);
    let codex_home = home.path().join(".codex");
    write(
        &codex_home.join("config.toml"),
        &codex_config_toml(base_url, &cwd),
    );
    let mut env = base_env(home.path());
    env.push(("CODEX_HOME".into(), codex_home.display().to_string()));
    env.push(("FAKE_OPENAI_API_KEY".into(), FAKE_OPENAI_KEY.into()));
    LiveAgent {
        cli,
        program: program_path(cli),
        env,
        home,
        cwd,
    }
}

/// `~/.gemini/settings.json`: no updates, no statistics or telemetry, API-key auth, no folder
/// trust dialog.
pub fn gemini_settings() -> Value {
    json!({
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
        "ui": {"theme": "Default"},
    })
}

/// Gemini CLI against `base_url` (the fake server's root URL).
pub fn gemini(base_url: &str) -> LiveAgent {
    let cli = AgentCli::Gemini;
    let (home, cwd) = make_home(cli);
    let settings = serde_json::to_string_pretty(&gemini_settings()).unwrap();
    write(&home.path().join(".gemini/settings.json"), &settings);
    let mut env = base_env(home.path());
    for (k, v) in [
        ("GOOGLE_GEMINI_BASE_URL", base_url),
        ("GEMINI_API_KEY", FAKE_GEMINI_KEY),
        ("COLORTERM", "truecolor"),
    ] {
        env.push((k.into(), v.into()));
    }
    LiveAgent {
        cli,
        program: program_path(cli),
        env,
        home,
        cwd,
    }
}

/// The install cache's bin dir, when `AGENTSHIM_LIVE_BIN` names one or the default exists.
pub fn live_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AGENTSHIM_LIVE_BIN") {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")?;
    let dir = PathBuf::from(home).join(".cache/agentshim-live/npm/node_modules/.bin");
    dir.is_dir().then_some(dir)
}

/// Where `cli` is: the live bin dir first, then `PATH`.
pub fn find_program(cli: AgentCli) -> Option<PathBuf> {
    let name = cli.program_name();
    let mut dirs: Vec<PathBuf> = live_bin_dir().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn program_path(cli: AgentCli) -> PathBuf {
    find_program(cli).unwrap_or_else(|| PathBuf::from(cli.program_name()))
}

/// `Ok` when this process is in a network namespace whose only interface up is loopback (and
/// loopback is up), with no route in the main table; otherwise why not.
///
/// Interfaces and flags come from `getifaddrs` and routes from `/proc/net/route`, which both
/// follow the caller's network namespace (`/sys/class/net` does not: it shows the namespace of
/// whoever mounted sysfs, so after a bare `unshare --net` it still lists the host's interfaces).
pub fn loopback_only_netns() -> Result<(), String> {
    let mut lo_up = false;
    for (name, flags) in interfaces()? {
        let up = flags & libc::IFF_UP as u32 != 0;
        if name == "lo" {
            lo_up |= up;
        } else if up {
            return Err(format!(
                "network interface `{name}` is up (not a private loopback-only network namespace)"
            ));
        }
    }
    if !lo_up {
        return Err(
            "loopback is down or missing (run `ip link set lo up` in the namespace)".into(),
        );
    }
    let routes = std::fs::read_to_string("/proc/net/route")
        .map_err(|e| format!("cannot read /proc/net/route: {e}"))?;
    if routes.lines().skip(1).any(|l| !l.trim().is_empty()) {
        return Err("the main routing table has routes (not a loopback-only namespace)".into());
    }
    Ok(())
}

/// Every interface entry of this network namespace: name and `IFF_*` flags.
fn interfaces() -> Result<Vec<(String, u32)>, String> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we walk read-only and free exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(format!(
            "getifaddrs failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut out = Vec::new();
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list returned above, not yet freed.
        let entry = unsafe { &*cursor };
        if !entry.ifa_name.is_null() {
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) }
                .to_string_lossy()
                .into_owned();
            out.push((name, entry.ifa_flags));
        }
        cursor = entry.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Whether live tests must run (`AGENTSHIM_LIVE=1`) rather than skip.
pub fn live_required() -> bool {
    std::env::var("AGENTSHIM_LIVE").is_ok_and(|v| v == "1")
}

/// May a live test with `clis` run here? `true`: go ahead. `false`: skipped, with a loud line
/// on stderr saying why. Panics instead of skipping when `AGENTSHIM_LIVE=1`.
pub fn live_gate(test: &str, clis: &[AgentCli]) -> bool {
    let mut problems = Vec::new();
    if let Err(why) = loopback_only_netns() {
        problems.push(why);
    }
    for cli in clis {
        if find_program(*cli).is_none() {
            problems.push(format!(
                "`{}` not found (scripts/install-live-agents.sh installs it)",
                cli.program_name()
            ));
        }
    }
    if problems.is_empty() {
        return true;
    }
    let why = problems.join("; ");
    if live_required() {
        panic!(
            "AGENTSHIM_LIVE=1 but {test} cannot run: {why}. Run it through scripts/live-agents.sh (needs root and unshare)"
        );
    }
    // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED live test {test}: {why}. Run scripts/live-agents.sh (root, unshare) to run it; \
         AGENTSHIM_LIVE=1 makes this a failure ***\n"
    );
    false
}

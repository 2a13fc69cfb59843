//! The agents: everything that differs between agent kinds, one module per agent, each
//! declaring an [`Agent`] (its name, its driver, its built-in server profile, the context
//! windows of the models it runs and where its session logs are) registered by one line in
//! [`REGISTRY`].
//!
//! A driver is pure (DESIGN rule 4): it looks at a screen snapshot, the current turn's lines
//! and timing and returns a [`Verdict`]; it cuts a turn's answer out of the lines the agent
//! printed; it names the bytes that submit a message or ask the agent to exit. It never does
//! I/O, so it is unit-tested from strings and recorded bytes. Adding an agent is one new module
//! plus a variant of [`AgentKind`] and its line in [`REGISTRY`].

pub(crate) mod claude;
pub(crate) mod codex;
pub(crate) mod gemini;
mod generic;
mod kiro;
mod limits;
pub mod menu;

use std::time::Duration;

use super::marks::{ProgramStatus, status_command};
use super::process::ProcessSpec;
use super::screen::ScreenSnapshot;
use super::usage::LocateLogs;
use crate::protocol::ShimState;

pub use generic::GenericDriver;
pub use menu::InputPrompt;

/// Whether `process` runs the program called `name`: itself, or through `env`
/// (`env -i KEY=VALUE … name ARGS`). A driver prepares only the CLI it knows, never a wrapper
/// script whose arguments mean something else.
pub(crate) fn runs_program(process: &ProcessSpec, name: &str) -> bool {
    let called = |path: &std::ffi::OsStr| {
        std::path::Path::new(path).file_name() == Some(std::ffi::OsStr::new(name))
    };
    if called(&process.program) {
        return true;
    }
    let through_env =
        std::path::Path::new(&process.program).file_name() == Some(std::ffi::OsStr::new("env"));
    through_env
        && process
            .args
            .iter()
            .map(|arg| arg.to_string_lossy())
            .find(|arg| !arg.starts_with('-') && !arg.contains('='))
            .is_some_and(|command| called(std::ffi::OsStr::new(command.as_ref())))
}

/// Lifecycle hooks in the settings shape Claude Code and Gemini CLI share, `{"hooks": {EVENT:
/// [{"hooks": [{"type": "command", "command": …}]}]}}`: for each `(EVENT, status)` of `hooks` a
/// command that declares `status` on the agent's terminal ([`status_command`], tagged
/// `source`), with `fields` added to every hook (its name, its timeout).
pub(crate) fn status_hook_settings(
    hooks: &[(&str, ProgramStatus)],
    source: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    let hooks: serde_json::Map<String, serde_json::Value> = hooks
        .iter()
        .map(|(event, status)| {
            let mut hook = fields.clone();
            hook.insert("type".into(), "command".into());
            hook.insert("command".into(), status_command(*status, source).into());
            let definition = serde_json::json!([{ "hooks": [hook] }]);
            ((*event).to_owned(), definition)
        })
        .collect();
    serde_json::json!({ "hooks": hooks })
}

/// What a driver concludes about the agent from its screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// At its prompt, ready for input.
    Idle,
    /// Busy (or not yet showing a prompt).
    Working,
    /// The current turn ended because the agent's context is full.
    ContextExhausted { message: String },
    /// The agent waits for an answer to a question or menu (a permission prompt, a startup
    /// trust dialog, a usage-limit menu). It is reported, never answered with a default.
    AwaitingInput(InputPrompt),
}

impl Verdict {
    /// A short name for explanations: `idle`, `working`, `context_exhausted`,
    /// `awaiting_input`.
    pub fn label(&self) -> String {
        match self {
            Self::Idle => "idle".to_owned(),
            Self::Working => "working".to_owned(),
            Self::ContextExhausted { .. } => "context_exhausted".to_owned(),
            Self::AwaitingInput(question) => format!("awaiting_input ({})", question.prompt),
        }
    }
}

#[cfg(test)]
impl Verdict {
    /// The question of a verdict that must be one (driver tests).
    pub(crate) fn expect_question(self) -> InputPrompt {
        match self {
            Verdict::AwaitingInput(question) => question,
            other => panic!("not a question: {other:?}"),
        }
    }
}

/// A limit the agent reported in a turn's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitNotice {
    /// A usage quota is used up (the message may name when it resets).
    Quota { message: String },
    /// A transient rate limit ended the turn.
    RateLimited { message: String },
    /// The agent compacted its conversation (or announced context pressure).
    ContextPressure { message: String },
}

/// What a driver sees when classifying.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub screen: &'a ScreenSnapshot,
    /// The current turn, if one is in progress (its lines end at the bottom of the screen and
    /// may start late when the turn is very long).
    pub turn: Option<TurnView<'a>>,
    /// Time since the agent last wrote anything.
    pub quiet_for: Duration,
    /// What the program said about itself (empty when it says nothing or signals are off).
    pub marks: ProgramMarks,
}

/// One turn as a driver sees it.
#[derive(Debug, Clone, Copy)]
pub struct TurnView<'a> {
    /// Logical lines from where the message was typed (or the agent was last idle) through
    /// the bottom of the screen, wrapped rows joined.
    pub lines: &'a [String],
    /// How many of `lines` are the message as it was typed in place (what a shell echoes).
    /// TUIs redraw the message elsewhere; their drivers find it by its text.
    pub echo_lines: usize,
    /// The message as typed (control characters removed); `None` when the agent began the
    /// turn by itself.
    pub message: Option<&'a str>,
    /// The cursor line's text before the cursor when typing began (a shell's prompt).
    pub prompt: &'a str,
    /// What the program printed between its own marks for this turn's command (OSC 133 `C`
    /// to the next prompt's `A`), when it printed them: its output, exactly.
    pub marked_output: Option<&'a str>,
}

/// What the program said about itself through semantic prompt marks and status records
/// ([`crate::shim::marks`]), as of this classification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgramMarks {
    /// It printed its prompt and waits at its input (OSC 133 `B` since the last `C`).
    pub at_input: bool,
    /// A command it started has not finished (`C` without its `D`).
    pub command_running: bool,
    /// The state it last declared (OSC 7501).
    pub status: Option<ProgramStatus>,
}

/// One agent kind's conventions. Every method is pure.
pub trait AgentDriver: Send + Sync + std::fmt::Debug {
    /// Classifies the screen once output has settled.
    fn classify(&self, observation: &Observation<'_>) -> Verdict;

    /// The agent's answer for a finished turn: what it printed after the echo of the message
    /// and before its new prompt, without UI chrome and trailing blank lines.
    fn extract_response(&self, turn: &TurnView<'_>) -> String;

    /// What the agent had answered when its turn was cut off (it died, was stopped, ran out
    /// of context): the turn's lines are not finished by a prompt. Default: what
    /// [`Self::extract_response`] makes of them, for agents whose answers are found by their
    /// markers rather than by the prompt that ends them.
    fn partial_response(&self, turn: &TurnView<'_>) -> String {
        self.extract_response(turn)
    }

    /// Whether the agent took a submitted message: compares the screen when the submit key was
    /// pressed with the settled screen after it. Default: anything changed.
    fn accepted(&self, before: &ScreenSnapshot, after: &ScreenSnapshot) -> bool {
        before != after
    }

    /// How long output must pause before the screen is classified (agents redraw in bursts).
    fn settle(&self) -> Duration {
        Duration::from_millis(120)
    }

    /// How long a first prompt must stay quiet before the agent counts as ready: a CLI that
    /// draws its input box and only then a startup dialog over it would otherwise look ready
    /// in between. Default: the settle window is enough.
    fn ready_quiet(&self) -> Duration {
        Duration::ZERO
    }

    /// Whether a message may be typed and submitted in one go, without waiting for its echo:
    /// only for a program whose marks confirm that it read the line (`integrated`: it printed
    /// semantic prompt marks). Default: never.
    fn submit_with_text(&self, integrated: bool) -> bool {
        let _ = integrated;
        false
    }

    /// Adjusts the agent's process before it starts so the agent reports its own state (a
    /// shell gets semantic prompt marks), when the shim uses such signals. Default: nothing.
    fn prepare_process(&self, process: &mut ProcessSpec) {
        let _ = process;
    }

    /// Adjusts the agent's process to start on the CLI's earlier session `session_id` (its
    /// conversation) instead of a new one; `false` when this agent cannot. Default: cannot.
    fn resume_process(&self, process: &mut ProcessSpec, session_id: &str) -> bool {
        let _ = (process, session_id);
        false
    }

    /// Pause between typing a message and the separate submit key.
    fn submit_pause(&self) -> Duration {
        Duration::ZERO
    }

    /// Bytes that submit typed input.
    fn submit_key(&self) -> &'static [u8] {
        b"\r"
    }

    /// The screen row where a turn that starts now begins (at most the cursor's row): the
    /// first row of its lines. Default: the cursor's row, where a shell echoes the message.
    /// A TUI that redraws a live region (input box, status) under its transcript prints the
    /// echo at the top of that region instead, above the cursor.
    fn turn_start_row(&self, screen: &ScreenSnapshot) -> u16 {
        screen.cursor_row
    }

    /// The bytes that pick `option` (0-based) of `prompt`. Default: the option's number, which
    /// selects and confirms in the numbered menus of the supported CLIs.
    fn answer_keys(&self, prompt: &InputPrompt, option: usize) -> Vec<u8> {
        let _ = prompt;
        (option + 1).to_string().into_bytes()
    }

    /// Whether the agent repainted its screen so that a finished turn's lines (from where its
    /// message was typed) no longer hold the turn: then the turn is read from the top of the
    /// screen instead. Default: never.
    fn turn_repainted(&self, turn: &TurnView<'_>) -> bool {
        let _ = turn;
        false
    }

    /// Limits the agent reported in a turn's lines (quota, rate limit, compaction), in screen
    /// order. Judged on the current turn only, so older scrollback never counts again.
    fn limit_notices(&self, turn: &TurnView<'_>) -> Vec<LimitNotice> {
        let _ = turn;
        Vec::new()
    }

    /// Keystrokes that ask the agent in `state` to exit by itself (the first step of a
    /// graceful shutdown), sent one after another with a short pause, since an interrupt key
    /// makes the terminal discard input typed right after it.
    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]];
}

/// The agent kinds agentshim has drivers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AgentKind {
    /// Shells and REPLs: idle when a prompt sits at the cursor and output has settled.
    #[default]
    Generic,
    /// Claude Code: idle at an empty input box with no spinner and no `esc to interrupt`.
    Claude,
    /// Codex CLI: idle once `Worked for …` or an `■` error line follows the last `› ` echo.
    Codex,
    /// Gemini CLI: busy while its spinner line shows `esc to cancel`.
    Gemini,
    /// Kiro CLI: idle at an empty `kiro> ` prompt with no `Thinking...`/`esc to interrupt`.
    Kiro,
}

/// Everything agentshim knows about one agent kind, declared in that agent's module.
pub struct Agent {
    pub kind: AgentKind,
    /// Its name in profiles, specs and events.
    pub name: &'static str,
    pub driver: &'static dyn AgentDriver,
    /// The command of its built-in server profile (named like the agent), run from `PATH`;
    /// `None` for the generic kind, whose built-in profile is `shell`.
    pub builtin_command: Option<&'static [&'static str]>,
    /// Context windows of the models it runs, by model name prefix (the first match wins).
    pub context_windows: &'static [(&'static str, u64)],
    /// The window of any other model.
    pub default_context_window: u64,
    /// Where its session logs are, for CLIs that keep one.
    pub(crate) session_logs: Option<LocateLogs>,
}

/// The window when an agent's module knows no better.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 200_000;
/// A one-million-token window.
pub const ONE_MILLION: u64 = 1_000_000;

/// The registry: one line per agent kind.
static REGISTRY: &[&Agent] = &[
    &generic::AGENT,
    &claude::AGENT,
    &codex::AGENT,
    &gemini::AGENT,
    &kiro::AGENT,
];

/// An agent name that has no driver.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown agent kind `{0}` (known: {known})", known = AgentKind::names().join(", "))]
pub struct UnknownAgentKind(pub String);

impl AgentKind {
    /// Every kind, in registry order.
    pub fn all() -> impl Iterator<Item = AgentKind> {
        REGISTRY.iter().map(|agent| agent.kind)
    }

    /// Every kind's name, as accepted by [`std::str::FromStr`].
    pub fn names() -> Vec<&'static str> {
        REGISTRY.iter().map(|agent| agent.name).collect()
    }

    /// What the agent's module declares about this kind.
    pub fn descriptor(self) -> &'static Agent {
        REGISTRY
            .iter()
            .find(|agent| agent.kind == self)
            .expect("every agent kind has a registry line")
    }

    /// The driver for this kind.
    pub fn driver(self) -> &'static dyn AgentDriver {
        self.descriptor().driver
    }

    pub fn name(self) -> &'static str {
        self.descriptor().name
    }
}

impl std::str::FromStr for AgentKind {
    type Err = UnknownAgentKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        REGISTRY
            .iter()
            .find(|agent| agent.name.eq_ignore_ascii_case(name))
            .map(|agent| agent.kind)
            .ok_or_else(|| UnknownAgentKind(name.to_owned()))
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind is written as its name (`"claude"`), as in profiles.
impl serde::Serialize for AgentKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for AgentKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_hooks_run_a_status_command_per_event_with_the_fields_given() {
        let hooks = [
            ("Start", ProgramStatus::Working),
            ("End", ProgramStatus::Done),
        ];
        let bare = status_hook_settings(&hooks, "test-hook", &serde_json::Map::new());
        let command = |status| serde_json::Value::from(status_command(status, "test-hook"));
        assert_eq!(
            bare,
            serde_json::json!({"hooks": {
                "Start": [{"hooks": [{"type": "command", "command": command(ProgramStatus::Working)}]}],
                "End": [{"hooks": [{"type": "command", "command": command(ProgramStatus::Done)}]}],
            }})
        );
        let fields = serde_json::json!({"name": "agentshim", "timeout": 5000});
        let named = status_hook_settings(&hooks, "test-hook", fields.as_object().unwrap());
        assert_eq!(
            named["hooks"]["End"][0]["hooks"][0],
            serde_json::json!({
                "type": "command",
                "command": command(ProgramStatus::Done),
                "name": "agentshim",
                "timeout": 5000,
            })
        );
    }

    #[test]
    fn a_driver_prepares_only_the_program_it_knows() {
        let spec = |program: &str, args: &[&str]| ProcessSpec {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: None,
            env_set: Vec::new(),
            env_remove: Vec::new(),
            rows: 24,
            cols: 80,
            files: Vec::new(),
        };
        assert!(runs_program(&spec("claude", &[]), "claude"));
        assert!(runs_program(
            &spec("/opt/bin/claude", &["--resume"]),
            "claude"
        ));
        assert!(runs_program(
            &spec("/usr/bin/env", &["-i", "HOME=/h", "/x/claude"]),
            "claude"
        ));
        assert!(!runs_program(
            &spec("python3", &["fake_agent.py"]),
            "claude"
        ));
        assert!(!runs_program(
            &spec("env", &["-i", "X=1", "my-wrapper"]),
            "claude"
        ));
    }

    #[test]
    fn every_kind_is_registered_once_with_its_own_declaration() {
        // Naming every variant: a new kind does not compile until it is listed here too.
        let every = |kind: AgentKind| match kind {
            AgentKind::Generic
            | AgentKind::Claude
            | AgentKind::Codex
            | AgentKind::Gemini
            | AgentKind::Kiro => kind,
        };
        let variants = [
            AgentKind::Generic,
            AgentKind::Claude,
            AgentKind::Codex,
            AgentKind::Gemini,
            AgentKind::Kiro,
        ]
        .map(every);
        assert_eq!(AgentKind::all().collect::<Vec<_>>(), variants);
        for kind in variants {
            let agent = kind.descriptor();
            assert_eq!(agent.kind, kind);
            let builtin = agent.builtin_command.is_some();
            assert_eq!(builtin, kind != AgentKind::Generic, "{}", agent.name);
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in AgentKind::all() {
            assert_eq!(kind.name().parse::<AgentKind>().unwrap(), kind);
            assert_eq!(
                kind.to_string()
                    .to_uppercase()
                    .parse::<AgentKind>()
                    .unwrap(),
                kind
            );
        }
        let error = "nope".parse::<AgentKind>().unwrap_err().to_string();
        assert!(error.contains("generic"), "{error}");
    }
}

//! The Gemini CLI driver (`@google/gemini-cli` 0.61, an Ink TUI on the main screen).
//!
//! Gemini's screen is a transcript with a live region under it: a spinner line while it works
//! (` ⠦ Thinking... (esc to cancel, 2s)`, also while the answer streams), hints
//! (`? for shortcuts`, ` Shift+Tab to accept edits`), the input box (` > ` between a `▄▄▄`
//! and a `▀▀▀` rule; its placeholder stays visible during turns) and a status bar. A submitted
//! message is echoed into the transcript as the same kind of box, at the top of the live
//! region, and the answer follows it as `✦ text` with continuation rows indented 2 (Gemini
//! wraps long lines itself at the terminal width). Nothing marks the end of a turn: it is over
//! when the spinner is gone and our echo is on screen. A context-window error
//! (`✕ [API Error: … exceeds the maximum number of tokens allowed …]`) that ends the turn
//! means the context is exhausted. The folder-trust and authentication dialogs of a first
//! start, and tool approvals, are reported as blocking dialogs. Gemini draws its input box
//! about 0.3 s before its configuration is loaded (what is typed then is queued), so it is
//! ready only once the transcript (the banner) shows above the live region.
//!
//! The turn starts at the top of the live region (`turn_start_row`), so its lines hold the echo
//! and the whole answer; the answer is what follows the echo up to the live region, without
//! the reply glyph, with Gemini's own line wrapping undone.
//!
//! The submit key waits [`SUBMIT_PAUSE`] after the echo: for 40 ms after a paste (a React
//! state cleared by a timer, so later on a loaded machine) Gemini takes Enter as a newline in
//! the pasted text (`recentUnsafePasteTime` in its input prompt; seen live under load).
//!
//! Turn signals: Gemini's lifecycle hooks ([`HOOKS`]) print OSC 7501 records on its terminal.
//! Gemini reads hooks only from settings files, so the shim gives it one of its own as its
//! system defaults (`GEMINI_CLI_SYSTEM_DEFAULTS_PATH`, the lowest layer: the user's and the
//! project's settings still win, and their hooks run too, since Gemini concatenates each
//! event's hooks over the layers). Gemini reads a system settings file only when root owns it
//! and every directory above it, none writable by group or others, so only a shim running as
//! root can give it one, and only while the machine has no system-defaults file of its own
//! (ours would hide it); otherwise the screen alone decides. Hooks run only in a trusted
//! folder. While a hook runs, and for 3 s after it started, Gemini's status line says
//! `Executing Hook: <name>` (with the spinner during a turn): live chrome.

mod dialogs;
pub(crate) mod session_log;

use super::{
    Agent, AgentDriver, AgentKind, LimitNotice, Observation, TurnView, Verdict, limits,
    runs_program, status_hook_settings,
};
use crate::protocol::ShimState;
use crate::shim::agent_files::AgentFile;
use crate::shim::marks::ProgramStatus;
use crate::shim::process::ProcessSpec;
use crate::shim::screen::ScreenSnapshot;
use dialogs::{USAGE_LIMIT, dialog_on};

/// Gemini CLI 0.61's hooks that tell the shim what it does: `BeforeAgent` runs once a submitted
/// prompt is taken, before the model is asked (not again for the tool calls of its turn);
/// `AfterAgent` when the turn is over, before Gemini draws its idle screen (after an API error
/// too); `Notification` when a tool waits for approval.
const HOOKS: &[(&str, ProgramStatus)] = &[
    ("BeforeAgent", ProgramStatus::Working),
    ("AfterAgent", ProgramStatus::Done),
    ("Notification", ProgramStatus::Blocked),
];

/// The hooks' name: what Gemini's status line shows while one runs (`Executing Hook:
/// agentshim`) and what `/hooks disable` takes.
const HOOK_NAME: &str = "agentshim";
/// How long Gemini lets a hook run, in milliseconds (it prints one record).
const HOOK_TIMEOUT_MS: u64 = 5000;

/// The variable that names Gemini's system-defaults settings file.
const SYSTEM_DEFAULTS_VARIABLE: &str = "GEMINI_CLI_SYSTEM_DEFAULTS_PATH";
/// The system-defaults file Gemini reads on Linux when the variable is not set (and
/// `GEMINI_CLI_SYSTEM_SETTINGS_PATH` does not move it beside another system settings file):
/// the shim's own would hide it, so while it exists the shim gives none.
const SYSTEM_DEFAULTS_FILE: &str = "/etc/gemini-cli/system-defaults.json";

/// The system-defaults settings the shim gives Gemini: [`HOOKS`], nothing else.
fn hook_settings() -> String {
    let fields = serde_json::json!({"name": HOOK_NAME, "timeout": HOOK_TIMEOUT_MS});
    let fields = fields.as_object().expect("an object");
    serde_json::to_string_pretty(&status_hook_settings(HOOKS, "gemini-hook", fields))
        .expect("JSON values serialize")
}

/// Hints Gemini shows in its live region above the input box.
const LIVE_HINTS: &[&str] = &[
    "? for shortcuts",
    "Shift+Tab to accept edits",
    "Press Ctrl+C again to exit.",
    "Press Ctrl+D again to exit.",
    "Press Esc again to clear prompt.",
    "Press Ctrl+O to expand pasted text",
];

/// The title of Gemini's list of prompts typed while it was busy or starting.
const QUEUE_TITLE: &str = "Queued (press ↑ to edit):";

/// A turn with more lines than this and no echo in them has scrolled its echo out of view.
const ECHO_OUT_OF_VIEW: usize = 400;
/// How long the submit key waits after the echo of a pasted message settled.
const SUBMIT_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// What marks a context-window error.
const CONTEXT_ERROR: &str = "exceeds the maximum number of tokens allowed";

/// The reply glyph and the indentation of everything that belongs to a reply.
const REPLY_GLYPH: &str = "✦ ";
const REPLY_INDENT: &str = "  ";

#[derive(Debug, Clone, Copy, Default)]
pub struct GeminiDriver;

/// Gemini CLI's limit for Gemini models (and its default): 0.61.0's `tokenLimit`.
const GEMINI_WINDOW: u64 = 1_048_576;

/// Gemini CLI: its driver, `gemini` from PATH, 0.61.0's token limits (256k for Gemma 4,
/// 1,048,576 for everything else), its chats under `~/.gemini/tmp/`.
pub static AGENT: Agent = Agent {
    kind: AgentKind::Gemini,
    name: "gemini",
    driver: &GeminiDriver,
    builtin_command: Some(&["gemini"]),
    context_windows: &[("gemma-4", 256_000), ("gemini-", GEMINI_WINDOW)],
    default_context_window: GEMINI_WINDOW,
    session_logs: Some(session_log::locate),
};

/// A full-width rule drawn with `ch` (the input box uses `▄` above and `▀` below).
fn is_rule(line: &str, ch: char) -> bool {
    let line = line.trim();
    line.chars().count() >= 3 && line.chars().all(|c| c == ch)
}

/// The working indicator: a braille spinner frame and `(esc to cancel, …)`.
fn is_spinner(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with(|c: char| ('\u{2800}'..='\u{28ff}').contains(&c))
        && line.contains("(esc to cancel")
}

/// The status line while hooks run, and for 3 s after each started: `Executing Hook: name`
/// (`Executing Hooks: a, b` for several), after the spinner during a turn.
fn is_hook_status(line: &str) -> bool {
    let text = line
        .trim_start()
        .trim_start_matches(|c: char| ('\u{2800}'..='\u{28ff}').contains(&c))
        .trim_start();
    text.starts_with("Executing Hook: ") || text.starts_with("Executing Hooks: ")
}

/// A line of the live region above the input box (blank, rules, hints, the spinner, the hook
/// status).
fn is_live_chrome(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty()
        || is_rule(trimmed, '─')
        || is_spinner(line)
        || is_hook_status(line)
        || LIVE_HINTS.iter().any(|hint| trimmed.starts_with(hint))
}

/// Where the parts of a Gemini screen (or turn) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// First line of the live region: everything from here down is chrome.
    live_top: usize,
    /// The input box's top rule.
    input_top: usize,
    /// Prompts wait in Gemini's own queue (`Queued (press ↑ to edit):` above the hints).
    queued: bool,
}

impl Layout {
    /// Finds the input box (the last `▄` rule with a ` > ` line under it) and the top of the
    /// live region above it.
    fn of(lines: &[String]) -> Option<Self> {
        let input_top = (0..lines.len()).rev().find(|&i| {
            is_rule(&lines[i], '▄') && lines.get(i + 1).is_some_and(|l| l.starts_with(" > "))
        })?;
        let chrome_above = |mut top: usize| {
            while top > 0 && is_live_chrome(&lines[top - 1]) {
                top -= 1;
            }
            top
        };
        let mut live_top = chrome_above(input_top);
        // The queue: its title, then the queued prompts indented 4.
        let mut title = live_top;
        while title > 0 && lines[title - 1].starts_with("    ") {
            title -= 1;
        }
        let queued = title > 0 && lines[title - 1].trim() == QUEUE_TITLE;
        if queued {
            live_top = chrome_above(title - 1);
        }
        Some(Self {
            live_top,
            input_top,
            queued,
        })
    }

    /// Busy: the spinner runs, or queued prompts are about to be sent.
    fn working(&self, lines: &[String]) -> bool {
        self.queued
            || lines[self.live_top..self.input_top]
                .iter()
                .any(|l| is_spinner(l))
    }
}

/// The text of the box whose bottom rule is at `bottom` (its ` > ` line and the continuation
/// lines, back to its `▄` top rule), without whitespace, for comparing with a message however
/// it was wrapped.
fn box_text_at(lines: &[String], bottom: usize) -> Option<String> {
    let top = (0..bottom)
        .rev()
        .find(|&i| !is_box_continuation(&lines[i]))?;
    let first = lines.get(top + 1)?;
    if !is_rule(&lines[top], '▄') || !first.starts_with(" > ") {
        return None;
    }
    Some(squash(&lines[top + 1..bottom].join("\n")[3..]))
}

/// A row inside an echo or input box: ` > text`, an indented continuation, or blank.
fn is_box_continuation(line: &str) -> bool {
    line.starts_with(" > ") || line.starts_with("   ") || line.is_empty()
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The bottom rule of the last box in `lines` whose text is `text`.
fn last_echo_of(lines: &[String], text: &str) -> Option<usize> {
    let text = squash(text);
    (0..lines.len())
        .rev()
        .filter(|&i| is_rule(&lines[i], '▀'))
        .find(|&i| box_text_at(lines, i).is_some_and(|t| t == text))
}

/// Lines of the transcript in `lines[..end]` (a turn's lines, which begin where its echo is
/// drawn) after the echo of `message`: the last box whose text is the message, or else the
/// last box (Gemini may show a message differently); all of them when there is no box but
/// more than [`ECHO_OUT_OF_VIEW`] lines (the answer pushed the echo out of the classifier's
/// window) or no message. `None` while the echo of a message is not there yet.
fn after_echo<'a>(lines: &'a [String], end: usize, message: Option<&str>) -> Option<&'a [String]> {
    let lines = &lines[..end];
    let last_box = || {
        (0..lines.len())
            .rev()
            .find(|&i| is_rule(&lines[i], '▀') && box_text_at(lines, i).is_some())
    };
    match message
        .and_then(|m| last_echo_of(lines, m))
        .or_else(last_box)
    {
        Some(bottom) => Some(&lines[bottom + 1..]),
        None => (message.is_none() || lines.len() > ECHO_OUT_OF_VIEW).then_some(lines),
    }
}

/// The turn's transcript after the echo, when the turn is on screen with its live region.
fn turn_body<'a>(turn: &TurnView<'a>) -> Option<(&'a [String], Layout)> {
    let layout = Layout::of(turn.lines)?;
    let body = after_echo(turn.lines, layout.live_top, turn.message)?;
    Some((body, layout))
}

/// The context-window error that ends `body`, if it does (only `ℹ` notes may follow it).
fn context_error(body: &[String]) -> Option<String> {
    let last = body
        .iter()
        .rposition(|l| !l.trim().is_empty() && !l.starts_with(['ℹ', ' ']))?;
    let error = &body[last];
    let rest = body[last + 1..]
        .iter()
        .take_while(|l| l.starts_with(' ') && !l.trim().is_empty());
    let message: String = std::iter::once(error.as_str())
        .chain(rest.map(|l| l.trim_start()))
        .collect::<Vec<_>>()
        .join(" ");
    let ends_turn = body[last + 1..]
        .iter()
        .all(|l| l.trim().is_empty() || l.starts_with(['ℹ', ' ']));
    (error.starts_with('✕') && message.contains(CONTEXT_ERROR) && ends_turn).then_some(message)
}

/// Terminal width, from the full-width rules of the input box.
fn width(lines: &[String], layout: Layout) -> usize {
    lines[layout.input_top].chars().count()
}

/// Undoes Gemini's wrapping of reply text: a row continues on the next one when the next
/// row's first word would not have fitted after it.
fn unwrap_rows(rows: Vec<String>, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut previous_width = 0;
    for row in rows {
        let first_word = row
            .split_whitespace()
            .next()
            .map_or(0, |w| w.chars().count());
        let row_width = REPLY_INDENT.len() + row.chars().count();
        match out.last_mut() {
            Some(last) if first_word > 0 && previous_width + 1 + first_word > width => {
                last.push(' ');
                last.push_str(row.trim_start());
            }
            _ => out.push(row),
        }
        previous_width = row_width;
    }
    out
}

/// Rows without the indentation they all share (Gemini pads lists and code blocks).
fn dedent(rows: Vec<String>) -> Vec<String> {
    let indent = |row: &String| row.len() - row.trim_start_matches(' ').len();
    let common = rows
        .iter()
        .filter(|r| !r.trim().is_empty())
        .map(indent)
        .min()
        .unwrap_or(0);
    rows.into_iter()
        .map(|row| row.get(common..).unwrap_or("").to_owned())
        .collect()
}

/// The answer in `body`: reply text without the glyph and its indentation, wrapping undone;
/// other transcript lines (tool activity, notes, errors) as shown.
fn answer(body: &[String], width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut reply: Vec<String> = Vec::new();
    let flush = |reply: &mut Vec<String>, lines: &mut Vec<String>| {
        lines.extend(dedent(unwrap_rows(std::mem::take(reply), width)));
    };
    for line in body {
        if let Some(text) = line
            .strip_prefix(REPLY_GLYPH)
            .or_else(|| line.strip_prefix(REPLY_INDENT))
        {
            if line.starts_with(REPLY_GLYPH) {
                flush(&mut reply, &mut lines);
            }
            reply.push(text.to_owned());
        } else {
            flush(&mut reply, &mut lines);
            lines.extend(unboxed(line));
        }
    }
    flush(&mut reply, &mut lines);
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].join("\n"),
        _ => String::new(),
    }
}

/// A transcript line outside replies without box drawing: a tool box (`╭─` … `│ ✓  Shell
/// ls │` … `╰─`) gives only its text rows.
fn unboxed(line: &str) -> Option<String> {
    let trimmed = line.trim();
    if trimmed.starts_with(['╭', '╰']) {
        return None;
    }
    match trimmed.strip_prefix('│') {
        Some(row) => {
            let row = row.trim_end_matches('│').trim();
            (!row.is_empty()).then(|| row.to_owned())
        }
        None => Some(line.to_owned()),
    }
}

impl AgentDriver for GeminiDriver {
    fn submit_pause(&self) -> std::time::Duration {
        SUBMIT_PAUSE
    }

    /// Gemini's hooks report turn edges at once (see [`HOOKS`]): the shim gives Gemini its own
    /// system-defaults settings file with them (not when the user's environment names one, or
    /// a system-defaults file of the machine's exists: then the screen alone decides); only
    /// when the process runs `gemini` itself.
    fn prepare_process(&self, process: &mut ProcessSpec) {
        if !runs_program(process, "gemini") {
            return;
        }
        process.files.push(AgentFile {
            variable: SYSTEM_DEFAULTS_VARIABLE.to_owned(),
            name: "gemini-system-defaults.json".to_owned(),
            contents: hook_settings(),
            // Gemini skips a system settings file unless root owns it and its directories.
            root_owned: true,
            shadows: Some(SYSTEM_DEFAULTS_FILE.into()),
        });
    }

    /// `gemini --resume <session id>`.
    fn resume_process(&self, process: &mut ProcessSpec, session_id: &str) -> bool {
        if !runs_program(process, "gemini") {
            return false;
        }
        process.args.push("--resume".into());
        process.args.push(session_id.into());
        true
    }

    fn classify(&self, observation: &Observation<'_>) -> Verdict {
        let screen = &observation.screen.lines;
        if let Some(prompt) = dialog_on(screen) {
            return Verdict::AwaitingInput(prompt);
        }
        let Some(layout) = Layout::of(screen) else {
            return Verdict::Working;
        };
        // Until its configuration is loaded Gemini draws only the live region (typed prompts
        // are queued: `Initializing... Prompts will be queued.`); the transcript, starting
        // with the banner, shows once it is.
        let transcript_shown = screen[..layout.live_top]
            .iter()
            .any(|l| !l.trim().is_empty());
        if layout.working(screen) || !transcript_shown {
            return Verdict::Working;
        }
        let Some(turn) = &observation.turn else {
            return Verdict::Idle;
        };
        match turn_body(turn) {
            None => Verdict::Working,
            Some((body, _)) => match context_error(body) {
                Some(message) => Verdict::ContextExhausted { message },
                None => Verdict::Idle,
            },
        }
    }

    /// Error lines (`✕ [API Error: You exceeded your current quota …]`) and compression notes
    /// (`ℹ Chat history compressed …`) in the turn, and the usage-limit modal (`Usage limit
    /// reached for gemini-3.8-flash.`, with `Access resets at 8:10 AM UTC.` when the API named
    /// a delay): the whole box, so its reset time comes along.
    fn limit_notices(&self, turn: &TurnView<'_>) -> Vec<LimitNotice> {
        let mut found = limits::notices(turn.lines, |line| {
            let trimmed = line.trim_start();
            if let Some(error) = trimmed.strip_prefix('✕') {
                return Some(error);
            }
            trimmed
                .strip_prefix('ℹ')
                .filter(|note| note.contains("compressed"))
        });
        let modal = dialog_on(turn.lines).filter(|modal| modal.prompt.contains(USAGE_LIMIT));
        found.extend(
            modal.and_then(|modal| limits::classify_limit(&modal.prompt.replace('\n', " "))),
        );
        found
    }

    fn extract_response(&self, turn: &TurnView<'_>) -> String {
        match turn_body(turn) {
            Some((body, layout)) => answer(body, width(turn.lines, layout)),
            None => String::new(),
        }
    }

    /// Taken once the spinner runs, a question Gemini asks replaces the input box (a tool
    /// approval), or once the input box no longer holds the typed text and
    /// the transcript above the live region changed (the echo arrived). Gemini clears the input
    /// box a moment before it draws the echo, and shows a long paste in it as a placeholder
    /// (`[Pasted Text: 7 lines]`), so neither a cleared box nor the typed text alone will do.
    ///
    /// No pause is needed before the submit key: Gemini only takes an Enter for a newline when
    /// it comes within 30 ms of the previous key, and the actor presses it after the echo settled.
    fn accepted(&self, before: &ScreenSnapshot, after: &ScreenSnapshot) -> bool {
        if dialog_on(&after.lines).is_some() && dialog_on(&before.lines).is_none() {
            return true;
        }
        let (Some(was), Some(now)) = (Layout::of(&before.lines), Layout::of(&after.lines)) else {
            return false;
        };
        if now.working(&after.lines) {
            return true;
        }
        input_text(&before.lines, was) != input_text(&after.lines, now)
            && before.lines[..was.live_top] != after.lines[..now.live_top]
    }

    fn turn_start_row(&self, screen: &ScreenSnapshot) -> u16 {
        Layout::of(&screen.lines)
            .and_then(|layout| u16::try_from(layout.live_top).ok())
            .unwrap_or(screen.cursor_row)
    }

    fn exit_request(&self, state: ShimState) -> &'static [&'static [u8]] {
        match state {
            // Ctrl+C, then Ctrl+C again to exit (it prints `/quit` and its session summary).
            ShimState::Idle => &[b"\x03", b"\x03"],
            // The first Ctrl+C cancels the request (seen: it then asks for one more to exit);
            // a third clears a prompt that a cancel put back into the input box.
            _ => &[b"\x03", b"\x03", b"\x03"],
        }
    }
}

/// The text in the input box.
fn input_text(lines: &[String], layout: Layout) -> Option<String> {
    let bottom = (layout.input_top + 1..lines.len()).find(|&i| is_rule(&lines[i], '▀'))?;
    let rows = &lines[layout.input_top + 1..bottom];
    let text = rows.join("\n");
    Some(text.get(3..)?.to_owned())
}

#[cfg(test)]
mod tests;

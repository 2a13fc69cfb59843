//! Replays an asciicast v2 recording (made with `agentshim record`) through the product: the
//! production [`ShimCore`] with the driver of the agent kind, on a virtual clock that follows
//! the recording. The recorded output (`"o"`) is fed at its time; a recorded message (typed
//! text in `"i"`) is sent to the core as a message, and the recording waits for the core:
//! the agent's echo comes once the core typed, and its reaction to the submit key once the
//! core pressed it (the rest of the recording shifts by however long the core took). Terminal
//! answers and other keys in the recording are the core's own business and are skipped. What
//! comes out is the core's events, for `tests/replay_fixtures.rs`.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use agentshim::protocol::Event;
use agentshim::shim::core::{Effect, ShimCore};
use agentshim::shim::inject::sanitize_body;
use agentshim::shim::{AgentKind, OutgoingMessage, ShimSpec};

/// One recorded event: seconds since the start, `o`/`i`/`r`/`m`, text.
#[derive(Debug, Clone)]
pub struct CastEvent {
    pub time: f64,
    pub code: String,
    pub data: String,
}

/// A recording: terminal size and events in time order.
#[derive(Debug, Clone)]
pub struct Cast {
    pub rows: u16,
    pub cols: u16,
    pub events: Vec<CastEvent>,
}

/// Reads an asciicast v2 file; panics naming the file and line on anything malformed.
pub fn load(path: &Path) -> Cast {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: bad header: {e}", path.display()));
    assert_eq!(header["version"], 2, "{}: not asciicast v2", path.display());
    let size = |key: &str| header[key].as_u64().and_then(|v| u16::try_from(v).ok());
    let events = lines
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let parsed: (f64, String, String) = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), index + 2));
            CastEvent {
                time: parsed.0,
                code: parsed.1,
                data: parsed.2,
            }
        })
        .collect();
    Cast {
        rows: size("height").expect("header height"),
        cols: size("width").expect("header width"),
        events,
    }
}

/// The text typed by an input event: escape sequences (terminal-query answers, keys) removed,
/// bracketed-paste markers dropped, control characters but newline and tab dropped.
pub fn typed_text(data: &str) -> String {
    let mut text = String::new();
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            if c == '\n' || c == '\t' || !c.is_control() {
                text.push(c);
            }
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte.
            Some('[') => while chars.next_if(|c| !('@'..='~').contains(c)).is_some() {},
            // DCS, OSC, SOS, PM, APC: a string up to BEL or ESC \.
            Some('P' | ']' | 'X' | '^' | '_') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
                continue;
            }
            _ => continue,
        }
        chars.next();
    }
    text
}

/// How long the recording waits for the core to type or submit before giving up.
const CORE_PATIENCE: Duration = Duration::from_secs(15);

/// What the replay saw: the core's events, rendered one per line (see [`render`]).
pub type Replay = Vec<String>;

/// An event as a fixture's expectations list it: its name and what identifies it. Stats
/// (figures of the machine that replays) are left out.
fn render(event: &Event) -> Option<String> {
    Some(match event {
        Event::SessionStats { .. } => return None,
        Event::StateChanged { from, to, .. } => format!("StateChanged {from} -> {to}"),
        Event::MessageDelivered { id } => format!("MessageDelivered {id}"),
        Event::MessageQueued { id, position } => format!("MessageQueued {id} at {position}"),
        Event::Completion {
            message_id,
            response,
            ..
        } => format!(
            "Completion {}: {response}",
            message_id.as_deref().unwrap_or("-")
        ),
        Event::TurnInterrupted {
            message_id, reason, ..
        } => format!(
            "TurnInterrupted {}: {reason}",
            message_id.as_deref().unwrap_or("-")
        ),
        Event::DeliveryFailed { id, reason } => format!("DeliveryFailed {id}: {reason}"),
        Event::CommandExited {
            message_id,
            exit_code,
        } => format!(
            "CommandExited {}: {exit_code}",
            message_id.as_deref().unwrap_or("-")
        ),
        Event::ContextExhausted { message, .. } => format!("ContextExhausted: {message}"),
        Event::InputRequested { prompt, options } => {
            format!("InputRequested: {prompt} [{}]", options.join(" | "))
        }
        Event::Warning { message, .. } => format!("Warning: {message}"),
        Event::ContextApproaching { message, .. } => format!("ContextApproaching: {message}"),
        Event::QuotaBlocked { message, .. } => format!("QuotaBlocked: {message}"),
        other => other.name().to_owned(),
    })
}

/// The answers of the replay's Completions, in order.
pub fn responses(replay: &Replay) -> Vec<String> {
    replay
        .iter()
        .filter_map(|line| line.strip_prefix("Completion "))
        .map(|rest| {
            rest.split_once(": ")
                .map_or("", |(_, response)| response)
                .to_owned()
        })
        .collect()
}

/// The core on a virtual clock: `start` plus the recording's time plus `shift`.
struct Replayer {
    core: ShimCore,
    start: Instant,
    /// How much later than recorded the recording now runs (the core took its time).
    shift: Duration,
    now: Instant,
    /// What the core typed and not yet looked at.
    typed: String,
    messages: usize,
    seen: Replay,
}

impl Replayer {
    fn at(&self, recorded: f64) -> Instant {
        self.start + Duration::from_secs_f64(recorded) + self.shift
    }

    fn drain(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Emit(events) => self.seen.extend(events.iter().filter_map(render)),
                Effect::ReadUsage => self.core.usage_read(self.now, None),
                Effect::ResizePty { .. } | Effect::Signal(_) | Effect::Finished { .. } => {}
            }
        }
        self.typed
            .push_str(&String::from_utf8_lossy(self.core.outbox()));
        let count = self.core.outbox().len();
        self.core.wrote(count);
    }

    /// Runs the core's deadlines up to `until`.
    fn advance_to(&mut self, until: Instant) {
        loop {
            self.drain();
            match self.core.next_deadline() {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.core.tick(self.now);
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
        self.core.tick(self.now);
        self.drain();
    }

    /// Lets virtual time pass (shifting the rest of the recording) until the core typed
    /// `wanted`; consumes what it typed up to there.
    fn wait_for_core(&mut self, wanted: &str, what: &str) {
        let give_up = self.now + CORE_PATIENCE;
        loop {
            if let Some(at) = self.typed.find(wanted) {
                self.typed.drain(..at + wanted.len());
                return;
            }
            let next = self
                .core
                .next_deadline()
                .filter(|at| *at <= give_up)
                .unwrap_or_else(|| panic!("the core never {what}; seen: {:#?}", self.seen));
            let next = next.max(self.now);
            self.shift += next - self.now;
            self.advance_to(next);
        }
    }

    fn input(&mut self, data: &str, submit: &str) {
        if data == submit {
            self.wait_for_core(submit, "pressed the submit key");
            return;
        }
        let text = typed_text(data);
        if text.trim().is_empty() {
            return;
        }
        self.messages += 1;
        let message = OutgoingMessage {
            id: format!("m{}", self.messages),
            from: "replay".into(),
            body: text.clone(),
        };
        self.core
            .send(self.now, message)
            .unwrap_or_else(|e| panic!("message {text:?} refused: {e}"));
        self.drain();
        self.wait_for_core(&sanitize_body(&text).text, "typed the message");
    }
}

/// Replays `cast` through a core with the driver of `kind`, with or without its turn signals
/// (the program's own marks); returns its events.
pub fn replay(cast: &Cast, kind: AgentKind, turn_signals: bool) -> Replay {
    let spec = ShimSpec::new("replay", "agent", [] as [&str; 0])
        .agent(kind)
        .size(cast.rows, cast.cols)
        .turn_signals(turn_signals);
    let start = Instant::now();
    let mut replayer = Replayer {
        core: ShimCore::new(&spec, start, SystemTime::now(), false),
        start,
        shift: Duration::ZERO,
        now: start,
        typed: String::new(),
        messages: 0,
        seen: Vec::new(),
    };
    let submit = std::str::from_utf8(kind.driver().submit_key()).unwrap_or("\r");
    for event in &cast.events {
        let at = replayer.at(event.time);
        replayer.advance_to(at);
        match event.code.as_str() {
            "o" => {
                replayer.core.output(at, event.data.as_bytes());
                replayer.drain();
            }
            "i" => replayer.input(&event.data, submit),
            "r" => {
                if let Some((cols, rows)) = event.data.split_once('x') {
                    let size = (rows.parse().unwrap(), cols.parse().unwrap());
                    replayer.core.resize(size.0, size.1).expect("recorded size");
                }
            }
            _ => {}
        }
    }
    let end = replayer.now + Duration::from_secs(5);
    replayer.advance_to(end);
    replayer.seen
}

//! Replays an asciicast v2 recording (made with `agentshim record`) through agentshim's screen
//! and an agent driver the way the shim actor does, on the recording's own clock: output is fed
//! to a `Screen`; it is classified once it has paused for the driver's settle window (or after
//! `max_settle` of continuous output); typed input (`"i"` events with text) starts a message
//! turn at the row the driver names, the submit key ends its echo, the driver's `accepted`
//! confirms it; an Idle verdict after Working completes the turn with `extract_response`. The
//! result is the sequence of verdicts (repeats collapsed) and the answers, for
//! `tests/replay_fixtures.rs`.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::time::Duration;

use agentshim::protocol::ShimState;
use agentshim::shim::classifier::{AgentDriver, Observation, Verdict};
use agentshim::shim::screen::{Screen, ScreenSnapshot};
use agentshim::shim::state::{StateInput, next_state};
use agentshim::shim::{AgentKind, DEFAULT_SCROLLBACK, Timing, Turn};

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

/// What a replay saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Each classification's verdict, consecutive repeats collapsed: `idle`, `working`,
    /// `context_exhausted(MESSAGE)`, `blocked(DIALOG)`.
    pub verdicts: Vec<String>,
    /// The answer of each completed turn, in order.
    pub responses: Vec<String>,
}

fn verdict_name(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Idle => "idle".into(),
        Verdict::Working => "working".into(),
        Verdict::ContextExhausted { message } => format!("context_exhausted({message})"),
        Verdict::AwaitingInput(question) => format!("awaiting_input({})", question.prompt),
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

/// Where a message is on its way in.
enum Delivery {
    Typing {
        message: String,
        start_row: u64,
        prompt: String,
    },
    Submitted {
        turn: Turn,
        before: ScreenSnapshot,
        at: f64,
    },
}

struct Replayer {
    driver: &'static dyn AgentDriver,
    screen: Screen,
    state: ShimState,
    delivery: Option<Delivery>,
    turn: Option<Turn>,
    /// Where the agent was last idle: (absolute row, prompt text).
    prompt_mark: (u64, String),
    last_output: f64,
    settle_at: Option<f64>,
    unsettled_since: Option<f64>,
    replay: Replay,
}

impl Replayer {
    /// The absolute row where a turn starting now begins, as `delivery.rs` computes it.
    fn turn_start(&self, snapshot: &ScreenSnapshot) -> u64 {
        let above = snapshot
            .cursor_row
            .saturating_sub(self.driver.turn_start_row(snapshot));
        self.screen.cursor_absolute_row() - u64::from(above)
    }

    fn output(&mut self, time: f64, data: &str) {
        self.screen.feed(data.as_bytes());
        self.last_output = time;
        let since = *self.unsettled_since.get_or_insert(time);
        let settle = self.driver.settle().as_secs_f64();
        let max_settle = Timing::default().max_settle.as_secs_f64();
        self.settle_at = Some((time + settle).min(since + max_settle));
    }

    fn input(&mut self, time: f64, data: &str) {
        let submit = std::str::from_utf8(self.driver.submit_key()).unwrap_or("\r");
        let text = typed_text(data);
        match self.delivery.take() {
            Some(Delivery::Typing {
                message,
                start_row,
                prompt,
            }) if data == submit => {
                let echo_end = self.screen.cursor_absolute_row();
                let turn = Turn::new(
                    Some(message),
                    start_row,
                    echo_end,
                    prompt,
                    self.screen.clears(),
                );
                let before = self.screen.snapshot();
                self.delivery = Some(Delivery::Submitted {
                    turn,
                    before,
                    at: time,
                });
            }
            Some(Delivery::Typing {
                mut message,
                start_row,
                prompt,
            }) => {
                message.push_str(&text);
                self.delivery = Some(Delivery::Typing {
                    message,
                    start_row,
                    prompt,
                });
            }
            None if !text.is_empty() => {
                let snapshot = self.screen.snapshot();
                let start_row = self.turn_start(&snapshot);
                let prompt = snapshot.cursor_line_split().0.to_owned();
                // Nothing typed half-way is classified.
                (self.settle_at, self.unsettled_since) = (None, None);
                self.delivery = Some(Delivery::Typing {
                    message: text,
                    start_row,
                    prompt,
                });
            }
            other => self.delivery = other,
        }
    }

    fn settled(&mut self, time: f64) {
        (self.settle_at, self.unsettled_since) = (None, None);
        match self.delivery.take() {
            Some(Delivery::Submitted { turn, before, at }) => {
                let accept_timeout = Timing::default().accept_timeout.as_secs_f64();
                if self.driver.accepted(&before, &self.screen.snapshot()) {
                    self.turn = Some(turn);
                    self.apply(StateInput::Delivered);
                    self.classify(time);
                } else if time - at >= accept_timeout {
                    self.classify(time);
                } else {
                    self.delivery = Some(Delivery::Submitted { turn, before, at });
                }
            }
            Some(typing) => self.delivery = Some(typing),
            None => self.classify(time),
        }
    }

    fn apply(&mut self, input: StateInput) -> bool {
        match next_state(self.state, input) {
            Some(next) if next != self.state => {
                self.state = next;
                true
            }
            _ => false,
        }
    }

    fn classify(&mut self, time: f64) {
        let snapshot = self.screen.snapshot();
        let lines = self
            .turn
            .as_ref()
            .map(|turn| turn.lines(&mut self.screen, true));
        let verdict = self.driver.classify(&Observation {
            screen: &snapshot,
            turn: self
                .turn
                .as_ref()
                .zip(lines.as_ref())
                .map(|(turn, lines)| turn.view(lines)),
            quiet_for: Duration::from_secs_f64((time - self.last_output).max(0.0)),
        });
        let name = verdict_name(&verdict);
        if self.replay.verdicts.last() != Some(&name) {
            self.replay.verdicts.push(name);
        }
        let was = self.state;
        match verdict {
            Verdict::Idle => {
                if self.apply(StateInput::SawIdle)
                    && matches!(was, ShimState::Working | ShimState::AwaitingInput)
                    && let Some(turn) = self.turn.take()
                {
                    let lines = turn.lines(&mut self.screen, false);
                    self.replay
                        .responses
                        .push(self.driver.extract_response(&turn.view(&lines)));
                }
                let text = snapshot.cursor_line_split().0.to_owned();
                self.prompt_mark = (self.turn_start(&snapshot), text);
            }
            Verdict::Working => {
                if self.apply(StateInput::SawWorking) && was == ShimState::Idle {
                    let (row, text) = self.prompt_mark.clone();
                    self.turn = Some(Turn::new(None, row, row, text, self.screen.clears()));
                }
            }
            Verdict::ContextExhausted { .. } => {
                if self.apply(StateInput::SawContextExhausted) {
                    self.turn = None;
                }
            }
            Verdict::AwaitingInput(_) => {
                self.apply(StateInput::SawAwaitingInput);
            }
        }
    }
}

/// Replays `cast` with the driver of `kind`.
pub fn replay(cast: &Cast, kind: AgentKind) -> Replay {
    let mut replayer = Replayer {
        driver: kind.driver(),
        screen: Screen::new(cast.rows, cast.cols, DEFAULT_SCROLLBACK),
        state: ShimState::Starting,
        delivery: None,
        turn: None,
        prompt_mark: (0, String::new()),
        last_output: 0.0,
        settle_at: None,
        unsettled_since: None,
        replay: Replay::default(),
    };
    for event in &cast.events {
        while let Some(at) = replayer.settle_at.filter(|at| *at <= event.time) {
            replayer.settled(at);
        }
        match event.code.as_str() {
            "o" => replayer.output(event.time, &event.data),
            "i" => replayer.input(event.time, &event.data),
            "r" => {
                if let Some((cols, rows)) = event.data.split_once('x') {
                    replayer
                        .screen
                        .resize(rows.parse().unwrap(), cols.parse().unwrap());
                }
            }
            _ => {}
        }
    }
    while let Some(at) = replayer.settle_at {
        replayer.settled(at);
    }
    replayer.replay
}

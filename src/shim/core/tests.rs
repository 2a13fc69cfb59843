//! Unit tests of the core, driven with a virtual clock: the test plays the agent (it writes
//! what a shell or a CLI would print) and reads what the core typed and emitted. Every rule
//! runs in microseconds; nothing here sleeps.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::protocol::ShutdownReason;
use crate::shim::AgentKind;

const PROMPT: &str = "$ ";

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A core with a virtual clock, and everything it emitted and typed so far.
struct Harness {
    core: ShimCore,
    now: Instant,
    events: Vec<Event>,
    signals: Vec<AgentSignal>,
    finished: Option<Option<i32>>,
    usage_reads: usize,
}

impl Harness {
    fn new(spec: ShimSpec) -> Self {
        let now = Instant::now();
        let has_log = spec.agent != AgentKind::Generic;
        Self {
            core: ShimCore::new(&spec, now, SystemTime::now(), has_log),
            now,
            events: Vec::new(),
            signals: Vec::new(),
            finished: None,
            usage_reads: 0,
        }
    }

    /// A generic (shell) core whose agent printed its prompt and was found idle.
    fn shell() -> Self {
        Self::ready(ShimSpec::new("t", "sh", [] as [&str; 0]).size(10, 40))
    }

    fn ready(spec: ShimSpec) -> Self {
        let mut harness = Self::new(spec);
        harness.agent(PROMPT);
        harness.advance(ms(200));
        assert_eq!(
            harness.core.state(),
            ShimState::Idle,
            "{:#?}",
            harness.events
        );
        harness.events.clear();
        harness
    }

    /// Carries out the core's effects the way the actor does (usage reads find nothing).
    fn drain(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Emit(events) => self.events.extend(events),
                Effect::Signal(signal) => self.signals.push(signal),
                Effect::ReadUsage => {
                    self.usage_reads += 1;
                    self.core.usage_read(self.now, None);
                }
                Effect::Finished { exit_code } => self.finished = Some(exit_code),
                Effect::ResizePty { .. } => {}
            }
        }
    }

    /// Lets `by` pass, running every deadline on the way at its time.
    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            self.drain();
            match self.core.next_deadline() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.core.tick(self.now);
                }
                _ => break,
            }
        }
        self.now = end;
        self.core.tick(end);
        self.drain();
    }

    /// The agent writes `text` now.
    fn agent(&mut self, text: &str) {
        self.core.output(self.now, text.as_bytes());
        self.drain();
    }

    /// What the core typed since the last call.
    fn typed(&mut self) -> String {
        let text = String::from_utf8_lossy(self.core.outbox()).into_owned();
        let count = self.core.outbox().len();
        self.core.wrote(count);
        text
    }

    fn send(&mut self, id: &str, body: &str) -> Result<SendReceipt, ShimError> {
        let result = self.core.send(
            self.now,
            OutgoingMessage {
                id: id.into(),
                from: "test".into(),
                body: body.into(),
            },
        );
        self.drain();
        result
    }

    /// Plays a shell that echoes what was typed, then (on the submit key) prints `output` and
    /// a new prompt: a whole turn of `body`, answered.
    fn shell_turn(&mut self, id: &str, body: &str, output: &str) {
        self.send(id, body).expect("accepted");
        self.echo_and_submit(body.trim_end_matches('\n'));
        self.agent(&format!("\r\n{output}{PROMPT}"));
        self.advance(ms(200));
    }

    /// Echoes the typed body and waits until the core pressed Enter.
    fn echo_and_submit(&mut self, body: &str) {
        assert_eq!(self.typed(), body);
        self.agent(body);
        self.advance(ms(200));
        assert_eq!(self.typed(), "\r");
    }

    fn shutdown(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let result = self
            .core
            .shutdown(self.now, timeout, ShutdownReason::Requested.into());
        self.drain();
        result
    }

    fn exit(&mut self, code: i32) {
        self.core.exited(self.now, Some(code));
        self.core.pty_closed(self.now);
        self.drain();
    }

    fn names(&self) -> Vec<&'static str> {
        self.events.iter().map(Event::name).collect()
    }

    /// The terminal events of message `id` (Completion, TurnInterrupted, DeliveryFailed).
    fn outcomes(&self, id: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|event| match event {
                Event::Completion { message_id, .. }
                | Event::TurnInterrupted { message_id, .. } => message_id.as_deref() == Some(id),
                Event::DeliveryFailed { id: failed, .. } => failed == id,
                _ => false,
            })
            .collect()
    }

    fn only_outcome(&self, id: &str) -> &Event {
        match self.outcomes(id).as_slice() {
            [one] => one,
            other => panic!("{id}: {} outcomes: {:#?}", other.len(), self.events),
        }
    }
}

fn failure_reason(event: &Event) -> &str {
    match event {
        Event::DeliveryFailed { reason, .. } => reason,
        other => panic!("not a DeliveryFailed: {other:?}"),
    }
}

#[test]
fn a_prompt_makes_the_agent_ready_once_output_settles() {
    let mut harness = Harness::new(ShimSpec::new("t", "sh", [] as [&str; 0]));
    harness.agent(PROMPT);
    harness.advance(ms(100));
    assert_eq!(harness.core.state(), ShimState::Starting);
    harness.advance(ms(30));
    assert_eq!(harness.names(), ["Ready", "StateChanged"]);
}

#[test]
fn a_message_is_typed_submitted_once_and_answered() {
    let mut harness = Harness::shell();
    harness.shell_turn("m1", "echo hi", "hi\r\n");
    assert_eq!(
        harness.names(),
        [
            "MessageDelivered",
            "StateChanged",
            "StateChanged",
            "Completion",
            "SessionStats"
        ]
    );
    match harness.only_outcome("m1") {
        Event::Completion { response, .. } => assert_eq!(response, "hi"),
        other => panic!("{other:?}"),
    }
    assert_eq!(harness.typed(), "", "Enter is never sent twice");
}

#[test]
fn trailing_newlines_end_the_body_and_are_not_typed() {
    let mut harness = Harness::shell();
    harness.shell_turn("m1", "seq 1 3\n", "1\r\n2\r\n3\r\n");
    match harness.only_outcome("m1") {
        Event::Completion { response, .. } => assert_eq!(response, "1\n2\n3"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn escape_sequences_are_removed_whole_and_reported() {
    let mut harness = Harness::shell();
    let receipt = harness.send("m1", "echo before\x1b[2Jafter").unwrap();
    assert_eq!(receipt.removed.as_deref(), Some("1 CSI sequence"));
    assert_eq!(harness.typed(), "echo beforeafter");
    match &harness.events[..] {
        [Event::Warning { message, .. }] => {
            assert!(
                message.contains("m1") && message.contains("1 CSI sequence"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn messages_queue_in_order_and_the_queue_is_bounded() {
    let mut harness = Harness::ready(
        ShimSpec::new("t", "sh", [] as [&str; 0])
            .size(10, 40)
            .queue_capacity(2),
    );
    assert!(!harness.send("m1", "sleep 1").unwrap().queued);
    assert!(harness.send("m2", "echo two").unwrap().queued);
    assert!(harness.send("m3", "echo three").unwrap().queued);
    assert!(matches!(
        harness.send("m4", "echo four"),
        Err(ShimError::QueueFull { capacity: 2 })
    ));
    harness.echo_and_submit("sleep 1");
    harness.agent("\r\n");
    harness.advance(ms(200));
    assert_eq!(
        harness.typed(),
        "",
        "nothing is typed while the agent works"
    );
    harness.agent(PROMPT);
    harness.advance(ms(200));
    assert_eq!(harness.typed(), "echo two");
}

#[test]
fn a_message_id_in_use_is_refused() {
    let mut harness = Harness::shell();
    harness.send("m1", "sleep 1").unwrap();
    harness.send("m2", "echo queued").unwrap();
    for id in ["m1", "m2"] {
        assert!(matches!(
            harness.send(id, "echo again"),
            Err(ShimError::DuplicateMessage(dup)) if dup == id
        ));
    }
    // Delivered and answered: the id is free again.
    harness.echo_and_submit("sleep 1");
    harness.agent(&format!("\r\n{PROMPT}"));
    harness.advance(ms(200));
    assert!(harness.send("m1", "echo reused").is_ok());
}

#[test]
fn a_message_over_the_size_limits_is_refused_and_leaves_no_trace() {
    let limits = MessageLimits {
        max_body_bytes: 16,
        max_id_bytes: 4,
    };
    let spec = ShimSpec::new("t", "sh", [] as [&str; 0])
        .size(10, 40)
        .message_limits(limits);
    let mut harness = Harness::ready(spec);
    let refused = |result: Result<SendReceipt, ShimError>| match result {
        Err(ShimError::TooLarge { what, bytes, limit }) => (what.into_owned(), bytes, limit),
        other => panic!("not refused as too large: {other:?}"),
    };
    assert_eq!(
        refused(harness.send("m1", &"x".repeat(17))),
        ("message body".to_owned(), 17, 16)
    );
    assert_eq!(
        refused(harness.send("m-long", "echo ok")),
        ("message id".to_owned(), 6, 4)
    );
    assert!(harness.events.is_empty(), "{:#?}", harness.events);
    assert_eq!(harness.typed(), "");
    // At the limits, exactly: accepted.
    harness.send("m1", &"x".repeat(16)).unwrap();
    assert_eq!(harness.typed(), "x".repeat(16));
}

#[test]
fn a_shutdown_while_typing_fails_the_message_as_not_delivered() {
    let mut harness = Harness::shell();
    harness.send("m1", "touch x").unwrap();
    assert_eq!(harness.typed(), "touch x");
    harness.agent("touch x");
    assert_eq!(harness.shutdown(ms(5000)), None);
    let reason = failure_reason(harness.only_outcome("m1"));
    assert!(
        reason.starts_with("not delivered: shutdown (requested)"),
        "{reason}"
    );
    // The interrupt clears the line; Enter never goes.
    harness.advance(ms(1000));
    assert!(!harness.typed().contains('\r'));
    assert!(!harness.names().contains(&"MessageDelivered"));
}

#[test]
fn a_kill_after_the_submit_key_is_unconfirmed() {
    let mut harness = Harness::shell();
    harness.send("m1", "touch x").unwrap();
    harness.echo_and_submit("touch x");
    harness
        .core
        .shutdown(harness.now, Duration::ZERO, ShutdownCause::KILLED);
    harness.drain();
    let reason = failure_reason(harness.only_outcome("m1"));
    assert!(reason.starts_with("unconfirmed: killed"), "{reason}");
    assert_eq!(harness.signals, [AgentSignal::KillAll]);
}

#[test]
fn a_newline_typed_outside_a_paste_makes_a_failure_unconfirmed() {
    let mut harness = Harness::shell();
    harness.send("m1", "touch a\ntouch b").unwrap();
    harness.shutdown(ms(1000));
    assert!(failure_reason(harness.only_outcome("m1")).starts_with("unconfirmed: "));
}

#[test]
fn a_turn_cut_off_by_a_shutdown_is_interrupted_with_its_partial_output() {
    let mut harness = Harness::shell();
    harness.send("m1", "count").unwrap();
    harness.echo_and_submit("count");
    harness.agent("\r\n1\r\n2\r\n");
    harness.advance(ms(200));
    harness.send("m2", "echo later").unwrap();
    harness.shutdown(ms(5000));
    match harness.only_outcome("m1") {
        Event::TurnInterrupted {
            reason,
            partial_response,
            ..
        } => {
            assert_eq!(reason, "shutdown (requested)");
            assert_eq!(partial_response, "1\n2");
        }
        other => panic!("{other:?}"),
    }
    assert!(failure_reason(harness.only_outcome("m2")).starts_with("not delivered: "));
    // Our own interrupt brings the prompt back: that is no answer.
    assert_eq!(harness.typed(), "\x03");
    harness.agent(&format!("^C\r\n{PROMPT}"));
    harness.advance(ms(400));
    harness.exit(0);
    assert!(
        !harness.names().contains(&"Completion"),
        "{:#?}",
        harness.events
    );
    assert_eq!(harness.outcomes("m1").len(), 1);
    let tail: Vec<_> = harness.names().into_iter().rev().take(2).collect();
    assert_eq!(tail, ["Died", "StateChanged"]);
    assert_eq!(harness.finished, Some(Some(0)));
}

#[test]
fn a_turn_whose_end_is_on_screen_completes_before_a_shutdown() {
    let mut harness = Harness::shell();
    harness.send("m1", "echo done").unwrap();
    harness.echo_and_submit("echo done");
    harness.agent("\r\n");
    harness.advance(ms(200));
    assert_eq!(harness.names(), ["MessageDelivered", "StateChanged"]);
    // The answer and the prompt arrive; the shutdown comes before the settle window ends.
    harness.agent(&format!("done\r\n{PROMPT}"));
    harness.shutdown(ms(5000));
    match harness.only_outcome("m1") {
        Event::Completion { response, .. } => assert_eq!(response, "done"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_death_mid_turn_interrupts_the_turn_before_died() {
    let mut harness = Harness::shell();
    harness.send("m1", "exit 3").unwrap();
    harness.echo_and_submit("exit 3");
    harness.agent("\r\nbye\r\n");
    harness.advance(ms(200));
    harness.send("m2", "echo never").unwrap();
    harness.core.exited(harness.now, Some(3));
    harness.drain();
    assert_eq!(harness.signals, [AgentSignal::KillAll]);
    assert!(
        harness.outcomes("m1").is_empty(),
        "Died waits for the drain"
    );
    harness.advance(ms(600));
    match harness.only_outcome("m1") {
        Event::TurnInterrupted {
            reason,
            partial_response,
            ..
        } => {
            assert_eq!(reason, "agent exited (exit code 3)");
            assert_eq!(partial_response, "bye");
        }
        other => panic!("{other:?}"),
    }
    assert!(failure_reason(harness.only_outcome("m2")).starts_with("not delivered: agent exited"));
    assert_eq!(harness.names().last(), Some(&"Died"));
    assert!(matches!(
        harness.send("m3", "echo x"),
        Err(ShimError::AgentDead { exit_code: Some(3) })
    ));
}

#[test]
fn an_agent_that_never_reacts_to_the_submit_key_fails_the_message_unconfirmed() {
    let mut harness = Harness::shell();
    harness.send("m1", "echo x").unwrap();
    harness.echo_and_submit("echo x");
    harness.advance(Timing::default().accept_timeout);
    let reason = failure_reason(harness.only_outcome("m1"));
    assert!(
        reason.starts_with("unconfirmed: the agent did not react"),
        "{reason}"
    );
}

#[test]
fn an_answer_longer_than_the_history_is_marked_truncated() {
    let mut harness = Harness::ready(
        ShimSpec::new("t", "sh", [] as [&str; 0])
            .size(5, 40)
            .scrollback(20),
    );
    let output: String = (1..=100).map(|n| format!("{n}\r\n")).collect();
    harness.shell_turn("m1", "seq 1 100", &output);
    let truncated = harness
        .events
        .iter()
        .position(|event| matches!(event, Event::ResponseTruncated { .. }))
        .expect("ResponseTruncated");
    match (&harness.events[truncated], &harness.events[truncated + 1]) {
        (
            Event::ResponseTruncated {
                message_id,
                lines_lost,
                bytes_omitted,
            },
            Event::Completion { response, .. },
        ) => {
            assert_eq!(message_id.as_deref(), Some("m1"));
            assert_eq!(*bytes_omitted, 0);
            // The echo, 100 numbers and a prompt: 102 rows, of which 25 are kept. The rows
            // lost count the echo's.
            assert_eq!(*lines_lost, 77);
            assert!(
                response.starts_with("77\n") && response.ends_with("\n100"),
                "{response}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn screen_sizes_are_bounded() {
    let mut harness = Harness::shell();
    for (rows, cols) in [(0, 10), (5000, 5000), (1001, 80), (24, 20000)] {
        assert!(matches!(
            harness.core.resize(rows, cols),
            Err(ShimError::InvalidArgument(_))
        ));
    }
    assert!(harness.core.resize(1000, 1000).is_ok());
    assert!(matches!(
        harness.core.poll_effect(),
        Some(Effect::ResizePty {
            rows: 1000,
            cols: 1000
        })
    ));
}

#[test]
fn periodic_stats_only_when_figures_change_and_never_after_death() {
    let mut harness = Harness::shell();
    let every = Timing::default().stats_interval.unwrap();
    let stats = |harness: &Harness| {
        harness
            .names()
            .iter()
            .filter(|name| **name == "SessionStats")
            .count()
    };
    harness.advance(every);
    assert_eq!(stats(&harness), 1, "the first tick reports");
    harness.advance(every * 10);
    assert_eq!(stats(&harness), 1, "an idle agent's figures stand still");
    harness.agent("more output");
    harness.advance(every);
    assert_eq!(stats(&harness), 2);
    harness.exit(0);
    harness.advance(every * 10);
    assert_eq!(stats(&harness), 2, "a dead agent reports nothing");
    assert_eq!(harness.core.next_deadline(), None);
}

#[test]
fn a_graceful_shutdown_types_the_exit_keys_then_signals() {
    let mut harness = Harness::shell();
    harness.shutdown(Duration::from_secs(10));
    assert_eq!(harness.typed(), "\x04", "an idle shell gets end-of-file");
    assert!(harness.signals.is_empty());
    harness.advance(Duration::from_secs(5));
    assert_eq!(harness.signals, [AgentSignal::TerminateGroup]);
    harness.advance(Duration::from_secs(5));
    assert_eq!(
        harness.signals,
        [AgentSignal::TerminateGroup, AgentSignal::KillAll]
    );
    assert!(matches!(
        harness.send("m1", "echo x"),
        Err(ShimError::Unavailable { .. })
    ));
    harness.exit(137);
    assert_eq!(harness.finished, Some(Some(137)));
    assert_eq!(harness.shutdown(ms(1)), Some(Some(137)));
}

#[test]
fn the_stale_warning_comes_once_per_silence() {
    let mut harness = Harness::shell();
    harness.send("m1", "sleep 1000").unwrap();
    harness.echo_and_submit("sleep 1000");
    harness.agent("\r\n");
    let stale = Timing::default().stale_after;
    harness.advance(stale * 3);
    let warnings = |harness: &Harness| {
        harness
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Warning {
                        idle_secs: Some(_),
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(warnings(&harness), 1);
    harness.agent(".");
    harness.advance(stale);
    assert_eq!(warnings(&harness), 2);
}

/// Kiro screens from its driver's conventions: a prompt line with the cursor after it.
fn kiro_prompt() -> String {
    "\r\nkiro> ".to_owned()
}

#[test]
fn a_question_is_asked_once_answered_and_asked_again_only_after_the_grace() {
    let mut harness = Harness::ready_kiro();
    harness.send("m1", "run it").unwrap();
    assert_eq!(harness.typed(), "\x1b[200~run it\x1b[201~");
    harness.agent("run it");
    harness.advance(ms(500));
    assert_eq!(harness.typed(), "\r");
    let question = "\r\nI will run: touch x\r\nAllow this action? [y/n/t]: ";
    harness.agent(question);
    harness.advance(ms(200));
    let asked = |harness: &Harness| {
        harness
            .names()
            .iter()
            .filter(|n| **n == "InputRequested")
            .count()
    };
    assert_eq!(asked(&harness), 1);
    assert_eq!(harness.core.state(), ShimState::AwaitingInput);
    // Messages wait while a question is open.
    assert!(harness.send("m2", "later").unwrap().queued);
    assert_eq!(harness.core.answer(harness.now, 1).unwrap(), "y");
    assert_eq!(harness.typed(), "y\r");
    // The CLI redraws the question right after the answer: not a new question.
    harness.agent("\x1b[K");
    harness.advance(ms(500));
    assert_eq!(asked(&harness), 1);
    // Still there after the grace: the answer did not take, it is asked again.
    harness.advance(questions::ANSWER_GRACE);
    assert_eq!(asked(&harness), 2, "{:#?}", harness.events);
    assert!(matches!(
        harness.core.answer(harness.now, 9),
        Err(ShimError::InvalidArgument(_))
    ));
}

#[test]
fn a_quota_holds_messages_until_its_reset_then_delivers_them_in_order() {
    let mut harness = Harness::ready_kiro();
    harness.send("m1", "hello").unwrap();
    harness.typed();
    harness.agent("hello");
    harness.advance(ms(500));
    assert_eq!(harness.typed(), "\r");
    harness.agent("\r\n✗ You've hit your usage limit.");
    harness.agent(&kiro_prompt());
    harness.advance(ms(300));
    assert!(
        harness.names().contains(&"QuotaBlocked"),
        "{:#?}",
        harness.events
    );
    harness.send("m2", "second").unwrap();
    harness.send("m3", "third").unwrap();
    assert_eq!(harness.typed(), "", "held, not typed");
    let hold = Signals::default().unknown_reset_hold;
    harness.advance(hold - ms(1000));
    assert_eq!(harness.typed(), "");
    harness.advance(ms(1000));
    assert!(
        harness
            .events
            .iter()
            .any(|e| matches!(e, Event::QuotaResumed { held_messages: 2 }))
    );
    assert_eq!(harness.typed(), "\x1b[200~second\x1b[201~");
}

impl Harness {
    /// A Kiro core at its empty prompt, with bracketed paste on.
    fn ready_kiro() -> Self {
        let mut harness = Self::new(
            ShimSpec::new("t", "kiro-cli", ["chat"])
                .agent(AgentKind::Kiro)
                .size(20, 80),
        );
        harness.agent("\x1b[?2004h");
        harness.agent(&kiro_prompt());
        harness.advance(ms(300));
        assert_eq!(
            harness.core.state(),
            ShimState::Idle,
            "{:#?}",
            harness.events
        );
        harness.events.clear();
        harness
    }
}

#[test]
fn a_startup_dialog_drawn_over_a_first_prompt_is_not_ready_in_between() {
    let mut harness = Harness::new(
        ShimSpec::new("t", "codex", [] as [&str; 0])
            .agent(AgentKind::Codex)
            .size(20, 100),
    );
    // Codex draws its input box, then (here 300 ms later) the folder-trust dialog over it.
    harness.agent("\r\n  >_ OpenAI Codex (v0.169.0)\r\n\r\n› Ask Codex to do anything\r\n\r\n  ? for shortcuts\x1b[3;3H");
    harness.advance(ms(300));
    harness.agent("\x1b[2J\x1b[H  Folder access\r\n  Trust this folder?\r\n› 1. Trust and continue\r\n  2. Back\r\n  enter continue · esc back");
    harness.advance(ms(2000));
    assert!(!harness.names().contains(&"Ready"), "{:#?}", harness.events);
    assert!(
        harness.names().contains(&"InputRequested"),
        "{:#?}",
        harness.events
    );
    // Without a dialog, the input box is ready once it stayed quiet.
    let mut quiet = Harness::new(
        ShimSpec::new("t", "codex", [] as [&str; 0])
            .agent(AgentKind::Codex)
            .size(20, 100),
    );
    quiet.agent("\r\n  >_ OpenAI Codex (v0.169.0)\r\n\r\n› Ask Codex to do anything\r\n\r\n  ? for shortcuts\x1b[3;3H");
    quiet.advance(ms(500));
    assert!(!quiet.names().contains(&"Ready"));
    quiet.advance(ms(500));
    assert_eq!(quiet.names(), ["Ready", "StateChanged"]);
}

/// What bash with the shim's integration prints around a prompt: the end of the last command
/// (with its exit code), the prompt between its start and input marks.
fn marked_prompt(exit_code: i32, prompt: &str) -> String {
    format!("\x1b]133;D;{exit_code}\x07\x1b]133;A\x07{prompt}\x1b]133;B\x07")
}

#[test]
fn marks_make_a_shell_ready_and_its_turns_end_at_once() {
    let mut harness = Harness::new(ShimSpec::new("t", "bash", [] as [&str; 0]).size(10, 40));
    // A prompt without any marker character: the marks alone say it waits for input.
    harness.agent(&marked_prompt(0, "λ"));
    assert_eq!(
        harness.names(),
        ["Ready", "StateChanged"],
        "no settle window"
    );
    harness.events.clear();
    harness.send("m1", "ls nowhere").unwrap();
    assert_eq!(
        harness.typed(),
        "ls nowhere\r",
        "typed and submitted in one go"
    );
    harness.agent("ls nowhere\r\n\x1b]133;C\x07ls: cannot access 'nowhere'\r\n");
    assert_eq!(harness.names(), ["MessageDelivered", "StateChanged"]);
    harness.agent(&marked_prompt(2, "λ"));
    match &harness.events[2..] {
        [
            Event::StateChanged { .. },
            Event::CommandExited {
                message_id,
                exit_code: 2,
            },
            Event::Completion { response, .. },
            Event::SessionStats { .. },
        ] => {
            assert_eq!(message_id.as_deref(), Some("m1"));
            assert_eq!(response, "ls: cannot access 'nowhere'");
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn a_multi_line_message_still_ends_by_the_settle_window() {
    let mut harness = Harness::new(ShimSpec::new("t", "bash", [] as [&str; 0]).size(10, 40));
    harness.agent(&format!("\x1b[?2004h{}", marked_prompt(0, "$ ")));
    harness.events.clear();
    harness.send("m1", "echo a\necho b").unwrap();
    assert_eq!(harness.typed(), "\x1b[200~echo a\necho b\x1b[201~\r");
    // Each line runs as a command of its own, the prompt back in between.
    harness.agent("echo a\r\n\x1b]133;C\x07a\r\n");
    harness.agent(&marked_prompt(0, "$ "));
    harness.agent("echo b\r\n\x1b]133;C\x07b\r\n");
    assert!(!harness.names().contains(&"Completion"));
    harness.agent(&marked_prompt(0, "$ "));
    harness.advance(ms(200));
    match harness.only_outcome("m1") {
        Event::Completion { response, .. } => assert_eq!(response, "a\n$ echo b\nb"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn with_turn_signals_off_the_marks_are_ignored() {
    let spec = ShimSpec::new("t", "bash", [] as [&str; 0])
        .size(10, 40)
        .turn_signals(false);
    let mut harness = Harness::new(spec);
    harness.agent(&marked_prompt(0, "$ "));
    assert!(harness.names().is_empty(), "only the settle window decides");
    harness.advance(ms(200));
    assert_eq!(harness.names(), ["Ready", "StateChanged"]);
    harness.events.clear();
    harness.send("m1", "true").unwrap();
    assert_eq!(harness.typed(), "true", "the echo is awaited");
    harness.agent("true");
    harness.advance(ms(200));
    assert_eq!(harness.typed(), "\r");
    harness.agent(&format!("\r\n\x1b]133;C\x07{}", marked_prompt(0, "$ ")));
    harness.advance(ms(200));
    assert!(!harness.names().contains(&"CommandExited"));
    assert!(harness.names().contains(&"Completion"));
}

#[test]
fn every_state_change_keeps_what_decided_it() {
    let mut harness = Harness::new(ShimSpec::new("t", "bash", [] as [&str; 0]).size(10, 40));
    harness.agent(PROMPT);
    harness.advance(ms(200));
    harness.send("m1", "true").unwrap();
    harness.echo_and_submit("true");
    harness.agent("\r\n");
    harness.advance(ms(200));
    harness.agent(&marked_prompt(0, PROMPT));
    harness.send("m2", "true").unwrap();
    assert_eq!(
        harness.typed(),
        "true\r",
        "marks seen: typed and submitted in one go"
    );
    harness.agent("true\r\n\x1b]133;C\x07");
    harness.agent(&marked_prompt(0, PROMPT));
    let explanation = harness.core.explain(harness.now);
    assert!(explanation.marks_seen);
    let causes: Vec<(ShimState, String, Option<String>)> = explanation
        .decisions
        .iter()
        .map(|d| (d.to, d.cause.to_string(), d.verdict.clone()))
        .collect();
    assert_eq!(
        causes,
        [
            (
                ShimState::Idle,
                "screen after 120 ms without output".to_owned(),
                Some("idle".to_owned())
            ),
            // The message's delivery decides: its echo and the agent's reaction on screen.
            (
                ShimState::Working,
                "screen after 120 ms without output".to_owned(),
                None
            ),
            (
                ShimState::Idle,
                "signal OSC 133;D;0, OSC 133;A, OSC 133;B".to_owned(),
                Some("idle".to_owned())
            ),
            (ShimState::Working, "signal OSC 133;C".to_owned(), None),
            (
                ShimState::Idle,
                "signal OSC 133;D;0, OSC 133;A, OSC 133;B".to_owned(),
                Some("idle".to_owned())
            ),
        ]
    );
    let last = explanation.decisions.last().unwrap();
    assert!(last.last_signal.is_some());
    assert_eq!(last.screen, "$ true\n$ true\n$");
}

#[test]
fn a_writer_holds_messages_and_sizes_the_terminal_until_it_detaches() {
    let mut harness = Harness::shell();
    harness.core.writer_attached(Some((30, 100))).unwrap();
    assert_eq!(harness.core.size(), (30, 100));
    // A resize meanwhile is the shim's own size, for later.
    harness.core.resize(12, 50).unwrap();
    assert_eq!(harness.core.size(), (30, 100));
    assert!(harness.send("m1", "echo queued").unwrap().queued);
    assert!(
        matches!(&harness.events[..], [Event::Warning { message, .. }, Event::MessageQueued { .. }] if message.contains("writer")),
        "{:#?}",
        harness.events
    );
    harness.core.writer_typed(b"ls\r").unwrap();
    assert_eq!(harness.typed(), "ls\r", "a person's keys go in as they are");
    harness.agent("ls\r\nfile\r\n");
    harness.agent(PROMPT);
    harness.advance(ms(200));
    assert_eq!(harness.typed(), "", "the message waits for the writer");
    harness.core.writer_detached(harness.now);
    harness.drain();
    assert_eq!(harness.core.size(), (12, 50));
    assert_eq!(harness.typed(), "echo queued");
    assert!(
        harness.core.writer_typed(b"x").is_err(),
        "no writer any more"
    );
}

#[test]
fn a_writers_keys_wait_while_a_message_is_being_typed() {
    let mut harness = Harness::shell();
    assert!(!harness.send("m1", "echo first").unwrap().queued);
    harness.core.writer_attached(None).unwrap();
    harness.core.writer_typed(b"pwd").unwrap();
    harness.echo_and_submit("echo first");
    harness.agent("\r\nfirst\r\n");
    harness.advance(ms(200));
    assert_eq!(
        harness.typed(),
        "pwd",
        "typed once the message is submitted"
    );
}

#[test]
fn keys_held_for_a_delivery_stay_held_when_the_writer_detaches_and_keep_their_order() {
    let mut harness = Harness::shell();
    assert!(!harness.send("m1", "echo first").unwrap().queued);
    harness.core.writer_attached(None).unwrap();
    harness.core.writer_typed(b"ab").unwrap();
    harness.core.writer_detached(harness.now);
    harness.drain();
    harness.echo_and_submit("echo first");
    harness.agent("\r\nfirst\r\n");
    harness.core.writer_attached(None).unwrap();
    harness.core.writer_typed(b"c").unwrap();
    harness.advance(ms(200));
    assert_eq!(
        harness.typed(),
        "abc",
        "after the message, in the order typed"
    );
}

//! Realistic sample values for every `Command` and `Event` variant of the wire contract, shared by
//! the protocol integration tests.
//!
//! The values are written once, inside [`protocol_samples!`], so the very same literals can be
//! built both from `agentshim::protocol` ([`ours`]) and from the customer's seed file (a test
//! invokes the macro in a module that `include!`s the fixture). Every `Option` field appears both
//! as `Some` and as `None`, every `ShutdownReason` and every `ShimState` appears at least once,
//! and the strings carry the characters that JSON must escape (quotes, backslashes, control
//! characters, ANSI escapes, non-ASCII).

/// Expands to `pub fn commands() -> Vec<Command>` and `pub fn events() -> Vec<Event>` in a module
/// where `Command`, `Event`, `ShimState` and `ShutdownReason` are in scope.
macro_rules! protocol_samples {
    () => {
        pub fn commands() -> Vec<Command> {
            vec![
                Command::SendMessage {
                    from: "architect".to_string(),
                    body: "Review PR #42: \"codec\" \\ framing.\nThen reply ✓ in\t#dev."
                        .to_string(),
                    message_id: Some("msg-7f3a9c".to_string()),
                },
                Command::SendMessage {
                    from: "human".to_string(),
                    body: "run the tests".to_string(),
                    message_id: None,
                },
                Command::CaptureScreen {
                    last_n_lines: Some(40),
                },
                Command::CaptureScreen { last_n_lines: None },
                Command::GetState,
                Command::Resize {
                    rows: 50,
                    cols: 220,
                },
                Command::Shutdown {
                    timeout_secs: 30,
                    reason: ShutdownReason::Requested,
                },
                Command::Shutdown {
                    timeout_secs: 5,
                    reason: ShutdownReason::RestartHandoff,
                },
                Command::Shutdown {
                    timeout_secs: 10,
                    reason: ShutdownReason::ContextExhausted,
                },
                Command::Shutdown {
                    timeout_secs: 0,
                    reason: ShutdownReason::TopologyChange,
                },
                Command::Shutdown {
                    timeout_secs: 120,
                    reason: ShutdownReason::DaemonStop,
                },
                Command::Kill,
                Command::Ping,
            ]
        }

        pub fn events() -> Vec<Event> {
            vec![
                Event::Ready,
                Event::StateChanged {
                    from: ShimState::Starting,
                    to: ShimState::Idle,
                    summary: "agent prompt detected".to_string(),
                },
                Event::StateChanged {
                    from: ShimState::Working,
                    to: ShimState::Dead,
                    summary: "process exited with status 137".to_string(),
                },
                Event::StateChanged {
                    from: ShimState::Idle,
                    to: ShimState::ContextExhausted,
                    summary: "context window full".to_string(),
                },
                Event::MessageDelivered {
                    id: "msg-7f3a9c".to_string(),
                },
                Event::Completion {
                    message_id: Some("msg-7f3a9c".to_string()),
                    response: "Done: 3 files changed, tests green ✓".to_string(),
                    last_lines: "\u{1b}[32m✓\u{1b}[0m 42 passed\n> ".to_string(),
                },
                Event::Completion {
                    message_id: None,
                    response: String::new(),
                    last_lines: "> ".to_string(),
                },
                Event::Died {
                    exit_code: Some(137),
                    last_lines: "Killed\n".to_string(),
                },
                Event::Died {
                    exit_code: None,
                    last_lines: String::new(),
                },
                Event::ContextExhausted {
                    message: "Prompt is too long".to_string(),
                    last_lines: "Error: prompt is too long\n".to_string(),
                },
                Event::ContextWarning {
                    model: Some("claude-sonnet-4-5".to_string()),
                    output_bytes: 1_843_200,
                    uptime_secs: 5_400,
                    input_tokens: 150_000,
                    cached_input_tokens: 120_000,
                    cache_creation_input_tokens: 8_000,
                    cache_read_input_tokens: 112_000,
                    output_tokens: 12_500,
                    reasoning_output_tokens: 4_200,
                    used_tokens: 162_500,
                    context_limit_tokens: 200_000,
                    usage_pct: 81,
                },
                Event::ContextWarning {
                    model: None,
                    output_bytes: 0,
                    uptime_secs: 1,
                    input_tokens: 0,
                    cached_input_tokens: 0,
                    cache_creation_input_tokens: 0,
                    cache_read_input_tokens: 0,
                    output_tokens: 0,
                    reasoning_output_tokens: 0,
                    used_tokens: u64::MAX,
                    context_limit_tokens: 1_000_000,
                    usage_pct: 100,
                },
                Event::ContextApproaching {
                    message: "Context left until auto-compact: 9%".to_string(),
                    input_tokens: 181_000,
                    output_tokens: 9_000,
                },
                Event::QuotaBlocked {
                    message: "5-hour limit reached".to_string(),
                    retry_at_epoch_secs: Some(1_767_225_600),
                    retry_at_label: Some("resets 1am (Europe/Paris)".to_string()),
                },
                Event::QuotaBlocked {
                    message: "usage limit reached".to_string(),
                    retry_at_epoch_secs: None,
                    retry_at_label: None,
                },
                Event::ScreenCapture {
                    content: "╭──────╮\n│ > hi │\n╰──────╯\n".to_string(),
                    cursor_row: 1,
                    cursor_col: 6,
                },
                Event::State {
                    state: ShimState::Working,
                    since_secs: 42,
                },
                Event::SessionStats {
                    output_bytes: 65_536,
                    uptime_secs: 3_600,
                    input_tokens: 90_000,
                    output_tokens: 7_000,
                    context_usage_pct: Some(45),
                },
                Event::SessionStats {
                    output_bytes: 0,
                    uptime_secs: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    context_usage_pct: None,
                },
                Event::Pong,
                Event::Warning {
                    message: "no output for 5 minutes".to_string(),
                    idle_secs: Some(300),
                },
                Event::Warning {
                    message: "screen parser lagging".to_string(),
                    idle_secs: None,
                },
                Event::DeliveryFailed {
                    id: "msg-7f3a9c".to_string(),
                    reason: "agent is dead".to_string(),
                },
                Event::Error {
                    command: "Resize".to_string(),
                    reason: "rows must be > 0".to_string(),
                },
            ]
        }
    };
}

/// The samples as `agentshim::protocol` values.
pub mod ours {
    use agentshim::protocol::attach::{AttachMode, encode_bytes};
    use agentshim::protocol::link::{
        Call, CallError, CallReply, DecisionRecord, ExplanationRecord,
    };
    use agentshim::protocol::{Command, Event, ShimState, ShutdownReason};

    protocol_samples!();

    /// The commands added to the seed contract (new variants only).
    pub fn additive_commands() -> Vec<Command> {
        vec![
            Command::Answer { option: 2 },
            Command::SendKeys {
                keys: "<Down><Enter>".to_string(),
            },
            Command::Explain,
        ]
    }

    /// The added answers a connection gives that gRPC has no event of (its RPCs answer them).
    pub fn connection_answers() -> Vec<Event> {
        vec![Event::Explanation {
            explanation: ExplanationRecord {
                state: ShimState::Idle,
                since_ms: 420,
                marks_seen: false,
                decisions: vec![DecisionRecord {
                    from: ShimState::Starting,
                    to: ShimState::Idle,
                    unix_ms: 1_700_000_000_000,
                    cause: "screen: prompt at the cursor, quiet for 120 ms".to_string(),
                    verdict: Some("idle".to_string()),
                    screen: "$ ".to_string(),
                    last_output_unix_ms: 1_699_999_999_880,
                    last_signal_unix_ms: None,
                }],
            },
        }]
    }

    /// The events added to the seed contract (new variants only), every option both ways.
    pub fn additive_events() -> Vec<Event> {
        vec![
            Event::InputRequested {
                prompt: "Bash command\ntouch a.txt\nDo you want to proceed?".to_string(),
                options: vec!["Yes".to_string(), "No, and tell Claude".to_string()],
            },
            Event::QuotaResumed { held_messages: 3 },
            Event::TurnInterrupted {
                message_id: Some("m1".to_string()),
                reason: "killed".to_string(),
                partial_response: "1\n2".to_string(),
            },
            Event::TurnInterrupted {
                message_id: None,
                reason: "agent exited (exit code 0)".to_string(),
                partial_response: String::new(),
            },
            Event::ResponseTruncated {
                message_id: Some("m2".to_string()),
                lines_lost: 77,
                bytes_omitted: 0,
            },
            Event::MessageQueued {
                id: "m3".to_string(),
                position: 2,
            },
            Event::CommandExited {
                message_id: None,
                exit_code: 130,
            },
        ]
    }

    /// The commands of an attachment: `Attach` in every mode, input, detach.
    pub fn attach_commands() -> Vec<Command> {
        vec![
            Command::Attach {
                mode: AttachMode::Observe,
                rows: None,
                cols: None,
            },
            Command::Attach {
                mode: AttachMode::Takeover,
                rows: Some(40),
                cols: Some(120),
            },
            Command::TerminalInput {
                data: encode_bytes(b"ls\r"),
            },
            Command::Detach,
        ]
    }

    /// The frames a shim sends on an attachment, each kind once.
    pub fn attach_frames() -> Vec<Event> {
        vec![
            Event::Attached {
                writer: true,
                rows: 50,
                cols: 220,
            },
            Event::TerminalOutput {
                data: encode_bytes(b"\x1b[1mhi\xff"),
            },
            Event::TerminalResized {
                rows: 40,
                cols: 120,
            },
            Event::TerminalRefreshed {
                reason: "fell behind".to_string(),
            },
            Event::WriterChanged {
                writer: false,
                reason: "taken over".to_string(),
            },
            Event::Detached {
                reason: "the agent exited (exit code 0)".to_string(),
            },
        ]
    }

    /// The commands of a link to a shim process: `Link`, and a `Call` of every kind.
    pub fn link_commands() -> Vec<Command> {
        let calls = [
            Call::Send {
                message_id: "m1".to_string(),
                from: "lead".to_string(),
                body: "echo \"hi\"\n".to_string(),
            },
            Call::Capture {
                last_n_lines: Some(20),
                include_scrollback: true,
            },
            Call::Capture {
                last_n_lines: None,
                include_scrollback: false,
            },
            Call::Status,
            Call::Resize {
                rows: 40,
                cols: 120,
            },
            Call::Shutdown {
                timeout_ms: 2500,
                reason: ShutdownReason::DaemonStop,
            },
            Call::Kill,
            Call::Ping,
            Call::Answer { option: 1 },
            Call::SendKeys {
                keys: "<C-c>".to_string(),
            },
            Call::Explain,
        ];
        let link = Command::Link {
            version: 1,
            after_seq: 41,
        };
        std::iter::once(link)
            .chain(
                (1..)
                    .zip(calls)
                    .map(|(call_id, call)| Command::Call { call_id, call }),
            )
            .collect()
    }

    /// The frames a shim process sends on a link, with a `Reply` of every kind.
    pub fn link_frames() -> Vec<Event> {
        let replies = [
            CallReply::Sent {
                id: "m1".to_string(),
                queued: true,
                removed: Some("\u{1b}[31m".to_string()),
            },
            CallReply::Captured {
                content: "$ echo hi\nhi".to_string(),
                cursor_row: 2,
                cursor_col: 2,
                rows: 50,
                cols: 220,
            },
            CallReply::Status {
                state: ShimState::Dead,
                since_ms: 1500,
                pid: 4242,
                exit_code: Some(0),
                queued_messages: 0,
                last_event_seq: 99,
            },
            CallReply::Exited { exit_code: None },
            CallReply::Answered {
                text: "Yes".to_string(),
            },
            CallReply::Explained {
                state: ShimState::Idle,
                since_ms: 10,
                marks_seen: true,
                decisions: vec![DecisionRecord {
                    from: ShimState::Working,
                    to: ShimState::Idle,
                    unix_ms: 1_700_000_000_000,
                    cause: "signal OSC 133;D".to_string(),
                    verdict: None,
                    screen: "$".to_string(),
                    last_output_unix_ms: 1_699_999_999_990,
                    last_signal_unix_ms: Some(1_700_000_000_000),
                }],
            },
            CallReply::Done,
            CallReply::Failed {
                error: CallError::QueueFull { capacity: 16 },
            },
            CallReply::Failed {
                error: CallError::AgentDead { exit_code: None },
            },
        ];
        let frames = vec![
            Event::Linked {
                version: 1,
                shim_id: "s1".to_string(),
                pid: 4242,
                last_seq: 99,
            },
            Event::Logged {
                seq: 42,
                unix_ms: 1_700_000_000_000,
                emitted: Box::new(Event::MessageDelivered {
                    id: "m1".to_string(),
                }),
            },
            Event::EventsLost {
                first_lost: 43,
                last_lost: 50,
            },
            // Link version 2.
            Event::Status {
                version: 7,
                state: ShimState::Working,
                entered_unix_ms: 1_700_000_000_250,
                pid: 4242,
                exit_code: None,
                queued_messages: 2,
                last_event_seq: 99,
            },
        ];
        frames
            .into_iter()
            .chain((1..).zip(replies).map(|(call_id, reply)| Event::Reply {
                call_id,
                reply,
                // Link version 2 names the status version; version 1 does not.
                status_version: (call_id % 2 == 0).then_some(call_id + 6),
            }))
            .collect()
    }
}

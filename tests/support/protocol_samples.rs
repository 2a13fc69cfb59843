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
    use agentshim::protocol::{Command, Event, ShimState, ShutdownReason};

    protocol_samples!();

    /// The commands added to the seed contract (new variants only).
    pub fn additive_commands() -> Vec<Command> {
        vec![
            Command::Answer { option: 2 },
            Command::SendKeys {
                keys: "<Down><Enter>".to_string(),
            },
        ]
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
}

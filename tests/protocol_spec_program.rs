//! Proves that a program written against the customer's seed spec compiles and runs unchanged
//! against `agentshim::protocol`: it imports the module wholesale, matches every `Command` and
//! `Event` variant naming every field (no `..`), with a catch-all for variants added later, and uses the blocking API
//! (`socketpair`, `Channel::new`, `send`, `recv`, `set_read_timeout`, `set_write_timeout`,
//! `try_clone`) exactly as the spec declares it.
//!
//! Everything above the test functions is the "customer" program; it must not need editing.

use agentshim::protocol::*;
use std::time::Duration;

fn describe_command(command: &Command) -> String {
    match command {
        Command::SendMessage {
            from,
            body,
            message_id,
        } => {
            format!("message {message_id:?} from {from}: {body}")
        }
        Command::CaptureScreen { last_n_lines } => format!("capture {last_n_lines:?}"),
        Command::GetState => "get state".to_string(),
        Command::Resize { rows, cols } => format!("resize {rows}x{cols}"),
        Command::Shutdown {
            timeout_secs,
            reason,
        } => {
            format!("shutdown in {timeout_secs}s ({})", reason.label())
        }
        Command::Kill => "kill".to_string(),
        Command::Ping => "ping".to_string(),
        // Variants added after the seed (allowed by the contract) land here.
        #[allow(unreachable_patterns)]
        _ => "newer command".to_string(),
    }
}

fn describe_event(event: &Event) -> String {
    match event {
        Event::Ready => "ready".to_string(),
        Event::StateChanged { from, to, summary } => format!("{from} -> {to}: {summary}"),
        Event::MessageDelivered { id } => format!("delivered {id}"),
        Event::Completion {
            message_id,
            response,
            last_lines,
        } => {
            format!("completed {message_id:?}: {response} / {last_lines}")
        }
        Event::Died {
            exit_code,
            last_lines,
        } => format!("died {exit_code:?}: {last_lines}"),
        Event::ContextExhausted {
            message,
            last_lines,
        } => {
            format!("exhausted: {message} / {last_lines}")
        }
        Event::ContextWarning {
            model,
            output_bytes,
            uptime_secs,
            input_tokens,
            cached_input_tokens,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            output_tokens,
            reasoning_output_tokens,
            used_tokens,
            context_limit_tokens,
            usage_pct,
        } => format!(
            "{model:?} at {usage_pct}% ({used_tokens}/{context_limit_tokens}; in \
             {input_tokens}, cached {cached_input_tokens}, created \
             {cache_creation_input_tokens}, read {cache_read_input_tokens}, out \
             {output_tokens}, reasoning {reasoning_output_tokens}; {output_bytes} bytes in \
             {uptime_secs}s)"
        ),
        Event::ContextApproaching {
            message,
            input_tokens,
            output_tokens,
        } => {
            format!("approaching: {message} ({input_tokens} in, {output_tokens} out)")
        }
        Event::QuotaBlocked {
            message,
            retry_at_epoch_secs,
            retry_at_label,
        } => {
            format!("quota: {message} ({retry_at_epoch_secs:?}, {retry_at_label:?})")
        }
        Event::ScreenCapture {
            content,
            cursor_row,
            cursor_col,
        } => {
            format!("screen at {cursor_row},{cursor_col}: {content}")
        }
        Event::State { state, since_secs } => format!("state {state} since {since_secs}s"),
        Event::SessionStats {
            output_bytes,
            uptime_secs,
            input_tokens,
            output_tokens,
            context_usage_pct,
        } => format!(
            "stats {output_bytes}B {uptime_secs}s {input_tokens}/{output_tokens} \
             {context_usage_pct:?}"
        ),
        Event::Pong => "pong".to_string(),
        Event::Warning { message, idle_secs } => format!("warning: {message} {idle_secs:?}"),
        Event::DeliveryFailed { id, reason } => format!("failed {id}: {reason}"),
        Event::Error { command, reason } => format!("error in {command}: {reason}"),
        #[allow(unreachable_patterns)]
        _ => "newer event".to_string(),
    }
}

/// Asks a (simulated) shim for its state over a socketpair, the way the spec's client does.
fn query_state() -> anyhow::Result<(String, String)> {
    let (client_end, shim_end) = socketpair()?;
    let mut client = Channel::new(client_end);
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    client.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut shim_reader = Channel::new(shim_end);
    let mut shim_writer = shim_reader.try_clone()?;

    client.send(&Command::GetState)?;
    let command: Command = shim_reader.recv()?.ok_or_else(|| anyhow::anyhow!("EOF"))?;
    shim_writer.send(&Event::State {
        state: ShimState::Idle,
        since_secs: 3,
    })?;
    let event: Event = client.recv()?.ok_or_else(|| anyhow::anyhow!("EOF"))?;
    Ok((describe_command(&command), describe_event(&event)))
}

use crate::support::protocol_samples as samples;

#[test]
fn program_written_against_the_spec_compiles_and_runs_unchanged() {
    let (command, event) = query_state().expect("query state");
    assert_eq!(command, "get state");
    assert_eq!(event, "state idle since 3s");
    for command in samples::ours::commands() {
        assert!(!describe_command(&command).is_empty());
    }
    for event in samples::ours::events() {
        assert!(!describe_event(&event).is_empty());
    }
}

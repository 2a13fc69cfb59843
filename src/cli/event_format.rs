//! How `agentshim events` prints one [`EventEnvelope`].
//!
//! **JSON** (`--json`): one object per event, the envelope's `seq`, `shim_id` and `unix_ms`
//! plus the event flattened in, tagged like the seed protocol's events (`"event"` holds the
//! variant name, the other keys are the variant's fields; states are snake_case names, absent
//! optional fields are `null`):
//!
//! ```json
//! {"seq":7,"shim_id":"a","unix_ms":1700000000000,"event":"Completion","message_id":"m-1","response":"hi","last_lines":"hi\n$ "}
//! {"seq":9,"shim_id":"","unix_ms":1700000000000,"event":"EventsLost","first_seq":3,"last_seq":8}
//! ```
//!
//! **Human**: one line per event, `SEQ HH:MM:SS.mmm(UTC) SHIM EVENT details`; multi-line
//! text (a completion's response, a screen capture) follows on lines indented by four spaces.
//! Lost events print as a gap line: `----- events 3..=8 lost: ... -----`.

use serde_json::{Map, Value, json};

use super::output::{clock_time, state_name};
use crate::rpc::event_envelope::Event;
use crate::rpc::{EventEnvelope, ResponseTruncated};

/// The variant name (`"Completion"`) and its fields as a JSON object.
fn event_parts(event: Option<&Event>) -> (&'static str, Value) {
    let Some(event) = event else {
        return ("Unknown", json!({}));
    };
    match event {
        Event::Ready(_) => ("Ready", json!({})),
        Event::StateChanged(e) => (
            "StateChanged",
            json!({"from": state_name(e.from), "to": state_name(e.to), "summary": e.summary}),
        ),
        Event::MessageDelivered(e) => ("MessageDelivered", json!({"id": e.id})),
        Event::Completion(e) => (
            "Completion",
            json!({
                "message_id": e.message_id,
                "response": e.response,
                "last_lines": e.last_lines,
                "truncated": e.truncated.as_ref().map(truncation_json),
                "exit_code": e.exit_code,
            }),
        ),
        Event::Died(e) => (
            "Died",
            json!({"exit_code": e.exit_code, "last_lines": e.last_lines}),
        ),
        Event::InputRequested(e) => (
            "InputRequested",
            json!({"prompt": e.prompt, "options": e.options}),
        ),
        Event::QuotaResumed(e) => ("QuotaResumed", json!({"held_messages": e.held_messages})),
        Event::ContextExhausted(e) => (
            "ContextExhausted",
            json!({"message": e.message, "last_lines": e.last_lines}),
        ),
        Event::ContextWarning(e) => (
            "ContextWarning",
            json!({
                "model": e.model,
                "output_bytes": e.output_bytes,
                "uptime_secs": e.uptime_secs,
                "input_tokens": e.input_tokens,
                "cached_input_tokens": e.cached_input_tokens,
                "cache_creation_input_tokens": e.cache_creation_input_tokens,
                "cache_read_input_tokens": e.cache_read_input_tokens,
                "output_tokens": e.output_tokens,
                "reasoning_output_tokens": e.reasoning_output_tokens,
                "used_tokens": e.used_tokens,
                "context_limit_tokens": e.context_limit_tokens,
                "usage_pct": e.usage_pct,
            }),
        ),
        Event::ContextApproaching(e) => (
            "ContextApproaching",
            json!({"message": e.message, "input_tokens": e.input_tokens, "output_tokens": e.output_tokens}),
        ),
        Event::QuotaBlocked(e) => (
            "QuotaBlocked",
            json!({
                "message": e.message,
                "retry_at_epoch_secs": e.retry_at_epoch_secs,
                "retry_at_label": e.retry_at_label,
            }),
        ),
        Event::ScreenCapture(e) => ("ScreenCapture", super::output::capture_json(e)),
        Event::State(e) => (
            "State",
            json!({"state": state_name(e.state), "since_secs": e.since_secs}),
        ),
        Event::SessionStats(e) => (
            "SessionStats",
            json!({
                "output_bytes": e.output_bytes,
                "uptime_secs": e.uptime_secs,
                "input_tokens": e.input_tokens,
                "output_tokens": e.output_tokens,
                "context_usage_pct": e.context_usage_pct,
            }),
        ),
        Event::Pong(_) => ("Pong", json!({})),
        Event::Warning(e) => (
            "Warning",
            json!({"message": e.message, "idle_secs": e.idle_secs}),
        ),
        Event::DeliveryFailed(e) => (
            "DeliveryFailed",
            json!({"id": e.id, "reason": e.reason, "unconfirmed": e.unconfirmed}),
        ),
        Event::MessageQueued(e) => ("MessageQueued", json!({"id": e.id, "position": e.position})),
        Event::CommandExited(e) => (
            "CommandExited",
            json!({"message_id": e.message_id, "exit_code": e.exit_code}),
        ),
        Event::TurnInterrupted(e) => (
            "TurnInterrupted",
            json!({"message_id": e.message_id, "reason": e.reason, "partial_response": e.partial_response}),
        ),
        Event::ResponseTruncated(e) => ("ResponseTruncated", truncation_json(e)),
        Event::Error(e) => ("Error", json!({"command": e.command, "reason": e.reason})),
        Event::EventsLost(e) => (
            "EventsLost",
            json!({"first_seq": e.first_seq, "last_seq": e.last_seq}),
        ),
    }
}

fn truncation_json(truncated: &ResponseTruncated) -> Value {
    json!({
        "message_id": truncated.message_id,
        "lines_lost": truncated.lines_lost,
        "bytes_omitted": truncated.bytes_omitted,
    })
}

/// The envelope as one JSON object (see the module docs for the shape).
pub fn event_json(envelope: &EventEnvelope) -> Value {
    let (name, fields) = event_parts(envelope.event.as_ref());
    let mut object = Map::new();
    object.insert("seq".into(), envelope.seq.into());
    object.insert("shim_id".into(), envelope.shim_id.clone().into());
    object.insert("unix_ms".into(), envelope.unix_ms.into());
    object.insert("event".into(), name.into());
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    Value::Object(object)
}

/// The envelope as human text (one line, plus indented lines for multi-line payloads).
pub fn event_text(envelope: &EventEnvelope) -> String {
    if let Some(Event::EventsLost(lost)) = &envelope.event {
        return format!(
            "----- events {}..={} lost: the server evicted them before this stream read them -----",
            lost.first_seq, lost.last_seq
        );
    }
    let (name, _) = event_parts(envelope.event.as_ref());
    let (detail, body) = match &envelope.event {
        None | Some(Event::Ready(_) | Event::Pong(_) | Event::EventsLost(_)) => {
            (String::new(), None)
        }
        Some(Event::StateChanged(e)) => (
            format!("{} -> {}", state_name(e.from), state_name(e.to)),
            None,
        ),
        Some(Event::MessageDelivered(e)) => (e.id.clone(), None),
        Some(Event::Completion(e)) => {
            let answering = e.message_id.as_deref().unwrap_or("(no message)");
            let mut detail = answering.to_owned();
            if let Some(code) = e.exit_code {
                detail.push_str(&format!(" (exit code {code})"));
            }
            if let Some(truncated) = &e.truncated {
                detail.push_str(&format!(" ({})", truncation_text(truncated)));
            }
            (detail, Some(e.response.clone()))
        }
        Some(Event::Died(e)) => (exit_text(e.exit_code), None),
        Some(Event::ContextExhausted(e)) => (e.message.clone(), None),
        Some(Event::InputRequested(e)) => {
            let how = match e.options.len() {
                0 => "answer with `agentshim keys`".to_owned(),
                count => format!(
                    "answer with `agentshim answer {} 1..{count}`",
                    envelope.shim_id
                ),
            };
            let options = (1..).zip(&e.options).map(|(n, o)| format!("  {n}. {o}"));
            let body: Vec<String> = e.prompt.lines().map(str::to_owned).chain(options).collect();
            (how, Some(body.join("\n")))
        }
        Some(Event::QuotaResumed(e)) => (
            format!("delivering {} held message(s)", e.held_messages),
            None,
        ),
        Some(Event::ContextWarning(e)) => (
            format!(
                "context {}% used ({} of {} tokens)",
                e.usage_pct, e.used_tokens, e.context_limit_tokens
            ),
            None,
        ),
        Some(Event::ContextApproaching(e)) => (e.message.clone(), None),
        Some(Event::QuotaBlocked(e)) => match &e.retry_at_label {
            Some(label) => (format!("{} (retry at {label})", e.message), None),
            None => (e.message.clone(), None),
        },
        Some(Event::ScreenCapture(e)) => (
            format!(
                "{}x{}, cursor at {},{}",
                e.rows, e.cols, e.cursor_row, e.cursor_col
            ),
            Some(e.content.clone()),
        ),
        Some(Event::State(e)) => (
            format!("{} for {}s", state_name(e.state), e.since_secs),
            None,
        ),
        Some(Event::SessionStats(e)) => (
            format!(
                "{} bytes out, up {}s, tokens {} in / {} out{}",
                e.output_bytes,
                e.uptime_secs,
                e.input_tokens,
                e.output_tokens,
                e.context_usage_pct
                    .map(|pct| format!(", context {pct}%"))
                    .unwrap_or_default()
            ),
            None,
        ),
        Some(Event::Warning(e)) => match e.idle_secs {
            Some(idle) => (format!("{} (idle {idle}s)", e.message), None),
            None => (e.message.clone(), None),
        },
        Some(Event::DeliveryFailed(e)) => (format!("{}: {}", e.id, e.reason), None),
        Some(Event::CommandExited(e)) => (
            format!(
                "{}: exit code {}",
                e.message_id.as_deref().unwrap_or("(no message)"),
                e.exit_code
            ),
            None,
        ),
        Some(Event::MessageQueued(e)) => (format!("{} (position {})", e.id, e.position), None),
        Some(Event::TurnInterrupted(e)) => {
            let message = e.message_id.as_deref().unwrap_or("(no message)");
            (
                format!("{message}: {}", e.reason),
                Some(e.partial_response.clone()),
            )
        }
        Some(Event::ResponseTruncated(e)) => (truncation_text(e), None),
        Some(Event::Error(e)) => (format!("{}: {}", e.command, e.reason), None),
    };
    let mut text = format!(
        "{:>6} {} {} {name}",
        envelope.seq,
        clock_time(envelope.unix_ms),
        envelope.shim_id
    );
    if !detail.is_empty() {
        text.push(' ');
        text.push_str(&detail);
    }
    for line in body.unwrap_or_default().lines() {
        text.push_str("\n    ");
        text.push_str(line);
    }
    text
}

fn truncation_text(truncated: &ResponseTruncated) -> String {
    format!(
        "truncated: {} lines lost from history, {} bytes omitted",
        truncated.lines_lost, truncated.bytes_omitted
    )
}

fn exit_text(exit_code: Option<i32>) -> String {
    match exit_code {
        Some(code) => format!("exit code {code}"),
        None => "exit code unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{Completion, EventsLost, InputRequested, ShimState, StateChanged};

    fn envelope(seq: u64, event: Event) -> EventEnvelope {
        EventEnvelope {
            seq,
            shim_id: "a".into(),
            unix_ms: 3_723_456,
            event: Some(event),
        }
    }

    #[test]
    fn completion_json_is_flat_and_tagged() {
        let value = event_json(&envelope(
            7,
            Event::Completion(Completion {
                message_id: Some("m-1".into()),
                response: "hi".into(),
                last_lines: "$ ".into(),
                truncated: None,
                exit_code: None,
            }),
        ));
        assert_eq!(
            value,
            json!({"seq": 7, "shim_id": "a", "unix_ms": 3_723_456, "event": "Completion",
                   "message_id": "m-1", "response": "hi", "last_lines": "$ ", "truncated": null,
                   "exit_code": null})
        );
    }

    #[test]
    fn human_lines() {
        let changed = Event::StateChanged(StateChanged {
            from: ShimState::Starting as i32,
            to: ShimState::Idle as i32,
            summary: String::new(),
        });
        assert_eq!(
            event_text(&envelope(3, changed)),
            "     3 01:02:03.456 a StateChanged starting -> idle"
        );
        let completion = Event::Completion(Completion {
            message_id: Some("m-1".into()),
            response: "one\ntwo".into(),
            last_lines: String::new(),
            truncated: None,
            exit_code: None,
        });
        assert_eq!(
            event_text(&envelope(4, completion)),
            "     4 01:02:03.456 a Completion m-1\n    one\n    two"
        );
        let asked = Event::InputRequested(InputRequested {
            prompt: "Bash command\ntouch a.txt\nDo you want to proceed?".into(),
            options: vec!["Yes".into(), "No".into()],
        });
        assert_eq!(
            event_text(&envelope(5, asked)),
            "     5 01:02:03.456 a InputRequested answer with `agentshim answer a 1..2`\n    \
             Bash command\n    touch a.txt\n    Do you want to proceed?\n      1. Yes\n      2. No"
        );
        let lost = Event::EventsLost(EventsLost {
            first_seq: 1,
            last_seq: 2,
        });
        assert!(event_text(&envelope(5, lost)).starts_with("----- events 1..=2 lost"));
    }
}

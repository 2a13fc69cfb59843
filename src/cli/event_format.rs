//! How `agentshim events` prints one [`EventEnvelope`].
//!
//! **JSON** (`--json`): one object per event, the envelope's `seq`, `shim_id`, `unix_ms` and
//! `shim_seq` plus the event exactly as the framed protocol writes it (`"event"` holds the
//! variant name, the other keys are the variant's fields, states are snake_case names, absent
//! options are left out), plus what only the gRPC stream carries: a Completion's `truncated`
//! and `exit_code`, a DeliveryFailed's `unconfirmed`, a ScreenCapture's `rows` and `cols`:
//!
//! ```json
//! {"seq":7,"shim_id":"a","unix_ms":1700000000000,"shim_seq":5,"event":"Completion","message_id":"m-1","response":"hi","last_lines":"hi\n$ "}
//! {"seq":9,"shim_id":"","unix_ms":1700000000000,"shim_seq":0,"event":"EventsLost","first_seq":3,"last_seq":8}
//! ```
//!
//! **Human**: one line per event, `SEQ HH:MM:SS.mmm(UTC) SHIM EVENT details`; multi-line
//! text (a completion's response, a screen capture) follows on lines indented by four spaces.
//! Lost events print as a gap line: `----- events 3..=8 lost: ... -----`.

use serde_json::{Map, Value, json};

use super::output::{clock_time, exit_text};
use crate::protocol::Event;
use crate::rpc::event_envelope::Event as Pb;
use crate::rpc::{EventEnvelope, ResponseTruncated};
use crate::server::convert::event_from_proto;
use crate::unix_time::timestamp_unix_ms;

/// What only the gRPC stream says about an event, as JSON fields.
fn wire_only_fields(wire: &Pb) -> Value {
    match wire {
        Pb::Completion(e) => json!({
            "truncated": e.truncated.as_ref().map(truncation_json),
            "exit_code": e.exit_code,
        }),
        Pb::DeliveryFailed(e) => json!({"unconfirmed": e.unconfirmed}),
        Pb::ScreenCapture(e) => json!({"rows": e.rows, "cols": e.cols}),
        _ => json!({}),
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
    let mut object = Map::new();
    object.insert("seq".into(), envelope.seq.into());
    object.insert("shim_id".into(), envelope.shim_id.clone().into());
    object.insert(
        "unix_ms".into(),
        timestamp_unix_ms(envelope.recorded_at.as_ref()).into(),
    );
    object.insert("shim_seq".into(), envelope.shim_seq.into());
    let fields = match &envelope.event {
        Some(Pb::EventsLost(lost)) => json!({
            "event": "EventsLost", "first_seq": lost.first_seq, "last_seq": lost.last_seq,
        }),
        Some(wire) => {
            let mut fields = event_from_proto(wire.clone())
                .and_then(|event| serde_json::to_value(event).ok())
                .unwrap_or_else(|| json!({"event": "Unknown"}));
            if let (Value::Object(fields), Value::Object(extra)) =
                (&mut fields, wire_only_fields(wire))
            {
                fields.extend(extra.into_iter().filter(|(_, value)| !value.is_null()));
            }
            fields
        }
        None => json!({"event": "Unknown"}),
    };
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    Value::Object(object)
}

/// The details and multi-line body of an event, as the human line shows them.
fn describe(shim_id: &str, event: &Event) -> (String, Option<String>) {
    match event {
        Event::Ready | Event::Pong => (String::new(), None),
        Event::StateChanged { from, to, .. } => (format!("{from} -> {to}"), None),
        Event::MessageDelivered { id } => (id.clone(), None),
        Event::Completion {
            message_id,
            response,
            ..
        } => (
            message_id.as_deref().unwrap_or("(no message)").to_owned(),
            Some(response.clone()),
        ),
        Event::Died { exit_code, .. } => (exit_text(*exit_code), None),
        Event::ContextExhausted { message, .. } | Event::ContextApproaching { message, .. } => {
            (message.clone(), None)
        }
        Event::InputRequested { prompt, options } => {
            let how = match options.len() {
                0 => "answer with `agentshim keys`".to_owned(),
                count => format!("answer with `agentshim answer {shim_id} 1..{count}`"),
            };
            let options = (1..).zip(options).map(|(n, o)| format!("  {n}. {o}"));
            let body: Vec<String> = prompt.lines().map(str::to_owned).chain(options).collect();
            (how, Some(body.join("\n")))
        }
        Event::QuotaResumed { held_messages } => {
            (format!("delivering {held_messages} held message(s)"), None)
        }
        Event::ContextWarning {
            usage_pct,
            used_tokens,
            context_limit_tokens,
            ..
        } => (
            format!("context {usage_pct}% used ({used_tokens} of {context_limit_tokens} tokens)"),
            None,
        ),
        Event::QuotaBlocked {
            message,
            retry_at_label,
            ..
        } => match retry_at_label {
            Some(label) => (format!("{message} (retry at {label})"), None),
            None => (message.clone(), None),
        },
        Event::ScreenCapture {
            content,
            cursor_row,
            cursor_col,
        } => (
            format!("cursor at {cursor_row},{cursor_col}"),
            Some(content.clone()),
        ),
        Event::State { state, since_secs } => (format!("{state} for {since_secs}s"), None),
        Event::SessionStats {
            output_bytes,
            uptime_secs,
            input_tokens,
            output_tokens,
            context_usage_pct,
        } => (
            format!(
                "{output_bytes} bytes out, up {uptime_secs}s, tokens {input_tokens} in / \
                 {output_tokens} out{}",
                context_usage_pct
                    .map(|pct| format!(", context {pct}%"))
                    .unwrap_or_default()
            ),
            None,
        ),
        Event::Warning { message, idle_secs } => match idle_secs {
            Some(idle) => (format!("{message} (idle {idle}s)"), None),
            None => (message.clone(), None),
        },
        Event::DeliveryFailed { id, reason } => (format!("{id}: {reason}"), None),
        Event::Error { command, reason } => (format!("{command}: {reason}"), None),
        Event::TurnInterrupted {
            message_id,
            reason,
            partial_response,
        } => (
            format!(
                "{}: {reason}",
                message_id.as_deref().unwrap_or("(no message)")
            ),
            Some(partial_response.clone()),
        ),
        Event::ResponseTruncated {
            message_id,
            lines_lost,
            bytes_omitted,
        } => (
            format!(
                "{}: {lines_lost} rows lost from history, {bytes_omitted} bytes omitted",
                message_id.as_deref().unwrap_or("(no message)")
            ),
            None,
        ),
        Event::MessageQueued { id, position } => (format!("{id} (position {position})"), None),
        Event::CommandExited {
            message_id,
            exit_code,
        } => (
            format!(
                "{}: exit code {exit_code}",
                message_id.as_deref().unwrap_or("(no message)")
            ),
            None,
        ),
        // The frames of a link to a shim process or of an attachment never reach a gRPC
        // event stream.
        crate::connection_frames!() => (String::new(), None),
    }
}

/// The envelope as human text (one line, plus indented lines for multi-line payloads).
pub fn event_text(envelope: &EventEnvelope) -> String {
    let wire = envelope.event.clone();
    if let Some(Pb::EventsLost(lost)) = &wire {
        return format!(
            "----- events {}..={} lost: the server evicted them before this stream read them -----",
            lost.first_seq, lost.last_seq
        );
    }
    let event = wire.and_then(event_from_proto);
    let name = event.as_ref().map_or("Unknown", Event::name);
    let (detail, body) = event
        .as_ref()
        .map(|event| describe(&envelope.shim_id, event))
        .unwrap_or_default();
    let mut text = format!(
        "{:>6} {} {} {name}",
        envelope.seq,
        clock_time(timestamp_unix_ms(envelope.recorded_at.as_ref())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::event_envelope::Event;
    use crate::rpc::{Completion, EventsLost, InputRequested, ShimState, StateChanged};

    fn envelope(seq: u64, event: Event) -> EventEnvelope {
        EventEnvelope {
            seq,
            shim_id: "a".into(),
            recorded_at: Some(crate::unix_time::timestamp(3_723_456)),
            shim_seq: seq + 10,
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
            json!({"seq": 7, "shim_id": "a", "unix_ms": 3_723_456, "shim_seq": 17, "event": "Completion",
                   "message_id": "m-1", "response": "hi", "last_lines": "$ "})
        );
        // The same shape as the framed protocol's JSON of the event.
        let framed = serde_json::to_value(crate::protocol::Event::Completion {
            message_id: Some("m-1".into()),
            response: "hi".into(),
            last_lines: "$ ".into(),
        })
        .unwrap();
        for (key, field) in framed.as_object().unwrap() {
            assert_eq!(&value[key], field, "{key}");
        }
        let exited = event_json(&envelope(
            8,
            Event::Completion(Completion {
                message_id: None,
                response: String::new(),
                last_lines: String::new(),
                truncated: None,
                exit_code: Some(3),
            }),
        ));
        assert_eq!(exited["exit_code"], 3);
        assert!(exited.get("message_id").is_none());
    }

    #[test]
    fn human_lines() {
        let changed = Event::StateChanged(StateChanged {
            from_state: ShimState::Starting as i32,
            to_state: ShimState::Idle as i32,
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

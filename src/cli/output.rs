//! How the client commands print: human text by default, or with `--json` one JSON object per
//! line. Shim states print as the protocol's snake_case names (`idle`, `context_exhausted`);
//! times in human output are UTC.

use std::io::Write;

use serde_json::{Value, json};

use crate::rpc::{Completion, ScreenCapture, ShimInfo, ShimState};
use crate::unix_time::timestamp_unix_ms;

/// Writes `text` and a newline to stdout (flushed, so followers see it at once).
pub fn print_line(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()
}

/// Writes `value` as one line of JSON.
pub fn print_json(value: &Value) -> std::io::Result<()> {
    print_line(&value.to_string())
}

/// Writes `text` as it is, adding a final newline when it lacks one (nothing for empty text).
pub fn print_text(text: &str) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()
}

/// The snake_case name of a wire state value (`unknown(N)` for values this build lacks).
pub fn state_name(value: i32) -> String {
    match ShimState::try_from(value) {
        Ok(state) => state
            .as_str_name()
            .trim_start_matches("SHIM_STATE_")
            .to_lowercase(),
        Err(_) => format!("unknown({value})"),
    }
}

/// A shim as a JSON object.
pub fn shim_json(shim: &ShimInfo) -> Value {
    json!({
        "id": shim.id,
        "profile": shim.profile,
        "agent": shim.agent,
        "state": state_name(shim.state),
        "pid": shim.pid,
        "created_unix_ms": timestamp_unix_ms(shim.created_at.as_ref()),
        "last_event_seq": shim.last_event_seq,
        "exit_code": shim.exit_code,
        "queued_messages": shim.queued_messages,
        "recorded": shim.recorded,
    })
}

/// A completion as a JSON object.
pub fn completion_json(completion: &Completion) -> Value {
    json!({
        "message_id": completion.message_id,
        "response": completion.response,
        "last_lines": completion.last_lines,
    })
}

/// A screen capture as a JSON object.
pub fn capture_json(capture: &ScreenCapture) -> Value {
    json!({
        "content": capture.content,
        "cursor_row": capture.cursor_row,
        "cursor_col": capture.cursor_col,
        "rows": capture.rows,
        "cols": capture.cols,
    })
}

/// The `ls` table: one header line, then one line per shim, columns padded to fit.
pub fn shims_table(shims: &[ShimInfo]) -> String {
    let now_ms = crate::unix_time::now_unix_ms();
    let mut rows = vec![
        [
            "ID", "PROFILE", "AGENT", "STATE", "PID", "QUEUED", "LAST SEQ", "AGE",
        ]
        .map(str::to_owned),
    ];
    for shim in shims {
        let state = match shim.exit_code {
            Some(code) => format!("{} (exit {code})", state_name(shim.state)),
            None => state_name(shim.state),
        };
        let age_secs = now_ms.saturating_sub(timestamp_unix_ms(shim.created_at.as_ref())) / 1000;
        rows.push([
            shim.id.clone(),
            shim.profile.clone(),
            shim.agent.clone(),
            state,
            shim.pid.to_string(),
            shim.queued_messages.to_string(),
            shim.last_event_seq.to_string(),
            human_duration(age_secs),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(&format!("{cell:<width$}"));
        }
        table.push_str(line.trim_end());
        table.push('\n');
    }
    table
}

/// `42s`, `5m`, `3h`, `2d`: the largest unit that fits.
pub fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// How an agent ended, from its exit code: `exited with code 0`, `killed by SIGKILL (exit
/// code 137)` (128 + a signal's number), `exit code unknown`.
pub fn exit_text(exit_code: Option<i32>) -> String {
    let signal = exit_code
        .filter(|&code| code > 128)
        .and_then(|code| nix::sys::signal::Signal::try_from(code - 128).ok());
    match (exit_code, signal) {
        (Some(code), Some(signal)) => format!("killed by {signal} (exit code {code})"),
        (Some(code), None) => format!("exited with code {code}"),
        (None, _) => "exit code unknown".to_owned(),
    }
}

/// The canonical name of a gRPC status code: `NOT_FOUND` for `Code::NotFound`.
pub fn status_code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix time in milliseconds.
pub fn date_time(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{unix_ms} ms after 1970"),
            |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

/// `HH:MM:SS.mmm` (UTC) of a Unix time in milliseconds.
pub fn clock_time(unix_ms: u64) -> String {
    let ms_of_day = unix_ms % 86_400_000;
    let (hours, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    format!(
        "{hours:02}:{minutes:02}:{:02}.{:03}",
        rest / 1000,
        rest % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_durations() {
        assert_eq!(clock_time(0), "00:00:00.000");
        assert_eq!(clock_time(86_400_000 + 3_723_456), "01:02:03.456");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(61), "1m");
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(200_000), "2d");
    }

    #[test]
    fn names_states_like_the_protocol() {
        assert_eq!(state_name(ShimState::Idle as i32), "idle");
        assert_eq!(
            state_name(ShimState::ContextExhausted as i32),
            "context_exhausted"
        );
        assert_eq!(
            state_name(ShimState::AwaitingInput as i32),
            "awaiting_input"
        );
        assert_eq!(state_name(99), "unknown(99)");
    }

    #[test]
    fn table_aligns_columns() {
        let shim = ShimInfo {
            id: "a-long-id".into(),
            profile: "shell".into(),
            agent: "generic".into(),
            state: ShimState::Dead as i32,
            exit_code: Some(0),
            ..ShimInfo::default()
        };
        let table = shims_table(&[shim]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID         PROFILE"));
        assert!(lines[1].starts_with("a-long-id  shell"));
        assert!(lines[1].contains("dead (exit 0)"));
    }
}

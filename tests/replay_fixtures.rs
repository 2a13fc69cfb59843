//! Replay tests: every recording `tests/fixtures/NAME.cast` (made with `agentshim record`) is fed
//! through the production `ShimCore` with the driver named in `tests/fixtures/NAME.expect.json`
//! (`{"agent": "kiro", "events": [...]}`) on a virtual clock, and must give exactly the expected
//! events (see `support/replay.rs` for how each is written). A recording without an
//! expectations file fails, printing what the replay saw, so expectations can be written from
//! it once checked against the recording. Also: what the replay takes as typed text
//! (terminal-query answers and keys are not part of a message). Each fixture is replayed again
//! with turn signals off: the screen alone must come to the same events, less what only the
//! signals tell (exit codes).

use crate::support::replay;

use std::path::{Path, PathBuf};

use agentshim::shim::AgentKind;
use serde_json::{Value, json};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut casts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "cast"))
        .collect();
    casts.sort();
    casts
}

/// Replays one fixture; `Err` describes how it differs from its expectations.
fn check(cast: &Path) -> Result<(), String> {
    let name = cast.file_name().unwrap_or_default().to_string_lossy();
    let expect_path = cast.with_extension("expect.json");
    let expected: Value = std::fs::read_to_string(&expect_path)
        .map_err(|e| format!("{name}: no {}: {e}", expect_path.display()))
        .and_then(|text| serde_json::from_str(&text).map_err(|e| format!("{name}: {e}")))?;
    let kind: AgentKind = expected["agent"]
        .as_str()
        .ok_or(format!("{name}: `agent` missing"))?
        .parse()
        .map_err(|e| format!("{name}: {e}"))?;
    let recording = replay::load(cast);
    let events = replay::replay(&recording, kind, true);
    let seen = json!({"agent": kind.name(), "events": events});
    if seen != expected {
        return Err(format!(
            "{name}: expected\n{expected:#}\nreplay saw\n{seen:#}"
        ));
    }
    // The screen alone comes to the same verdicts and answers, only later (and without the
    // exit codes only the marks tell).
    let without_marks: Vec<&String> = events
        .iter()
        .filter(|event| !event.starts_with("CommandExited"))
        .collect();
    let screen_only = replay::replay(&recording, kind, false);
    if screen_only.iter().collect::<Vec<_>>() != without_marks {
        return Err(format!(
            "{name}: with turn signals off the replay saw\n{screen_only:#?}\ninstead of\n{without_marks:#?}"
        ));
    }
    Ok(())
}

#[test]
fn every_recorded_fixture_replays_through_the_core_to_its_events() {
    let casts = fixtures();
    assert!(!casts.is_empty(), "no tests/fixtures/*.cast");
    let failures: Vec<String> = casts.iter().filter_map(|cast| check(cast).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn terminal_answers_and_keys_are_not_typed_text() {
    let answers = "\x1bP>|agentshim 0.1.0\x1b\\\x1b[?62;22c\x1b]11;rgb:0/0/0\x07\x1b[12;1R";
    assert_eq!(replay::typed_text(answers), "");
    assert_eq!(
        replay::typed_text("\x1b[200~two\nlines ✓\x1b[201~"),
        "two\nlines ✓"
    );
    assert_eq!(replay::typed_text("\x1b[Ahi\x7f\x03"), "hi");
}

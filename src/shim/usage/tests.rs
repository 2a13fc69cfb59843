//! Unit tests of the log parsers on lines captured from the pinned CLIs (Claude Code 2.1.197,
//! Codex 0.169.0, Gemini CLI 0.61.0, run against the fake model server; paths replaced, long
//! texts cut) and on hand-made lines for cases the capture does not show.
//!
//! The capture: three model requests reported with (uncached input, cache read, cache
//! creation, output) = (1200, 5000, 700, 345), (111, 3333, 44, 22) (a shell tool call) and
//! (1500, 6000, 0, 400). The OpenAI and Gemini wires have no cache-creation figure, so there the
//! creation tokens are plain input.

use super::*;
use crate::shim::agents::claude::session_log as claude;
use crate::shim::agents::codex::session_log as codex;
use crate::shim::agents::gemini::session_log as gemini;

const CLAUDE_LOG: &str = include_str!("testdata/claude.jsonl");
const CODEX_LOG: &str = include_str!("testdata/codex.jsonl");
const GEMINI_LOG: &str = include_str!("testdata/gemini.jsonl");

/// Every prompt token of the three requests: 6900 + 3488 + 7500.
const ALL_INPUT: u64 = 17_888;
const ALL_OUTPUT: u64 = 767;

fn accumulate(log: &str, parse: fn(&str) -> Option<Record>) -> Accumulator {
    let mut acc = Accumulator::default();
    for record in log.lines().filter_map(parse) {
        acc.apply(record);
    }
    acc
}

fn counts(input: u64, read: u64, creation: u64, output: u64) -> TokenCounts {
    TokenCounts {
        input_tokens: input,
        cache_read_input_tokens: read,
        cache_creation_input_tokens: creation,
        output_tokens: output,
        reasoning_output_tokens: 0,
    }
}

#[test]
fn claude_usage_counts_cache_reads_and_writes_once() {
    let acc = accumulate(CLAUDE_LOG, claude::parse_line);
    assert_eq!(acc.totals(), counts(ALL_INPUT, 14_333, 744, ALL_OUTPUT));
    assert_eq!(acc.last, Some(counts(7_500, 6_000, 0, 400)));
    assert_eq!(acc.last.unwrap().context_tokens(), 7_900);
    assert_eq!(acc.model.as_deref(), Some("claude-opus-4-8"));
}

#[test]
fn claude_repeated_message_lines_sidechains_and_synthetic_errors() {
    let line = |id: &str, side: bool, model: &str, input: u64, output: u64| {
        serde_json::json!({"type": "assistant", "isSidechain": side, "uuid": format!("u-{id}"),
            "message": {"id": id, "model": model, "role": "assistant", "usage": {
                "input_tokens": input, "cache_creation_input_tokens": 10,
                "cache_read_input_tokens": 100, "output_tokens": output}}})
        .to_string()
    };
    let log = [
        // One message written as two lines (thinking block, then text): the last one counts.
        line("msg_1", false, "claude-opus-4-8", 5, 1),
        line("msg_1", false, "claude-opus-4-8", 5, 50),
        line("msg_2", true, "claude-haiku-4-5", 7, 9),
        line("msg_3", false, "<synthetic>", 0, 0),
    ]
    .join("\n");
    let acc = accumulate(&log, claude::parse_line);
    assert_eq!(acc.totals(), counts(115 + 117, 200, 20, 59));
    // The sidechain (a subagent) is not the main conversation's context.
    assert_eq!(acc.last, Some(counts(115, 100, 10, 50)));
    assert_eq!(acc.model.as_deref(), Some("claude-opus-4-8"));
}

#[test]
fn codex_running_totals_and_window_come_from_the_cli() {
    let acc = accumulate(CODEX_LOG, codex::parse_line);
    assert_eq!(acc.totals(), counts(ALL_INPUT, 14_333, 0, ALL_OUTPUT));
    assert_eq!(acc.last, Some(counts(7_500, 6_000, 0, 400)));
    assert_eq!(acc.context_window, Some(258_400));
    assert_eq!(acc.model.as_deref(), Some("gpt-5.5"));
}

#[test]
fn codex_reasoning_is_part_of_output_and_empty_infos_are_skipped() {
    let usage = serde_json::json!({"input_tokens": 900, "cached_input_tokens": 800,
        "cache_write_input_tokens": 50, "output_tokens": 70, "reasoning_output_tokens": 30,
        "total_tokens": 970});
    let event = serde_json::json!({"type": "event_msg", "payload": {"type": "token_count",
        "info": {"total_token_usage": usage, "last_token_usage": usage}}});
    let empty = r#"{"type":"event_msg","payload":{"type":"token_count","info":null}}"#;
    let acc = accumulate(&format!("{event}\n{empty}"), codex::parse_line);
    let mut expected = counts(900, 800, 50, 70);
    expected.reasoning_output_tokens = 30;
    assert_eq!(acc.totals(), expected);
    assert_eq!(acc.last.unwrap().context_tokens(), 970);
    assert_eq!(acc.context_window, None);
}

#[test]
fn codex_sessions_are_bound_by_cwd_and_never_to_subagents() {
    let first = CODEX_LOG.lines().next().unwrap();
    let project = std::path::Path::new("/home/user/project");
    assert_eq!(codex::session_in(first, project), Some(true));
    assert_eq!(
        codex::session_in(first, std::path::Path::new("/home/user/other")),
        Some(false)
    );
    let subagent = first.replace(r#""source":"cli""#, r#""source":{"subagent":"review"}"#);
    assert_eq!(codex::session_in(&subagent, project), Some(false));
    assert_eq!(codex::session_in(&first[..first.len() / 2], project), None);
    assert_eq!(
        codex::session_in(CODEX_LOG.lines().nth(1).unwrap(), project),
        None
    );
}

#[test]
fn gemini_rewritten_messages_count_once() {
    let acc = accumulate(GEMINI_LOG, gemini::parse_line);
    assert_eq!(acc.totals(), counts(ALL_INPUT, 14_333, 0, ALL_OUTPUT));
    assert_eq!(acc.last, Some(counts(7_500, 6_000, 0, 400)));
    assert_eq!(acc.model.as_deref(), Some("gemini-3.8-flash"));
}

#[test]
fn gemini_thoughts_are_output_and_tool_prompts_are_input() {
    let line = r#"{"id":"m1","type":"gemini","model":"gemini-3.8-flash","tokens":
        {"input":1000,"output":20,"cached":600,"thoughts":80,"tool":5,"total":1105}}"#
        .replace('\n', "");
    let Some(Record::Request { counts: got, .. }) = gemini::parse_line(&line) else {
        panic!("no request in {line}");
    };
    let mut expected = counts(1_005, 600, 0, 100);
    expected.reasoning_output_tokens = 80;
    assert_eq!(got, expected);
    assert_eq!(got.context_tokens(), 1_105);
}

#[test]
fn lines_without_usage_are_ignored() {
    for line in ["", "not json", "{}", r#"{"$set":{"lastUpdated":"x"}}"#] {
        assert_eq!(claude::parse_line(line), None, "{line}");
        assert_eq!(codex::parse_line(line), None, "{line}");
        assert_eq!(gemini::parse_line(line), None, "{line}");
    }
}

#[test]
fn usage_percent_is_rounded_and_capped() {
    let snapshot = |used, limit| UsageSnapshot {
        model: None,
        totals: TokenCounts::default(),
        last_request: None,
        context_used_tokens: used,
        context_limit_tokens: limit,
    };
    assert_eq!(snapshot(7_900, 1_000_000).usage_pct(), 1);
    assert_eq!(snapshot(160_000, 200_000).usage_pct(), 80);
    assert_eq!(snapshot(1_995, 200_000).usage_pct(), 1);
    assert_eq!(snapshot(250_000, 200_000).usage_pct(), 100);
    assert_eq!(snapshot(5, 0).usage_pct(), 0);
}

#[test]
fn claude_project_directory_names() {
    assert_eq!(
        claude::project_dir_name("/tmp/agentshim-live-claude-iLpWTh/work"),
        "-tmp-agentshim-live-claude-iLpWTh-work"
    );
    // Every UTF-16 unit that is not ASCII alphanumeric becomes `-` (the crab is two units).
    assert_eq!(
        claude::project_dir_name("/home/jörg/🦀/x.y"),
        "-home-j-rg----x-y"
    );
    // Long paths are cut at 200 and get a hash (values from Claude Code's own function).
    let long = format!("/srv/{}project", "deep-directory-name/".repeat(12));
    assert!(claude::project_dir_name(&long).ends_with("directory--dopgs2"));
    assert_eq!(claude::project_dir_name(&long).len(), 207);
}

//! Tests of [`SessionLogReader`] on real files in a temporary HOME: finding this session's log
//! among others, reading only appended bytes, partial lines, and moving to a new session.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::*;
use crate::shim::AgentKind;
use crate::shim::agent_session::AgentSession;
use crate::shim::agents::claude::session_log as claude;

const CLAUDE_LOG: &str = include_str!("testdata/claude.jsonl");
const CODEX_LOG: &str = include_str!("testdata/codex.jsonl");
const GEMINI_LOG: &str = include_str!("testdata/gemini.jsonl");
/// The cwd written in the captured logs.
const CAPTURED_CWD: &str = "/home/user/project";

/// A temporary HOME with a `work` cwd.
struct Home {
    dir: tempfile::TempDir,
    cwd: PathBuf,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        let cwd = cwd.canonicalize().unwrap();
        Self { dir, cwd }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A reader for an agent started after everything written so far.
    fn reader(&self, kind: AgentKind) -> SessionLogReader {
        let started = SystemTime::now() + Duration::from_secs(1);
        SessionLogReader::for_agent(kind, self.path(), &|_| None, &self.cwd, started).unwrap()
    }

    /// A captured log with its cwd replaced by this one.
    fn log(&self, captured: &str) -> String {
        captured.replace(CAPTURED_CWD, &self.cwd.to_string_lossy())
    }
}

fn append(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The first `n` lines of `log`, each with its newline.
fn first_lines(log: &str, n: usize) -> String {
    log.lines().take(n).map(|l| format!("{l}\n")).collect()
}

fn totals(snapshot: &UsageSnapshot) -> (u64, u64, u64, u64) {
    let t = snapshot.totals;
    (
        t.input_tokens,
        t.cache_read_input_tokens,
        t.cache_creation_input_tokens,
        t.output_tokens,
    )
}

#[test]
fn claude_log_is_followed_as_it_grows_and_across_a_new_session() {
    let home = Home::new();
    let project = home
        .path()
        .join(".claude/projects")
        .join(claude::project_dir_name(&home.cwd.to_string_lossy()));
    append(&project.join("older-session.jsonl"), CLAUDE_LOG);
    let mut reader = home.reader(AgentKind::Claude);
    assert_eq!(reader.poll(), None, "another session's log is not ours");

    // The first request's line (the 3rd) is written, and half of the 4th.
    let ours = project.join("our-session.jsonl");
    let (done, rest) = CLAUDE_LOG.split_at(first_lines(CLAUDE_LOG, 3).len() + 40);
    append(&ours, done);
    let first = reader.poll().unwrap();
    assert_eq!(reader.session_file(), Some(ours.as_path()));
    assert_eq!(totals(&first), (6_900, 5_000, 700, 345));
    assert_eq!(first.context_used_tokens, 6_900 + 345);
    assert_eq!(first.context_limit_tokens, 1_000_000);
    assert_eq!(first.usage_pct(), 1);
    append(&ours, rest);
    let all = reader.poll().unwrap();
    assert_eq!(totals(&all), (17_888, 14_333, 744, 767));
    assert_eq!(all.context_used_tokens, 7_900);
    assert_eq!(reader.poll(), Some(all), "nothing new, nothing changes");

    // `/clear`: a new session file; the totals go on, the context is the new session's.
    let second_request = CLAUDE_LOG.lines().find(|l| l.contains("msg_fake_000003"));
    append(
        &project.join("after-clear.jsonl"),
        &format!("{}\n", second_request.unwrap()),
    );
    let cleared = reader.poll().unwrap();
    assert_eq!(totals(&cleared), (17_888 + 3_488, 14_333 + 3_333, 788, 789));
    assert_eq!(cleared.context_used_tokens, 3_488 + 22);
}

#[test]
fn codex_rollout_is_the_one_of_this_cwd() {
    let home = Home::new();
    let today = DateTime::<Utc>::from(SystemTime::now()).format("%Y/%m/%d");
    let day = home.path().join(".codex/sessions").join(today.to_string());
    let mut reader = home.reader(AgentKind::Codex);
    assert_eq!(reader.poll(), None);
    append(&day.join("rollout-a-ours.jsonl"), &home.log(CODEX_LOG));
    // Written later (so newer), but another project's session.
    append(&day.join("rollout-b-other.jsonl"), CODEX_LOG);
    let snapshot = reader.poll().unwrap();
    assert_eq!(
        reader.session_file(),
        Some(day.join("rollout-a-ours.jsonl").as_path())
    );
    assert_eq!(totals(&snapshot), (17_888, 14_333, 0, 767));
    assert_eq!(snapshot.context_used_tokens, 7_900);
    assert_eq!(snapshot.context_limit_tokens, 258_400);
    assert_eq!(snapshot.model.as_deref(), Some("gpt-5.5"));
}

#[test]
fn codex_rollout_with_an_unfinished_first_line_is_bound_once_complete() {
    let home = Home::new();
    let today = DateTime::<Utc>::from(SystemTime::now()).format("%Y/%m/%d");
    let rollout = home
        .path()
        .join("codex-home/sessions")
        .join(today.to_string())
        .join("rollout-x.jsonl");
    let started = SystemTime::now();
    let codex_home = home.path().join("codex-home");
    let env = |key: &str| (key == "CODEX_HOME").then(|| codex_home.clone());
    let mut reader =
        SessionLogReader::for_agent(AgentKind::Codex, home.path(), &env, &home.cwd, started)
            .unwrap();
    let log = home.log(CODEX_LOG);
    let (head, rest) = log.split_at(log.char_indices().nth(100).unwrap().0);
    append(&rollout, head);
    assert_eq!(reader.poll(), None);
    assert_eq!(reader.session_file(), None);
    append(&rollout, rest);
    assert_eq!(totals(&reader.poll().unwrap()).0, 17_888);
}

#[test]
fn gemini_chat_of_the_project_whose_root_is_the_cwd() {
    let home = Home::new();
    let tmp = home.path().join(".gemini/tmp");
    let mut reader = home.reader(AgentKind::Gemini);
    append(&tmp.join("work/.project_root"), "/somewhere/else/work");
    append(
        &tmp.join("work/chats/session-2026-11-24T07-36-aaaa.jsonl"),
        GEMINI_LOG,
    );
    assert_eq!(reader.poll(), None);
    append(
        &tmp.join("work-1/.project_root"),
        &home.cwd.to_string_lossy(),
    );
    let ours = tmp.join("work-1/chats/session-2026-11-24T07-37-bbbb.jsonl");
    append(&ours, GEMINI_LOG);
    let snapshot = reader.poll().unwrap();
    assert_eq!(reader.session_file(), Some(ours.as_path()));
    assert_eq!(totals(&snapshot), (17_888, 14_333, 0, 767));
    assert_eq!(snapshot.context_limit_tokens, 1_048_576);
}

#[test]
fn context_limit_override_and_agents_without_logs() {
    let home = Home::new();
    let project = home
        .path()
        .join(".claude/projects")
        .join(claude::project_dir_name(&home.cwd.to_string_lossy()));
    let mut reader = home.reader(AgentKind::Claude).with_context_limit(10_000);
    append(&project.join("s.jsonl"), CLAUDE_LOG);
    let snapshot = reader.poll().unwrap();
    assert_eq!(snapshot.context_limit_tokens, 10_000);
    assert_eq!(snapshot.usage_pct(), 79);
    for kind in [AgentKind::Generic, AgentKind::Kiro] {
        let started = SystemTime::now();
        assert!(
            SessionLogReader::for_agent(kind, home.path(), &|_| None, &home.cwd, started).is_none()
        );
    }
}

#[test]
fn the_session_followed_is_named_and_recorded_each_time_it_changes() {
    let home = Home::new();
    let record = home.path().join("session.json");
    let project = home
        .path()
        .join(".claude/projects")
        .join(claude::project_dir_name(&home.cwd.to_string_lossy()));
    let mut reader = home.reader(AgentKind::Claude).recording_to(&record);
    reader.poll();
    assert!(!record.exists(), "no session yet, nothing recorded");
    let first = project.join("5b1e0c2a-first.jsonl");
    append(&first, &first_lines(CLAUDE_LOG, 2));
    reader.poll();
    assert!(
        !record.exists(),
        "no model request saved yet: nothing to resume"
    );
    append(&first, &CLAUDE_LOG[first_lines(CLAUDE_LOG, 2).len()..]);
    reader.poll();
    let recorded = AgentSession::read_record(&record).unwrap().unwrap();
    assert_eq!(
        (recorded.id.as_str(), recorded.log.as_path()),
        ("5b1e0c2a-first", first.as_path())
    );
    // `/clear`: the new session is recorded in place of the old one.
    let second = project.join("9d3f-second.jsonl");
    let second_request = CLAUDE_LOG.lines().find(|l| l.contains("msg_fake_000003"));
    append(&second, &format!("{}\n", second_request.unwrap()));
    reader.poll();
    assert_eq!(
        AgentSession::read_record(&record).unwrap().unwrap().id,
        "9d3f-second"
    );
}

#[test]
fn each_cli_names_its_session_as_its_resume_option_takes_it() {
    let home = Home::new();
    let today = DateTime::<Utc>::from(SystemTime::now()).format("%Y/%m/%d");
    let uuid = "01a20c7b-fdf9-7253-8e84-2a330dfa02c0";
    let rollout = home
        .path()
        .join(".codex/sessions")
        .join(today.to_string())
        .join(format!("rollout-2026-12-07T11-02-03-{uuid}.jsonl"));
    let mut codex = home.reader(AgentKind::Codex);
    append(&rollout, &home.log(CODEX_LOG));
    codex.poll();
    assert_eq!(codex.session().map(|s| s.id).as_deref(), Some(uuid));

    let tmp = home.path().join(".gemini/tmp");
    append(&tmp.join("work/.project_root"), &home.cwd.to_string_lossy());
    let mut gemini = home.reader(AgentKind::Gemini);
    append(
        &tmp.join("work/chats/session-2026-11-24T07-36-8753.jsonl"),
        GEMINI_LOG,
    );
    gemini.poll();
    assert_eq!(
        gemini.session().map(|s| s.id).as_deref(),
        Some("87538f79-2511-4eff-a310-0a00d8814cbf"),
        "the header's sessionId"
    );

    let odd = home
        .path()
        .join(".codex/sessions")
        .join(today.to_string())
        .join("rollout-no-uuid-here.jsonl");
    let mut unnamed = home.reader(AgentKind::Codex);
    append(&odd, &home.log(CODEX_LOG));
    unnamed.poll();
    assert_eq!(unnamed.session_file(), Some(odd.as_path()));
    assert_eq!(unnamed.session(), None, "no UUID at the end of its name");
}

#[test]
fn a_resumed_session_is_followed_in_its_older_log() {
    let home = Home::new();
    let project = home
        .path()
        .join(".claude/projects")
        .join(claude::project_dir_name(&home.cwd.to_string_lossy()));
    let earlier = project.join("earlier.jsonl");
    append(&earlier, CLAUDE_LOG);
    let mut fresh = home.reader(AgentKind::Claude);
    assert_eq!(fresh.poll(), None, "an older log is another session's");
    let mut resumed = home.reader(AgentKind::Claude).resuming(&earlier);
    assert_eq!(totals(&resumed.poll().unwrap()).0, 17_888);
    assert_eq!(resumed.session_file(), Some(earlier.as_path()));
}

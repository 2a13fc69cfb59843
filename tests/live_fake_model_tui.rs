//! The real CLIs' TUIs against the fake model server, in tmux panes at 220×50, inside a private
//! loopback-only network namespace (`scripts/live-agents.sh`); elsewhere these tests skip
//! loudly, or fail with `AGENTSHIM_LIVE=1`.
//!
//! - `live_*_tui_answers_from_fake_server`: ready, one message answered on screen, the title
//!   request answered with schema-fitting JSON (Claude, Codex), and no process left after the
//!   pane is stopped (reports which signal each CLI needed).
//! - `live_*_screens_for_slow_replies_and_errors`: each scripted behaviour produces the screen
//!   that `shared/agents/REAL_AGENTS.md` describes (busy marker during a slow reply, then the
//!   whole text; the context, rate-limit and quota messages). Each prints a table: scenario,
//!   pass/fail, seconds from Enter to the expected screen.

use crate::support::fake_model;
use crate::support::live_agents;
use crate::support::live_tmux;
use crate::support::procs;

use std::io::Write;
use std::time::{Duration, Instant};

use fake_model::{ErrorKind, FakeModelServer, Reply, Served, TurnKind};
use live_agents::{AgentCli, ClaudeAuth, LiveAgent};

/// Longest wait for one screen.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest wait for startup or a turn in the one-turn tests.
const LIVE_TIMEOUT: Duration = SCREEN_TIMEOUT;

/// A slow multi-line answer: first words after 3 s, then a chunk every 150 ms.
const SLOW_TEXT: &str = "Slow answer, line one: the fake model takes its time.\n\
    Line two has unicode: Grüße ✓ 世界.\nLine three is the last line of the slow answer ✓";

fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// One scripted behaviour and the screen text it must lead to.
struct Case {
    name: &'static str,
    auth: ClaudeAuth,
    replies: Vec<Reply>,
    /// Must show while the answer is pending (slow replies).
    busy: Option<&'static str>,
    /// Must all show once the turn is over.
    expect: &'static [&'static str],
    /// A first exchange answered with this text before the scenario's message.
    warmup: Option<&'static str>,
}

fn case(name: &'static str, replies: Vec<Reply>, expect: &'static [&'static str]) -> Case {
    Case {
        name,
        auth: ClaudeAuth::ApiKey,
        replies,
        busy: None,
        expect,
        warmup: None,
    }
}

fn slow(busy: &'static str) -> Case {
    let reply = Reply::text(SLOW_TEXT).slow(Duration::from_secs(3), Duration::from_millis(150));
    Case {
        busy: Some(busy),
        ..case(
            "slow multi-line reply",
            vec![reply],
            &["Line three is the last line"],
        )
    }
}

fn context() -> Reply {
    Reply::error(ErrorKind::ContextTooLong).forever()
}

fn quota(claim: Option<&str>) -> Reply {
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3 * 3600;
    Reply::error(ErrorKind::Quota {
        reset_epoch_secs: reset,
        claim: claim.map(String::from),
    })
}

/// Runs one case on a fresh server, HOME and pane; `Ok(seconds)` from Enter to the expected
/// screen, or what went wrong.
async fn run_case(cli: AgentCli, case: &Case) -> Result<f64, String> {
    let server = FakeModelServer::start().await;
    if let Some(text) = case.warmup {
        server.push(Reply::text(text));
    }
    for reply in &case.replies {
        server.push(reply.clone());
    }
    let agent: LiveAgent = match cli {
        AgentCli::Claude => live_agents::claude(&server.anthropic_base_url(), case.auth),
        AgentCli::Codex => live_agents::codex(&server.openai_base_url()),
        AgentCli::Gemini => live_agents::gemini(&server.gemini_base_url()),
    };
    let fail = |what: String, screen: &str| {
        format!(
            "{what}\n-- screen:\n{screen}\n-- server saw:\n{}",
            server.summary()
        )
    };
    let (pane, _) = live_tmux::start_ready(&agent, cli.ready_marker(), SCREEN_TIMEOUT)
        .await
        .map_err(|s| fail("never ready".into(), &s))?;
    if let Some(text) = case.warmup {
        live_tmux::submit(&pane, "Warm-up message").await;
        pane.wait_screen(SCREEN_TIMEOUT, |s| s.contains(text))
            .await
            .map_err(|s| fail("the warm-up answer never showed".into(), &s))?;
        // The CLI is done with the warm-up once its screen stops changing.
        pane.wait_quiet(Duration::from_millis(500), SCREEN_TIMEOUT)
            .await
            .map_err(|s| fail("the screen never settled after the warm-up".into(), &s))?;
    }
    let sent = Instant::now();
    live_tmux::submit(&pane, &format!("Scenario: {}", case.name)).await;
    if let Some(busy) = case.busy {
        pane.wait_screen(SCREEN_TIMEOUT, |s| s.contains(busy))
            .await
            .map_err(|s| fail(format!("busy marker `{busy}` never showed"), &s))?;
    }
    let screen = pane
        .wait_screen(SCREEN_TIMEOUT, |s| {
            case.expect.iter().all(|e| s.contains(e))
        })
        .await
        .map_err(|s| fail(format!("never showed all of {:?}", case.expect), &s))?;
    let took = sent.elapsed().as_secs_f64();
    say(&format!(
        "\n== {} / {}: after {took:.2}s\n{screen}\n-- server saw:\n{}",
        cli.program_name(),
        case.name,
        server.summary()
    ));
    Ok(took)
}

/// Runs every case, prints the table, fails if any case failed.
async fn run_cases(cli: AgentCli, cases: Vec<Case>) {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        match run_case(cli, case).await {
            Ok(secs) => rows.push(format!(
                "| {} | {} | pass | {secs:.2} |",
                cli.program_name(),
                case.name
            )),
            Err(why) => {
                rows.push(format!(
                    "| {} | {} | FAIL | - |",
                    cli.program_name(),
                    case.name
                ));
                failures.push(format!("{}: {why}", case.name));
            }
        }
    }
    say(&format!(
        "\n| cli | scenario | result | s to screen |\n|---|---|---|---|\n{}",
        rows.join("\n")
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn live_claude_screens_for_slow_replies_and_errors() {
    let cli = AgentCli::Claude;
    if !live_tmux::gate("live_claude_screens_for_slow_replies_and_errors", cli) {
        return;
    }
    let oauth_quota = Case {
        auth: ClaudeAuth::OAuth,
        ..case(
            "usage limit (OAuth, five_hour)",
            vec![quota(Some("five_hour"))],
            &["hit your session limit"],
        )
    };
    let cases = vec![
        slow("esc to interrupt"),
        // On the first exchange Claude does not try to compact: a screen of its own.
        case(
            "context too long, first message",
            vec![context()],
            &["Prompt is too long", "cannot be compacted"],
        ),
        Case {
            warmup: Some("Warm-up answer ✓"),
            ..case(
                "context too long, second message",
                vec![context()],
                &["Context limit reached"],
            )
        },
        case(
            "rate limit 429",
            vec![Reply::error(ErrorKind::RateLimit {
                retry_after_secs: 25,
            })],
            &["Request rejected (429)"],
        ),
        case(
            "quota (API key)",
            vec![quota(None)],
            &["credit balance is too low"],
        ),
        oauth_quota,
    ];
    run_cases(cli, cases).await;
}

#[tokio::test]
async fn live_codex_screens_for_slow_replies_and_errors() {
    let cli = AgentCli::Codex;
    if !live_tmux::gate("live_codex_screens_for_slow_replies_and_errors", cli) {
        return;
    }
    let cases = vec![
        slow("esc to interrupt"),
        case(
            "context too long",
            vec![context()],
            &["ran out of room in the model's context window"],
        ),
        case(
            "rate limit 429",
            vec![Reply::error(ErrorKind::RateLimit {
                retry_after_secs: 25,
            })],
            &["last status: 429"],
        ),
        case("usage limit", vec![quota(None)], &["hit your usage limit"]),
    ];
    run_cases(cli, cases).await;
}

#[tokio::test]
async fn live_gemini_screens_for_slow_replies_and_errors() {
    let cli = AgentCli::Gemini;
    if !live_tmux::gate("live_gemini_screens_for_slow_replies_and_errors", cli) {
        return;
    }
    let cases = vec![
        slow("esc to cancel"),
        case(
            "context too long",
            vec![context()],
            &["exceeds the maximum number of tokens allowed"],
        ),
        case(
            "daily quota",
            vec![quota(None)],
            &["Usage limit reached for"],
        ),
    ];
    run_cases(cli, cases).await;
}

// ---- live, interactive: the TUI in a tmux pane ----

/// Starts `agent`'s TUI at 220×50, waits until it is ready, submits a prompt, and waits for
/// the scripted reply on screen. Claude and Codex must then send a title request, which gets
/// schema-fitting JSON. Finally the pane is hung up and terminated, and nothing of the CLI may
/// be left running.
async fn interactive_turn(server: &FakeModelServer, agent: &LiveAgent) {
    let name = agent.cli.program_name();
    let prompt = "Say hi in the TUI ✓";
    let reply = "Hi from the fake model, in the TUI ✓";
    server.push(Reply::text(reply));
    let report = |what: &str, screen: &str| {
        format!(
            "{name}: {what}\n-- screen:\n{screen}\n-- server saw:\n{}",
            server.summary()
        )
    };
    let ready = agent.cli.ready_marker();
    let (mut pane, ready_after) = live_tmux::start_ready(agent, ready, LIVE_TIMEOUT)
        .await
        .unwrap_or_else(|s| panic!("{}", report(&format!("`{ready}` never showed"), &s)));
    let sent = Instant::now();
    live_tmux::submit(&pane, prompt).await;
    let is_prompt = |r: &fake_model::RequestRecord| {
        r.is_main() && r.user_text.as_deref().is_some_and(|t| t.contains(prompt))
    };
    let turn = server.wait_for(is_prompt, LIVE_TIMEOUT).await;
    let turn = turn.unwrap_or_else(|| {
        panic!(
            "{}",
            report("no main turn with the prompt", &pane.capture())
        )
    });
    let request_after = sent.elapsed();
    let screen = pane
        .wait_screen(LIVE_TIMEOUT, |s| s.contains(reply))
        .await
        .unwrap_or_else(|s| panic!("{}", report("the reply never showed", &s)));
    let answered_after = sent.elapsed();
    let wants_title = agent.cli != AgentCli::Gemini;
    let title = if wants_title {
        server
            .wait_for(|r| r.kind == TurnKind::Title, Duration::from_secs(20))
            .await
    } else {
        None
    };
    say(&format!(
        "\n== live {name} TUI: ready {:.2}s, submit→request {:.2}s, submit→reply on screen {:.2}s (includes the 0.5 s pause before Enter)\n{screen}\n-- server saw:\n{}",
        ready_after.as_secs_f64(),
        request_after.as_secs_f64(),
        answered_after.as_secs_f64(),
        server.summary()
    ));
    if let Some(dir) = std::env::var_os("AGENTSHIM_LIVE_DUMP") {
        let dir = std::path::Path::new(&dir).join(format!("{name}-tui-{}", server.addr().port()));
        server.dump_requests(&dir).expect("dump requests");
    }
    assert!(turn.tools > 0 && turn.stream);
    if wants_title {
        let title = title.unwrap_or_else(|| panic!("{}", report("no title request", &screen)));
        let Served::Json(value) = &title.served else {
            panic!("title served {:?}", title.served)
        };
        assert_eq!(value["title"], fake_model::FAKE_TITLE);
    }
    pane.hang_up();
    let in_home = || procs::processes_in(agent.home_path());
    let after_hup = procs::wait_gone(Duration::from_secs(5), in_home).await;
    let signals = pane.terminate(Duration::from_secs(3));
    let left = procs::wait_gone(Duration::from_secs(5), in_home).await;
    say(&format!(
        "== live {name} TUI stop: left after SIGHUP (tmux kill-server): {after_hup:?}; then needed {signals:?}"
    ));
    assert!(
        left.is_empty(),
        "{name}: processes left even after SIGKILL: {left:?}"
    );
}

#[tokio::test]
async fn live_claude_tui_answers_from_fake_server() {
    if !live_tmux::gate("live_claude_tui_answers_from_fake_server", AgentCli::Claude) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::claude(&server.anthropic_base_url(), ClaudeAuth::ApiKey);
    interactive_turn(&server, &agent).await;
}

#[tokio::test]
async fn live_codex_tui_answers_from_fake_server() {
    if !live_tmux::gate("live_codex_tui_answers_from_fake_server", AgentCli::Codex) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::codex(&server.openai_base_url());
    interactive_turn(&server, &agent).await;
}

#[tokio::test]
async fn live_gemini_tui_answers_from_fake_server() {
    if !live_tmux::gate("live_gemini_tui_answers_from_fake_server", AgentCli::Gemini) {
        return;
    }
    let server = FakeModelServer::start().await;
    let agent = live_agents::gemini(&server.gemini_base_url());
    interactive_turn(&server, &agent).await;
}

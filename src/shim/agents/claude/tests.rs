//! The Claude driver against screens captured from the real Claude Code 2.1.197 (220×50, fake
//! model server, under agentshim and in tmux). Excerpts are trimmed: rules are cut to 40
//! columns, footers lose their right-hand side, headers are dropped where they do not matter.
//! Claude writes a no-break space after `⎿`; [`lines`] puts it back where the literals show
//! two spaces. Turn endings, answers and the other hooks are in `tests/response.rs`.

mod response;

use std::time::Duration;

use super::ClaudeDriver;
use crate::shim::agents::{AgentDriver, InputPrompt, Observation, TurnView, Verdict};
use crate::shim::screen::ScreenSnapshot;

/// Rows of a literal (the first newline dropped), with Claude's `⎿` + no-break space.
pub(super) fn lines(text: &str) -> Vec<String> {
    text.strip_prefix('\n')
        .unwrap_or(text)
        .lines()
        .map(|l| l.trim_end().replace("⎿  ", "⎿ \u{a0}"))
        .collect()
}

/// A screen whose cursor sits in the input box (on the last `❯` row), or at the bottom.
pub(super) fn snapshot(text: &str) -> ScreenSnapshot {
    let lines = lines(text);
    let cursor_row = lines
        .iter()
        .rposition(|l| l.starts_with('❯'))
        .unwrap_or(lines.len().saturating_sub(1));
    ScreenSnapshot {
        lines,
        cursor_row: u16::try_from(cursor_row).unwrap(),
        cursor_col: 2,
        alternate_screen: false,
    }
}

pub(super) fn view<'a>(lines: &'a [String], message: &'a str) -> TurnView<'a> {
    TurnView {
        lines,
        echo_lines: 0,
        message: Some(message),
        prompt: "",
        marked_output: None,
    }
}

/// Classifies `screen` with no turn in progress (startup, idle).
fn classify_screen(screen: &str) -> Verdict {
    ClaudeDriver.classify(&Observation {
        screen: &snapshot(screen),
        turn: None,
        quiet_for: Duration::from_millis(200),
        marks: Default::default(),
    })
}

/// Classifies `screen` during the turn of `message`, whose lines are `turn`.
pub(super) fn classify_turn(screen: &str, turn: &str, message: &str) -> Verdict {
    let turn = lines(turn);
    ClaudeDriver.classify(&Observation {
        screen: &snapshot(screen),
        turn: Some(view(&turn, message)),
        quiet_for: Duration::from_millis(200),
        marks: Default::default(),
    })
}

/// Classifies a screen whose turn starts at its first row.
pub(super) fn classify(turn_and_screen: &str, message: &str) -> Verdict {
    classify_turn(turn_and_screen, turn_and_screen, message)
}

pub(super) fn response(turn: &str, message: &str) -> String {
    ClaudeDriver.extract_response(&view(&lines(turn), message))
}

pub(super) const READY: &str = r"
 ▐▛███▜▌   Claude Code v2.1.197
▝▜█████▛▘  Opus 4.8 (1M context) · API Usage Billing
  ▘▘ ▝▝    ~/work


────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents                                   ● high · /effort";

/// The slow answer while its first words are awaited.
pub(super) const WORKING: &str = r"
❯ Second slow

✽ Precipitating…
  ⎿  Tip: Start with small features or bug fixes, tell Claude to propose a plan, and verify

────────────────────────────────────────
❯
────────────────────────────────────────
  esc to interrupt · ← for agents                                  ● high · /effort";

pub(super) const SLOW_DONE: &str = r"
❯ Second slow

● Slow answer line one.
  Line two ✓ Grüße.
  Line three is last.

✻ Crunched for 3s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents                                   ● high · /effort";

#[test]
fn ready_screen_is_idle_and_starting_screens_are_not() {
    assert_eq!(classify_screen(READY), Verdict::Idle);
    // Some starts show the welcome box instead of the compact header.
    let welcome = r"
╭─── Claude Code v2.1.197 ─────────────────────────────────────────────────────────────────╮
│                                               │ Tips for getting started                             │
│                 Welcome back!                 │ Ask Claude to create a new app or clone a repository │
│                                               │ ──────────────────────────────────────────────────── │
│                    ▐▛███▜▌                    │ What's new                                           │
│   Opus 4.8 (1M context) · API Usage Billing   │                                                      │
│                    ~/work                     │                                                      │
╰──────────────────────────────────────────────────────────────────────────────────────────╯
────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    assert_eq!(classify_screen(welcome), Verdict::Idle);
    // The first frame: the header, no input box yet.
    let header = r"
 ▐▛███▜▌   Claude Code v2.1.197
▝▜█████▛▘  Opus 4.8 (1M context) · API Usage Billing";
    assert_eq!(classify_screen(header), Verdict::Working);
    assert_eq!(classify_screen(""), Verdict::Working);
}

#[test]
fn spinner_and_interrupt_footer_are_working() {
    assert_eq!(classify(WORKING, "Second slow"), Verdict::Working);
    // The spinner alone (a pasted message leaves `paste again to expand` in the footer).
    let pasted = r"
  pasted line 30 ✓

· Moonwalking…

────────────────────────────────────────
❯
────────────────────────────────────────
  paste again to expand";
    assert_eq!(classify(pasted, "pasted"), Verdict::Working);
    // A tool running under the spinner, with token counts.
    let tool = r"
❯ touch please

● Bash(touch fake-tool-file.txt)
  ⎿  Done

✢ Galloping… (0s · ↑ 20 tokens)

────────────────────────────────────────
❯
────────────────────────────────────────
  esc to interrupt · ← for agents";
    assert_eq!(classify(tool, "touch please"), Verdict::Working);
    // Retrying after an API error (`CLAUDE_CODE_MAX_RETRIES` above 0): no ellipsis.
    let retrying = r"
❯ retry please

✻ API error · Retrying in 3s · attempt 2/10

────────────────────────────────────────
❯
────────────────────────────────────────
  esc to interrupt · ← for agents";
    assert_eq!(classify(retrying, "retry please"), Verdict::Working);
    let without_footer = retrying.replace("esc to interrupt", "? for shortcuts");
    assert_eq!(classify(&without_footer, "retry please"), Verdict::Working);
}

#[test]
fn finished_turn_is_idle_with_any_footer_when_the_input_is_empty() {
    assert_eq!(classify(SLOW_DONE, "Second slow"), Verdict::Idle);
    let pasted = r"
  pasted line 30 ✓

● Hello from the fake model.

✻ Brewed for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  paste again to expand";
    assert_eq!(classify(pasted, "pasted"), Verdict::Idle);
    let mode = r"
────────────────────────────────────────
❯
────────────────────────────────────────
  ⏵⏵ accept edits on (shift+tab to cycle) · ← for agents";
    assert_eq!(classify_screen(mode), Verdict::Idle);
}

#[test]
fn text_in_the_input_box_and_frames_without_it_are_working() {
    // Esc before the first output puts the message back into the input box.
    let restored = r"
────────────────────────────────────────
❯ hang please
────────────────────────────────────────";
    assert_eq!(classify_screen(restored), Verdict::Working);
    // Right after Enter: the echo, and the input box not redrawn yet.
    let redrawing = r"
 ▐▛███▜▌   Claude Code v2.1.197

❯ touch please
";
    assert_eq!(classify(redrawing, "touch please"), Verdict::Working);
}

#[test]
fn startup_and_permission_dialogs_block() {
    let trust = r"
────────────────────────────────────────
 Accessing workspace:

 /tmp/agentshim-live-claude-YhAsue/work

 Quick safety check: Is this a project you created or one you trust? (Like your own code)

 Claude Code'll be able to read, edit, and execute files here.

 Security guide

 ❯ 1. Yes, I trust this folder
   2. No, exit

 Enter to confirm · Esc to cancel";
    let trust = classify_screen(trust).expect_question();
    assert!(
        trust.prompt.starts_with("Accessing workspace:\n"),
        "{trust:?}"
    );
    assert!(
        trust
            .prompt
            .contains("Quick safety check: Is this a project you created")
    );
    assert_eq!(trust.options, ["Yes, I trust this folder", "No, exit"]);
    let api_key = r"
────────────────────────────────────────
  Detected a custom API key in your environment

  ANTHROPIC_API_KEY: sk-ant-...0123456789ABCDEFGHIJ

  Do you want to use this API key?

    1. Yes
  ❯ 2. No (recommended)

  Enter to confirm · Esc to cancel";
    let api_key = classify_screen(api_key).expect_question();
    assert_eq!(
        api_key.prompt,
        "Detected a custom API key in your environment\n\
         ANTHROPIC_API_KEY: sk-ant-...0123456789ABCDEFGHIJ\n\
         Do you want to use this API key?"
    );
    assert_eq!(api_key.options, ["Yes", "No (recommended)"]);
    assert_eq!(api_key.selected, Some(1));
    let theme = r"
Welcome to Claude Code v2.1.197
 Let's get started.

 Choose the text style that looks best with your terminal
 To change this later, run /theme

   1. Auto (match terminal)
 ❯ 2. Dark mode ✔
   3. Light mode";
    let theme = classify_screen(theme).expect_question();
    assert!(theme.prompt.contains("Choose the text style"), "{theme:?}");
    assert_eq!(
        theme.options,
        ["Auto (match terminal)", "Dark mode ✔", "Light mode"]
    );
    let permission = r"
❯ touch please

● Bash(touch fake-tool-file.txt)
  ⎿  Waiting…

────────────────────────────────────────
 Bash command

   touch fake-tool-file.txt
   Run the scripted command

 Do you want to proceed?
 ❯ 1. Yes
   2. Yes, and always allow access to work/ from this project
   3. No

 Esc to cancel · Tab to amend · ctrl+e to explain";
    assert_eq!(
        classify(permission, "touch please"),
        Verdict::AwaitingInput(InputPrompt {
            prompt: "Bash command\ntouch fake-tool-file.txt\nRun the scripted command\n\
                     Do you want to proceed?"
                .into(),
            options: vec![
                "Yes".into(),
                "Yes, and always allow access to work/ from this project".into(),
                "No".into()
            ],
            selected: Some(0),
        })
    );
}

#[test]
fn other_menus_are_questions_too() {
    // Subscription (OAuth) mode at its usage limit: Claude opens this menu by itself.
    let limit = r"
❯ quota please
  ⎿  You've hit your session limit · resets 9:07am (UTC)

✻ Worked for 0s

❯ /rate-limit-options

────────────────────────────────────────
  What do you want to do?

  ❯ 1. Stop and wait for limit to reset
    2. Upgrade your plan

  Enter to confirm · Esc to cancel";
    let menu = classify(limit, "quota please").expect_question();
    assert_eq!(menu.prompt, "What do you want to do?");
    assert_eq!(
        menu.options,
        ["Stop and wait for limit to reset", "Upgrade your plan"]
    );
}

#[test]
fn a_phrase_quoted_above_the_input_box_is_not_a_dialog() {
    let quoted = r"
❯ what does the trust dialog say?

● It asks: Do you want to proceed? Enter to confirm · Esc to cancel

✻ Brewed for 0s

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents";
    assert_eq!(
        classify(quoted, "what does the trust dialog say?"),
        Verdict::Idle
    );
}

#[test]
fn a_turn_whose_rows_hold_only_the_input_box_was_repainted() {
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    fn view(lines: &[String]) -> TurnView<'_> {
        TurnView {
            lines,
            echo_lines: 0,
            message: Some("Keep going"),
            prompt: "",
            marked_output: None,
        }
    }
    let repainted = lines(
        "────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents",
    );
    assert!(ClaudeDriver.turn_repainted(&view(&repainted)));
    let normal = lines(
        "❯ Keep going

● Answer ✓

────────────────────────────────────────
❯
────────────────────────────────────────
  ? for shortcuts · ← for agents",
    );
    assert!(!ClaudeDriver.turn_repainted(&view(&normal)));
}

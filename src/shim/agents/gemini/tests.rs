//! The Gemini driver on screens captured from the real Gemini CLI 0.61.0 (220×50, in tmux and
//! under agentshim, against the fake model server). Excerpts are trimmed: full-width rules are
//! written `▄▄▄`/`▀▀▀`/`───` and widened back to 220 columns, the status bar is shortened.

use std::time::Duration;

use super::*;

const WIDTH: usize = 220;

/// Lines of a captured screen, rules widened to the terminal width.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| match line {
            "▄▄▄" | "▀▀▀" | "───" => {
                line.chars().next().unwrap().to_string().repeat(WIDTH)
            }
            _ => line.trim_end().to_owned(),
        })
        .collect()
}

fn snapshot(text: &str) -> ScreenSnapshot {
    let lines = lines(text);
    let cursor_row = lines
        .iter()
        .rposition(|l| l.starts_with(" > "))
        .unwrap_or(0) as u16;
    ScreenSnapshot {
        lines,
        cursor_row,
        cursor_col: 3,
        alternate_screen: false,
    }
}

/// The live region at the bottom of every idle screen.
const IDLE_FOOTER: &str = "

                                                                            ? for shortcuts
───
 Shift+Tab to accept edits
▄▄▄
 >   Type your message or @path/to/file
▀▀▀
 workspace (/directory)                     sandbox                  /model
 ~/work                                     no sandbox               Auto";

const HEADER: &str = " ▝▜▄     Gemini CLI v0.61.0
   ▝▜▄
  ▗▟▀    Authenticated with gemini-api-key /auth
 ▝▀


Tips for getting started:
1. Create GEMINI.md files to customize your interactions
2. /help for more information
3. Ask coding questions, edit code or run commands
4. Be specific for the best results";

/// A turn's lines as the actor gives them: from the top of the live region when the message
/// was typed (under the header) through the bottom of the screen.
fn turn_text(transcript: &str, footer: &str) -> String {
    format!("{transcript}{footer}")
}

fn classify(screen: &str, turn_lines: Option<(&str, Option<&str>)>) -> Verdict {
    let snapshot = snapshot(screen);
    let turn_lines = turn_lines.map(|(text, message)| (lines(text), message));
    let view = turn_lines.as_ref().map(|(lines, message)| TurnView {
        lines,
        echo_lines: 0,
        message: *message,
        prompt: "",
        marked_output: None,
    });
    GeminiDriver.classify(&Observation {
        screen: &snapshot,
        turn: view,
        quiet_for: Duration::from_millis(200),
        marks: Default::default(),
    })
}

/// Classifies a turn on a screen that is the header followed by the turn.
fn classify_turn(turn: &str, message: &str) -> Verdict {
    classify(&format!("{HEADER}\n{turn}"), Some((turn, Some(message))))
}

fn extract(turn: &str, message: &str) -> String {
    let lines = lines(turn);
    GeminiDriver.extract_response(&TurnView {
        lines: &lines,
        echo_lines: 0,
        message: Some(message),
        prompt: "",
        marked_output: None,
    })
}

#[test]
fn ready_once_the_transcript_shows() {
    assert_eq!(
        classify(&format!("{HEADER}{IDLE_FOOTER}"), None),
        Verdict::Idle
    );
    // The first frame (about 1.5 s after start) has only the live region: Gemini is still
    // loading its configuration and queues what is typed.
    assert_eq!(classify(IDLE_FOOTER, None), Verdict::Working);
    let queued = "

  Queued (press ↑ to edit):
    Pasted line 1 ✓ Pasted line 2 ✓ Pasted line 3 ✓
 Press Ctrl+O to expand pasted text

───
 Shift+Tab to accept edits
▄▄▄
 >   Type your message or @path/to/file
▀▀▀
 workspace (/directory)                     sandbox                  /model";
    assert_eq!(classify(queued, None), Verdict::Working);
    // Nothing drawn yet.
    assert_eq!(classify("\n\n", None), Verdict::Working);
}

const SPINNER_FOOTER: &str = "

 ⠋ Thinking... (esc to cancel, 0s)                                          ? for shortcuts
───
 Shift+Tab to accept edits
▄▄▄
 >   Type your message or @path/to/file
▀▀▀
 workspace (/directory)                     sandbox                  /model
 ~/work                                     no sandbox               Auto";

const HELLO_ECHO: &str = "▄▄▄
 > Hello there
▀▀▀";

#[test]
fn spinner_means_working_even_while_text_streams() {
    let turn = turn_text(HELLO_ECHO, SPINNER_FOOTER);
    assert_eq!(classify_turn(&turn, "Hello there"), Verdict::Working);
    let streaming = turn_text(
        &format!("{HELLO_ECHO}\n✦ Slow answer line one.\n  Line two"),
        &SPINNER_FOOTER.replace('⠋', "⠦"),
    );
    assert_eq!(classify_turn(&streaming, "Hello there"), Verdict::Working);
}

#[test]
fn a_turn_is_not_over_before_its_echo_shows() {
    // Right after Enter the input box is cleared before the echo and spinner are drawn.
    let turn = turn_text("", IDLE_FOOTER);
    assert_eq!(classify_turn(&turn, "Hello there"), Verdict::Working);
}

#[test]
fn answer_after_echo_without_spinner_is_done() {
    let turn = turn_text(&format!("{HELLO_ECHO}\n✦ Short answer ✓"), IDLE_FOOTER);
    assert_eq!(classify_turn(&turn, "Hello there"), Verdict::Idle);
    assert_eq!(extract(&turn, "Hello there"), "Short answer ✓");
}

#[test]
fn multi_line_answers_keep_blank_lines_and_lose_indentation() {
    let turn = turn_text(
        "▄▄▄
 > Second slow
▀▀▀
✦ Slow answer line one.
  Line two ✓ Grüße.

  Line four is last.",
        IDLE_FOOTER,
    );
    assert_eq!(
        extract(&turn, "Second slow"),
        "Slow answer line one.\nLine two ✓ Grüße.\n\nLine four is last."
    );
}

#[test]
fn wrapped_paragraph_rows_are_joined() {
    let rows = "✦ This is a long paragraph that should wrap in the terminal because it is much longer than two hundred and twenty columns, so the CLI has to break it into several rows; the driver should put the rows back together into
  one line of text again. This is a long paragraph that should wrap in the terminal because it is much longer than two hundred and twenty columns, so the CLI has to break it into several rows; the driver should put the
  rows back together into one line of text again. This is a long paragraph that should wrap in the terminal because it is much longer than two hundred and twenty columns, so the CLI has to break it into several rows; the
  driver should put the rows back together into one line of text again.";
    let turn = turn_text(&format!("▄▄▄\n > Fourth para\n▀▀▀\n{rows}"), IDLE_FOOTER);
    let sentence = "This is a long paragraph that should wrap in the terminal because it is much longer than two hundred and twenty columns, so the CLI has to break it into several rows; the driver should put the rows back together into one line of text again.";
    assert_eq!(
        extract(&turn, "Fourth para"),
        [sentence, sentence, sentence].join(" ")
    );
}

#[test]
fn markdown_padding_is_removed() {
    let turn = turn_text(
        "▄▄▄
 > Fifth markdown
▀▀▀
✦  - item one
   - item two

   1 code line
   1. first
   2. second",
        IDLE_FOOTER,
    );
    assert_eq!(
        extract(&turn, "Fifth markdown"),
        "- item one\n- item two\n\n1 code line\n1. first\n2. second"
    );
}

#[test]
fn multi_line_echo_is_found_and_skipped() {
    let turn = turn_text(
        "▄▄▄
 > First line ✓
   second line Grüße

   fourth
▀▀▀
✦ Hello from the fake model.",
        IDLE_FOOTER,
    );
    let message = "First line ✓\nsecond line Grüße\n\nfourth";
    assert_eq!(classify_turn(&turn, message), Verdict::Idle);
    assert_eq!(extract(&turn, message), "Hello from the fake model.");
}

#[test]
fn answer_longer_than_the_classifier_window_is_judged_without_its_echo() {
    let rows: Vec<String> = (60..=500).map(|i| format!("  Long line {i}")).collect();
    let turn = turn_text(&format!("  Long line 59\n{}", rows.join("\n")), IDLE_FOOTER);
    assert_eq!(classify_turn(&turn, "Third long"), Verdict::Idle);
}

const CONTEXT_ERROR_TURN: &str = "▄▄▄
 > too long
▀▀▀
✕ [API Error: {\"error\":{\"code\":400,\"message\":\"The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}]


ℹ This request failed. Press F12 for diagnostics, or run /settings and change \"Error Verbosity\" to full for full details.";

#[test]
fn context_error_that_ends_the_turn_is_context_exhausted() {
    let turn = turn_text(CONTEXT_ERROR_TURN, IDLE_FOOTER);
    let Verdict::ContextExhausted { message } = classify_turn(&turn, "too long") else {
        panic!("not context exhausted");
    };
    assert!(message.starts_with("✕ [API Error:"), "{message}");
    assert!(message.contains("exceeds the maximum number of tokens allowed"));
}

#[test]
fn old_errors_and_quoted_markers_do_not_decide() {
    // The error belongs to an earlier turn; this turn's lines start below it.
    let screen = format!(
        "{HEADER}\n{CONTEXT_ERROR_TURN}\n▄▄▄\n > again\n▀▀▀\n✦ After the error ✓{IDLE_FOOTER}"
    );
    let turn = turn_text("▄▄▄\n > again\n▀▀▀\n✦ After the error ✓", IDLE_FOOTER);
    assert_eq!(
        classify(&screen, Some((&turn, Some("again")))),
        Verdict::Idle
    );
    // A reply quoting the busy marker and the error text is a reply.
    let quoting = turn_text(
        "▄▄▄\n > quote\n▀▀▀\n✦ Gemini shows ⠋ Thinking... (esc to cancel, 2s) while busy.\n  \
         ✕ the input exceeds the maximum number of tokens allowed",
        IDLE_FOOTER,
    );
    assert_eq!(classify_turn(&quoting, "quote"), Verdict::Idle);
}

#[test]
fn cancelled_turn_ends_with_its_note() {
    let turn = turn_text(
        "▄▄▄\n > hang please\n▀▀▀\n\nℹ Request cancelled.",
        IDLE_FOOTER,
    );
    assert_eq!(classify_turn(&turn, "hang please"), Verdict::Idle);
    assert_eq!(extract(&turn, "hang please"), "ℹ Request cancelled.");
}

#[test]
fn tool_activity_is_kept_without_its_box() {
    let turn = turn_text(
        "▄▄▄
 > run a tool
▀▀▀
╭──────────────────────────────────────────────────────────
│ ✓  Shell touch fake-tool-file.txt
│
│
╰──────────────────────────────────────────────────────────
✦ Done with the tool ✓",
        IDLE_FOOTER,
    );
    assert_eq!(classify_turn(&turn, "run a tool"), Verdict::Idle);
    assert_eq!(
        extract(&turn, "run a tool"),
        "✓  Shell touch fake-tool-file.txt\nDone with the tool ✓"
    );
}

#[test]
fn a_dialog_is_a_question() {
    let trust = format!(
        "{HEADER}
ℹ Skipping project agents due to untrusted folder. To enable, ensure that the project root is trusted.
 ╭────────────────────────────────────────────────
 │
 │ Do you trust the files in this folder?
 │
 │ ● 1. Trust folder (work)
 │   2. Trust parent folder (agentshim-live-gemini-vBkPdM)
 │   3. Don't trust
 ╰────────────────────────────────────────────────"
    );
    let trust = classify(&trust, None).expect_question();
    assert!(
        trust
            .prompt
            .contains("Do you trust the files in this folder?"),
        "{trust:?}"
    );
}

#[test]
fn accepted_once_the_echo_or_the_spinner_shows() {
    let typed = snapshot(&format!(
        "{HEADER}{}",
        IDLE_FOOTER.replace(">   Type your message or @path/to/file", "> Hello there")
    ));
    let cleared = snapshot(&format!("{HEADER}{IDLE_FOOTER}"));
    let echoed = snapshot(&format!(
        "{HEADER}\n{HELLO_ECHO}\n✦ Short answer ✓{IDLE_FOOTER}"
    ));
    let spinning = snapshot(&format!("{HEADER}\n{HELLO_ECHO}{SPINNER_FOOTER}"));
    assert!(!GeminiDriver.accepted(&typed, &cleared));
    assert!(GeminiDriver.accepted(&typed, &echoed));
    assert!(GeminiDriver.accepted(&typed, &spinning));
    // The same text typed again: only a new echo counts, not the old one.
    let typed_again = snapshot(&format!(
        "{HEADER}\n{HELLO_ECHO}\n✦ Short answer ✓{}",
        IDLE_FOOTER.replace(">   Type your message or @path/to/file", "> Hello there")
    ));
    assert!(!GeminiDriver.accepted(&typed_again, &echoed));
}

#[test]
fn turns_start_at_the_top_of_the_live_region() {
    let screen = snapshot(&format!("{HEADER}{IDLE_FOOTER}"));
    let rows = lines(&format!("{HEADER}{IDLE_FOOTER}"));
    let start = usize::from(GeminiDriver.turn_start_row(&screen));
    assert_eq!(rows[start - 1], "4. Be specific for the best results");
    assert!(rows[start].is_empty());
    // No input box: the cursor's row.
    let blank = snapshot("\n\n");
    assert_eq!(GeminiDriver.turn_start_row(&blank), blank.cursor_row);
}

#[test]
fn exit_is_ctrl_c_twice_and_once_more_to_cancel_a_turn() {
    assert_eq!(
        GeminiDriver.exit_request(ShimState::Idle),
        [b"\x03", b"\x03"]
    );
    assert_eq!(GeminiDriver.exit_request(ShimState::Working).len(), 3);
}

#[test]
fn the_hook_status_line_is_live_chrome() {
    // After the turn (seen live at the Completion): Gemini shows the hooks that ran until 3 s
    // after each started, without the spinner; `BeforeAgent`'s is still there.
    let footer = IDLE_FOOTER.replace(
        "\n                                                                            ? for shortcuts",
        "\n  Executing Hooks: agentshim, agentshim (1/2), user-hook (2/2)               ? for shortcuts",
    );
    let turn = turn_text(&format!("{HELLO_ECHO}\n✦ Short answer ✓"), &footer);
    assert_eq!(classify_turn(&turn, "Hello there"), Verdict::Idle);
    assert_eq!(extract(&turn, "Hello there"), "Short answer ✓");
    // During the turn, after the spinner: still working.
    let busy = SPINNER_FOOTER.replace("Thinking...", "Executing Hook: agentshim");
    let turn = turn_text(HELLO_ECHO, &busy);
    assert_eq!(classify_turn(&turn, "Hello there"), Verdict::Working);
    assert!(!is_hook_status("✦ Executing Hook: is what Gemini says"));
}

#[test]
fn gemini_gets_its_hooks_in_a_system_defaults_file() {
    let mut process = ProcessSpec {
        program: "/opt/bin/gemini".into(),
        args: Vec::new(),
        cwd: None,
        env_set: Vec::new(),
        env_remove: Vec::new(),
        rows: 50,
        cols: 220,
        files: Vec::new(),
    };
    GeminiDriver.prepare_process(&mut process);
    let [file] = process.files.as_slice() else {
        panic!("one file: {:?}", process.files);
    };
    assert_eq!(file.variable, "GEMINI_CLI_SYSTEM_DEFAULTS_PATH");
    assert!(
        file.root_owned,
        "Gemini reads system settings only from root's files"
    );
    assert!(process.args.is_empty(), "nothing on the command line");
    let settings: serde_json::Value = serde_json::from_str(&file.contents).unwrap();
    let hooks = settings["hooks"].as_object().unwrap();
    let events: Vec<&str> = hooks.keys().map(String::as_str).collect();
    assert_eq!(events, ["AfterAgent", "BeforeAgent", "Notification"]);
    let hook = &hooks["AfterAgent"][0]["hooks"][0];
    assert_eq!(hook["type"], "command");
    assert_eq!(hook["name"], HOOK_NAME);
    let command = hook["command"].as_str().unwrap();
    assert_eq!(
        command,
        crate::shim::marks::status_command(ProgramStatus::Done, "gemini-hook")
    );
    // Nothing but the hooks: every other setting stays the user's.
    assert_eq!(settings.as_object().unwrap().len(), 1);

    // Not a wrapper script whose arguments mean something else.
    let mut wrapper = ProcessSpec {
        program: "run-gemini.sh".into(),
        files: Vec::new(),
        ..process
    };
    GeminiDriver.prepare_process(&mut wrapper);
    assert!(wrapper.files.is_empty());
}

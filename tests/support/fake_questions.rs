//! The fake agent's permission prompt per kind (drawn by `tests/bin/fake_agent_screens.py`),
//! for the question tests over the shim API and over gRPC: a script whose first reply asks to
//! run `touch approved.txt`, and what the question, its options and a key-only answer are.

use serde_json::{Value, json};

/// The file the approved command creates in the agent's working directory.
pub const FILE: &str = "approved.txt";
/// The command the fake agent asks to run.
pub const COMMAND: &str = "touch approved.txt";
/// The answer after an approval.
pub const APPROVED_TEXT: &str = "Created the file.";

/// The first message gets a permission prompt for [`COMMAND`]; later ones are echoed back.
pub fn approval_script() -> Value {
    json!({
        "replies": [{"approval": {"command": COMMAND}, "text": APPROVED_TEXT, "delay": 0.2}],
        "default": {"text": "You said: {message}", "delay": 0.1},
    })
}

/// The permission prompt of one kind, as `InputRequested` must report it.
pub struct Permission {
    /// Lines the prompt must contain.
    pub prompt_parts: Vec<&'static str>,
    pub options: Vec<String>,
    /// The option that refuses (1-based).
    pub no: u32,
    /// Named keys that answer the prompt, and whether that answer approves.
    pub keys: (&'static str, bool),
}

impl Permission {
    /// The prompt of `kind`; Claude names the project directory, `work` (the fake agent's
    /// working directory, `FakeAgent::workdir`).
    pub fn of(kind: &str) -> Self {
        let (prompt_parts, options, no, keys): (Vec<&str>, Vec<String>, u32, _) = match kind {
            "claude" => (
                vec!["Bash command", COMMAND, "Do you want to proceed?"],
                vec![
                    "Yes".into(),
                    "Yes, and always allow access to work/ from this project".into(),
                    "No".into(),
                ],
                3,
                ("<Down><Enter>", true),
            ),
            "codex" => (
                vec![
                    "Would you like to run the following command?",
                    "$ touch approved.txt",
                ],
                vec![
                    "Yes, proceed (y)".into(),
                    format!(
                        "Yes, and don't ask again for commands that start with `{COMMAND}` (p)"
                    ),
                    "No, and tell Codex what to do differently (esc)".into(),
                ],
                3,
                ("<Esc>", false),
            ),
            "gemini" => (
                vec![COMMAND, "Allow execution of [Shell]?"],
                vec![
                    "Allow once".into(),
                    "Allow for this session".into(),
                    "No, suggest changes (esc)".into(),
                ],
                3,
                ("<Down><Enter>", true),
            ),
            "kiro" => (
                vec!["Allow this action?", "[y/n/t]:"],
                vec!["y".into(), "n".into(), "t".into()],
                2,
                ("t<Enter>", true),
            ),
            other => panic!("no fake permission prompt for {other}"),
        };
        Self {
            prompt_parts,
            options,
            no,
            keys,
        }
    }

    /// Panics unless `prompt` and `options` are this question's.
    #[track_caller]
    pub fn check(&self, prompt: &str, options: &[String]) {
        for part in &self.prompt_parts {
            assert!(
                prompt.contains(part),
                "{part:?} not in the prompt {prompt:?}"
            );
        }
        assert_eq!(options, self.options, "options of {prompt:?}");
    }

    /// The text of the refusing option.
    pub fn no_text(&self) -> &str {
        &self.options[self.no as usize - 1]
    }
}

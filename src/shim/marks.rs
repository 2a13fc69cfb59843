//! What a program tells its terminal about its own state, read from the operating-system
//! commands it prints: OSC 133 semantic prompts (FinalTerm / iTerm2 / VS Code / WezTerm shell
//! integration: `A` prompt start, `B` input start, `C` command output start, `D;EXIT` command
//! finished), OSC 7501 status records (`state=idle|working|done|blocked|error`) and OSC 9;4
//! progress. The screen's callbacks parse them at their exact place in the byte stream, with
//! the cursor's position there; the core fuses them with the screen.

/// One mark a program printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// OSC 133;A: a prompt starts here.
    PromptStart,
    /// OSC 133;B: the prompt ends; input goes here.
    InputStart,
    /// OSC 133;C: the command line was read; its output starts here.
    CommandStart,
    /// OSC 133;D[;EXIT]: the command finished, with its exit code when given.
    CommandEnd { exit_code: Option<i32> },
    /// OSC 7501 `state=...`: the state the program declares.
    Status(ProgramStatus),
    /// OSC 9;4;STATE[;PERCENT]: progress (0 clears it).
    Progress { state: u8, percent: Option<u8> },
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PromptStart => f.write_str("OSC 133;A"),
            Self::InputStart => f.write_str("OSC 133;B"),
            Self::CommandStart => f.write_str("OSC 133;C"),
            Self::CommandEnd {
                exit_code: Some(code),
            } => write!(f, "OSC 133;D;{code}"),
            Self::CommandEnd { exit_code: None } => f.write_str("OSC 133;D"),
            Self::Status(status) => write!(f, "OSC 7501 state={}", status.name()),
            Self::Progress { state, .. } => write!(f, "OSC 9;4;{state}"),
        }
    }
}

impl ProgramStatus {
    /// The name as OSC 7501 writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Working => "working",
            Self::Done => "done",
            Self::Blocked => "blocked",
            Self::Error => "error",
        }
    }
}

/// A shell command that a hook of the agent (a child process without the terminal, whose
/// parent is the agent) runs to declare `status` on the agent's terminal: it writes the OSC
/// 7501 record to the agent's own stdout, which is the shim's PTY, so the record arrives in
/// order with the agent's screen output.
pub fn status_command(status: ProgramStatus, source: &str) -> String {
    format!(
        "printf '\\033]7501;state={};source={source}\\007' > /proc/$PPID/fd/1 2>/dev/null || true",
        status.name()
    )
}

/// The states a program declares with OSC 7501.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramStatus {
    Idle,
    Working,
    Done,
    Blocked,
    Error,
}

/// A mark and where the cursor was when it came: an absolute row (rows that scrolled off the
/// top count) and a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedMark {
    pub mark: Mark,
    pub row: u64,
    pub col: u16,
}

impl Mark {
    /// The mark an OSC's parameters (split at `;`, as vt100 reports them) carry, if any.
    pub fn parse(params: &[&[u8]]) -> Option<Self> {
        let text = |index: usize| params.get(index).and_then(|p| std::str::from_utf8(p).ok());
        match (text(0)?, text(1)) {
            ("133", Some(kind)) => match kind {
                "A" => Some(Self::PromptStart),
                "B" => Some(Self::InputStart),
                "C" => Some(Self::CommandStart),
                "D" => Some(Self::CommandEnd {
                    exit_code: text(2).and_then(|code| code.trim().parse().ok()),
                }),
                _ => None,
            },
            ("7501", _) => params[1..].iter().find_map(|param| {
                let value = std::str::from_utf8(param).ok()?.strip_prefix("state=")?;
                let status = [
                    ProgramStatus::Idle,
                    ProgramStatus::Working,
                    ProgramStatus::Done,
                    ProgramStatus::Blocked,
                    ProgramStatus::Error,
                ]
                .into_iter()
                .find(|status| status.name() == value)?;
                Some(Self::Status(status))
            }),
            ("9", Some("4")) => Some(Self::Progress {
                state: text(2)?.parse().ok()?,
                percent: text(3).and_then(|p| p.parse().ok()),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(osc: &str) -> Option<Mark> {
        let params: Vec<&[u8]> = osc.split(';').map(str::as_bytes).collect();
        Mark::parse(&params)
    }

    #[test]
    fn semantic_prompt_marks() {
        assert_eq!(parse("133;A"), Some(Mark::PromptStart));
        assert_eq!(parse("133;B"), Some(Mark::InputStart));
        assert_eq!(parse("133;C"), Some(Mark::CommandStart));
        assert_eq!(
            parse("133;D;130"),
            Some(Mark::CommandEnd {
                exit_code: Some(130)
            })
        );
        assert_eq!(parse("133;D"), Some(Mark::CommandEnd { exit_code: None }));
        // Options after the kind (`A;aid=1`, `D;0;err=x`) are allowed.
        assert_eq!(parse("133;A;aid=14"), Some(Mark::PromptStart));
        assert_eq!(parse("133;Z"), None);
        assert_eq!(parse("133"), None);
    }

    #[test]
    fn a_status_command_prints_the_record_it_parses_to() {
        let command = status_command(ProgramStatus::Done, "test-hook");
        let output = std::process::Command::new("sh")
            .args(["-c", &command.replace("/proc/$PPID/fd/1", "/dev/stdout")])
            .output()
            .unwrap();
        assert_eq!(output.stdout, b"\x1b]7501;state=done;source=test-hook\x07");
    }

    #[test]
    fn status_progress_and_other_oscs() {
        assert_eq!(
            parse("7501;state=working"),
            Some(Mark::Status(ProgramStatus::Working))
        );
        assert_eq!(
            parse("7501;kind=turn;state=done"),
            Some(Mark::Status(ProgramStatus::Done))
        );
        assert_eq!(parse("7501;state=sleepy"), None);
        assert_eq!(
            parse("9;4;1;42"),
            Some(Mark::Progress {
                state: 1,
                percent: Some(42)
            })
        );
        assert_eq!(parse("9;a notification"), None);
        assert_eq!(parse("0;window title"), None);
        assert_eq!(parse("10;?"), None);
    }
}

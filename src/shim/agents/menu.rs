//! Questions an agent waits on (permission prompts, menus, `[y/n]` questions), read from its
//! screen: [`InputPrompt`] and the numbered-menu reader the drivers share.
//!
//! A numbered menu is a run of option lines `1. text`, `2. text`, … (each possibly led by the
//! highlight marker of the CLI, `❯`, `›`, `●` or `>`), below the lines that ask the question.
//! Lines indented deeper than the first option between options describe the option above; what
//! follows the options (key hints such as `Esc to cancel`) is not part of the prompt.

/// A question on screen and its choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPrompt {
    /// The question as shown, with the lines that say what it concerns (a command, a tool),
    /// one screen line per text line.
    pub prompt: String,
    /// The choices in order, without their numbering.
    pub options: Vec<String>,
    /// The choice highlighted now (0-based), when the menu marks one.
    pub selected: Option<usize>,
}

impl InputPrompt {
    /// A question with no choices to pick (answered with raw keys).
    pub fn question(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            options: Vec::new(),
            selected: None,
        }
    }
}

/// The keys that move a menu's highlight from its selected option to `option` (0-based) with
/// the arrow keys and take it with Enter; `None` when the menu marks no selection.
pub fn arrow_keys(prompt: &InputPrompt, option: usize) -> Option<Vec<u8>> {
    let selected = prompt.selected?;
    let (arrow, steps): (&[u8], usize) = if option >= selected {
        (b"\x1b[B", option - selected)
    } else {
        (b"\x1b[A", selected - option)
    };
    Some([arrow.repeat(steps), b"\r".to_vec()].concat())
}

/// Highlight markers CLIs put before the selected option.
const MARKERS: &[char] = &['❯', '›', '●', '>', '▶'];

/// One option line: its number, its text and whether it is highlighted.
fn option_line(line: &str) -> Option<(usize, &str, bool)> {
    let trimmed = line.trim();
    let (marked, rest) = match trimmed.strip_prefix(MARKERS) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed),
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let number = rest[..digits].parse().ok()?;
    let text = rest[digits..].strip_prefix(". ")?.trim();
    (!text.is_empty()).then_some((number, text, marked))
}

/// Whether `line` is an option line of a numbered menu (`1. text`, maybe highlighted).
pub fn is_option_line(line: &str) -> bool {
    option_line(line).is_some()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Reads the numbered menu in `lines` (screen lines of the dialog, borders removed): the
/// prompt is the non-blank lines above option 1 (`keep` filters out chrome among them), the
/// options the run `1. … n.` that follows. `None` without such a run.
pub fn numbered_menu(lines: &[&str], keep: impl Fn(&str) -> bool) -> Option<InputPrompt> {
    let first = lines
        .iter()
        .rposition(|line| option_line(line).is_some_and(|(n, _, _)| n == 1))?;
    let mut options = Vec::new();
    let mut selected = None;
    let option_indent = indent(lines[first]);
    for line in &lines[first..] {
        if line.trim().is_empty() {
            continue;
        }
        match option_line(line) {
            Some((number, text, marked)) if number == options.len() + 1 => {
                if marked {
                    selected = Some(options.len());
                }
                options.push(text.to_owned());
            }
            None if indent(line) > option_indent => {}
            _ => break,
        }
    }
    let prompt: Vec<&str> = lines[..first]
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty() && keep(line))
        .collect();
    Some(InputPrompt {
        prompt: prompt.join("\n"),
        options,
        selected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_numbered_menu_with_its_highlight() {
        let lines = [
            " Bash command",
            "",
            "   touch fake-tool-file.txt",
            " Do you want to proceed?",
            " ❯ 1. Yes",
            "   2. Yes, and always allow access to work/ from this project",
            "   3. No",
            "",
            " Esc to cancel · Tab to amend",
        ];
        let menu = numbered_menu(&lines, |_| true).unwrap();
        assert_eq!(
            menu.prompt,
            "Bash command\ntouch fake-tool-file.txt\nDo you want to proceed?"
        );
        assert_eq!(
            menu.options,
            [
                "Yes",
                "Yes, and always allow access to work/ from this project",
                "No"
            ]
        );
        assert_eq!(menu.selected, Some(0));
    }

    #[test]
    fn the_last_menu_counts_and_numbering_must_run_from_one() {
        let lines = [
            "● Steps: 1. build 2. test",
            "1. an old list",
            "2. in the transcript",
            "Pick one?",
            "  1. Keep trying",
            "› 2. Stop",
            "  4. not part of it",
        ];
        let menu = numbered_menu(&lines, |line| !line.starts_with('●')).unwrap();
        assert_eq!(menu.options, ["Keep trying", "Stop"]);
        assert_eq!(menu.selected, Some(1));
        assert!(menu.prompt.ends_with("Pick one?"), "{}", menu.prompt);
        assert!(numbered_menu(&["no menu here", "2. two"], |_| true).is_none());
    }

    #[test]
    fn deeper_indented_lines_describe_the_option_above() {
        let lines = [
            "  Choose how you want to use Codex.",
            "> 1. Sign in with ChatGPT",
            "     Usage included with Plus plans",
            "",
            "  2. Sign in with Device Code",
            "  Press enter to continue",
        ];
        let menu = numbered_menu(&lines, |_| true).unwrap();
        assert_eq!(
            menu.options,
            ["Sign in with ChatGPT", "Sign in with Device Code"]
        );
        assert_eq!(menu.prompt, "Choose how you want to use Codex.");
    }
}

//! Named keys for raw input (`Command::SendKeys`): a key spec such as `y<Enter>`, `<Down><Down>
//! <Enter>` or `<C-c>` becomes a list of [`Key`]s, and each key becomes the bytes a terminal
//! (xterm) sends for it.
//!
//! Plain text passes through as UTF-8. Key names sit in angle brackets and are case-insensitive:
//! `<Enter>` (`<CR>`, `<Return>`), `<Esc>`, `<Tab>`, `<S-Tab>` (`<BackTab>`), `<BS>`
//! (`<Backspace>`), `<Del>`, `<Space>`, `<Up>`, `<Down>`, `<Left>`, `<Right>`, `<Home>`, `<End>`,
//! `<PageUp>`, `<PageDown>`, `<Insert>`, `<F1>`..`<F12>`, `<C-a>`..`<C-z>` and the other
//! control characters (`<C-@>`, `<C-[>`, `<C-\>`, `<C-]>`, `<C-^>`, `<C-_>`, `<C-Space>`),
//! `<M-x>`/`<A-x>` (Alt: an ESC prefix, on a character or any named key), and `<lt>` for a
//! literal `<`. A `<` that does not start a known key name is an error, never typed.
//!
//! Cursor keys (arrows, Home, End) depend on the terminal's cursor-key mode (DECCKM, which
//! `vt100::Screen::application_cursor` reports): `ESC O x` in application mode, `ESC [ x`
//! otherwise.

use thiserror::Error;

/// A few valid names, for error messages.
const EXAMPLES: &str = "<Enter>, <Esc>, <Tab>, <S-Tab>, <BS>, <Up>, <Down>, <PageUp>, <F1>, \
                        <C-c>, <M-x>, <Space>, <lt>";

/// One key press, or a run of plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Text typed as it is (UTF-8).
    Text(String),
    /// A key with a name of its own.
    Named(NamedKey),
    /// A control character (Ctrl plus a key): its byte, 0x00..=0x1f or 0x7f.
    Control(u8),
    /// Alt (Meta) plus a key: ESC, then the key.
    Alt(Box<Key>),
}

/// Keys with names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKey {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Space,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Insert,
    /// F1..=F12.
    F(u8),
}

/// A key spec that cannot be parsed. Nothing of it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeysError {
    #[error(
        "unknown key `<{token}>` at byte {offset}; valid keys include {EXAMPLES} \
         (write <lt> for a literal `<`)"
    )]
    UnknownKey { token: String, offset: usize },
    #[error(
        "`<` at byte {offset} does not start a key name (no closing `>`); \
         write <lt> for a literal `<`, or a key such as {EXAMPLES}"
    )]
    Unclosed { offset: usize },
}

/// Parses a key spec: text with `<Name>` keys. Consecutive text is one [`Key::Text`].
pub fn parse_keys(spec: &str) -> Result<Vec<Key>, KeysError> {
    let mut keys = Vec::new();
    let mut text = String::new();
    let mut rest = spec;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let offset = spec.len() - rest.len() + open;
        let after = &rest[open + 1..];
        let close = after.find('>').ok_or(KeysError::Unclosed { offset })?;
        let token = &after[..close];
        if token.contains('<') {
            return Err(KeysError::Unclosed { offset });
        }
        match named_key(token) {
            Some(Key::Text(literal)) => text.push_str(&literal),
            Some(key) => {
                if !text.is_empty() {
                    keys.push(Key::Text(std::mem::take(&mut text)));
                }
                keys.push(key);
            }
            None => {
                return Err(KeysError::UnknownKey {
                    token: token.to_owned(),
                    offset,
                });
            }
        }
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        keys.push(Key::Text(text));
    }
    Ok(keys)
}

/// The bytes of a whole key sequence, for a terminal in `application_cursor` mode or not.
pub fn encode_keys(keys: &[Key], application_cursor: bool) -> Vec<u8> {
    keys.iter()
        .flat_map(|key| key.bytes(application_cursor))
        .collect()
}

impl Key {
    /// The bytes a terminal sends for this key (`application_cursor`: DECCKM is set).
    pub fn bytes(&self, application_cursor: bool) -> Vec<u8> {
        match self {
            Key::Text(text) => text.as_bytes().to_vec(),
            Key::Named(named) => named.bytes(application_cursor),
            Key::Control(byte) => vec![*byte],
            Key::Alt(key) => [b"\x1b".as_slice(), &key.bytes(application_cursor)].concat(),
        }
    }
}

impl NamedKey {
    /// The bytes xterm sends for this key.
    pub fn bytes(self, application_cursor: bool) -> Vec<u8> {
        let cursor = |final_byte: u8| {
            let intro = if application_cursor { b'O' } else { b'[' };
            vec![0x1b, intro, final_byte]
        };
        let tilde = |code: u8| format!("\x1b[{code}~").into_bytes();
        match self {
            NamedKey::Enter => b"\r".to_vec(),
            NamedKey::Esc => b"\x1b".to_vec(),
            NamedKey::Tab => b"\t".to_vec(),
            NamedKey::BackTab => b"\x1b[Z".to_vec(),
            NamedKey::Backspace => b"\x7f".to_vec(),
            NamedKey::Delete => tilde(3),
            NamedKey::Space => b" ".to_vec(),
            NamedKey::Up => cursor(b'A'),
            NamedKey::Down => cursor(b'B'),
            NamedKey::Right => cursor(b'C'),
            NamedKey::Left => cursor(b'D'),
            NamedKey::Home => cursor(b'H'),
            NamedKey::End => cursor(b'F'),
            NamedKey::Insert => tilde(2),
            NamedKey::PageUp => tilde(5),
            NamedKey::PageDown => tilde(6),
            NamedKey::F(n @ 1..=4) => vec![0x1b, b'O', b'P' + (n - 1)],
            NamedKey::F(n) => tilde(match n {
                5 => 15,
                6 => 17,
                7 => 18,
                8 => 19,
                9 => 20,
                10 => 21,
                11 => 23,
                _ => 24,
            }),
        }
    }
}

/// The key a name in brackets stands for (without the brackets); `<lt>` is `Key::Text("<")`.
fn named_key(token: &str) -> Option<Key> {
    let lower = token.to_ascii_lowercase();
    if let Some(base) = lower.strip_prefix("c-") {
        return control(base).map(Key::Control);
    }
    if lower.starts_with("m-") || lower.starts_with("a-") {
        // The base keeps its case: <M-a> and <M-A> are different keys.
        let base = &token[2..];
        let key = match named_key(base) {
            Some(key) => key,
            None if base.chars().count() == 1 => Key::Text(base.to_owned()),
            None => return None,
        };
        return Some(Key::Alt(Box::new(key)));
    }
    if lower == "lt" {
        return Some(Key::Text("<".to_owned()));
    }
    plain_name(&lower).map(Key::Named)
}

/// A named key without modifiers, from its lower-case name.
fn plain_name(lower: &str) -> Option<NamedKey> {
    Some(match lower {
        "enter" | "cr" | "return" => NamedKey::Enter,
        "esc" | "escape" => NamedKey::Esc,
        "tab" => NamedKey::Tab,
        "s-tab" | "backtab" => NamedKey::BackTab,
        "bs" | "backspace" => NamedKey::Backspace,
        "del" | "delete" => NamedKey::Delete,
        "space" => NamedKey::Space,
        "up" => NamedKey::Up,
        "down" => NamedKey::Down,
        "left" => NamedKey::Left,
        "right" => NamedKey::Right,
        "home" => NamedKey::Home,
        "end" => NamedKey::End,
        "pageup" | "pgup" => NamedKey::PageUp,
        "pagedown" | "pgdn" => NamedKey::PageDown,
        "insert" | "ins" => NamedKey::Insert,
        _ => {
            let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
            (1..=12).contains(&n).then_some(NamedKey::F(n))?
        }
    })
}

/// The control byte of Ctrl plus `base` (lower-case): letters, `@ [ \ ] ^ _ ?` and `space`.
fn control(base: &str) -> Option<u8> {
    if base == "space" {
        return Some(0);
    }
    let &[byte] = base.as_bytes() else {
        return None;
    };
    match byte {
        b'a'..=b'z' => Some(byte - b'a' + 1),
        b'@' => Some(0),
        b'[' | b'\\' | b']' | b'^' | b'_' => Some(byte - b'@'),
        b'?' => Some(0x7f),
        _ => None,
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;

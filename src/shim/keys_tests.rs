//! Unit tests of key specs: parsing, byte encoding in both cursor-key modes, and errors.

use super::*;

fn bytes(spec: &str) -> Vec<u8> {
    encode_keys(&parse_keys(spec).unwrap(), false)
}

fn app_bytes(spec: &str) -> Vec<u8> {
    encode_keys(&parse_keys(spec).unwrap(), true)
}

#[test]
fn plain_text_passes_through_as_utf8() {
    assert_eq!(
        bytes("hello, wörld ✓ 日本"),
        "hello, wörld ✓ 日本".as_bytes()
    );
    assert_eq!(bytes("a > b"), b"a > b");
    assert_eq!(parse_keys("").unwrap(), Vec::<Key>::new());
}

#[test]
fn text_runs_and_keys_alternate() {
    assert_eq!(
        parse_keys("y<Enter>ok<lt>3<Esc>").unwrap(),
        vec![
            Key::Text("y".into()),
            Key::Named(NamedKey::Enter),
            Key::Text("ok<3".into()),
            Key::Named(NamedKey::Esc),
        ]
    );
}

#[test]
fn names_are_case_insensitive_with_aliases() {
    for spec in ["<Enter>", "<ENTER>", "<enter>", "<CR>", "<Return>", "<cr>"] {
        assert_eq!(bytes(spec), b"\r", "{spec}");
    }
    for spec in ["<S-Tab>", "<s-tab>", "<BackTab>"] {
        assert_eq!(bytes(spec), b"\x1b[Z", "{spec}");
    }
    for spec in ["<BS>", "<Backspace>", "<bs>"] {
        assert_eq!(bytes(spec), b"\x7f", "{spec}");
    }
    assert_eq!(bytes("<Esc><Tab><Space><Del>"), b"\x1b\t \x1b[3~");
}

#[test]
fn cursor_keys_follow_the_cursor_key_mode() {
    assert_eq!(
        bytes("<Up><Down><Right><Left>"),
        b"\x1b[A\x1b[B\x1b[C\x1b[D"
    );
    assert_eq!(
        app_bytes("<Up><Down><Right><Left>"),
        b"\x1bOA\x1bOB\x1bOC\x1bOD"
    );
    assert_eq!(bytes("<Home><End>"), b"\x1b[H\x1b[F");
    assert_eq!(app_bytes("<Home><End>"), b"\x1bOH\x1bOF");
}

#[test]
fn editing_and_function_keys() {
    assert_eq!(
        bytes("<Insert><PageUp><PageDown>"),
        b"\x1b[2~\x1b[5~\x1b[6~"
    );
    assert_eq!(app_bytes("<PageUp>"), b"\x1b[5~");
    assert_eq!(bytes("<F1><F2><F3><F4>"), b"\x1bOP\x1bOQ\x1bOR\x1bOS");
    assert_eq!(
        bytes("<F5><F6><F7><F8>"),
        b"\x1b[15~\x1b[17~\x1b[18~\x1b[19~"
    );
    assert_eq!(
        bytes("<F9><F10><F11><F12>"),
        b"\x1b[20~\x1b[21~\x1b[23~\x1b[24~"
    );
    assert_eq!(bytes("<f12>"), b"\x1b[24~");
}

#[test]
fn control_characters() {
    assert_eq!(bytes("<C-a>"), [0x01]);
    assert_eq!(bytes("<C-c><c-C>"), [0x03, 0x03]);
    assert_eq!(bytes("<C-z>"), [0x1a]);
    assert_eq!(bytes("<C-@><C-Space>"), [0x00, 0x00]);
    assert_eq!(
        bytes("<C-[><C-\\><C-]><C-^><C-_>"),
        [0x1b, 0x1c, 0x1d, 0x1e, 0x1f]
    );
    assert_eq!(bytes("<C-?>"), [0x7f]);
}

#[test]
fn alt_prefixes_escape_and_keeps_the_case_of_its_character() {
    assert_eq!(bytes("<M-x>"), b"\x1bx");
    assert_eq!(bytes("<A-x>"), b"\x1bx");
    assert_eq!(bytes("<M-X>"), b"\x1bX");
    assert_eq!(bytes("<M-é>"), "\x1bé".as_bytes());
    assert_eq!(bytes("<M-Enter>"), b"\x1b\r");
    assert_eq!(bytes("<M-C-x>"), [0x1b, 0x18]);
    assert_eq!(app_bytes("<A-Up>"), b"\x1b\x1bOA");
    assert_eq!(bytes("<M-lt>"), b"\x1b<");
}

#[test]
fn unknown_names_are_errors_naming_the_token() {
    let err = parse_keys("ok<Entr>").unwrap_err();
    assert_eq!(
        err,
        KeysError::UnknownKey {
            token: "Entr".into(),
            offset: 2
        }
    );
    let message = err.to_string();
    assert!(message.contains("<Entr>"), "{message}");
    assert!(
        message.contains("<Enter>") && message.contains("<lt>"),
        "{message}"
    );
    for bad in [
        "<>", "<F0>", "<F13>", "<C-1>", "<C-ab>", "<M->", "<M-foo>", "< b >",
    ] {
        assert!(
            matches!(parse_keys(bad), Err(KeysError::UnknownKey { .. })),
            "{bad}"
        );
    }
}

#[test]
fn a_lone_angle_bracket_is_an_error_not_text() {
    assert_eq!(
        parse_keys("if a < b").unwrap_err(),
        KeysError::Unclosed { offset: 5 }
    );
    assert_eq!(
        parse_keys("<<Enter>").unwrap_err(),
        KeysError::Unclosed { offset: 0 }
    );
    let message = parse_keys("x<").unwrap_err().to_string();
    assert!(
        message.contains("byte 1") && message.contains("<lt>"),
        "{message}"
    );
}

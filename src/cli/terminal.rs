//! This process's own terminal, for the commands that hand it to a program (`record`,
//! `attach`): its size, raw mode restored on every way out, and the keys typed on it.

use anyhow::Context;
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use tokio::sync::mpsc;

/// Keys typed on this terminal, read by a thread of their own (a blocking read of a terminal
/// cannot be cancelled; the thread ends with the process).
pub(super) fn stdin_keys() -> mpsc::UnboundedReceiver<Vec<u8>> {
    let (keys_tx, keys_rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdin.read(&mut buffer) {
            if n == 0 || keys_tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    keys_rx
}

/// This terminal's `(rows, cols)`, when stdin is a terminal.
pub(super) fn terminal_size() -> Option<(u16, u16)> {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct passed by pointer.
    let ok = unsafe { nix::libc::ioctl(0, nix::libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

/// This terminal in raw mode until dropped (a panic unwinding through its owner included).
pub(super) struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub(super) fn enable() -> anyhow::Result<Self> {
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).context("cannot set raw mode")?;
        Ok(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

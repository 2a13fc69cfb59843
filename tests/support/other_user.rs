//! Another local user for the security tests: commands run as `nobody` (uid and gid 65534, no
//! supplementary groups, no capabilities), to prove that such a user is kept out. Switching
//! users needs root; without it the tests are skipped loudly, and they fail when `CI` is set.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};

/// The uid (and gid) of `nobody`.
pub const NOBODY: u32 = 65534;

/// Whether this test process can run commands as another user; says so loudly when not.
pub fn available() -> bool {
    let root = Uid::effective().is_root();
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "the security tests need root to run commands as another user"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n*** SKIPPED: not root, so no command can run as another user ***\n"
        );
    }
    root
}

/// Makes `command` run as `nobody`.
pub fn as_nobody(command: &mut Command) -> &mut Command {
    // SAFETY: between fork and exec the hook only makes three system calls, which allocate
    // nothing and take no lock.
    unsafe {
        command.pre_exec(|| {
            setgroups(&[])?;
            setgid(Gid::from_raw(NOBODY))?;
            setuid(Uid::from_raw(NOBODY))?;
            Ok(())
        })
    }
}

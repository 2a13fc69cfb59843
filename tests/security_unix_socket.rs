//! Unix sockets of `agentshim serve --listen unix:PATH` and `agentshim shim --socket PATH`:
//! created 0600 even under umask 000, so another local user cannot connect; only a stale socket
//! at PATH is replaced (a regular file, a directory or a live socket is an error naming PATH,
//! and stays as it was); and Python's grpcio reaches the server's socket as it is, with
//! `grpc.insecure_channel('unix:PATH')` (grpcurl: `grpcurl_cli.rs`).

use crate::support::cli as cli_common;
use crate::support::other_user;
use crate::support::serve_process;
use crate::support::standard_clients;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::eventually::eventually_blocking;
use cli_common::{BIN, cli_command, run};
use serve_process::{ServeProcess, TempDir};

/// `sh -c 'umask 000; exec agentshim ARGS...'`.
fn under_umask_000(args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", "umask 000; exec \"$0\" \"$@\"", BIN])
        .args(args);
    command
}

/// The shim `agentshim shim --socket PATH -- bash` under umask 000, once it accepts there.
struct SocketShim {
    child: Child,
}

impl SocketShim {
    fn start(path: &Path) -> Self {
        let socket = path.to_str().unwrap();
        let mut command = under_umask_000(&["shim", "--socket", socket, "--", "bash", "--norc"]);
        command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let mut child = command.spawn().expect("start agentshim shim");
        eventually_blocking(
            || format!("no socket at {path:?}"),
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("agentshim shim exited with {status:?} before listening");
                }
                std::os::unix::net::UnixStream::connect(path).ok()
            },
        );
        Self { child }
    }
}

impl Drop for SocketShim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o777
}

/// Connects to the socket at `path` as another user; returns the error.
fn connect_as_nobody(path: &Path) -> String {
    let mut command = Command::new("python3");
    command.args([
        "-c",
        "import socket, sys\n\
         s = socket.socket(socket.AF_UNIX)\n\
         try: s.connect(sys.argv[1]); print('connected')\n\
         except OSError as e: print(e.strerror)",
        path.to_str().unwrap(),
    ]);
    other_user::as_nobody(&mut command);
    run(command).stdout.trim().to_owned()
}

#[test]
fn sockets_are_0600_under_umask_000_and_closed_to_other_users() {
    let dir = TempDir::new("socket-mode");
    let server_socket = dir.join("server.sock");
    let listen = format!("unix:{}", server_socket.display());
    let server = ServeProcess::spawn(under_umask_000(&[
        "serve",
        "--listen",
        &listen,
        "--config",
        &dir.config(),
    ]));
    assert_eq!(server.addr, listen);
    assert_eq!(mode(&server_socket), 0o600, "the server's socket");

    let shim_socket = dir.join("shim.sock");
    let _shim = SocketShim::start(&shim_socket);
    assert_eq!(mode(&shim_socket), 0o600, "the shim's socket");

    // Nothing but the sockets is left in the directory (the staging directory is gone).
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["agentshim.toml", "server.sock", "shim.sock"]);

    if other_user::available() {
        for socket in [&server_socket, &shim_socket] {
            assert_eq!(connect_as_nobody(socket), "Permission denied", "{socket:?}");
        }
    }
}

/// Runs `agentshim ARGS` expecting it to refuse to start; returns its stderr.
fn refused(args: &[&str]) -> String {
    let mut command = cli_command(args);
    command.env("RUST_LOG", "warn");
    let outcome = run(command);
    outcome.expect_err(&format!("{args:?}")).to_owned()
}

#[test]
fn only_a_stale_socket_is_replaced() {
    let dir = cli_common::scratch_dir("stale-only");
    let victim = dir.join("victim.conf");
    std::fs::write(&victim, "data\n").unwrap();
    let shown = victim.display().to_string();
    let listen = format!("unix:{shown}");
    for args in [
        &["serve", "--listen", &listen][..],
        &["shim", "--socket", &shown, "--", "bash"][..],
    ] {
        let stderr = refused(args);
        assert!(
            stderr.contains(&shown) && stderr.contains("a regular file"),
            "{args:?}: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "data\n");
    }
    let subdir = dir.join("subdir");
    std::fs::create_dir(&subdir).unwrap();
    let stderr = refused(&["shim", "--socket", subdir.to_str().unwrap(), "--", "bash"]);
    assert!(stderr.contains("a directory"), "{stderr}");
    assert!(subdir.is_dir());

    // A live socket is kept, and its shim keeps serving.
    let live = dir.join("live.sock");
    let shim = SocketShim::start(&live);
    let stderr = refused(&["shim", "--socket", live.to_str().unwrap(), "--", "bash"]);
    assert!(stderr.contains("already listening"), "{stderr}");
    std::os::unix::net::UnixStream::connect(&live).expect("the live shim still accepts");

    // Killed, the shim leaves its socket behind: that stale socket is replaced.
    drop(shim);
    assert!(
        std::fs::symlink_metadata(&live).is_ok(),
        "a stale socket is left"
    );
    let _replacement = SocketShim::start(&live);
    std::os::unix::net::UnixStream::connect(&live).expect("the new shim accepts");
    let _ = std::fs::remove_dir_all(dir);
}

/// A Python program using grpcio against `unix:PATH`, as a user would write it, with the
/// requests encoded by hand (no generated stubs needed): health, CreateShim, SendMessage with
/// `wait`. Prints one line per answer.
const GRPCIO_CLIENT: &str = r#"
import sys, grpc
channel = grpc.insecure_channel("unix:" + sys.argv[1])
def call(method, request):
    stub = channel.unary_unary(method, request_serializer=bytes, response_deserializer=bytes)
    return stub(request, timeout=30)
def field(number, text):
    data = text.encode()
    return bytes([number << 3 | 2, len(data)]) + data
print("health", call("/grpc.health.v1.Health/Check", b"").hex())
created = call("/agentshim.v1.AgentShimService/CreateShim", field(1, "py1") + field(2, "bash"))
print("created", b"py1" in created)
sent = call("/agentshim.v1.AgentShimService/SendMessage",
            field(1, "py1") + field(3, "echo from-python-$((6*7))") + bytes([5 << 3, 1]))
print("answered", b"from-python-42" in sent)
"#;

#[test]
fn python_grpcio_works_over_the_unix_socket_as_it_is() {
    if !standard_clients::python_grpcio() {
        return;
    }
    let dir = TempDir::new("grpcio-unix");
    let socket: PathBuf = dir.join("agentshim.sock");
    let listen = format!("unix:{}", socket.display());
    let mut command = Command::new(BIN);
    command.args(["serve", "--listen", &listen, "--config", &dir.config()]);
    let _server = ServeProcess::spawn(command);

    let mut client = Command::new("python3");
    client.args(["-c", GRPCIO_CLIENT, socket.to_str().unwrap()]);
    let outcome = run(client);
    // Health's answer is `status: SERVING` (field 1, value 1).
    assert_eq!(
        outcome.stdout, "health 0801\ncreated True\nanswered True\n",
        "{outcome:?}"
    );
}

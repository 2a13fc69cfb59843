//! Nobody but the server's own user gets into a default `agentshim serve` (loopback, no token
//! configured): it generates a token into a 0600 file of a 0700 runtime directory, which the
//! CLI and the Rust client read by themselves, so the README's commands work with no flags,
//! while another local user is refused (and cannot read the file). Servers side by side have a
//! file each, named after the listen address, removed when that server stops. `--no-auth` is
//! an explicit, loudly logged opt-out. A runtime directory that is not private is refused.

use crate::support::cli as cli_common;
use crate::support::other_user;
use crate::support::serve_process;
use crate::support::server as server_support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agentshim::client::{Client, ConnectOptions};
use agentshim::server::{ListenAddr, ServerOptions, bind};
use cli_common::{BIN, Server, cli_command, run};
use serve_process::{ServeProcess, TempDir};
use server_support::{assert_status, connect_anonymous, test_options, test_profiles};
use tonic::Code;

/// The mode bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").mode() & 0o7777
}

/// Where a server with `XDG_RUNTIME_DIR=runtime` listening on `addr` keeps its token.
fn token_file(runtime: &Path, addr: &str) -> PathBuf {
    let (ip, port) = addr.rsplit_once(':').expect("IP:PORT");
    runtime
        .join("agentshim/tokens")
        .join(format!("{ip}-{port}"))
}

#[test]
fn the_default_server_lets_its_user_in_and_keeps_another_user_out() {
    if !other_user::available() {
        return;
    }
    let server = Server::start("default-auth", &[], &[]);
    let file = token_file(&server.dir, &server.addr);
    let token = std::fs::read_to_string(&file).expect("the server wrote its token");
    assert!(
        token.trim().len() == 64 && token.trim().chars().all(|c| c.is_ascii_hexdigit()),
        "{token:?}"
    );
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&server.dir.join("agentshim")), 0o700);
    assert_eq!(mode(&server.dir.join("agentshim/tokens")), 0o700);

    // The README's commands, with no token anywhere.
    let spawned = server.cli(&["spawn", "bash", "--id", "work"]);
    assert_eq!(spawned.expect_ok("spawn with no flags"), "work\n");
    let answer = server.cli(&["send", "work", "echo hi", "--wait"]);
    assert_eq!(answer.expect_ok("send --wait with no flags"), "hi\n");

    // Another local user: refused by the server, and the token file is closed to it.
    let as_nobody = |args: &[&str]| {
        let mut command = cli_command(args);
        command.args(["--addr", &server.addr]);
        other_user::as_nobody(&mut command);
        run(command)
    };
    let listed = as_nobody(&["ls"]);
    let stderr = listed.expect_err("ls as another user").to_lowercase();
    assert!(stderr.contains("unauthenticated"), "{listed:?}");
    let spawned = as_nobody(&["spawn", "bash", "--id", "intruder"]);
    spawned.expect_err("spawn as another user");
    let mut cat = Command::new("cat");
    cat.arg(&file).stdin(Stdio::null());
    other_user::as_nobody(&mut cat);
    let read = run(cat);
    assert!(
        read.stderr.contains("Permission denied") && !read.stdout.contains(token.trim()),
        "{read:?}"
    );

    let listed = server.cli(&["ls"]);
    let listed = listed.expect_ok("ls");
    assert!(
        listed.contains("work") && !listed.contains("intruder"),
        "{listed}"
    );
}

/// `agentshim serve --listen 127.0.0.1:0` with `XDG_RUNTIME_DIR=runtime`.
fn serve_in(runtime: &Path, config: &str) -> ServeProcess {
    let mut command = Command::new(BIN);
    command.env("XDG_RUNTIME_DIR", runtime);
    command.args(["serve", "--listen", "127.0.0.1:0", "--config", config]);
    ServeProcess::spawn(command)
}

#[tokio::test]
async fn servers_side_by_side_have_a_token_file_each_removed_when_they_stop() {
    let dir = TempDir::new("side-by-side");
    let config = dir.config();
    let mut first = serve_in(&dir.0, &config);
    let second = serve_in(&dir.0, &config);
    let first_token = first.generated_token();
    let second_token = second.generated_token();
    assert_ne!(first_token, second_token);
    let first_file = token_file(&dir.0, &first.addr);
    let second_file = token_file(&dir.0, &second.addr);
    assert!(first_file.exists() && second_file.exists());

    let reach = |addr: &str| {
        let mut command = cli_command(&["ls", "--addr", addr]);
        command.env("XDG_RUNTIME_DIR", &dir.0);
        run(command)
    };
    reach(&first.addr).expect_ok("ls on the first server");
    reach(&second.addr).expect_ok("ls on the second server");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let (status, _) = first.wait_within(server_support::TIMEOUT).await;
    assert!(status.success(), "{status:?}");
    assert!(
        !first_file.exists(),
        "the stopped server's token file is gone"
    );
    assert!(second_file.exists(), "the running server's stays");
    reach(&second.addr).expect_ok("ls on the second server");
}

#[test]
fn no_auth_is_an_explicit_opt_out_and_says_so() {
    if !other_user::available() {
        return;
    }
    let server = Server::start("no-auth", &[], &["--no-auth"]);
    assert!(!server.dir.join("agentshim").exists(), "no token file");
    assert!(
        server.log().contains("AUTHENTICATION IS OFF"),
        "{}",
        server.log()
    );
    let mut command = cli_command(&["ls", "--addr", &server.addr]);
    other_user::as_nobody(&mut command);
    run(command).expect_ok("with --no-auth, any local user gets in");
    let conflict = run(cli_command(&["serve", "--no-auth", "--token", "x"]));
    conflict.expect_err("--no-auth with a token");
}

#[test]
fn a_runtime_directory_that_is_not_private_is_refused() {
    let scratch = cli_common::scratch_dir("unsafe-runtime");
    let runtime = scratch.join("agentshim");
    let serve = || {
        let mut command = cli_command(&["serve", "--listen", "127.0.0.1:0"]);
        command.env("XDG_RUNTIME_DIR", &scratch);
        run(command)
    };

    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = serve();
    let stderr = open.expect_err("a 0755 runtime directory");
    assert!(
        stderr.contains(&runtime.display().to_string()) && stderr.contains("0755"),
        "{open:?}"
    );
    assert!(!open.stdout.contains("listening"), "{open:?}");

    if other_user::available() {
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&runtime, Some(other_user::NOBODY), Some(other_user::NOBODY))
            .unwrap();
        let squatted = serve();
        let stderr = squatted.expect_err("a runtime directory of another user");
        assert!(
            stderr.contains(&format!("owned by uid {}", other_user::NOBODY)),
            "{squatted:?}"
        );
    }

    std::fs::remove_dir(&runtime).unwrap();
    std::os::unix::fs::symlink(&scratch, &runtime).unwrap();
    let linked = serve();
    assert!(
        linked
            .expect_err("a symlinked runtime directory")
            .contains("symbolic link"),
        "{linked:?}"
    );
    let _ = std::fs::remove_dir_all(scratch);
}

#[tokio::test]
async fn the_library_default_is_a_generated_token_its_client_finds() {
    let mut options = ServerOptions::new(ListenAddr::Tcp("127.0.0.1:0".parse().unwrap()));
    options.profiles = test_profiles();
    options.state_dir = test_options().state_dir;
    options.shim_program = test_options().shim_program;
    let server = bind(options).await.expect("bind");
    let file = server
        .token_file()
        .expect("a generated token file")
        .to_owned();
    assert_eq!(mode(&file), 0o600);
    let url = format!("http://{}", server.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(server.serve(async move {
        let _ = stop_rx.await;
    }));

    let mut anonymous = connect_anonymous(&url).await;
    assert_status(
        anonymous.list_shims().await,
        Code::Unauthenticated,
        &["authorization: Bearer"],
    );
    let mut client = Client::connect(&url, ConnectOptions::default())
        .await
        .expect("connect");
    client
        .list_shims()
        .await
        .expect("the client found the token");
    let localhost = url.replace("127.0.0.1", "localhost");
    let mut by_name = Client::connect(&localhost, ConnectOptions::default())
        .await
        .expect("connect");
    by_name
        .list_shims()
        .await
        .expect("by the name localhost too");

    let _ = stop_tx.send(());
    served.await.unwrap().expect("serve");
    assert!(!file.exists(), "the token file goes with the server");
}

//! Every shim of a server runs in an `agentshim shim` process of its own: in a session of its
//! own, as the agent's parent, with its spec, socket and log in a private directory of the
//! server's state directory, which goes once the shim is deleted. A shim process killed from
//! outside is reported dead (a `Warning` saying why, then `Died`) while the server and its
//! other shims go on; a shim process that cannot start its agent fails the CreateShim with the
//! agent's own error and leaves nothing behind.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use agentshim::rpc::ShimState;
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::shim::process_tracking::procfs;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tonic::Code;

use crate::support::eventually::eventually;
use crate::support::serve_process::shim_processes_in;
use crate::support::server::{
    Events, TestServer, assert_status, create_ready, send_wait, test_options,
};

/// The shim directories in `state_dir`.
fn shim_dirs(state_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(state_dir.join("shims"))
        .expect("the shims directory")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    dirs.sort();
    dirs
}

#[tokio::test]
async fn each_shim_runs_in_a_process_of_its_own_and_leaves_nothing_once_deleted() {
    let options = test_options();
    let state_dir = options.state_dir.clone().expect("a state directory");
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let info = create_ready(&mut client, "own").await;

    let shims = shim_processes_in(&state_dir);
    let [shim] = shims[..] else {
        panic!("one shim process: {shims:?}");
    };
    let shim_stat = procfs::stat_of(shim).expect("the shim process runs");
    assert_eq!(
        shim_stat.session, shim,
        "the shim process leads a session of its own"
    );
    assert_ne!(
        shim_stat.session,
        procfs::stat_of(std::process::id() as i32).unwrap().session
    );
    let agent = procfs::stat_of(info.pid as i32).expect("the agent runs");
    assert_eq!(agent.parent, shim, "the shim process is the agent's parent");

    let [dir] = &shim_dirs(&state_dir)[..] else {
        panic!("one shim directory");
    };
    for (file, mode) in [("spec.json", 0o100600), ("shim.sock", 0o140600)] {
        let meta = std::fs::symlink_metadata(dir.join(file)).expect(file);
        assert_eq!(meta.mode(), mode, "{file}");
    }
    assert_eq!(std::fs::metadata(dir).unwrap().mode() & 0o777, 0o700);
    let spec = std::fs::read_to_string(dir.join("spec.json")).unwrap();
    assert!(spec.contains(r#""id": "own""#), "{spec}");
    assert_eq!(send_wait(&mut client, "own", "echo hi").await, "hi");

    client.delete_shim("own").await.expect("DeleteShim");
    eventually(
        || {
            format!(
                "shim processes {:?}, dirs {:?}",
                shim_processes_in(&state_dir),
                shim_dirs(&state_dir)
            )
        },
        || {
            (shim_processes_in(&state_dir).is_empty() && shim_dirs(&state_dir).is_empty())
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_shim_process_killed_from_outside_is_dead_and_the_others_go_on() {
    let options = test_options();
    let state_dir = options.state_dir.clone().expect("a state directory");
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let lost = create_ready(&mut client, "lost").await;
    let before = shim_processes_in(&state_dir);
    create_ready(&mut client, "kept").await;
    let mut events = Events::open(&mut client, "lost", 0).await;
    let [shim] = before[..] else {
        panic!("one shim process: {before:?}");
    };

    kill(Pid::from_raw(shim), Signal::SIGKILL).expect("kill the shim process");
    let warning = events.warning().await;
    assert!(warning.contains("the shim process is gone"), "{warning}");
    events
        .wait_for("Died", |event| matches!(event, Pb::Died(_)))
        .await;

    let listed = client.list_shims().await.expect("ListShims");
    let state_of = |id: &str| {
        let info = listed.iter().find(|info| info.id == id).expect(id);
        (info.state(), info.pid)
    };
    assert_eq!(state_of("lost"), (ShimState::Dead, lost.pid));
    assert_eq!(state_of("kept").0, ShimState::Idle);
    assert_eq!(send_wait(&mut client, "kept", "echo still").await, "still");
    assert_status(
        client
            .send_message("lost", "echo x", Default::default())
            .await,
        Code::Unavailable,
        &[],
    );
    client
        .delete_shim("lost")
        .await
        .expect("DeleteShim of a lost shim");
    eventually(
        || format!("dirs {:?}", shim_dirs(&state_dir)),
        || (shim_dirs(&state_dir).len() == 1).then_some(()),
    )
    .await;
}

#[tokio::test]
async fn an_agent_that_cannot_start_fails_the_create_and_leaves_nothing() {
    let mut options = test_options();
    options.allow_any_command = true;
    let state_dir = options.state_dir.clone().expect("a state directory");
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let request = agentshim::rpc::CreateShimRequest {
        id: "nothing".into(),
        profile: "bash".into(),
        command: vec!["/nonexistent/agent".into()],
        ..Default::default()
    };
    let created = client.rpc().create_shim(request).await;
    assert_status(created, Code::FailedPrecondition, &["/nonexistent/agent"]);
    assert!(shim_dirs(&state_dir).is_empty());
    assert!(shim_processes_in(&state_dir).is_empty());
}

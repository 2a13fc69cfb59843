//! Nothing an agent starts outlives it, whatever it did to get away: a `setsid` job whose
//! parent exited (re-parented away, in a session of its own), a `nohup` job, a disowned job,
//! and a daemon-style double fork that ignores SIGTERM, SIGHUP and SIGINT. Each is planted in
//! a bash shim of a real `agentshim serve`, checked by pid and start time in `/proc`, and must
//! be gone after `Kill`, `Shutdown`, `DeleteShim` and the server's SIGTERM; after the server's
//! SIGKILL, the next server on its state directory adopts the agent, and ending it there leaves
//! nothing (README, "What happens to agent processes"). Every case runs with agents in cgroups (when this host has a writable cgroup
//! v2) and with the fallback (`AGENTSHIM_CGROUP=off`: subreapers and `/proc` walks). The
//! agent's exit code is still reported, so reaping orphans steals no status from tokio.

use crate::support::serve_process;
use crate::support::server as server_support;

use std::process::Command;
use std::time::Duration;

use crate::support::procs::{Proc, assert_gone};
use agentshim::rpc::ShutdownReason;
use agentshim::shim::process_tracking::{CGROUP_VARIABLE, procfs, uses_cgroups};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serve_process::{ServeProcess, TempDir};
use server_support::{Client, TIMEOUT, connect, create_ready, send_wait};

/// How processes are tracked by the server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tracking {
    Cgroups,
    ProcessTree,
}

/// One way a process gets away from its agent.
struct Escape {
    what: &'static str,
    /// A shell command that leaves the process behind and prints `pid=PID` (from inside its
    /// new session, if it has one, so the check below never races its `setsid`).
    command: &'static str,
    /// Whether it leaves the agent's session (so no session kill finds it).
    own_session: bool,
}

const ESCAPES: &[Escape] = &[
    Escape {
        what: "setsid job whose parent exited",
        command: "(setsid sh -c 'echo pid=$$ >&3; exec sleep 1001 3>&-' \
                  3>&1 </dev/null >/dev/null 2>&1 &) | cat",
        own_session: true,
    },
    Escape {
        what: "nohup job",
        command: "nohup sleep 1002 </dev/null >/dev/null 2>&1 & echo pid=$!",
        own_session: false,
    },
    Escape {
        what: "disowned job",
        command: "sleep 1003 </dev/null >/dev/null 2>&1 & p=$!; disown; echo pid=$p",
        own_session: false,
    },
    Escape {
        what: "signal-ignoring double-forked daemon",
        command: "(trap '' TERM HUP INT; setsid sh -c 'sleep 1004 3>&- & echo pid=$! >&3' \
                  3>&1 </dev/null >/dev/null 2>&1 &) | cat",
        own_session: true,
    },
];

/// A real server with the test's bash profile and its own config directory.
struct Server {
    process: ServeProcess,
    client: Client,
    _dir: TempDir,
    /// Its state directory's, unless the test holds it.
    _state: Option<TempDir>,
}

impl Server {
    fn command(tracking: Tracking, dir: &TempDir, state: &TempDir) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentshim"));
        command
            .args(["serve", "--no-auth", "--listen", "127.0.0.1:0"])
            .args(["--config", &dir.config(), "--shutdown-timeout", "5"])
            .arg("--state-dir")
            .arg(state.join("state"));
        if tracking == Tracking::ProcessTree {
            command.env(CGROUP_VARIABLE, "off");
        }
        command
    }

    async fn start(tracking: Tracking, name: &str) -> Self {
        let state = TempDir::new("state");
        let mut server = Self::start_on(tracking, name, &state).await;
        server._state = Some(state);
        server
    }

    /// A server on the state directory in `state`.
    async fn start_on(tracking: Tracking, name: &str, state: &TempDir) -> Self {
        let dir = TempDir::new(name);
        let process = ServeProcess::spawn(Self::command(tracking, &dir, state));
        let client = connect(&format!("http://{}", process.addr)).await;
        Self {
            process,
            client,
            _dir: dir,
            _state: None,
        }
    }

    /// A bash shim `id` with every one of [`ESCAPES`] planted; returns the agent and them.
    async fn planted_shim(&mut self, id: &str) -> Vec<Proc> {
        let agent = Proc::running(create_ready(&mut self.client, id).await.pid);
        let mut procs = vec![agent];
        for escape in ESCAPES {
            let answer = send_wait(&mut self.client, id, escape.command).await;
            let what = escape.what;
            let pid = answer
                .lines()
                .find_map(|line| line.trim().strip_prefix("pid=")?.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("{what}: no pid in {answer:?}"));
            let proc = Proc::running(pid);
            let stat = procfs::stat_of(proc.pid).expect("planted process runs");
            assert_eq!(
                stat.session != agent.pid,
                escape.own_session,
                "{what}: {stat:?}"
            );
            procs.push(proc);
        }
        procs
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.process.pid()), signal).expect("signal the server");
    }

    /// Asserts that the server has reaped every child it had: no zombie is left with it.
    fn assert_no_zombie_children(&self) {
        let zombies: Vec<i32> = procfs::all_processes()
            .into_iter()
            .filter(|p| p.parent == self.process.pid() && p.is_zombie())
            .map(|p| p.pid)
            .collect();
        assert!(zombies.is_empty(), "unreaped children: {zombies:?}");
    }
}

/// The tracking modes this host can run: the fallback always, cgroups where the test process
/// could use them (the server started by the test runs as the same user in the same cgroup).
fn modes() -> Vec<Tracking> {
    let mut modes = vec![Tracking::ProcessTree];
    if uses_cgroups() {
        modes.push(Tracking::Cgroups);
    } else {
        eprintln!("no writable cgroup v2 here: only the fallback is tested");
    }
    modes
}

/// Runs `case` once per tracking mode, the modes side by side.
async fn in_every_mode<F, Fut>(case: F)
where
    F: Fn(Tracking) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures_util::future::join_all(modes().into_iter().map(case)).await;
}

#[tokio::test]
async fn kill_leaves_nothing_the_agent_started() {
    in_every_mode(|tracking| async move {
        let mut server = Server::start(tracking, "orphans-kill").await;
        let procs = server.planted_shim("victim").await;
        let exit_code = server.client.kill("victim").await.expect("Kill");
        assert_eq!(exit_code, Some(137), "{tracking:?}");
        assert_gone(&procs).await;
        server.assert_no_zombie_children();
    })
    .await;
}

#[tokio::test]
async fn shutdown_leaves_nothing_the_agent_started() {
    in_every_mode(|tracking| async move {
        let mut server = Server::start(tracking, "orphans-shutdown").await;
        let procs = server.planted_shim("polite").await;
        let exit_code = server
            .client
            .shutdown(
                "polite",
                Duration::from_secs(10),
                ShutdownReason::Unspecified,
            )
            .await
            .expect("Shutdown");
        // bash leaves on the driver's request with the status of its last command.
        assert_eq!(exit_code, Some(0), "{tracking:?}");
        assert_gone(&procs).await;
        server.assert_no_zombie_children();
    })
    .await;
}

#[tokio::test]
async fn delete_leaves_nothing_the_agent_started() {
    in_every_mode(|tracking| async move {
        let mut server = Server::start(tracking, "orphans-delete").await;
        let procs = server.planted_shim("deleted").await;
        server
            .client
            .delete_shim("deleted")
            .await
            .expect("DeleteShim");
        assert_gone(&procs).await;
        server.assert_no_zombie_children();
    })
    .await;
}

#[tokio::test]
async fn server_sigterm_leaves_nothing_any_agent_started() {
    in_every_mode(|tracking| async move {
        let mut server = Server::start(tracking, "orphans-sigterm").await;
        let mut procs = server.planted_shim("first").await;
        procs.extend(server.planted_shim("second").await);
        server.signal(Signal::SIGTERM);
        let (status, took) = server.process.wait_within(TIMEOUT).await;
        assert!(status.success(), "{tracking:?}: {status:?} after {took:?}");
        assert_gone(&procs).await;
    })
    .await;
}

#[tokio::test]
async fn server_sigkill_leaves_its_agents_to_the_next_server_which_ends_them() {
    in_every_mode(|tracking| async move {
        let state = TempDir::new("state");
        let mut crashed = Server::start_on(tracking, "orphans-sigkill", &state).await;
        let procs = crashed.planted_shim("left").await;
        crashed.signal(Signal::SIGKILL);
        let (status, _) = crashed.process.wait_within(TIMEOUT).await;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        // The next server on its state directory adopts the shim, its agent as it was.
        let mut next = Server::start_on(tracking, "orphans-sigkill-next", &state).await;
        let adopted = next.client.get_shim("left").await.expect("GetShim");
        assert_eq!(adopted.pid, procs[0].pid as u32, "{tracking:?}");
        assert!(procs.iter().all(|proc| proc.is_running()), "{tracking:?}");
        next.client.delete_shim("left").await.expect("DeleteShim");
        assert_gone(&procs).await;
    })
    .await;
}

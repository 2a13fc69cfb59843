//! A private network lab for multi-host tests: a `client` network namespace joined to each
//! `host` namespace by its own veth pair, with addresses (10.213.N.0/30) that exist only on
//! those interfaces. The namespaces have nothing else but loopback and no default route, so
//! every packet a test sends stays on interfaces the test created.
//!
//! [`Lab`] deletes its namespaces on drop, also when a test panics, after killing every process
//! still inside them; a lab that a killed test process left behind is swept by the next one.
//! Veth ends are created inside the namespaces, never in the machine's own. Needs root and
//! iproute2's `ip`; [`Lab::create`] says why it cannot when they are missing.

use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Prefix of every namespace a lab makes: `agentshim-lab-PID-...`.
const PREFIX: &str = "agentshim-lab-";

/// Where iproute2 keeps the handles of named namespaces.
const NETNS_DIR: &str = "/var/run/netns";

/// One host of the lab.
pub struct LabHost {
    /// The host's network namespace.
    pub netns: String,
    /// The host's address, on its end of the veth pair.
    pub addr: Ipv4Addr,
    /// The client's end of the veth pair to this host (in the client namespace).
    pub client_dev: String,
}

/// Namespaces joined by veth pairs; deleted on drop.
pub struct Lab {
    /// The client's namespace: loopback plus one veth per host.
    pub client: String,
    pub hosts: Vec<LabHost>,
    /// Every namespace made so far (deleted on drop, even when `create` stopped half-way).
    created: Vec<String>,
}

/// Runs `ip ARGS`; its stdout, or why it failed.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("cannot run `ip` (iproute2): {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Lab {
    /// A client namespace and `hosts` host namespaces, host `i` at 10.213.(i+1).2 reached from
    /// the client's 10.213.(i+1).1 over the client's device `to-host{i}`. `Err` says why this
    /// machine cannot make one (not root, no `ip netns`).
    pub fn create(hosts: usize) -> Result<Self, String> {
        sweep_abandoned_labs();
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let lab_id = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut lab = Self {
            client: format!("{lab_id}-client"),
            hosts: Vec::new(),
            created: Vec::new(),
        };
        lab.add_netns(&lab.client.clone())?;
        for index in 0..hosts {
            let host = LabHost {
                netns: format!("{lab_id}-host{index}"),
                addr: Ipv4Addr::new(10, 213, index as u8 + 1, 2),
                client_dev: format!("to-host{index}"),
            };
            lab.add_netns(&host.netns)?;
            let client_addr = format!("10.213.{}.1/30", index + 1);
            let host_addr = format!("{}/30", host.addr);
            let (client, dev) = (lab.client.as_str(), host.client_dev.as_str());
            ip(&[
                "-n",
                client,
                "link",
                "add",
                dev,
                "type",
                "veth",
                "peer",
                "name",
                "to-client",
                "netns",
                &host.netns,
            ])?;
            ip(&["-n", client, "addr", "add", &client_addr, "dev", dev])?;
            ip(&[
                "-n",
                &host.netns,
                "addr",
                "add",
                &host_addr,
                "dev",
                "to-client",
            ])?;
            ip(&["-n", client, "link", "set", dev, "up"])?;
            ip(&["-n", &host.netns, "link", "set", "to-client", "up"])?;
            lab.hosts.push(host);
        }
        Ok(lab)
    }

    /// [`Lab::create`], or `None` after [`skip`] said why `test` cannot run here.
    pub fn create_or_skip(hosts: usize, test: &str) -> Option<Self> {
        Self::create(hosts).map_err(|why| skip(test, &why)).ok()
    }

    fn add_netns(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name])?;
        self.created.push(name.to_owned());
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// `ip netns exec NETNS PROGRAM`: a command that runs `program` inside `netns`.
    pub fn exec(netns: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns, program]);
        command
    }

    /// Takes the client's end of the link to `host` down (the host is cut off, and nothing
    /// tells the client's open connections) or back up.
    pub fn set_link(&self, host: usize, up: bool) {
        let dev = &self.hosts[host].client_dev;
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.client, "link", "set", dev, state]).expect("set the link");
    }

    /// Checks with `ip route get`, inside the client namespace, that packets to `host` leave
    /// through the lab's own veth device, and that the namespace has no default route.
    pub fn assert_route_to(&self, host: usize) {
        let target = &self.hosts[host];
        let route = ip(&["-n", &self.client, "route", "get", &target.addr.to_string()])
            .expect("ip route get");
        assert!(
            route.contains(&format!("dev {} ", target.client_dev)),
            "packets to {} would not use the lab's {}: {route}",
            target.addr,
            target.client_dev
        );
        let default = ip(&["-n", &self.client, "route", "show", "default"]).expect("ip route");
        assert!(
            default.trim().is_empty(),
            "unexpected default route: {default}"
        );
        let links = ip(&["-n", &self.client, "-o", "link", "show"]).expect("ip link");
        for line in links.lines() {
            let name = line.split(':').nth(1).unwrap_or_default().trim();
            let name = name.split('@').next().unwrap_or_default();
            assert!(
                name == "lo" || self.hosts.iter().any(|host| host.client_dev == name),
                "the client namespace has an interface the lab did not make: {line}"
            );
        }
    }

    /// Moves the calling thread (and threads it starts afterwards) into the client namespace;
    /// the rest of the process stays where it was.
    pub fn enter_client(&self) {
        let path = format!("{NETNS_DIR}/{}", self.client);
        let handle = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns only reads the descriptor, which stays open for the call, and changes
        // nothing but the calling thread's network namespace.
        let result = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            result,
            0,
            "setns into {}: {}",
            self.client,
            std::io::Error::last_os_error()
        );
    }
}

/// Skips `test` with a loud message on stderr, or fails it when `CI` is set (CI runs as root
/// with iproute2 and openssl, so the test must run there).
pub fn skip(test: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test} cannot run: {why}");
    // Written to stderr directly: the test harness captures `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n*** SKIPPED {test}: {why}. It needs root, iproute2 (`ip netns`) and openssl ***\n"
    );
}

impl Drop for Lab {
    fn drop(&mut self) {
        for netns in self.created.iter().rev() {
            delete_netns(netns);
        }
    }
}

/// Kills every process inside `netns`, then deletes it (its veth ends go with it).
fn delete_netns(netns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", netns]) {
        for pid in pids.split_whitespace().filter_map(|pid| pid.parse().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    if let Err(error) = ip(&["netns", "delete", netns]) {
        eprintln!("multi-host lab: {error}");
    }
}

/// Deletes the namespaces of labs whose test process is gone (killed before its drop ran).
fn sweep_abandoned_labs() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for name in list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            delete_netns(name);
        }
    }
}

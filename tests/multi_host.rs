//! Many hosts, tested on one machine. Three network namespaces joined by veth pairs
//! (`support/netns.rs`): host 0 runs `agentshim serve` on 10.213.1.2 with a token, host 1 on
//! 10.213.2.2 with a token and TLS, and the client namespace drives both at once through the
//! Rust client: shims on each, messages answered, every host's events streamed and checked
//! gap-free by seq. Then host 0 is cut off (its link taken down while streaming): the client
//! reports an error for it, host 1 goes on, and once the link is back the stream resumes with
//! exactly the events it missed. Then host 1's server is killed and restarted: the client
//! reports the restart (new boot id) as a gap, the old shim as gone, and goes on with the new
//! server. Finally `examples/fleet.rs` drives both hosts. The timings are printed.
//!
//! Every packet stays on the lab's veth pairs (checked with `ip route get`). The client runs on
//! a thread moved into the client namespace with `setns`: it has its own tokio runtime, whose
//! threads all start from that thread and so live in the namespace too, while the rest of the
//! test process stays where it was; no second process is needed. Without root or `ip netns`
//! the test is skipped loudly (it fails when `CI` is set).

use crate::support::certs;
use crate::support::cli as cli_common;
#[allow(dead_code)]
#[path = "../examples/fleet.rs"]
mod fleet_example;
use crate::support::netns;
use crate::support::resume_watch;
use crate::support::serve_process;
use crate::support::server as server_support;

use std::io::Write;
use std::time::{Duration, Instant};

use agentshim::client::{Client, ConnectOptions, NewShim, ResumeItem, ResumeOptions, SendOptions};
use agentshim::rpc::EventEnvelope;
use netns::Lab;
use resume_watch::{
    Watch, completion_saying, is_disconnected, is_ended, is_restarted, is_resumed, ready_of,
};
use serve_process::{ServeProcess, TempDir};
use server_support::{BASH, TIMEOUT};

const TOKEN: &str = "multi-host-token";
const PORT: u16 = 50051;
/// The client's HTTP/2 keepalive: how soon a silent cut is noticed (about twice this).
const KEEPALIVE: Duration = Duration::from_secs(1);

/// Streams of the watch: every shim of host 0, every shim of host 1, shim `b1` of host 1.
const HOST_A: usize = 0;
const HOST_B: usize = 1;
const SHIM_B1: usize = 2;

/// Files the servers and clients share: token, config, certificates.
struct Setup {
    dir: TempDir,
    config: String,
}

impl Setup {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// `http://10.213.1.2:50051` or, with TLS, `https://10.213.2.2:50051`.
    fn url(&self, lab: &Lab, host: usize) -> String {
        let scheme = if host == HOST_B { "https" } else { "http" };
        format!("{scheme}://{}:{PORT}", lab.hosts[host].addr)
    }

    /// Starts `agentshim serve` inside host `host`'s namespace, on its lab address.
    fn start_server(&self, lab: &Lab, host: usize) -> ServeProcess {
        let mut command = Lab::exec(&lab.hosts[host].netns, cli_common::BIN);
        let listen = format!("{}:{PORT}", lab.hosts[host].addr);
        let token_file = self.path("token");
        command.args(["serve", "--listen", &listen, "--config", &self.config]);
        command.args(["--token-file", &token_file]);
        if host == HOST_B {
            command.args(["--tls-cert", &self.path("leaf.pem")]);
            command.args(["--tls-key", &self.path("leaf.key")]);
        }
        ServeProcess::spawn(command)
    }

    async fn connect(&self, lab: &Lab, host: usize) -> Client {
        let options = ConnectOptions {
            token: Some(TOKEN.into()),
            tls_ca_file: (host == HOST_B).then(|| self.path("ca.pem").into()),
            connect_timeout: Some(Duration::from_secs(5)),
            keepalive: Some(KEEPALIVE),
            ..ConnectOptions::default()
        };
        Client::connect(&self.url(lab, host), options)
            .await
            .expect("connect")
    }
}

#[test]
fn one_client_drives_two_hosts_and_rides_out_losing_each() {
    let Some(lab) = Lab::create_or_skip(2, "multi_host") else {
        return;
    };
    let dir = TempDir::new("multi-host");
    std::fs::write(dir.join("token"), TOKEN).expect("write token");
    if certs::make_certificates(&dir.0, &[&lab.hosts[HOST_B].addr.to_string()]).is_none() {
        return netns::skip("multi_host", "openssl could not make test certificates");
    }
    let setup = Setup {
        config: dir.config(),
        dir,
    };
    lab.assert_route_to(HOST_A);
    lab.assert_route_to(HOST_B);
    let mut servers = [
        setup.start_server(&lab, HOST_A),
        setup.start_server(&lab, HOST_B),
    ];
    std::thread::scope(|scope| {
        let client = scope.spawn(|| {
            lab.enter_client();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(client_side(&lab, &setup, &mut servers[HOST_B]));
        });
        if let Err(panic) = client.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// Everything the client does, from inside the client namespace; prints the timings.
async fn client_side(lab: &Lab, setup: &Setup, server_b: &mut ServeProcess) {
    let mut fleet = Fleet::connect(lab, setup).await;
    fleet.drive_both_hosts().await;
    let (cut_noticed, resumed) = fleet.cut_host_a_off_and_back().await;
    let (kill_noticed, restart_reported) = fleet.restart_host_b(server_b).await;
    fleet.watch.assert_no_gaps(HOST_A);
    fleet.watch.assert_no_gaps(HOST_B);
    run_fleet_example(lab, setup).await;
    let (min, max) = (fleet.resume.backoff_min, fleet.resume.backoff_max);
    let _ = writeln!(
        std::io::stderr().lock(),
        "multi-host timings (keepalive {KEEPALIVE:?}, reconnect backoff {min:?}..{max:?}): \
         link cut -> client error {cut_noticed:?}; link back -> stream resumed {resumed:?}; \
         server killed -> client error {kill_noticed:?}; server back -> restart reported \
         {restart_reported:?}"
    );
}

/// Sends `body` to `shim_id` and waits for the answer.
async fn ask(client: &Client, shim_id: &str, body: &str) -> String {
    let options = SendOptions {
        wait: true,
        ..SendOptions::default()
    };
    let mut client = client.clone();
    let sent = tokio::time::timeout(TIMEOUT, client.send_message(shim_id, body, options));
    let response = sent.await.expect("answer in time").expect("send_message");
    response.completion.expect("a completion").response
}

/// The client's side: one client per host and the event streams it follows.
struct Fleet<'a> {
    lab: &'a Lab,
    setup: &'a Setup,
    a: Client,
    b: Client,
    resume: ResumeOptions,
    /// Streams [`HOST_A`], [`HOST_B`] (every shim of each) and [`SHIM_B1`].
    watch: Watch,
    /// Host B's first boot id.
    boot_b: String,
}

impl<'a> Fleet<'a> {
    /// Connects to both hosts, makes shim `b1` on host B and starts following the streams.
    async fn connect(lab: &'a Lab, setup: &'a Setup) -> Self {
        let a = setup.connect(lab, HOST_A).await;
        let mut b = setup.connect(lab, HOST_B).await;
        let boot_b = b.server_info().await.expect("server info").boot_id;
        let b1 = b.create_shim(NewShim::profile(BASH).id("b1")).await;
        let b1 = b1.expect("create b1");
        assert_eq!(b1.boot_id, boot_b, "ShimInfo names its server's boot id");
        let resume = ResumeOptions {
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(1),
            max_attempts: None,
        };
        let watch = Watch::start(vec![
            a.resumable_events(None, 0, resume.clone()),
            b.resumable_events(None, 0, resume.clone()),
            b.resumable_events(Some("b1"), 0, resume.clone())
                .expecting_boot_id(&b1.boot_id),
        ]);
        Self {
            lab,
            setup,
            a,
            b,
            resume,
            watch,
            boot_b,
        }
    }

    /// Shims on both hosts, messages to both at once, answers on both streams.
    async fn drive_both_hosts(&mut self) {
        let a1 = self.a.create_shim(NewShim::profile(BASH).id("a1")).await;
        a1.expect("create a1");
        self.watch
            .wait_for(HOST_A, 0, "a1 Ready", ready_of("a1"))
            .await;
        self.watch
            .wait_for(HOST_B, 0, "b1 Ready", ready_of("b1"))
            .await;
        let answers = tokio::join!(
            ask(&self.a, "a1", "echo from-a"),
            ask(&self.b, "b1", "echo from-b")
        );
        assert_eq!(answers, ("from-a".to_owned(), "from-b".to_owned()));
        let on_a = completion_saying("from-a");
        self.watch.wait_for(HOST_A, 0, "from-a", on_a).await;
        let on_b = completion_saying("from-b");
        self.watch.wait_for(HOST_B, 0, "from-b", on_b).await;
    }

    /// Cuts host A's link while streaming; host B goes on, and something happens on host A
    /// meanwhile. Once the link is back, A's stream resumes with exactly what it missed.
    /// Returns (link cut -> stream error, link back -> stream resumed).
    async fn cut_host_a_off_and_back(&mut self) -> (Duration, Duration) {
        let cut_item = self.watch.len(HOST_A);
        let cut_at = Instant::now();
        self.lab.set_link(HOST_A, false);
        let b_meanwhile = ask(&self.b, "b1", "echo b-while-a-is-cut").await;
        assert_eq!(b_meanwhile, "b-while-a-is-cut");
        // A client inside host A's namespace still reaches its server there.
        let mut inside_a = Lab::exec(&self.lab.hosts[HOST_A].netns, cli_common::BIN);
        let addr_a = format!("{}:{PORT}", self.lab.hosts[HOST_A].addr);
        inside_a.args([
            "send",
            "a1",
            "echo a-while-cut",
            "--wait",
            "--addr",
            &addr_a,
        ]);
        inside_a
            .env("AGENTSHIM_TOKEN", TOKEN)
            .env("RUST_LOG", "off");
        let sent = tokio::task::block_in_place(|| cli_common::run(inside_a));
        assert_eq!(sent.expect_ok("send inside host A"), "a-while-cut\n");
        let (lost_item, lost_at) = self
            .watch
            .wait_for(HOST_A, cut_item, "host A's error", is_disconnected)
            .await;
        let call = self.a.clone().server_info().await;
        let call_error = call.expect_err("host A is cut off");
        let ResumeItem::Disconnected { error, .. } = self.watch.item(HOST_A, lost_item) else {
            unreachable!("is_disconnected")
        };
        eprintln!("host A cut off: its stream: {error}; a call: {call_error}");

        let up_at = Instant::now();
        self.lab.set_link(HOST_A, true);
        self.lab.assert_route_to(HOST_A);
        let (resumed_item, resumed_at) = self
            .watch
            .wait_for(HOST_A, lost_item, "host A resumed", is_resumed)
            .await;
        let &ResumeItem::Resumed { after_seq, .. } = self.watch.item(HOST_A, resumed_item) else {
            unreachable!("is_resumed")
        };
        assert_eq!(after_seq, self.watch.last_seq_before(HOST_A, resumed_item));
        let missed = completion_saying("a-while-cut");
        self.watch
            .wait_for(HOST_A, resumed_item, "a-while-cut", missed)
            .await;
        // Exactly what it missed: what a fresh stream replays after the same seq.
        let resumed = self.watch.events_from(HOST_A, resumed_item);
        let replayed = self.replay_a(after_seq, resumed.last().unwrap().seq).await;
        let resumed: Vec<EventEnvelope> = resumed.into_iter().cloned().collect();
        assert_eq!(
            resumed, replayed,
            "the resumed stream is not exactly what was missed"
        );
        (lost_at - cut_at, resumed_at - up_at)
    }

    /// Host A's events after `after_seq` up to `last_seq`, from a new stream.
    async fn replay_a(&self, after_seq: u64, last_seq: u64) -> Vec<EventEnvelope> {
        let mut stream = self.a.clone().stream_events(None, after_seq).await;
        let stream = stream.as_mut().expect("replay stream");
        let mut replayed = Vec::new();
        while replayed
            .last()
            .is_none_or(|e: &EventEnvelope| e.seq < last_seq)
        {
            let next = tokio::time::timeout(TIMEOUT, stream.next_event()).await;
            replayed.push(
                next.expect("replay in time")
                    .expect("replay")
                    .expect("more"),
            );
        }
        replayed
    }

    /// Kills host B's server while streaming; host A goes on. A new server comes up on the
    /// same address: the streams report the restart, the old shim's stream ends (NOT_FOUND),
    /// and the new server works. Returns (kill -> stream error, restart -> restart reported).
    async fn restart_host_b(&mut self, server: &mut ServeProcess) -> (Duration, Duration) {
        let (killed_item, b1_killed_item) = (self.watch.len(HOST_B), self.watch.len(SHIM_B1));
        let killed_at = Instant::now();
        server.child.kill().expect("kill host B's server");
        server.child.wait().expect("reap host B's server");
        let (_, lost_at) = self
            .watch
            .wait_for(HOST_B, killed_item, "host B's error", is_disconnected)
            .await;
        let a_meanwhile = ask(&self.a, "a1", "echo a-while-b-is-down").await;
        assert_eq!(a_meanwhile, "a-while-b-is-down");

        *server = tokio::task::block_in_place(|| self.setup.start_server(self.lab, HOST_B));
        let back_at = Instant::now();
        let (restarted_item, restarted_at) = self
            .watch
            .wait_for(HOST_B, killed_item, "host B restarted", is_restarted)
            .await;
        let new_boot = self.b.server_info().await.expect("server info").boot_id;
        assert_ne!(new_boot, self.boot_b);
        let ResumeItem::ServerRestarted {
            previous_boot_id,
            boot_id,
            ..
        } = self.watch.item(HOST_B, restarted_item)
        else {
            unreachable!("is_restarted")
        };
        assert_eq!(previous_boot_id.as_deref(), Some(self.boot_b.as_str()));
        assert_eq!(boot_id.as_deref(), Some(new_boot.as_str()));
        // The old shim's own stream: the restart, then a clear end, since the shim is gone.
        let (b1_restarted, _) = self
            .watch
            .wait_for(SHIM_B1, b1_killed_item, "b1's restart", is_restarted)
            .await;
        let (b1_end, _) = self
            .watch
            .wait_for(SHIM_B1, b1_restarted, "b1's end", is_ended)
            .await;
        let ResumeItem::Ended { error } = self.watch.item(SHIM_B1, b1_end) else {
            unreachable!("is_ended")
        };
        assert_eq!(error.code(), Some(tonic::Code::NotFound), "{error}");

        let b2 = self.b.create_shim(NewShim::profile(BASH).id("b2")).await;
        assert_eq!(b2.expect("create b2").boot_id, new_boot);
        let ready = ready_of("b2");
        self.watch
            .wait_for(HOST_B, restarted_item, "b2 Ready", ready)
            .await;
        assert_eq!(ask(&self.b, "b2", "echo b-is-back").await, "b-is-back");
        let answered = completion_saying("b-is-back");
        self.watch
            .wait_for(HOST_B, restarted_item, "b-is-back", answered)
            .await;
        (lost_at - killed_at, restarted_at - back_at)
    }
}

/// `examples/fleet.rs` against both hosts: each shim answers both messages.
async fn run_fleet_example(lab: &Lab, setup: &Setup) {
    let urls = [setup.url(lab, HOST_A), setup.url(lab, HOST_B)];
    let args = fleet_example::FleetArgs {
        servers: urls.to_vec(),
        token: Some(TOKEN.into()),
        tls_ca: Some(setup.path("ca.pem").into()),
        profile: BASH.into(),
        messages: vec!["echo fleet-one".into(), "echo fleet-two".into()],
        timeout_secs: 60,
    };
    let mut out = Vec::new();
    let ran = fleet_example::run(args, &mut out).await;
    let out = String::from_utf8(out).expect("UTF-8 output");
    ran.unwrap_or_else(|error| panic!("the fleet example failed: {error:#}; it printed:\n{out}"));
    for url in &urls {
        for answer in ["fleet-one", "fleet-two"] {
            let from_url = format!("[{url}]");
            assert!(
                out.lines()
                    .any(|line| line.starts_with(&from_url) && line.trim_end().ends_with(answer)),
                "no answer {answer:?} from {url} in:\n{out}"
            );
        }
    }
}

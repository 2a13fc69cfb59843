//! What running every shim in a process of its own costs (issue 12's "costs that must stay
//! small"), measured in one real `agentshim serve`, and the same way in a baseline server when
//! `AGENTSHIM_BENCH_BASELINE` names its binary (say a build of `e042678`, the last whose shims
//! ran inside the server), side by side as ratios:
//!
//! 1. Memory with 1, 10 and 100 idle bash shims (each has answered one `true`): the server's
//!    RSS, and its shim processes' RSS and PSS summed (a server that runs its shims itself has
//!    none). The bash agents are not counted.
//! 2. Fan-out: 100 shims × 100 subscribers (server-wide `StreamEvents`, on 4 connections).
//!    Each shim is sent 10 `echo` messages at once (they queue); every subscriber reads until it
//!    has the Completions of all 1000 (from the first event of the log, which holds them all). Reported: the events each subscriber received (all must have the
//!    same count, with no `events_lost`), and the CPU time (user + system) of the server and its
//!    shim processes from the first send until the last subscriber is done.
//!
//! Run: `cargo bench --bench fanout`, or with a baseline:
//! `AGENTSHIM_BENCH_BASELINE=/path/to/agentshim cargo bench --bench fanout`. Takes a minute.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentshim::client::{Client, NewShim, SendOptions};
use agentshim::rpc::event_envelope::Event as Pb;
use futures_util::stream::{self, StreamExt};
use support::procs::{cpu_time_total, pss_kb_total, rss_kb};
use support::serve::{BASH, Serve, bash_config, waiting};

const SHIMS: usize = 100;
const SUBSCRIBERS: usize = 100;
const CONNECTIONS: usize = 4;
const MESSAGES_PER_SHIM: usize = 10;
/// The ids of the fan-out's messages begin so.
const MESSAGE_PREFIX: &str = "fanned-";

/// A server binary and what to call it.
struct Server {
    name: &'static str,
    program: PathBuf,
}

/// Memory of a server with some idle shims, in kB.
struct Memory {
    server_rss: u64,
    shims_rss: u64,
    shims_pss: u64,
}

/// What the fan-out took.
struct FanOut {
    events_per_subscriber: Vec<u64>,
    lost_ranges: u64,
    cpu: Duration,
    took: Duration,
}

fn shim_id(n: usize) -> String {
    format!("fan-{n}")
}

/// Creates shims `fan-0..count` (8 at a time), each answering `true` once.
async fn create_idle(client: &Client, count: usize) {
    stream::iter(0..count)
        .for_each_concurrent(8, |n| {
            let mut client = client.clone();
            async move {
                let id = shim_id(n);
                client
                    .create_shim(NewShim::profile(BASH).id(&id))
                    .await
                    .expect("CreateShim");
                let answered = client.send_message(&id, "true", waiting()).await;
                assert!(answered.expect("SendMessage").completion.is_some());
            }
        })
        .await;
}

fn memory(serve: &Serve) -> Memory {
    let shims: Vec<u32> = serve.pids().into_iter().skip(1).collect();
    Memory {
        server_rss: rss_kb(serve.pid()),
        shims_rss: shims.iter().map(|&pid| rss_kb(pid)).sum(),
        shims_pss: pss_kb_total(&shims),
    }
}

async fn measure_memory(server: &Server, count: usize) -> Memory {
    let serve = Serve::start_program(&server.program, &bash_config(count));
    create_idle(&serve.client().await, count).await;
    memory(&serve)
}

/// One subscriber: reads every shim's events from the first until it has the Completion of
/// every fan-out message; (events read, lost ranges seen).
async fn subscribe(mut client: Client) -> (u64, u64) {
    let mut stream = client.stream_events(None, 0).await.expect("StreamEvents");
    let (mut events, mut lost, mut completions) = (0, 0, 0);
    while completions < SHIMS * MESSAGES_PER_SHIM {
        let envelope = stream
            .next_event()
            .await
            .expect("the stream goes on")
            .expect("an event");
        events += 1;
        match envelope.event {
            Some(Pb::Completion(completion))
                if completion
                    .message_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with(MESSAGE_PREFIX)) =>
            {
                completions += 1
            }
            Some(Pb::EventsLost(_)) => lost += 1,
            _ => {}
        }
    }
    (events, lost)
}

async fn fan_out(server: &Server) -> FanOut {
    let serve = Serve::start_program(&server.program, &bash_config(SHIMS));
    let client = serve.client().await;
    create_idle(&client, SHIMS).await;
    let mut connections = Vec::new();
    for _ in 0..CONNECTIONS {
        connections.push(serve.client().await);
    }
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|n| tokio::spawn(subscribe(connections[n % CONNECTIONS].clone())))
        .collect();
    let cpu_before = cpu_time_total(&serve.pids());
    let started = Instant::now();
    stream::iter(0..SHIMS)
        .for_each_concurrent(SHIMS, |n| {
            let mut client = client.clone();
            async move {
                for m in 0..MESSAGES_PER_SHIM {
                    let options = SendOptions {
                        message_id: Some(format!("{MESSAGE_PREFIX}{n}-{m}")),
                        ..SendOptions::default()
                    };
                    client
                        .send_message(&shim_id(n), &format!("echo fan-{n}-{m}"), options)
                        .await
                        .expect("SendMessage");
                }
            }
        })
        .await;
    let mut events_per_subscriber = Vec::new();
    let mut lost_ranges = 0;
    for subscriber in subscribers {
        let (events, lost) = subscriber.await.expect("subscriber");
        events_per_subscriber.push(events);
        lost_ranges += lost;
    }
    let took = started.elapsed();
    let cpu = cpu_time_total(&serve.pids()).saturating_sub(cpu_before);
    FanOut {
        events_per_subscriber,
        lost_ranges,
        cpu,
        took,
    }
}

#[tokio::main]
async fn main() {
    support::print_load("fanout, at the start");
    let mut servers = vec![Server {
        name: "this build",
        program: PathBuf::from(env!("CARGO_BIN_EXE_agentshim")),
    }];
    if let Some(baseline) = std::env::var_os("AGENTSHIM_BENCH_BASELINE") {
        servers.push(Server {
            name: "baseline",
            program: PathBuf::from(baseline),
        });
    }

    println!("1. memory of idle bash shims (kB; the bash processes not counted)");
    println!(
        "  {:<11} {:>6} {:>12} {:>16} {:>16} {:>18}",
        "server", "shims", "server RSS", "shim procs RSS", "shim procs PSS", "RSS+PSS per shim"
    );
    for count in [1, 10, 100] {
        for server in &servers {
            let m = measure_memory(server, count).await;
            println!(
                "  {:<11} {count:>6} {:>12} {:>16} {:>16} {:>18.0}",
                server.name,
                m.server_rss,
                m.shims_rss,
                m.shims_pss,
                (m.server_rss + m.shims_pss) as f64 / count as f64
            );
        }
    }

    println!();
    println!(
        "2. fan-out: {SHIMS} shims x {SUBSCRIBERS} subscribers, {MESSAGES_PER_SHIM} messages each"
    );
    let mut cpu = Vec::new();
    for server in &servers {
        let fan = fan_out(server).await;
        let (least, most) = (
            fan.events_per_subscriber.iter().min().copied().unwrap_or(0),
            fan.events_per_subscriber.iter().max().copied().unwrap_or(0),
        );
        println!(
            "  {:<11} events per subscriber {least}..{most} ({} in all), lost ranges {}, \
             CPU {:.2} s (server and shim processes), all read in {:.2} s",
            server.name,
            fan.events_per_subscriber.iter().sum::<u64>(),
            fan.lost_ranges,
            fan.cpu.as_secs_f64(),
            fan.took.as_secs_f64()
        );
        assert_eq!(least, most, "every subscriber receives every event");
        assert_eq!(fan.lost_ranges, 0, "no events lost");
        cpu.push(fan.cpu);
    }
    if let [ours, baseline] = cpu[..] {
        println!(
            "  CPU ratio this build / baseline: {:.2} (goal: within 1.5)",
            ours.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    support::print_load("fanout, at the end");
}

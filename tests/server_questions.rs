//! Questions end to end over real gRPC, with server profiles that run the fake agent: the
//! `agentshim` binary as a user runs it (`state` shows `awaiting_input`, `events` shows the
//! question, `answer` approves, `keys` refuses with named keys) against a real `agentshim
//! serve`, and the typed client (`Client::answer`, `Client::send_keys`) against an in-process
//! server, with the refusals: no open question, option 0 or past the last, an unknown key name,
//! an unknown shim.

use crate::support::cli as cli_common;
use crate::support::fake_agent;
use crate::support::fake_questions;
use crate::support::server as server_support;

use agentshim::client::{Client, ClientError, ConnectOptions, SendOptions};
use agentshim::rpc::ShimState;
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::server::config::ConfigFile;
use agentshim::server::profiles::Profiles;
use cli_common::{Server, json_lines};
use fake_agent::FakeAgent;
use fake_questions::{APPROVED_TEXT, COMMAND, FILE, Permission};
use serde_json::{Value, json};
use server_support::{Events, TestServer, connect, test_options};
use tonic::Code;

/// Asks to run [`COMMAND`] for the first message and `touch refused.txt` for the third; the
/// others are echoed back.
fn two_approvals() -> Value {
    json!({
        "replies": [
            {"approval": {"command": COMMAND}, "text": APPROVED_TEXT, "delay": 0.2},
            {"text": "You said: {message}", "delay": 0.1},
            {"approval": {"command": "touch refused.txt"}, "text": "Never shown.", "delay": 0.2},
        ],
        "default": {"text": "You said: {message}", "delay": 0.1},
    })
}

/// Asserts that `error` is a refusal with `code` whose message has every one of `parts`.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, ClientError>, code: Code, parts: &[&str]) {
    let error = result.expect_err("the call must fail");
    assert_eq!(error.code(), Some(code), "{error}");
    for part in parts {
        assert!(error.to_string().contains(part), "{part:?} not in {error}");
    }
}

/// The one `InputRequested` among the events, as JSON.
fn input_requested(events: &[Value]) -> &Value {
    let asked: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "InputRequested")
        .collect();
    assert_eq!(asked.len(), 1, "{events:#?}");
    asked[0]
}

#[test]
fn the_cli_shows_answers_and_refuses_questions() {
    let fake = FakeAgent::new("claude", two_approvals());
    let server = Server::start_with(
        "questions",
        "127.0.0.1:0",
        &fake.profile_toml("fake-claude"),
        &[],
        &[],
    );
    server
        .cli(&["spawn", "fake-claude", "--id", "q1"])
        .expect_ok("spawn");
    server.wait_for_state("q1", "idle");
    let refused = server.cli(&["answer", "q1", "1"]);
    let refused = refused.expect_err("answer with no question open");
    assert!(
        refused.contains("no question is waiting for an answer (FailedPrecondition)"),
        "{refused}"
    );

    let first = server.cli(&["send", "q1", "please touch a file"]);
    let first = first.expect_ok("send").trim().to_owned();
    server.wait_for_state("q1", "awaiting_input");
    let listed = json_lines(server.cli(&["ls", "--json"]).expect_ok("ls --json"));
    assert_eq!(listed[0]["state"], "awaiting_input", "{listed:?}");
    let events = json_lines(server.cli(&["events", "q1", "--json"]).expect_ok("events"));
    let asked = input_requested(&events);
    let expected = Permission::of("claude");
    let options: Vec<String> = serde_json::from_value(asked["options"].clone()).unwrap();
    expected.check(asked["prompt"].as_str().unwrap(), &options);
    let shown = server.cli(&["events", "q1"]);
    let shown = shown.expect_ok("events");
    assert!(
        shown.contains(" q1 InputRequested answer with `agentshim answer q1 1..3`\n"),
        "{shown}"
    );
    assert!(
        shown.contains("\n    Do you want to proceed?\n      1. Yes\n"),
        "{shown}"
    );

    for (args, parts) in [
        (["answer", "q1", "0"], ["pick 1 to 3", "(InvalidArgument)"]),
        (["answer", "q1", "4"], ["pick 1 to 3", "(InvalidArgument)"]),
        (
            ["keys", "q1", "<Nope>"],
            ["unknown key `<Nope>`", "(InvalidArgument)"],
        ),
        (["answer", "nope", "1"], ["\"nope\"", "(NotFound)"]),
    ] {
        let run = server.cli(&args);
        let stderr = run.expect_err(&args.join(" "));
        for part in parts {
            assert!(stderr.contains(part), "{args:?}: {part:?} not in {stderr}");
        }
    }
    let answered = server.cli(&["answer", "q1", "1", "--json"]);
    let answered = json_lines(answered.expect_ok("answer --json"));
    assert_eq!(
        answered,
        [json!({"shim_id": "q1", "option": 1, "chosen": "Yes"})]
    );
    // Sent while the answered turn may still run: queued behind it, answered after it.
    let next = server.cli(&["send", "q1", "next", "--wait"]);
    assert_eq!(next.expect_ok("send --wait"), "You said: next\n");
    assert!(fake.workdir().join(FILE).exists(), "{}", server.log());
    let events = json_lines(server.cli(&["events", "q1", "--json"]).expect_ok("events"));
    let completion = events
        .iter()
        .find(|e| e["event"] == "Completion" && e["message_id"] == first.as_str())
        .unwrap_or_else(|| panic!("no Completion of {first}: {events:#?}"));
    assert!(
        completion["response"]
            .as_str()
            .unwrap()
            .contains(APPROVED_TEXT),
        "{completion}"
    );

    // The third message asks again; named keys pick "No" (the third option).
    server
        .cli(&["send", "q1", "touch another one"])
        .expect_ok("send");
    server.wait_for_state("q1", "awaiting_input");
    let keys = server.cli(&["keys", "q1", "<Down><Down><Enter>", "--json"]);
    assert_eq!(
        json_lines(keys.expect_ok("keys --json")),
        [json!({"shim_id": "q1", "keys": "<Down><Down><Enter>"})]
    );
    let last = server.cli(&["send", "q1", "last", "--wait"]);
    assert_eq!(last.expect_ok("send --wait"), "You said: last\n");
    assert!(!fake.workdir().join("refused.txt").exists());
    assert_eq!(fake.messages().len(), 4, "{:?}", fake.messages());
}

#[tokio::test]
async fn the_typed_client_answers_and_sends_keys() {
    let script = json!({
        "replies": [
            {"approval": {"command": "touch refused.txt"}, "delay": 0.2},
            {"approval": {"command": COMMAND}, "text": APPROVED_TEXT, "delay": 0.2},
        ],
    });
    let fake = FakeAgent::new("kiro", script);
    let config: ConfigFile = toml::from_str(&fake.profile_toml("fake-kiro")).unwrap();
    let mut options = test_options();
    options.profiles = Profiles::with_config(&config).unwrap();
    let server = TestServer::start(options).await;
    let mut client = Client::connect(&server.url(), ConnectOptions::default())
        .await
        .unwrap();
    let mut stub = connect(&server.url()).await;
    let shim = client
        .create_shim(agentshim::client::NewShim::profile("fake-kiro").id("k1"))
        .await
        .unwrap();
    let mut events = Events::open(&mut stub, &shim.id, 0).await;
    events
        .wait_for("Ready", |e| matches!(e, Pb::Ready(_)))
        .await;
    assert_refused(
        client.answer("k1", 1).await,
        Code::FailedPrecondition,
        &["no question is waiting for an answer"],
    );
    assert_refused(client.answer("nope", 1).await, Code::NotFound, &["nope"]);
    assert_refused(
        client.send_keys("nope", "y").await,
        Code::NotFound,
        &["nope"],
    );

    let expected = Permission::of("kiro");
    let no = send(&mut client, "please touch a file").await;
    wait_for_question(&mut events, &expected).await;
    let state = client.get_state("k1").await.unwrap();
    assert_eq!(state.state, ShimState::AwaitingInput as i32);
    for option in [0, 4] {
        assert_refused(
            client.answer("k1", option).await,
            Code::InvalidArgument,
            &["pick 1 to 3"],
        );
    }
    assert_refused(
        client.send_keys("k1", "<Bogus>y").await,
        Code::InvalidArgument,
        &["unknown key `<Bogus>`"],
    );
    assert_eq!(client.answer("k1", expected.no).await.unwrap(), "n");
    events.completion_of(&no).await;
    assert!(!fake.workdir().join("refused.txt").exists());

    let yes = send(&mut client, "now touch it").await;
    wait_for_question(&mut events, &expected).await;
    client.send_keys("k1", "t<Enter>").await.unwrap();
    let completion = events.completion_of(&yes).await;
    assert!(
        completion.response.contains(APPROVED_TEXT),
        "{completion:?}"
    );
    assert!(fake.workdir().join(FILE).exists());
    client.delete_shim("k1").await.unwrap();
}

/// Sends `body` (not waiting) and returns its message id.
async fn send(client: &mut Client, body: &str) -> String {
    client
        .send_message("k1", body, SendOptions::default())
        .await
        .unwrap()
        .message_id
}

/// Waits for the next `InputRequested` and checks it.
async fn wait_for_question(events: &mut Events, expected: &Permission) {
    let asked = events
        .wait_for("InputRequested", |e| matches!(e, Pb::InputRequested(_)))
        .await;
    let Some(Pb::InputRequested(asked)) = asked.event else {
        unreachable!()
    };
    expected.check(&asked.prompt, &asked.options);
}

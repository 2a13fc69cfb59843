//! Every error status of the server (DESIGN rule 5), each with a message a human can act on:
//! NOT_FOUND for an unknown shim on every shim RPC, INVALID_ARGUMENT for bad sizes, ids and
//! profiles, ALREADY_EXISTS for a taken id, FAILED_PRECONDITION for a message to a dead agent,
//! RESOURCE_EXHAUSTED for a full queue or the shim limit, and PERMISSION_DENIED for a
//! client-chosen program unless the server allows any command (then it runs) and for an
//! environment variable the profile does not let clients set. Refused requests create nothing;
//! errors echo client strings escaped and bounded (a 10 KB id stays NOT_FOUND).

use crate::support::server as server_support;

use crate::support::eventually::eventually_async;
use agentshim::rpc::event_envelope::Event as Pb;
use agentshim::rpc::{
    CaptureScreenRequest, CreateShimRequest, DeleteShimRequest, GetShimRequest, GetStateRequest,
    KillRequest, ListShimsRequest, PingRequest, ResizeRequest, SendMessageRequest, ShutdownRequest,
    StreamEventsRequest,
};
use server_support::{
    Client, Events, TIMEOUT, TestServer, assert_status, bash_request, create_ready,
    create_ready_with, send, send_wait, test_options,
};
use tonic::Code;

fn message(shim_id: &str, body: &str, wait: bool) -> SendMessageRequest {
    SendMessageRequest {
        shim_id: shim_id.into(),
        sender: "test".into(),
        body: body.into(),
        message_id: String::new(),
        wait,
    }
}

async fn shim_count(client: &mut Client) -> usize {
    client
        .rpc()
        .list_shims(ListShimsRequest {})
        .await
        .unwrap()
        .into_inner()
        .shims
        .len()
}

#[tokio::test]
async fn an_unknown_shim_is_not_found_on_every_shim_rpc() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    let id = || "ghost".to_owned();
    let codes = [
        c.rpc()
            .get_shim(GetShimRequest { shim_id: id() })
            .await
            .map(drop),
        c.rpc()
            .delete_shim(DeleteShimRequest { shim_id: id() })
            .await
            .map(drop),
        c.rpc()
            .send_message(message("ghost", "echo x", false))
            .await
            .map(drop),
        c.rpc()
            .send_message(message("ghost", "echo x", true))
            .await
            .map(drop),
        c.rpc()
            .capture_screen(CaptureScreenRequest {
                shim_id: id(),
                ..Default::default()
            })
            .await
            .map(drop),
        c.rpc()
            .get_state(GetStateRequest { shim_id: id() })
            .await
            .map(drop),
        c.rpc()
            .resize(ResizeRequest {
                shim_id: id(),
                rows: 10,
                cols: 10,
            })
            .await
            .map(drop),
        c.rpc()
            .shutdown(ShutdownRequest {
                shim_id: id(),
                ..Default::default()
            })
            .await
            .map(drop),
        c.rpc().kill(KillRequest { shim_id: id() }).await.map(drop),
        c.rpc().ping(PingRequest { shim_id: id() }).await.map(drop),
        c.rpc()
            .stream_events(StreamEventsRequest {
                shim_id: id(),
                ..StreamEventsRequest::default()
            })
            .await
            .map(drop),
    ];
    for (n, result) in codes.into_iter().enumerate() {
        let status = result.expect_err("unknown shim must fail");
        assert_eq!(status.code(), Code::NotFound, "call #{n}: {status:?}");
        assert!(status.message().contains("ghost"), "call #{n}: {status:?}");
    }
}

#[tokio::test]
async fn bad_input_is_an_invalid_argument_and_creates_nothing() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    let create = |request: CreateShimRequest| {
        let mut c = c.clone();
        async move { c.rpc().create_shim(request).await }
    };
    let rows = CreateShimRequest {
        rows: 5000,
        ..bash_request("big")
    };
    assert_status(create(rows).await, Code::InvalidArgument, &["rows", "5000"]);
    let cols = CreateShimRequest {
        cols: 1001,
        ..bash_request("wide")
    };
    assert_status(create(cols).await, Code::InvalidArgument, &["cols", "1001"]);
    assert_status(
        create(bash_request("a b")).await,
        Code::InvalidArgument,
        &["\"a b\""],
    );
    for id in [".", "..", "-rf", ".hidden"] {
        assert_status(
            create(bash_request(id)).await,
            Code::InvalidArgument,
            &["invalid shim id", "starting with a letter or digit"],
        );
    }
    let missing_cwd = CreateShimRequest {
        cwd: "/nonexistent/agentshim-dir".into(),
        ..bash_request("nowhere")
    };
    assert_status(
        create(missing_cwd).await,
        Code::InvalidArgument,
        &[
            "cwd",
            "/nonexistent/agentshim-dir",
            "No such file or directory",
        ],
    );
    for key in ["", "A=B"] {
        let bad_env = CreateShimRequest {
            env: [(key.to_owned(), "x".to_owned())].into(),
            ..bash_request("env")
        };
        assert_status(
            create(bad_env).await,
            Code::InvalidArgument,
            &["environment variable name"],
        );
    }
    let too_much_history = CreateShimRequest {
        scrollback: Some(10_000_000),
        ..bash_request("hoard")
    };
    assert_status(
        create(too_much_history).await,
        Code::InvalidArgument,
        &["scrollback 10000000", "limits.max_scrollback"],
    );
    let long = "x".repeat(65);
    assert_status(
        create(bash_request(&long)).await,
        Code::InvalidArgument,
        &["64"],
    );
    let unknown = CreateShimRequest {
        profile: "nope".into(),
        ..bash_request("p")
    };
    assert_status(
        create(unknown).await,
        Code::InvalidArgument,
        &["nope", "bash", "shell"],
    );
    assert_eq!(
        shim_count(&mut c).await,
        0,
        "refused requests created a shim"
    );

    create_ready(&mut c, "sized").await;
    for (rows, cols) in [(0, 80), (24, 0), (5000, 80), (24, 5000)] {
        let resize = ResizeRequest {
            shim_id: "sized".into(),
            rows,
            cols,
        };
        assert_status(
            c.rpc().resize(resize).await,
            Code::InvalidArgument,
            &["between 1 and 1000"],
        );
    }
}

#[tokio::test]
async fn a_taken_id_already_exists_and_the_first_shim_is_untouched() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    let first = create_ready(&mut c, "twin").await;
    assert_status(
        c.rpc().create_shim(bash_request("twin")).await,
        Code::AlreadyExists,
        &["twin"],
    );
    let info = c.get_shim("twin").await.unwrap();
    assert_eq!(info.pid, first.pid);
    assert_eq!(shim_count(&mut c).await, 1);
    assert_eq!(
        send_wait(&mut c, "twin", "echo still-here").await,
        "still-here"
    );
}

#[tokio::test]
async fn a_message_to_a_dead_agent_fails_its_precondition() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    create_ready(&mut c, "gone").await;
    let killed = c
        .rpc()
        .kill(KillRequest {
            shim_id: "gone".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(killed.exit_code, Some(137));
    for wait in [false, true] {
        assert_status(
            c.rpc().send_message(message("gone", "echo x", wait)).await,
            Code::FailedPrecondition,
            &["137"],
        );
    }
}

#[tokio::test]
async fn a_waiting_send_fails_with_the_reason_when_the_agent_dies() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    create_ready(&mut c, "doomed").await;
    let mut events = Events::open(&mut c, "doomed", 0).await;
    // One message running, one queued behind it; both callers wait for their answers.
    let mut waiting = Vec::new();
    for (id, body) in [("running", "sleep 1000"), ("queued", "echo never")] {
        let mut c = c.clone();
        let request = SendMessageRequest {
            message_id: id.into(),
            ..message("doomed", body, true)
        };
        waiting.push(tokio::spawn(
            async move { c.rpc().send_message(request).await },
        ));
        if id == "running" {
            events
                .wait_for(
                    "MessageDelivered",
                    |e| matches!(e, Pb::MessageDelivered(d) if d.id == "running"),
                )
                .await;
        }
    }
    // No event says "queued": watch the count (bounded) until the second call got there.
    let queued = async || {
        let info = c.get_shim("doomed").await.unwrap();
        (info.queued_messages == 1).then_some(())
    };
    eventually_async(|| "the second message never queued".into(), queued).await;

    c.rpc()
        .kill(KillRequest {
            shim_id: "doomed".into(),
        })
        .await
        .unwrap();
    // The running message's turn is cut off; the queued one never went in.
    let outcomes = ["its turn was interrupted: killed", "not delivered: killed"];
    for ((call, id), outcome) in waiting.into_iter().zip(["running", "queued"]).zip(outcomes) {
        let result = tokio::time::timeout(TIMEOUT, call)
            .await
            .unwrap_or_else(|_| panic!("wait=true for {id} still pending after the kill"))
            .unwrap();
        let status = result.expect_err("no answer can come from a killed agent");
        assert_eq!(status.code(), Code::FailedPrecondition, "{id}: {status:?}");
        assert!(status.message().contains(id), "{id}: {status:?}");
        assert!(status.message().contains(outcome), "{id}: {status:?}");
    }
}

#[tokio::test]
async fn a_full_queue_is_resource_exhausted() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    create_ready(&mut c, "busy").await;
    let mut events = Events::open(&mut c, "busy", 0).await;
    let busy = send(&mut c, "busy", "sleep 30", "running").await;
    events
        .wait_for(
            "MessageDelivered",
            |e| matches!(e, Pb::MessageDelivered(d) if d.id == busy),
        )
        .await;
    for n in 0..16 {
        let response = c
            .rpc()
            .send_message(SendMessageRequest {
                message_id: format!("q{n}"),
                ..message("busy", &format!("echo q{n}"), false)
            })
            .await
            .unwrap_or_else(|status| panic!("message {n} refused: {status:?}"))
            .into_inner();
        assert!(response.queued, "{response:?}");
    }
    let overflow = SendMessageRequest {
        message_id: "overflow".into(),
        ..message("busy", "echo overflow", false)
    };
    assert_status(
        c.rpc().send_message(overflow).await,
        Code::ResourceExhausted,
        &["overflow", "16"],
    );
    let info = c.get_shim("busy").await.unwrap();
    assert_eq!(info.queued_messages, 16);
    c.rpc()
        .kill(KillRequest {
            shim_id: "busy".into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_chosen_command_is_refused_unless_allowed() {
    let command = ["sh", "-c", "echo from-command; PS1='cmd$ ' exec sh -i"];
    let request = CreateShimRequest {
        id: "custom".into(),
        command: command.map(String::from).to_vec(),
        ..Default::default()
    };

    let strict = TestServer::start_default().await;
    let mut c = strict.client().await;
    assert_status(
        c.rpc().create_shim(request.clone()).await,
        Code::PermissionDenied,
        &["--allow-any-command"],
    );
    assert_eq!(shim_count(&mut c).await, 0);

    let mut options = test_options();
    options.allow_any_command = true;
    let open = TestServer::start(options).await;
    let mut c = open.client().await;
    let info = create_ready_with(&mut c, request).await;
    assert_eq!(info.profile, "shell", "no profile named: the default one");
    let screen = c
        .capture_screen("custom", agentshim::client::CaptureOptions::default())
        .await
        .unwrap();
    assert!(
        screen.content.starts_with("from-command\ncmd$"),
        "{screen:?}"
    );
    assert_eq!(
        send_wait(&mut c, "custom", "echo via-$((1 + 1))").await,
        "via-2"
    );
}

#[tokio::test]
async fn clients_set_only_the_environment_their_profile_allows() {
    let server = TestServer::start_default().await;
    let mut c = server.client().await;
    for key in ["LD_PRELOAD", "NODE_OPTIONS", "PATH", "BASH_ENV"] {
        let request = CreateShimRequest {
            env: [(key.to_owned(), "/tmp/x".to_owned())].into(),
            ..bash_request("hijack")
        };
        assert_status(
            c.rpc().create_shim(request).await,
            Code::PermissionDenied,
            &[key, "env_allow"],
        );
    }
    assert_eq!(shim_count(&mut c).await, 0);
    let allowed = CreateShimRequest {
        env: [("TZ".to_owned(), "Europe/Paris".to_owned())].into(),
        ..bash_request("zoned")
    };
    create_ready_with(&mut c, allowed).await;
    assert_eq!(send_wait(&mut c, "zoned", "echo $TZ").await, "Europe/Paris");
}

#[tokio::test]
async fn operator_limits_refuse_with_their_name() {
    let mut options = test_options();
    options.limits.max_shims = 1;
    options.limits.max_message_bytes = 100;
    options.limits.max_message_id_bytes = 40;
    let server = TestServer::start(options).await;
    let mut c = server.client().await;
    create_ready(&mut c, "only").await;
    assert_status(
        c.rpc().create_shim(bash_request("second")).await,
        Code::ResourceExhausted,
        &["1 shims", "limits.max_shims"],
    );
    let mut big = message("only", &"x".repeat(101), false);
    assert_status(
        c.rpc().send_message(big.clone()).await,
        Code::InvalidArgument,
        &["message body is 101 bytes", "limit of 100"],
    );
    big.body = "echo fits".into();
    big.message_id = "i".repeat(41);
    assert_status(
        c.rpc().send_message(big).await,
        Code::InvalidArgument,
        &["message id is 41 bytes", "limit of 40"],
    );
    assert_eq!(
        send_wait(&mut c, "only", "echo still-here").await,
        "still-here"
    );

    // A huge id is echoed bounded: the status stays NOT_FOUND, not a transport error.
    let huge = "i".repeat(10_000);
    let status = c
        .rpc()
        .get_state(GetStateRequest {
            shim_id: huge.clone(),
        })
        .await
        .expect_err("no such shim");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().len() < 400, "{}", status.message().len());
    assert!(
        status.message().contains("more bytes"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_id_start_one_shim() {
    let server = TestServer::start_default().await;
    let c = server.client().await;
    let creates = (0..8).map(|_| {
        let mut c = c.clone();
        async move { c.rpc().create_shim(bash_request("contested")).await }
    });
    let results = futures_util::future::join_all(creates).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::AlreadyExists))
        .count();
    assert_eq!((created, taken), (1, 7), "{results:?}");
    let mut c = c;
    assert_eq!(shim_count(&mut c).await, 1);
}

//! The web console's server side over real HTTP and a real WebSocket, against a real server
//! and bash shims (the page itself is tested in a real browser by `tests/web/`): the token
//! traded for a session cookie and nothing of the fleet without one, calls that change
//! something only from the console's own origin, the JSON calls and their errors, the event
//! stream as Server-Sent Events resuming by `Last-Event-ID`, and a terminal observed and taken
//! over through the WebSocket.

use agentshim::server::auth::Auth;
use agentshim::web::MAX_SESSIONS;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::support::eventually::TIMEOUT;
use crate::support::http::{HttpResponse, http_request};
use crate::support::server::{TestServer, create_ready, test_options};

const TOKEN: &str = "web-s3cret";

/// A server with `TOKEN`, and its console's address.
async fn console() -> (TestServer, String) {
    let mut options = test_options();
    options.auth = Auth::Token(TOKEN.to_owned());
    options.web_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = TestServer::start(options).await;
    let url = server.web_url.clone().expect("the console is served");
    let addr = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .map(|(addr, _)| addr.to_owned())
        .expect("an http URL");
    assert_eq!(url, format!("http://{addr}/?token={TOKEN}"));
    (server, addr)
}

/// The session cookie (`name=value`) the front door gives for the token.
async fn sign_in(addr: &str) -> String {
    let door = http_request(addr, "GET", &format!("/?token={TOKEN}"), &[], "").await;
    assert_eq!(door.status, 303, "{door:?}");
    assert_eq!(door.header("location"), Some("/"));
    let cookie = door.header("set-cookie").expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {response:?}"))
}

#[tokio::test]
async fn nothing_of_the_fleet_shows_without_the_token_and_changes_come_only_from_the_page() {
    let (server, addr) = console().await;
    let mut client = crate::support::server::connect_with_token(&server.url(), TOKEN).await;
    create_ready(&mut client, "w1").await;

    for (path, headers) in [
        ("/api/shims", vec![]),
        ("/api/shims", vec![("Authorization", "Bearer wrong")]),
        (
            "/api/shims",
            vec![("Cookie", "agentshim_session_1=made-up")],
        ),
        ("/api/events", vec![]),
    ] {
        let refused = http_request(&addr, "GET", path, &headers, "").await;
        assert_eq!(refused.status, 401, "{refused:?}");
        assert_eq!(json(&refused)["code"], "UNAUTHENTICATED");
        assert!(!refused.body.contains("w1"));
    }
    for door in ["/", "/?token=wrong"] {
        let page = http_request(&addr, "GET", door, &[], "").await;
        assert_eq!(page.status, 401, "{page:?}");
        assert!(page.body.contains(r#"id="login""#) && !page.body.contains("w1"));
        assert!(page.header("set-cookie").is_none());
    }
    let wrong = http_request(&addr, "GET", "/?token=wrong", &[], "").await;
    assert!(
        wrong.body.contains("not this server"),
        "says why: {wrong:?}"
    );

    let cookie = sign_in(&addr).await;
    let page = http_request(&addr, "GET", "/", &[("Cookie", &cookie)], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="fleet""#), "the console: {page:?}");
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let listed = http_request(&addr, "GET", "/api/shims", &[("Cookie", &cookie)], "").await;
    assert_eq!(json(&listed)["shims"][0]["id"], "w1");
    assert_eq!(json(&listed)["shims"][0]["state"], "idle");

    // A change with the cookie: from the page's origin only. With the token itself: anywhere.
    let body = r#"{"body": "echo from-web"}"#;
    let path = "/api/shims/w1/messages";
    let content = ("Content-Type", "application/json");
    let origin = format!("http://{addr}");
    let foreign = [
        ("Cookie", cookie.as_str()),
        content,
        ("Origin", "http://evil.example"),
    ];
    let refused = http_request(&addr, "POST", path, &foreign, body).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    let no_origin = [("Cookie", cookie.as_str()), content];
    assert_eq!(
        http_request(&addr, "POST", path, &no_origin, body)
            .await
            .status,
        403
    );
    let page_origin = [
        ("Cookie", cookie.as_str()),
        content,
        ("Origin", origin.as_str()),
    ];
    let sent = http_request(&addr, "POST", path, &page_origin, body).await;
    assert_eq!(sent.status, 200, "{sent:?}");
    assert!(
        json(&sent)["message_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let bearer = format!("Bearer {TOKEN}");
    let program = [("Authorization", bearer.as_str()), content];
    assert_eq!(
        http_request(&addr, "POST", path, &program, body)
            .await
            .status,
        200
    );

    // Sessions are bounded: the oldest is forgotten.
    for _ in 0..MAX_SESSIONS {
        sign_in(&addr).await;
    }
    let forgotten = http_request(&addr, "GET", "/api/shims", &[("Cookie", &cookie)], "").await;
    assert_eq!(forgotten.status, 401);
}

#[tokio::test]
async fn calls_answer_in_json_and_their_errors_carry_the_grpc_code() {
    let (server, addr) = console().await;
    let mut client = crate::support::server::connect_with_token(&server.url(), TOKEN).await;
    create_ready(&mut client, "w2").await;
    let bearer = format!("Bearer {TOKEN}");
    let call = async |method: &str, path: &str, body: &str| {
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        http_request(&addr, method, path, &headers, body).await
    };
    let info = call("GET", "/api/server", "").await;
    assert_eq!(json(&info)["version"], env!("CARGO_PKG_VERSION"));
    let shim = call("GET", "/api/shims/w2", "").await;
    assert_eq!(json(&shim)["id"], "w2");
    assert!(
        json(&shim)["created_unix_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );

    for (method, path, body, status, code) in [
        ("GET", "/api/shims/nope", "", 404, "NOT_FOUND"),
        (
            "POST",
            "/api/shims/w2/answer",
            r#"{"option": 1}"#,
            409,
            "FAILED_PRECONDITION",
        ),
        (
            "GET",
            "/api/shims/w2/recording",
            "",
            409,
            "FAILED_PRECONDITION",
        ),
        ("GET", "/api/no-such-call", "", 404, "NOT_FOUND"),
    ] {
        let failed = call(method, path, body).await;
        assert_eq!(failed.status, status, "{method} {path}: {failed:?}");
        assert_eq!(json(&failed)["code"], code, "{method} {path}");
        assert!(
            json(&failed)["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty())
        );
    }
    let malformed = call("POST", "/api/shims/w2/messages", "{not json").await;
    assert_eq!(malformed.status, 400, "{malformed:?}");

    let screen = call("GET", "/api/shims/w2/screen", "").await;
    let content = json(&screen)["content"].as_str().unwrap().to_owned();
    assert!(
        content.contains(crate::support::server::PROMPT.trim_end()),
        "{content}"
    );
    let killed = call("POST", "/api/shims/w2/kill", "").await;
    assert_eq!(json(&killed)["exit_code"], 137, "{killed:?}");
}

#[tokio::test]
async fn the_event_stream_is_server_sent_events_that_resume_by_last_event_id() {
    let (server, addr) = console().await;
    let mut client = crate::support::server::connect_with_token(&server.url(), TOKEN).await;
    create_ready(&mut client, "w3").await;
    let bearer = format!("Bearer {TOKEN}");
    // The stream never ends: read what it has so far through a short-lived connection.
    let read = async |last_event_id: Option<&str>| {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut request =
            format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {bearer}\r\n");
        if let Some(id) = last_event_id {
            request.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        request.push_str("\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .unwrap();
        let reading = async {
            let mut seen = String::new();
            let mut buffer = [0u8; 4096];
            while !seen.contains(r#""to":"idle""#) {
                let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer)
                    .await
                    .unwrap();
                assert!(n > 0, "the stream ended: {seen}");
                seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
            seen
        };
        tokio::time::timeout(TIMEOUT, reading)
            .await
            .expect("a StateChanged to idle in the stream")
    };
    let all = read(None).await;
    assert!(all.contains("content-type: text/event-stream"), "{all}");
    assert!(
        all.contains("id: 1\n") && all.contains(r#""event":"Ready""#),
        "{all}"
    );
    let resumed = read(Some("1")).await;
    assert!(
        !resumed.contains("id: 1\n") && resumed.contains("id: 2\n"),
        "{resumed}"
    );
    assert!(!resumed.contains("event: reset"), "{resumed}");
    let from_elsewhere = read(Some("999999")).await;
    assert!(from_elsewhere.contains("event: reset"), "{from_elsewhere}");
    assert!(
        from_elsewhere.contains("id: 1\n"),
        "starts over: {from_elsewhere}"
    );
}

/// A WebSocket to shim `id`'s terminal with the session `cookie`, from `origin`.
async fn terminal(
    addr: &str,
    id: &str,
    mode: &str,
    cookie: &str,
    origin: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tungstenite::Error,
> {
    let url = format!("ws://{addr}/api/shims/{id}/terminal?mode={mode}&rows=24&cols=80");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    let (socket, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the WebSocket handshake answers")?;
    Ok(socket)
}

/// Reads the socket until its terminal bytes contain `wanted`; returns the JSON messages seen.
async fn read_until(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    wanted: &str,
) -> Vec<Value> {
    let mut output = Vec::new();
    let mut messages = Vec::new();
    let reading = async {
        while let Some(Ok(message)) = socket.next().await {
            match message {
                Message::Binary(bytes) => output.extend_from_slice(&bytes),
                Message::Text(text) => messages.push(serde_json::from_str(&text).unwrap()),
                _ => {}
            }
            if String::from_utf8_lossy(&output).contains(wanted) {
                return;
            }
        }
    };
    if tokio::time::timeout(TIMEOUT, reading).await.is_err() {
        panic!(
            "the terminal never showed {wanted:?}: {:?} {messages:?}",
            String::from_utf8_lossy(&output)
        );
    }
    messages
}

#[tokio::test]
async fn a_terminal_is_observed_and_taken_over_through_the_websocket() {
    let (server, addr) = console().await;
    let mut client = crate::support::server::connect_with_token(&server.url(), TOKEN).await;
    create_ready(&mut client, "w4").await;
    let cookie = sign_in(&addr).await;
    let origin = format!("http://{addr}");

    let foreign = terminal(&addr, "w4", "observe", &cookie, "http://evil.example").await;
    assert!(
        matches!(&foreign, Err(tungstenite::Error::Http(response)) if response.status() == 403),
        "{foreign:?}"
    );

    let mut observer = terminal(&addr, "w4", "observe", &cookie, &origin)
        .await
        .unwrap();
    let mut writer = terminal(&addr, "w4", "takeover", &cookie, &origin)
        .await
        .unwrap();
    let seen = read_until(&mut writer, crate::support::server::PROMPT).await;
    assert_eq!(seen[0]["type"], "attached", "{seen:?}");
    assert_eq!(seen[0]["writer"], true);
    writer
        .send(Message::Binary("echo typed-$((40+2))\r".into()))
        .await
        .unwrap();
    read_until(&mut writer, "typed-42").await;
    let seen = read_until(&mut observer, "typed-42").await;
    assert_eq!(seen[0]["type"], "attached");
    assert_eq!(seen[0]["writer"], false);

    // An observer's keys are refused, and it stays attached.
    observer.send(Message::Binary("x".into())).await.unwrap();
    writer
        .send(Message::Text(
            r#"{"type":"input","data":"echo again\r"}"#.into(),
        ))
        .await
        .unwrap();
    let seen = read_until(&mut observer, "again\r\n").await;
    assert!(seen.iter().any(|m| m["type"] == "refused"), "{seen:?}");

    writer
        .send(Message::Text(r#"{"type":"detach"}"#.into()))
        .await
        .unwrap();
    let ended = tokio::time::timeout(TIMEOUT, async {
        while let Some(Ok(message)) = writer.next().await {
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "detached" {
                    return value;
                }
            }
        }
        panic!("the socket closed without `detached`");
    })
    .await
    .expect("detached in time");
    assert!(
        ended["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{ended}"
    );

    let unknown = terminal(&addr, "nope", "observe", &cookie, &origin)
        .await
        .unwrap();
    let mut unknown = unknown;
    let Some(Ok(Message::Text(error))) = unknown.next().await else {
        panic!("no error message for an unknown shim");
    };
    let error: Value = serde_json::from_str(&error).unwrap();
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("NOT_FOUND"))
    );
}

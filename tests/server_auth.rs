//! Bearer-token authentication of the in-process server: with a token configured, a call
//! without `authorization` or with a wrong token is UNAUTHENTICATED (and does nothing), the
//! right `Bearer` token works for unary and streaming calls, and the health service answers
//! without any token. Without a token configured, calls need no header. Server reflection
//! answers in both versions, v1 and v1alpha (grpcurl 1.8.6 speaks only v1alpha), and only to
//! token holders when a token is configured.

use crate::support::server as server_support;

use agentshim::client::{Client, ConnectOptions};
use agentshim::rpc::{CreateShimRequest, ListShimsRequest};
use agentshim::server::Auth;
use server_support::{BASH, Events, TestServer, assert_status, bash_shim, send_wait, test_options};
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn token_server() -> TestServer {
    let mut options = test_options();
    options.auth = Auth::Token("secret".to_owned());
    TestServer::start(options).await
}

async fn channel(server: &TestServer) -> Channel {
    Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

/// A request carrying `authorization: <header>`.
fn with_auth<T>(message: T, header: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value: MetadataValue<_> = header.parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn without_or_with_a_wrong_token_calls_are_unauthenticated() {
    let server = token_server().await;
    let mut client = server.client().await;
    assert_status(
        client.list_shims().await,
        Code::Unauthenticated,
        &["authorization: Bearer"],
    );
    assert_status(
        client.create_shim(bash_shim("x")).await,
        Code::Unauthenticated,
        &[],
    );
    assert_status(
        client.stream_events(None, 0).await,
        Code::Unauthenticated,
        &[],
    );
    for wrong in [
        "Bearer secreT",
        "Bearer secret2",
        "Bearer ",
        "secret",
        "Basic secret",
    ] {
        let create = CreateShimRequest {
            id: "x".into(),
            profile: BASH.into(),
            ..CreateShimRequest::default()
        };
        assert_status(
            client.rpc().create_shim(with_auth(create, wrong)).await,
            Code::Unauthenticated,
            &[],
        );
    }
    // Nothing was created by the refused calls.
    let request = with_auth(ListShimsRequest {}, "Bearer secret");
    assert!(
        client
            .rpc()
            .list_shims(request)
            .await
            .unwrap()
            .into_inner()
            .shims
            .is_empty()
    );
}

#[tokio::test]
async fn the_right_token_works_for_unary_and_streaming_calls() {
    let server = token_server().await;
    let mut client = Client::connect(&server.url(), ConnectOptions::with_token("secret"))
        .await
        .expect("connect");
    let info = client
        .create_shim(bash_shim("authed"))
        .await
        .expect("CreateShim");
    assert_eq!(info.id, "authed");
    let stream = client
        .stream_events(Some("authed"), 0)
        .await
        .expect("StreamEvents");
    let mut events = Events::from_stream(stream);
    let ready = events.next().await;
    assert_eq!(ready.shim_id, "authed");

    // The plain helper works through a request that carries the header itself.
    let request = with_auth(ListShimsRequest {}, "Bearer secret");
    let mut plain = server.client().await;
    assert_eq!(
        plain
            .rpc()
            .list_shims(request)
            .await
            .unwrap()
            .into_inner()
            .shims
            .len(),
        1
    );
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let server = token_server().await;
    let mut health = HealthClient::new(channel(&server).await);
    for service in ["", "agentshim.v1.AgentShimService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("health of {service:?}: {s:?}"))
            .into_inner();
        assert_eq!(status.status(), ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn without_a_configured_token_no_header_is_needed() {
    let server = TestServer::start_default().await;
    let mut client = server.client().await;
    client
        .create_shim(bash_shim("open"))
        .await
        .expect("CreateShim without token");
    assert_eq!(send_wait(&mut client, "open", "echo open").await, "open");
    // A header is harmless when no token is configured.
    let request = with_auth(ListShimsRequest {}, "Bearer whatever");
    assert_eq!(
        client
            .rpc()
            .list_shims(request)
            .await
            .unwrap()
            .into_inner()
            .shims
            .len(),
        1
    );
}

/// The services listed by reflection (`v1` or `v1alpha`) over `channel`, presenting
/// `authorization` when given.
macro_rules! list_services {
    ($version:ident, $channel:expr, $authorization:expr) => {{
        use tonic_reflection::pb::$version::ServerReflectionRequest;
        use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut request = tonic::Request::new(tokio_stream::iter([request]));
        if let Some(header) = $authorization {
            let value: MetadataValue<_> = header.parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        let mut client = ServerReflectionClient::new($channel);
        match client.server_reflection_info(request).await {
            Err(status) => Err(status),
            Ok(response) => {
                let answer = response.into_inner().message().await;
                let answer = answer.expect("reflection answer").expect("an answer");
                match answer.message_response {
                    Some(MessageResponse::ListServicesResponse(list)) => {
                        Ok(list.service.into_iter().map(|s| s.name).collect::<Vec<_>>())
                    }
                    other => panic!("unexpected reflection answer {other:?}"),
                }
            }
        }
    }};
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services_to_token_holders() {
    let server = token_server().await;
    let channel = channel(&server).await;
    let expected = ["agentshim.v1.AgentShimService", "grpc.health.v1.Health"];
    let bearer = Some("Bearer secret");
    let v1: Result<Vec<String>, tonic::Status> = list_services!(v1, channel.clone(), bearer);
    let v1alpha: Result<Vec<String>, tonic::Status> =
        list_services!(v1alpha, channel.clone(), bearer);
    for (version, services) in [("v1", v1), ("v1alpha", v1alpha)] {
        let services = services.unwrap_or_else(|s| panic!("{version}: {s:?}"));
        for service in expected {
            assert!(
                services.iter().any(|s| s == service),
                "{version}: {services:?}"
            );
        }
    }
    let anonymous: Result<Vec<String>, tonic::Status> =
        list_services!(v1, channel.clone(), None::<&str>);
    assert_status(anonymous, Code::Unauthenticated, &[]);
}

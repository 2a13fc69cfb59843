//! `agentshim health`: asks a server's `grpc.health.v1` service whether it is serving, for
//! container HEALTHCHECKs and scripts. Exits 0 only on SERVING; anything else (NOT_SERVING while
//! the server stops, an unknown service, an unreachable server, no answer in time) fails with
//! one line saying which. The server answers health checks without a token.

use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::json;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::connect_args::ConnectArgs;
use super::output::{print_json, print_line};
use crate::client::{ClientError, Target};

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The service to ask about (e.g. `agentshim.v1.AgentShimService`); empty means the whole server.
    #[arg(long, default_value = "", value_name = "NAME")]
    service: String,
    /// Seconds the whole check may take, connecting included.
    #[arg(
        long,
        default_value_t = 5,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    timeout: u64,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub async fn run(args: HealthArgs) -> anyhow::Result<()> {
    let target = args.connect.target()?;
    let limit = Duration::from_secs(args.timeout);
    let status = tokio::time::timeout(limit, check(&args, &target, limit))
        .await
        .map_err(|_| anyhow!("no health answer from {target} within {}s", args.timeout))??;
    let status_name = status.as_str_name();
    if status != ServingStatus::Serving {
        bail!("{target} is {status_name}{}", service_suffix(&args.service));
    }
    if args.connect.json {
        print_json(&json!({
            "addr": target.to_string(),
            "service": args.service,
            "status": status_name,
        }))?;
    } else {
        print_line(status_name)?;
    }
    Ok(())
}

/// Connects and asks once; the caller bounds the time.
async fn check(
    args: &HealthArgs,
    target: &Target,
    limit: Duration,
) -> anyhow::Result<ServingStatus> {
    let channel = args.connect.open_service(limit).await?;
    let request = HealthCheckRequest {
        service: args.service.clone(),
    };
    match HealthClient::new(channel).check(request).await {
        Ok(response) => Ok(response.into_inner().status()),
        Err(status) if status.code() == Code::NotFound => bail!(
            "{target} does not know the service `{}` (NOT_FOUND)",
            args.service
        ),
        Err(status) => bail!("{target}: {}", ClientError::Status(status)),
    }
}

fn service_suffix(service: &str) -> String {
    if service.is_empty() {
        String::new()
    } else {
        format!(" for `{service}`")
    }
}

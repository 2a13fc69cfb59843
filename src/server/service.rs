//! The `agentshim.v1.AgentShimService` service: each RPC validates its input, calls one registry or
//! handle method, and converts the result. It decides nothing about agents.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::ServiceError;
use super::attach::AttachRequests;
use super::convert::{
    StreamConverter, completion_to_proto, explanation_to_proto, reason_from_proto, state_to_proto,
};
use super::identity::ServerIdentity;
use super::registry::{CreateShim, Registry, ShimEntry};
use crate::protocol::{Event, ShimState};
use crate::rpc::{self, agent_shim_service_server};
use crate::shim::events::{LogItem, Subscription};
use crate::shim::{ShimError, ShimHandle};

/// Envelopes buffered per event stream before the stream's reader task waits for the client.
const STREAM_BUFFER: usize = 256;

/// The service; cheap to clone.
#[derive(Debug, Clone)]
pub struct AgentShimService {
    registry: Arc<Registry>,
    identity: Arc<ServerIdentity>,
}

impl AgentShimService {
    pub fn new(registry: Arc<Registry>, identity: Arc<ServerIdentity>) -> Self {
        Self { registry, identity }
    }

    async fn shim_info(&self, entry: &ShimEntry) -> Result<rpc::ShimInfo, Status> {
        let status = entry.status().await.map_err(ServiceError::from)?;
        Ok(rpc::ShimInfo {
            id: entry.handle.id().to_owned(),
            profile: entry.profile.clone(),
            agent: entry.agent.to_string(),
            state: state_to_proto(status.state.state).into(),
            pid: status.pid,
            created_at: Some(crate::unix_time::timestamp(entry.created_unix_ms)),
            last_event_seq: status.last_event_seq,
            exit_code: status.exit_code,
            queued_messages: status.queued_messages as u32,
            boot_id: self.identity.boot_id().to_owned(),
            recorded: entry.recording.is_some(),
        })
    }

    /// OUT_OF_RANGE for a stream asked to start after `after_seq`, beyond the log's `newest`:
    /// the client's seqs come from another server process (it restarted), so resuming by seq
    /// would wait in silence for events that are not the ones it missed.
    fn ahead_of_log(&self, after_seq: u64, newest: u64) -> Status {
        let boot_id = self.identity.boot_id();
        let mut status = Status::out_of_range(format!(
            "after_seq {after_seq} is ahead of this server's newest event {newest} (boot id \
             {boot_id}): those seqs came from another server process; start again from 0"
        ));
        status
            .metadata_mut()
            .insert(rpc::BOOT_ID_HEADER, self.identity.boot_id_header());
        status
    }

    /// Attaches to the terminal of the shim `start` names; `requests` are the rest of the
    /// client's (for gRPC's Attach, and the web console's terminal).
    pub(crate) async fn attach_terminal(
        &self,
        start: rpc::AttachStart,
        requests: impl AttachRequests,
    ) -> Result<super::attach::AttachStream, Status> {
        let entry = self.registry.get(&start.shim_id)?;
        let Some(socket) = entry.link.socket.clone() else {
            return Err(ServiceError::Shim(ShimError::ShimGone).into());
        };
        let attachment = entry.link.attachment();
        super::attach::attach(&socket, start, requests, attachment).await
    }

    fn handle(&self, shim_id: &str) -> Result<ShimHandle, Status> {
        Ok(self.registry.get(shim_id)?.handle.clone())
    }
}

fn dimension(value: u32, name: &str) -> Result<Option<u16>, ServiceError> {
    match value {
        0 => Ok(None),
        1..=1000 => Ok(Some(value as u16)),
        _ => Err(ServiceError::InvalidArgument(format!(
            "{name} must be between 1 and 1000 (got {value})"
        ))),
    }
}

pub(crate) type EventStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<rpc::StreamEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl agent_shim_service_server::AgentShimService for AgentShimService {
    async fn create_shim(
        &self,
        request: Request<rpc::CreateShimRequest>,
    ) -> Result<Response<rpc::CreateShimResponse>, Status> {
        let request = request.into_inner();
        let create = CreateShim {
            id: request.id,
            profile: request.profile,
            cwd: Some(request.cwd).filter(|cwd| !cwd.is_empty()),
            env: request.env.into_iter().collect(),
            rows: dimension(request.rows, "rows")?,
            cols: dimension(request.cols, "cols")?,
            scrollback: request.scrollback.map(|rows| rows as usize),
            command: request.command,
            record: request.record,
        };
        let entry = self.registry.create(create).await?;
        let shim = Some(self.shim_info(&entry).await?);
        Ok(Response::new(rpc::CreateShimResponse { shim }))
    }

    async fn list_shims(
        &self,
        _request: Request<rpc::ListShimsRequest>,
    ) -> Result<Response<rpc::ListShimsResponse>, Status> {
        // Every shim's actor is asked at once: the answer waits for the slowest, not the sum.
        let entries = self.registry.list();
        let infos = entries.iter().map(|entry| self.shim_info(entry));
        let shims = futures_util::future::try_join_all(infos).await?;
        Ok(Response::new(rpc::ListShimsResponse { shims }))
    }

    async fn get_shim(
        &self,
        request: Request<rpc::GetShimRequest>,
    ) -> Result<Response<rpc::GetShimResponse>, Status> {
        let entry = self.registry.get(&request.into_inner().shim_id)?;
        let shim = Some(self.shim_info(&entry).await?);
        Ok(Response::new(rpc::GetShimResponse { shim }))
    }

    async fn delete_shim(
        &self,
        request: Request<rpc::DeleteShimRequest>,
    ) -> Result<Response<rpc::DeleteShimResponse>, Status> {
        self.registry.remove(&request.into_inner().shim_id).await?;
        Ok(Response::new(rpc::DeleteShimResponse {}))
    }

    async fn send_message(
        &self,
        request: Request<rpc::SendMessageRequest>,
    ) -> Result<Response<rpc::SendMessageResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        let message_id = Some(request.message_id).filter(|id| !id.is_empty());
        let refused = |refused: crate::shim::DeliveryRefused| {
            let status = Status::from(ServiceError::from(refused.error));
            Status::new(
                status.code(),
                format!("message {}: {}", refused.id, status.message()),
            )
        };
        let response = if request.wait {
            let answer = handle
                .send_and_wait(request.sender, request.body, message_id)
                .await
                .map_err(refused)?;
            let mut completion = completion_to_proto(
                Some(answer.receipt.id.clone()),
                answer.response,
                answer.last_lines,
            );
            completion.truncated =
                answer
                    .truncated
                    .map(|(lines_lost, bytes_omitted)| rpc::ResponseTruncated {
                        message_id: Some(answer.receipt.id.clone()),
                        lines_lost,
                        bytes_omitted,
                    });
            rpc::SendMessageResponse {
                message_id: answer.receipt.id,
                queued: answer.receipt.queued,
                completion: Some(completion),
                removed: answer.receipt.removed.unwrap_or_default(),
            }
        } else {
            let receipt = handle
                .send_message(request.sender, request.body, message_id)
                .await
                .map_err(refused)?;
            rpc::SendMessageResponse {
                message_id: receipt.id,
                queued: receipt.queued,
                completion: None,
                removed: receipt.removed.unwrap_or_default(),
            }
        };
        Ok(Response::new(response))
    }

    async fn capture_screen(
        &self,
        request: Request<rpc::CaptureScreenRequest>,
    ) -> Result<Response<rpc::CaptureScreenResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        let last_n_lines = Some(request.last_n_lines as usize).filter(|n| *n > 0);
        let capture = handle
            .capture_scope(last_n_lines, request.include_scrollback)
            .await
            .map_err(ServiceError::from)?;
        let screen = rpc::ScreenCapture {
            content: capture.content,
            cursor_row: capture.cursor_row.into(),
            cursor_col: capture.cursor_col.into(),
            rows: capture.rows.into(),
            cols: capture.cols.into(),
        };
        Ok(Response::new(rpc::CaptureScreenResponse {
            screen: Some(screen),
        }))
    }

    async fn get_state(
        &self,
        request: Request<rpc::GetStateRequest>,
    ) -> Result<Response<rpc::GetStateResponse>, Status> {
        let entry = self.registry.get(&request.into_inner().shim_id)?;
        let report = entry.status().await.map_err(ServiceError::from)?.state;
        Ok(Response::new(rpc::GetStateResponse {
            state: state_to_proto(report.state).into(),
            since_secs: report.since.as_secs(),
        }))
    }

    async fn resize(
        &self,
        request: Request<rpc::ResizeRequest>,
    ) -> Result<Response<rpc::ResizeResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        let size = |value, name| {
            dimension(value, name)?.ok_or_else(|| {
                ServiceError::InvalidArgument(format!("{name} must be between 1 and 1000 (got 0)"))
            })
        };
        let (rows, cols) = (size(request.rows, "rows")?, size(request.cols, "cols")?);
        handle
            .resize(rows, cols)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(rpc::ResizeResponse {}))
    }

    async fn answer(
        &self,
        request: Request<rpc::AnswerRequest>,
    ) -> Result<Response<rpc::AnswerResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        let chosen = handle
            .answer(request.option)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(rpc::AnswerResponse { chosen }))
    }

    async fn send_keys(
        &self,
        request: Request<rpc::SendKeysRequest>,
    ) -> Result<Response<rpc::SendKeysResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        handle
            .send_keys(request.keys)
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(rpc::SendKeysResponse {}))
    }

    async fn shutdown(
        &self,
        request: Request<rpc::ShutdownRequest>,
    ) -> Result<Response<rpc::ShutdownResponse>, Status> {
        let request = request.into_inner();
        let handle = self.handle(&request.shim_id)?;
        let timeout_secs = request.timeout_secs.unwrap_or(rpc::DEFAULT_SHUTDOWN_SECS);
        let timeout = Duration::from_secs(timeout_secs.into());
        let exit_code = handle
            .shutdown(timeout, reason_from_proto(request.reason))
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(rpc::ShutdownResponse { exit_code }))
    }

    async fn kill(
        &self,
        request: Request<rpc::KillRequest>,
    ) -> Result<Response<rpc::KillResponse>, Status> {
        let handle = self.handle(&request.into_inner().shim_id)?;
        let exit_code = handle.kill().await.map_err(ServiceError::from)?;
        Ok(Response::new(rpc::KillResponse { exit_code }))
    }

    async fn ping(
        &self,
        request: Request<rpc::PingRequest>,
    ) -> Result<Response<rpc::PingResponse>, Status> {
        let handle = self.handle(&request.into_inner().shim_id)?;
        handle.ping().await.map_err(ServiceError::from)?;
        Ok(Response::new(rpc::PingResponse {}))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(
        &self,
        request: Request<rpc::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let request = request.into_inner();
        let newest = self.registry.events().last_seq();
        if request.after_seq > newest {
            return Err(self.ahead_of_log(request.after_seq, newest));
        }
        // A per-shim stream starts no earlier than the shim itself: events of an earlier shim
        // with the same id are not this shim's.
        let (shim_filter, after_seq, removal, finished) = if request.shim_id.is_empty() {
            (None, request.after_seq, None, false)
        } else {
            let entry = self.registry.get(&request.shim_id)?;
            let after_seq = request.after_seq.max(entry.created_after_seq);
            // A dead shim whose last event (its `Died`) is behind the cursor has nothing more.
            let status = entry.status().await.map_err(ServiceError::from)?;
            let finished =
                status.state.state == ShimState::Dead && after_seq >= status.last_event_seq;
            let shim = Some(Arc::from(entry.handle.id()));
            (shim, after_seq, Some(entry.removal()), finished)
        };
        let seen = SeenShimEvents(request.after_shim_seqs);
        let (envelopes_tx, envelopes_rx) = mpsc::channel(STREAM_BUFFER);
        if !finished {
            let subscription = self.registry.events().subscribe(after_seq, shim_filter);
            let converter = StreamConverter::resuming(self.registry.events(), after_seq);
            tokio::spawn(forward_events(
                subscription,
                converter,
                seen,
                envelopes_tx,
                removal,
            ));
        }
        let mut response =
            Response::new(Box::pin(ReceiverStream::new(envelopes_rx)) as EventStream);
        response
            .metadata_mut()
            .insert(rpc::BOOT_ID_HEADER, self.identity.boot_id_header());
        Ok(response)
    }

    async fn explain(
        &self,
        request: Request<rpc::ExplainRequest>,
    ) -> Result<Response<rpc::ExplainResponse>, Status> {
        let handle = self.handle(&request.into_inner().shim_id)?;
        let explanation = handle.explain().await.map_err(ServiceError::from)?;
        Ok(Response::new(explanation_to_proto(explanation)))
    }

    type GetRecordingStream = ReceiverStream<Result<rpc::GetRecordingResponse, Status>>;

    async fn get_recording(
        &self,
        request: Request<rpc::GetRecordingRequest>,
    ) -> Result<Response<Self::GetRecordingStream>, Status> {
        let shim_id = request.into_inner().shim_id;
        let entry = self.registry.get(&shim_id)?;
        let Some(recording) = &entry.recording else {
            return Err(Status::failed_precondition(format!(
                "shim {} is not recorded: create it with `record`, or from a profile with \
                 record = true",
                crate::untrusted::Untrusted(&shim_id)
            )));
        };
        Ok(Response::new(super::recordings::read_back(
            recording.path.clone(),
        )))
    }

    type AttachStream = super::attach::AttachStream;

    async fn attach(
        &self,
        request: Request<tonic::Streaming<rpc::AttachRequest>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let mut requests = request.into_inner();
        let start = match requests.message().await? {
            Some(rpc::AttachRequest {
                request: Some(rpc::attach_request::Request::Start(start)),
            }) => start,
            _ => {
                return Err(Status::invalid_argument(
                    "the first AttachRequest must be `start`, naming the shim",
                ));
            }
        };
        Ok(Response::new(self.attach_terminal(start, requests).await?))
    }

    async fn get_server_info(
        &self,
        _request: Request<rpc::GetServerInfoRequest>,
    ) -> Result<Response<rpc::GetServerInfoResponse>, Status> {
        Ok(Response::new(self.identity.to_proto()))
    }
}

/// The events a client resuming on a restarted server has seen already: per shim id, the
/// last shim seq it received (`StreamEventsRequest.after_shim_seqs`).
struct SeenShimEvents(std::collections::HashMap<String, u64>);

impl SeenShimEvents {
    fn has_seen(&self, item: &LogItem) -> bool {
        let LogItem::Event(envelope) = item else {
            return false;
        };
        envelope.shim_seq != 0
            && self
                .0
                .get(&*envelope.shim_id)
                .is_some_and(|&last_seen| envelope.shim_seq <= last_seen)
    }
}

/// Sends `subscription`'s items to a stream's client, converted, but for the ones it has
/// `seen` (each still goes through the converter: a Completion it has not seen takes the
/// describing events before it from there). Ends when the log closes, the client goes away
/// (its receiver is dropped; the subscription is released at once) or, on a per-shim stream
/// (`removal` given), after the shim's `Died` (nothing follows it; a later shim with the same
/// id is another one), or once the shim was removed and what it left in the log up to then
/// was sent.
async fn forward_events(
    mut subscription: Subscription,
    mut converter: StreamConverter,
    seen: SeenShimEvents,
    envelopes: mpsc::Sender<Result<rpc::StreamEventsResponse, Status>>,
    mut removal: Option<watch::Receiver<Option<u64>>>,
) {
    let _subscriber = crate::metrics::StreamSubscriber::open();
    let mut removed_after = None;
    loop {
        let item = match removed_after {
            Some(last_seq) => match subscription.try_next() {
                Ok(item) if item_seq(&item) <= last_seq => Some(item),
                _ => return,
            },
            None => tokio::select! {
                item = subscription.next() => item,
                () = envelopes.closed() => return,
                last_seq = removed(&mut removal) => {
                    removed_after = Some(last_seq);
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        let died = removal.is_some()
            && matches!(&item, LogItem::Event(envelope) if matches!(envelope.event, Event::Died { .. }));
        let response = rpc::StreamEventsResponse {
            envelope: Some(converter.convert(&item)),
        };
        let gone = !seen.has_seen(&item) && envelopes.send(Ok(response)).await.is_err();
        if gone || died {
            return;
        }
    }
}

/// The log's last seq when the shim watched by `removal` was removed (never, without one).
async fn removed(removal: &mut Option<watch::Receiver<Option<u64>>>) -> u64 {
    if let Some(removal) = removal
        && let Ok(last_seq) = removal.wait_for(Option::is_some).await
    {
        return last_seq.expect("waited for a seq");
    }
    std::future::pending().await
}

fn item_seq(item: &LogItem) -> u64 {
    match item {
        LogItem::Event(envelope) => envelope.seq,
        LogItem::Gap { last_lost, .. } => *last_lost,
    }
}

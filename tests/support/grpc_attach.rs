//! One Attach stream of a test: its requests' sender, its responses, and the screen they draw
//! (a [`TerminalView`]), with waits bounded by [`TIMEOUT`].

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::eventually::TIMEOUT;
use super::terminal_view::TerminalView;
use agentshim::client::Client;
use agentshim::rpc::{
    AttachMode, AttachRequest, AttachResponse, AttachStart, TerminalSize, attach_request,
    attach_response::Response,
};

/// One Attach stream: its requests' sender, its responses and the screen they draw.
pub struct GrpcAttached {
    pub requests: mpsc::Sender<AttachRequest>,
    pub responses: tonic::Streaming<AttachResponse>,
    pub view: TerminalView,
    pub writer: bool,
}

impl GrpcAttached {
    pub async fn new(
        client: &mut Client,
        shim_id: &str,
        mode: AttachMode,
    ) -> Result<Self, tonic::Status> {
        let (requests, outbound) = mpsc::channel(16);
        let start = AttachStart {
            shim_id: shim_id.to_owned(),
            mode: mode.into(),
            size: None,
        };
        let mut responses = match client.attach(start, ReceiverStream::new(outbound)).await {
            Ok(responses) => responses,
            Err(agentshim::client::ClientError::Status(status)) => return Err(status),
            Err(other) => panic!("attach failed: {other}"),
        };
        match responses.message().await?.and_then(|r| r.response) {
            Some(Response::Attached(attached)) => {
                let size = attached.size.expect("a size");
                Ok(Self {
                    requests,
                    responses,
                    view: TerminalView::new(size.rows as u16, size.cols as u16),
                    writer: attached.writer,
                })
            }
            other => panic!("the first response is not `attached`: {other:?}"),
        }
    }

    /// Reads responses until the screen shows `text`.
    pub async fn shows(&mut self, text: &str) {
        let read = async {
            while !self.view.contents().contains(text) {
                match self.responses.next().await {
                    Some(Ok(AttachResponse {
                        response: Some(Response::Output(bytes)),
                    })) => self.view.feed(&bytes),
                    Some(Ok(AttachResponse {
                        response: Some(Response::Resized(TerminalSize { rows, cols })),
                    })) => self.view.resize(rows as u16, cols as u16),
                    Some(Ok(_)) => {}
                    other => panic!("the stream ended: {other:?}"),
                }
            }
        };
        if tokio::time::timeout(TIMEOUT, read).await.is_err() {
            panic!(
                "the screen never showed {text:?}; it shows:\n{}",
                self.view.contents()
            );
        }
    }

    pub async fn types(&self, text: &str) {
        let input = AttachRequest {
            request: Some(attach_request::Request::Input(text.as_bytes().to_vec())),
        };
        self.requests.send(input).await.unwrap();
    }

    /// Reads responses until one matches.
    pub async fn response(&mut self, wanted: impl Fn(&Response) -> bool) -> Response {
        let read = async {
            loop {
                match self.responses.next().await {
                    Some(Ok(AttachResponse {
                        response: Some(response),
                    })) if wanted(&response) => return response,
                    Some(Ok(_)) => {}
                    other => panic!("the stream ended: {other:?}"),
                }
            }
        };
        tokio::time::timeout(TIMEOUT, read)
            .await
            .expect("the response came")
    }
}

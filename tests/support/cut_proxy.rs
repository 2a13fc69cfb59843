//! [`CutProxy`]: a TCP proxy on loopback that a test can cut and restore, to break a client's
//! connection to a server that keeps running (what a cut link does) without root or network
//! namespaces. While cut, open connections are dropped and new ones are closed at once.

#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards connections from `addr` to the server; aborted on drop.
pub struct CutProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// `true` while connections pass; every connection task holds a receiver.
    up_tx: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl CutProxy {
    /// A proxy on `127.0.0.1:0` to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (up_tx, up_rx) = watch::channel(true);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let up_rx = up_rx.clone();
                if *up_rx.borrow() {
                    tokio::spawn(forward(client, upstream, up_rx));
                }
            }
        });
        Self {
            addr,
            up_tx,
            accepting,
        }
    }

    /// Drops every open connection and closes new ones until [`CutProxy::restore`].
    pub fn cut(&self) {
        self.up_tx.send_replace(false);
    }

    pub fn restore(&self) {
        self.up_tx.send_replace(true);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// Copies both ways between `client` and a new connection to `upstream` until either side
/// closes or the proxy is cut.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut up_rx: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up_rx.wait_for(|up| !up) => {}
    }
}

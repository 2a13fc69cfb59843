//! [`CutProxy`]: a TCP proxy on loopback that a test can cut and restore, to break a client's
//! connection to a server that keeps running (what a cut link does) without root or network
//! namespaces. While cut, open connections are dropped and new ones are closed at once. While
//! frozen, open connections stay open but nothing passes (a host that vanished silently); the
//! proxy counts the connections the server closed meanwhile.

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards connections from `addr` to the server; aborted on drop.
pub struct CutProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// `true` while connections pass; every connection task holds a receiver.
    up_tx: watch::Sender<bool>,
    /// `true` while bytes pass on open connections.
    flowing_tx: watch::Sender<bool>,
    /// How many connections the server closed while frozen.
    server_closed: watch::Receiver<usize>,
    accepting: JoinHandle<()>,
}

impl CutProxy {
    /// A proxy on `127.0.0.1:0` to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (up_tx, up_rx) = watch::channel(true);
        let (flowing_tx, flowing_rx) = watch::channel(true);
        let (closed_tx, server_closed) = watch::channel(0);
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *up_rx.borrow() {
                    let link = Link {
                        up_rx: up_rx.clone(),
                        flowing_rx: flowing_rx.clone(),
                        closed_tx: closed_tx.clone(),
                    };
                    tokio::spawn(link.forward(client, upstream));
                }
            }
        });
        Self {
            addr,
            up_tx,
            flowing_tx,
            server_closed,
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

    /// Stops every byte on open connections, keeping them open (the peers see silence).
    pub fn freeze(&self) {
        self.flowing_tx.send_replace(false);
    }

    /// Waits until the server has closed `count` connections while frozen.
    pub async fn server_closed(&mut self, count: usize) {
        self.server_closed
            .wait_for(|closed| *closed >= count)
            .await
            .expect("proxy alive");
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

/// What a forwarded connection watches.
struct Link {
    up_rx: watch::Receiver<bool>,
    flowing_rx: watch::Receiver<bool>,
    closed_tx: watch::Sender<usize>,
}

impl Link {
    /// Copies both ways between `client` and a new connection to `upstream` until either side
    /// closes or the proxy is cut; once frozen, passes nothing and notes when the server
    /// closes its side.
    async fn forward(mut self, mut client: TcpStream, upstream: SocketAddr) {
        let Ok(mut server) = TcpStream::connect(upstream).await else {
            return;
        };
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
            _ = self.up_rx.wait_for(|up| !up) => return,
            _ = self.flowing_rx.wait_for(|flowing| !flowing) => {}
        }
        // Frozen: the client hears nothing more; what the server sends is lost on the way.
        let mut sink = [0u8; 4096];
        loop {
            tokio::select! {
                read = server.read(&mut sink) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        self.closed_tx.send_modify(|closed| *closed += 1);
                        break;
                    }
                }
                _ = self.up_rx.wait_for(|up| !up) => break,
            }
        }
        drop(client);
    }
}

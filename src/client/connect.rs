//! Where a client connects and how: parsing a server address ([`Target`]), the connection
//! options ([`ConnectOptions`]: bearer token, TLS trust, timeouts, keepalive), opening the tonic
//! [`Channel`] over TCP, TLS or a Unix socket, and the interceptor that puts
//! `authorization: Bearer <token>` on every request, with the token given or, without one, the
//! token a server on this host generated for that address ([`bearer_auth`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Uri};

use super::ClientError;

/// How long connecting may take when [`ConnectOptions::connect_timeout`] is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A server address, parsed from `http://host:port`, `host:port` (plain HTTP/2),
/// `https://host:port` (TLS) or `unix:/path/to/socket` (also `unix:///path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Plain HTTP/2 over TCP.
    Http(Uri),
    /// HTTP/2 over TLS (rustls).
    Https(Uri),
    /// HTTP/2 over a Unix domain socket at this path.
    Unix(PathBuf),
}

impl FromStr for Target {
    type Err = ClientError;

    fn from_str(text: &str) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidTarget {
            target: text.to_owned(),
            reason: reason.to_owned(),
        };
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(invalid("no socket path after `unix:`"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let (tls, uri_text) = if text.starts_with("https://") {
            (true, text.to_owned())
        } else if text.starts_with("http://") {
            (false, text.to_owned())
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(invalid(&format!(
                "unsupported scheme `{scheme}` (use http://, https:// or unix:)"
            )));
        } else {
            (false, format!("http://{text}"))
        };
        let uri: Uri = uri_text
            .parse()
            .map_err(|error| invalid(&format!("{error}")))?;
        match uri.host() {
            Some(host) if !host.is_empty() => {}
            _ => return Err(invalid("no host")),
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(invalid("a server address has no path"));
        }
        Ok(if tls {
            Self::Https(uri)
        } else {
            Self::Http(uri)
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(uri) | Self::Https(uri) => {
                write!(f, "{}", uri.to_string().trim_end_matches('/'))
            }
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How to connect, besides where.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// Sent as `authorization: Bearer <token>` on every request. Never printed (not even by
    /// `Debug`). Without it, a server on a loopback address (an IP or `localhost`) that
    /// generated its token gets that one, read from the runtime directory
    /// ([`crate::runtime_dir`]).
    pub token: Option<String>,
    /// PEM file with the CA certificate(s) that signed the server's certificate (`https://`
    /// only). Without it, only the roots compiled into tonic's TLS (if any) are trusted.
    pub tls_ca_file: Option<PathBuf>,
    /// The name to verify the server's certificate against, instead of the address's host.
    pub tls_domain: Option<String>,
    /// How long connecting may take; [`DEFAULT_CONNECT_TIMEOUT`] when unset.
    pub connect_timeout: Option<Duration>,
    /// Send an HTTP/2 PING after this long without traffic and drop the connection when the
    /// answer takes longer than this again. Without it, a server that vanished without closing
    /// the connection (a cut link, a frozen host) leaves calls and event streams waiting
    /// forever; with it they fail within about twice this time. Unset: no keepalive.
    pub keepalive: Option<Duration>,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_domain", &self.tls_domain)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalive", &self.keepalive)
            .finish()
    }
}

impl ConnectOptions {
    /// Options with a bearer token.
    pub fn with_token(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..Self::default()
        }
    }
}

/// Adds `authorization: Bearer <token>` to every request (nothing when there is no token).
#[derive(Clone)]
pub struct BearerAuth {
    header: Option<MetadataValue<Ascii>>,
}

impl BearerAuth {
    /// The interceptor for `token`; refuses tokens that cannot travel in an HTTP header.
    pub fn new(token: Option<&str>) -> Result<Self, ClientError> {
        let header = match token {
            None => None,
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| ClientError::InvalidToken)?,
            ),
        };
        Ok(Self { header })
    }
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.header.as_ref().map(|_| "Bearer <redacted>");
        f.debug_struct("BearerAuth")
            .field("header", &shown)
            .finish()
    }
}

impl Interceptor for BearerAuth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(header) = &self.header {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

/// The interceptor for `target`: with `options.token`, or else with the token a server on
/// this host generated for that address, if there is one.
pub fn bearer_auth(target: &Target, options: &ConnectOptions) -> Result<BearerAuth, ClientError> {
    let token = match &options.token {
        Some(token) => Some(token.clone()),
        None => generated_token(target)?,
    };
    BearerAuth::new(token.as_deref())
}

/// The token a server listening on `target` generated, when `target` is on loopback.
fn generated_token(target: &Target) -> Result<Option<String>, ClientError> {
    let (tls, uri) = match target {
        Target::Http(uri) => (false, uri),
        Target::Https(uri) => (true, uri),
        Target::Unix(_) => return Ok(None),
    };
    let host = uri.host().unwrap_or_default();
    let ips: Vec<IpAddr> = match host.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) if IpAddr::is_loopback(&ip) => vec![ip],
        Ok(_) => return Ok(None),
        Err(_) if host.eq_ignore_ascii_case("localhost") => {
            vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
        }
        Err(_) => return Ok(None),
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let addrs: Vec<SocketAddr> = ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    Ok(crate::runtime_dir::find_token(&addrs)?)
}

/// Opens an HTTP/2 channel to `target` (eagerly, so an unreachable server fails here).
pub async fn open_channel(
    target: &Target,
    options: &ConnectOptions,
) -> Result<Channel, ClientError> {
    let configure = |endpoint: Endpoint| {
        let endpoint =
            endpoint.connect_timeout(options.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT));
        match options.keepalive {
            Some(every) => endpoint
                .http2_keep_alive_interval(every)
                .keep_alive_timeout(every)
                .keep_alive_while_idle(true),
            None => endpoint,
        }
    };
    let connect_error = |source| ClientError::Connect {
        target: target.to_string(),
        source,
    };
    match target {
        Target::Http(uri) => configure(Endpoint::from(uri.clone()))
            .connect()
            .await
            .map_err(connect_error),
        Target::Https(uri) => {
            let mut tls = ClientTlsConfig::new().with_enabled_roots();
            if let Some(path) = &options.tls_ca_file {
                let pem = std::fs::read(path).map_err(|source| ClientError::TlsCaFile {
                    path: path.clone(),
                    source,
                })?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            if let Some(domain) = &options.tls_domain {
                tls = tls.domain_name(domain.clone());
            }
            configure(Endpoint::from(uri.clone()))
                .tls_config(tls)
                .map_err(connect_error)?
                .connect()
                .await
                .map_err(connect_error)
        }
        Target::Unix(path) => {
            let path = path.clone();
            // The URI is required by tonic but unused: the connector ignores it.
            configure(Endpoint::from_static("http://localhost"))
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        let stream = tokio::net::UnixStream::connect(path).await?;
                        Ok::<_, std::io::Error>(TokioIo::new(stream))
                    }
                }))
                .await
                .map_err(connect_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Target, ClientError> {
        text.parse()
    }

    #[test]
    fn parses_every_target_form() {
        assert_eq!(
            parse("127.0.0.1:50051").unwrap().to_string(),
            "http://127.0.0.1:50051"
        );
        assert!(matches!(
            parse("http://localhost:1").unwrap(),
            Target::Http(_)
        ));
        assert!(matches!(
            parse("https://example.com:443").unwrap(),
            Target::Https(_)
        ));
        assert_eq!(
            parse("unix:/tmp/a.sock").unwrap(),
            Target::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            parse("unix:///tmp/a.sock").unwrap(),
            Target::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            parse("unix:/tmp/a.sock").unwrap().to_string(),
            "unix:/tmp/a.sock"
        );
    }

    #[test]
    fn refuses_bad_targets() {
        for bad in [
            "unix:",
            "ftp://host:1",
            "http://",
            "http://host:1/path",
            "a b",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(
                matches!(error, ClientError::InvalidTarget { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn only_loopback_targets_look_for_a_generated_token() {
        for remote in [
            "http://192.0.2.1:50051",
            "https://example.com:1",
            "unix:/tmp/x",
        ] {
            assert_eq!(generated_token(&parse(remote).unwrap()).unwrap(), None);
        }
    }

    #[test]
    fn token_never_shows_in_debug() {
        let options = ConnectOptions::with_token("hunter2");
        assert!(!format!("{options:?}").contains("hunter2"));
        let auth = BearerAuth::new(Some("hunter2")).unwrap();
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(matches!(
            BearerAuth::new(Some("bad\ntoken")),
            Err(ClientError::InvalidToken)
        ));
    }

    #[test]
    fn interceptor_adds_the_bearer_header() {
        let mut auth = BearerAuth::new(Some("s3")).unwrap();
        let request = auth.call(tonic::Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer s3"
        );
        let mut none = BearerAuth::new(None).unwrap();
        let request = none.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }
}

//! Who may see the console: the server's token, traded once for a session cookie, and the
//! checks every page and call passes. A session id is random (as the token is), lives as long
//! as the server process, and only the newest [`MAX_SESSIONS`] are kept. The cookie is
//! HttpOnly and SameSite=Strict, and is named after the port, since browsers share cookies
//! between the ports of one host. A call carrying the cookie that changes something (a POST,
//! the terminal's WebSocket) must also come from the console's own origin, so another site
//! open in the same browser can neither send messages nor read a terminal.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::Console;
use super::api::ApiError;
use super::assets;

/// Sessions kept at once; the oldest is forgotten when one more is made.
pub const MAX_SESSIONS: usize = 256;

/// The token and the sessions made from it.
pub struct Sessions {
    /// `None`: the server runs without auth (`--no-auth`), and so does the console.
    token: Option<Vec<u8>>,
    ids: Mutex<VecDeque<String>>,
}

impl Sessions {
    pub fn new(token: Option<String>) -> Self {
        Self {
            token: token.map(String::into_bytes),
            ids: Mutex::new(VecDeque::new()),
        }
    }

    fn token_matches(&self, presented: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|token| bool::from(presented.as_bytes().ct_eq(token)))
    }

    fn open(&self) -> Result<String, ApiError> {
        let id = crate::runtime_dir::generate_token()
            .map_err(|error| ApiError::internal(format!("cannot make a session: {error}")))?;
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if ids.len() == MAX_SESSIONS {
            ids.pop_front();
        }
        ids.push_back(id.clone());
        Ok(id)
    }

    fn is_open(&self, presented: &str) -> bool {
        let ids = self
            .ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Compared in constant time, each of them.
        ids.iter().fold(false, |found, id| {
            found | bool::from(presented.as_bytes().ct_eq(id.as_bytes()))
        })
    }

    /// How `headers` authenticate, if they do.
    fn credential(&self, headers: &HeaderMap, cookie_name: &str) -> Option<Credential> {
        if self.token.is_none() {
            return Some(Credential::Open);
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if bearer.is_some_and(|token| self.token_matches(token)) {
            return Some(Credential::Bearer);
        }
        cookie(headers, cookie_name)
            .filter(|session| self.is_open(session))
            .map(|_| Credential::Cookie)
    }
}

/// What let a request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// The server has no auth.
    Open,
    /// The token itself, in the Authorization header: a program, not a browser.
    Bearer,
    /// A session cookie: a browser, which also sends it on requests other sites make.
    Cookie,
}

/// The session cookie of the console on `host` (`IP:PORT`).
fn cookie_name(headers: &HeaderMap) -> String {
    let port = host(headers)
        .and_then(|host| host.rsplit_once(':'))
        .map_or("80", |(_, port)| port);
    let port: String = port.chars().filter(char::is_ascii_digit).collect();
    format!("agentshim_session_{port}")
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
}

/// The value of cookie `name` in the request's Cookie headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// True when the request says it comes from the console's own page: its Origin is this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    match (origin, host(headers)) {
        (Some(origin), Some(host)) => origin.strip_prefix("http://") == Some(host),
        _ => false,
    }
}

#[derive(Deserialize)]
pub struct FrontDoor {
    token: Option<String>,
}

/// `/`: with the right `?token=`, a new session and a redirect to `/` without it; with a
/// session, the console; else the sign-in page, saying what was wrong.
pub async fn front_door(
    State(console): State<Console>,
    Query(door): Query<FrontDoor>,
    headers: HeaderMap,
) -> Response {
    let sessions = &console.sessions;
    let name = cookie_name(&headers);
    if let Some(token) = door.token {
        if !sessions.token_matches(&token) {
            return sign_in(Some("That token is not this server's."));
        }
        return match sessions.open() {
            Ok(session) => {
                let cookie = format!("{name}={session}; HttpOnly; SameSite=Strict; Path=/");
                ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
            }
            Err(error) => error.into_response(),
        };
    }
    match sessions.credential(&headers, &name) {
        Some(_) => assets::page(assets::INDEX),
        None => sign_in(None),
    }
}

/// The sign-in page, status 401, with `error` shown.
fn sign_in(error: Option<&str>) -> Response {
    let page = assets::sign_in_page(error.unwrap_or(
        "Open the link the server printed (agentshim web console on ...), or paste its token.",
    ));
    (StatusCode::UNAUTHORIZED, page).into_response()
}

/// Lets through the API calls of a session or a bearer, a changing one only from the
/// console's own origin when a cookie carried it.
pub async fn require(State(console): State<Console>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let Some(credential) = console.sessions.credential(headers, &cookie_name(headers)) else {
        return ApiError::unauthenticated().into_response();
    };
    let changes = request.method() != Method::GET || headers.contains_key(header::UPGRADE);
    if credential == Credential::Cookie && changes && !same_origin(headers) {
        return ApiError::forbidden_origin().into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), value.parse().unwrap()))
            .collect()
    }

    #[test]
    fn a_session_is_made_only_from_the_token_and_the_oldest_are_forgotten() {
        let sessions = Sessions::new(Some("s3cret".into()));
        assert!(sessions.token_matches("s3cret"));
        assert!(!sessions.token_matches("s3cre"));
        let first = sessions.open().unwrap();
        assert!(sessions.is_open(&first));
        assert!(!sessions.is_open("made-up"));
        for _ in 0..MAX_SESSIONS {
            sessions.open().unwrap();
        }
        assert!(!sessions.is_open(&first), "the oldest session is forgotten");
    }

    #[test]
    fn credentials_are_the_cookie_of_this_port_or_the_bearer_token() {
        let sessions = Sessions::new(Some("s3cret".into()));
        let session = sessions.open().unwrap();
        let cookie = format!("other=1; agentshim_session_8080={session}");
        let browser = headers(&[(header::HOST, "127.0.0.1:8080"), (header::COOKIE, &cookie)]);
        let name = cookie_name(&browser);
        assert_eq!(name, "agentshim_session_8080");
        assert_eq!(
            sessions.credential(&browser, &name),
            Some(Credential::Cookie)
        );
        let other_port = headers(&[(header::HOST, "127.0.0.1:9090"), (header::COOKIE, &cookie)]);
        assert_eq!(
            sessions.credential(&other_port, &cookie_name(&other_port)),
            None
        );
        let program = headers(&[(header::AUTHORIZATION, "Bearer s3cret")]);
        assert_eq!(
            sessions.credential(&program, &name),
            Some(Credential::Bearer)
        );
        let wrong = headers(&[(header::AUTHORIZATION, "Bearer nope")]);
        assert_eq!(sessions.credential(&wrong, &name), None);
        let open = Sessions::new(None);
        assert_eq!(
            open.credential(&HeaderMap::new(), &name),
            Some(Credential::Open)
        );
    }

    #[test]
    fn only_the_consoles_own_origin_is_the_same_origin() {
        let host = (header::HOST, "127.0.0.1:8080");
        assert!(same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            host.clone(),
            (header::ORIGIN, "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host])));
    }
}

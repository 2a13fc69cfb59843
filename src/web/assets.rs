//! The console's files, embedded in the binary at build time (`build.rs` lists every file of
//! `assets/`), served at `/assets/PATH` with their content type; the two pages (the console
//! and the sign-in page); and the security headers every response carries: a Content Security
//! Policy that allows only this origin's scripts (the page has no inline script, no eval), no framing,
//! no sniffing, no referrer (the link's token never leaves in one).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Every file of `assets/`: (path relative to it, contents), sorted by path.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The console's page.
pub const INDEX: &str = "index.html";
/// The page shown without a session; its `<p id="login-error"></p>` says what was wrong.
const SIGN_IN: &str = "login.html";
const SIGN_IN_ERROR: &str = r#"<p id="login-error"></p>"#;

/// Scripts from this origin only; `'wasm-unsafe-eval'` lets asciinema-player compile the
/// terminal emulator it carries as WebAssembly (it allows no JavaScript `eval`).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

fn file(path: &str) -> Option<&'static [u8]> {
    FILES
        .binary_search_by(|(name, _)| (*name).cmp(path))
        .ok()
        .map(|found| FILES[found].1)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map_or("", |(_, extension)| extension) {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        _ => "text/plain; charset=utf-8",
    }
}

/// `GET /assets/{path}`.
pub async fn serve(Path(path): Path<String>) -> Response {
    match file(&path) {
        Some(contents) => ([(header::CONTENT_TYPE, content_type(&path))], contents).into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// The page `name` of `assets/`.
pub fn page(name: &str) -> Response {
    serve_page(file(name).unwrap_or_default().to_vec())
}

/// The sign-in page, saying `error`.
pub fn sign_in_page(error: &str) -> Response {
    let page = String::from_utf8_lossy(file(SIGN_IN).unwrap_or_default()).replace(
        SIGN_IN_ERROR,
        &format!(r#"<p id="login-error">{}</p>"#, escape_html(error)),
    );
    serve_page(page.into_bytes())
}

fn serve_page(contents: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        contents,
    )
        .into_response()
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Adds the security headers to every response.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_and_the_vendored_players_are_embedded() {
        for name in [
            INDEX,
            SIGN_IN,
            "app.js",
            "app.css",
            "vendor/xterm/xterm.js",
            "vendor/xterm/LICENSE",
            "vendor/asciinema-player/asciinema-player.min.js",
            "vendor/asciinema-player/LICENSE",
        ] {
            assert!(
                file(name).is_some_and(|f| !f.is_empty()),
                "{name} is not embedded"
            );
        }
        assert!(FILES.is_sorted_by_key(|(name, _)| *name));
        let sign_in = String::from_utf8_lossy(file(SIGN_IN).unwrap());
        assert!(
            sign_in.contains(SIGN_IN_ERROR),
            "the sign-in page has its error slot"
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(
            content_type("vendor/xterm/xterm.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(
            content_type("vendor/xterm/LICENSE"),
            "text/plain; charset=utf-8"
        );
    }

    #[test]
    fn the_sign_in_error_is_escaped() {
        assert_eq!(
            escape_html(r#"<b>"x" & y</b>"#),
            "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;"
        );
    }
}

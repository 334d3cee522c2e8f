//! The review console: a web page served by the same binary, its three
//! files embedded at build time (no CDN, no fetch from anywhere but this
//! service, so it works on a network with no internet access). It calls
//! the same `/v1` routes as any client, with the reviewer's key.
//!
//! The page builds its DOM from text nodes only (never `innerHTML` with
//! data), and the Content-Security-Policy below forbids inline scripts
//! and foreign scripts, styles and connections: text from a listing
//! cannot become markup or code in a reviewer's browser.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::state::App;

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");
const ICON: &str = include_str!("../console/icon.svg");

/// Listing images may come from the marketplace's image hosts (shown
/// only when the reviewer asks); everything else only from here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' https: http: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `/console` and its files.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/console", get(|| async { asset(INDEX, "text/html; charset=utf-8") }))
        .route("/console/", get(|| async { Redirect::permanent("/console") }))
        .route("/console/console.js", get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }))
        .route("/console/console.css", get(|| async { asset(STYLE, "text/css; charset=utf-8") }))
        .route("/console/icon.svg", get(|| async { asset(ICON, "image/svg+xml") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_writes_no_markup_from_data() {
        for (name, text) in [("index.html", INDEX), ("console.js", SCRIPT), ("console.css", STYLE)] {
            for forbidden in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(forbidden), "{name} refers to `{forbidden}`");
            }
        }
        for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!SCRIPT.contains(forbidden), "console.js uses {forbidden}");
        }
        assert!(!INDEX.contains("<script>"), "no inline script (the CSP forbids it)");
    }
}

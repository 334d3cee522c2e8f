//! Why a fetch did not produce an image.

use std::net::{IpAddr, SocketAddr};

use crate::ImageFormat;

/// Every way [`crate::Fetcher::fetch`] can fail.
///
/// Each refusal has its own variant so callers can react to it, and
/// [`FetchError::code`] gives a stable snake_case code for logs, metrics and
/// the compliance report. The `Display` text is for people and may change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL (or a redirect target) does not parse, or cannot be requested.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// Only `http` and `https` are fetched.
    #[error("URL scheme {scheme:?} is not allowed: only http and https URLs are fetched")]
    SchemeNotAllowed { scheme: String },

    /// The URL carries `user:password@` credentials.
    #[error("URL {url:?} (shown without them) carried user:password@ credentials; such URLs are not fetched")]
    UserinfoNotAllowed { url: String },

    /// The host name is a cloud metadata endpoint.
    #[error("host {host:?} is a cloud metadata endpoint and is never fetched")]
    HostNotAllowed { host: String },

    /// The destination address is not public and not in the allow-list.
    #[error(
        "refusing to connect to {addr} ({reason} address) for host {host:?}: \
         only public addresses, or addresses in the operator's allow-list, are fetched"
    )]
    AddressNotAllowed { host: String, addr: IpAddr, reason: &'static str },

    /// The host name could not be resolved.
    #[error("could not resolve host {host:?}: {reason}")]
    DnsFailed { host: String, reason: String },

    /// No vetted address accepted a TCP connection.
    #[error("could not connect to {addr} for host {host:?}: {reason}")]
    ConnectFailed { host: String, addr: SocketAddr, reason: String },

    /// The TLS handshake or certificate verification failed.
    #[error("TLS handshake failed: {reason}")]
    Tls { reason: String },

    /// A time limit was reached (`stage` says which: `"connect"`, `"total"`, ...).
    #[error("timed out: the {stage} time limit was reached")]
    Timeout { stage: &'static str },

    /// The redirect chain is longer than the policy allows (or loops).
    #[error("too many redirects: more than {max} followed")]
    TooManyRedirects { max: u32 },

    /// A redirect response had no usable `Location` header.
    #[error("HTTP {status} redirect without a usable Location header")]
    BadRedirect { status: u16 },

    /// The final response was not a 2xx success.
    #[error("server answered HTTP {status}")]
    HttpStatus { status: u16 },

    /// The body is (or is declared to be) larger than the policy's `max_bytes`.
    #[error("response body exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },

    /// The body's leading bytes match no image format.
    #[error("response body is not an image: its leading bytes match no supported format{}", declared_note(.declared))]
    NotAnImage { declared: Option<String> },

    /// The body is an image, but of a format the policy does not accept.
    #[error("image format {format} is not accepted by the fetch policy")]
    FormatNotAccepted { format: ImageFormat },

    /// The server's response is not valid HTTP/1.1.
    #[error("malformed HTTP response: {reason}")]
    BadResponse { reason: String },

    /// An I/O error while the response was being transferred.
    #[error("transfer failed: {reason}")]
    Transfer { reason: String },
}

impl FetchError {
    /// Stable snake_case reason code, e.g. `"address_not_allowed"`.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl { .. } => "invalid_url",
            FetchError::SchemeNotAllowed { .. } => "scheme_not_allowed",
            FetchError::UserinfoNotAllowed { .. } => "userinfo_not_allowed",
            FetchError::HostNotAllowed { .. } => "host_not_allowed",
            FetchError::AddressNotAllowed { .. } => "address_not_allowed",
            FetchError::DnsFailed { .. } => "dns_failed",
            FetchError::ConnectFailed { .. } => "connect_failed",
            FetchError::Tls { .. } => "tls_failed",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooManyRedirects { .. } => "too_many_redirects",
            FetchError::BadRedirect { .. } => "bad_redirect",
            FetchError::HttpStatus { .. } => "http_status",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::NotAnImage { .. } => "not_an_image",
            FetchError::FormatNotAccepted { .. } => "format_not_accepted",
            FetchError::BadResponse { .. } => "bad_response",
            FetchError::Transfer { .. } => "transfer_failed",
        }
    }

    /// Every code [`FetchError::code`] can return.
    pub const CODES: &'static [&'static str] = &[
        "invalid_url",
        "scheme_not_allowed",
        "userinfo_not_allowed",
        "host_not_allowed",
        "address_not_allowed",
        "dns_failed",
        "connect_failed",
        "tls_failed",
        "timeout",
        "too_many_redirects",
        "bad_redirect",
        "http_status",
        "too_large",
        "not_an_image",
        "format_not_accepted",
        "bad_response",
        "transfer_failed",
    ];

    /// Converts a ureq error, recovering a [`FetchError`] that our resolver or
    /// connector smuggled through [`ureq::Error::Other`].
    pub(crate) fn from_ureq(err: ureq::Error, url: &str, host: &str, limit: u64) -> FetchError {
        use ureq::Error as U;
        match err {
            U::Other(inner) => match inner.downcast::<FetchError>() {
                Ok(ours) => *ours,
                Err(other) => FetchError::Transfer { reason: other.to_string() },
            },
            U::Timeout(t) => FetchError::Timeout { stage: timeout_stage(t) },
            U::HostNotFound => FetchError::DnsFailed { host: host.to_owned(), reason: "host not found".into() },
            U::Io(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
                FetchError::Timeout { stage: "read" }
            }
            U::Io(e) => FetchError::Transfer { reason: e.to_string() },
            U::BodyExceedsLimit(_) => FetchError::TooLarge { limit },
            U::TooManyRedirects => FetchError::TooManyRedirects { max: 0 },
            U::StatusCode(status) => FetchError::HttpStatus { status },
            U::BadUri(reason) => FetchError::InvalidUrl { url: url.to_owned(), reason },
            U::Http(e) => FetchError::InvalidUrl { url: url.to_owned(), reason: e.to_string() },
            U::Protocol(e) => FetchError::BadResponse { reason: e.to_string() },
            e @ U::LargeResponseHeader(..) => FetchError::BadResponse { reason: e.to_string() },
            U::Rustls(e) => FetchError::Tls { reason: e.to_string() },
            U::Tls(reason) => FetchError::Tls { reason: reason.to_string() },
            U::Pem(e) => FetchError::Tls { reason: e.to_string() },
            U::TlsRequired => FetchError::Tls { reason: "TLS required but not negotiated".into() },
            other => FetchError::Transfer { reason: other.to_string() },
        }
    }
}

fn declared_note(declared: &Option<String>) -> String {
    match declared {
        Some(t) => format!(" (the server's Content-Type {t:?} is not trusted)"),
        None => String::new(),
    }
}

fn timeout_stage(t: ureq::Timeout) -> &'static str {
    use ureq::Timeout as T;
    match t {
        T::Resolve => "dns",
        T::Connect => "connect",
        T::Global => "total",
        _ => "transfer",
    }
}

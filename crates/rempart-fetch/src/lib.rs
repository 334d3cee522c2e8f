//! SSRF-safe image download for rempart.
//!
//! When the operator opts in, rempart downloads the images a listing points
//! at (`images: [{"url": "https://..."}]`) to compute perceptual hashes. The
//! URL is written by the seller, and the request leaves from inside the
//! operator's network, so a naive download is a server-side request forgery
//! (SSRF) primitive: a seller could make rempart read the cloud metadata
//! service (and its credentials), probe internal admin panels, or hammer a
//! service on localhost, and learn from the outcome. [`Fetcher`] is built so
//! that none of those requests can be made, whatever the listing says.
//!
//! # Threat model
//!
//! The attacker controls the URL, the DNS records of any domain it names, and
//! the server that answers (status, headers, redirects, body, pacing). They do
//! not control the operator's network or configuration. The goals we defend
//! are: no connection to a non-public address unless the operator allow-listed
//! it; bounded memory and time per fetch; and nothing but a recognised image
//! handed to the hasher.
//!
//! # How each rule is enforced, and why that way
//!
//! * **Schemes.** Only `http` and `https` are fetched: other schemes either
//!   read local resources (`file:`), talk other protocols to internal services
//!   (`gopher:`, `ftp:`, `dict:`), or smuggle content (`data:`).
//! * **Credentials in URLs** (`user:pass@host`) are refused: no image host
//!   needs them, and they are the classic way to disguise the real host
//!   (`https://cdn.example.com@10.0.0.1/`) to a human reviewer.
//! * **One URL parser.** URLs go through the WHATWG parser of the `url` crate,
//!   which turns odd IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`,
//!   percent-encoded or full-width digits) into the dotted address the network
//!   stack would use. The address rule therefore judges the same address the
//!   socket will reach, and a redirect `Location` is resolved by the same
//!   parser.
//! * **Addresses.** Loopback, private, link-local (which includes the
//!   169.254.169.254 metadata service), CGNAT, documentation, benchmarking,
//!   multicast, broadcast, reserved, "this network" and their IPv6 twins and
//!   IPv4-in-IPv6 disguises are refused unless inside the operator's CIDR
//!   allow-list (see [`blocked_reason`]). Metadata host names such as
//!   `metadata.google.internal` are refused by name (see [`METADATA_HOSTS`]),
//!   even before DNS.
//! * **No DNS rebinding.** Checking a name and then letting the HTTP client
//!   resolve it again would let a hostile DNS server answer "public" to the
//!   check and "127.0.0.1" to the connection. Instead the fetcher resolves the
//!   name once, drops every refused address, and hands the survivors to the
//!   HTTP client, whose connector re-checks each one immediately before
//!   `connect(2)` and records it; [`Fetched::peer`] is the address actually
//!   connected to. No HTTP proxy is used (environment proxy settings are
//!   ignored), since a proxy would make its own, unchecked, DNS lookup.
//! * **Redirects** are followed by this crate, not by the HTTP client, so every
//!   hop gets the same scheme, credential, host-name and address checks as the
//!   first URL; the chain is capped at [`FetchPolicy::max_redirects`], which
//!   also ends loops.
//! * **Size.** The body is read through a counter that stops at
//!   `max_bytes + 1` and fails: `Content-Length` is only used to refuse early
//!   (a declared oversize), never to size a buffer or to grant a larger read.
//!   No `Accept-Encoding` is offered and nothing is decompressed, so a small
//!   compressed body cannot expand into a huge one.
//! * **Time.** One deadline ([`FetchPolicy::total_timeout`]) covers DNS,
//!   connects, TLS, every redirect hop and the body, and is enforced on every
//!   socket read, so a server that trickles a byte at a time is cut off; each
//!   connection attempt is also bounded by [`FetchPolicy::connect_timeout`].
//! * **Content.** The format is sniffed from magic bytes and the
//!   `Content-Type` header is ignored, because the header is whatever the
//!   attacker says; non-images are refused before they reach a decoder.
//! * **TLS** is rustls with the Mozilla root set (webpki-roots): certificates
//!   are checked against the URL's host name even though the socket goes to
//!   an address we picked, and no OpenSSL is needed to build.
//!
//! The allow-list exists for operators who host images on internal servers;
//! it widens the address rule only, never the scheme, credential or
//! metadata-name rules.
//!
//! # Example
//!
//! ```no_run
//! use rempart_fetch::{FetchPolicy, Fetcher};
//!
//! let fetcher = Fetcher::new(FetchPolicy::default());
//! match fetcher.fetch("https://cdn.example.com/p/123.jpg") {
//!     Ok(img) => println!("{} bytes of {} from {}", img.bytes.len(), img.format, img.peer),
//!     Err(e) => println!("refused ({}): {e}", e.code()),
//! }
//! ```

use std::fmt;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ureq::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use ureq::unversioned::transport::{Connector, TcpConnector};
use ureq::Agent;
use url::{Host, Url};

mod addr;
mod error;
mod net;

pub use addr::{blocked_reason, canonical, is_metadata_host, METADATA_HOSTS};
pub use error::FetchError;
pub use ipnet::IpNet;
pub use rempart_hash::format::ImageFormat;

use addr::AddressRules;
use net::{TlsStage, VettedResolver, VettedTcpConnector};

/// URLs longer than this are refused as invalid.
pub const MAX_URL_LEN: usize = 8 * 1024;

/// What a [`Fetcher`] may do. Build with struct-update syntax over
/// [`FetchPolicy::default`].
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Largest body accepted, in bytes. Default 20 MiB.
    pub max_bytes: u64,
    /// Limit for each TCP connection attempt (and its TLS handshake). Default 5 s.
    pub connect_timeout: Duration,
    /// Limit for the whole fetch: DNS, connects, every redirect hop and the
    /// body. Default 10 s.
    pub total_timeout: Duration,
    /// Redirects followed before giving up. Default 5.
    pub max_redirects: u32,
    /// Networks that may be fetched from even though the address rule refuses
    /// them (e.g. an internal image store). Default empty.
    pub allow: Vec<IpNet>,
    /// `User-Agent` header sent. Characters outside printable ASCII are replaced.
    pub user_agent: String,
    /// Image formats accepted; others fail with [`FetchError::FormatNotAccepted`].
    /// Default: all of [`ImageFormat::ALL`].
    pub accepted_formats: Vec<ImageFormat>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_redirects: 5,
            allow: Vec::new(),
            user_agent: concat!("rempart/", env!("CARGO_PKG_VERSION"), " (image screening)").to_owned(),
            accepted_formats: ImageFormat::ALL.to_vec(),
        }
    }
}

impl FetchPolicy {
    /// Parses allow-list entries: CIDRs (`10.1.0.0/16`, `fd00::/8`) or bare
    /// addresses (`127.0.0.1`, meaning `/32` or `/128`). A CIDR with host
    /// bits set (`10.1.2.3/16`) is refused rather than widened to its
    /// network: the operator meant either the address or the network, and
    /// guessing the wider one opens more than was asked.
    pub fn parse_allow_list<S: AsRef<str>>(entries: &[S]) -> Result<Vec<IpNet>, InvalidCidr> {
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let s = entry.as_ref().trim();
                let invalid = |reason| InvalidCidr { index, entry: s.to_owned(), reason };
                let net = s
                    .parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| invalid(CidrProblem::Syntax))?;
                if net.trunc() != net {
                    return Err(invalid(CidrProblem::HostBits { network: net.trunc() }));
                }
                Ok(net)
            })
            .collect()
    }
}

/// An allow-list entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allow-list entry {entry:?}: {reason}")]
pub struct InvalidCidr {
    /// Position in the list.
    pub index: usize,
    pub entry: String,
    pub reason: CidrProblem,
}

/// What is wrong with an allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrProblem {
    #[error("expected a CIDR such as 10.0.0.0/8 or an IP address")]
    Syntax,
    #[error("host bits are set; write the network {network}, or one address with /32 (/128 for IPv6)")]
    HostBits { network: IpNet },
}

/// A successfully downloaded image.
#[derive(Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL the image was finally read from (after redirects), normalised.
    pub final_url: String,
    /// The address the final request was actually sent to.
    pub peer: SocketAddr,
    /// The body, at most [`FetchPolicy::max_bytes`] long.
    pub bytes: Vec<u8>,
    /// Format sniffed from the body's magic bytes.
    pub format: ImageFormat,
    /// Each redirect target followed, in order, as absolute URLs; when not
    /// empty its last element equals `final_url`.
    pub redirects: Vec<String>,
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("final_url", &self.final_url)
            .field("peer", &self.peer)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("format", &self.format)
            .field("redirects", &self.redirects)
            .finish()
    }
}

/// Downloads images under a [`FetchPolicy`]. Cheap to share: it is `Send +
/// Sync`, and keeps a pool of idle keep-alive connections (each made to a
/// vetted address) for all threads.
#[derive(Debug, Clone)]
pub struct Fetcher {
    policy: Arc<FetchPolicy>,
    rules: Arc<AddressRules>,
    agent: Agent,
}

const ACCEPT: &str = "image/png,image/jpeg,image/gif,image/webp,image/bmp,image/tiff;q=0.9,image/*;q=0.5";

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl Fetcher {
    /// Builds a fetcher; no network activity happens here.
    pub fn new(policy: FetchPolicy) -> Fetcher {
        let rules = Arc::new(AddressRules::new(policy.allow.clone()));
        let user_agent: String =
            policy.user_agent.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' }).collect();
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .save_redirect_history(false)
            .proxy(None)
            .https_only(false)
            .user_agent(user_agent.as_str())
            .accept(ACCEPT)
            .accept_encoding("identity")
            .timeout_connect(Some(policy.connect_timeout))
            .timeout_global(Some(policy.total_timeout))
            .build();
        let connector =
            VettedTcpConnector { rules: rules.clone(), tcp: TcpConnector::default() }.chain(TlsStage::default());
        let agent = Agent::with_parts(config, connector, VettedResolver { rules: rules.clone() });
        Fetcher { policy: Arc::new(policy), rules, agent }
    }

    /// The policy this fetcher enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Downloads the image at `url`, following redirects, or says why not.
    ///
    /// Blocking: run it on a worker thread.
    pub fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        self.fetch_by(url, None)
    }

    /// [`Fetcher::fetch`] that also gives up at `deadline` when it comes
    /// before the policy's own limit: the time left of a listing's total
    /// fetch budget, shared by all its images.
    pub fn fetch_by(&self, url: &str, deadline: Option<Instant>) -> Result<Fetched, FetchError> {
        let own = Instant::now().checked_add(self.policy.total_timeout);
        let (deadline, stage) = match (own, deadline) {
            (Some(own), Some(d)) if d < own => (Some(d), "listing"),
            (own, d) => (own.or(d), "total"),
        };
        self.fetch_within(url, deadline, stage).map_err(|e| match e {
            // Whichever socket read noticed it, the caller's deadline ended it.
            FetchError::Timeout { .. } if stage == "listing" && deadline.is_some_and(|d| Instant::now() >= d) => {
                FetchError::Timeout { stage }
            }
            other => other,
        })
    }

    fn fetch_within(&self, url: &str, deadline: Option<Instant>, stage: &'static str) -> Result<Fetched, FetchError> {
        let mut current = self.vet_url(url)?;
        let mut redirects = Vec::new();
        loop {
            let budget = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => self.policy.total_timeout,
            };
            if budget.is_zero() {
                return Err(FetchError::Timeout { stage });
            }
            let (peer, mut response) = self.send(&current, budget)?;
            let status = response.status().as_u16();
            if is_redirect(status) {
                if redirects.len() >= self.policy.max_redirects as usize {
                    return Err(FetchError::TooManyRedirects { max: self.policy.max_redirects });
                }
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or(FetchError::BadRedirect { status })?;
                let next = current
                    .join(location)
                    .map_err(|e| FetchError::InvalidUrl { url: location.to_owned(), reason: e.to_string() })?;
                current = self.vet_url(next.as_str())?;
                redirects.push(current.to_string());
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(FetchError::HttpStatus { status });
            }
            let max = self.policy.max_bytes;
            let headers = response.headers();
            let declared_len =
                headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
            if declared_len.is_some_and(|n| n > max) {
                return Err(FetchError::TooLarge { limit: max });
            }
            let declared_type = headers.get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            let mut bytes = Vec::new();
            response
                .body_mut()
                .as_reader()
                .take(max.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|e| self.map_err(ureq::Error::from(e), &current))?;
            if bytes.len() as u64 > max {
                return Err(FetchError::TooLarge { limit: max });
            }
            let format = ImageFormat::sniff(&bytes).ok_or(FetchError::NotAnImage { declared: declared_type })?;
            if !self.policy.accepted_formats.contains(&format) {
                return Err(FetchError::FormatNotAccepted { format });
            }
            return Ok(Fetched { final_url: current.to_string(), peer, bytes, format, redirects });
        }
    }

    /// Parses `input` and applies every check that needs no network: scheme,
    /// credentials, metadata host names, and the address rule for IP literals.
    fn vet_url(&self, input: &str) -> Result<Url, FetchError> {
        let invalid = |reason: String| FetchError::InvalidUrl { url: truncate(input), reason };
        if input.len() > MAX_URL_LEN {
            return Err(invalid(format!("longer than {MAX_URL_LEN} bytes")));
        }
        let mut url = Url::parse(input.trim()).map_err(|e| invalid(e.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(FetchError::SchemeNotAllowed { scheme: other.to_owned() }),
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Report the URL without the secret it carried.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            return Err(FetchError::UserinfoNotAllowed { url: url.to_string() });
        }
        url.set_fragment(None);
        let ip = match url.host() {
            None => return Err(invalid("no host".to_owned())),
            Some(Host::Domain(name)) => {
                if is_metadata_host(name) {
                    return Err(FetchError::HostNotAllowed { host: name.to_owned() });
                }
                None
            }
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        };
        if let Some(ip) = ip {
            if let Err(reason) = self.rules.check(ip) {
                return Err(FetchError::AddressNotAllowed { host: ip.to_string(), addr: ip, reason });
            }
        }
        Ok(url)
    }

    /// Sends one GET, without following redirects, within `budget`.
    fn send(&self, url: &Url, budget: Duration) -> Result<(SocketAddr, ureq::http::Response<ureq::Body>), FetchError> {
        net::clear_peer();
        let response = self
            .agent
            .get(url.as_str())
            .config()
            .timeout_global(Some(budget))
            .build()
            .call()
            .map_err(|e| self.map_err(e, url))?;
        let peer = net::last_peer().ok_or_else(|| FetchError::Transfer {
            reason: "internal error: connection peer not recorded".to_owned(),
        })?;
        Ok((peer, response))
    }

    fn map_err(&self, err: ureq::Error, url: &Url) -> FetchError {
        let host = url.host_str().map(net::normalise_host).unwrap_or_default();
        FetchError::from_ureq(err, url.as_str(), &host, self.policy.max_bytes)
    }
}

fn truncate(s: &str) -> String {
    const KEEP: usize = 200;
    if s.len() <= KEEP {
        return s.to_owned();
    }
    let mut end = KEEP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

//! The hooks that make ureq connect only to vetted addresses.
//!
//! ureq resolves a host through a [`Resolver`] and hands the addresses to a
//! [`Connector`] chain. We replace both ends:
//!
//! * [`VettedResolver`] resolves the name itself and drops every address the
//!   rules refuse, so ureq never learns of a forbidden address;
//! * [`VettedTcpConnector`] checks each address again right before
//!   `connect(2)` (belt and braces: it is the one place every socket is
//!   opened), then wraps the socket in a [`PeerTransport`] that remembers
//!   which address it is connected to.
//!
//! TLS is layered on top by ureq's own rustls connector, so certificate
//! checking still uses the host name from the URL while the socket goes to
//! the vetted address.
//!
//! ureq gives no way to ask a response which socket it came from, and a
//! pooled connection may serve a later request, so the transport records its
//! peer in a thread-local each time it sends a request. ureq's blocking API
//! does all I/O of a call on the calling thread, so right after `call()` the
//! thread-local names the address that request went to.

use std::cell::Cell;
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, RustlsConnector, TcpConnector, Transport,
};

use crate::addr::{is_metadata_host, AddressRules};
use crate::FetchError;

thread_local! {
    static LAST_PEER: Cell<Option<SocketAddr>> = const { Cell::new(None) };
}

/// Forget the peer recorded by an earlier request on this thread.
pub(crate) fn clear_peer() {
    LAST_PEER.with(|p| p.set(None));
}

/// The peer of the last request sent on this thread, if any.
pub(crate) fn last_peer() -> Option<SocketAddr> {
    LAST_PEER.with(Cell::get)
}

fn other(e: FetchError) -> ureq::Error {
    ureq::Error::Other(Box::new(e))
}

fn remaining(t: &NextTimeout) -> Option<Duration> {
    match t.after {
        UreqDuration::Exact(d) => Some(d),
        UreqDuration::NotHappening => None,
    }
}

/// Strips IPv6 brackets and a trailing root dot, and lower-cases.
pub(crate) fn normalise_host(host: &str) -> String {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Resolves `host` and keeps only the addresses `rules` allow.
///
/// IP literals are checked without any lookup. Fails with
/// [`FetchError::AddressNotAllowed`] (naming the first refused address) when
/// every address is refused.
pub(crate) fn resolve_vetted(
    host: &str,
    port: u16,
    rules: &AddressRules,
    timeout: Option<Duration>,
) -> Result<Vec<SocketAddr>, FetchError> {
    let host = normalise_host(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match rules.check(ip) {
            Ok(()) => Ok(vec![SocketAddr::new(ip, port)]),
            Err(reason) => Err(FetchError::AddressNotAllowed { host, addr: ip, reason }),
        };
    }
    if is_metadata_host(&host) {
        return Err(FetchError::HostNotAllowed { host });
    }
    let found = lookup(&host, port, timeout)?;
    let mut refused = None;
    let mut allowed = Vec::new();
    for addr in found {
        match rules.check(addr.ip()) {
            Ok(()) if !allowed.contains(&addr) => allowed.push(addr),
            Ok(()) => {}
            Err(reason) => {
                refused.get_or_insert((addr.ip(), reason));
            }
        }
    }
    match (allowed.is_empty(), refused) {
        (false, _) => Ok(allowed),
        (true, Some((addr, reason))) => Err(FetchError::AddressNotAllowed { host, addr, reason }),
        (true, None) => Err(FetchError::DnsFailed { host, reason: "no addresses found".into() }),
    }
}

/// `getaddrinfo` has no timeout, so with a deadline the lookup runs on a
/// helper thread that is abandoned if it overruns (it ends on its own when
/// the system resolver gives up).
fn lookup(host: &str, port: u16, timeout: Option<Duration>) -> Result<Vec<SocketAddr>, FetchError> {
    let dns_err = |e: std::io::Error| FetchError::DnsFailed { host: host.to_owned(), reason: e.to_string() };
    let Some(timeout) = timeout else {
        return (host, port).to_socket_addrs().map(Iterator::collect).map_err(dns_err);
    };
    if timeout.is_zero() {
        return Err(FetchError::Timeout { stage: "dns" });
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let owned = host.to_owned();
    std::thread::Builder::new()
        .name("rempart-dns".into())
        .spawn(move || {
            let res = (owned.as_str(), port).to_socket_addrs().map(Iterator::collect::<Vec<_>>);
            let _ = tx.send(res);
        })
        .map_err(dns_err)?;
    match rx.recv_timeout(timeout) {
        Ok(res) => res.map_err(dns_err),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(FetchError::Timeout { stage: "dns" }),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(FetchError::DnsFailed { host: host.to_owned(), reason: "resolver thread failed".into() })
        }
    }
}

fn uri_host_port(uri: &Uri) -> Result<(&str, u16), FetchError> {
    let invalid = |reason: &str| FetchError::InvalidUrl { url: uri.to_string(), reason: reason.to_owned() };
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = match uri.port_u16() {
        Some(p) => p,
        None => match uri.scheme_str() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return Err(invalid("scheme not allowed")),
        },
    };
    Ok((host, port))
}

/// Resolver that only ever returns vetted addresses.
pub(crate) struct VettedResolver {
    pub(crate) rules: Arc<AddressRules>,
}

impl fmt::Debug for VettedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VettedResolver").finish_non_exhaustive()
    }
}

impl Resolver for VettedResolver {
    fn resolve(&self, uri: &Uri, _config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (host, port) = uri_host_port(uri).map_err(other)?;
        let vetted = resolve_vetted(host, port, &self.rules, remaining(&timeout)).map_err(other)?;
        let mut out = self.empty();
        for addr in vetted {
            if out.try_push(addr).is_err() {
                break;
            }
        }
        Ok(out)
    }
}

/// Opens the TCP connection, to vetted addresses only.
pub(crate) struct VettedTcpConnector {
    pub(crate) rules: Arc<AddressRules>,
    pub(crate) tcp: TcpConnector,
}

impl fmt::Debug for VettedTcpConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VettedTcpConnector").finish_non_exhaustive()
    }
}

/// What ureq's own TCP connector produces; we wrap it rather than re-implement
/// socket I/O.
type TcpOut = <TcpConnector as Connector<()>>::Out;

impl Connector<()> for VettedTcpConnector {
    type Out = PeerTransport;

    fn connect(&self, details: &ConnectionDetails, _chained: Option<()>) -> Result<Option<PeerTransport>, ureq::Error> {
        let host = details.uri.host().map(normalise_host).unwrap_or_default();
        let deadline = remaining(&details.timeout).and_then(|d| Instant::now().checked_add(d));
        let addrs: &[SocketAddr] = &details.addrs;
        let mut last_err: Option<FetchError> = None;
        for (i, addr) in addrs.iter().enumerate() {
            if let Err(reason) = self.rules.check(addr.ip()) {
                last_err = Some(FetchError::AddressNotAllowed { host: host.clone(), addr: addr.ip(), reason });
                continue;
            }
            let mut timeout = details.timeout;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(ureq::Error::Timeout(details.timeout.reason));
                }
                // Share what is left between the remaining addresses, so one
                // black-holed address cannot eat the whole budget.
                let share = left / u32::try_from(addrs.len() - i).unwrap_or(u32::MAX);
                timeout.after = UreqDuration::Exact(share.max(Duration::from_millis(10)).min(left));
            }
            // Hand ureq's TCP connector exactly one address, so we know which
            // one the socket is connected to.
            let mut one = ResolvedSocketAddrs::from_fn(|_| *addr);
            one.push(*addr);
            let single = copy_details(details, one, timeout, details.request_level);
            match Connector::<()>::connect(&self.tcp, &single, None) {
                Ok(Some(inner)) => return Ok(Some(PeerTransport { inner, peer: *addr })),
                Ok(None) => {
                    last_err = Some(FetchError::ConnectFailed {
                        host: host.clone(),
                        addr: *addr,
                        reason: "no transport".into(),
                    })
                }
                Err(ureq::Error::Timeout(_)) => last_err = Some(FetchError::Timeout { stage: "connect" }),
                Err(ureq::Error::Io(e)) => {
                    last_err =
                        Some(FetchError::ConnectFailed { host: host.clone(), addr: *addr, reason: e.to_string() })
                }
                Err(e) => return Err(e),
            }
        }
        Err(other(last_err.unwrap_or(FetchError::DnsFailed { host, reason: "no addresses to connect to".into() })))
    }
}

/// Copy of `details` with some fields replaced.
fn copy_details<'a>(
    details: &ConnectionDetails<'a>,
    addrs: ResolvedSocketAddrs,
    timeout: NextTimeout,
    request_level: bool,
) -> ConnectionDetails<'a> {
    ConnectionDetails {
        uri: details.uri,
        addrs,
        config: details.config,
        request_level,
        resolver: details.resolver,
        now: details.now,
        timeout,
        current_time: details.current_time.clone(),
        run_connector: details.run_connector.clone(),
        register_shutdown: details.register_shutdown.clone(),
    }
}

/// ureq's rustls connector, with its failures reported as TLS failures.
#[derive(Debug, Default)]
pub(crate) struct TlsStage {
    rustls: RustlsConnector,
}

impl Connector<PeerTransport> for TlsStage {
    type Out = <RustlsConnector as Connector<PeerTransport>>::Out;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<PeerTransport>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        // Every request carries request-level config (for its share of the
        // total deadline), which stops ureq from caching the rustls client
        // config and makes it rebuild the root store per connection. The TLS
        // settings are the agent's on every request, so it is sound to let
        // the connector treat them as agent-level and cache them.
        let agent_level = copy_details(details, details.addrs.clone(), details.timeout, false);
        match self.rustls.connect(&agent_level, chained) {
            Ok(out) => Ok(out),
            Err(e @ ureq::Error::Timeout(_)) => Err(e),
            Err(e) => Err(other(FetchError::Tls { reason: e.to_string() })),
        }
    }
}

/// A TCP transport that knows (and reports) the address it is connected to.
pub(crate) struct PeerTransport {
    inner: TcpOut,
    peer: SocketAddr,
}

impl fmt::Debug for PeerTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerTransport").field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl Transport for PeerTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        LAST_PEER.with(|p| p.set(Some(self.peer)));
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};

    use ureq::Agent;

    use super::*;

    fn allow_v4_loopback() -> AddressRules {
        AddressRules::new(vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))])
    }

    #[test]
    fn localhost_resolves_to_refused_loopback() {
        let err = resolve_vetted("localhost", 80, &AddressRules::default(), Some(Duration::from_secs(2)))
            .expect_err("localhost must be refused");
        match err {
            FetchError::AddressNotAllowed { host, addr, reason } => {
                assert_eq!(host, "localhost");
                assert!(addr.is_loopback(), "{addr}");
                assert_eq!(reason, "loopback");
            }
            other => panic!("{other:?}"),
        }
        // With 127.0.0.1/32 allowed, only that address survives (never ::1).
        let ok = resolve_vetted("LocalHost.", 8080, &allow_v4_loopback(), Some(Duration::from_secs(2)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok, vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))]);
    }

    #[test]
    fn literals_and_metadata_names_need_no_lookup() {
        let rules = AddressRules::default();
        let err = resolve_vetted("[::ffff:169.254.169.254]", 80, &rules, None).expect_err("mapped metadata");
        assert!(matches!(err, FetchError::AddressNotAllowed { reason: "link-local", .. }), "{err:?}");
        let err = resolve_vetted("metadata.google.internal", 80, &rules, None).expect_err("metadata name");
        assert!(matches!(err, FetchError::HostNotAllowed { .. }), "{err:?}");
        let ok = resolve_vetted("[2606:4700::1111]", 443, &rules, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.len(), 1);
    }

    /// A resolver that, like a hostile DNS server, answers loopback for any name.
    #[derive(Debug)]
    struct RebindingResolver(u16);

    impl Resolver for RebindingResolver {
        fn resolve(&self, _: &Uri, _: &Config, _: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
            let mut out = self.empty();
            out.push(SocketAddr::from((Ipv4Addr::LOCALHOST, self.0)));
            Ok(out)
        }
    }

    /// Even if a bad address reached the connector, it would not be dialled.
    #[test]
    fn connector_rechecks_every_address() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
        let connector = VettedTcpConnector { rules: Arc::new(AddressRules::default()), tcp: TcpConnector::default() };
        let config = Agent::config_builder().proxy(None).timeout_global(Some(Duration::from_secs(2))).build();
        let agent = Agent::with_parts(config, connector, RebindingResolver(port));
        let err = agent.get("http://images.example.com/x.png").call().expect_err("must be refused");
        let ours = match err {
            ureq::Error::Other(inner) => inner.downcast::<FetchError>().unwrap_or_else(|e| panic!("{e}")),
            other => panic!("{other:?}"),
        };
        assert!(matches!(*ours, FetchError::AddressNotAllowed { reason: "loopback", .. }), "{ours:?}");
        assert!(listener.accept().is_err(), "the connector must not have connected");
    }
}

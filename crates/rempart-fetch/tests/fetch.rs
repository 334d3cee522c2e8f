//! End-to-end tests against a hand-written HTTP server on 127.0.0.1.
//!
//! Everything stays on loopback: requests aimed at other addresses
//! (169.254.169.254, [::1], metadata names) are refused before any socket is
//! opened, which is part of what these tests check.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rempart_fetch::{FetchError, FetchPolicy, Fetcher, ImageFormat};

// ---------------------------------------------------------------- test image

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid 1x1 greyscale PNG (stored, uncompressed deflate block).
fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    let raw = [0u8, 0x80]; // filter byte + one pixel
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut idat = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF];
    idat.extend_from_slice(&raw);
    idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

// ---------------------------------------------------------------- test server

struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || serve_connection(stream, addr.port()));
            }
        });
        Server { addr, connections }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head == [0x16] {
            // A TLS ClientHello: answer it as if it were HTTP.
            return Some("<tls>".to_owned());
        }
        if head.len() > 16 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1)?.to_owned();
    Some(path)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn redirect(stream: &mut TcpStream, status: &str, location: &str) -> std::io::Result<()> {
    respond(
        stream,
        status,
        &[("Location", location.to_owned()), ("Content-Length", "0".into()), ("Connection", "close".into())],
        b"",
    )
}

const BIG: usize = 64 * 1024;

fn big_png_body() -> Vec<u8> {
    let mut body = tiny_png();
    body.resize(BIG, 0);
    body
}

/// One connection; keeps it alive only for `/x.png`, so pooling is exercised.
fn serve_connection(mut stream: TcpStream, port: u16) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    while let Some(path) = read_head(&mut stream) {
        let keep_alive = path == "/x.png";
        if route(&mut stream, &path, port).is_err() || !keep_alive {
            return;
        }
    }
}

fn route(s: &mut TcpStream, path: &str, port: u16) -> std::io::Result<()> {
    let png = tiny_png();
    let close = ("Connection", "close".to_owned());
    match path {
        "/x.png" => respond(
            s,
            "200 OK",
            &[("Content-Type", "image/png".into()), ("Content-Length", png.len().to_string())],
            &png,
        ),
        "/fake.png" => {
            let html = b"<!doctype html><html><body>not an image</body></html>";
            respond(
                s,
                "200 OK",
                &[("Content-Type", "image/png".into()), ("Content-Length", html.len().to_string()), close],
                html,
            )
        }
        // Close-delimited: no Content-Length at all.
        "/big.png" => respond(s, "200 OK", &[("Content-Type", "image/png".into()), close], &big_png_body()),
        "/big-chunked.png" => {
            let body = big_png_body();
            let mut framed = Vec::new();
            for piece in body.chunks(1000) {
                framed.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                framed.extend_from_slice(piece);
                framed.extend_from_slice(b"\r\n");
            }
            framed.extend_from_slice(b"0\r\n\r\n");
            respond(s, "200 OK", &[("Transfer-Encoding", "chunked".into()), close], &framed)
        }
        "/big-declared.png" => respond(s, "200 OK", &[("Content-Length", BIG.to_string()), close], &big_png_body()),
        // Claims a gigabyte, sends a tiny image.
        "/lying-huge.png" => respond(s, "200 OK", &[("Content-Length", "1073741824".into()), close], &png),
        // Claims 16 bytes, then keeps sending.
        "/lying-short.png" => respond(s, "200 OK", &[("Content-Length", "16".into()), close], &big_png_body()),
        "/slow.png" => {
            respond(s, "200 OK", &[("Content-Length", "1000".into()), close], &png[..8])?;
            for _ in 0..200 {
                thread::sleep(Duration::from_millis(50));
                s.write_all(&[0])?;
                s.flush()?;
            }
            Ok(())
        }
        "/missing.png" => respond(s, "404 Not Found", &[("Content-Length", "9".into()), close], b"not found"),
        "/r1" => redirect(s, "301 Moved Permanently", "/r2"),
        "/r2" => redirect(s, "302 Found", &format!("http://127.0.0.1:{port}/x.png#frag")),
        "/loop" => redirect(s, "302 Found", "/loop"),
        "/to-metadata" => redirect(s, "302 Found", "http://169.254.169.254/latest/meta-data/"),
        "/to-ipv6-loopback" => redirect(s, "307 Temporary Redirect", &format!("http://[::1]:{port}/x.png")),
        "/to-mapped" => redirect(s, "308 Permanent Redirect", &format!("http://[::ffff:10.0.0.1]:{port}/x.png")),
        "/to-private" => redirect(s, "302 Found", "http://192.168.0.1/x.png"),
        "/to-decimal" => redirect(s, "302 Found", &format!("http://2130706433:{port}/x.png")),
        "/to-file" => redirect(s, "302 Found", "file:///etc/passwd"),
        "/to-gopher" => redirect(s, "302 Found", "gopher://127.0.0.1:70/_stats"),
        "/to-creds" => redirect(s, "302 Found", &format!("http://user:secret@127.0.0.1:{port}/x.png")),
        "/to-metadata-name" => redirect(s, "302 Found", "http://metadata.google.internal/computeMetadata/v1/"),
        "/no-location" => respond(s, "302 Found", &[("Content-Length", "0".into()), close], b""),
        _ => respond(s, "404 Not Found", &[("Content-Length", "0".into()), close], b""),
    }
}

// ---------------------------------------------------------------- helpers

fn test_policy() -> FetchPolicy {
    FetchPolicy {
        max_bytes: 4096,
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(3),
        max_redirects: 3,
        ..FetchPolicy::default()
    }
}

fn local_policy() -> FetchPolicy {
    FetchPolicy { allow: FetchPolicy::parse_allow_list(&["127.0.0.1/32"]).expect("valid allow-list"), ..test_policy() }
}

fn local_fetcher() -> Fetcher {
    Fetcher::new(local_policy())
}

#[track_caller]
fn expect_code(result: Result<rempart_fetch::Fetched, FetchError>, code: &str) -> FetchError {
    match result {
        Ok(f) => panic!("expected {code}, got success: {f:?}"),
        Err(e) => {
            assert_eq!(e.code(), code, "unexpected error: {e}");
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn loopback_refused_without_allow_list() {
    let server = Server::start();
    let fetcher = Fetcher::new(test_policy());
    let err = expect_code(fetcher.fetch(&server.url("/x.png")), "address_not_allowed");
    match err {
        FetchError::AddressNotAllowed { addr, reason, .. } => {
            assert_eq!(addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert_eq!(reason, "loopback");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 0, "no connection may be made");
}

#[test]
fn loopback_allowed_with_allow_list() {
    let server = Server::start();
    let fetched = local_fetcher().fetch(&server.url("/x.png")).expect("allow-listed fetch");
    assert_eq!(fetched.bytes, tiny_png());
    assert_eq!(fetched.format, ImageFormat::Png);
    assert_eq!(fetched.peer, server.addr);
    assert_eq!(fetched.final_url, server.url("/x.png"));
    assert!(fetched.redirects.is_empty());
}

#[test]
fn localhost_name_is_judged_by_its_addresses() {
    let server = Server::start();
    let url = format!("http://localhost:{}/x.png", server.addr.port());
    expect_code(Fetcher::new(test_policy()).fetch(&url), "address_not_allowed");
    // Allow-listing 127.0.0.1 lets the IPv4 answer through, never ::1.
    let fetched = local_fetcher().fetch(&url).expect("localhost via allow-listed 127.0.0.1");
    assert_eq!(fetched.peer, server.addr);
}

#[test]
fn connections_are_reused_and_peer_still_reported() {
    let server = Server::start();
    let fetcher = local_fetcher();
    for _ in 0..3 {
        let fetched = fetcher.fetch(&server.url("/x.png")).expect("fetch");
        assert_eq!(fetched.peer, server.addr);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "keep-alive connection should be pooled");
}

#[test]
fn fetcher_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Fetcher>();
    let server = Server::start();
    let fetcher = Arc::new(local_fetcher());
    let url = server.url("/x.png");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (fetcher, url) = (fetcher.clone(), url.clone());
            thread::spawn(move || fetcher.fetch(&url).map(|f| f.peer))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread").expect("fetch"), server.addr);
    }
}

#[test]
fn content_type_is_not_trusted() {
    let server = Server::start();
    let err = expect_code(local_fetcher().fetch(&server.url("/fake.png")), "not_an_image");
    match err {
        FetchError::NotAnImage { declared } => assert_eq!(declared.as_deref(), Some("image/png")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn format_not_accepted() {
    let server = Server::start();
    let fetcher = Fetcher::new(FetchPolicy { accepted_formats: vec![ImageFormat::Jpeg], ..local_policy() });
    expect_code(fetcher.fetch(&server.url("/x.png")), "format_not_accepted");
}

#[test]
fn oversized_bodies_refused_while_streaming() {
    let server = Server::start();
    let fetcher = local_fetcher();
    for path in ["/big.png", "/big-chunked.png", "/big-declared.png"] {
        let err = expect_code(fetcher.fetch(&server.url(path)), "too_large");
        assert!(matches!(err, FetchError::TooLarge { limit: 4096 }), "{path}: {err:?}");
    }
}

#[test]
fn lying_content_length_cannot_widen_the_cap() {
    let server = Server::start();
    let fetcher = local_fetcher();
    // A declared gigabyte is refused up front, without allocating for it.
    expect_code(fetcher.fetch(&server.url("/lying-huge.png")), "too_large");
    // A declared 16 bytes is all that is read, however much follows.
    let fetched = fetcher.fetch(&server.url("/lying-short.png")).expect("short read");
    assert_eq!(fetched.bytes.len(), 16);
    assert_eq!(fetched.format, ImageFormat::Png);
}

#[test]
fn redirect_chain_followed_and_listed() {
    let server = Server::start();
    let fetched = local_fetcher().fetch(&server.url("/r1")).expect("redirected fetch");
    assert_eq!(fetched.redirects, vec![server.url("/r2"), server.url("/x.png")]);
    assert_eq!(fetched.final_url, server.url("/x.png"));
    assert_eq!(fetched.peer, server.addr);
    assert_eq!(fetched.format, ImageFormat::Png);

    // Two redirects are one too many for max_redirects = 1.
    let strict = Fetcher::new(FetchPolicy { max_redirects: 1, ..local_policy() });
    expect_code(strict.fetch(&server.url("/r1")), "too_many_redirects");
}

#[test]
fn redirect_loop_refused() {
    let server = Server::start();
    let err = expect_code(local_fetcher().fetch(&server.url("/loop")), "too_many_redirects");
    assert!(matches!(err, FetchError::TooManyRedirects { max: 3 }));
}

#[test]
fn redirect_to_metadata_refused() {
    let server = Server::start();
    let err = expect_code(local_fetcher().fetch(&server.url("/to-metadata")), "address_not_allowed");
    match err {
        FetchError::AddressNotAllowed { addr, reason, .. } => {
            assert_eq!(addr, IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)));
            assert_eq!(reason, "link-local");
        }
        other => panic!("{other:?}"),
    }
    expect_code(local_fetcher().fetch(&server.url("/to-metadata-name")), "host_not_allowed");
}

#[test]
fn redirect_to_other_internal_addresses_refused() {
    let server = Server::start();
    let fetcher = local_fetcher();
    // 127.0.0.1/32 is allow-listed; ::1 is still loopback and still refused.
    let err = expect_code(fetcher.fetch(&server.url("/to-ipv6-loopback")), "address_not_allowed");
    assert!(matches!(err, FetchError::AddressNotAllowed { reason: "loopback", .. }), "{err:?}");
    expect_code(fetcher.fetch(&server.url("/to-mapped")), "address_not_allowed");
    expect_code(fetcher.fetch(&server.url("/to-private")), "address_not_allowed");
}

#[test]
fn redirect_to_odd_ipv4_spelling_is_normalised() {
    let server = Server::start();
    // Without the allow-list the decimal spelling of 127.0.0.1 is caught...
    let open = Fetcher::new(test_policy());
    let err = expect_code(open.fetch(&server.url("/to-decimal")), "address_not_allowed");
    assert!(matches!(err, FetchError::AddressNotAllowed { .. }));
    // ...and with it, it is recognised as the allow-listed 127.0.0.1.
    let fetched = local_fetcher().fetch(&server.url("/to-decimal")).expect("normalised redirect");
    assert_eq!(fetched.redirects, vec![server.url("/x.png")]);
    assert_eq!(fetched.peer, server.addr);
}

#[test]
fn redirect_scheme_and_credentials_rechecked() {
    let server = Server::start();
    let fetcher = local_fetcher();
    expect_code(fetcher.fetch(&server.url("/to-file")), "scheme_not_allowed");
    expect_code(fetcher.fetch(&server.url("/to-gopher")), "scheme_not_allowed");
    let err = expect_code(fetcher.fetch(&server.url("/to-creds")), "userinfo_not_allowed");
    assert!(!err.to_string().contains("secret"), "credentials leaked into message: {err}");
    expect_code(fetcher.fetch(&server.url("/no-location")), "bad_redirect");
}

#[test]
fn slow_trickle_times_out() {
    let server = Server::start();
    let fetcher = Fetcher::new(FetchPolicy { total_timeout: Duration::from_millis(400), ..local_policy() });
    let started = Instant::now();
    expect_code(fetcher.fetch(&server.url("/slow.png")), "timeout");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[test]
fn not_found_is_http_status() {
    let server = Server::start();
    let err = expect_code(local_fetcher().fetch(&server.url("/missing.png")), "http_status");
    assert!(matches!(err, FetchError::HttpStatus { status: 404 }));
}

#[test]
fn closed_port_is_connect_failed() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/x.png");
    expect_code(local_fetcher().fetch(&url), "connect_failed");
}

/// Refusals that need no network at all: they must come back at once.
#[test]
fn url_rules_refuse_before_connecting() {
    let fetcher = Fetcher::new(test_policy());
    let cases = [
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("ftp://example.com/a.png", "scheme_not_allowed"),
        ("data:image/png;base64,iVBORw0KGgo=", "scheme_not_allowed"),
        ("gopher://127.0.0.1:11211/_stats", "scheme_not_allowed"),
        ("javascript:alert(1)", "scheme_not_allowed"),
        ("HTTPS://user:pass@example.com/a.png", "userinfo_not_allowed"),
        ("http://user@example.com/a.png", "userinfo_not_allowed"),
        ("http://:pass@example.com/a.png", "userinfo_not_allowed"),
        ("not a url", "invalid_url"),
        ("http://", "invalid_url"),
        ("http://exa mple.com/", "invalid_url"),
        ("/relative/path.png", "invalid_url"),
        ("http://127.0.0.1/", "address_not_allowed"),
        ("http://2130706433/", "address_not_allowed"),
        ("http://0x7f000001/", "address_not_allowed"),
        ("http://0177.0.0.1/", "address_not_allowed"),
        ("http://127.1/", "address_not_allowed"),
        ("http://0/", "address_not_allowed"),
        ("http://0.0.0.0/", "address_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("http://0xa9fea9fe/", "address_not_allowed"),
        ("http://100.100.100.200/", "address_not_allowed"),
        ("http://10.0.0.1/", "address_not_allowed"),
        ("http://[::1]/", "address_not_allowed"),
        ("http://[::]/", "address_not_allowed"),
        ("http://[::ffff:127.0.0.1]/", "address_not_allowed"),
        ("http://[::ffff:169.254.169.254]/", "address_not_allowed"),
        ("http://[fd00:ec2::254]/", "address_not_allowed"),
        ("http://[fe80::1]/", "address_not_allowed"),
        ("http://metadata.google.internal/computeMetadata/v1/", "host_not_allowed"),
        ("http://METADATA.GOOGLE.INTERNAL./", "host_not_allowed"),
        ("http://metadata/", "host_not_allowed"),
    ];
    let started = Instant::now();
    for (url, code) in cases {
        match fetcher.fetch(url) {
            Ok(f) => panic!("{url}: fetched {f:?}"),
            Err(e) => assert_eq!(e.code(), code, "{url}: {e}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(1), "pre-flight refusals must not touch the network");
    let long = format!("http://example.com/{}", "a".repeat(rempart_fetch::MAX_URL_LEN));
    expect_code(fetcher.fetch(&long), "invalid_url");
}

#[test]
fn error_codes_are_stable_snake_case_and_distinct() {
    let codes = FetchError::CODES;
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len());
    for code in codes {
        assert!(code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
    }
    for code in [
        "scheme_not_allowed",
        "address_not_allowed",
        "too_many_redirects",
        "too_large",
        "timeout",
        "not_an_image",
        "http_status",
        "invalid_url",
        "connect_failed",
        "dns_failed",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
}

#[test]
fn allow_list_parsing() {
    let nets = FetchPolicy::parse_allow_list(&["10.1.0.0/16", "127.0.0.1", " fd00::/8 ", "::1"]).expect("parse");
    let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.1.0.0/16", "127.0.0.1/32", "fd00::/8", "::1/128"]);
    assert!(FetchPolicy::parse_allow_list(&["localhost"]).is_err());
    assert!(FetchPolicy::parse_allow_list(&["10.0.0.0/33"]).is_err());
    // Host bits set: refused, not silently widened to 10.1.0.0/16.
    let e = FetchPolicy::parse_allow_list(&["127.0.0.1", "10.1.2.3/16"]).expect_err("host bits");
    assert_eq!(e.index, 1);
    assert!(e.to_string().contains("10.1.0.0/16"), "{e}");
    assert!(FetchPolicy::parse_allow_list(&["fd00::1/8"]).is_err());
}

#[test]
fn https_handshake_failure_is_tls_failed() {
    let server = Server::start();
    // The server speaks plain HTTP, so the rustls handshake must fail cleanly.
    let url = format!("https://127.0.0.1:{}/x.png", server.addr.port());
    expect_code(local_fetcher().fetch(&url), "tls_failed");
}

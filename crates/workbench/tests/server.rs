//! The workbench server as a browser, a hostile web page or a misbehaving client meets it:
//! raw HTTP over 127.0.0.1 against a real server on an empty evolve run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use workbench::{Mode, Server, Site};

/// An evolve run with a config and no candidates yet, as `evolve` leaves it at the start.
fn empty_run(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workbench-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = evolve::Store::open(&dir.join(evolve::DATABASE_FILE)).unwrap();
    let config = evolve::EvolveConfig::new("franka-reach", evolve::Budget::Quick);
    store
        .set_meta("config", &serde_json::to_string(&config).unwrap())
        .unwrap();
    dir
}

/// Serves an empty run on a free loopback port, answering `allow_hosts` too.
fn serve(test: &str, allow_hosts: &[&str]) -> SocketAddr {
    let site = Site::open(&empty_run(test), Mode::Live).unwrap();
    let allow: Vec<String> = allow_hosts.iter().map(|h| h.to_string()).collect();
    let server = Server::bind(site, "127.0.0.1:0".parse().unwrap(), &allow).unwrap();
    let addr = server.addr();
    std::thread::spawn(move || server.run());
    addr
}

/// A parsed response: status, header lines (names in lower case) and body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Self {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|l| {
                let (name, value) = l.split_once(':').unwrap();
                (name.to_ascii_lowercase(), value.trim().to_string())
            })
            .collect();
        Self {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` as it is and reads the whole response.
fn send(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    Response::parse(&raw)
}

/// `METHOD path` with the given Host header.
fn request(addr: SocketAddr, method: &str, path: &str, host: &str) -> Response {
    send(
        addr,
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &addr.to_string())
}

#[test]
fn requests_for_other_host_names_are_refused() {
    let addr = serve("foreign-host", &[]);
    let port = addr.port();
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "192.0.2.1".to_string(),
    ] {
        let response = request(addr, "GET", "/", &host);
        assert_eq!(response.status, 403, "Host: {host}");
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
        let text = response.text();
        assert!(text.contains("--allow-host"), "{text}");
        assert!(
            !text.contains("generation-table"),
            "the page leaked: {text}"
        );
    }
    // A request without a Host, or with two, is not guessed at.
    let none = send(addr, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(none.status, 400);
    let two = send(
        addr,
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(two.status, 400);
    let junk = request(addr, "GET", "/", "bad host");
    assert_eq!(junk.status, 400);
}

#[test]
fn loopback_hosts_and_allowed_names_get_the_pages() {
    let addr = serve("loopback-host", &["workbench.example"]);
    let port = addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1".to_string(),
        format!("localhost:{port}"),
        "LOCALHOST".to_string(),
        format!("[::1]:{port}"),
        "[::1]".to_string(),
        "workbench.example".to_string(),
        format!("Workbench.Example:{port}"),
    ] {
        let response = request(addr, "GET", "/", &host);
        assert_eq!(response.status, 200, "Host: {host}: {}", response.text());
        assert!(response.text().contains("id=\"generation-table\""));
    }
    // HTTP/1.0 with a Host is served too.
    let old = send(
        addr,
        b"GET /api/version HTTP/1.0\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(old.status, 200);
}

#[test]
fn oversized_request_heads_are_refused_and_the_server_stays_up() {
    let addr = serve("oversized", &[]);
    let host = addr.to_string();

    // A 1 MiB header line, sent by its own thread: the reply comes before it is all read.
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nX-Huge: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let sender = std::thread::spawn(move || {
        // The server may close its side once it has replied and drained; that is fine.
        let _ = writer.write_all(huge.as_bytes());
    });
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let response = Response::parse(&raw);
    assert_eq!(response.status, 431, "{}", response.text());
    assert_eq!(response.header("connection"), Some("close"));
    drop(stream);
    sender.join().unwrap();
    assert_eq!(get(addr, "/").status, 200, "the server still answers");

    // A 1 MiB URL.
    let long_url = format!("/{}", "a".repeat(1 << 20));
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let request = format!("GET {long_url} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(request.as_bytes());
    });
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    assert_eq!(Response::parse(&raw).status, 414);
    drop(stream);
    sender.join().unwrap();

    // Many small headers, and a head that is too large in all.
    let many: String = (0..200).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let response = send(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(response.status, 431);
    let large: String = (0..12)
        .map(|i| format!("X-{i}: {}\r\n", "b".repeat(7000)))
        .collect();
    let response = send(
        addr,
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n{large}\r\n").as_bytes(),
    );
    assert_eq!(response.status, 431);
    assert_eq!(get(addr, "/").status, 200, "the server still answers");
}

#[test]
fn methods_other_than_get_and_head_are_not_allowed() {
    let addr = serve("methods", &[]);
    let host = addr.to_string();
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ] {
        let response = request(addr, method, "/", &host);
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
        assert!(!response.text().contains("generation-table"), "{method}");
    }
    // A POST with a body is refused as well, and the body does not reset the reply.
    let response = send(
        addr,
        format!(
            "POST /final HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5000\r\n\r\n{}",
            "x".repeat(5000)
        )
        .as_bytes(),
    );
    assert_eq!(response.status, 405);
}

#[test]
fn head_gives_the_headers_without_the_body() {
    let addr = serve("head", &[]);
    let host = addr.to_string();
    let got = request(addr, "GET", "/", &host);
    let head = request(addr, "HEAD", "/", &host);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{}", head.text());
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(length > 0);
    assert_eq!(got.header("content-type"), head.header("content-type"));
    let asset = request(addr, "HEAD", "/assets/style.css", &host);
    assert_eq!(asset.status, 200);
    assert!(asset.body.is_empty());
    let missing = request(addr, "HEAD", "/no/such/page", &host);
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());
}

#[test]
fn pages_answer_while_other_clients_hold_half_sent_requests() {
    let addr = serve("slow-clients", &[]);
    let host = addr.to_string();
    // Slow clients, more than the server has threads for: a request line and half a
    // header, then nothing more for now.
    let held: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            write!(stream, "GET / HTTP/1.1\r\nHost: {host}\r\nX-Slow: ").unwrap();
            stream
        })
        .collect();
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for path in ["/", "/final", "/api/version", "/assets/workbench.js"] {
        let response = get(addr, path);
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    // A recent slow client that does finish is answered in full.
    let mut slow = held.into_iter().last().unwrap();
    slow.write_all(b"1\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    slow.read_to_end(&mut raw).unwrap();
    assert_eq!(Response::parse(&raw).status, 200);
    drop(idle);
}

#[test]
fn bad_requests_are_clear_4xx_and_never_take_the_server_down() {
    let addr = serve("bad-requests", &[]);
    let host = addr.to_string();
    for path in [
        "/../../etc/passwd",
        "/assets/../../evolve.db",
        "/%2e%2e/evolve.db",
        "/assets/%2E%2E%2Fevolve.db",
        "/candidate/%zz",
        "/candidate/%",
        "/%ff%fe",
        "/candidate/1%00",
        "/a%0d%0aSet-Cookie:%20x",
        "*",
        "http://127.0.0.1/",
        "candidate/1",
    ] {
        let response = request(addr, "GET", path, &host);
        assert_eq!(response.status, 400, "{path}: {}", response.text());
        assert!(!response.text().is_empty(), "{path}: the reply says why");
    }
    let raw_bytes = [
        b"GET /\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Bin: \x00\x01\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\n folded\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nno colon\r\n\r\n".to_vec(),
        b"GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        b"GET /\r\n\r\n".to_vec(),
        b"hello\r\n\r\n".to_vec(),
        b"\r\n\r\n\r\n\r\n\r\n\r\n".to_vec(),
    ];
    for request in &raw_bytes {
        let response = send(addr, request);
        assert_eq!(
            response.status,
            400,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    let response = send(addr, b"GET / HTTP/2.0\r\nHost: localhost\r\n\r\n");
    assert_eq!(response.status, 505);
    // Well-formed requests for things that are not there are 404 pages that say so.
    let response = get(addr, "/candidate/abc");
    assert_eq!(response.status, 404);
    assert!(response.text().contains("abc is not a candidate id"));
    let response = get(addr, "/candidate/7");
    assert_eq!(response.status, 404);
    assert!(response.text().contains("no candidate 7"));
    let response = get(addr, "/video/7");
    assert_eq!(response.status, 404);
    assert_eq!(get(addr, "/assets/nope.css").status, 404);
    // A client that connects and leaves, or sends half a line and leaves, is no matter.
    drop(TcpStream::connect(addr).unwrap());
    TcpStream::connect(addr)
        .unwrap()
        .write_all(b"GET /fi")
        .unwrap();
    // Query strings are ignored and percent-encoded paths are decoded.
    assert_eq!(get(addr, "/?refresh=1").status, 200);
    assert_eq!(get(addr, "/%66inal").status, 200);
}

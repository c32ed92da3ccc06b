//! `rewardgen view`: the pages served live over HTTP, on 127.0.0.1 unless told otherwise.
//! Every request reads the run store afresh, so a running evolve shows up as it goes.
//!
//! The server is a security boundary, so it is a small HTTP/1.1 handler on `std::net` that
//! does only what the workbench needs:
//! - it answers only requests whose `Host` is a loopback name or address, the address the
//!   client connected to, or a name given with `--allow-host`, so a web page cannot read
//!   the run through DNS rebinding;
//! - it reads a request head in bounded memory and time ([`MAX_LINE`], [`MAX_HEAD`],
//!   [`MAX_HEADERS`], a deadline for the whole head), and replies 414, 431, 400 or 408 and
//!   closes otherwise;
//! - it serves GET and HEAD and answers 405 to every other method;
//! - each connection has its own thread, at most [`MAX_CONNECTIONS`] at once; when all are
//!   taken, a new connection closes the oldest one still waiting for its request, so slow
//!   clients cannot keep others out; and only a missing video takes the render lock, so
//!   pages and rendered videos are served while a video renders.
//!
//! Every response closes its connection.

use crate::WorkbenchError;
use crate::pages::{ASSETS, Site};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest request line or header line, in bytes, without its line end.
const MAX_LINE: usize = 8 * 1024;
/// The most bytes of a request head (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// The most header lines in one request.
const MAX_HEADERS: usize = 64;
/// Connections served at once, each on its own thread (see [`Slots`]).
const MAX_CONNECTIONS: usize = 32;
/// Video requests that may wait for a render at once; more are told to retry (503).
const MAX_RENDER_WAITERS: usize = 4;
/// How long a client has to send its whole request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(20);
/// How long one write to a client may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// After a reply, what the client still sends is read and dropped for this long (or up to
/// [`LINGER_BYTES`]), so that closing does not reset the connection before the client has
/// read the reply.
const LINGER: Duration = Duration::from_secs(3);
const LINGER_BYTES: u64 = 4 << 20;

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// What answers a request for a decoded path: the workbench's pages, or a stand-in in tests.
type Handler = dyn Fn(&str) -> Reply + Send + Sync;

/// A bound workbench server.
pub struct Server {
    listener: TcpListener,
    handler: Arc<Handler>,
    hosts: Arc<AllowedHosts>,
    addr: SocketAddr,
    head_deadline: Duration,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one) for the run in `site`. Besides loopback names
    /// and the address a client connected to, requests may name the hosts in `allow_hosts`
    /// (host names or IP addresses, without a port).
    pub fn bind(
        site: Site,
        addr: SocketAddr,
        allow_hosts: &[String],
    ) -> Result<Self, WorkbenchError> {
        let site = Arc::new(site);
        let waiters = Arc::new(AtomicUsize::new(0));
        let handler = move |path: &str| route(&site, &waiters, path);
        Self::with_handler(addr, allow_hosts, Arc::new(handler))
    }

    fn with_handler(
        addr: SocketAddr,
        allow_hosts: &[String],
        handler: Arc<Handler>,
    ) -> Result<Self, WorkbenchError> {
        let hosts = AllowedHosts::new(allow_hosts)?;
        let listener = TcpListener::bind(addr)
            .map_err(|e| WorkbenchError::Server(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| WorkbenchError::Server(format!("cannot listen on {addr}: {e}")))?;
        Ok(Self {
            listener,
            handler,
            hosts: Arc::new(hosts),
            addr,
            head_deadline: HEAD_DEADLINE,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to open on this machine: the loopback address when it listens on all of them.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/", SocketAddr::new(ip, self.addr.port()))
    }

    /// Serves until the process ends.
    pub fn run(self) {
        let slots = Arc::new(Slots::default());
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else {
                // Out of file descriptors, or a connection reset before it was accepted.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let slot = slots.acquire(&stream);
            let (handler, hosts) = (self.handler.clone(), self.hosts.clone());
            let deadline = self.head_deadline;
            // If no thread can be started, the closure is dropped with its slot and stream.
            let _ = std::thread::Builder::new()
                .name("workbench-http".into())
                .spawn(move || connection(stream, &slot, &hosts, &*handler, deadline));
        }
    }
}

/// The connections being served, at most [`MAX_CONNECTIONS`]. Those that are still waiting
/// for their request head, or lingering after their reply, are idle: when every slot is
/// taken, a new connection closes the oldest idle one, so slow or silent clients cannot keep
/// others out. The accept loop waits only while every connection is busy answering.
#[derive(Default)]
struct Slots {
    state: Mutex<SlotState>,
    freed: Condvar,
}

#[derive(Default)]
struct SlotState {
    busy: usize,
    next: u64,
    /// The idle connections, oldest first, by accept order.
    idle: std::collections::BTreeMap<u64, TcpStream>,
}

/// One connection's place, given back when it is dropped.
struct Slot {
    slots: Arc<Slots>,
    id: u64,
}

impl Slots {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for `stream`, which starts idle (waiting for its request).
    fn acquire(self: &Arc<Self>, stream: &TcpStream) -> Slot {
        let mut state = self.lock();
        while state.busy >= MAX_CONNECTIONS {
            if let Some((_, oldest)) = state.idle.pop_first() {
                // Its read or drain ends at once; its thread then frees the slot.
                let _ = oldest.shutdown(Shutdown::Both);
            }
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.busy += 1;
        state.next += 1;
        let id = state.next;
        if let Ok(clone) = stream.try_clone() {
            state.idle.insert(id, clone);
        }
        Slot {
            slots: self.clone(),
            id,
        }
    }
}

impl Slot {
    /// Marks the connection as answering (not to be closed for others) or idle again.
    fn set_idle(&self, stream: &TcpStream, idle: bool) {
        let mut state = self.slots.lock();
        match idle {
            false => drop(state.idle.remove(&self.id)),
            true => {
                if let Ok(clone) = stream.try_clone() {
                    state.idle.insert(self.id, clone);
                }
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.slots.lock();
        state.idle.remove(&self.id);
        state.busy -= 1;
        drop(state);
        self.slots.freed.notify_one();
    }
}

/// A response: status, type, body and any extra headers.
pub(crate) struct Reply {
    status: u16,
    mime: &'static str,
    body: Body,
    headers: Vec<(&'static str, String)>,
}

enum Body {
    Bytes(Vec<u8>),
    File(std::fs::File, u64),
}

impl Reply {
    fn new(status: u16, mime: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            mime,
            body: Body::Bytes(body.into()),
            headers: Vec::new(),
        }
    }

    /// A short plain-text explanation.
    fn text(status: u16, message: &str) -> Self {
        Self::new(status, TEXT, format!("{message}\n"))
    }

    /// A file streamed from disk.
    fn file(
        status: u16,
        mime: &'static str,
        path: &std::path::Path,
    ) -> Result<Self, WorkbenchError> {
        let file = std::fs::File::open(path).map_err(|e| WorkbenchError::run(path, e))?;
        let len = file
            .metadata()
            .map_err(|e| WorkbenchError::run(path, e))?
            .len();
        Ok(Self {
            status,
            mime,
            body: Body::File(file, len),
            headers: Vec::new(),
        })
    }

    fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Serves one connection: one request, one reply, then close.
fn connection(
    stream: TcpStream,
    slot: &Slot,
    hosts: &AllowedHosts,
    handler: &Handler,
    deadline: Duration,
) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let local = stream.local_addr().ok().map(|a| a.ip());
    let mut reader = BufReader::with_capacity(MAX_LINE, &stream);
    let head = read_head(&mut reader, Instant::now() + deadline);
    slot.set_idle(&stream, false);
    let (reply, head_only) = match head {
        Ok(head) => answer(&head, local, hosts, handler),
        Err(HeadError::Closed) => return,
        Err(HeadError::Reply(reply)) => (reply, false),
    };
    drop(reader);
    // A client that went away is not the server's problem.
    let _ = write_reply(&stream, reply, head_only);
    slot.set_idle(&stream, true);
    linger(&stream);
}

/// Answers a well-formed request head: Host, then method, then path.
fn answer(
    head: &Head,
    local: Option<IpAddr>,
    hosts: &AllowedHosts,
    handler: &Handler,
) -> (Reply, bool) {
    let mut host_headers = head.headers.iter().filter(|(name, _)| name == "host");
    let host = match (host_headers.next(), host_headers.next()) {
        (Some((_, value)), None) => value,
        (None, _) => return (Reply::text(400, "a Host header is required"), false),
        (Some(_), Some(_)) => return (Reply::text(400, "more than one Host header"), false),
    };
    let Some(name) = parse_host(host) else {
        return (
            Reply::text(400, "the Host header is not a host name"),
            false,
        );
    };
    if !hosts.allows(&name, local) {
        return (hosts.refusal(host), false);
    }
    let head_only = match head.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let reply = Reply::text(405, "the workbench only answers GET and HEAD")
                .with_header("Allow", "GET, HEAD");
            return (reply, false);
        }
    };
    let path = match decode_target(&head.target) {
        Ok(path) => path,
        Err(message) => return (Reply::text(400, message), head_only),
    };
    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&path)))
        .unwrap_or_else(|_| Reply::text(500, "internal error while answering this request"));
    (reply, head_only)
}

fn write_reply(mut stream: &TcpStream, reply: Reply, head_only: bool) -> std::io::Result<()> {
    let len = match &reply.body {
        Body::Bytes(bytes) => bytes.len() as u64,
        Body::File(_, len) => *len,
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         X-Frame-Options: DENY\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.mime,
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    match reply.body {
        _ if head_only => stream.write_all(&out)?,
        Body::Bytes(bytes) => {
            out.extend_from_slice(&bytes);
            stream.write_all(&out)?;
        }
        Body::File(file, len) => {
            stream.write_all(&out)?;
            std::io::copy(&mut file.take(len), &mut stream)?;
        }
    }
    stream.flush()
}

/// Closes the sending side, then reads and drops what the client still sends for a
/// bounded time and amount, so the reply is not lost to a connection reset.
fn linger(mut stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + LINGER;
    let mut buf = [0u8; 8192];
    let mut drained = 0u64;
    while drained < LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => drained += n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// A request line and its headers (names in lower case).
#[derive(Debug)]
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

enum HeadError {
    /// The client went away or sent nothing: there is no one to answer.
    Closed,
    /// A reply saying what is wrong with the request.
    Reply(Reply),
}

enum LineError {
    TooLong,
    TimedOut,
    Closed,
}

impl HeadError {
    fn bad(message: &str) -> Self {
        HeadError::Reply(Reply::text(400, message))
    }

    fn from_line(e: LineError, too_long: Reply) -> Self {
        match e {
            LineError::TooLong => HeadError::Reply(too_long),
            LineError::TimedOut => {
                HeadError::Reply(Reply::text(408, "the request did not arrive in time"))
            }
            LineError::Closed => HeadError::Closed,
        }
    }
}

/// Reads one line of at most `max` bytes (without its `\n` or `\r\n`) into `line`, before
/// `deadline`; never holds more than `max` bytes of it.
fn read_line(
    reader: &mut BufReader<&TcpStream>,
    line: &mut Vec<u8>,
    max: usize,
    deadline: Instant,
) -> Result<(), LineError> {
    line.clear();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(LineError::TimedOut);
        }
        reader
            .get_ref()
            .set_read_timeout(Some(left))
            .map_err(|_| LineError::Closed)?;
        let buf = match reader.fill_buf() {
            Ok([]) => return Err(LineError::Closed),
            Ok(buf) => buf,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(LineError::TimedOut);
            }
            Err(_) => return Err(LineError::Closed),
        };
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (end, true),
            None => (buf.len(), false),
        };
        // A `\r` just before the `\n` is not part of the line, so allow for it.
        if line.len() + take > max + usize::from(done) {
            return Err(LineError::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take + usize::from(done));
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                return Err(LineError::TooLong);
            }
            return Ok(());
        }
    }
}

/// A `tchar` of RFC 9110: what method and header names are made of.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn read_head(reader: &mut BufReader<&TcpStream>, deadline: Instant) -> Result<Head, HeadError> {
    let mut line = Vec::new();
    let mut total = 0;
    let too_long_line = || {
        Reply::text(
            414,
            &format!("the request line is longer than {} KiB", MAX_LINE / 1024),
        )
    };
    // Empty lines before the request line are allowed, a few of them.
    for blank in 0.. {
        read_line(reader, &mut line, MAX_LINE, deadline)
            .map_err(|e| HeadError::from_line(e, too_long_line()))?;
        total += line.len() + 2;
        if !line.is_empty() {
            break;
        }
        if blank == 3 {
            return Err(HeadError::bad("empty lines instead of a request"));
        }
    }
    let (method, target) = parse_request_line(&line)?;
    let too_big = |what: String| Reply::text(431, &what);
    let mut headers = Vec::new();
    loop {
        read_line(reader, &mut line, MAX_LINE, deadline).map_err(|e| {
            let what = format!("a header line is longer than {} KiB", MAX_LINE / 1024);
            HeadError::from_line(e, too_big(what))
        })?;
        total += line.len() + 2;
        if total > MAX_HEAD {
            let what = format!("the request headers are over {} KiB", MAX_HEAD / 1024);
            return Err(HeadError::Reply(too_big(what)));
        }
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            let what = format!("more than {MAX_HEADERS} header lines");
            return Err(HeadError::Reply(too_big(what)));
        }
        headers.push(parse_header(&line)?);
    }
    Ok(Head {
        method,
        target,
        headers,
    })
}

/// `METHOD TARGET HTTP/1.x`: the method and the target.
fn parse_request_line(line: &[u8]) -> Result<(String, String), HeadError> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Err(HeadError::bad(
            "the request line is not ASCII (percent-encode the path)",
        ));
    };
    if !line.is_ascii() {
        return Err(HeadError::bad(
            "the request line is not ASCII (percent-encode the path)",
        ));
    }
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(HeadError::bad(
            "not an HTTP request line (METHOD /path HTTP/1.1)",
        ));
    };
    if !is_token(method) || target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(HeadError::bad(
            "not an HTTP request line (METHOD /path HTTP/1.1)",
        ));
    }
    match version.strip_prefix("HTTP/") {
        Some("1.1" | "1.0") => Ok((method.to_string(), target.to_string())),
        Some(v)
            if v.len() == 3
                && v.as_bytes()[1] == b'.'
                && v.bytes().all(|b| b == b'.' || b.is_ascii_digit()) =>
        {
            Err(HeadError::Reply(Reply::text(
                505,
                "the workbench speaks HTTP/1.1 and HTTP/1.0",
            )))
        }
        _ => Err(HeadError::bad(
            "not an HTTP request line (METHOD /path HTTP/1.1)",
        )),
    }
}

/// `Name: value`, with the name in lower case and the value trimmed.
fn parse_header(line: &[u8]) -> Result<(String, String), HeadError> {
    if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return Err(HeadError::bad("folded header lines are not accepted"));
    }
    let bad = || HeadError::bad("a header line is not `Name: value`");
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let name = std::str::from_utf8(&line[..colon]).map_err(|_| bad())?;
    if !is_token(name) {
        return Err(bad());
    }
    let value = &line[colon + 1..];
    if value.iter().any(|&b| b != b'\t' && (b < 0x20 || b == 0x7f)) {
        return Err(HeadError::bad("a header value holds control characters"));
    }
    let value = String::from_utf8_lossy(value)
        .trim_matches([' ', '\t'])
        .to_string();
    Ok((name.to_ascii_lowercase(), value))
}

/// The path of an origin-form target (`/path?query`), percent-decoded and checked.
fn decode_target(target: &str) -> Result<String, &'static str> {
    if !target.starts_with('/') {
        return Err("the request target must be a path that starts with /");
    }
    let path = target.split('?').next().unwrap_or(target);
    if path.contains('#') {
        return Err("the request target holds a #fragment");
    }
    let mut bytes = Vec::with_capacity(path.len());
    let mut raw = path.bytes();
    while let Some(b) = raw.next() {
        if b != b'%' {
            bytes.push(b);
            continue;
        }
        let hex = |d: Option<u8>| d.and_then(|d| (d as char).to_digit(16));
        match (hex(raw.next()), hex(raw.next())) {
            (Some(hi), Some(lo)) => bytes.push((hi * 16 + lo) as u8),
            _ => return Err("bad percent-encoding in the path"),
        }
    }
    let path = String::from_utf8(bytes).map_err(|_| "the path is not UTF-8 once decoded")?;
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err("the path holds control characters or backslashes");
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err("the path holds . or .. segments");
    }
    Ok(path)
}

/// The host of a `Host` header or an `--allow-host` name.
#[derive(Debug, PartialEq)]
enum HostName {
    Ip(IpAddr),
    /// A DNS name, in lower case.
    Name(String),
}

/// `name`, `1.2.3.4` or `[::1]`, each with an optional `:port`.
fn parse_host(value: &str) -> Option<HostName> {
    let (host, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                after => Some(after.strip_prefix(':')?),
            };
            (HostName::Ip(IpAddr::V6(inside.parse().ok()?)), port)
        }
        None => match value.split_once(':') {
            Some((name, port)) => (parse_host_name(name)?, Some(port)),
            None => (parse_host_name(value)?, None),
        },
    };
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok.then_some(host)
}

/// An IPv4 address or a DNS name (letters, digits, `-`, `_`, dots), without a port.
fn parse_host_name(name: &str) -> Option<HostName> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some(HostName::Ip(IpAddr::V4(ip)));
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| HostName::Name(name.to_ascii_lowercase()))
}

/// IPv4-mapped IPv6 addresses as the IPv4 addresses they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hosts that requests may name: loopback, the address the client connected to, and
/// the `--allow-host` names.
#[derive(Debug, Default)]
struct AllowedHosts {
    names: Vec<String>,
    ips: Vec<IpAddr>,
}

impl AllowedHosts {
    fn new(extra: &[String]) -> Result<Self, WorkbenchError> {
        let mut hosts = Self::default();
        for given in extra {
            let text = given.trim();
            let bare = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(text);
            let host = match bare.parse::<Ipv6Addr>() {
                Ok(v6) => Some(HostName::Ip(IpAddr::V6(v6))),
                Err(_) => parse_host_name(bare),
            };
            match host {
                Some(HostName::Ip(ip)) => hosts.ips.push(canonical(ip)),
                Some(HostName::Name(name)) => hosts.names.push(name),
                None => {
                    return Err(WorkbenchError::Server(format!(
                        "--allow-host {given:?} is not a host name or IP address (give it \
                         without a scheme or port, e.g. --allow-host workbench.example.org)"
                    )));
                }
            }
        }
        Ok(hosts)
    }

    fn allows(&self, host: &HostName, local: Option<IpAddr>) -> bool {
        match host {
            HostName::Ip(ip) => {
                let ip = canonical(*ip);
                ip.is_loopback() || local.map(canonical) == Some(ip) || self.ips.contains(&ip)
            }
            HostName::Name(name) => name == "localhost" || self.names.contains(name),
        }
    }

    /// 403, naming what would have been answered and how to serve `host`.
    fn refusal(&self, host: &str) -> Reply {
        let shown: String = host
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect();
        let mut allowed = vec!["localhost".to_string(), "127.0.0.1".into(), "[::1]".into()];
        allowed.extend(self.names.iter().cloned());
        allowed.extend(self.ips.iter().map(|ip| match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }));
        let message = format!(
            "this workbench answers only requests for {} or the address it was reached at, so \
             that other web sites cannot read the run through DNS rebinding; this request was \
             for {shown:?}. To serve another name, start it with \
             `rewardgen view RUN --allow-host NAME`.",
            allowed.join(", ")
        );
        Reply::text(403, &message)
    }
}

/// The workbench's pages; a failure is an error page with the status it deserves.
fn route(site: &Site, render_waiters: &AtomicUsize, path: &str) -> Reply {
    pages(site, render_waiters, path).unwrap_or_else(|e| {
        let status = match e {
            WorkbenchError::NoCandidate(_) | WorkbenchError::NotFound(_) => 404,
            _ => 500,
        };
        Reply::new(status, HTML, site.error_page(&e.to_string()))
    })
}

/// Counts a video request waiting for a render while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Option<Self> {
        count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_RENDER_WAITERS).then_some(n + 1)
            })
            .ok()
            .map(|_| Waiting(count))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn pages(site: &Site, render_waiters: &AtomicUsize, path: &str) -> Result<Reply, WorkbenchError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| WorkbenchError::NotFound(format!("{text} is not a candidate id")))
    };
    Ok(match segments.as_slice() {
        [""] | ["index.html"] => Reply::new(200, HTML, site.overview()?),
        ["final"] => Reply::new(200, HTML, site.final_comparison()?),
        ["candidate", n] => Reply::new(200, HTML, site.candidate(id(n)?)?),
        ["video", n] => {
            let id = id(n)?;
            if let Some(file) = site.rendered_video(id) {
                return Reply::file(200, site.video_mime(), &file);
            }
            let Some(_waiting) = Waiting::enter(render_waiters) else {
                return Ok(
                    Reply::text(503, "other videos are rendering; try again shortly")
                        .with_header("Retry-After", "10"),
                );
            };
            match site.video(id)? {
                Some(file) => Reply::file(200, site.video_mime(), &file)?,
                None => Reply::text(404, "this candidate has no trained policy"),
            }
        }
        ["api", "version"] => Reply::new(200, TEXT, site.version()),
        ["assets", name] => match ASSETS.iter().find(|(n, _)| n == name) {
            Some((n, body)) => {
                let mime = if n.ends_with(".css") {
                    "text/css; charset=utf-8"
                } else {
                    "text/javascript; charset=utf-8"
                };
                Reply::new(200, mime, body.as_bytes())
            }
            None => Reply::text(404, "no such asset"),
        },
        _ => return Err(WorkbenchError::NotFound(format!("no page at {path}"))),
    })
}

/// Opens the run in `dir`, binds `addr`, prints the URL and serves until stopped. Requests
/// may name loopback hosts, the address they reached, and the names in `allow_hosts`.
pub fn serve(
    dir: &std::path::Path,
    addr: SocketAddr,
    allow_hosts: &[String],
) -> Result<(), WorkbenchError> {
    let server = Server::bind(Site::open(dir, crate::Mode::Live)?, addr, allow_hosts)?;
    println!("workbench for {} at {}", dir.display(), server.url());
    if !addr.ip().is_loopback() {
        println!(
            "listening on {} — anyone who can reach this machine can read the run",
            addr.ip()
        );
        if allow_hosts.is_empty() {
            println!(
                "answering requests addressed to this machine's IP address or to localhost; \
                 to open it by a host name, add --allow-host NAME"
            );
        }
    }
    server.run();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn name(n: &str) -> Option<HostName> {
        Some(HostName::Name(n.into()))
    }

    fn ip(text: &str) -> Option<HostName> {
        Some(HostName::Ip(text.parse().unwrap()))
    }

    #[test]
    fn host_headers_parse_with_and_without_ports() {
        assert_eq!(parse_host("localhost"), name("localhost"));
        assert_eq!(parse_host("LocalHost:8080"), name("localhost"));
        assert_eq!(parse_host("127.0.0.1:1"), ip("127.0.0.1"));
        assert_eq!(parse_host("[::1]"), ip("::1"));
        assert_eq!(parse_host("[::1]:8080"), ip("::1"));
        assert_eq!(parse_host("localhost:"), name("localhost"));
        for bad in [
            "",
            ":80",
            "::1",
            "[::1",
            "[::1]x",
            "[nope]:80",
            "a b",
            "host:80:80",
            "host:123456",
            "host:http",
            "user@host",
            "host/path",
        ] {
            assert_eq!(parse_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_loopback_the_reached_address_and_allowed_names_pass() {
        let hosts = AllowedHosts::new(&["Workbench.Example".into(), "203.0.113.9".into()]).unwrap();
        let reached: IpAddr = "192.0.2.1".parse().unwrap();
        let allows = |host: &str| hosts.allows(&parse_host(host).unwrap(), Some(reached));
        for good in [
            "localhost",
            "127.0.0.1:9",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "192.0.2.1:8080",
            "[::ffff:192.0.2.1]",
            "workbench.example",
            "203.0.113.9",
        ] {
            assert!(allows(good), "{good}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "192.0.2.2",
            "example",
        ] {
            assert!(!allows(bad), "{bad}");
        }
        assert!(AllowedHosts::new(&["http://x".into()]).is_err());
        assert!(AllowedHosts::new(&["x:80".into()]).is_err());
        assert!(AllowedHosts::new(&["".into()]).is_err());
        assert!(AllowedHosts::new(&["[::1]".into(), "fe80::1".into()]).is_ok());
    }

    #[test]
    fn targets_decode_and_traversal_and_junk_are_refused() {
        assert_eq!(decode_target("/"), Ok("/".into()));
        assert_eq!(decode_target("/candidate/3?x=1"), Ok("/candidate/3".into()));
        assert_eq!(
            decode_target("/assets/style%2Ecss"),
            Ok("/assets/style.css".into())
        );
        assert_eq!(decode_target("/%C3%A9"), Ok("/é".into()));
        for bad in [
            "candidate/3",
            "*",
            "http://127.0.0.1/",
            "/../etc/passwd",
            "/assets/..",
            "/%2e%2e/x",
            "/./x",
            "/%zz",
            "/%4",
            "/%",
            "/%ff%fe",
            "/%00",
            "/a%0d%0ab",
            "/a%5cb",
            "/a#b",
        ] {
            assert!(decode_target(bad).is_err(), "{bad:?}");
        }
    }

    /// A server whose `/slow` waits until the test lets it go.
    fn stand_in(deadline: Duration) -> (SocketAddr, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let started_tx = Mutex::new(started_tx);
        let release_rx = Mutex::new(release_rx);
        let handler = move |path: &str| match path {
            "/slow" => {
                started_tx.lock().unwrap().send(()).unwrap();
                release_rx.lock().unwrap().recv().unwrap();
                Reply::text(200, "rendered")
            }
            "/boom" => panic!("a handler bug"),
            _ => Reply::text(200, "page"),
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut server = Server::with_handler(addr, &[], Arc::new(handler)).unwrap();
        server.head_deadline = deadline;
        let addr = server.addr();
        std::thread::spawn(move || server.run());
        (addr, started, release)
    }

    fn exchange(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    const GET_PAGE: &str = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    #[test]
    fn pages_are_served_while_another_request_is_rendering() {
        let (addr, started, release) = stand_in(HEAD_DEADLINE);
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        started.recv().unwrap();
        // The render is under way and holds its connection; pages still answer.
        for _ in 0..3 {
            let page = exchange(addr, GET_PAGE);
            assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
            assert!(page.ends_with("\r\n\r\npage\n"), "{page}");
        }
        release.send(()).unwrap();
        let mut rendered = String::new();
        slow.read_to_string(&mut rendered).unwrap();
        assert!(rendered.ends_with("\r\n\r\nrendered\n"), "{rendered}");
    }

    #[test]
    fn a_client_that_never_finishes_its_request_is_told_so_and_dropped() {
        let (addr, _started, _release) = stand_in(Duration::from_millis(300));
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
        assert!(exchange(addr, GET_PAGE).starts_with("HTTP/1.1 200 "));
    }

    #[test]
    fn a_panicking_handler_is_a_500_and_the_server_goes_on() {
        let (addr, _started, _release) = stand_in(HEAD_DEADLINE);
        let response = exchange(addr, "GET /boom HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
        assert!(exchange(addr, GET_PAGE).starts_with("HTTP/1.1 200 "));
    }
}

//! `rewardgen view`: the pages served live over HTTP, on 127.0.0.1 unless told otherwise.
//! Every request reads the run store afresh, so a running evolve shows up as it goes.

use crate::WorkbenchError;
use crate::pages::{ASSETS, Site};
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use tiny_http::{Header, Request, Response};

/// Requests served at once: pages are quick, but a video may take a while to render.
const WORKERS: usize = 4;

/// A bound workbench server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    site: Arc<Site>,
    addr: SocketAddr,
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

type Reply = Response<Cursor<Vec<u8>>>;

fn reply(status: u16, mime: &str, body: Vec<u8>) -> Reply {
    Response::from_data(body)
        .with_status_code(status)
        .with_header(header("Content-Type", mime))
        .with_header(header("Cache-Control", "no-store"))
}

const HTML: &str = "text/html; charset=utf-8";

impl Server {
    /// Binds `addr` (port 0 picks a free one) for the run in `site`.
    pub fn bind(site: Site, addr: SocketAddr) -> Result<Self, WorkbenchError> {
        let http = tiny_http::Server::http(addr)
            .map_err(|e| WorkbenchError::Server(format!("cannot listen on {addr}: {e}")))?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| WorkbenchError::Server("not an IP listener".into()))?;
        Ok(Self {
            http: Arc::new(http),
            site: Arc::new(site),
            addr,
        })
    }

    /// The address it listens on.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves until the process ends.
    pub fn run(self) {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (http, site) = (self.http.clone(), self.site.clone());
                std::thread::spawn(move || {
                    while let Ok(request) = http.recv() {
                        respond(&site, request);
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn respond(site: &Site, request: Request) {
    let path = request.url().split('?').next().unwrap_or("/").to_string();
    let response = route(site, &path).unwrap_or_else(|e| {
        let status = match e {
            WorkbenchError::NoCandidate(_) | WorkbenchError::NotFound(_) => 404,
            _ => 500,
        };
        reply(status, HTML, site.error_page(&e.to_string()).into_bytes())
    });
    // A client that went away is not the server's problem.
    let _ = request.respond(response);
}

fn route(site: &Site, path: &str) -> Result<Reply, WorkbenchError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = |text: &str| {
        text.parse::<i64>()
            .map_err(|_| WorkbenchError::NotFound(format!("{text} is not a candidate id")))
    };
    Ok(match segments.as_slice() {
        [""] | ["index.html"] => reply(200, HTML, site.overview()?.into_bytes()),
        ["final"] => reply(200, HTML, site.final_comparison()?.into_bytes()),
        ["candidate", n] => reply(200, HTML, site.candidate(id(n)?)?.into_bytes()),
        ["video", n] => match site.video(id(n)?)? {
            Some(file) => {
                let bytes = std::fs::read(&file).map_err(|e| WorkbenchError::run(&file, e))?;
                reply(200, site.video_mime(), bytes)
            }
            None => reply(
                404,
                "text/plain",
                b"this candidate has no trained policy".to_vec(),
            ),
        },
        ["api", "version"] => reply(200, "text/plain", site.version().into_bytes()),
        ["assets", name] => match ASSETS.iter().find(|(n, _)| n == name) {
            Some((n, body)) => {
                let mime = if n.ends_with(".css") {
                    "text/css"
                } else {
                    "text/javascript"
                };
                reply(200, mime, body.as_bytes().to_vec())
            }
            None => reply(404, "text/plain", b"no such asset".to_vec()),
        },
        _ => return Err(WorkbenchError::NotFound(format!("no page at {path}"))),
    })
}

/// Opens the run in `dir`, binds `addr`, prints the URL and serves until stopped.
pub fn serve(dir: &std::path::Path, addr: SocketAddr) -> Result<(), WorkbenchError> {
    let server = Server::bind(Site::open(dir, crate::Mode::Live)?, addr)?;
    println!("workbench for {} at {}", dir.display(), server.url());
    if !addr.ip().is_loopback() {
        println!(
            "listening on {} — anyone who can reach this machine can read the run",
            addr.ip()
        );
    }
    server.run();
    Ok(())
}

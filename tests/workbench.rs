//! `rewardgen view` and `rewardgen export`, as a user runs them: a tiny evolve run served on
//! 127.0.0.1 and loaded in a real headless Chromium, driven over the DevTools protocol.

mod common;

use base64::Engine;
use common::{Killed, TINY, rewardgen, scratch_dir, stderr_of_failure, stdout};
use evolve::{Status, Store};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A finished two-generation run of the offline generator with tiny budgets.
fn tiny_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    stdout(&rewardgen(
        &[
            "evolve",
            "--env",
            "franka-reach",
            "--generations",
            "2",
            "--samples",
            "2",
            "--jobs",
            "2",
            "--out",
            run.to_str().unwrap(),
        ]
        .into_iter()
        .chain(TINY)
        .collect::<Vec<_>>(),
    ));
    run
}

/// `GET path` from the server: status code and body.
fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    get_as(base, path, host)
}

/// `GET path` from the server with `Host: host`: status code and body.
fn get_as(base: &str, path: &str, host: &str) -> (u16, Vec<u8>) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Starts `rewardgen view RUN --port 0` and returns it with its URL.
fn start_view(run: &Path) -> (Killed, String) {
    start_view_with(run, &[])
}

/// Starts `rewardgen view RUN --port 0 EXTRA...` and returns it with its URL.
fn start_view_with(run: &Path, extra: &[&str]) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rewardgen"))
        .args(["view", run.to_str().unwrap(), "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no loopback URL in: {line}"))
        .to_string();
    (Killed(child), url)
}

/// A trained candidate of generation 1, which has a parent to diff against.
fn child_candidate(run: &Path) -> i64 {
    let store = Store::open(&run.join(evolve::DATABASE_FILE)).unwrap();
    store
        .candidates()
        .unwrap()
        .iter()
        .find(|c| c.generation == 1 && c.status == Status::Trained && !c.parents.is_empty())
        .expect("a trained candidate with a parent in generation 1")
        .id
}

#[test]
fn the_workbench_serves_exports_and_plays_in_a_real_browser() {
    let dir = scratch_dir("workbench");
    let run = tiny_run(&dir);
    let id = child_candidate(&run);
    let (_server, url) = start_view(&run);

    // The pages, their data and the video, over plain HTTP.
    let (status, body) = get(&url, "/");
    assert_eq!(status, 200);
    let overview = text(&body);
    assert!(overview.contains("id=\"generation-table\""), "{overview}");
    assert!(overview.contains(&format!("c{id}")));
    assert!(overview.contains("fitness-data"));
    // Each candidate's rung, and the schedule with what it saved.
    for needle in [
        "id=\"schedule-table\"",
        "stopped at rung 0",
        "trained to the top rung",
        "Compute saved: ",
        "id=\"operator-table\"",
    ] {
        assert!(overview.contains(needle), "no '{needle}' in {overview}");
    }
    let (status, body) = get(&url, &format!("/candidate/{id}"));
    assert_eq!(status, 200);
    let page = text(&body);
    for needle in [
        "id=\"code\"",
        "id=\"diff\"",
        "rollout-data",
        "curves-data",
        "id=\"reply\"",
        "id=\"rung-results\"",
        "rung 1: fitness",
    ] {
        assert!(page.contains(needle), "candidate page lacks {needle}");
    }
    // The video renders on its first request; pages are served meanwhile.
    let rendering = std::thread::spawn({
        let url = url.clone();
        move || get(&url, &format!("/video/{id}"))
    });
    assert_eq!(get(&url, "/").0, 200);
    assert_eq!(get(&url, &format!("/candidate/{id}")).0, 200);
    let (status, video) = rendering.join().unwrap();
    assert_eq!(status, 200, "{}", text(&video));
    assert!(video.len() > 1000, "a real video file");
    let (status, body) = get(&url, "/final");
    assert_eq!(status, 200);
    assert!(text(&body).contains("id=\"final-table\""));
    // Bad requests are pages that say what is wrong; the server keeps serving.
    let (status, body) = get(&url, "/candidate/9999");
    assert_eq!(status, 404);
    assert!(text(&body).contains("no candidate 9999"));
    let (status, body) = get(&url, "/candidate/abc");
    assert_eq!(status, 404);
    assert!(text(&body).contains("abc is not a candidate id"));
    let (status, body) = get(&url, "/no/such/page");
    assert_eq!(status, 404);
    assert!(text(&body).contains("no page at"));
    assert_eq!(get(&url, "/").0, 200);

    // Live: the version changes when the run store does.
    let (_, before) = get(&url, "/api/version");
    Store::open(&run.join(evolve::DATABASE_FILE))
        .unwrap()
        .set_meta("touched", "by the test")
        .unwrap();
    let (_, after) = get(&url, "/api/version");
    assert_ne!(before, after, "the page would not refresh");

    // Static export: the same pages, openable without the server.
    let out = dir.join("export");
    stdout(&rewardgen(&[
        "export",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains(&format!("href=\"candidate-{id}.html\"")));
    // minijinja escapes '/' in attributes as &#x2f;, which browsers read as '/'.
    let exported = std::fs::read_to_string(out.join(format!("candidate-{id}.html")))
        .unwrap()
        .replace("&#x2f;", "/");
    let src = exported
        .split("src=\"")
        .find_map(|s| s.strip_prefix("videos/"))
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .expect("the exported page links its video");
    assert!(out.join("videos").join(&src).is_file());
    assert!(out.join("assets/workbench.js").is_file());
    assert!(out.join("final.html").is_file());

    browser_checks(&dir, &url, id);
}

/// Bad run paths are clear errors, not crashes.
#[test]
fn view_and_export_name_a_bad_run_path() {
    let err = stderr_of_failure(&rewardgen(&["view", "/no/such/run", "--port", "0"]));
    assert!(
        err.contains("/no/such/run") && err.contains("no such run directory"),
        "{err}"
    );
    let empty = scratch_dir("workbench-empty");
    let err = stderr_of_failure(&rewardgen(&[
        "view",
        empty.to_str().unwrap(),
        "--port",
        "0",
    ]));
    assert!(err.contains("not an evolve run"), "{err}");
    assert!(
        !empty.join(evolve::DATABASE_FILE).exists(),
        "no store was created"
    );
    let err = stderr_of_failure(&rewardgen(&[
        "export",
        empty.to_str().unwrap(),
        "--out",
        empty.join("site").to_str().unwrap(),
    ]));
    assert!(err.contains("not an evolve run"), "{err}");
}

/// `view` answers loopback names and `--allow-host` names, and refuses other host names,
/// so that a web page cannot read the run through DNS rebinding.
#[test]
fn view_answers_only_loopback_and_allowed_host_names() {
    let dir = scratch_dir("workbench-hosts");
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let config = evolve::EvolveConfig::new("franka-reach", evolve::Budget::Quick);
    Store::open(&run.join(evolve::DATABASE_FILE))
        .unwrap()
        .set_meta("config", &serde_json::to_string(&config).unwrap())
        .unwrap();
    let (_server, url) = start_view_with(&run, &["--allow-host", "trainbox.lab"]);
    let port = url.trim_end_matches('/').rsplit(':').next().unwrap();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "trainbox.lab".into(),
        format!("trainbox.lab:{port}"),
    ] {
        assert_eq!(get_as(&url, "/", &host).0, 200, "Host: {host}");
    }
    let (status, body) = get_as(&url, "/", &format!("rebind.example:{port}"));
    assert_eq!(status, 403);
    assert!(text(&body).contains("--allow-host"), "{}", text(&body));

    let err = stderr_of_failure(&rewardgen(&[
        "view",
        run.to_str().unwrap(),
        "--port",
        "0",
        "--allow-host",
        "http://trainbox.lab:8080",
    ]));
    assert!(err.contains("--allow-host"), "{err}");
}

/// A DevTools-protocol session with one page.
struct Page {
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The page's session; browser-level calls go without one.
    session: Option<String>,
}

impl Page {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(tungstenite::Message::text(message.to_string()))
            .unwrap();
        loop {
            let reply = self
                .socket
                .read()
                .unwrap_or_else(|e| panic!("{method}: no reply from chromium: {e}"));
            let Ok(text) = reply.to_text() else { continue };
            let value: Value = serde_json::from_str(text).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
        }
    }

    /// Evaluates `expression` (awaiting a promise) and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true.
    fn wait_for(&mut self, expression: &str, within: Duration) {
        let start = Instant::now();
        while self.eval(expression) != json!(true) {
            assert!(
                start.elapsed() < within,
                "timed out waiting for {expression}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for(
            &format!("location.href === {url:?} && document.readyState === 'complete'"),
            Duration::from_secs(300),
        );
    }
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

fn browser_checks(dir: &Path, url: &str, id: i64) {
    let Some(browser) = chromium() else {
        test_skip::skip(
            "the workbench's browser half",
            "chromium",
            "scripts/test installs Debian's chromium where it can",
        );
        return;
    };
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--remote-debugging-port=0",
            "--window-size=1280,1100",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium").display()
        ))
        .arg("about:blank")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let _browser = Killed(child);
    let ws = stderr
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("DevTools listening on ").map(str::to_string))
        .expect("chromium prints its DevTools address");
    std::thread::spawn(move || stderr.for_each(drop));
    let (mut socket, _) = tungstenite::client::connect(&ws).unwrap();
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_mut() {
        tcp.set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
    }
    // Open a tab and talk to it through its own session.
    let mut page = Page {
        socket,
        next_id: 0,
        session: None,
    };
    let target = page.call("Target.createTarget", json!({ "url": "about:blank" }));
    let session = page.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    page.session = session["sessionId"].as_str().map(str::to_string);
    page.call("Page.enable", json!({}));
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 1100, "deviceScaleFactor": 1, "mobile": false }),
    );

    // The overview: the generation table and the fitness plot.
    page.open(url);
    let rows = page.eval("document.querySelectorAll('#generation-table tbody tr').length");
    assert!(rows.as_u64().unwrap() >= 4, "generation table rows: {rows}");
    assert_eq!(
        page.eval("!!document.querySelector('#fitness-plot svg circle')"),
        json!(true)
    );

    // A candidate: highlighted code, the diff, curves, and the video with its plot.
    page.open(&format!("{url}candidate/{id}"));
    assert_eq!(
        page.eval("document.querySelectorAll('#code span.kw').length > 0"),
        json!(true)
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#diff span').length > 0"),
        json!(true)
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#learning-curves svg').length"),
        json!(3)
    );
    assert_eq!(
        page.eval("document.getElementById('rollout-video').tagName"),
        json!("VIDEO")
    );
    page.wait_for(
        "document.getElementById('rollout-video').readyState >= 3",
        Duration::from_secs(300),
    );
    let cursor = "Number(document.querySelector('#component-plot svg').dataset.cursor)";
    assert_eq!(page.eval(cursor), json!(0));
    page.eval("document.getElementById('rollout-video').play().then(() => true)");
    page.wait_for(&format!("{cursor} > 3"), Duration::from_secs(30));
    let time = page.eval("document.getElementById('rollout-video').currentTime");
    assert!(time.as_f64().unwrap() > 0.0, "the video plays");

    // The screenshot the README shows.
    page.eval("document.getElementById('rollout-video').pause(); true");
    let shot = page.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );
    let path = std::env::var_os("REWARDGEN_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("workbench.png"));
    std::fs::write(&path, &png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

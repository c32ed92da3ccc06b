//! Offline tests of `ChatClient` against a tiny scripted HTTP/1.1 server on 127.0.0.1.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use llm::{ChatClient, LlmConfig, LlmError, Message, Price, Usage};

const KEY: &str = "sk-test-secret-0123456789";

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// Sleep before sending the status line.
    delay: Duration,
    /// Sleep after the headers, before the body.
    body_delay: Duration,
}

impl Reply {
    fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
            body_delay: Duration::ZERO,
        }
    }

    fn ok(text: &str) -> Self {
        let body = serde_json::json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
        });
        Self::new(200, &body.to_string())
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// One request the server received; header names are lower-cased.
#[derive(Clone, Debug)]
struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Server {
    base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts a server answering connections with `replies` in order (then 500s).
    fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let queue = Arc::new(Mutex::new(VecDeque::from(replies)));
        let recorded = Arc::clone(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let reply = queue
                    .lock()
                    .expect("queue")
                    .pop_front()
                    .unwrap_or_else(|| Reply::new(500, r#"{"error":{"message":"no script"}}"#));
                let recorded = Arc::clone(&recorded);
                thread::spawn(move || handle(stream, reply, &recorded));
            }
        });
        Self { base_url, requests }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }

    fn config(&self) -> LlmConfig {
        LlmConfig {
            base_url: format!("{}/", self.base_url),
            model: "test-model".into(),
            timeout_secs: 5.0,
            max_retries: 3,
            retry_base_secs: 0.01,
            ..LlmConfig::default()
        }
    }
}

fn handle(stream: TcpStream, reply: Reply, recorded: &Mutex<Vec<Recorded>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    recorded.lock().expect("recorded").push(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });

    thread::sleep(reply.delay);
    let mut stream = reader.into_inner();
    let mut head = format!(
        "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let _ = stream.flush();
    thread::sleep(reply.body_delay);
    let _ = stream.write_all(reply.body.as_bytes());
    let _ = stream.flush();
}

fn prompt() -> Vec<Message> {
    vec![
        Message::system("You write reward functions."),
        Message::user("Reward reaching the target."),
    ]
}

#[test]
fn retries_500_then_429_then_succeeds() {
    let server = Server::start(vec![
        Reply::new(500, r#"{"error":{"message":"boom"}}"#),
        Reply::new(429, r#"{"error":{"message":"slow down"}}"#).header("Retry-After", "0"),
        Reply::ok("reward = -dist"),
    ]);
    let client = ChatClient::new(server.config()).expect("client");
    let completion = client.complete(&prompt()).expect("completion");

    assert_eq!(completion.text, "reward = -dist");
    assert_eq!(completion.attempts, 3);
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 5
        }
    );
    assert_eq!(completion.usage.total(), 17);
    assert_eq!(completion.response["id"], "chatcmpl-1");
    assert!(completion.seconds > 0.0);

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("authorization"), None);
    }
    let sent: serde_json::Value = serde_json::from_str(&requests[0].body).expect("json body");
    assert_eq!(sent, completion.request);
    assert_eq!(sent["model"], "test-model");
    assert_eq!(sent["temperature"], 1.0);
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(
        sent["messages"][1]["content"],
        "Reward reaching the target."
    );
    assert!(sent.get("max_tokens").is_none());
}

#[test]
fn retries_give_up_with_last_status() {
    let server = Server::start(vec![
        Reply::new(503, "overloaded"),
        Reply::new(503, "overloaded"),
    ]);
    let config = LlmConfig {
        max_retries: 1,
        ..server.config()
    };
    let err = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect_err("should fail");
    match &err {
        LlmError::Http {
            status, attempts, ..
        } => {
            assert_eq!(*status, 503);
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected Http, got {other:?}"),
    }
    assert!(err.to_string().contains("overloaded"), "{err}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn client_error_fails_at_once_with_server_message() {
    let server = Server::start(vec![
        Reply::new(
            400,
            r#"{"error":{"message":"The model `nope` does not exist","type":"invalid_request_error"}}"#,
        ),
        Reply::ok("never reached"),
    ]);
    let client = ChatClient::new(server.config()).expect("client");
    let err = client.complete(&prompt()).expect_err("should fail");
    match &err {
        LlmError::Http {
            status,
            message,
            attempts,
            url,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(*attempts, 1);
            assert_eq!(message, "The model `nope` does not exist");
            assert!(url.ends_with("/v1/chat/completions"), "{url}");
        }
        other => panic!("expected Http, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("400"), "{shown}");
    assert!(shown.contains("The model `nope` does not exist"), "{shown}");
    assert!(shown.contains(client.url()), "{shown}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn slow_server_times_out_on_every_attempt() {
    let slow = Reply {
        delay: Duration::from_secs(3),
        ..Reply::ok("too late")
    };
    let server = Server::start(vec![slow.clone(), slow]);
    let config = LlmConfig {
        timeout_secs: 0.3,
        max_retries: 1,
        retry_base_secs: 0.01,
        ..server.config()
    };
    let start = Instant::now();
    let err = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect_err("should time out");
    let elapsed = start.elapsed();
    match &err {
        LlmError::Timeout { attempts, secs, .. } => {
            assert_eq!(*attempts, 2);
            assert_eq!(*secs, 0.3);
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn stalled_body_counts_against_the_timeout() {
    let stalled = Reply {
        body_delay: Duration::from_secs(3),
        ..Reply::ok("too late")
    };
    let server = Server::start(vec![stalled]);
    let config = LlmConfig {
        timeout_secs: 0.3,
        max_retries: 0,
        ..server.config()
    };
    let start = Instant::now();
    let err = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect_err("should time out");
    assert!(
        matches!(err, LlmError::Timeout { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn unusable_200_is_bad_reply() {
    let server = Server::start(vec![
        Reply::new(200, "<html>not json</html>"),
        Reply::new(200, r#"{"object":"chat.completion","choices":[]}"#),
    ]);
    let client = ChatClient::new(server.config()).expect("client");
    for expected in ["not JSON", "no choices[0].message"] {
        let err = client.complete(&prompt()).expect_err("should fail");
        match &err {
            LlmError::BadReply { message, url } => {
                assert!(message.contains(expected), "{message}");
                assert_eq!(url, client.url());
            }
            other => panic!("expected BadReply, got {other:?}"),
        }
    }
    assert_eq!(server.requests().len(), 2, "bad replies are not retried");
}

#[test]
fn null_content_and_missing_usage_give_defaults() {
    let server = Server::start(vec![Reply::new(
        200,
        r#"{"choices":[{"message":{"role":"assistant","content":null}}]}"#,
    )]);
    let config = LlmConfig {
        max_tokens: Some(256),
        temperature: 0.2,
        ..server.config()
    };
    let completion = ChatClient::new(config)
        .expect("client")
        .complete(&[Message::user("hi")])
        .expect("completion");
    assert_eq!(completion.text, "");
    assert_eq!(completion.usage, Usage::default());
    assert_eq!(completion.attempts, 1);
    assert_eq!(completion.request["max_tokens"], 256);
    assert_eq!(completion.request["temperature"], 0.2);
}

#[test]
fn refused_connection_is_transport_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = LlmConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "m".into(),
        max_retries: 1,
        retry_base_secs: 0.01,
        timeout_secs: 5.0,
        ..LlmConfig::default()
    };
    let err = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect_err("nothing listens");
    match &err {
        LlmError::Transport { attempts, url, .. } => {
            assert_eq!(*attempts, 2);
            assert!(url.contains(&port.to_string()));
        }
        other => panic!("expected Transport, got {other:?}"),
    }
}

#[test]
fn api_key_is_sent_but_never_recorded_or_printed() {
    let server = Server::start(vec![
        Reply::ok("fine"),
        Reply::new(
            401,
            &format!(r#"{{"error":{{"message":"bad key {KEY}"}}}}"#),
        ),
    ]);
    let config = LlmConfig {
        api_key: Some(KEY.into()),
        ..server.config()
    };
    let client = ChatClient::new(config.clone()).expect("client");
    let completion = client.complete(&prompt()).expect("completion");

    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!completion.request.to_string().contains(KEY));
    assert!(!completion.response.to_string().contains(KEY));
    assert!(!format!("{completion:?}").contains(KEY));

    let debug = format!("{config:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("<set>"), "{debug}");
    assert!(format!("{:?}", LlmConfig::default()).contains("<unset>"));
    assert!(!format!("{client:?}").contains(KEY));

    let json = serde_json::to_string(&config).expect("serialize");
    assert!(!json.contains(KEY), "{json}");
    assert!(!json.contains("api_key"), "{json}");

    // A server echoing the key in an error does not leak it into our error.
    let err = client.complete(&prompt()).expect_err("401");
    assert!(matches!(err, LlmError::Http { status: 401, .. }));
    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(!format!("{err:?}").contains(KEY), "{err:?}");
}

/// All environment-variable manipulation lives in this one test so tests cannot race on it.
#[test]
fn resolve_reads_file_then_env() {
    const VARS: [&str; 3] = [llm::ENV_BASE_URL, llm::ENV_MODEL, llm::ENV_API_KEY];
    let clear = || {
        for var in VARS {
            // SAFETY: no other test in this binary reads or writes these variables.
            unsafe { std::env::remove_var(var) };
        }
    };
    let dir = std::env::temp_dir().join(format!("llm-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("llm.toml");
    std::fs::write(
        &file,
        r#"
base_url = "http://localhost:8000/v1"
model = "file-model"
api_key = "sk-file"
temperature = 0.5
max_tokens = 1024
timeout_secs = 30.0
max_retries = 2
retry_base_secs = 0.5

[price]
input_per_million = 2.5
output_per_million = 10.0
"#,
    )
    .expect("write config");

    clear();
    let from_file = LlmConfig::resolve(Some(&file)).expect("resolve file");
    assert_eq!(from_file.base_url, "http://localhost:8000/v1");
    assert_eq!(from_file.model, "file-model");
    assert_eq!(from_file.api_key.as_deref(), Some("sk-file"));
    assert_eq!(from_file.temperature, 0.5);
    assert_eq!(from_file.max_tokens, Some(1024));
    assert_eq!(from_file.timeout_secs, 30.0);
    assert_eq!(from_file.max_retries, 2);
    assert_eq!(from_file.retry_base_secs, 0.5);
    assert_eq!(
        from_file.price,
        Some(Price {
            input_per_million: 2.5,
            output_per_million: 10.0
        })
    );
    from_file.validate().expect("valid");

    // No file, no env: defaults, and a missing model is reported on validate.
    let defaults = LlmConfig::resolve(None).expect("resolve defaults");
    assert_eq!(defaults.base_url, llm::DEFAULT_BASE_URL);
    assert_eq!(defaults.temperature, 1.0);
    assert_eq!(defaults.timeout_secs, 120.0);
    assert_eq!(defaults.max_retries, 5);
    assert_eq!(defaults.retry_base_secs, 2.0);
    assert_eq!(defaults.api_key, None);
    let err = defaults.validate().expect_err("no model").to_string();
    assert!(
        err.contains("REWARDGEN_LLM_MODEL") && err.contains("--model"),
        "{err}"
    );
    assert!(ChatClient::new(defaults.clone()).is_err());
    let mut with_model = defaults;
    with_model.model = "cli-model".into();
    with_model.validate().expect("model set after resolve");

    // Env overrides the file; empty variables are ignored.
    // SAFETY: as above, only this test touches these variables.
    unsafe {
        std::env::set_var(llm::ENV_BASE_URL, "https://example.invalid/v1");
        std::env::set_var(llm::ENV_MODEL, "env-model");
        std::env::set_var(llm::ENV_API_KEY, " sk-env \n");
    }
    let from_env = LlmConfig::resolve(Some(&file)).expect("resolve env");
    assert_eq!(from_env.base_url, "https://example.invalid/v1");
    assert_eq!(from_env.model, "env-model");
    assert_eq!(from_env.api_key.as_deref(), Some("sk-env"));
    assert_eq!(from_env.temperature, 0.5, "file values stay");
    // SAFETY: as above.
    unsafe { std::env::set_var(llm::ENV_MODEL, "") };
    let empty_model = LlmConfig::resolve(Some(&file)).expect("resolve empty env");
    assert_eq!(empty_model.model, "file-model");
    clear();

    // Unknown keys are an error naming the file and the key.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "model = \"m\"\nmodle_typo = 3\n").expect("write bad");
    let err = LlmConfig::resolve(Some(&bad))
        .expect_err("unknown key")
        .to_string();
    assert!(err.contains("modle_typo"), "{err}");
    assert!(err.contains(&bad.display().to_string()), "{err}");

    let bad_price = dir.join("bad_price.toml");
    std::fs::write(&bad_price, "[price]\ninput_per_million = 1.0\ncents = 2\n")
        .expect("write bad price");
    let err = LlmConfig::resolve(Some(&bad_price))
        .expect_err("unknown price key")
        .to_string();
    assert!(err.contains("cents"), "{err}");

    let missing = dir.join("missing.toml");
    let err = LlmConfig::resolve(Some(&missing))
        .expect_err("missing file")
        .to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");

    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn usage_adds_and_costs() {
    let mut usage = Usage {
        prompt_tokens: 1_000_000,
        completion_tokens: 250_000,
    };
    let price = Price {
        input_per_million: 2.5,
        output_per_million: 10.0,
    };
    assert!((usage.cost(&price) - 5.0).abs() < 1e-12);
    usage.add(Usage {
        prompt_tokens: 1_000,
        completion_tokens: 500,
    });
    assert_eq!(usage.total(), 1_251_500);
    assert!((usage.cost(&price) - (2.5025 + 2.505)).abs() < 1e-12);
    assert_eq!(Usage::default().cost(&price), 0.0);
}

#[test]
fn message_constructors_set_roles() {
    assert_eq!(Message::system("a").role, "system");
    assert_eq!(Message::user("b").role, "user");
    let m = Message::assistant("c");
    assert_eq!((m.role.as_str(), m.content.as_str()), ("assistant", "c"));
}

#[test]
fn retry_after_replaces_the_backoff() {
    // Backoff alone would wait 30 s; Retry-After: 0 makes the retry immediate.
    let server = Server::start(vec![
        Reply::new(429, "{}").header("Retry-After", "0"),
        Reply::ok("quick"),
    ]);
    let config = LlmConfig {
        retry_base_secs: 30.0,
        ..server.config()
    };
    let start = Instant::now();
    let completion = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect("completion");
    assert_eq!(completion.attempts, 2);
    assert!(start.elapsed() < Duration::from_secs(5));

    // And a longer Retry-After is waited out even when the backoff is zero.
    let server = Server::start(vec![
        Reply::new(503, "{}").header("Retry-After", "0.4"),
        Reply::ok("patient"),
    ]);
    let config = LlmConfig {
        retry_base_secs: 0.0,
        ..server.config()
    };
    let completion = ChatClient::new(config)
        .expect("client")
        .complete(&prompt())
        .expect("completion");
    assert_eq!(completion.text, "patient");
    assert!(completion.seconds >= 0.4, "{}", completion.seconds);
}

#[test]
fn error_messages_say_what_to_do() {
    let server = Server::start(vec![Reply::new(401, r#"{"error":{"message":"no key"}}"#)]);
    let err = ChatClient::new(server.config())
        .expect("client")
        .complete(&prompt())
        .expect_err("401");
    let shown = err.to_string();
    assert!(shown.contains("OPENAI_API_KEY"), "{shown}");
    assert!(shown.contains("/v1/chat/completions"), "{shown}");
}

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{LlmConfig, LlmError, MAX_BACKOFF_SECS, Message, Usage};

/// How many characters of an unexpected body go into an error message.
const SNIPPET_CHARS: usize = 300;

/// The result of one successful [`ChatClient::complete`] call.
#[derive(Clone, Debug)]
pub struct Completion {
    /// `choices[0].message.content` (empty when the server sent null).
    pub text: String,
    /// Token counts from the response's `usage` (zeros when absent).
    pub usage: Usage,
    /// The JSON body that was sent; never contains the API key or any header.
    pub request: Value,
    /// The final successful response body.
    pub response: Value,
    /// Requests sent, 1 when the first try succeeded.
    pub attempts: u32,
    /// Wall time of the call in seconds, retries and backoff included.
    pub seconds: f64,
}

/// Blocking chat-completions client for one endpoint and model.
#[derive(Clone)]
pub struct ChatClient {
    config: LlmConfig,
    agent: ureq::Agent,
    url: String,
}

impl fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatClient")
            .field("url", &self.url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why one attempt failed, before the attempt count is known.
enum Failure {
    Status {
        status: u16,
        message: String,
        retry_after: Option<f64>,
    },
    Timeout,
    Transport {
        message: String,
        retryable: bool,
    },
}

impl Failure {
    fn from_ureq(error: ureq::Error) -> Self {
        use std::io::ErrorKind;
        match error {
            ureq::Error::Timeout(_) => Failure::Timeout,
            ureq::Error::Io(ref io)
                if matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
            {
                Failure::Timeout
            }
            ureq::Error::Io(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_) => Failure::Transport {
                message: error.to_string(),
                retryable: true,
            },
            other => Failure::Transport {
                message: other.to_string(),
                retryable: false,
            },
        }
    }

    fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            Failure::Timeout => true,
            Failure::Transport { retryable, .. } => *retryable,
        }
    }
}

impl ChatClient {
    /// Validates `config` and builds a client for `{base_url}/chat/completions`.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        config.validate()?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout()?))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("rewardgen-llm/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self { config, agent, url })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The full chat-completions URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One chat completion (a single choice).
    ///
    /// Retries with exponential backoff on timeouts, transport errors, HTTP 429 and
    /// 5xx, honouring a `Retry-After` header given in seconds (capped at
    /// [`MAX_BACKOFF_SECS`]). Other error statuses fail at once with the status and
    /// the server's error message.
    pub fn complete(&self, messages: &[Message]) -> Result<Completion, LlmError> {
        let start = Instant::now();
        let request = self.request_body(messages);
        let body = request.to_string();
        let mut attempts: u32 = 0;
        loop {
            attempts = attempts.saturating_add(1);
            let failure = match self.send_once(body.as_bytes()) {
                Ok(text) => return self.parse_reply(&text, request, attempts, start),
                Err(failure) => failure,
            };
            if !failure.retryable() || attempts > self.config.max_retries {
                return Err(self.error(failure, attempts));
            }
            let backoff = self.config.backoff_secs(attempts - 1);
            let wait = match failure {
                Failure::Status {
                    retry_after: Some(secs),
                    ..
                } => secs.min(MAX_BACKOFF_SECS),
                _ => backoff,
            };
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
    }

    fn request_body(&self, messages: &[Message]) -> Value {
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| json!({ "role": m.role, "content": m.content }))
            .collect();
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
        });
        if let (Some(max_tokens), Some(map)) = (self.config.max_tokens, body.as_object_mut()) {
            map.insert("max_tokens".into(), json!(max_tokens));
        }
        body
    }

    /// Sends the request once; `Ok` carries the body of a 2xx answer.
    fn send_once(&self, body: &[u8]) -> Result<String, Failure> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if let Some(key) = &self.config.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = request.send(body).map_err(Failure::from_ureq)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs >= 0.0);
        let text = response
            .body_mut()
            .with_config()
            .lossy_utf8(true)
            .read_to_string()
            .map_err(Failure::from_ureq)?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(Failure::Status {
                status,
                message: server_message(&text),
                retry_after,
            })
        }
    }

    fn parse_reply(
        &self,
        text: &str,
        request: Value,
        attempts: u32,
        start: Instant,
    ) -> Result<Completion, LlmError> {
        let response: Value = serde_json::from_str(text)
            .map_err(|e| self.bad_reply(format!("body is not JSON ({e}): {}", snippet(text))))?;
        let Some(message) = response
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("message"))
            .filter(|m| m.is_object())
        else {
            return Err(self.bad_reply(format!("no choices[0].message in {}", snippet(text))));
        };
        let text = match message.get("content") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            // Some servers send content as a list of parts: [{"type":"text","text":..}].
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            Some(other) => {
                return Err(self.bad_reply(format!(
                    "choices[0].message.content is neither text nor null: {}",
                    snippet(&other.to_string())
                )));
            }
        };
        let tokens = |name: &str| {
            response
                .get("usage")
                .and_then(|u| u.get(name))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let usage = Usage {
            prompt_tokens: tokens("prompt_tokens"),
            completion_tokens: tokens("completion_tokens"),
        };
        Ok(Completion {
            text,
            usage,
            request,
            response,
            attempts,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn bad_reply(&self, message: String) -> LlmError {
        LlmError::BadReply {
            url: self.url.clone(),
            message: self.redact(message),
        }
    }

    fn error(&self, failure: Failure, attempts: u32) -> LlmError {
        let url = self.url.clone();
        match failure {
            Failure::Status {
                status, message, ..
            } => LlmError::Http {
                url,
                status,
                message: self.redact(message),
                attempts,
            },
            Failure::Timeout => LlmError::Timeout {
                url,
                secs: self.config.timeout_secs,
                attempts,
            },
            Failure::Transport { message, .. } => LlmError::Transport {
                url,
                message: self.redact(message),
                attempts,
            },
        }
    }

    /// Removes the API key from text that came from the server or the HTTP layer.
    fn redact(&self, text: String) -> String {
        match &self.config.api_key {
            Some(key) if !key.is_empty() && text.contains(key.as_str()) => {
                text.replace(key.as_str(), "<redacted>")
            }
            _ => text,
        }
    }
}

/// The server's error message: OpenAI's `{"error":{"message":..}}` when present,
/// else the start of the body.
/// Asks the endpoint for its models (`GET {base_url}/models`, with the key when set), once,
/// within `timeout`: how many it lists, or why it could not. Never puts the key in the error.
pub fn probe_models(config: &LlmConfig, timeout: std::time::Duration) -> Result<usize, String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("rewardgen-llm/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let url = format!("{}/models", config.base_url.trim_end_matches('/'));
    let mut request = agent.get(&url).header("Accept", "application/json");
    if let Some(key) = &config.api_key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let redact = |text: String| match &config.api_key {
        Some(key) if !key.is_empty() => text.replace(key.as_str(), "<key>"),
        _ => text,
    };
    let mut response = request
        .call()
        .map_err(|e| redact(format!("GET {url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .lossy_utf8(true)
        .read_to_string()
        .map_err(|e| redact(format!("GET {url}: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(redact(format!(
            "GET {url}: HTTP {status}: {}",
            server_message(&text)
        )));
    }
    let listed = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("data").and_then(Value::as_array).map(Vec::len));
    listed.ok_or_else(|| {
        format!(
            "GET {url}: the reply is not a model list: {}",
            snippet(&text)
        )
    })
}

fn server_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        let message = match value.get("error") {
            Some(Value::String(m)) => Some(m.as_str()),
            Some(error) => error.get("message").and_then(Value::as_str),
            None => value.get("message").and_then(Value::as_str),
        };
        if let Some(message) = message {
            return message.to_string();
        }
    }
    snippet(body)
}

/// The first [`SNIPPET_CHARS`] characters of `text`, trimmed.
fn snippet(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let mut out: String = text.chars().take(SNIPPET_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_message_prefers_openai_error() {
        let body = r#"{"error":{"message":"bad model","type":"invalid_request_error"}}"#;
        assert_eq!(server_message(body), "bad model");
        assert_eq!(server_message(r#"{"error":"plain"}"#), "plain");
        assert_eq!(server_message(""), "(empty body)");
        let long = "x".repeat(1000);
        assert_eq!(server_message(&long).chars().count(), SNIPPET_CHARS + 1);
    }
}

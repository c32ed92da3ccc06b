use std::path::{Path, PathBuf};

/// Everything that can go wrong configuring or calling the chat-completions endpoint.
///
/// Messages name the endpoint URL (never the API key) and say what to try next.
#[derive(thiserror::Error, Debug)]
pub enum LlmError {
    /// A missing or invalid setting; `file` is the TOML config file involved, if any.
    #[error("LLM config{}: {what}", in_file(.file))]
    Config {
        /// The config file the problem was found in, if it came from one.
        file: Option<PathBuf>,
        /// What is wrong and how to fix it.
        what: String,
    },
    /// The server answered with an error status (after `attempts` tries for 429 and 5xx).
    #[error(
        "{url} answered HTTP {status} after {attempts} attempt(s): {message} ({})",
        status_hint(.status)
    )]
    Http {
        /// The chat-completions URL.
        url: String,
        /// HTTP status code of the last answer.
        status: u16,
        /// The server's error message, or the start of its body.
        message: String,
        /// Requests sent, retries included.
        attempts: u32,
    },
    /// No complete answer within the per-request timeout, on every attempt.
    #[error(
        "{url} gave no complete answer within {secs} s on any of {attempts} attempt(s); \
         raise timeout_secs or max_retries, or check that the server is up"
    )]
    Timeout {
        /// The chat-completions URL.
        url: String,
        /// The per-request timeout in seconds.
        secs: f64,
        /// Requests sent, retries included.
        attempts: u32,
    },
    /// The connection failed (refused, reset, DNS, TLS, protocol error, ...).
    #[error(
        "could not talk to {url} ({attempts} attempt(s)): {message}; \
         check base_url and the network"
    )]
    Transport {
        /// The chat-completions URL.
        url: String,
        /// What the HTTP layer reported.
        message: String,
        /// Requests sent, retries included.
        attempts: u32,
    },
    /// HTTP success, but the body is not JSON or has no `choices[0].message`.
    #[error(
        "{url} answered with success but an unusable body: {message}; \
         check that base_url points to an OpenAI-compatible API (usually ending in /v1)"
    )]
    BadReply {
        /// The chat-completions URL.
        url: String,
        /// What is wrong with the body.
        message: String,
    },
}

impl LlmError {
    /// A config error not tied to a file.
    pub(crate) fn config(what: impl Into<String>) -> Self {
        Self::Config {
            file: None,
            what: what.into(),
        }
    }

    /// A config error found in `file`.
    pub(crate) fn in_config_file(file: &Path, what: impl Into<String>) -> Self {
        Self::Config {
            file: Some(file.to_path_buf()),
            what: what.into(),
        }
    }
}

fn in_file(file: &Option<PathBuf>) -> String {
    match file {
        Some(path) => format!(" file {}", path.display()),
        None => String::new(),
    }
}

fn status_hint(status: &u16) -> &'static str {
    match status {
        300..=399 => "redirects are not followed: check base_url (http vs https, path)",
        401 | 403 => "check the API key in OPENAI_API_KEY or api_key in the config file",
        404 => "check base_url and the model name",
        400 | 422 => "check the model name and request settings such as temperature and max_tokens",
        429 => "rate limited: wait, or raise max_retries / retry_base_secs",
        500..=599 => "server error: try again later, or raise max_retries",
        _ => "see the server's message",
    }
}

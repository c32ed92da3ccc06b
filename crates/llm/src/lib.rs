//! Blocking client for OpenAI-compatible chat-completions endpoints, used by
//! rewardgen to ask a language model for reward programs. [`LlmConfig`] is
//! resolved from an optional TOML file plus environment variables,
//! [`ChatClient::complete`] sends one request with a hard timeout and retries
//! transient failures (timeouts, transport errors, HTTP 429 and 5xx) with
//! exponential backoff, and the returned [`Completion`] keeps the exact request
//! and response bodies (never the API key) together with token [`Usage`] for
//! cost accounting.

mod client;
mod config;
mod error;
mod message;

pub use client::{ChatClient, Completion, probe_models};
pub use config::{
    DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_MODEL, LlmConfig, MAX_BACKOFF_SECS, Price,
};
pub use error::LlmError;
pub use message::{Message, Usage};

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::LlmError;

/// Base URL used when neither the config file nor the environment sets one.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Environment variable overriding `base_url`.
pub const ENV_BASE_URL: &str = "REWARDGEN_LLM_BASE_URL";
/// Environment variable overriding `model`.
pub const ENV_MODEL: &str = "REWARDGEN_LLM_MODEL";
/// Environment variable overriding `api_key`.
pub const ENV_API_KEY: &str = "OPENAI_API_KEY";
/// Longest wait between two attempts, in seconds (backoff and `Retry-After` alike).
pub const MAX_BACKOFF_SECS: f64 = 60.0;

/// Token prices in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// USD per million prompt tokens.
    pub input_per_million: f64,
    /// USD per million completion tokens.
    pub output_per_million: f64,
}

/// Settings for [`ChatClient`](crate::ChatClient).
///
/// Serializing never writes `api_key`, and `Debug` only says whether it is set.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// API root such as `https://api.openai.com/v1`; requests go to `{base_url}/chat/completions`.
    pub base_url: String,
    /// Model name sent with every request; has no default.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set; never serialized or printed.
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Sampling temperature in [0, 2].
    pub temperature: f64,
    /// Upper bound on completion tokens, sent as `max_tokens` when set.
    pub max_tokens: Option<u32>,
    /// Hard limit per request (connect through the whole response body), seconds.
    pub timeout_secs: f64,
    /// Retries after the first attempt for timeouts, transport errors, 429 and 5xx.
    pub max_retries: u32,
    /// First backoff in seconds, doubled per retry and capped at [`MAX_BACKOFF_SECS`].
    pub retry_base_secs: f64,
    /// Token prices for cost reports, if known.
    pub price: Option<Price>,
}

impl Default for LlmConfig {
    /// Defaults for everything; `model` is empty and must be set before use.
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            model: String::new(),
            api_key: None,
            temperature: 1.0,
            max_tokens: None,
            timeout_secs: 120.0,
            max_retries: 5,
            retry_base_secs: 2.0,
            price: None,
        }
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.api_key.is_some() {
            "<set>"
        } else {
            "<unset>"
        };
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &format_args!("{key}"))
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_retries", &self.max_retries)
            .field("retry_base_secs", &self.retry_base_secs)
            .field("price", &self.price)
            .finish()
    }
}

impl LlmConfig {
    /// Reads the optional TOML config file (keys: `base_url`, `model`, `api_key`,
    /// `temperature`, `max_tokens`, `timeout_secs`, `max_retries`, `retry_base_secs`,
    /// and a `[price]` table with `input_per_million` / `output_per_million`), then
    /// applies the environment variables [`ENV_BASE_URL`], [`ENV_MODEL`] and
    /// [`ENV_API_KEY`], which override the file. Empty variables are ignored.
    ///
    /// Does not validate: the caller may still set `model` (e.g. from `--model`);
    /// [`ChatClient::new`](crate::ChatClient::new) calls [`validate`](Self::validate).
    pub fn resolve(file: Option<&Path>) -> Result<Self, LlmError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        if let Some(url) = env_value(ENV_BASE_URL)? {
            config.base_url = url;
        }
        if let Some(model) = env_value(ENV_MODEL)? {
            config.model = model;
        }
        if let Some(key) = env_value(ENV_API_KEY)? {
            config.api_key = Some(key);
        }
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, LlmError> {
        let text = user_files::read_to_string(path, user_files::Kind::CONFIG).map_err(|e| {
            LlmError::in_config_file(path, format!("{}; check the path", e.message))
        })?;
        toml::from_str(&text).map_err(|e| {
            LlmError::in_config_file(
                path,
                format!(
                    "{}; fix the file and try again",
                    user_files::toml_message(&text, &e)
                ),
            )
        })
    }

    /// Checks that the settings are usable: a model is set, `base_url` is http(s),
    /// temperature is in [0, 2], timeout and backoff are sane, and the key (if any)
    /// is a single token.
    pub fn validate(&self) -> Result<(), LlmError> {
        if self.model.trim().is_empty() {
            return Err(LlmError::config(format!(
                "no model set; set {ENV_MODEL} or pass --model (or model = \"...\" in the config file)"
            )));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(LlmError::config(format!(
                "base_url {:?} must start with http:// or https://; fix base_url in the config file or {ENV_BASE_URL}",
                self.base_url
            )));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(LlmError::config(format!(
                "temperature {} must be between 0 and 2",
                self.temperature
            )));
        }
        if self.timeout_secs <= 0.0 || Duration::try_from_secs_f64(self.timeout_secs).is_err() {
            return Err(LlmError::config(format!(
                "timeout_secs {} must be a positive number of seconds",
                self.timeout_secs
            )));
        }
        if !(self.retry_base_secs.is_finite() && self.retry_base_secs >= 0.0) {
            return Err(LlmError::config(format!(
                "retry_base_secs {} must be a finite number >= 0",
                self.retry_base_secs
            )));
        }
        if self.max_tokens == Some(0) {
            return Err(LlmError::config(
                "max_tokens must be at least 1; leave it out for the server's default",
            ));
        }
        if let Some(price) = &self.price {
            let ok = |p: f64| p.is_finite() && p >= 0.0;
            if !(ok(price.input_per_million) && ok(price.output_per_million)) {
                return Err(LlmError::config(
                    "price.input_per_million and price.output_per_million must be finite and >= 0",
                ));
            }
        }
        if let Some(key) = &self.api_key
            && (key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(LlmError::config(format!(
                "api_key is empty or contains spaces or control characters; check {ENV_API_KEY} or api_key in the config file"
            )));
        }
        Ok(())
    }

    /// The per-request timeout as a [`Duration`] (call after [`validate`](Self::validate)).
    pub(crate) fn timeout(&self) -> Result<Duration, LlmError> {
        Duration::try_from_secs_f64(self.timeout_secs).map_err(|_| {
            LlmError::config(format!(
                "timeout_secs {} must be a positive number of seconds",
                self.timeout_secs
            ))
        })
    }

    /// Wait before retry number `retry` (0 for the first retry), in seconds.
    pub(crate) fn backoff_secs(&self, retry: u32) -> f64 {
        let doubled = self.retry_base_secs * 2f64.powi(retry.min(64) as i32);
        doubled.clamp(0.0, MAX_BACKOFF_SECS)
    }
}

/// A trimmed, non-empty environment variable, or `None` when unset or empty.
fn env_value(name: &str) -> Result<Option<String>, LlmError> {
    match std::env::var(name) {
        Ok(value) => {
            let value = value.trim();
            Ok((!value.is_empty()).then(|| value.to_string()))
        }
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(LlmError::config(format!(
            "environment variable {name} is not valid UTF-8; fix or unset it"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = LlmConfig {
            retry_base_secs: 2.0,
            ..LlmConfig::default()
        };
        assert_eq!(config.backoff_secs(0), 2.0);
        assert_eq!(config.backoff_secs(1), 4.0);
        assert_eq!(config.backoff_secs(4), 32.0);
        assert_eq!(config.backoff_secs(5), MAX_BACKOFF_SECS);
        assert_eq!(config.backoff_secs(u32::MAX), MAX_BACKOFF_SECS);
    }

    #[test]
    fn validate_rejects_bad_settings() {
        let good = LlmConfig {
            model: "m".into(),
            ..LlmConfig::default()
        };
        assert!(good.validate().is_ok());
        let bad = [
            LlmConfig {
                model: " ".into(),
                ..good.clone()
            },
            LlmConfig {
                base_url: "ftp://x".into(),
                ..good.clone()
            },
            LlmConfig {
                temperature: 2.5,
                ..good.clone()
            },
            LlmConfig {
                temperature: f64::NAN,
                ..good.clone()
            },
            LlmConfig {
                timeout_secs: 0.0,
                ..good.clone()
            },
            LlmConfig {
                timeout_secs: f64::INFINITY,
                ..good.clone()
            },
            LlmConfig {
                retry_base_secs: -1.0,
                ..good.clone()
            },
            LlmConfig {
                max_tokens: Some(0),
                ..good.clone()
            },
            LlmConfig {
                api_key: Some("sk-secret\n".into()),
                ..good.clone()
            },
        ];
        for config in bad {
            let err = config
                .validate()
                .expect_err("should be rejected")
                .to_string();
            assert!(!err.contains("sk-secret"), "{err}");
        }
    }
}

//! Client behaviour shared by every HTTP connector: timeouts; exponential back-off with jitter
//! on 5xx, timeouts and connection errors; 429 (and 503) answered by waiting at least
//! `Retry-After` — across every request to the system, not just the one that got it — and by
//! lowering concurrency until requests succeed again; clear errors for rejected credentials
//! and missing permissions.
//!
//! Requests that are not idempotent (creates) are never retried blindly here when their
//! outcome is unknown (timeout, dropped connection, 5xx): they fail with
//! [`HttpError::Uncertain`], and the target looks the object up before trying again, so a lost
//! answer never turns into a duplicate.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use roster_core::TargetError;
use tokio::sync::Semaphore;

/// Timeouts, retries and concurrency for one system. Every field has a sensible default.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpPolicy {
    /// Whole-request timeout, seconds.
    pub timeout_secs: u64,
    /// Attempts per request for answers that may be retried.
    pub max_attempts: u32,
    /// First back-off delay, milliseconds; doubles per attempt, with ±30 % jitter.
    pub base_delay_ms: u64,
    /// Longest single wait, milliseconds (a longer `Retry-After` is still honoured).
    pub max_delay_ms: u64,
    /// Requests in flight at once; halved on each 429, regained one at a time on success.
    pub max_concurrency: usize,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout_secs: 30,
            max_attempts: 6,
            base_delay_ms: 200,
            max_delay_ms: 30_000,
            max_concurrency: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The system refused the credentials (401).
    #[error("{system} rejected the credentials (HTTP 401): {message}")]
    Unauthorized { system: String, message: String },
    /// The credentials lack a permission, scope or group membership (403).
    #[error("{system} refused the request (HTTP 403) — the account lacks a permission: {message}")]
    Forbidden { system: String, message: String },
    /// Any other answer the request cannot succeed with.
    #[error("{system} answered HTTP {status} to {what}: {message}")]
    Status {
        system: String,
        what: String,
        status: u16,
        message: String,
    },
    /// Still failing (429, 5xx, network) after every attempt: try again later.
    #[error("{system} is unavailable for {what} after {attempts} attempt(s): {message}")]
    Unavailable {
        system: String,
        what: String,
        attempts: u32,
        message: String,
    },
    /// A non-idempotent request whose outcome is unknown: look before retrying.
    #[error("{system} did not answer {what} (it may have been carried out): {message}")]
    Uncertain {
        system: String,
        what: String,
        message: String,
    },
    #[error("{system}: cannot read the answer to {what}: {message}")]
    Decode {
        system: String,
        what: String,
        message: String,
    },
    #[error("cannot build an HTTP client: {0}")]
    Setup(String),
}

impl HttpError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { .. } => Some(401),
            HttpError::Forbidden { .. } => Some(403),
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<HttpError> for TargetError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Unavailable { .. } | HttpError::Uncertain { .. } => {
                TargetError::Transient(e.to_string())
            }
            other => TargetError::Permanent(other.to_string()),
        }
    }
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// GET, PUT, DELETE and writes that are idempotent in effect.
    Idempotent,
    /// Creates: retried only when the system certainly did not act (429, connection refused).
    NotIdempotent,
}

/// An HTTP client for one system.
pub struct HttpClient {
    system: String,
    client: reqwest::Client,
    policy: HttpPolicy,
    permits: Semaphore,
    limiter: Mutex<Limiter>,
}

struct Limiter {
    /// Permits currently withheld from the semaphore (concurrency = max - withheld).
    withheld: usize,
    successes: u32,
    /// No request starts before this instant (set by Retry-After).
    not_before: Option<Instant>,
}

fn install_crypto() {
    // Several clients may race to install it; the first wins and the rest are no-ops.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    pub fn new(system: impl Into<String>, policy: HttpPolicy) -> Result<Self, HttpError> {
        install_crypto();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(policy.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(policy.timeout_secs.clamp(1, 10)))
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Setup(e.to_string()))?;
        let max = policy.max_concurrency.max(1);
        Ok(HttpClient {
            system: system.into(),
            client,
            permits: Semaphore::new(max),
            policy: HttpPolicy {
                max_concurrency: max,
                ..policy
            },
            limiter: Mutex::new(Limiter {
                withheld: 0,
                successes: 0,
                not_before: None,
            }),
        })
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.limiter.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current concurrency limit (for tests and progress output).
    pub fn concurrency(&self) -> usize {
        self.policy.max_concurrency - self.limiter().withheld
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .policy
            .base_delay_ms
            .saturating_mul(1 << attempt.min(16));
        let capped = base.min(self.policy.max_delay_ms) as f64;
        Duration::from_millis((capped * (0.7 + 0.6 * fastrand::f64())) as u64)
    }

    fn on_rate_limited(&self, wait: Duration) {
        let mut l = self.limiter();
        let until = Instant::now() + wait;
        if l.not_before.is_none_or(|t| t < until) {
            l.not_before = Some(until);
        }
        l.successes = 0;
        // Halve the concurrency (at least one request stays possible).
        let current = self.policy.max_concurrency - l.withheld;
        let drop = current / 2;
        if drop > 0 && self.permits.available_permits() >= drop {
            self.permits.forget_permits(drop);
            l.withheld += drop;
        }
    }

    fn on_success(&self) {
        let mut l = self.limiter();
        if l.withheld == 0 {
            return;
        }
        l.successes += 1;
        if l.successes >= 10 {
            l.successes = 0;
            l.withheld -= 1;
            self.permits.add_permits(1);
        }
    }

    async fn wait_turn(&self) {
        loop {
            let wait = self
                .limiter()
                .not_before
                .and_then(|t| t.checked_duration_since(Instant::now()));
            match wait {
                Some(d) if !d.is_zero() => tokio::time::sleep(d).await,
                _ => return,
            }
        }
    }

    /// Sends a request built by `build` (called again for each attempt) and returns the
    /// successful (2xx) answer. `what` names the request in errors ("add ada to group eng").
    pub async fn send(
        &self,
        what: &str,
        idempotence: Idempotence,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_turn().await;
            let outcome = {
                let _permit = self.permits.acquire().await;
                build(&self.client).send().await
            };
            let last = attempt >= self.policy.max_attempts.max(1);
            let unavailable = |message: String| HttpError::Unavailable {
                system: self.system.clone(),
                what: what.to_string(),
                attempts: attempt,
                message,
            };
            match outcome {
                Ok(response) if response.status().is_success() => {
                    self.on_success();
                    return Ok(response);
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some())
                    {
                        // Not carried out: safe to resend whatever the method.
                        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt));
                        self.on_rate_limited(wait);
                        if last {
                            return Err(unavailable(format!("HTTP {}", status.as_u16())));
                        }
                        continue;
                    }
                    if status.is_server_error() {
                        let body = error_message(response).await;
                        if idempotence == Idempotence::NotIdempotent {
                            return Err(HttpError::Uncertain {
                                system: self.system.clone(),
                                what: what.to_string(),
                                message: format!("HTTP {}: {body}", status.as_u16()),
                            });
                        }
                        if last {
                            return Err(unavailable(format!("HTTP {}: {body}", status.as_u16())));
                        }
                        tokio::time::sleep(self.backoff(attempt)).await;
                        continue;
                    }
                    let message = error_message(response).await;
                    let system = self.system.clone();
                    return Err(match status {
                        StatusCode::UNAUTHORIZED => HttpError::Unauthorized { system, message },
                        StatusCode::FORBIDDEN => HttpError::Forbidden { system, message },
                        _ => HttpError::Status {
                            system,
                            what: what.to_string(),
                            status: status.as_u16(),
                            message,
                        },
                    });
                }
                Err(e) => {
                    let certain_not_sent = e.is_connect();
                    if idempotence == Idempotence::NotIdempotent && !certain_not_sent {
                        return Err(HttpError::Uncertain {
                            system: self.system.clone(),
                            what: what.to_string(),
                            message: describe(&e),
                        });
                    }
                    if last {
                        return Err(unavailable(describe(&e)));
                    }
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
            }
        }
    }

    /// [`HttpClient::send`] and decode the JSON answer.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        idempotence: Idempotence,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<T, HttpError> {
        let response = self.send(what, idempotence, build).await?;
        let bytes = response.bytes().await.map_err(|e| HttpError::Uncertain {
            system: self.system.clone(),
            what: what.to_string(),
            message: describe(&e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| HttpError::Decode {
            system: self.system.clone(),
            what: what.to_string(),
            message: e.to_string(),
        })
    }
}

/// Is `method` idempotent by HTTP's definition?
pub fn idempotence_of(method: &Method) -> Idempotence {
    if *method == Method::POST || *method == Method::PATCH {
        Idempotence::NotIdempotent
    } else {
        Idempotence::Idempotent
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After` in seconds (the form Atlassian sends); HTTP dates are not used by them.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The most useful text of an error answer: a JSON `message`/`detail`/`errors[0].title`, or
/// the body's start.
async fn error_message(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        for pointer in [
            "/message",
            "/detail",
            "/errors/0/detail",
            "/errors/0/title",
            "/error",
            "/errorMessages/0",
        ] {
            if let Some(s) = v.pointer(pointer).and_then(|m| m.as_str())
                && !s.is_empty()
            {
                // SCIM errors (RFC 7644 §3.12) also say which rule failed.
                if let Some(t) = v.get("scimType").and_then(|t| t.as_str()) {
                    return format!("{s} (scimType {t})");
                }
                return s.to_string();
            }
        }
    }
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text.chars().take(300).collect()
    }
}

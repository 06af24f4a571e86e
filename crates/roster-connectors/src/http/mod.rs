//! Client behaviour shared by every HTTP connector: timeouts; exponential back-off with jitter
//! on 5xx, timeouts and connection errors; requests paced to the system's request rate (set in
//! the policy, or learnt from the rate-limit headers of its answers) so the budget is spent
//! evenly instead of in bursts that end in 429; 429 (and 503) answered by waiting at least
//! `Retry-After` — across every request to the system, not just the one that got it — and by
//! lowering concurrency until requests succeed again; a vendor's own signals of the same
//! ([`RateSignals`]: Okta's `X-Rate-Limit-Reset`, Google's 403 `userRateLimitExceeded`)
//! treated alike; clear errors for rejected credentials and missing permissions.
//!
//! Requests that are not idempotent (creates) are never retried blindly here when their
//! outcome is unknown (timeout, dropped connection, 5xx): they fail with
//! [`HttpError::Uncertain`], and the target looks the object up before trying again, so a lost
//! answer never turns into a duplicate.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use roster_core::TargetError;
use tokio::sync::Semaphore;

mod rate;

use rate::{Limiter, Rate, rate_limit_reset, retry_after};

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
    /// Requests a second to send at most, spaced evenly. Whether set or not, never faster
    /// than the rate the system announces in its answers (`X-RateLimit-Limit` per second on
    /// Atlassian Cloud; `X-RateLimit-FillRate` per `X-RateLimit-Interval-Seconds` on Data
    /// Center); unset and unannounced, requests are not paced.
    pub requests_per_second: Option<f64>,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout_secs: 30,
            max_attempts: 6,
            base_delay_ms: 200,
            max_delay_ms: 30_000,
            max_concurrency: 16,
            requests_per_second: None,
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
    budget: Arc<Budget>,
    signals: RateSignals,
}

/// A vendor's own ways of saying "slow down", beyond 429 (and 503) with `Retry-After`, which
/// every client understands.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateSignals {
    /// How long to wait after a 429 that carries no `Retry-After`, read from its headers
    /// (Okta: until `X-Rate-Limit-Reset`).
    pub wait_after_429: Option<fn(&reqwest::header::HeaderMap) -> Option<Duration>>,
    /// How long to hold every request after a successful answer that says the budget is spent
    /// (Okta: `X-Rate-Limit-Remaining: 0`, until `X-Rate-Limit-Reset`), so the next request
    /// does not earn a 429.
    pub exhausted: Option<fn(&reqwest::header::HeaderMap) -> Option<Duration>>,
    /// Whether an error answer other than 429 means "rate limited" (Google: 403 with reason
    /// `userRateLimitExceeded`); it is then retried like a 429 without `Retry-After`.
    pub limited: Option<fn(StatusCode, &[u8]) -> bool>,
}

/// What every client of one system's budget shares: the connection pool, the concurrency
/// limit, the pause after a 429 and the request pacing.
struct Budget {
    client: reqwest::Client,
    policy: HttpPolicy,
    permits: Semaphore,
    limiter: Mutex<Limiter>,
}

fn install_crypto() {
    // Several clients may race to install it; the first wins and the rest are no-ops.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpClient {
    pub fn new(system: impl Into<String>, policy: HttpPolicy) -> Result<Self, HttpError> {
        let system = system.into();
        install_crypto();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(policy.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(policy.timeout_secs.clamp(1, 10)))
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Setup(e.to_string()))?;
        if let Some(rate) = policy.requests_per_second
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(HttpError::Setup(format!(
                "{system}: http.requests_per_second must be a positive number, not {rate}"
            )));
        }
        let max = policy.max_concurrency.max(1);
        Ok(HttpClient {
            system,
            signals: RateSignals::default(),
            budget: Arc::new(Budget {
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
                    announced: None,
                    next_slot: None,
                }),
            }),
        })
    }

    /// A client for another API of the same system (named `system` in errors) that spends the
    /// same budget: one request rate, one concurrency limit, one pause after a 429. For APIs a
    /// vendor may count together, such as a site's REST API and its SCIM directory.
    pub fn same_budget(&self, system: impl Into<String>) -> HttpClient {
        HttpClient {
            system: system.into(),
            budget: Arc::clone(&self.budget),
            signals: self.signals,
        }
    }

    /// This client, also heeding the vendor's own rate-limit signals.
    pub fn with_signals(mut self, signals: RateSignals) -> HttpClient {
        self.signals = signals;
        self
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.budget.client
    }

    fn policy(&self) -> &HttpPolicy {
        &self.budget.policy
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.budget
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The current concurrency limit (for tests and progress output).
    pub fn concurrency(&self) -> usize {
        self.policy().max_concurrency - self.limiter().withheld
    }

    /// The request rate being paced to, per second: the configured one or the one the system
    /// announced, whichever is slower; `None` while neither is known.
    pub fn pace(&self) -> Option<f64> {
        self.rate(&self.limiter()).map(|r| r.per_sec)
    }

    /// The configured rate, but never faster than the system announces.
    fn rate(&self, l: &Limiter) -> Option<Rate> {
        let configured = self.policy().requests_per_second.map(|per_sec| Rate {
            per_sec,
            burst: per_sec,
        });
        match (configured, l.announced) {
            (Some(c), Some(a)) if c.per_sec < a.per_sec => Some(Rate {
                per_sec: c.per_sec,
                burst: c.burst.min(a.burst),
            }),
            (c, a) => a.or(c),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let policy = self.policy();
        let base = policy.base_delay_ms.saturating_mul(1 << attempt.min(16));
        let capped = base.min(policy.max_delay_ms) as f64;
        Duration::from_millis((capped * (0.7 + 0.6 * fastrand::f64())) as u64)
    }

    fn on_rate_limited(&self, wait: Duration) {
        let mut l = self.limiter();
        let until = Instant::now() + wait;
        if l.not_before.is_none_or(|t| t < until) {
            l.not_before = Some(until);
        }
        // After the pause, requests resume one slot apart, not all at once.
        if l.next_slot.is_some_and(|t| t < until) {
            l.next_slot = Some(until);
        }
        l.successes = 0;
        // Halve the concurrency (at least one request stays possible).
        let permits = &self.budget.permits;
        let current = self.policy().max_concurrency - l.withheld;
        let drop = current / 2;
        if drop > 0 && permits.available_permits() >= drop {
            permits.forget_permits(drop);
            l.withheld += drop;
        }
    }

    fn on_success(&self, headers: &reqwest::header::HeaderMap) {
        let mut l = self.limiter();
        // Only successful answers teach the rate: a 429's headers may describe another limit
        // than the one being spent (Cloud's global quota), and Retry-After covers it anyway.
        if let Some(rate) = Rate::announced(headers) {
            l.announced = Some(rate);
        }
        if let Some(wait) = self.signals.exhausted.and_then(|f| f(headers)) {
            let until = Instant::now() + wait;
            if l.not_before.is_none_or(|t| t < until) {
                l.not_before = Some(until);
            }
        }
        if l.withheld == 0 {
            return;
        }
        l.successes += 1;
        if l.successes >= 10 {
            l.successes = 0;
            l.withheld -= 1;
            self.budget.permits.add_permits(1);
        }
    }

    /// Waits until a request may start: after any `Retry-After` pause, at its reserved slot.
    async fn wait_turn(&self) {
        let mut reserved = false;
        loop {
            let now = Instant::now();
            let start = {
                let mut l = self.limiter();
                match l.not_before.filter(|t| *t > now) {
                    Some(t) => Some(t),
                    None if reserved => None,
                    None => {
                        reserved = true;
                        self.rate(&l).map(|rate| l.reserve(rate, now))
                    }
                }
            };
            match start {
                // Checked again after the wait: a 429 meanwhile means a pause first.
                Some(t) if t > now => tokio::time::sleep_until(t.into()).await,
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
            let outcome = {
                let _permit = self.budget.permits.acquire().await;
                // Paced after the permit, not before: requests queued for a permit while the
                // rate was still unknown would otherwise all start at once when it is learnt.
                self.wait_turn().await;
                build(&self.budget.client).send().await
            };
            let last = attempt >= self.policy().max_attempts.max(1);
            let unavailable = |message: String| HttpError::Unavailable {
                system: self.system.clone(),
                what: what.to_string(),
                attempts: attempt,
                message,
            };
            match outcome {
                Ok(response) if response.status().is_success() => {
                    self.on_success(response.headers());
                    return Ok(response);
                }
                Ok(response) => {
                    let status = response.status();
                    let mut retry_after = retry_after(response.headers());
                    if status == StatusCode::TOO_MANY_REQUESTS && retry_after.is_none() {
                        retry_after = self
                            .signals
                            .wait_after_429
                            .and_then(|f| f(response.headers()));
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some())
                    {
                        // Not carried out: safe to resend whatever the method. Without a
                        // Retry-After, the window's reset time says how long (HiBob, ref
                        // hris-idp §3.5); without either, back off.
                        let wait = retry_after
                            .or_else(|| rate_limit_reset(response.headers()))
                            .unwrap_or_else(|| self.backoff(attempt));
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
                    let body = response.bytes().await.unwrap_or_default();
                    if self.signals.limited.is_some_and(|f| f(status, &body)) {
                        self.on_rate_limited(self.backoff(attempt));
                        if last {
                            return Err(unavailable(format!(
                                "HTTP {} (rate limited): {}",
                                status.as_u16(),
                                message_of(&body)
                            )));
                        }
                        continue;
                    }
                    let message = message_of(&body);
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

/// The most useful text of an error answer: a vendor's error-message header (BambooHR's
/// classic endpoints answer errors with an empty or plain-text body and the detail in
/// `X-BambooHR-Error-Message`, ref hris-idp §1.6), a JSON `message`/`detail`/`errors[0].title`
/// (and the other vendors' places for it), or the body's start.
async fn error_message(response: Response) -> String {
    let header_message = response
        .headers()
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let body = response.bytes().await.unwrap_or_default();
    header_message.unwrap_or_else(|| message_of(&body))
}

fn message_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        for pointer in [
            "/message",
            "/detail",
            "/errors/0/detail",
            "/errors/0/title",
            // OAuth 2.0 token endpoints (RFC 6749 §5.2), Graph and Google, Okta.
            "/error_description",
            "/error/message",
            "/errorSummary",
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
                // The vendor's code beside the message is what its documentation indexes.
                let code = ["/error/code", "/errorCode", "/error/errors/0/reason"]
                    .iter()
                    .chain(if pointer == "/error_description" {
                        &["/error"][..]
                    } else {
                        &[][..]
                    })
                    .find_map(|c| v.pointer(c).and_then(|c| c.as_str()));
                return match code {
                    Some(c) if !c.is_empty() => format!("{s} ({c})"),
                    _ => s.to_string(),
                };
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

//! Fault injection shared by every simulator: a tenant-wide request-rate limit, a share of 5xx
//! answers, bursts of 429 with the vendor's rate-limit headers, added latency, and connections
//! dropped after a write happened (the client never learns that its request succeeded). Set by
//! flags at start or at run time with `PUT /_sim/faults` (the same JSON as [`FaultConfig`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Requests per second the whole tenant may send (0 = no limit): a token bucket holding
    /// one second's worth, full at start. A request finding it empty is answered 429 with the
    /// vendor's rate-limit headers, and answers within the limit carry them too (ref §4.10,
    /// §5.1). Atlassian Cloud counts per endpoint and method; one bucket for every route is
    /// stricter, which is what a client's pacing should be tested against.
    pub rate_limit_per_sec: u32,
    /// Share of requests (0..1) answered 500/502/503 without doing anything.
    pub error_rate: f64,
    /// Every `burst_every` requests, the next `burst_length` are answered 429.
    pub burst_every: u64,
    pub burst_length: u64,
    /// `Retry-After` seconds sent with 429.
    pub retry_after_secs: u64,
    /// `Retry-After` seconds sent with the injected 503s (as Atlassian does when a resource
    /// limit is hit); none by default, so 5xx test the client's own back-off.
    pub error_retry_after_secs: Option<u64>,
    /// Added to every request.
    pub latency_ms: u64,
    /// Share of writes (POST/PUT/PATCH/DELETE) carried out and then answered by closing the
    /// connection: the change happened, the client sees a broken connection.
    pub drop_after_write_rate: f64,
    /// Seed for the random choices, for reproducible runs (0 = random).
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate_limit_per_sec: 0,
            error_rate: 0.0,
            burst_every: 0,
            burst_length: 0,
            retry_after_secs: 1,
            error_retry_after_secs: None,
            latency_ms: 0,
            drop_after_write_rate: 0.0,
            seed: 0,
        }
    }
}

/// Where the rate limit stands for one request, for the vendor's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    /// Requests per second allowed (and the bucket's size); 0 when no limit is configured
    /// (an injected 429 burst), and the vendor's function reports its documented default.
    pub limit: u32,
    /// Whole tokens left in the bucket after this request.
    pub remaining: u32,
    /// Whole seconds until the request could succeed (0 when it did).
    pub retry_after_secs: u64,
}

/// How a simulator shapes its 429 answers (each vendor has its own headers and body).
pub type RateLimited = fn(&RateStatus) -> Response;

/// The rate-limit headers a simulator adds to answers within the limit.
pub type RateHeaders = fn(&RateStatus, &mut HeaderMap);

/// The vendor's shape of rate limiting.
#[derive(Clone, Copy)]
pub struct RateStyle {
    pub limited: RateLimited,
    pub headers: RateHeaders,
}

/// The tenant's token bucket.
struct Bucket {
    /// The limit the bucket was filled for; a new limit refills it.
    limit: u32,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limit: u32) -> Self {
        Bucket {
            limit,
            tokens: f64::from(limit),
            at: Instant::now(),
        }
    }

    /// Takes a token if there is one; otherwise says how long until there is.
    fn take(&mut self, limit: u32) -> Result<RateStatus, RateStatus> {
        if self.limit != limit {
            *self = Bucket::full(limit);
        }
        let now = Instant::now();
        let rate = f64::from(limit);
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(RateStatus {
                limit,
                remaining: self.tokens as u32,
                retry_after_secs: 0,
            })
        } else {
            // Retry-After is whole seconds (ref §5.1), so a wait of a few milliseconds is
            // announced as one second, as a real server rounds it.
            let wait = (1.0 - self.tokens) / rate;
            Err(RateStatus {
                limit,
                remaining: 0,
                retry_after_secs: (wait.ceil() as u64).max(1),
            })
        }
    }
}

/// Live fault settings and counters, shared by a simulator's routes.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

struct Inner {
    config: Mutex<FaultConfig>,
    rng: Mutex<fastrand::Rng>,
    requests: AtomicU64,
    injected: AtomicU64,
    throttled: AtomicU64,
    bucket: Mutex<Bucket>,
    style: RateStyle,
}

/// Counts reported by `GET /_sim/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    pub config: FaultConfig,
    /// Every request outside `/_sim/`, whatever its answer.
    pub requests: u64,
    /// Faults injected: 5xx, burst 429s, dropped connections.
    pub injected: u64,
    /// Requests answered 429 because the rate limit's bucket was empty.
    pub throttled: u64,
}

/// The panic payload that makes the server drop a connection without answering.
struct SimulatedDrop;

impl Faults {
    pub fn new(config: FaultConfig, style: RateStyle) -> Self {
        let rng = if config.seed == 0 {
            fastrand::Rng::new()
        } else {
            fastrand::Rng::with_seed(config.seed)
        };
        Faults {
            inner: Arc::new(Inner {
                rng: Mutex::new(rng),
                requests: AtomicU64::new(0),
                injected: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                bucket: Mutex::new(Bucket::full(config.rate_limit_per_sec)),
                style,
                config: Mutex::new(config),
            }),
        }
    }

    pub fn config(&self) -> FaultConfig {
        self.inner
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set(&self, config: FaultConfig) {
        if config.seed != 0 {
            *self.inner.rng.lock().unwrap_or_else(|p| p.into_inner()) =
                fastrand::Rng::with_seed(config.seed);
        }
        *self.inner.config.lock().unwrap_or_else(|p| p.into_inner()) = config;
    }

    pub fn report(&self) -> FaultReport {
        FaultReport {
            config: self.config(),
            requests: self.inner.requests.load(Ordering::Relaxed),
            injected: self.inner.injected.load(Ordering::Relaxed),
            throttled: self.inner.throttled.load(Ordering::Relaxed),
        }
    }

    fn take_token(&self, limit: u32) -> Result<RateStatus, RateStatus> {
        self.inner
            .bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(limit)
    }

    fn roll(&self, share: f64) -> bool {
        share > 0.0
            && self
                .inner
                .rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .f64()
                < share
    }
}

fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Middleware: apply the configured faults around the simulator's real handling.
/// The `/_sim/` admin routes are never faulted.
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_sim/") {
        return next.run(request).await;
    }
    let config = faults.config();
    let n = faults.inner.requests.fetch_add(1, Ordering::Relaxed);
    if config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    }
    let style = faults.inner.style;
    let within = if config.rate_limit_per_sec > 0 {
        match faults.take_token(config.rate_limit_per_sec) {
            Ok(status) => Some(status),
            Err(status) => {
                faults.inner.throttled.fetch_add(1, Ordering::Relaxed);
                return (style.limited)(&status);
            }
        }
    } else {
        None
    };
    if config.burst_every > 0 && n % config.burst_every < config.burst_length {
        faults.inner.injected.fetch_add(1, Ordering::Relaxed);
        return (style.limited)(&RateStatus {
            limit: config.rate_limit_per_sec,
            remaining: 0,
            retry_after_secs: config.retry_after_secs,
        });
    }
    if faults.roll(config.error_rate) {
        faults.inner.injected.fetch_add(1, Ordering::Relaxed);
        let status = match fastrand::u8(0..3) {
            0 => StatusCode::INTERNAL_SERVER_ERROR,
            1 => StatusCode::BAD_GATEWAY,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        let mut headers = HeaderMap::new();
        if status == StatusCode::SERVICE_UNAVAILABLE
            && let Some(secs) = config.error_retry_after_secs
        {
            headers.insert("retry-after", HeaderValue::from(secs));
        }
        return (status, headers, "").into_response();
    }
    let write = is_write(request.method());
    let mut response = next.run(request).await;
    if let Some(status) = within {
        (style.headers)(&status, response.headers_mut());
    }
    if write && response.status().is_success() && faults.roll(config.drop_after_write_rate) {
        faults.inner.injected.fetch_add(1, Ordering::Relaxed);
        // The write is done; unwinding the connection's task closes the socket before a byte
        // of the answer is sent. `resume_unwind` skips the panic hook, so nothing is printed.
        std::panic::resume_unwind(Box::new(SimulatedDrop));
    }
    response
}

/// `GET /_sim/faults`: the settings and counters.
pub async fn get_faults(State(faults): State<Faults>) -> Json<FaultReport> {
    Json(faults.report())
}

/// `PUT /_sim/faults`: replace the settings.
pub async fn put_faults(
    State(faults): State<Faults>,
    Json(config): Json<FaultConfig>,
) -> Json<FaultReport> {
    faults.set(config);
    Json(faults.report())
}

/// The admin routes every simulator mounts.
pub fn admin_routes() -> axum::Router<Faults> {
    axum::Router::new().route(
        "/_sim/faults",
        axum::routing::get(get_faults).put(put_faults),
    )
}

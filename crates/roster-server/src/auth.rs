//! Bearer tokens per IdP connection and the per-token rate limit.
//!
//! Tokens are never stored: a connection keeps the SHA-256 of its token (tokens are long random
//! strings, so a fast hash suffices). A request's token is hashed and compared with every known
//! hash in constant time, without stopping at the first match, so the answer time says nothing
//! about how close a guess was. The connections live in memory, so authenticating costs no
//! query; an unknown token reloads them (at most once a second) so a connection added by
//! another process is picked up.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roster_store::ScimConnection;
use roster_store::Store;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::App;
use crate::error::ApiError;

/// The hex SHA-256 of a token, as connections store it.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Requests per second and burst size of each token's bucket; `per_second == 0` disables it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl RateLimit {
    /// Far above what one IdP sends (Entra asks for 25 requests/s per tenant) and above what the
    /// server can serve on two cores, so only a runaway client ever meets it.
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: 20_000.0,
        burst: 40_000.0,
    };

    pub fn disabled(&self) -> bool {
        self.per_second <= 0.0
    }
}

/// A token bucket: `tokens` refill at `per_second` up to `burst`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: RateLimit) -> Self {
        Bucket {
            tokens: limit.burst.max(1.0),
            at: Instant::now(),
        }
    }

    /// Takes one token, or says how long until one is there.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * limit.per_second).min(limit.burst.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / limit.per_second,
            ))
        }
    }
}

/// One connection as the authenticator holds it.
#[derive(Debug)]
pub struct Caller {
    pub connection: String,
    hash: [u8; 32],
    bucket: Mutex<Bucket>,
}

/// The connections known to this server, with their rate-limit buckets.
pub struct Connections {
    known: RwLock<Vec<Arc<Caller>>>,
    limit: RateLimit,
    last_reload: Mutex<Option<Instant>>,
}

/// How often an unknown token may trigger a reload of the connections.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

impl Connections {
    pub fn new(limit: RateLimit) -> Self {
        Connections {
            known: RwLock::new(Vec::new()),
            limit,
            last_reload: Mutex::new(None),
        }
    }

    /// Replaces the cached connections with the store's, keeping the buckets of those that stay
    /// (a reload must not hand a rate-limited client a fresh burst).
    pub async fn reload(&self, store: &dyn Store) -> Result<(), roster_store::StoreError> {
        let listed = store.scim_connections().await?;
        self.set(&listed);
        Ok(())
    }

    fn set(&self, listed: &[ScimConnection]) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        let fresh = listed
            .iter()
            .filter_map(|c| {
                let hash: [u8; 32] = hex::decode(&c.token_hash).ok()?.try_into().ok()?;
                let kept = known
                    .iter()
                    .find(|k| k.connection == c.name && k.hash == hash)
                    .cloned();
                Some(kept.unwrap_or_else(|| {
                    Arc::new(Caller {
                        connection: c.name.clone(),
                        hash,
                        bucket: Mutex::new(Bucket::new(self.limit)),
                    })
                }))
            })
            .collect();
        *known = fresh;
    }

    /// The connection whose token hashes to `hash`. Every known hash is compared in constant
    /// time and all of them are compared, whatever matches.
    fn find(&self, hash: &[u8; 32]) -> Option<Arc<Caller>> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let mut found: Option<Arc<Caller>> = None;
        for caller in known.iter() {
            let equal: Choice = caller.hash.ct_eq(hash);
            if bool::from(equal) {
                found = Some(caller.clone());
            }
        }
        found
    }

    /// Reloads unless a reload happened within [`RELOAD_EVERY`]; true if it reloaded.
    async fn reload_if_due(&self, store: &dyn Store) -> bool {
        {
            let mut last = self.last_reload.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < RELOAD_EVERY) {
                return false;
            }
            *last = Some(Instant::now());
        }
        match self.reload(store).await {
            Ok(()) => true,
            Err(e) => {
                eprintln!("roster serve: reloading SCIM connections: {e}");
                false
            }
        }
    }

    /// The caller a request's headers authenticate, or 401.
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        headers: &HeaderMap,
    ) -> Result<Arc<Caller>, ApiError> {
        let token = bearer_token(headers).ok_or_else(ApiError::unauthorized)?;
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(caller) = self.find(&hash) {
            return Ok(caller);
        }
        if self.reload_if_due(store).await
            && let Some(caller) = self.find(&hash)
        {
            return Ok(caller);
        }
        Err(ApiError::unauthorized())
    }

    /// Takes one request from the caller's bucket, or answers 429 with `Retry-After`.
    pub fn admit(&self, caller: &Caller) -> Result<(), ApiError> {
        if self.limit.disabled() {
            return Ok(());
        }
        let wait = {
            let mut bucket = caller.bucket.lock().unwrap_or_else(|p| p.into_inner());
            match bucket.take(self.limit, Instant::now()) {
                Ok(()) => return Ok(()),
                Err(wait) => wait,
            }
        };
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut e = ApiError::new(
            429,
            None,
            format!(
                "too many requests for connection {}: the limit is {} per second; retry after {seconds} s",
                caller.connection, self.limit.per_second
            ),
        );
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            e.headers.push((header::RETRY_AFTER, value));
        }
        Err(e)
    }
}

/// `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware for `/scim/v2`: authenticates, rate-limits, and hands the caller to the handlers
/// (and the request log) as a request extension.
pub async fn require_connection(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match app
        .connections
        .authenticate(app.store.as_ref(), request.headers())
        .await
    {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = app.connections.admit(&caller) {
        return e.into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Constant-time equality of two tokens' hashes, for the admin token.
pub fn token_matches(presented: &str, expected_hash: &[u8; 32]) -> bool {
    let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    bool::from(hash.ct_eq(expected_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_burst_then_refills_at_the_rate() {
        let limit = RateLimit {
            per_second: 10.0,
            burst: 3.0,
        };
        let mut bucket = Bucket::new(limit);
        let t0 = bucket.at;
        for _ in 0..3 {
            assert!(bucket.take(limit, t0).is_ok());
        }
        let wait = bucket.take(limit, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        assert!(bucket.take(limit, t0 + Duration::from_millis(100)).is_ok());
        assert!(bucket.take(limit, t0 + Duration::from_millis(100)).is_err());
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(bucket.take(limit, later).is_ok());
        }
        assert!(bucket.take(limit, later).is_err());
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_nothing_else_is() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn the_cache_finds_a_token_by_its_hash_and_keeps_buckets_across_reloads() {
        let limit = RateLimit {
            per_second: 1.0,
            burst: 1.0,
        };
        let connections = Connections::new(limit);
        let okta = ScimConnection {
            name: "okta".into(),
            token_hash: hash_token("s3cret"),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        };
        connections.set(std::slice::from_ref(&okta));
        let hash: [u8; 32] = Sha256::digest(b"s3cret").into();
        let caller = connections.find(&hash).unwrap();
        assert_eq!(caller.connection, "okta");
        assert!(connections.find(&Sha256::digest(b"s3cre").into()).is_none());
        assert!(connections.admit(&caller).is_ok());
        assert_eq!(connections.admit(&caller).unwrap_err().status(), 429);
        connections.set(&[okta]);
        let again = connections.find(&hash).unwrap();
        assert_eq!(again.connection, "okta");
        assert_eq!(connections.admit(&again).unwrap_err().status(), 429);
    }
}

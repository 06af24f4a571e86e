//! Status readers: the account status an identity provider reports (Okta, Microsoft Entra ID
//! through Microsoft Graph, Google Workspace), the second opinion the status comparison sets
//! beside HR and each target. Read-only: nothing here changes the directory.
//!
//! Vendor facts (endpoints, JSON, paging, rate limits, error bodies) are in
//! `shared/reference/hris-idp.md` §9-§11; `docs/directories.md` records what the readers do
//! where the reference leaves a point open.
//!
//! ```toml
//! [directories.okta]
//! kind = "okta"
//! base_url = "https://acme.okta.com"
//! token_env = "ROSTER_OKTA_TOKEN"
//!
//! [directories.entra]
//! kind = "entra"
//! tenant_id = "00000000-0000-0000-0000-000000000000"
//! client_id_env = "ROSTER_ENTRA_CLIENT_ID"
//! client_secret_env = "ROSTER_ENTRA_CLIENT_SECRET"
//!
//! [directories.google]
//! kind = "google"
//! service_account_key_env = "ROSTER_GOOGLE_SA_KEY"
//! subject = "roster-reader@acme.example"
//! ```

mod entra;
mod google;
mod okta;

use std::collections::HashSet;

use async_trait::async_trait;
use roster_core::directory::DirectoryAccount;
use serde::{Deserialize, Serialize};

pub use entra::{EntraConfig, EntraReader};
pub use google::{GoogleConfig, GoogleReader};
pub use okta::{OktaConfig, OktaReader};

use crate::check::ConnectionCheck;
use crate::http::HttpError;

/// Reads every account of one directory, with its status, last sign-in and groups.
#[async_trait]
pub trait StatusReader: Send + Sync {
    /// The directory's name in the configuration (`[directories.NAME]`).
    fn system(&self) -> &str;

    /// Every account, whatever its status (deactivated and deleted ones included where the
    /// vendor keeps them), following pagination to the end: an incomplete list is an error,
    /// never a shorter answer.
    async fn read_accounts(&self) -> Result<DirectoryListing, ReaderError>;

    /// One check per credential and permission the reader needs, each saying ok or exactly
    /// what is missing (`roster connect test`).
    async fn check(&self) -> Vec<ConnectionCheck>;
}

/// What one read found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryListing {
    pub accounts: Vec<DirectoryAccount>,
    /// What the read could not learn and why, for the user to fix (a refused optional
    /// permission: Graph's sign-in activity without AuditLog.Read.All).
    pub warnings: Vec<String>,
}

/// Why a read failed, worded so the user knows which credential, scope or setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaderError {
    /// The configuration cannot work: an unset environment variable, a bad key file.
    #[error("{system}: {message}")]
    Config { system: String, message: String },
    /// The directory refused the credentials.
    #[error("{system}: {message}")]
    Credentials { system: String, message: String },
    /// Authenticated, but a permission, role or scope is missing.
    #[error("{system}: {message}")]
    Permission { system: String, message: String },
    /// Unreachable, failing or throttling for longer than the retries wait: try again later.
    #[error("{system}: {message}")]
    Unavailable { system: String, message: String },
    /// An answer the reader cannot use (unexpected status, malformed JSON, paging loop).
    #[error("{system}: {message}")]
    Protocol { system: String, message: String },
}

impl ReaderError {
    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, ReaderError::Unavailable { .. })
    }
}

/// `[directories.NAME]`, told apart by `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DirectoryConfig {
    Okta(OktaConfig),
    Entra(EntraConfig),
    Google(GoogleConfig),
}

/// The reader for a configured directory. `env` looks up the environment variables the
/// configuration names for its secrets (`std::env::var` in the binary, a map in tests).
pub fn build_reader(
    name: &str,
    config: &DirectoryConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn StatusReader>, ReaderError> {
    Ok(match config {
        DirectoryConfig::Okta(c) => Box::new(OktaReader::new(name, c.clone(), env)?),
        DirectoryConfig::Entra(c) => Box::new(EntraReader::new(name, c.clone(), env)?),
        DirectoryConfig::Google(c) => Box::new(GoogleReader::new(name, c.clone(), env)?),
    })
}

/// `std::env::var` as [`build_reader`] wants it.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

/// The value of the environment variable `var` that the key `key` names.
pub(crate) fn secret(
    system: &str,
    key: &str,
    var: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ReaderError> {
    match env(var) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ReaderError::Config {
            system: system.to_string(),
            message: format!(
                "[directories.{system}] {key} names the environment variable {var}, which is not set"
            ),
        }),
    }
}

fn yes() -> bool {
    true
}

/// The vendor's message in an error answer, without the client's framing.
pub(crate) fn detail(e: &HttpError) -> String {
    match e {
        HttpError::Unauthorized { message, .. }
        | HttpError::Forbidden { message, .. }
        | HttpError::Status { message, .. } => match e.status() {
            Some(status) => format!("HTTP {status}: {message}"),
            None => message.clone(),
        },
        other => other.to_string(),
    }
}

/// An HTTP error as a reader error, with the advice for 401 and 403 that the caller knows.
pub(crate) fn from_http(system: &str, e: &HttpError, on_401: &str, on_403: &str) -> ReaderError {
    let system = system.to_string();
    match e {
        HttpError::Unauthorized { .. } => ReaderError::Credentials {
            system,
            message: format!("{on_401} ({})", detail(e)),
        },
        HttpError::Forbidden { .. } => ReaderError::Permission {
            system,
            message: format!("{on_403} ({})", detail(e)),
        },
        HttpError::Unavailable { .. } | HttpError::Uncertain { .. } => ReaderError::Unavailable {
            system,
            message: e.to_string(),
        },
        HttpError::Setup(m) => ReaderError::Config {
            system,
            message: m.clone(),
        },
        HttpError::Status { .. } | HttpError::Decode { .. } => ReaderError::Protocol {
            system,
            message: e.to_string(),
        },
    }
}

/// Stops a server that never stops handing out next pages.
const MAX_PAGES: usize = 100_000;

/// Guards a paged read: a cursor seen before, or no end in sight, stops it with an error
/// rather than a list that looks complete and is not.
pub(crate) struct Cursors {
    what: String,
    seen: HashSet<String>,
}

impl Cursors {
    pub fn new(what: impl Into<String>) -> Self {
        Cursors {
            what: what.into(),
            seen: HashSet::new(),
        }
    }

    pub fn next(&mut self, system: &str, cursor: &str) -> Result<(), ReaderError> {
        if self.seen.len() >= MAX_PAGES || !self.seen.insert(cursor.to_string()) {
            return Err(ReaderError::Protocol {
                system: system.to_string(),
                message: format!(
                    "paging through {} went in a circle at {cursor}: stopping rather than reading an incomplete list",
                    self.what
                ),
            });
        }
        Ok(())
    }
}

/// The scheme, host and port of a URL (`https://acme.okta.com`), to check that a next-page
/// link stays on the directory's host before the credentials are sent to it.
pub(crate) fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// A next-page link the reader may follow: absolute and on `base`'s origin.
pub(crate) fn same_origin(system: &str, base: &str, next: &str) -> Result<(), ReaderError> {
    if origin(next).eq_ignore_ascii_case(origin(base)) {
        Ok(())
    } else {
        Err(ReaderError::Protocol {
            system: system.to_string(),
            message: format!(
                "the next-page link {next} leaves {}: not following it with the directory's credentials",
                origin(base)
            ),
        })
    }
}

/// Percent-encodes a URL query value or form field (RFC 3986 unreserved characters kept).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` (token requests; reqwest's `form` feature is not built).
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An RFC 3339 instant, or `None` for anything else (vendors send `null`, empty strings and,
/// Google, the epoch for "never").
pub(crate) fn instant(text: Option<&str>) -> Option<jiff::Timestamp> {
    let t: jiff::Timestamp = text?.trim().parse().ok()?;
    (t.as_second() > 0).then_some(t)
}

/// A non-empty, trimmed value.
pub(crate) fn given(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin("https://acme.okta.com/api/v1/users?x=1"),
            "https://acme.okta.com"
        );
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert!(same_origin("o", "https://acme.okta.com", "https://ACME.okta.com/api").is_ok());
        assert!(same_origin("o", "https://acme.okta.com", "https://evil.example/api").is_err());
        assert!(same_origin("o", "http://127.0.0.1:1", "http://127.0.0.1:2/api").is_err());
    }

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(
            form(&[
                ("scope", "https://graph.microsoft.com/.default"),
                ("a b", "c&d")
            ]),
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&a%20b=c%26d"
        );
    }

    #[test]
    fn instants_ignore_the_epoch_and_garbage() {
        assert_eq!(instant(Some("1970-01-01T00:00:00.000Z")), None);
        assert_eq!(instant(Some("")), None);
        assert_eq!(instant(Some("yesterday")), None);
        assert_eq!(
            instant(Some("2026-11-20T08:12:00.000Z")).map(|t| t.to_string()),
            Some("2026-11-20T08:12:00Z".to_string())
        );
    }

    #[test]
    fn a_repeated_cursor_is_an_error() {
        let mut c = Cursors::new("users");
        assert!(c.next("okta", "a").is_ok());
        assert!(c.next("okta", "b").is_ok());
        let e = c.next("okta", "a").unwrap_err();
        assert!(e.to_string().contains("in a circle"), "{e}");
    }
}

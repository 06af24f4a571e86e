//! HR sources behind one trait: the CSV export, BambooHR, Personio and HiBob
//! (`docs/hr-sources.md`; vendor facts in the reference `hris-idp.md` §1-§3).
//!
//! A source lists every employee it has, leavers included, as [`RawRecord`]s keyed by person
//! attribute with dates already written `YYYY-MM-DD` and statuses already `active`, `leave` or
//! `terminated` (the vendor's values translated by the source's [`mapping`]). A record the
//! mapping cannot translate is quarantined here, with the field and the reason; the rest goes
//! through [`roster_core::intake::validate`] like any other import ([`HrListing::validate`]).
//!
//! Failures of the whole listing (credentials, a vendor that is down, a page that does not
//! parse, fields the credential may not read) are [`SourceError`]s: an import must stop on
//! them, because a partial listing would offboard everyone it leaves out.

pub mod bamboohr;
pub mod csv;
pub mod hibob;
pub mod mapping;
pub mod personio;
pub mod signature;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use roster_core::intake::{Intake, IntakeOptions, Quarantined, RawRecord, validate};

use crate::SourceConfig;
use crate::csv_source::CsvError;
use crate::http::HttpError;

pub use bamboohr::{BambooHrConfig, BambooHrListing, BambooHrSource};
pub use csv::CsvSource;
pub use hibob::{HibobConfig, HibobSource};
pub use mapping::{ManagerReference, MappingConfig};
pub use personio::{OffsetUnit, PersonioConfig, PersonioSource};

/// Seconds between polls of a vendor's API when the configuration does not say.
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 300;

/// Seconds a signed webhook's timestamp may be away from now (schemes that sign one).
pub const DEFAULT_WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// Everything a source listed: records to validate, and records its mapping refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HrListing {
    pub records: Vec<RawRecord>,
    pub quarantined: Vec<Quarantined>,
}

impl HrListing {
    /// Validates the records as one import from `source` (dates are `YYYY-MM-DD` by now),
    /// keeping the custom attributes the policy declares, and adds the mapping's quarantine.
    pub fn validate(&self, source: &str, custom_attributes: &BTreeSet<String>) -> Intake {
        // A record the mapping refused is still an employee the source has: its id must count
        // as known, or everyone reporting to them would be quarantined as "unknown manager",
        // and a second record with the same id must still be a duplicate. So each one goes in
        // as a stub holding only its id, which `validate` refuses (no e-mail); the stubs'
        // own quarantine entries are then dropped in favour of the mapping's.
        let mut records = self.records.clone();
        let mut stub_rows = BTreeSet::new();
        for q in &self.quarantined {
            if let Some(id) = &q.employee_id {
                stub_rows.insert(q.row);
                records.push(RawRecord {
                    row: q.row,
                    fields: BTreeMap::from([("employee_id".to_string(), id.clone())]),
                });
            }
        }
        let options = IntakeOptions {
            date_format: mapping::ISO_DATE.to_string(),
            custom_attributes: custom_attributes.clone(),
        };
        let mut intake = validate(source, &records, &options);
        intake.quarantined.retain(|q| !stub_rows.contains(&q.row));
        intake.quarantined.extend(self.quarantined.iter().cloned());
        intake.quarantined.sort_by_key(|q| q.row);
        let accepted: BTreeSet<&str> = intake
            .people
            .iter()
            .map(|p| p.employee_id.as_str())
            .collect();
        let known: Vec<String> = self
            .quarantined
            .iter()
            .filter_map(|q| q.employee_id.clone())
            .filter(|id| !accepted.contains(id.as_str()))
            .collect();
        intake.quarantined_ids.extend(known);
        intake
    }
}

/// What a verified webhook delivery says. Vendors send "dataless" notices (or ones not to be
/// relied on): the receiver re-reads the employees named, it never applies the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookNotice {
    /// The vendor's event name (`employee.updated`, `person.updated`, ...); [`PING_EVENT`]
    /// for a URL check that carries no change.
    pub event: String,
    /// Vendor employee ids the delivery is about (the ids `changed_since` returns).
    pub employee_ids: Vec<String>,
    /// Vendor field names the delivery says changed, when it says.
    pub changed_fields: Vec<String>,
}

/// [`WebhookNotice::event`] of HiBob's "Ping test" URL check.
pub const PING_EVENT: &str = "ping";

impl WebhookNotice {
    pub fn is_ping(&self) -> bool {
        self.event == PING_EVENT
    }
}

/// One HR system Roster reads people from.
#[async_trait]
pub trait HrSource: Send + Sync {
    /// The source's name in the configuration (`[sources.NAME]`).
    fn name(&self) -> &str;

    /// Every employee the source has, terminated ones included, every page.
    async fn list(&self) -> Result<HrListing, SourceError>;

    /// Vendor employee ids changed since `since`, when the API has a changed-since endpoint;
    /// `Ok(None)` when it has none (a full [`HrSource::list`] is the only way to see changes).
    async fn changed_since(
        &self,
        since: jiff::Timestamp,
    ) -> Result<Option<Vec<String>>, SourceError>;

    /// Checks a webhook delivery with the vendor's scheme (constant-time comparison; the
    /// signed timestamp within the tolerance where the scheme signs one) and says what changed.
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: jiff::Timestamp,
    ) -> Result<WebhookNotice, WebhookError>;
}

/// Why a listing (or a changed-since call) failed as a whole. Nothing from it may be imported.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source's configuration cannot work.
    #[error("HR source {name}: {message}")]
    Config { name: String, message: String },
    /// A secret the configuration names is not in the environment.
    #[error("HR source {name}: environment variable {env} is not set; it must hold the {what}")]
    MissingSecret {
        name: String,
        env: String,
        what: String,
    },
    /// The vendor refused the credentials (wrong or revoked).
    #[error("{credential} rejected by {origin}; check {envs}")]
    Unauthorized {
        credential: String,
        origin: String,
        envs: String,
    },
    /// The credentials work but may not read what Roster needs.
    #[error("{origin} refused the request (HTTP 403): {message}; {hint}")]
    Forbidden {
        origin: String,
        message: String,
        hint: String,
    },
    /// Fields the mapping reads came back from no employee: the vendor drops what the
    /// credential may not see (or what does not exist) without an error.
    #[error(
        "{origin} returned no {} for any employee: the credential may not read {} or the field name is wrong; {hint}. Nothing was imported",
        quoted(.fields), if .fields.len() == 1 { "it" } else { "them" }
    )]
    FieldsWithheld {
        origin: String,
        fields: Vec<String>,
        hint: String,
    },
    /// The vendor's answer is not what its API documents.
    #[error("{origin}: unexpected answer to {what}: {message}")]
    Protocol {
        origin: String,
        what: String,
        message: String,
    },
    /// The pages did not add up to the whole list.
    #[error("{origin}: the listing is incomplete ({message}); nothing was imported")]
    Incomplete { origin: String, message: String },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Csv(#[from] CsvError),
}

fn quoted(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    format!(
        "field{} {}",
        if fields.len() == 1 { "" } else { "s" },
        quoted.join(", ")
    )
}

/// Why a webhook delivery is not accepted. Answer it with 401 (or 400 when malformed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("{origin} does not send webhooks; poll it instead")]
    Unsupported { origin: String },
    #[error(
        "{origin}: no webhook secret is configured (set webhook_secret_env in [sources.{name}]); deliveries cannot be checked"
    )]
    NotConfigured { origin: String, name: String },
    #[error("{origin}: the webhook delivery has no {header} header")]
    MissingHeader { origin: String, header: String },
    #[error(
        "{origin}: the webhook's {header} does not match: the delivery is not from {origin} or was altered"
    )]
    BadSignature { origin: String, header: String },
    #[error(
        "{origin}: the webhook was signed at {signed_at}, {age_secs} s from now, outside the {tolerance_secs} s tolerance (a replay, or a clock far off)"
    )]
    Stale {
        origin: String,
        signed_at: String,
        age_secs: i64,
        tolerance_secs: u64,
    },
    #[error("{origin}: the webhook body cannot be read: {message}")]
    Malformed { origin: String, message: String },
}

/// A credential held in memory: never printed, not even by `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads the secret named by `env_name` (a configuration `*_env` key) from `env`.
pub(crate) fn secret_from(
    source: &str,
    env_name: &str,
    what: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, SourceError> {
    match env(env_name) {
        Some(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
        _ => Err(SourceError::MissingSecret {
            name: source.to_string(),
            env: env_name.to_string(),
            what: what.to_string(),
        }),
    }
}

/// [`secret_from`] for an optional `*_env` key.
pub(crate) fn optional_secret(
    source: &str,
    env_name: Option<&str>,
    what: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, SourceError> {
    env_name
        .map(|name| secret_from(source, name, what, env))
        .transpose()
}

/// Opens the source `name` as configured, reading the secrets from the environment variables
/// the configuration names (`env` is [`std::env::var`] in production, a map in tests).
pub fn build_source(
    name: &str,
    config: &SourceConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn HrSource>, SourceError> {
    Ok(match config {
        SourceConfig::Csv(c) => Box::new(CsvSource::new(name, c.clone())),
        SourceConfig::Bamboohr(c) => Box::new(BambooHrSource::new(name, c.clone(), env)?),
        SourceConfig::Personio(c) => Box::new(PersonioSource::new(name, c.clone(), env)?),
        SourceConfig::Hibob(c) => Box::new(HibobSource::new(name, c.clone(), env)?),
    })
}

/// The error of a vendor call, with 401 and 403 turned into what the admin must fix.
pub(crate) fn vendor_error(
    e: HttpError,
    origin: &str,
    credential: &str,
    envs: &str,
    forbidden_hint: &str,
) -> SourceError {
    match e {
        HttpError::Unauthorized { .. } => SourceError::Unauthorized {
            credential: credential.to_string(),
            origin: origin.to_string(),
            envs: envs.to_string(),
        },
        HttpError::Forbidden { message, .. } => SourceError::Forbidden {
            origin: origin.to_string(),
            message,
            hint: forbidden_hint.to_string(),
        },
        other => SourceError::Http(other),
    }
}

/// The value of a header as text, if present and readable.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

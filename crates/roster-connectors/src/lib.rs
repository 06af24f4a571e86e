//! Connectors to the systems around Roster: HR sources (CSV, BambooHR, Personio, HiBob, all
//! behind [`hr::HrSource`]), identity-provider status readers, targets (Confluence Cloud and
//! Data Center, generic SCIM, manual) and the HTTP client behaviour they share.

pub mod check;
pub mod csv_source;
pub mod directory;
pub mod hr;
pub mod http;

use serde::Deserialize;

pub use check::ConnectionCheck;
pub use csv_source::{CsvError, CsvRecords, CsvSourceConfig, MalformedRow, load, read_records};

/// One HR source as the configuration file describes it (`[sources.NAME]`), told apart by
/// `kind`:
///
/// ```toml
/// [sources.hr]
/// kind = "csv"
/// path = "examples/acme/hr.csv"
/// ```
///
/// The vendors' keys are in `docs/hr-sources.md`; [`hr::build_source`] opens any of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Read once from the configuration file: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum SourceConfig {
    Csv(CsvSourceConfig),
    Bamboohr(hr::BambooHrConfig),
    Personio(hr::PersonioConfig),
    Hibob(hr::HibobConfig),
}

impl SourceConfig {
    /// Seconds between polls of the source's API; `None` for a file, read on every sync.
    pub fn poll_interval_secs(&self) -> Option<u64> {
        match self {
            SourceConfig::Csv(_) => None,
            SourceConfig::Bamboohr(c) => Some(c.poll_interval_secs),
            SourceConfig::Personio(c) => Some(c.poll_interval_secs),
            SourceConfig::Hibob(c) => Some(c.poll_interval_secs),
        }
    }
}
pub mod confluence_cloud;
pub mod confluence_dc;
pub mod scim_client;
pub mod scim_target;

//! Connectors to the systems around Roster: HR sources (CSV today), targets (Confluence
//! Cloud and Data Center, generic SCIM, manual) and the HTTP client behaviour they share.

pub mod check;
pub mod csv_source;
pub mod directory;
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    Csv(CsvSourceConfig),
}
pub mod confluence_cloud;
pub mod confluence_dc;
pub mod scim_client;
pub mod scim_target;

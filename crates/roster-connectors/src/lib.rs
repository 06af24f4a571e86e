//! Connectors to the systems around Roster: HR sources (CSV today) and, later, targets and
//! status readers.

pub mod csv_source;

use serde::Deserialize;

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

//! The CSV export as an [`HrSource`]: `list` reads the file, dates are rewritten from the
//! configured format to `YYYY-MM-DD`, every column that is not a standard attribute is kept
//! as a custom attribute (validation keeps those the policy declares). A file has no
//! changed-since and sends no webhooks.

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::civil::Date;
use reqwest::header::HeaderMap;
use roster_core::intake::Quarantined;
use roster_core::person::STANDARD_ATTRIBUTES;

use super::mapping::ISO_DATE;
use super::{HrListing, HrSource, SourceError, WebhookError, WebhookNotice};
use crate::csv_source::{CsvError, CsvSourceConfig, read_records};

pub struct CsvSource {
    name: String,
    config: CsvSourceConfig,
}

impl CsvSource {
    pub fn new(name: &str, config: CsvSourceConfig) -> Self {
        CsvSource {
            name: name.to_string(),
            config,
        }
    }

    fn read(&self) -> Result<HrListing, SourceError> {
        let path = self.config.path.display().to_string();
        let data = std::fs::read(&self.config.path).map_err(|source| CsvError::Io {
            path: path.clone(),
            source,
        })?;
        let custom = custom_columns(&data, &self.config);
        let read = read_records(&data[..], &self.config, &custom)?;
        let mut listing = HrListing::default();
        for mut record in read.records {
            let mut problem = None;
            for attribute in ["start_date", "end_date"] {
                let Some(text) = record.fields.get(attribute).map(|s| s.trim().to_string()) else {
                    continue;
                };
                if text.is_empty() {
                    continue;
                }
                match Date::strptime(&self.config.date_format, &text) {
                    Ok(day) => {
                        record
                            .fields
                            .insert(attribute.to_string(), day.strftime(ISO_DATE).to_string());
                    }
                    Err(_) => {
                        problem = Some((
                            attribute,
                            format!(
                                "\"{text}\" is not a date in the format {} (for example {})",
                                self.config.date_format,
                                Date::constant(2026, 3, 31).strftime(&self.config.date_format)
                            ),
                        ));
                        break;
                    }
                }
            }
            match problem {
                None => listing.records.push(record),
                Some((field, reason)) => {
                    let get = |a: &str| {
                        record
                            .fields
                            .get(a)
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                    };
                    listing.quarantined.push(Quarantined {
                        source: path.clone(),
                        row: record.row,
                        employee_id: get("employee_id"),
                        email: get("email"),
                        field: field.to_string(),
                        reason,
                    });
                }
            }
        }
        listing
            .quarantined
            .extend(read.malformed.iter().map(|m| m.to_quarantined(&path)));
        listing.quarantined.sort_by_key(|q| q.row);
        Ok(listing)
    }
}

/// The custom attributes the file has: columns that are neither a standard attribute nor
/// mapped to one, and the non-standard attributes `columns` maps.
fn custom_columns(data: &[u8], config: &CsvSourceConfig) -> BTreeSet<String> {
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(config.delimiter as u8)
        .from_reader(body);
    let Some(Ok(header)) = reader.records().next() else {
        return BTreeSet::new();
    };
    let mapped: BTreeSet<&str> = config.columns.values().map(String::as_str).collect();
    header
        .iter()
        .map(str::trim)
        .filter(|h| !h.is_empty() && !STANDARD_ATTRIBUTES.contains(h) && !mapped.contains(h))
        .map(str::to_string)
        .chain(
            config
                .columns
                .keys()
                .filter(|a| !STANDARD_ATTRIBUTES.contains(&a.as_str()))
                .cloned(),
        )
        .collect()
}

#[async_trait]
impl HrSource for CsvSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn list(&self) -> Result<HrListing, SourceError> {
        // File reads block; keep them off the runtime's worker threads.
        let source = CsvSource::new(&self.name, self.config.clone());
        tokio::task::spawn_blocking(move || source.read())
            .await
            .map_err(|e| SourceError::Config {
                name: self.name.clone(),
                message: format!("reading the file failed: {e}"),
            })?
    }

    async fn changed_since(
        &self,
        _since: jiff::Timestamp,
    ) -> Result<Option<Vec<String>>, SourceError> {
        Ok(None)
    }

    fn verify_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: jiff::Timestamp,
    ) -> Result<WebhookNotice, WebhookError> {
        Err(WebhookError::Unsupported {
            origin: format!("the CSV file {}", self.config.path.display()),
        })
    }
}

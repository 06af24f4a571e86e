//! HR exports as CSV files. The format is documented in `docs/csv-format.md`.
//!
//! [`read_records`] turns a file into [`RawRecord`]s keyed by person attribute, one per data
//! row, with `row` = the row's line number in the file (the header is line 1). It fails only
//! for problems with the whole file (unreadable, not UTF-8, no header, a required column
//! missing): those must stop an import, because a half-read file would offboard everyone it
//! no longer lists. A row with the wrong number of cells is not guessed at: it comes back in
//! [`CsvRecords::malformed`] with its line number, and [`load`] quarantines it like any other
//! bad row. [`load`] reads the file and validates the records with
//! [`roster_core::intake::validate`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use roster_core::intake::{Intake, IntakeOptions, Quarantined, RawRecord, validate};
use roster_core::person::STANDARD_ATTRIBUTES;
use serde::Deserialize;

/// The attributes every row must have a column for.
pub const REQUIRED_ATTRIBUTES: &[&str] = &["employee_id", "email"];

/// The field named by the quarantine of a row with the wrong number of cells.
pub const MALFORMED_ROW_FIELD: &str = "row";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How to read one CSV export (`[sources.NAME]` with `kind = "csv"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSourceConfig {
    /// The file to read (the caller resolves it relative to the configuration file).
    pub path: PathBuf,
    /// Person attribute → CSV header, for the headers that differ from the attribute names.
    /// Every other attribute (standard or a custom one the policy declares) is read from the
    /// header of the same name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// How dates are written: a strftime format, `%Y-%m-%d` by default. Never guessed.
    #[serde(default = "default_date_format")]
    pub date_format: String,
    /// The cell separator, `,` by default (`;` is common in European exports).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

fn default_date_format() -> String {
    "%Y-%m-%d".to_string()
}

fn default_delimiter() -> char {
    ','
}

impl CsvSourceConfig {
    /// A source reading `path` with the default format: headers named like the attributes,
    /// ISO dates, commas.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvSourceConfig {
            path: path.into(),
            columns: BTreeMap::new(),
            date_format: default_date_format(),
            delimiter: default_delimiter(),
        }
    }

    /// The CSV header an attribute is read from.
    pub fn header_for<'a>(&'a self, attribute: &'a str) -> &'a str {
        self.columns
            .get(attribute)
            .map_or(attribute, String::as_str)
    }

    /// The validation options for this source.
    pub fn intake_options(&self, custom_attributes: &BTreeSet<String>) -> IntakeOptions {
        IntakeOptions {
            date_format: self.date_format.clone(),
            custom_attributes: custom_attributes.clone(),
        }
    }

    fn source_name(&self) -> String {
        self.path.display().to_string()
    }

    /// Checks the configuration itself: the delimiter, the date format, and that `columns`
    /// maps only attributes a person has.
    pub fn check(&self, custom_attributes: &BTreeSet<String>) -> Result<(), CsvError> {
        let config_error = |message: String| CsvError::Config {
            path: self.source_name(),
            message,
        };
        if !self.delimiter.is_ascii() || matches!(self.delimiter, '"' | '\n' | '\r') {
            return Err(config_error(format!(
                "delimiter {:?} is not usable: use one ASCII character other than a quote or a line break",
                self.delimiter
            )));
        }
        let sample = Date::constant(2026, 3, 31);
        let mut written = String::new();
        let round_trips = write!(written, "{}", sample.strftime(&self.date_format)).is_ok()
            && Date::strptime(&self.date_format, &written).ok() == Some(sample);
        if !round_trips {
            return Err(config_error(format!(
                "date_format \"{}\" cannot read the dates it describes (use strftime codes such as \"%Y-%m-%d\" or \"%d.%m.%Y\")",
                self.date_format
            )));
        }
        for attribute in self.columns.keys() {
            if !STANDARD_ATTRIBUTES.contains(&attribute.as_str())
                && !custom_attributes.contains(attribute)
            {
                return Err(config_error(format!(
                    "columns maps \"{attribute}\", which is not a person attribute (standard: {}; custom attributes the policy declares: {})",
                    STANDARD_ATTRIBUTES.join(", "),
                    if custom_attributes.is_empty() {
                        "none".to_string()
                    } else {
                        custom_attributes
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

/// A problem with a whole CSV file: nothing from it may be imported.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: the file is empty; expected a header line")]
    Empty { path: String },
    #[error("{path}: line {line} is not valid UTF-8; export the file as UTF-8")]
    Encoding { path: String, line: u64 },
    #[error("{path}: line {line}: {message}")]
    Syntax {
        path: String,
        line: u64,
        message: String,
    },
    #[error(
        "{path}: line {line}: no column \"{header}\" (needed for {attribute}); the header has: {}",
        .found.join(", ")
    )]
    MissingHeader {
        path: String,
        line: u64,
        header: String,
        attribute: String,
        found: Vec<String>,
    },
    #[error(
        "{path}: line {line}: column \"{header}\" appears {count} times; Roster will not pick one"
    )]
    DuplicateHeader {
        path: String,
        line: u64,
        header: String,
        count: usize,
    },
    #[error("{path}: source configuration: {message}")]
    Config { path: String, message: String },
}

/// A data row whose number of cells differs from the header's. Quarantined by [`load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedRow {
    /// Line number in the file (the header is line 1).
    pub row: usize,
    pub cells: usize,
    pub expected: usize,
    /// The cells in the employee id and e-mail columns, as far as the row reaches them: a hint
    /// for people reading the quarantine, and it keeps a known person from looking "missing".
    pub employee_id: Option<String>,
    pub email: Option<String>,
}

impl MalformedRow {
    pub fn to_quarantined(&self, source: &str) -> Quarantined {
        Quarantined {
            source: source.to_string(),
            row: self.row,
            employee_id: self.employee_id.clone(),
            email: self.email.clone(),
            field: MALFORMED_ROW_FIELD.to_string(),
            reason: format!(
                "the row has {} cells but the header has {} (an unquoted delimiter or a missing cell?); nothing in it is used",
                self.cells, self.expected
            ),
        }
    }
}

/// What [`read_records`] found in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvRecords {
    /// The file's headers, trimmed, in order.
    pub headers: Vec<String>,
    /// One record per data row with the header's number of cells.
    pub records: Vec<RawRecord>,
    /// Rows with another number of cells, to quarantine.
    pub malformed: Vec<MalformedRow>,
    /// Optional attributes (standard or custom) the file has no column for: they are unset
    /// for everyone, which a caller may want to warn about.
    pub missing_columns: Vec<String>,
}

/// Reads a CSV export. Fields of each record are keyed by person attribute; cells are as in
/// the file (validation trims them). Rows whose cells are all empty are skipped.
///
/// Errors are about the whole file: the configuration, I/O, UTF-8, CSV syntax, no header
/// line, a missing column for `employee_id` or `email` (or for any attribute `columns` maps
/// explicitly), or a header that appears twice and is needed.
pub fn read_records<R: Read>(
    reader: R,
    config: &CsvSourceConfig,
    custom_attributes: &BTreeSet<String>,
) -> Result<CsvRecords, CsvError> {
    config.check(custom_attributes)?;
    let path = config.source_name();
    let mut data = Vec::new();
    let mut reader = reader;
    reader
        .read_to_end(&mut data)
        .map_err(|source| CsvError::Io {
            path: path.clone(),
            source,
        })?;
    // Excel writes a UTF-8 byte order mark; it is not part of the first header.
    let body = data.strip_prefix(UTF8_BOM).unwrap_or(&data);
    let mut lines = LineCounter::new(body);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(config.delimiter as u8)
        .from_reader(body);
    let mut rows = csv.byte_records();
    let header = match rows.next() {
        None => return Err(CsvError::Empty { path }),
        Some(r) => r.map_err(|e| csv_error(&path, e))?,
    };
    let header_line = lines.line_of(&header);
    let headers: Vec<String> = header
        .iter()
        .map(|cell| {
            std::str::from_utf8(cell)
                .map(|s| s.trim().to_string())
                .map_err(|_| CsvError::Encoding {
                    path: path.clone(),
                    line: header_line,
                })
        })
        .collect::<Result<_, _>>()?;
    if headers.iter().all(String::is_empty) {
        return Err(CsvError::Empty { path });
    }

    // Which column each attribute comes from.
    let mut columns: Vec<(String, usize)> = Vec::new();
    let mut missing_columns = Vec::new();
    let attributes = STANDARD_ATTRIBUTES
        .iter()
        .map(|a| a.to_string())
        .chain(custom_attributes.iter().cloned());
    for attribute in attributes {
        let header = config.header_for(&attribute);
        let at: Vec<usize> = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.as_str() == header)
            .map(|(i, _)| i)
            .collect();
        match at.as_slice() {
            [i] => columns.push((attribute, *i)),
            [] if REQUIRED_ATTRIBUTES.contains(&attribute.as_str())
                || config.columns.contains_key(&attribute) =>
            {
                return Err(CsvError::MissingHeader {
                    path,
                    line: header_line,
                    header: header.to_string(),
                    attribute,
                    found: headers,
                });
            }
            [] => missing_columns.push(attribute),
            many => {
                return Err(CsvError::DuplicateHeader {
                    path,
                    line: header_line,
                    header: header.to_string(),
                    count: many.len(),
                });
            }
        }
    }
    let column_of = |attribute: &str| {
        columns
            .iter()
            .find(|(a, _)| a == attribute)
            .map(|(_, i)| *i)
    };
    let (id_column, email_column) = (column_of("employee_id"), column_of("email"));

    let mut out = CsvRecords {
        headers,
        missing_columns,
        ..CsvRecords::default()
    };
    for record in rows {
        let record = record.map_err(|e| csv_error(&path, e))?;
        let line = lines.line_of(&record);
        if record
            .iter()
            .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        let text = |i: usize| -> Result<Option<String>, CsvError> {
            record
                .get(i)
                .map(|cell| {
                    std::str::from_utf8(cell)
                        .map(str::to_string)
                        .map_err(|_| CsvError::Encoding {
                            path: path.clone(),
                            line,
                        })
                })
                .transpose()
        };
        if record.len() != out.headers.len() {
            let hint = |column: Option<usize>| -> Result<Option<String>, CsvError> {
                Ok(match column {
                    Some(i) => text(i)?
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                    None => None,
                })
            };
            out.malformed.push(MalformedRow {
                row: line as usize,
                cells: record.len(),
                expected: out.headers.len(),
                employee_id: hint(id_column)?,
                email: hint(email_column)?,
            });
            continue;
        }
        let mut fields = BTreeMap::new();
        for (attribute, i) in &columns {
            if let Some(value) = text(*i)? {
                fields.insert(attribute.clone(), value);
            }
        }
        out.records.push(RawRecord {
            row: line as usize,
            fields,
        });
    }
    Ok(out)
}

/// Reads and validates the file `config.path`: every row becomes a person or a quarantined
/// record (rows with the wrong number of cells included, with field [`MALFORMED_ROW_FIELD`]),
/// sorted by row. The quarantine's source is the path as configured.
pub fn load(
    config: &CsvSourceConfig,
    custom_attributes: &BTreeSet<String>,
) -> Result<Intake, CsvError> {
    let file = std::fs::File::open(&config.path).map_err(|source| CsvError::Io {
        path: config.source_name(),
        source,
    })?;
    load_from_reader(file, config, custom_attributes)
}

/// [`load`] from any reader (standard input, a test); `config.path` names it in messages.
pub fn load_from_reader<R: Read>(
    reader: R,
    config: &CsvSourceConfig,
    custom_attributes: &BTreeSet<String>,
) -> Result<Intake, CsvError> {
    let read = read_records(reader, config, custom_attributes)?;
    let source = config.source_name();
    let mut intake = validate(
        &source,
        &read.records,
        &config.intake_options(custom_attributes),
    );
    let accepted: BTreeSet<&str> = intake
        .people
        .iter()
        .map(|p| p.employee_id.as_str())
        .collect();
    let mut known = Vec::new();
    for m in &read.malformed {
        if let Some(id) = &m.employee_id
            && !accepted.contains(id.as_str())
        {
            known.push(id.clone());
        }
        intake.quarantined.push(m.to_quarantined(&source));
    }
    intake.quarantined_ids.extend(known);
    intake.quarantined.sort_by_key(|q| q.row);
    Ok(intake)
}

/// The path `config.path` resolved against the directory of the configuration file.
pub fn resolve_path(config_file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        config_file
            .parent()
            .map_or_else(|| path.to_path_buf(), |dir| dir.join(path))
    }
}

fn csv_error(path: &str, e: csv::Error) -> CsvError {
    let line = e.position().map_or(0, |p| p.line());
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => CsvError::Io {
            path: path.to_string(),
            source,
        },
        csv::ErrorKind::Utf8 { .. } => CsvError::Encoding {
            path: path.to_string(),
            line,
        },
        _ => CsvError::Syntax {
            path: path.to_string(),
            line,
            message,
        },
    }
}

/// Line numbers of records. The `csv` crate's own count is off after blank lines and with
/// `\r\n` or `\r` line ends, so lines are counted here from each record's byte offset.
struct LineCounter<'a> {
    data: &'a [u8],
    scanned: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            scanned: 0,
            line: 1,
        }
    }

    /// The line a record starts on; records must be asked for in order.
    fn line_of(&mut self, record: &csv::ByteRecord) -> u64 {
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        // The offset is where the previous record's input ended: skip the rest of its line
        // end and any blank lines.
        while matches!(self.data.get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        let start = start.min(self.data.len());
        while self.scanned < start {
            match self.data[self.scanned] {
                b'\n' => self.line += 1,
                b'\r' if self.data.get(self.scanned + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.scanned += 1;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<u64> {
        let mut counter = LineCounter::new(text.as_bytes());
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        csv.byte_records()
            .map(|r| counter.line_of(&r.unwrap()))
            .collect()
    }

    #[test]
    fn line_numbers_survive_blank_lines_quoted_breaks_and_any_line_end() {
        assert_eq!(lines("a,b\n1,2\n\n3,4\n\"x\ny\",2\n5,6\n"), [1, 2, 4, 5, 7]);
        assert_eq!(lines("a,b\r\n1,2\r\n3,4\r\n\r\n5,6\r\n"), [1, 2, 3, 5]);
        assert_eq!(lines("a,b\r1,2\r3,4\r"), [1, 2, 3]);
        assert_eq!(lines("\n\na,b\n1,2"), [3, 4]);
    }
}

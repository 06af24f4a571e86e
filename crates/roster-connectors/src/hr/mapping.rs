//! From a vendor's employee record to person attributes: which vendor field feeds which
//! attribute (defaults per vendor, overridable), custom attributes, value maps (a vendor's
//! status values to `active`/`leave`/`terminated`, "Vollzeit" to `full_time`), and how dates
//! are written. Nothing is guessed: a value the map does not cover, or a date not in the
//! configured format, quarantines the record with the attribute and a reason naming the
//! record and the vendor field.
//!
//! Dates: the configured `date_format` is a strftime format. When it carries an offset
//! (Personio writes dates as local midnight with an offset), the instant is converted to the
//! day in the configured `time_zone`, the company's.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use roster_core::intake::{Quarantined, RawRecord};
use roster_core::person::STANDARD_ATTRIBUTES;
use serde::Deserialize;

use super::{HrListing, SourceError};

/// How records of an [`HrListing`] write dates.
pub const ISO_DATE: &str = "%Y-%m-%d";

/// The attribute whose quarantine reports a record that cannot be read at all.
pub const RECORD_FIELD: &str = "record";

const DATE_ATTRIBUTES: [&str; 2] = ["start_date", "end_date"];
const STATUSES: [&str; 3] = ["active", "leave", "terminated"];

/// What the vendor's manager field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerReference {
    /// The manager's employee id, as the `employee_id` field gives it (BambooHR's
    /// `supervisorId` is the supervisor's employee number).
    EmployeeId,
    /// The manager's id in the vendor (Personio's `supervisor`, HiBob's `work.manager`):
    /// Roster looks the manager up in the listing and takes their employee id.
    VendorId,
}

/// `[sources.NAME.mapping]`: how a vendor's fields become person attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The company's time zone (IANA name): a vendor timestamp becomes a day in it. Required,
    /// because the day an instant falls on depends on it.
    pub time_zone: String,
    /// Person attribute → vendor field, replacing the vendor's default for that attribute;
    /// `""` reads the attribute from nowhere.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Custom attribute → vendor field (the policy must declare the attribute to use it).
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// Attribute → {vendor value → Roster value}, replacing the vendor's default map for that
    /// attribute. A value the map lacks quarantines the record; mapping to `""` leaves the
    /// attribute unset.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// How the vendor writes dates (strftime); the vendor's documented format by default.
    pub date_format: Option<String>,
    /// Values that mean "no date" (BambooHR: `0000-00-00`); the vendor's by default.
    pub empty_dates: Option<Vec<String>>,
    /// What the manager field holds; the vendor's default field decides by default.
    pub manager_reference: Option<ManagerReference>,
}

impl MappingConfig {
    /// A mapping with every default of the vendor, in `time_zone`.
    pub fn new(time_zone: impl Into<String>) -> Self {
        MappingConfig {
            time_zone: time_zone.into(),
            fields: BTreeMap::new(),
            custom: BTreeMap::new(),
            values: BTreeMap::new(),
            date_format: None,
            empty_dates: None,
            manager_reference: None,
        }
    }
}

/// A vendor's standard fields and values, the defaults of its mapping.
pub struct VendorDefaults {
    /// The vendor's name in messages.
    pub vendor: &'static str,
    /// The field holding the vendor's own immutable id (webhooks and changed-since use it).
    pub id_field: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
    pub values: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    pub date_format: &'static str,
    pub empty_dates: &'static [&'static str],
    pub manager_reference: ManagerReference,
}

/// One field of a vendor record, flattened by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    /// Present but empty (JSON null).
    Null,
    /// Present in a shape the vendor does not document (an object where a value belongs, an
    /// unwrapped Personio attribute): the reason.
    Invalid(String),
}

/// A vendor's employee record, flattened to field name → value by the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VendorRecord {
    /// Position in the listing, from 1.
    pub row: usize,
    pub fields: BTreeMap<String, Field>,
    /// Why the record as a whole cannot be read (not a JSON object, ...).
    pub malformed: Option<String>,
}

impl VendorRecord {
    fn text(&self, field: &str) -> Option<&str> {
        match self.fields.get(field) {
            Some(Field::Text(s)) if !s.trim().is_empty() => Some(s.trim()),
            _ => None,
        }
    }
}

/// A checked mapping, ready to translate records.
#[derive(Debug, Clone)]
pub struct Mapping {
    source: String,
    vendor: &'static str,
    id_field: String,
    /// (attribute, vendor field), standard attributes first; custom ones flagged.
    fields: Vec<(String, String)>,
    values: BTreeMap<String, BTreeMap<String, String>>,
    date_format: String,
    empty_dates: Vec<String>,
    time_zone: TimeZone,
    manager_reference: ManagerReference,
}

impl Mapping {
    /// Checks `config` against the vendor's `defaults` for the source `source`.
    pub fn new(
        source: &str,
        defaults: &VendorDefaults,
        config: &MappingConfig,
    ) -> Result<Mapping, SourceError> {
        let error = |message: String| SourceError::Config {
            name: source.to_string(),
            message: format!("mapping: {message}"),
        };
        let time_zone = TimeZone::get(&config.time_zone).map_err(|e| {
            error(format!(
                "time_zone \"{}\" is not a time zone ({e}); use an IANA name such as \"Europe/Paris\"",
                config.time_zone
            ))
        })?;
        for attribute in config.fields.keys() {
            if !STANDARD_ATTRIBUTES.contains(&attribute.as_str()) {
                return Err(error(format!(
                    "fields maps \"{attribute}\", which is not a standard person attribute ({}); custom attributes go in mapping.custom",
                    STANDARD_ATTRIBUTES.join(", ")
                )));
            }
        }
        for attribute in config.custom.keys() {
            if STANDARD_ATTRIBUTES.contains(&attribute.as_str()) {
                return Err(error(format!(
                    "custom maps \"{attribute}\", a standard attribute: map it in mapping.fields"
                )));
            }
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        for attribute in STANDARD_ATTRIBUTES {
            let field = config.fields.get(*attribute).cloned().or_else(|| {
                defaults
                    .fields
                    .iter()
                    .find(|(a, _)| a == attribute)
                    .map(|(_, f)| f.to_string())
            });
            match field {
                Some(f) if !f.trim().is_empty() => {
                    fields.push((attribute.to_string(), f.trim().to_string()))
                }
                _ if matches!(*attribute, "employee_id" | "email" | "status") => {
                    return Err(error(format!(
                        "{attribute} must be read from a field (mapping.fields.{attribute})"
                    )));
                }
                _ => {}
            }
        }
        for (attribute, field) in &config.custom {
            if field.trim().is_empty() {
                return Err(error(format!("custom.{attribute} names no field")));
            }
            fields.push((attribute.clone(), field.trim().to_string()));
        }

        let mut values: BTreeMap<String, BTreeMap<String, String>> = defaults
            .values
            .iter()
            .map(|(attribute, map)| {
                (
                    attribute.to_string(),
                    map.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                )
            })
            .collect();
        for (attribute, map) in &config.values {
            if !fields.iter().any(|(a, _)| a == attribute) {
                return Err(error(format!(
                    "values.{attribute}: the attribute is not read from any field"
                )));
            }
            if DATE_ATTRIBUTES.contains(&attribute.as_str()) {
                return Err(error(format!(
                    "values.{attribute}: dates are read with date_format, not a value map"
                )));
            }
            values.insert(attribute.clone(), map.clone());
        }
        values.retain(|attribute, _| fields.iter().any(|(a, _)| a == attribute));
        match values.get("status") {
            None => {
                return Err(error(
                    "values.status is needed: say which vendor status means active, leave or terminated".into(),
                ));
            }
            Some(map) => {
                if let Some((k, v)) = map.iter().find(|(_, v)| !STATUSES.contains(&v.as_str())) {
                    return Err(error(format!(
                        "values.status maps \"{k}\" to \"{v}\"; a status is active, leave or terminated"
                    )));
                }
            }
        }

        let date_format = config
            .date_format
            .clone()
            .unwrap_or_else(|| defaults.date_format.to_string());
        let sample = Date::constant(2026, 3, 31);
        let written = sample
            .to_zoned_datetime(time_zone.clone())
            .map(|z| z.strftime(&date_format).to_string());
        let round_trips = written
            .as_ref()
            .ok()
            .and_then(|w| parse_day(w, &date_format, &time_zone))
            == Some(sample);
        if !round_trips {
            return Err(error(format!(
                "date_format \"{date_format}\" cannot read the dates it describes (use strftime codes such as \"%Y-%m-%d\" or \"%Y-%m-%dT%H:%M:%S%:z\")"
            )));
        }
        let manager_reference = config
            .manager_reference
            .unwrap_or(defaults.manager_reference);
        Ok(Mapping {
            source: source.to_string(),
            vendor: defaults.vendor,
            id_field: defaults.id_field.to_string(),
            fields,
            values,
            date_format,
            empty_dates: config
                .empty_dates
                .clone()
                .unwrap_or_else(|| defaults.empty_dates.iter().map(|s| s.to_string()).collect()),
            time_zone,
            manager_reference,
        })
    }

    /// Every vendor field the mapping reads, the vendor id first (what to ask the API for).
    pub fn vendor_fields(&self) -> Vec<String> {
        let mut out = vec![self.id_field.clone()];
        for (_, field) in &self.fields {
            if !out.contains(field) {
                out.push(field.clone());
            }
        }
        out
    }

    /// The vendor field an attribute is read from.
    pub fn field_of(&self, attribute: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(a, _)| a == attribute)
            .map(|(_, f)| f.as_str())
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Mapped fields that no record has at all: the vendor withheld them.
    pub fn withheld(&self, records: &[VendorRecord]) -> Vec<String> {
        let readable: Vec<&VendorRecord> =
            records.iter().filter(|r| r.malformed.is_none()).collect();
        if readable.is_empty() {
            return Vec::new();
        }
        self.vendor_fields()
            .into_iter()
            .filter(|f| !readable.iter().any(|r| r.fields.contains_key(f)))
            .collect()
    }

    /// Translates records: each becomes a [`RawRecord`] or a [`Quarantined`] entry.
    pub fn apply(&self, records: &[VendorRecord]) -> HrListing {
        let employee_field = self.field_of("employee_id").unwrap_or_default();
        // Managers are looked up among every record, quarantined ones included: a report of
        // a manager with a bad date still has a known manager.
        let employee_ids: BTreeMap<&str, &str> = records
            .iter()
            .filter_map(|r| Some((r.text(&self.id_field)?, r.text(employee_field)?)))
            .collect();
        let mut listing = HrListing::default();
        for record in records {
            match self.translate(record, &employee_ids) {
                Ok(raw) => listing.records.push(raw),
                Err(q) => listing.quarantined.push(*q),
            }
        }
        listing
    }

    fn translate(
        &self,
        record: &VendorRecord,
        employee_ids: &BTreeMap<&str, &str>,
    ) -> Result<RawRecord, Box<Quarantined>> {
        let vendor_id = record.text(&self.id_field);
        let name = match vendor_id {
            Some(id) => format!("{} record {} {id}", self.vendor, self.id_field),
            None => format!("{} record at position {}", self.vendor, record.row),
        };
        let quarantine = |attribute: &str, reason: String| {
            Box::new(Quarantined {
                source: self.source.clone(),
                row: record.row,
                employee_id: self
                    .field_of("employee_id")
                    .and_then(|f| record.text(f))
                    .map(str::to_string),
                email: self
                    .field_of("email")
                    .and_then(|f| record.text(f))
                    .map(str::to_string),
                field: attribute.to_string(),
                reason: format!("{name}: {reason}"),
            })
        };
        if let Some(why) = &record.malformed {
            return Err(quarantine(
                RECORD_FIELD,
                format!("{why}; nothing in it is used"),
            ));
        }
        let mut fields = BTreeMap::new();
        for (attribute, field) in &self.fields {
            let text = match record.fields.get(field) {
                Some(Field::Text(s)) => s.trim().to_string(),
                None | Some(Field::Null) => String::new(),
                Some(Field::Invalid(why)) => {
                    return Err(quarantine(attribute, format!("field \"{field}\": {why}")));
                }
            };
            let value = if text.is_empty() {
                String::new()
            } else if let Some(map) = self.values.get(attribute) {
                match map.get(&text) {
                    Some(v) => v.clone(),
                    None => {
                        let known: Vec<&str> = map.keys().map(String::as_str).collect();
                        return Err(quarantine(
                            attribute,
                            format!(
                                "field \"{field}\": the value \"{text}\" is not in the value map of {attribute} (known: {}); add it to [sources.{}.mapping.values.{attribute}]",
                                known.join(", "),
                                self.source
                            ),
                        ));
                    }
                }
            } else if DATE_ATTRIBUTES.contains(&attribute.as_str()) {
                if self.empty_dates.iter().any(|e| e == &text) {
                    String::new()
                } else {
                    match parse_day(&text, &self.date_format, &self.time_zone) {
                        Some(day) => day.strftime(ISO_DATE).to_string(),
                        None => {
                            return Err(quarantine(
                                attribute,
                                format!(
                                    "field \"{field}\": \"{text}\" is not a date in the format {} (mapping.date_format)",
                                    self.date_format
                                ),
                            ));
                        }
                    }
                }
            } else if attribute == "manager_id"
                && self.manager_reference == ManagerReference::VendorId
            {
                match employee_ids.get(text.as_str()) {
                    Some(id) => id.to_string(),
                    None => {
                        return Err(quarantine(
                            attribute,
                            format!(
                                "field \"{field}\": the manager's {} id \"{text}\" is not among the employees listed",
                                self.vendor
                            ),
                        ));
                    }
                }
            } else {
                text
            };
            if attribute == "status" && value.is_empty() {
                return Err(quarantine(
                    attribute,
                    format!("field \"{field}\" is empty; Roster will not assume a status"),
                ));
            }
            if !value.is_empty() {
                fields.insert(attribute.clone(), value);
            }
        }
        Ok(RawRecord {
            row: record.row,
            fields,
        })
    }
}

/// The day `text` (written in `format`) falls on in `time_zone`: an instant (a format with an
/// offset) is converted; a civil date or date-time is taken as it is.
pub fn parse_day(text: &str, format: &str, time_zone: &TimeZone) -> Option<Date> {
    let parsed = jiff::fmt::strtime::parse(format, text).ok()?;
    if parsed.offset().is_some() {
        let instant = parsed.to_timestamp().ok()?;
        return Some(instant.to_zoned_datetime(time_zone.clone()).date());
    }
    parsed.to_date().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: VendorDefaults = VendorDefaults {
        vendor: "Vendor",
        id_field: "id",
        fields: &[
            ("employee_id", "number"),
            ("email", "mail"),
            ("status", "state"),
            ("manager_id", "boss"),
            ("start_date", "hired"),
            ("end_date", "left"),
        ],
        values: &[("status", &[("A", "active"), ("I", "terminated")])],
        date_format: "%Y-%m-%dT%H:%M:%S%:z",
        empty_dates: &["0000-00-00"],
        manager_reference: ManagerReference::VendorId,
    };

    fn record(row: usize, pairs: &[(&str, Option<&str>)]) -> VendorRecord {
        VendorRecord {
            row,
            fields: pairs
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.map_or(Field::Null, |s| Field::Text(s.to_string())),
                    )
                })
                .collect(),
            malformed: None,
        }
    }

    #[test]
    fn offsets_become_company_days_and_managers_resolve_through_vendor_ids() {
        let m = Mapping::new("hr", &DEFAULTS, &MappingConfig::new("America/New_York")).unwrap();
        let listing = m.apply(&[
            record(
                1,
                &[
                    ("id", Some("7")),
                    ("number", Some("E7")),
                    ("mail", Some("a@x.example")),
                    ("state", Some("A")),
                    ("boss", None),
                    ("hired", Some("2026-03-02T00:00:00+01:00")),
                    ("left", Some("0000-00-00")),
                ],
            ),
            record(
                2,
                &[
                    ("id", Some("8")),
                    ("number", Some("E8")),
                    ("mail", Some("b@x.example")),
                    ("state", Some("I")),
                    ("boss", Some("7")),
                    ("hired", Some("2026-03-02T12:00:00+00:00")),
                    ("left", Some("2026-04-01T00:00:00+02:00")),
                ],
            ),
        ]);
        assert!(listing.quarantined.is_empty(), "{:?}", listing.quarantined);
        let [a, b] = &listing.records[..] else {
            panic!("{listing:?}")
        };
        // Midnight in Paris is still the evening before in New York.
        assert_eq!(a.fields["start_date"], "2026-03-01");
        assert!(!a.fields.contains_key("end_date"), "0000-00-00 is no date");
        assert_eq!(b.fields["manager_id"], "E7");
        assert_eq!(b.fields["status"], "terminated");
        assert_eq!(b.fields["end_date"], "2026-03-31");
    }

    #[test]
    fn unknown_values_bad_dates_and_unknown_managers_quarantine_with_field() {
        let m = Mapping::new("hr", &DEFAULTS, &MappingConfig::new("UTC")).unwrap();
        let base = [
            ("id", Some("1")),
            ("number", Some("E1")),
            ("mail", Some("a@x.example")),
            ("state", Some("A")),
        ];
        let with = |row, extra: (&'static str, Option<&'static str>)| {
            let mut pairs = base.to_vec();
            pairs.retain(|(k, _)| *k != extra.0);
            pairs.push(extra);
            let mut r = record(row, &pairs);
            r.fields.insert("id".into(), Field::Text(row.to_string()));
            r
        };
        let listing = m.apply(&[
            with(1, ("state", Some("Suspended"))),
            with(2, ("hired", Some("31/12/2026"))),
            with(3, ("boss", Some("99"))),
            with(4, ("state", None)),
        ]);
        assert!(listing.records.is_empty());
        let q: Vec<(&str, &str)> = listing
            .quarantined
            .iter()
            .map(|q| (q.field.as_str(), q.reason.as_str()))
            .collect();
        assert_eq!(q[0].0, "status");
        assert!(q[0].1.contains("\"Suspended\"") && q[0].1.contains("record id 1"));
        assert_eq!(q[1].0, "start_date");
        assert!(q[1].1.contains("31/12/2026") && q[1].1.contains("\"hired\""));
        assert_eq!(q[2].0, "manager_id");
        assert_eq!(q[3].0, "status", "an empty status is not assumed active");
        assert!(
            listing
                .quarantined
                .iter()
                .all(|q| q.employee_id.as_deref() == Some("E1"))
        );
    }

    #[test]
    fn configuration_mistakes_are_named() {
        let bad = |f: &dyn Fn(&mut MappingConfig)| {
            let mut c = MappingConfig::new("Europe/Paris");
            f(&mut c);
            Mapping::new("hr", &DEFAULTS, &c).unwrap_err().to_string()
        };
        assert!(bad(&|c| c.time_zone = "Mars/Olympus".into()).contains("Mars/Olympus"));
        assert!(
            bad(&|c| {
                c.fields.insert("colour".into(), "x".into());
            })
            .contains("colour")
        );
        assert!(
            bad(&|c| {
                c.values.insert(
                    "status".into(),
                    BTreeMap::from([("A".into(), "gone".into())]),
                );
            })
            .contains("gone")
        );
        assert!(bad(&|c| c.date_format = Some("%Y".into())).contains("date_format"));
        assert!(
            bad(&|c| {
                c.fields.insert("email".into(), String::new());
            })
            .contains("email must be read")
        );
    }
}

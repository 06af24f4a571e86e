//! Normalising and validating HR records. A bad record is quarantined with its row and the
//! field at fault; it is never guessed at and never dropped silently.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::person::{Person, PersonStatus, STANDARD_ATTRIBUTES, normalise_email};

/// One record as a source delivered it, already mapped to person attribute names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRecord {
    /// The line (CSV) or position of the record in its source, for error messages.
    pub row: usize,
    pub fields: BTreeMap<String, String>,
}

/// A record that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub source: String,
    pub row: usize,
    pub employee_id: Option<String>,
    pub email: Option<String>,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {}", self.source, self.row)?;
        if let Some(id) = &self.employee_id {
            write!(f, " (employee {id})")?;
        }
        write!(f, ": {}: {}", self.field, self.reason)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub people: Vec<Person>,
    pub quarantined: Vec<Quarantined>,
    /// Employee ids that appeared only in quarantined rows: known to the source, so not "missing".
    pub quarantined_ids: BTreeSet<String>,
    /// The row (position in the source) of each accepted person, by employee id, so later
    /// checks can quarantine with the same reference.
    #[serde(default)]
    pub rows: BTreeMap<String, usize>,
}

/// How dates are written in the source. Explicit, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeOptions {
    /// A strftime format, `%Y-%m-%d` by default.
    pub date_format: String,
    /// Custom attribute names to keep from the record (others are ignored).
    pub custom_attributes: BTreeSet<String>,
}

impl Default for IntakeOptions {
    fn default() -> Self {
        IntakeOptions {
            date_format: "%Y-%m-%d".into(),
            custom_attributes: BTreeSet::new(),
        }
    }
}

struct Problem {
    field: &'static str,
    reason: String,
}

/// Validates records from one source: each is accepted as a person or quarantined.
pub fn validate(source: &str, records: &[RawRecord], options: &IntakeOptions) -> Intake {
    let get = |r: &RawRecord, f: &str| {
        r.fields
            .get(f)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut id_rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut email_rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in records {
        let id = get(r, "employee_id");
        if !id.is_empty() {
            id_rows.entry(id).or_default().push(r.row);
        }
        let email = normalise_email(&get(r, "email"));
        if !email.is_empty() {
            email_rows.entry(email).or_default().push(r.row);
        }
    }

    let mut intake = Intake::default();
    for r in records {
        let employee_id = get(r, "employee_id");
        let email = get(r, "email");
        let result = parse_person(r, options, &get).and_then(|p| {
            if let Some(rows) = id_rows.get(&p.employee_id).filter(|rows| rows.len() > 1) {
                return Err(Problem {
                    field: "employee_id",
                    reason: format!(
                        "duplicate employee id \"{}\" on rows {}; fix the source, Roster will not pick one",
                        p.employee_id,
                        join(rows)
                    ),
                });
            }
            if let Some(rows) = email_rows
                .get(&normalise_email(&p.email))
                .filter(|rows| rows.len() > 1)
            {
                return Err(Problem {
                    field: "email",
                    reason: format!(
                        "duplicate e-mail \"{}\" on rows {}; fix the source, Roster will not pick one",
                        p.email,
                        join(rows)
                    ),
                });
            }
            if let Some(m) = &p.manager_id {
                if m == &p.employee_id {
                    return Err(Problem {
                        field: "manager_id",
                        reason: "a person cannot be their own manager".into(),
                    });
                }
                if !id_rows.contains_key(m) {
                    return Err(Problem {
                        field: "manager_id",
                        reason: format!("unknown manager \"{m}\": no row has this employee id"),
                    });
                }
            }
            Ok(p)
        });
        match result {
            Ok(p) => {
                intake.rows.insert(p.employee_id.clone(), r.row);
                intake.people.push(p);
            }
            Err(problem) => {
                if !employee_id.is_empty() {
                    intake.quarantined_ids.insert(employee_id.clone());
                }
                intake.quarantined.push(Quarantined {
                    source: source.to_string(),
                    row: r.row,
                    employee_id: (!employee_id.is_empty()).then_some(employee_id),
                    email: (!email.is_empty()).then_some(email),
                    field: problem.field.to_string(),
                    reason: problem.reason,
                });
            }
        }
    }
    let accepted: BTreeSet<&str> = intake
        .people
        .iter()
        .map(|p| p.employee_id.as_str())
        .collect();
    intake
        .quarantined_ids
        .retain(|id| !accepted.contains(id.as_str()));
    intake
}

fn join(rows: &[usize]) -> String {
    rows.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_person(
    r: &RawRecord,
    options: &IntakeOptions,
    get: &dyn Fn(&RawRecord, &str) -> String,
) -> Result<Person, Problem> {
    let required = |field: &'static str| {
        let v = get(r, field);
        if v.is_empty() {
            Err(Problem {
                field,
                reason: format!("{field} is missing"),
            })
        } else {
            Ok(v)
        }
    };
    let employee_id = required("employee_id")?;
    let email = required("email")?;
    if !looks_like_email(&email) {
        return Err(Problem {
            field: "email",
            reason: format!("\"{email}\" is not an e-mail address"),
        });
    }
    let date = |field: &'static str| -> Result<Option<Date>, Problem> {
        let v = get(r, field);
        if v.is_empty() {
            return Ok(None);
        }
        Date::strptime(&options.date_format, &v)
            .map(Some)
            .map_err(|_| Problem {
                field,
                reason: format!(
                    "\"{v}\" is not a date in the format {} (for example {})",
                    options.date_format,
                    Date::constant(2026, 3, 31).strftime(&options.date_format)
                ),
            })
    };
    let start_date = date("start_date")?;
    let end_date = date("end_date")?;
    if let (Some(s), Some(e)) = (start_date, end_date)
        && e < s
    {
        return Err(Problem {
            field: "end_date",
            reason: format!("end_date {e} is before start_date {s}"),
        });
    }
    let status_text = get(r, "status");
    let status = if status_text.is_empty() {
        PersonStatus::Active
    } else {
        PersonStatus::parse(&status_text).ok_or_else(|| Problem {
            field: "status",
            reason: format!(
                "unknown status \"{status_text}\" (expected active, leave or terminated)"
            ),
        })?
    };
    let manager = get(r, "manager_id");
    let custom = options
        .custom_attributes
        .iter()
        .filter(|name| !STANDARD_ATTRIBUTES.contains(&name.as_str()))
        .filter_map(|name| {
            let v = get(r, name);
            (!v.is_empty()).then(|| (name.clone(), v))
        })
        .collect();
    Ok(Person {
        employee_id,
        email,
        first_name: get(r, "first_name"),
        last_name: get(r, "last_name"),
        department: get(r, "department"),
        team: get(r, "team"),
        title: get(r, "title"),
        manager_id: (!manager.is_empty()).then_some(manager),
        location: get(r, "location"),
        employment_type: get(r, "employment_type"),
        status,
        start_date,
        end_date,
        custom,
    })
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(row: usize, pairs: &[(&str, &str)]) -> RawRecord {
        RawRecord {
            row,
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn quarantines_each_bad_row_with_its_field() {
        let records = vec![
            rec(2, &[("employee_id", "E1"), ("email", "a@acme.example")]),
            rec(3, &[("employee_id", "E2"), ("email", "")]),
            rec(
                4,
                &[
                    ("employee_id", "E3"),
                    ("email", "c@acme.example"),
                    ("start_date", "31/02/2026"),
                ],
            ),
            rec(
                5,
                &[
                    ("employee_id", "E4"),
                    ("email", "d@acme.example"),
                    ("manager_id", "E99"),
                ],
            ),
            rec(6, &[("employee_id", "E5"), ("email", "e@acme.example")]),
            rec(7, &[("employee_id", "E5"), ("email", "f@acme.example")]),
            rec(8, &[("employee_id", "E6"), ("email", "A@acme.example")]),
            rec(
                9,
                &[
                    ("employee_id", "E7"),
                    ("email", "g@acme.example"),
                    ("start_date", "2026-05-01"),
                    ("end_date", "2026-04-01"),
                ],
            ),
        ];
        let intake = validate("hr.csv", &records, &IntakeOptions::default());
        let ids: Vec<&str> = intake
            .people
            .iter()
            .map(|p| p.employee_id.as_str())
            .collect();
        assert_eq!(
            ids,
            Vec::<&str>::new(),
            "E1 and E6 share an e-mail, so neither is accepted"
        );
        let by_row: BTreeMap<usize, &Quarantined> =
            intake.quarantined.iter().map(|q| (q.row, q)).collect();
        assert_eq!(by_row[&3].field, "email");
        assert_eq!(by_row[&4].field, "start_date");
        assert!(by_row[&4].reason.contains("31/02/2026"));
        assert_eq!(by_row[&5].field, "manager_id");
        assert!(by_row[&6].reason.contains("rows 6, 7"));
        assert_eq!(by_row[&7].field, "employee_id");
        assert!(by_row[&8].reason.contains("rows 2, 8"));
        assert_eq!(by_row[&9].field, "end_date");
        assert_eq!(intake.quarantined.len(), 8);
    }
}

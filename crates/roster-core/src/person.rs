//! People as HR knows them, and the attribute names policies may use.

use std::borrow::Cow;
use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Employment status as recorded by HR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Active,
    Leave,
    Terminated,
}

impl PersonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::Leave => "leave",
            PersonStatus::Terminated => "terminated",
        }
    }

    /// Parses the values HR exports commonly use; anything else is an error for the caller to quarantine.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "active" | "employed" => Some(PersonStatus::Active),
            "leave" | "on_leave" | "on leave" | "leave_of_absence" => Some(PersonStatus::Leave),
            "terminated" | "inactive" | "left" => Some(PersonStatus::Terminated),
            _ => None,
        }
    }
}

/// An employee or contractor as HR knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub employee_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub department: String,
    pub team: String,
    pub title: String,
    pub manager_id: Option<String>,
    pub location: String,
    pub employment_type: String,
    pub status: PersonStatus,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

/// The attribute names every person has; policies may also declare custom ones.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "employee_id",
    "email",
    "first_name",
    "last_name",
    "department",
    "team",
    "title",
    "manager_id",
    "location",
    "employment_type",
    "status",
    "start_date",
    "end_date",
];

impl Person {
    pub fn display_name(&self) -> String {
        match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (false, false) => format!("{} {}", self.first_name, self.last_name),
            (false, true) => self.first_name.clone(),
            (true, false) => self.last_name.clone(),
            (true, true) => self.email.clone(),
        }
    }

    /// The value of an attribute as a string; `None` when it is unset or unknown.
    /// Dates are ISO 8601 (`YYYY-MM-DD`), so string comparison orders them.
    pub fn attribute(&self, name: &str) -> Option<Cow<'_, str>> {
        fn non_empty(s: &str) -> Option<Cow<'_, str>> {
            (!s.is_empty()).then_some(Cow::Borrowed(s))
        }
        match name {
            "employee_id" => non_empty(&self.employee_id),
            "email" => non_empty(&self.email),
            "first_name" => non_empty(&self.first_name),
            "last_name" => non_empty(&self.last_name),
            "department" => non_empty(&self.department),
            "team" => non_empty(&self.team),
            "title" => non_empty(&self.title),
            "manager_id" => self.manager_id.as_deref().and_then(non_empty),
            "location" => non_empty(&self.location),
            "employment_type" => non_empty(&self.employment_type),
            "status" => Some(Cow::Borrowed(self.status.as_str())),
            "start_date" => self.start_date.map(|d| Cow::Owned(d.to_string())),
            "end_date" => self.end_date.map(|d| Cow::Owned(d.to_string())),
            other => self.custom.get(other).and_then(|v| non_empty(v)),
        }
    }
}

/// Normalises an e-mail address for matching: trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A person together with what the store knows of their recent past, which the
/// mover grace period and the missing-from-source rule need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub person: Person,
    /// Earlier versions of this person, newest first, each with the instant it stopped being current.
    #[serde(default)]
    pub previous: Vec<PreviousVersion>,
    /// Set when the person's source stopped listing them; the instant it first noticed.
    #[serde(default)]
    pub absent_since: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousVersion {
    pub person: Person,
    pub superseded_at: jiff::Timestamp,
}

impl PersonRecord {
    pub fn new(person: Person) -> Self {
        PersonRecord {
            person,
            previous: Vec::new(),
            absent_since: None,
        }
    }
}

//! A deterministic example company for Roster: Acme, an identity-governance customer with
//! HR exports a week apart, a policy, and lifecycle events planted between the two exports.
//!
//! Used for `examples/acme/` (the demo), for tests, and for benchmarks (100,000 people,
//! [`large_policy_toml`]). The same seed and size always give byte-identical files: the
//! generator uses its own PRNG (SplitMix64), never the clock or the OS.
//!
//! ```
//! let acme = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
//! assert_eq!(acme.people.len(), 300);
//! assert_eq!(acme.expected.movers.len(), 1);
//! ```
//!
//! # The company
//!
//! Time zone Europe/Paris. Departments Engineering (teams Platform, Mobile, Data, Security),
//! Sales (EMEA, Americas), Marketing, Finance, People, Support, Legal (each with two teams)
//! and Executive (the CEO and the office of the CEO). The CEO heads everyone; department
//! heads report to the CEO, team managers to their head, and inside a team leads have at most
//! eight reports. Every `manager_id` names an employee in the same export. Locations Paris,
//! Berlin, London, Remote; employment types `full_time`, `part_time`, `contractor`,
//! `intern`; custom attribute `cost_center` (`CC-3100` …).
//!
//! # The two exports and the planted events
//!
//! `previous_people` is HR's export at the previous sync ([`Company::previous_as_of`],
//! 2026-11-16T08:00:00Z); `people` is today's ([`Company::as_of`], 2026-11-23T08:00:00Z).
//! With Acme's policy (pre-provision 3 days, activate on the start date, leaver at the end of
//! `end_date` in Paris, leave → suspend), importing the previous export, planning and applying
//! into an empty target, then importing today's export and planning gives exactly the
//! people of [`Expected`]:
//!
//! - **joiners** (7): five records new today whose start date is at most 3 days ahead
//!   (2026-11-18, two on 2026-11-23, 2026-11-24 and 2026-11-26: accounts created, active or
//!   pre-provisioned), and two people already in the previous export starting 2026-11-17 and
//!   2026-11-19 (pre-provisioned inactive then, activated now);
//! - **mover** (1): an engineer who moved to Sales EMEA as a solutions engineer;
//! - **leavers** (4): three employees now `terminated` with end dates 2026-11-16, -18 and -20
//!   (one had given notice, so the previous export already showed the date), and a contractor
//!   whose end date 2026-11-20 passed while HR still says `active`;
//! - **on leave** (1): `active` last week, `leave` now (suspended: deactivated, access kept);
//! - not events: two **future joiners** (2026-12-07, 2027-01-04), people **leaving later**
//!   (terminated with end date 2026-11-30; a contractor ending 2026-11-24), and **long-gone**
//!   leavers (terminated months ago in both exports, never provisioned; 1 % of the company,
//!   at least 3);
//! - **bad rows** (today's export only, all new people): a missing e-mail, the date
//!   `2026-13-01`, an unknown manager id, and one employee id on two rows (both quarantined):
//!   five quarantined rows, listed with their line numbers and fields.

mod company;
mod names;
pub mod org;
mod output;
mod policy;
mod rng;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use roster_core::Person;
use serde::{Deserialize, Serialize};

pub use company::{EMAIL_DOMAIN, MIN_SIZE, as_of, previous_as_of};
pub use output::{
    CSV_COLUMNS, expected_toml, readme, write_csv, write_current_csv, write_example_dir,
};
pub use policy::{LargePolicy, large_policy_toml, large_policy_toml_with, policy_toml};

/// The seed of `examples/acme/` (`roster example generate --seed 20261123`).
pub const ACME_SEED: u64 = 20_261_123;
/// The number of people of `examples/acme/` (`roster example generate --people 300`).
pub const ACME_SIZE: usize = 300;

/// A generated company: two HR exports a week apart and what a sync must make of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub seed: u64,
    /// Today's HR export (valid rows), by employee id. `size` people.
    pub people: Vec<Person>,
    /// The export at the previous sync, one week earlier, by employee id.
    pub previous_people: Vec<Person>,
    /// Today's sync: 2026-11-23T08:00:00Z (09:00 in Paris).
    pub as_of: Timestamp,
    /// The previous sync: 2026-11-16T08:00:00Z.
    pub previous_as_of: Timestamp,
    pub expected: Expected,
    /// Broken rows in today's export, after the people (see [`write_current_csv`]).
    pub bad_rows: Vec<BadRow>,
}

impl Company {
    /// The person of today's export with this employee id.
    pub fn person(&self, employee_id: &str) -> Option<&Person> {
        self.people
            .binary_search_by(|p| p.employee_id.as_str().cmp(employee_id))
            .ok()
            .map(|i| &self.people[i])
    }

    /// The person of the previous export with this employee id.
    pub fn previous_person(&self, employee_id: &str) -> Option<&Person> {
        self.previous_people
            .binary_search_by(|p| p.employee_id.as_str().cmp(employee_id))
            .ok()
            .map(|i| &self.previous_people[i])
    }
}

/// A row of today's export that HR got wrong and Roster must quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// Line number in `hr.csv` (the header is line 1).
    pub row: usize,
    /// The row's cells by CSV header (the same headers as the people's).
    pub fields: BTreeMap<String, String>,
    /// The field Roster must name when quarantining the row.
    pub field: String,
    /// What is wrong, for people reading `expected.toml`.
    pub problem: String,
}

/// What the second sync of the demo must show, by employee id (sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub seed: u64,
    pub size: usize,
    pub previous_as_of: Timestamp,
    pub as_of: Timestamp,
    /// Accounts created in today's plan, or pre-provisioned last week and activated now.
    pub joiners: Vec<String>,
    pub movers: Vec<String>,
    /// Deactivated and stripped in today's plan.
    pub leavers: Vec<String>,
    /// Suspended in today's plan (deactivated, access kept).
    pub on_leave: Vec<String>,
    /// Start more than 3 days after `as_of`: nothing happens yet.
    pub future_joiners: Vec<String>,
    /// Terminated months ago in both exports: never provisioned, not in any plan.
    pub long_gone: Vec<String>,
    /// End date after `as_of`: keep their access for now.
    pub leaving_later: Vec<String>,
    /// Rows of today's `hr.csv` that must be quarantined, by line number.
    pub quarantined: Vec<ExpectedQuarantine>,
}

/// One row of today's export that must be quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedQuarantine {
    /// Line number in `hr.csv` (the header is line 1).
    pub row: usize,
    pub employee_id: String,
    /// The field the quarantine names.
    pub field: String,
    pub problem: String,
}

impl Expected {
    /// Reads `expected.toml`.
    pub fn parse(text: &str) -> Result<Expected, toml::de::Error> {
        toml::from_str(text)
    }

    /// Every employee id with a planted event (or planted non-event).
    pub fn all_ids(&self) -> BTreeSet<&str> {
        [
            &self.joiners,
            &self.movers,
            &self.leavers,
            &self.on_leave,
            &self.future_joiners,
            &self.long_gone,
            &self.leaving_later,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(self.quarantined.iter().map(|q| q.employee_id.as_str()))
        .collect()
    }
}

/// Generates the example company: `size` people in today's export (at least [`MIN_SIZE`]),
/// plus the five bad rows. Deterministic: the same `seed` and `size` give the same company.
pub fn acme(seed: u64, size: usize) -> Company {
    company::generate(seed, size)
}

//! The generator: an org tree, then the planted lifecycle events, then ids and names.

mod events;
mod tree;

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use roster_core::{Person, PersonStatus};

use crate::names::{FIRST_NAMES, LAST_NAMES, email_local};
use crate::org::{DEPARTMENTS, Department, EXECUTIVE, Team, department, team};
use crate::rng::Rng;
use crate::{BadRow, Company, Expected, ExpectedQuarantine};
use events::{NEW_JOINERS, add_new_joiners, bad_rows, plant_events};
use tree::org_tree;

/// The domain of every generated e-mail address.
pub const EMAIL_DOMAIN: &str = "acme.example";

/// The smallest company the generator makes: every department and team staffed, and enough
/// individual contributors to plant the lifecycle events. Smaller sizes are raised to this.
pub const MIN_SIZE: usize = 120;

/// People in a team report to a lead; no one has more than this many direct reports
/// (department heads and the CEO excepted).
const FANOUT: usize = 8;

/// Instant of today's HR export and sync: Monday 2026-11-23, 09:00 in Paris.
pub fn as_of() -> Timestamp {
    "2026-11-23T08:00:00Z".parse().expect("a valid instant")
}

/// Instant of the previous sync, one week earlier: Monday 2026-11-16, 09:00 in Paris.
pub fn previous_as_of() -> Timestamp {
    "2026-11-16T08:00:00Z".parse().expect("a valid instant")
}

const fn d(y: i16, m: i8, day: i8) -> Date {
    Date::constant(y, m, day)
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days))
        .expect("dates stay in range")
}

fn days_between(a: Date, b: Date) -> i64 {
    a.duration_until(b).as_hours() / 24
}

/// A random Monday in `[from, to]` (moved back to the Monday of its week).
fn monday_between(rng: &mut Rng, from: Date, to: Date) -> Date {
    let span = days_between(from, to).max(0) as usize;
    let day = add_days(from, rng.below(span + 1) as i64);
    add_days(day, -i64::from(day.weekday().to_monday_zero_offset()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Ceo,
    Head,
    Manager,
    Lead,
    Member,
}

/// One person's HR record in one export, before ids and names exist.
#[derive(Debug, Clone, Copy)]
struct State {
    dept: &'static Department,
    team: Option<&'static Team>,
    title: &'static str,
    manager: Option<usize>,
    location: &'static str,
    employment_type: &'static str,
    status: PersonStatus,
    start: Date,
    end: Option<Date>,
}

#[derive(Debug, Clone)]
struct Draft {
    now: State,
    /// The record in the previous export; `None` for people new since then.
    before: Option<State>,
    rank: Rank,
    reports: usize,
}

/// What a planted person is, for `Expected` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Plant {
    Joiner,
    Mover,
    Leaver,
    OnLeave,
    FutureJoiner,
    LongGone,
    LeavingLater,
}

pub(crate) fn generate(seed: u64, size: usize) -> Company {
    let size = size.max(MIN_SIZE);
    let new_people = NEW_JOINERS.len();
    let n_tree = size - new_people;
    let mut rng = Rng::stream(seed, "org");
    let mut drafts = org_tree(&mut rng, n_tree);
    let mut plants: Vec<(usize, Plant)> = Vec::new();
    plant_events(&mut Rng::stream(seed, "events"), &mut drafts, &mut plants);
    add_new_joiners(&mut Rng::stream(seed, "joiners"), &mut drafts, &mut plants);

    // Employee ids in hiring order: the previous export's people by start date, then the
    // records HR created since.
    let mut keys: Vec<(bool, Date, usize)> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| (d.before.is_none(), d.now.start, i))
        .collect();
    keys.sort_unstable();
    let order: Vec<usize> = keys.into_iter().map(|(_, _, i)| i).collect();
    // Wide enough for every id, the bad rows' included, so that ids sort as numbers do.
    let width = (drafts.len() + UNKNOWN_MANAGER_OFFSET)
        .to_string()
        .len()
        .max(5);
    let mut ids = vec![String::new(); drafts.len()];
    for (rank, &i) in order.iter().enumerate() {
        ids[i] = employee_id(rank + 1, width);
    }

    let mut names = NameBook::new(Rng::stream(seed, "names"));
    let mut person_names = vec![(String::new(), String::new(), String::new()); drafts.len()];
    for &i in &order {
        person_names[i] = names.next();
    }

    let build = |i: usize, s: &State| -> Person {
        let (first, last, email) = &person_names[i];
        let cost_center = s.team.map_or(s.dept.cost_center, |t| t.cost_center);
        Person {
            employee_id: ids[i].clone(),
            email: email.clone(),
            first_name: first.clone(),
            last_name: last.clone(),
            department: s.dept.name.to_string(),
            team: s.team.map_or("", |t| t.name).to_string(),
            title: s.title.to_string(),
            manager_id: s.manager.map(|m| ids[m].clone()),
            location: s.location.to_string(),
            employment_type: s.employment_type.to_string(),
            status: s.status,
            start_date: Some(s.start),
            end_date: s.end,
            custom: BTreeMap::from([("cost_center".to_string(), cost_center.to_string())]),
        }
    };
    let mut people = Vec::with_capacity(drafts.len());
    let mut previous_people = Vec::with_capacity(drafts.len());
    for &i in &order {
        people.push(build(i, &drafts[i].now));
        if let Some(before) = &drafts[i].before {
            previous_people.push(build(i, before));
        }
    }

    let mut expected = Expected {
        seed,
        size,
        previous_as_of: previous_as_of(),
        as_of: as_of(),
        joiners: Vec::new(),
        movers: Vec::new(),
        leavers: Vec::new(),
        on_leave: Vec::new(),
        future_joiners: Vec::new(),
        long_gone: Vec::new(),
        leaving_later: Vec::new(),
        quarantined: Vec::new(),
    };
    for (i, plant) in &plants {
        let list = match plant {
            Plant::Joiner => &mut expected.joiners,
            Plant::Mover => &mut expected.movers,
            Plant::Leaver => &mut expected.leavers,
            Plant::OnLeave => &mut expected.on_leave,
            Plant::FutureJoiner => &mut expected.future_joiners,
            Plant::LongGone => &mut expected.long_gone,
            Plant::LeavingLater => &mut expected.leaving_later,
        };
        list.push(ids[*i].clone());
    }
    for list in [
        &mut expected.joiners,
        &mut expected.movers,
        &mut expected.leavers,
        &mut expected.on_leave,
        &mut expected.future_joiners,
        &mut expected.long_gone,
        &mut expected.leaving_later,
    ] {
        list.sort();
    }

    let bad_rows = bad_rows(
        &mut Rng::stream(seed, "bad rows"),
        &drafts,
        &ids,
        &mut names,
        width,
    );
    expected.quarantined = bad_rows
        .iter()
        .map(|b| ExpectedQuarantine {
            row: b.row,
            employee_id: b.fields.get("employee_id").cloned().unwrap_or_default(),
            field: b.field.clone(),
            problem: b.problem.clone(),
        })
        .collect();

    Company {
        seed,
        people,
        previous_people,
        as_of: as_of(),
        previous_as_of: previous_as_of(),
        expected,
        bad_rows,
    }
}

/// `E00042`: five digits, more when the company is larger.
fn employee_id(n: usize, width: usize) -> String {
    format!("E{n:0width$}")
}

/// The unknown manager id in a bad row is this far past the last employee id.
const UNKNOWN_MANAGER_OFFSET: usize = 42;

/// Hands out unique names and e-mail addresses: `first.last@acme.example`, then
/// `first.last2@…` for the second person with the same local part ("Léa" and "Lea" share
/// one).
struct NameBook {
    rng: Rng,
    /// Per (first, last) pair: the index of its local part in `locals`.
    local_of: Vec<usize>,
    /// Each distinct local part and how many people have it so far.
    locals: Vec<(String, u32)>,
}

impl NameBook {
    fn new(rng: Rng) -> Self {
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut locals = Vec::new();
        let mut local_of = Vec::with_capacity(FIRST_NAMES.len() * LAST_NAMES.len());
        for first in FIRST_NAMES {
            for last in LAST_NAMES {
                let local = email_local(first, last);
                let i = *index.entry(local.clone()).or_insert_with(|| {
                    locals.push((local, 0));
                    locals.len() - 1
                });
                local_of.push(i);
            }
        }
        NameBook {
            rng,
            local_of,
            locals,
        }
    }

    fn next(&mut self) -> (String, String, String) {
        let f = self.rng.below(FIRST_NAMES.len());
        let l = self.rng.below(LAST_NAMES.len());
        let (local, n) = &mut self.locals[self.local_of[f * LAST_NAMES.len() + l]];
        *n += 1;
        // Local parts contain no digits, so `local` + number never meets another local part.
        let email = if *n == 1 {
            format!("{local}@{EMAIL_DOMAIN}")
        } else {
            format!("{local}{n}@{EMAIL_DOMAIN}")
        };
        (FIRST_NAMES[f].to_string(), LAST_NAMES[l].to_string(), email)
    }
}

/// Splits `total` among `weights` proportionally (largest remainder), at least `min` each.
fn apportion(total: usize, weights: &[u64], min: usize) -> Vec<usize> {
    let floor = min * weights.len();
    let extra = total.saturating_sub(floor) as u64;
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let mut out: Vec<usize> = weights
        .iter()
        .map(|w| min + (extra * w / sum) as usize)
        .collect();
    let mut left = total.saturating_sub(out.iter().sum());
    let mut by_remainder: Vec<(u64, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (extra * w % sum, i))
        .collect();
    by_remainder.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in by_remainder.iter().cycle() {
        if left == 0 {
            break;
        }
        out[*i] += 1;
        left -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_the_documented_ones() {
        assert_eq!(as_of().to_string(), "2026-11-23T08:00:00Z");
        assert_eq!(previous_as_of().to_string(), "2026-11-16T08:00:00Z");
    }

    #[test]
    fn apportion_keeps_the_total_and_the_minimum() {
        let a = apportion(100, &[5, 3, 1, 1], 2);
        assert_eq!(a.iter().sum::<usize>(), 100);
        assert!(a.iter().all(|&x| x >= 2));
        assert!(a[0] > a[1] && a[1] > a[2]);
    }
}

//! The data-quality gate a source's listing passes before any plan, after
//! [`crate::intake::validate`] has checked each record on its own (required fields, dates,
//! duplicates, unknown managers): the checks that need the whole listing or the policy.
//! Records that fail are quarantined with the field and the reason; the rest proceed. And the
//! feed-shrink guard: a listing far shorter than the last one halts the sync instead of
//! offboarding everyone it no longer lists.

use std::collections::{BTreeMap, BTreeSet};

use crate::intake::{Intake, Quarantined};
use crate::person::Person;

/// Quarantines the people of `intake` whose department the policy does not list (when it
/// lists any) and everyone in a manager cycle (A reports to B, B to A): Roster cannot tell
/// which link is wrong, so it picks none.
pub fn gate(source: &str, mut intake: Intake, departments: &BTreeSet<String>) -> Intake {
    let mut rejected: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    if !departments.is_empty() {
        let known: BTreeSet<String> = departments.iter().map(|d| d.to_lowercase()).collect();
        for p in &intake.people {
            if !p.department.is_empty() && !known.contains(&p.department.to_lowercase()) {
                rejected.insert(
                    p.employee_id.clone(),
                    (
                        "department",
                        format!(
                            "unknown department \"{}\": the policy lists {} ([people] departments); \
                             fix the source or add it to the policy",
                            p.department,
                            list(departments)
                        ),
                    ),
                );
            }
        }
    }
    for cycle in manager_cycles(&intake.people) {
        let path = cycle
            .iter()
            .chain(cycle.first())
            .cloned()
            .collect::<Vec<_>>()
            .join(" → ");
        for id in &cycle {
            rejected.entry(id.clone()).or_insert((
                "manager_id",
                format!(
                    "manager cycle {path}: nobody in it has a manager outside it; fix the source, \
                     Roster will not pick who reports to whom"
                ),
            ));
        }
    }
    if rejected.is_empty() {
        return intake;
    }
    let people = std::mem::take(&mut intake.people);
    for p in people {
        match rejected.remove(&p.employee_id) {
            None => intake.people.push(p),
            Some((field, reason)) => {
                let row = intake.rows.remove(&p.employee_id).unwrap_or_default();
                intake.quarantined_ids.insert(p.employee_id.clone());
                intake.quarantined.push(Quarantined {
                    source: source.to_string(),
                    row,
                    employee_id: Some(p.employee_id),
                    email: Some(p.email),
                    field: field.to_string(),
                    reason,
                });
            }
        }
    }
    intake.quarantined.sort_by_key(|q| q.row);
    intake
}

fn list(values: &BTreeSet<String>) -> String {
    const SHOWN: usize = 8;
    let mut out: Vec<String> = values
        .iter()
        .take(SHOWN)
        .map(|v| format!("\"{v}\""))
        .collect();
    if values.len() > SHOWN {
        out.push(format!("and {} more", values.len() - SHOWN));
    }
    out.join(", ")
}

/// Every cycle in the reporting lines (of two people or more; reporting to oneself is caught
/// by intake), each listed from its smallest employee id in reporting order.
pub fn manager_cycles(people: &[Person]) -> Vec<Vec<String>> {
    let manager: BTreeMap<&str, &str> = people
        .iter()
        .filter_map(|p| Some((p.employee_id.as_str(), p.manager_id.as_deref()?)))
        .collect();
    // 0 = unvisited, 1 = on the current path, 2 = finished.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut cycles = Vec::new();
    for start in manager.keys() {
        if state.contains_key(start) {
            continue;
        }
        let mut path: Vec<&str> = Vec::new();
        let mut at = *start;
        loop {
            match state.get(at) {
                Some(1) => {
                    let from = path.iter().position(|p| *p == at).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|s| s.to_string()).collect();
                    if cycle.len() > 1 {
                        let smallest = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap_or(0);
                        cycle.rotate_left(smallest);
                        cycles.push(cycle);
                    }
                    break;
                }
                Some(_) => break,
                None => {
                    state.insert(at, 1);
                    path.push(at);
                    match manager.get(at) {
                        Some(next) => at = next,
                        None => break,
                    }
                }
            }
        }
        for p in path {
            state.insert(p, 2);
        }
    }
    cycles
}

/// Why a sync stopped before importing a source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeedHalt {
    pub source: String,
    pub previously_listed: usize,
    pub listed: usize,
    pub message: String,
}

/// The feed-shrink guard: `Some` when `source` now lists more than `max_shrink` (a share)
/// fewer people than its last import did. Nothing is imported then, so nobody is marked
/// absent and nothing is revoked; the sync halts with this message until the feed recovers
/// or an admin imports it on purpose.
pub fn feed_shrink(
    source: &str,
    previously_listed: Option<usize>,
    listed: usize,
    max_shrink: f64,
) -> Option<FeedHalt> {
    let previous = previously_listed.filter(|n| *n > 0)?;
    let lost = previous.saturating_sub(listed);
    let share = lost as f64 / previous as f64;
    (share > max_shrink).then(|| FeedHalt {
        source: source.to_string(),
        previously_listed: previous,
        listed,
        message: format!(
            "sync halted: {source} lists {listed} people, {lost} fewer than the {previous} of its last import \
             ({:.0} % fewer, above the limit of {:.0} %, [safety] max_feed_shrink). Nothing was imported and \
             nothing revoked. If the source is broken, fix it and sync again; if so many people really left, \
             import it on purpose with `--accept-shrink {source}`",
            share * 100.0,
            max_shrink * 100.0
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{IntakeOptions, RawRecord, validate};

    fn record(row: usize, id: &str, department: &str, manager: &str) -> RawRecord {
        let mut fields = BTreeMap::new();
        fields.insert("employee_id".to_string(), id.to_string());
        fields.insert(
            "email".to_string(),
            format!("{}@acme.example", id.to_lowercase()),
        );
        fields.insert("department".to_string(), department.to_string());
        if !manager.is_empty() {
            fields.insert("manager_id".to_string(), manager.to_string());
        }
        RawRecord { row, fields }
    }

    fn departments(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_departments_and_manager_cycles_are_quarantined_the_rest_proceeds() {
        let records = vec![
            record(2, "E1", "Engineering", ""),
            record(3, "E2", "engineering", "E1"),
            record(4, "E3", "Enginering", "E1"),
            record(5, "E4", "Sales", "E5"),
            record(6, "E5", "Sales", "E6"),
            record(7, "E6", "Sales", "E4"),
            record(8, "E7", "Sales", "E4"),
            record(9, "E8", "", "E1"),
        ];
        let intake = validate("hr", &records, &IntakeOptions::default());
        assert!(intake.quarantined.is_empty());
        let gated = gate("hr", intake, &departments(&["Engineering", "Sales"]));
        let accepted: Vec<&str> = gated
            .people
            .iter()
            .map(|p| p.employee_id.as_str())
            .collect();
        assert_eq!(accepted, ["E1", "E2", "E7", "E8"]);
        let quarantined: Vec<(usize, &str, &str)> = gated
            .quarantined
            .iter()
            .map(|q| (q.row, q.employee_id.as_deref().unwrap(), q.field.as_str()))
            .collect();
        assert_eq!(
            quarantined,
            [
                (4, "E3", "department"),
                (5, "E4", "manager_id"),
                (6, "E5", "manager_id"),
                (7, "E6", "manager_id")
            ]
        );
        assert!(gated.quarantined[0].reason.contains("\"Enginering\""));
        assert!(
            gated.quarantined[1].reason.contains("E4 → E5 → E6 → E4"),
            "{}",
            gated.quarantined[1].reason
        );
        // Quarantined people are still listed by the source: never taken for leavers.
        assert!(
            ["E3", "E4", "E5", "E6"]
                .iter()
                .all(|id| gated.quarantined_ids.contains(*id))
        );
    }

    #[test]
    fn no_department_list_means_any_department() {
        let records = vec![record(2, "E1", "Anything", "")];
        let intake = validate("hr", &records, &IntakeOptions::default());
        let gated = gate("hr", intake, &BTreeSet::new());
        assert_eq!(gated.people.len(), 1);
    }

    #[test]
    fn feed_shrink_halts_past_the_limit_only() {
        assert_eq!(feed_shrink("hr", None, 5, 0.2), None, "first import");
        assert_eq!(feed_shrink("hr", Some(0), 5, 0.2), None);
        assert_eq!(feed_shrink("hr", Some(100), 80, 0.2), None, "exactly 20 %");
        assert_eq!(feed_shrink("hr", Some(100), 120, 0.2), None, "growth");
        let halt = feed_shrink("bamboohr", Some(300), 15, 0.2).unwrap();
        assert_eq!((halt.previously_listed, halt.listed), (300, 15));
        assert!(
            halt.message
                .contains("bamboohr lists 15 people, 285 fewer than the 300")
        );
        assert!(halt.message.contains("95 %"));
        assert!(feed_shrink("hr", Some(100), 79, 0.2).is_some());
    }
}

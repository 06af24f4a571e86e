//! Property tests of the data-quality gate's manager-cycle check: on random reporting lines,
//! every cycle reported is a real one, none is missed, and the gate quarantines exactly the
//! people in cycles.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use roster_core::intake::{IntakeOptions, RawRecord, validate};
use roster_core::quality::{gate, manager_cycles};

fn records(managers: &[Option<usize>]) -> Vec<RawRecord> {
    managers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut fields = BTreeMap::new();
            fields.insert("employee_id".to_string(), format!("E{i}"));
            fields.insert("email".to_string(), format!("p{i}@acme.example"));
            if let Some(m) = m.filter(|m| *m != i) {
                fields.insert("manager_id".to_string(), format!("E{m}"));
            }
            RawRecord { row: i + 2, fields }
        })
        .collect()
}

/// People from whom following managers comes back to themselves (the reference answer).
fn on_a_cycle(managers: &[Option<usize>]) -> BTreeSet<String> {
    let next = |i: usize| managers[i].filter(|m| *m != i);
    (0..managers.len())
        .filter(|&start| {
            let mut at = start;
            for _ in 0..managers.len() {
                match next(at) {
                    Some(n) if n == start => return true,
                    Some(n) => at = n,
                    None => return false,
                }
            }
            false
        })
        .map(|i| format!("E{i}"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cycles_are_found_exactly_and_quarantined(
        managers in (1usize..25).prop_flat_map(|n| prop::collection::vec(prop::option::of(0..n), n))
    ) {
        let intake = validate("hr", &records(&managers), &IntakeOptions::default());
        prop_assert!(intake.quarantined.is_empty());
        let expected = on_a_cycle(&managers);

        let cycles = manager_cycles(&intake.people);
        let mut seen = BTreeSet::new();
        let manager: BTreeMap<&str, &str> = intake
            .people
            .iter()
            .filter_map(|p| Some((p.employee_id.as_str(), p.manager_id.as_deref()?)))
            .collect();
        for cycle in &cycles {
            prop_assert!(cycle.len() > 1);
            for (k, id) in cycle.iter().enumerate() {
                let next = &cycle[(k + 1) % cycle.len()];
                prop_assert_eq!(manager.get(id.as_str()).copied(), Some(next.as_str()));
                prop_assert!(seen.insert(id.clone()), "{} in two cycles", id);
            }
        }
        prop_assert_eq!(&seen, &expected);

        let gated = gate("hr", intake, &BTreeSet::new());
        let quarantined: BTreeSet<String> = gated
            .quarantined
            .iter()
            .filter(|q| q.field == "manager_id")
            .filter_map(|q| q.employee_id.clone())
            .collect();
        prop_assert_eq!(&quarantined, &expected);
        prop_assert!(manager_cycles(&gated.people).is_empty());
        prop_assert_eq!(gated.people.len() + quarantined.len(), managers.len());
    }
}

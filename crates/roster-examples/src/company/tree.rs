//! The org tree: departments, teams and their managers, and each member's contract.

use super::*;

pub(super) fn org_tree(rng: &mut Rng, n: usize) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::with_capacity(n + 16);
    let exec = department(EXECUTIVE).expect("the Executive department exists");
    let ceo_state = State {
        dept: exec,
        team: None,
        title: exec.head_title,
        manager: None,
        location: "Paris",
        employment_type: "full_time",
        status: PersonStatus::Active,
        start: d(2015, 3, 2),
        end: None,
    };
    drafts.push(Draft {
        now: ceo_state,
        before: Some(ceo_state),
        rank: Rank::Ceo,
        reports: 0,
    });
    let others: Vec<&'static Department> =
        DEPARTMENTS.iter().filter(|d| d.name != EXECUTIVE).collect();
    let exec_team_size = (n / 100).clamp(2, 12);
    let rest = n - 1 - exec_team_size - others.len();
    let teams: Vec<(&'static Department, &'static Team)> = others
        .iter()
        .flat_map(|d| d.teams.iter().map(move |t| (*d, t)))
        .collect();
    let weights: Vec<u64> = teams
        .iter()
        .map(|(d, t)| u64::from(d.weight) * u64::from(t.weight))
        .collect();
    let sizes = apportion(rest, &weights, 2);

    let mut team_plan: Vec<(&'static Department, &'static Team, usize, usize)> = vec![(
        exec,
        &exec.teams[0],
        exec_team_size,
        0, // reports to the CEO
    )];
    for dept in &others {
        let head = drafts.len();
        let state = State {
            dept,
            team: None,
            title: dept.head_title,
            manager: Some(0),
            location: "Paris",
            employment_type: "full_time",
            status: PersonStatus::Active,
            start: monday_between(rng, d(2015, 4, 6), d(2018, 12, 31)),
            end: None,
        };
        drafts.push(Draft {
            now: state,
            before: Some(state),
            rank: Rank::Head,
            reports: 0,
        });
        drafts[0].reports += 1;
        for (i, (td, t)) in teams.iter().enumerate() {
            if td.name == dept.name {
                team_plan.push((dept, t, sizes[i], head));
            }
        }
    }

    for (dept, t, m, head) in team_plan {
        let base = drafts.len();
        for j in 0..m {
            let manager = if j == 0 {
                head
            } else {
                base + (j - 1) / FANOUT
            };
            drafts[manager].reports += 1;
            let has_reports = j * FANOUT < m - 1;
            let rank = match (j, has_reports) {
                (0, _) => Rank::Manager,
                (_, true) => Rank::Lead,
                _ => Rank::Member,
            };
            let location = *rng.weighted(t.locations);
            let (title, employment_type, start, end) = match rank {
                Rank::Manager => (
                    t.manager_title,
                    "full_time",
                    monday_between(rng, d(2016, 1, 4), d(2022, 12, 31)),
                    None,
                ),
                Rank::Lead => (
                    t.lead_title,
                    "full_time",
                    monday_between(rng, d(2016, 1, 4), d(2024, 6, 30)),
                    None,
                ),
                _ => member_contract(rng, dept, t),
            };
            let state = State {
                dept,
                team: Some(t),
                title,
                manager: Some(manager),
                location,
                employment_type,
                status: PersonStatus::Active,
                start,
                end,
            };
            drafts.push(Draft {
                now: state,
                before: Some(state),
                rank,
                reports: 0,
            });
        }
    }
    drafts
}

/// Title, employment type, start and end date of an individual contributor.
fn member_contract(
    rng: &mut Rng,
    dept: &'static Department,
    t: &'static Team,
) -> (&'static str, &'static str, Date, Option<Date>) {
    let employment = if dept.name == EXECUTIVE {
        "full_time"
    } else {
        *rng.weighted(&[
            ("full_time", 80),
            ("part_time", 6),
            ("contractor", 10),
            ("intern", 4),
        ])
    };
    match employment {
        "intern" => {
            // Six-month internships that started this summer or autumn.
            let start = monday_between(rng, d(2026, 6, 29), d(2026, 9, 28));
            (
                dept.intern_title,
                employment,
                start,
                Some(add_days(start, 26 * 7 - 3)),
            )
        }
        "contractor" => {
            let start = monday_between(rng, d(2024, 1, 1), d(2026, 9, 28));
            let end = *rng.weighted(&[
                (Some(d(2026, 12, 31)), 3),
                (Some(d(2027, 3, 31)), 3),
                (Some(d(2027, 6, 30)), 2),
                (Some(d(2027, 12, 31)), 1),
                (None, 1),
            ]);
            (*rng.weighted(t.titles), employment, start, end)
        }
        _ => {
            // The company grows: recent hires are more common than early ones.
            let span = days_between(d(2016, 1, 4), d(2026, 9, 28)) as usize;
            let offset = rng.below(span + 1).max(rng.below(span + 1));
            let day = add_days(d(2016, 1, 4), offset as i64);
            let start = add_days(day, -i64::from(day.weekday().to_monday_zero_offset()));
            (*rng.weighted(t.titles), employment, start, None)
        }
    }
}

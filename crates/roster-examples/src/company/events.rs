//! The planted lifecycle events between the two exports, the new joiners and the broken rows.

use super::*;

/// Picks individual contributors for the events between the two exports and rewrites their
/// records accordingly.
pub(super) fn plant_events(rng: &mut Rng, drafts: &mut [Draft], plants: &mut Vec<(usize, Plant)>) {
    let mut pool: Vec<usize> = (0..drafts.len())
        .filter(|&i| {
            drafts[i].rank == Rank::Member
                && drafts[i].reports == 0
                && drafts[i].now.dept.name != EXECUTIVE
        })
        .collect();
    rng.shuffle(&mut pool);
    let mut take = |drafts: &mut [Draft], want: &dyn Fn(&State) -> bool| -> usize {
        let pos = pool
            .iter()
            .position(|&i| want(&drafts[i].now))
            .expect("the company is large enough for every planted event");
        pool.swap_remove(pos)
    };
    let employee = |s: &State| matches!(s.employment_type, "full_time" | "part_time");

    // Two people starting this week, pre-provisioned (inactive) at the previous sync.
    for start in [d(2026, 11, 17), d(2026, 11, 19)] {
        let i = take(drafts, &employee);
        let s = &mut drafts[i].now;
        s.start = start;
        s.end = None;
        drafts[i].before = Some(drafts[i].now);
        plants.push((i, Plant::Joiner));
    }
    // Hired already, starts in December: nothing happens yet.
    let i = take(drafts, &|s| s.employment_type == "full_time");
    drafts[i].now.start = d(2026, 12, 7);
    drafts[i].before = Some(drafts[i].now);
    plants.push((i, Plant::FutureJoiner));

    // The mover: an engineer who moved to Sales EMEA as a solutions engineer.
    let i = take(drafts, &|s| {
        s.dept.name == "Engineering" && s.employment_type == "full_time" && s.location != "Remote"
    });
    let emea = team("Sales", "EMEA").expect("Sales EMEA exists");
    let emea_manager = drafts
        .iter()
        .position(|x| x.rank == Rank::Manager && x.now.team.is_some_and(|t| t.name == emea.name))
        .expect("Sales EMEA has a manager");
    let s = &mut drafts[i].now;
    s.dept = department("Sales").expect("Sales exists");
    s.team = Some(emea);
    s.title = "Solutions Engineer";
    s.manager = Some(emea_manager);
    plants.push((i, Plant::Mover));

    // Leavers: terminated with an end date in the past week (one had given notice, so the
    // previous export already showed the end date).
    for (n, end) in [d(2026, 11, 20), d(2026, 11, 16), d(2026, 11, 18)]
        .into_iter()
        .enumerate()
    {
        let i = take(drafts, &employee);
        let s = &mut drafts[i].now;
        s.status = PersonStatus::Terminated;
        s.end = Some(end);
        if n == 0 {
            drafts[i].before.as_mut().expect("in both exports").end = Some(end);
        }
        plants.push((i, Plant::Leaver));
    }
    // A contractor whose end date passed while HR still says active.
    let i = take(drafts, &|s| s.employment_type != "intern");
    let start = monday_between(rng, d(2025, 3, 3), d(2025, 9, 29));
    let s = &mut drafts[i].now;
    s.employment_type = "contractor";
    s.start = start;
    s.end = Some(d(2026, 11, 20));
    drafts[i].before = Some(drafts[i].now);
    plants.push((i, Plant::Leaver));

    // On leave since this week.
    let i = take(drafts, &employee);
    drafts[i].now.status = PersonStatus::Leave;
    plants.push((i, Plant::OnLeave));

    // Resigned, leaving at the end of the month: keeps access until then.
    let i = take(drafts, &|s| s.employment_type == "full_time");
    drafts[i].now.status = PersonStatus::Terminated;
    drafts[i].now.end = Some(d(2026, 11, 30));
    plants.push((i, Plant::LeavingLater));
    // A contractor whose contract ends tomorrow: not a leaver yet.
    let i = take(drafts, &|s| s.employment_type != "intern");
    let s = &mut drafts[i].now;
    s.employment_type = "contractor";
    s.start = d(2026, 5, 4);
    s.end = Some(d(2026, 11, 24));
    drafts[i].before = Some(drafts[i].now);
    plants.push((i, Plant::LeavingLater));

    // People who left months ago: terminated in both exports, never provisioned.
    let long_gone = (drafts.len() / 100).max(3);
    for _ in 0..long_gone {
        let i = take(drafts, &|s| s.employment_type != "intern");
        let end = add_days(d(2026, 2, 6), 7 * rng.below(29) as i64); // Fridays, Feb–Aug
        let s = &mut drafts[i].now;
        s.status = PersonStatus::Terminated;
        s.end = Some(end);
        s.start = monday_between(rng, d(2019, 1, 7), add_days(end, -120));
        drafts[i].before = Some(drafts[i].now);
        plants.push((i, Plant::LongGone));
    }
}

/// People HR added since the previous export.
pub(super) struct NewPerson {
    dept: &'static str,
    team: &'static str,
    title: &'static str,
    employment_type: &'static str,
    start: Date,
    end: Option<Date>,
    plant: Plant,
}

pub(super) const NEW_JOINERS: &[NewPerson] = &[
    NewPerson {
        dept: "Support",
        team: "Customer Support",
        title: "Support Specialist",
        employment_type: "full_time",
        start: d(2026, 11, 18), // started last Wednesday; HR entered the record late
        end: None,
        plant: Plant::Joiner,
    },
    NewPerson {
        dept: "Engineering",
        team: "Platform",
        title: "Site Reliability Engineer",
        employment_type: "full_time",
        start: d(2026, 11, 23),
        end: None,
        plant: Plant::Joiner,
    },
    NewPerson {
        dept: "Sales",
        team: "Americas",
        title: "Account Executive",
        employment_type: "full_time",
        start: d(2026, 11, 23),
        end: None,
        plant: Plant::Joiner,
    },
    NewPerson {
        dept: "Engineering",
        team: "Data",
        title: "Software Engineering Intern",
        employment_type: "intern",
        start: d(2026, 11, 24),
        end: Some(d(2027, 5, 21)),
        plant: Plant::Joiner,
    },
    NewPerson {
        dept: "Marketing",
        team: "Growth",
        title: "Growth Marketer",
        employment_type: "contractor",
        start: d(2026, 11, 26),
        end: Some(d(2027, 5, 31)),
        plant: Plant::Joiner,
    },
    NewPerson {
        dept: "Finance",
        team: "FP&A",
        title: "Financial Analyst",
        employment_type: "full_time",
        start: d(2027, 1, 4),
        end: None,
        plant: Plant::FutureJoiner,
    },
];

fn team_manager(drafts: &[Draft], dept: &str, team_name: &str) -> usize {
    drafts
        .iter()
        .position(|x| {
            x.rank == Rank::Manager
                && x.now.dept.name == dept
                && x.now.team.is_some_and(|t| t.name == team_name)
        })
        .expect("every team has a manager")
}

pub(super) fn add_new_joiners(
    rng: &mut Rng,
    drafts: &mut Vec<Draft>,
    plants: &mut Vec<(usize, Plant)>,
) {
    for p in NEW_JOINERS {
        let t = team(p.dept, p.team).expect("a known team");
        let manager = team_manager(drafts, p.dept, p.team);
        drafts[manager].reports += 1;
        let location = *rng.weighted(t.locations);
        drafts.push(Draft {
            now: State {
                dept: department(p.dept).expect("a known department"),
                team: Some(t),
                title: p.title,
                manager: Some(manager),
                location,
                employment_type: p.employment_type,
                status: PersonStatus::Active,
                start: p.start,
                end: p.end,
            },
            before: None,
            rank: Rank::Member,
            reports: 0,
        });
        plants.push((drafts.len() - 1, p.plant));
    }
}

/// The four deliberately broken records of new hires in today's export (five rows: the
/// duplicate id is on two rows, and both are quarantined).
pub(super) fn bad_rows(
    rng: &mut Rng,
    drafts: &[Draft],
    ids: &[String],
    names: &mut NameBook,
    width: usize,
) -> Vec<BadRow> {
    let people = drafts.len();
    let next_id = |k: usize| employee_id(people + k, width);
    let unknown_manager = employee_id(people + UNKNOWN_MANAGER_OFFSET, width);
    struct Spec {
        dept: &'static str,
        team: &'static str,
        title: &'static str,
        id: usize,
        field: &'static str,
        problem: &'static str,
    }
    let specs = [
        Spec {
            dept: "People",
            team: "Talent",
            title: "Recruiter",
            id: 1,
            field: "email",
            problem: "email is missing",
        },
        Spec {
            dept: "Support",
            team: "Customer Support",
            title: "Support Engineer",
            id: 2,
            field: "start_date",
            problem: "start_date 2026-13-01 is not a date",
        },
        Spec {
            dept: "Engineering",
            team: "Mobile",
            title: "Android Engineer",
            id: 3,
            field: "manager_id",
            problem: "manager_id names no employee in the export",
        },
        Spec {
            dept: "Sales",
            team: "EMEA",
            title: "Sales Development Representative",
            id: 4,
            field: "employee_id",
            problem: "employee_id is used by two rows",
        },
        Spec {
            dept: "Marketing",
            team: "Brand",
            title: "Copywriter",
            id: 4,
            field: "employee_id",
            problem: "employee_id is used by two rows",
        },
    ];
    specs
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let t = team(s.dept, s.team).expect("a known team");
            let (first, last, email) = names.next();
            let manager = &ids[team_manager(drafts, s.dept, s.team)];
            let mut fields: BTreeMap<String, String> = [
                ("employee_id", next_id(s.id)),
                ("email", email),
                ("first_name", first),
                ("last_name", last),
                ("department", s.dept.to_string()),
                ("team", s.team.to_string()),
                ("title", s.title.to_string()),
                ("manager_id", manager.clone()),
                ("location", rng.weighted(t.locations).to_string()),
                ("employment_type", "full_time".to_string()),
                ("status", "active".to_string()),
                ("start_date", "2026-12-01".to_string()),
                ("end_date", String::new()),
                ("cost_center", t.cost_center.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            match s.field {
                "email" => {
                    fields.insert("email".into(), String::new());
                }
                "start_date" => {
                    fields.insert("start_date".into(), "2026-13-01".into());
                }
                "manager_id" => {
                    fields.insert("manager_id".into(), unknown_manager.clone());
                }
                _ => {}
            }
            BadRow {
                // Header is line 1; the bad rows follow the people, in employee id order.
                row: people + 2 + k,
                fields,
                field: s.field.to_string(),
                problem: s.problem.to_string(),
            }
        })
        .collect()
}

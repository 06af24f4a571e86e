//! The generator: an org tree, then the planted lifecycle events, then ids and names.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{Span, Timestamp};
use roster_core::{Person, PersonStatus};

use crate::names::{FIRST_NAMES, LAST_NAMES, email_local};
use crate::org::{DEPARTMENTS, Department, EXECUTIVE, Team, department, team};
use crate::rng::Rng;
use crate::{BadRow, Company, Expected, ExpectedQuarantine};

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

fn org_tree(rng: &mut Rng, n: usize) -> Vec<Draft> {
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

/// Picks individual contributors for the events between the two exports and rewrites their
/// records accordingly.
fn plant_events(rng: &mut Rng, drafts: &mut [Draft], plants: &mut Vec<(usize, Plant)>) {
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
struct NewPerson {
    dept: &'static str,
    team: &'static str,
    title: &'static str,
    employment_type: &'static str,
    start: Date,
    end: Option<Date>,
    plant: Plant,
}

const NEW_JOINERS: &[NewPerson] = &[
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

fn add_new_joiners(rng: &mut Rng, drafts: &mut Vec<Draft>, plants: &mut Vec<(usize, Plant)>) {
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
fn bad_rows(
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

//! Files: the HR exports as CSV, `expected.toml`, the README, and the whole example directory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use roster_core::Person;
use roster_core::person::STANDARD_ATTRIBUTES;

use crate::{ACME_SEED, ACME_SIZE, Company, acme, policy_toml};

/// The columns of the generated exports, in order: the standard person attributes, then the
/// custom attribute `cost_center`. See `docs/csv-format.md`.
pub const CSV_COLUMNS: &[&str] = &[
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
    "cost_center",
];

/// The headers for these people: the standard attributes, then every custom attribute any
/// of them has, sorted.
fn columns(people: &[Person]) -> Vec<String> {
    let custom: BTreeSet<&str> = people
        .iter()
        .flat_map(|p| p.custom.keys().map(String::as_str))
        .collect();
    STANDARD_ATTRIBUTES
        .iter()
        .copied()
        .chain(custom)
        .map(str::to_string)
        .collect()
}

fn cells(p: &Person, columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .map(|c| p.attribute(c).map(|v| v.into_owned()).unwrap_or_default())
        .collect()
}

/// Writes people as an HR export: a header line, then one row per person, dates as
/// `YYYY-MM-DD`, empty cells for unset values, `\n` line ends, quoting only where needed.
pub fn write_csv<W: Write>(people: &[Person], writer: W) -> io::Result<()> {
    let columns = columns(people);
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(&columns)?;
    for p in people {
        w.write_record(cells(p, &columns))?;
    }
    w.flush()
}

/// Writes today's export: the people, then the bad rows (line numbers as in
/// [`crate::BadRow::row`]).
pub fn write_current_csv<W: Write>(company: &Company, writer: W) -> io::Result<()> {
    let columns = columns(&company.people);
    let mut w = csv::Writer::from_writer(writer);
    w.write_record(&columns)?;
    for p in &company.people {
        w.write_record(cells(p, &columns))?;
    }
    for b in &company.bad_rows {
        w.write_record(
            columns
                .iter()
                .map(|c| b.fields.get(c).map_or("", String::as_str)),
        )?;
    }
    w.flush()
}

fn paris_date(t: jiff::Timestamp) -> Date {
    let tz = TimeZone::get("Europe/Paris").expect("the bundled time zone database has Paris");
    t.to_zoned_datetime(tz).date()
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn date_text(d: Option<Date>) -> String {
    d.map_or_else(|| "none".to_string(), |d| d.to_string())
}

fn unit(p: &Person) -> String {
    if p.team.is_empty() {
        p.department.clone()
    } else {
        format!("{}/{}", p.department, p.team)
    }
}

/// One line about a planted person, for `expected.toml` and the README.
fn describe(company: &Company, kind: &str, id: &str) -> String {
    let today = paris_date(company.as_of);
    let Some(p) = company.person(id) else {
        return String::new();
    };
    let before = company.previous_person(id);
    let name = p.display_name();
    let start = date_text(p.start_date);
    let end = date_text(p.end_date);
    match kind {
        "joiners" => {
            let how = match (before, p.start_date) {
                (Some(_), _) => "pre-provisioned last week, activated now".to_string(),
                (None, Some(s)) if s <= today => "new record, account created active".to_string(),
                (None, _) => "new record, account created inactive".to_string(),
            };
            format!(
                "{name}, {}, {}, {}, starts {start}: {how}",
                unit(p),
                p.title,
                p.employment_type
            )
        }
        "movers" => match before {
            Some(b) => format!(
                "{name}: {}, {} → {}, {}",
                unit(b),
                b.title,
                unit(p),
                p.title
            ),
            None => name,
        },
        "leavers" | "leaving_later" => match before {
            Some(b) if b.status != p.status => format!(
                "{name}, {}: {} → {}, end_date {end}{}",
                p.employment_type,
                b.status.as_str(),
                p.status.as_str(),
                if b.end_date == p.end_date {
                    " (notice given: already in last week's export)"
                } else {
                    ""
                }
            ),
            _ => format!(
                "{name}, {}, HR status still {}, end_date {end}",
                p.employment_type,
                p.status.as_str()
            ),
        },
        "long_gone" => format!(
            "{name}, {}, {}, end_date {end}",
            p.employment_type,
            p.status.as_str()
        ),
        "on_leave" => format!(
            "{name}, {}: {} → {}",
            unit(p),
            before.map_or("?", |b| b.status.as_str()),
            p.status.as_str()
        ),
        "future_joiners" => format!(
            "{name}, {}, {}, starts {start}{}",
            unit(p),
            p.title,
            if before.is_some() {
                ""
            } else {
                " (new record)"
            }
        ),
        _ => name,
    }
}

/// `expected.toml`: what today's sync of the example must show, commented for people.
pub fn expected_toml(company: &Company) -> String {
    let e = &company.expected;
    let mut out = String::new();
    out.push_str(
        "# What today's sync of this example must show. Generated by roster-examples with the\n\
         # company; tests read it. Employee ids; the comments say who and why.\n#\n\
         # The demo imports hr-previous.csv at previous_as_of, plans and applies into an empty\n\
         # target, then imports hr.csv at as_of and plans: that plan's joiners, movers and\n\
         # leavers are the lists below; on_leave are deactivated with their access kept.\n\n",
    );
    out.push_str(&format!(
        "seed = {}\nsize = {}\nprevious_as_of = {}\nas_of = {}\n",
        e.seed,
        e.size,
        quote(&e.previous_as_of.to_string()),
        quote(&e.as_of.to_string())
    ));
    let lists: [(&str, &str, &Vec<String>); 7] = [
        (
            "joiners",
            "Accounts created today, or pre-provisioned last week and activated today.",
            &e.joiners,
        ),
        (
            "movers",
            "Department changed: new access now, old access kept 7 days.",
            &e.movers,
        ),
        (
            "leavers",
            "End date passed (end of day, Paris): deactivated, every entitlement removed.",
            &e.leavers,
        ),
        (
            "on_leave",
            "Status leave: suspended (deactivated, access kept).",
            &e.on_leave,
        ),
        (
            "future_joiners",
            "Start more than 3 days ahead: nothing happens yet.",
            &e.future_joiners,
        ),
        (
            "long_gone",
            "Left months ago, terminated in both exports: never provisioned, in no plan.",
            &e.long_gone,
        ),
        (
            "leaving_later",
            "End date still ahead: keep their access until then.",
            &e.leaving_later,
        ),
    ];
    for (key, doc, ids) in lists {
        out.push_str(&format!("\n# {doc}\n{key} = ["));
        if ids.is_empty() {
            out.push_str("]\n");
            continue;
        }
        out.push('\n');
        for id in ids.iter() {
            out.push_str(&format!(
                "  {},  # {}\n",
                quote(id),
                describe(company, key, id)
            ));
        }
        out.push_str("]\n");
    }
    out.push_str(
        "\n# Rows of hr.csv that must be quarantined (line numbers; the header is line 1), with\n\
         # the field the quarantine names. The rest of the file is imported.\n",
    );
    for q in &e.quarantined {
        out.push_str(&format!(
            "\n[[quarantined]]\nrow = {}\nemployee_id = {}\nfield = {}\nproblem = {}\n",
            q.row,
            quote(&q.employee_id),
            quote(&q.field),
            quote(&q.problem)
        ));
    }
    out
}

/// The example directory's README: the company, the files, the planted events.
pub fn readme(company: &Company) -> String {
    let e = &company.expected;
    let mut out = String::new();
    let defaults = company.seed == ACME_SEED && e.size == ACME_SIZE;
    out.push_str("# Acme, the example company\n\n");
    out.push_str(&format!(
        "Generated by the `roster-examples` crate with seed {} and {} people; do not edit by hand.\n\
         `roster example generate --out DIR --people {} --seed {}` writes these files again, byte for byte{}.\n\n",
        e.seed,
        e.size,
        e.size,
        e.seed,
        if defaults {
            " (these are the defaults)"
        } else {
            ""
        }
    ));
    out.push_str("| file | what |\n| --- | --- |\n");
    out.push_str("| `policy.toml` | Acme's policy: roles, rules on HR attributes, 8 spaces with group bundles, one standing exception |\n");
    out.push_str(&format!(
        "| `hr-previous.csv` | HR's export at the previous sync, {} ({} people) |\n",
        e.previous_as_of,
        company.previous_people.len()
    ));
    out.push_str(&format!(
        "| `hr.csv` | HR's export today, {} ({} people and {} broken rows) |\n",
        e.as_of,
        company.people.len(),
        company.bad_rows.len()
    ));
    out.push_str("| `expected.toml` | what today's sync must show, by employee id, and the rows it must quarantine |\n\n");

    out.push_str("## The company\n\n");
    out.push_str(
        "Acme sells software from Paris, with offices in Berlin and London and people working \
         remotely; its time zone is Europe/Paris. The CEO heads the company; department heads \
         report to the CEO, team managers to their head, and leads inside a team have at most \
         eight reports. The CSV columns are documented in `docs/csv-format.md`; `cost_center` \
         is a custom attribute.\n\n",
    );
    let mut by_dept: BTreeMap<&str, (BTreeSet<&str>, usize)> = BTreeMap::new();
    let mut by_location: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &company.people {
        let entry = by_dept.entry(p.department.as_str()).or_default();
        if !p.team.is_empty() {
            entry.0.insert(p.team.as_str());
        }
        entry.1 += 1;
        *by_location.entry(p.location.as_str()).or_default() += 1;
        *by_type.entry(p.employment_type.as_str()).or_default() += 1;
    }
    out.push_str("| department | teams | people |\n| --- | --- | ---: |\n");
    for (dept, (teams, n)) in &by_dept {
        out.push_str(&format!(
            "| {dept} | {} | {n} |\n",
            teams.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    let counts = |m: &BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!(
        "\nLocations: {}. Employment types: {}.\n\n",
        counts(&by_location),
        counts(&by_type)
    ));

    out.push_str("## What happened between the two exports\n\n");
    out.push_str(
        "The demo imports `hr-previous.csv` at the previous sync, plans and applies into an \
         empty Confluence, then imports `hr.csv` a week later and plans. With the policy's \
         lifecycle (accounts 3 days before the start date, inactive until then; access ends at \
         midnight after `end_date`, Paris time; leave suspends), today's plan has:\n\n",
    );
    let sections: [(&str, &str, &Vec<String>); 7] = [
        ("joiners", "Joiners", &e.joiners),
        ("movers", "Mover", &e.movers),
        ("leavers", "Leavers", &e.leavers),
        (
            "on_leave",
            "On leave (suspended, not a leaver)",
            &e.on_leave,
        ),
        (
            "future_joiners",
            "Future joiners (nothing happens yet)",
            &e.future_joiners,
        ),
        (
            "leaving_later",
            "Leaving later (keep access for now)",
            &e.leaving_later,
        ),
        (
            "long_gone",
            "Long gone (terminated months ago in both exports; never provisioned)",
            &e.long_gone,
        ),
    ];
    for (key, title, ids) in sections {
        out.push_str(&format!("**{title}: {}**\n\n", ids.len()));
        let shown = if key == "long_gone" { 3 } else { ids.len() };
        for id in ids.iter().take(shown) {
            out.push_str(&format!("- `{id}` {}\n", describe(company, key, id)));
        }
        if ids.len() > shown {
            out.push_str(&format!("- … and {} more\n", ids.len() - shown));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "**Broken rows in `hr.csv`: {}** (new hires only, so nobody loses access): each is \
         quarantined with its line and field, and the rest of the file is imported.\n\n",
        company.bad_rows.len()
    ));
    out.push_str("| line | employee id | field | problem |\n| ---: | --- | --- | --- |\n");
    for b in &company.bad_rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            b.row,
            b.fields.get("employee_id").map_or("", String::as_str),
            b.field,
            b.problem
        ));
    }
    let (holder, cfo) = crate::policy::grant_people(company);
    out.push_str(&format!(
        "\nThe policy's standing exception `EXC-2026-014` gives `{}` {} ({}) read access to \
         FIN until 2027-01-31, for SOC 2 evidence collection, owned by the CFO ({}).\n",
        holder.employee_id,
        holder.display_name(),
        holder.title,
        cfo.email
    ));
    out
}

/// Writes the example directory: `policy.toml`, `hr.csv`, `hr-previous.csv`,
/// `expected.toml` and `README.md`, creating `dir` if needed, and returns the company.
///
/// `examples/acme/` is `write_example_dir("examples/acme", ACME_SEED, ACME_SIZE)`:
/// seed [`ACME_SEED`] (20261123) and size [`ACME_SIZE`] (300).
pub fn write_example_dir(dir: impl AsRef<Path>, seed: u64, size: usize) -> io::Result<Company> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir)?;
    let company = acme(seed, size);
    for (name, text) in example_files(&company)? {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(company)
}

/// The files of the example directory, by name.
pub(crate) fn example_files(company: &Company) -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut current = Vec::new();
    write_current_csv(company, &mut current)?;
    let mut previous = Vec::new();
    write_csv(&company.previous_people, &mut previous)?;
    Ok(vec![
        ("policy.toml", policy_toml(company).into_bytes()),
        ("hr.csv", current),
        ("hr-previous.csv", previous),
        ("expected.toml", expected_toml(company).into_bytes()),
        ("README.md", readme(company).into_bytes()),
    ])
}

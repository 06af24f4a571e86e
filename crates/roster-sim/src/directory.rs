//! What the identity-provider simulators (Okta, Entra, Google) start with: the accounts of the
//! `acme` example company as an IdP would hold them on `as_of`, with the disagreements a status
//! comparison must find planted on purpose.
//!
//! The IdP was provisioned from **last week's** HR export (`previous_people`), so:
//!
//! - the people who left since (acme `Expected::leavers`) are still active: **active leavers**,
//!   among them the contractor whose end date passed while HR still says active (E00208);
//! - the person on leave since this week (E00164) is still active;
//! - this week's new records have no account yet; the future joiner of last week's export is
//!   STAGED, the joiners of this week PROVISIONED or active;
//! - people who left months ago are deprovisioned (the first of them archived);
//! - one person HR calls active is **suspended**, three are locked out, expired or in
//!   recovery (Okta statuses that still count as able to sign in);
//! - most accounts carry the employee id, but a few match HR **by e-mail only**: three plainly,
//!   one with **plus-addressing** (`name+it@acme.example`), and one active leaver (E00212) with a
//!   **differently cased** address;
//! - two **orphans** match no person: `old.admin@acme.example` and `svc-backup@acme.example`.
//!
//! Every account carries a `note` saying which of these it is; `GET /_sim/state` shows it.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use roster_core::{Person, PersonStatus};
use roster_examples::Company;

/// An account's lifecycle state, before each vendor spells it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedState {
    Active,
    LockedOut,
    PasswordExpired,
    Recovery,
    /// Created, not activated (a future joiner).
    Staged,
    /// Activated, never signed in (a joiner of this week).
    Provisioned,
    Suspended,
    Deprovisioned,
    /// Deprovisioned but kept (Google's archived users).
    Archived,
}

#[derive(Debug, Clone)]
pub struct SeedAccount {
    /// The acme employee id the account belongs to (`None` for orphans). Not served.
    pub person: Option<String>,
    /// The employee id as the IdP holds it; `None` for accounts matched by e-mail only.
    pub employee_id: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub department: String,
    pub title: String,
    pub state: SeedState,
    pub created: Timestamp,
    pub status_changed: Option<Timestamp>,
    pub last_sign_in: Option<Timestamp>,
    /// Group names (see [`DirectorySeed::groups`]).
    pub groups: Vec<String>,
    /// A directory administrator (the account behind the simulator's credentials).
    pub admin: bool,
    /// Why the account is interesting, for `/_sim/state`; `None` for ordinary ones.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DirectorySeed {
    pub accounts: Vec<SeedAccount>,
    /// `(name, description)` of every group.
    pub groups: Vec<(String, String)>,
    /// The instant the accounts describe (acme's `as_of`).
    pub as_of: Timestamp,
}

/// The acme company of `examples/acme/`.
pub fn acme() -> DirectorySeed {
    from_company(&roster_examples::acme(
        roster_examples::ACME_SEED,
        roster_examples::ACME_SIZE,
    ))
}

/// A small deterministic hash (FNV-1a), to spread sign-in times without a clock or an RNG.
fn spread(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn at(date: jiff::civil::Date, hour: i8) -> Timestamp {
    date.at(hour, 0, 0, 0)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn slug(department: &str) -> String {
    format!(
        "dept-{}",
        department.to_ascii_lowercase().replace([' ', '&'], "-")
    )
}

pub fn from_company(company: &Company) -> DirectorySeed {
    let e = &company.expected;
    let as_of = company.as_of;
    let today = as_of.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let last_week = company
        .previous_as_of
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let planted: BTreeSet<&str> = e.all_ids();
    // People with nothing planted, the same in both exports: where the IdP-only quirks go.
    let quiet: Vec<&Person> = company
        .previous_people
        .iter()
        .filter(|p| !planted.contains(p.employee_id.as_str()) && p.status == PersonStatus::Active)
        .filter(|p| {
            company.person(&p.employee_id).is_some_and(|now| {
                now.status == PersonStatus::Active && now.department == p.department
            })
        })
        .collect();
    let admin = quiet
        .iter()
        .find(|p| p.department == "Engineering" && p.team == "Security")
        .or(quiet.first())
        .map(|p| p.employee_id.clone())
        .unwrap_or_default();
    let picks: Vec<String> = quiet
        .iter()
        .filter(|p| p.employee_id != admin)
        .map(|p| p.employee_id.clone())
        .collect();
    let pick = |n: usize| {
        picks
            .get(n % picks.len().max(1))
            .cloned()
            .unwrap_or_default()
    };
    let suspended = pick(7);
    let locked_out = pick(13);
    let password_expired = pick(19);
    let recovery = pick(25);
    let email_only = [pick(31), pick(37), pick(43)];
    let plus_addressed = pick(49);
    // The cased address goes to an active leaver, so finding them takes matching e-mails
    // case-insensitively; not the contractor, who stays matched by employee id.
    let cased = e
        .leavers
        .iter()
        .rev()
        .find(|id| {
            company
                .previous_person(id)
                .is_some_and(|p| p.employment_type != "contractor")
        })
        .cloned();
    let long_gone_first = e.long_gone.first().cloned();

    let mut groups: BTreeSet<(String, String)> = BTreeSet::new();
    let mut accounts = Vec::new();
    for p in &company.previous_people {
        let id = p.employee_id.as_str();
        let mut note: Option<String> = None;
        let start = p.start_date.unwrap_or(last_week);
        let created = at(start.saturating_sub(jiff::Span::new().days(3)), 8);
        let recent = as_of - hours((spread(id) % 120) as i64 + 1);
        let ended = p.end_date.map(|d| at(d, 16));
        let (mut state, mut last_sign_in) =
            if p.status == PersonStatus::Terminated && p.end_date.is_some_and(|d| d < last_week) {
                note = Some(format!(
                    "left {}: deprovisioned, as HR says",
                    p.end_date.map(|d| d.to_string()).unwrap_or_default()
                ));
                if long_gone_first.as_deref() == Some(id) {
                    (SeedState::Archived, ended)
                } else {
                    (SeedState::Deprovisioned, ended)
                }
            } else if p.status == PersonStatus::Leave {
                note = Some("on leave in HR: suspended, as HR says".into());
                (SeedState::Suspended, Some(as_of - hours(24 * 20)))
            } else if start > today {
                note = Some(format!("future joiner (starts {start}): staged"));
                (SeedState::Staged, None)
            } else if start > last_week {
                if today.since(start).map_or(0, |s| s.get_days()) >= 5 {
                    note = Some(format!("joined {start}: active"));
                    (SeedState::Active, Some(recent))
                } else {
                    note = Some(format!("joined {start}: provisioned, not yet signed in"));
                    (SeedState::Provisioned, None)
                }
            } else {
                (SeedState::Active, Some(recent))
            };
        if e.leavers.iter().any(|l| l == id) {
            let end = p
                .end_date
                .or_else(|| company.person(id).and_then(|now| now.end_date));
            note = Some(match end {
                Some(d) if p.employment_type == "contractor" => {
                    format!("active leaver: contractor whose end date {d} passed, still active")
                }
                Some(d) => format!("active leaver: left {d} per today's HR export, still active"),
                None => "active leaver: still active".into(),
            });
            // The contractor still signs in; the others stopped on their last day.
            if p.employment_type != "contractor"
                && let Some(d) = end
            {
                last_sign_in = Some(at(d, 16));
            }
        }
        if e.on_leave.iter().any(|l| l == id) {
            note = Some("on leave since this week per HR, still active".into());
        }
        let mut employee_id = Some(p.employee_id.clone());
        let mut email = p.email.clone();
        let overrides = [
            (
                &suspended,
                SeedState::Suspended,
                "suspended in the IdP, active in HR",
            ),
            (
                &locked_out,
                SeedState::LockedOut,
                "locked out (can still sign in once unlocked)",
            ),
            (
                &password_expired,
                SeedState::PasswordExpired,
                "password expired",
            ),
            (
                &recovery,
                SeedState::Recovery,
                "password recovery in progress",
            ),
        ];
        for (who, s, why) in overrides {
            if who == id {
                state = s;
                note = Some(why.into());
                if s == SeedState::Suspended {
                    last_sign_in = Some(as_of - hours(24 * 12));
                }
            }
        }
        if email_only.iter().any(|x| x == id) {
            employee_id = None;
            note = Some("no employee number: matches HR by e-mail only".into());
        }
        if plus_addressed == id
            && let Some((local, domain)) = p.email.split_once('@')
        {
            employee_id = None;
            email = format!("{local}+it@{domain}");
            note = Some("plus-addressed e-mail, no employee number".into());
        }
        if cased.as_deref() == Some(id) {
            employee_id = None;
            email = capitalise_email(&p.email);
            note = Some(format!(
                "{}; differently cased e-mail, no employee number",
                note.unwrap_or_default()
            ));
        }
        let mut member_of = Vec::new();
        let gone = matches!(state, SeedState::Deprovisioned | SeedState::Archived);
        if !gone {
            member_of.push(slug(&p.department));
            groups.insert((slug(&p.department), format!("Everyone in {}", p.department)));
            if p.employment_type == "contractor" {
                member_of.push("contractors".into());
            }
        }
        let is_admin = id == admin;
        if is_admin {
            member_of.push("it-admins".into());
            note = Some("directory administrator (behind the simulator's credentials)".into());
        }
        accounts.push(SeedAccount {
            person: Some(p.employee_id.clone()),
            employee_id,
            email,
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            department: p.department.clone(),
            title: p.title.clone(),
            state,
            created,
            status_changed: match state {
                SeedState::Deprovisioned | SeedState::Archived => p
                    .end_date
                    .map(|d| at(d.saturating_add(jiff::Span::new().days(1)), 8)),
                SeedState::Suspended => Some(as_of - hours(24 * 11)),
                SeedState::Staged => None,
                _ => Some(created + hours(72)),
            },
            last_sign_in,
            groups: member_of,
            admin: is_admin,
            note,
        });
    }
    let orphan = |email: &str,
                  first: &str,
                  last: &str,
                  group: &str,
                  created: &str,
                  seen: Timestamp,
                  note: &str| {
        SeedAccount {
            person: None,
            employee_id: None,
            email: email.to_string(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            department: "IT".into(),
            title: String::new(),
            state: SeedState::Active,
            created: created.parse().unwrap_or(Timestamp::UNIX_EPOCH),
            status_changed: created.parse().ok(),
            last_sign_in: Some(seen),
            groups: vec![group.to_string()],
            admin: false,
            note: Some(note.to_string()),
        }
    };
    let domain = roster_examples::EMAIL_DOMAIN;
    accounts.push(orphan(
        &format!("old.admin@{domain}"),
        "Old",
        "Admin",
        "it-admins",
        "2019-05-06T09:00:00Z",
        "2025-09-12T07:41:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH),
        "orphan: an administrator account that matches no person",
    ));
    accounts.push(orphan(
        &format!("svc-backup@{domain}"),
        "Backup",
        "Service",
        "service-accounts",
        "2021-01-11T10:00:00Z",
        as_of - hours(5),
        "orphan: a service account that matches no person",
    ));
    groups.insert(("contractors".into(), "External contractors".into()));
    groups.insert(("it-admins".into(), "Directory administrators".into()));
    groups.insert(("service-accounts".into(), "Non-human accounts".into()));
    DirectorySeed {
        accounts,
        groups: groups.into_iter().collect(),
        as_of,
    }
}

/// `jules.oliveira@acme.example` → `Jules.Oliveira@Acme.example`.
fn capitalise_email(email: &str) -> String {
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let local: Vec<String> = local.split('.').map(cap).collect();
    format!("{}@{}", local.join("."), cap(domain))
}

/// The items after the one whose id is `after` (ids sorted ascending), at most `limit`, and
/// whether more follow: cursor paging that survives deletions between pages.
pub(crate) fn page_after<'a, T>(
    items: &'a [T],
    id: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: usize,
) -> (&'a [T], bool) {
    let start = match after {
        Some(a) => items.partition_point(|x| id(x) <= a),
        None => 0,
    };
    let end = (start + limit.max(1)).min(items.len());
    (&items[start..end], end < items.len())
}

/// RFC 3339 with milliseconds, as Okta and Google write instants.
pub(crate) fn millis(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub(crate) fn query_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An id of `len` characters from `alphabet` after `prefix`, drawn from `rng`.
pub(crate) fn vendor_id(
    rng: &mut fastrand::Rng,
    prefix: &str,
    alphabet: &[u8],
    len: usize,
) -> String {
    let mut s = prefix.to_string();
    for _ in 0..len {
        s.push(char::from(alphabet[rng.usize(0..alphabet.len())]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acme_seed_plants_each_disagreement() {
        let company = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
        let seed = from_company(&company);
        let of = |id: &str| {
            seed.accounts
                .iter()
                .find(|a| a.person.as_deref() == Some(id))
        };
        for leaver in &company.expected.leavers {
            let a = of(leaver).unwrap_or_else(|| panic!("no account for leaver {leaver}"));
            assert_eq!(a.state, SeedState::Active, "{leaver}");
        }
        for joiner in &company.expected.joiners {
            let in_last_week = company.previous_person(joiner).is_some();
            assert_eq!(of(joiner).is_some(), in_last_week, "{joiner}");
        }
        for gone in &company.expected.long_gone {
            let s = of(gone).unwrap().state;
            assert!(
                matches!(s, SeedState::Deprovisioned | SeedState::Archived),
                "{gone} {s:?}"
            );
        }
        let count = |s: SeedState| seed.accounts.iter().filter(|a| a.state == s).count();
        for s in [
            SeedState::Staged,
            SeedState::Provisioned,
            SeedState::Archived,
            SeedState::LockedOut,
            SeedState::PasswordExpired,
            SeedState::Recovery,
        ] {
            assert!(count(s) >= 1, "{s:?}");
        }
        // One suspended though HR says active, besides anyone on leave in both exports.
        assert!(seed.accounts.iter().any(|a| {
            a.state == SeedState::Suspended
                && a.person
                    .as_deref()
                    .and_then(|p| company.person(p))
                    .is_some_and(|p| p.status == PersonStatus::Active)
        }));
        let orphans: Vec<&str> = seed
            .accounts
            .iter()
            .filter(|a| a.person.is_none())
            .map(|a| a.email.as_str())
            .collect();
        assert_eq!(
            orphans,
            ["old.admin@acme.example", "svc-backup@acme.example"]
        );
        let unnumbered: Vec<&SeedAccount> = seed
            .accounts
            .iter()
            .filter(|a| a.person.is_some() && a.employee_id.is_none())
            .collect();
        assert_eq!(unnumbered.len(), 5);
        assert!(unnumbered.iter().any(|a| a.email.contains('+')));
        assert!(unnumbered.iter().any(|a| {
            a.email != a.email.to_lowercase()
                && company
                    .expected
                    .leavers
                    .contains(a.person.as_ref().unwrap())
        }));
        assert_eq!(seed.accounts.iter().filter(|a| a.admin).count(), 1);
    }

    #[test]
    fn emails_are_capitalised_per_part() {
        assert_eq!(
            capitalise_email("jules.oliveira@acme.example"),
            "Jules.Oliveira@Acme.example"
        );
    }

    #[test]
    fn paging_resumes_after_the_cursor_even_when_it_is_gone() {
        let items = ["a", "b", "d", "e"];
        let (p, more) = page_after(&items, |s| s, None, 2);
        assert_eq!((p, more), (&items[..2], true));
        let (p, more) = page_after(&items, |s| s, Some("c"), 2);
        assert_eq!((p, more), (&items[2..], false));
    }
}

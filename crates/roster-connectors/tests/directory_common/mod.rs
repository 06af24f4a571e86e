//! What the three directory readers' tests share: an HTTP policy that retries fast, the
//! simulators' admin endpoints, and the checks of the disagreements planted in the acme seed.

#![allow(dead_code)]

use std::collections::HashMap;

use roster_connectors::directory::DirectoryListing;
use roster_connectors::http::HttpPolicy;
use roster_core::directory::{DirectoryAccount, DirectoryStatus};
use roster_core::{Person, PersonStatus};
use roster_examples::Company;
use roster_sim::FaultConfig;
use serde_json::Value;

/// Retries quickly: a reader that did not honour the vendor's rate-limit signal would run
/// out of attempts long before the limit lifts.
pub fn impatient() -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 10,
        max_attempts: 3,
        base_delay_ms: 1,
        max_delay_ms: 5,
        max_concurrency: 4,
        requests_per_second: None,
    }
}

pub fn policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 8,
        base_delay_ms: 10,
        max_delay_ms: 500,
        ..impatient()
    }
}

/// An environment holding exactly `vars`.
pub fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| vars.get(k).cloned()
}

pub fn s(info: &Value, key: &str) -> String {
    info[key].as_str().unwrap_or_default().to_string()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn state(sim: &roster_sim::Running) -> Value {
    client()
        .get(format!("{}/_sim/state", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn faults(sim: &roster_sim::Running) -> Value {
    client()
        .get(format!("{}/_sim/faults", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn set_faults(sim: &roster_sim::Running, config: &FaultConfig) {
    let r = client()
        .put(format!("{}/_sim/faults", sim.url()))
        .json(config)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

pub async fn patch_user(sim: &roster_sim::Running, id: &str, body: Value) {
    let r = client()
        .patch(format!("{}/_sim/users/{id}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

pub fn acme() -> Company {
    roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE)
}

/// An address as a person's: lower case, without a `+tag`.
pub fn normalised(email: &str) -> String {
    let email = email.trim().to_lowercase();
    match email.split_once('@') {
        Some((local, domain)) => {
            format!("{}@{domain}", local.split('+').next().unwrap_or(local))
        }
        None => email,
    }
}

/// The account of a person: by employee id, else by e-mail (login or address) ignoring case
/// and plus-addressing. Returns how it matched.
pub fn account_of<'a>(
    accounts: &'a [DirectoryAccount],
    person: &Person,
) -> Option<(&'a DirectoryAccount, &'static str)> {
    if let Some(a) = accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some(person.employee_id.as_str()))
    {
        return Some((a, "employee id"));
    }
    let want = normalised(&person.email);
    accounts
        .iter()
        .find(|a| {
            normalised(&a.login) == want
                || a.email.as_deref().is_some_and(|e| normalised(e) == want)
        })
        .map(|a| (a, "e-mail"))
}

/// The disagreements every seeded directory must show.
pub fn assert_seeded_disagreements(listing: &DirectoryListing, company: &Company) {
    let accounts = &listing.accounts;
    let e = &company.expected;

    // Active leavers: left per today's export, still able to sign in.
    for id in &e.leavers {
        let person = company
            .previous_person(id)
            .expect("leavers were in last week's export");
        let (a, _) =
            account_of(accounts, person).unwrap_or_else(|| panic!("no account for leaver {id}"));
        assert!(
            a.status.can_sign_in(),
            "leaver {id} should still be active: {a:?}"
        );
    }
    // Among them the contractor whose end date passed while HR still says active.
    let contractor = e
        .leavers
        .iter()
        .filter_map(|id| company.person(id))
        .find(|p| {
            p.employment_type == "contractor"
                && p.status == PersonStatus::Active
                && p.end_date.is_some_and(|d| {
                    d < company
                        .as_of
                        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                        .date()
                })
        })
        .expect("acme plants a contractor past their end date");
    assert!(
        account_of(accounts, contractor)
            .unwrap()
            .0
            .status
            .can_sign_in()
    );

    // Orphans: accounts that match nobody in either export.
    let everyone: Vec<&Person> = company
        .people
        .iter()
        .chain(&company.previous_people)
        .collect();
    let orphans: Vec<&DirectoryAccount> = accounts
        .iter()
        .filter(|a| {
            !everyone
                .iter()
                .any(|p| account_of(std::slice::from_ref(a), p).is_some())
        })
        .collect();
    assert!(
        orphans
            .iter()
            .any(|a| a.login.eq_ignore_ascii_case("old.admin@acme.example")
                && a.status.can_sign_in()),
        "{orphans:?}"
    );

    // A suspended account of someone HR calls active.
    assert!(
        company
            .people
            .iter()
            .any(|p| p.status == PersonStatus::Active
                && account_of(accounts, p)
                    .is_some_and(|(a, _)| a.status == DirectoryStatus::Suspended))
    );

    // Matching by e-mail only, with a differently cased address and with plus-addressing.
    let by_email: Vec<&DirectoryAccount> = company
        .previous_people
        .iter()
        .filter_map(|p| account_of(accounts, p).filter(|(_, how)| *how == "e-mail"))
        .map(|(a, _)| a)
        .collect();
    assert!(by_email.len() >= 3, "{by_email:?}");
    let address = |a: &DirectoryAccount| a.email.clone().unwrap_or_else(|| a.login.clone());
    assert!(
        by_email
            .iter()
            .any(|a| address(a) != address(a).to_lowercase())
    );
    assert!(by_email.iter().any(|a| address(a).contains('+')));

    // Today's new records have no account yet.
    for id in &e.joiners {
        if company.previous_person(id).is_none() {
            let p = company.person(id).unwrap();
            assert!(
                account_of(accounts, p).is_none(),
                "new joiner {id} has an account"
            );
        }
    }
    // Sign-ins and groups were read.
    assert!(accounts.iter().filter(|a| a.last_sign_in.is_some()).count() > accounts.len() / 2);
    assert!(
        accounts
            .iter()
            .any(|a| a.groups.iter().any(|g| g == "it-admins"))
    );
    assert!(accounts.iter().filter(|a| !a.groups.is_empty()).count() > accounts.len() / 2);
}

/// The ids of the simulator's users (`/_sim/state`).
pub fn ids(state: &Value) -> Vec<String> {
    let mut ids: Vec<String> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn listed_ids(listing: &DirectoryListing) -> Vec<String> {
    let mut ids: Vec<String> = listing.accounts.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids
}

/// The simulator's groups of each user, sorted.
pub fn sim_groups(state: &Value, skip: &[&str]) -> HashMap<String, Vec<String>> {
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let mut g: Vec<String> = u["groups"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|g| g.as_str())
                .filter(|g| !skip.contains(g))
                .map(str::to_string)
                .collect();
            g.sort();
            (u["id"].as_str().unwrap().to_string(), g)
        })
        .collect()
}

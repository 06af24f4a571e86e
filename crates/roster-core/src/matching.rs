//! Identity matching across HR, identity providers and targets: which account belongs to
//! which person. By employee id (a target's external id, an IdP's employee number) first,
//! then by normalised e-mail: case folded, plus-addressing dropped, configured domain
//! aliases mapped to their primary domain. What cannot be decided is reported as a
//! [`Conflict`] with every record involved, and never merged: two people sharing an e-mail
//! match no account by that e-mail; an account whose employee id disagrees with the person
//! its e-mail names matches nobody; a person with two accounts in one system keeps both
//! matches and is reported.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::person::Person;

/// How e-mails are compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchOptions {
    /// Alias domain → primary domain (`acme.de` → `acme.example`): the same mailbox.
    pub domain_aliases: BTreeMap<String, String>,
    /// `ada+it@acme.example` is `ada@acme.example`.
    pub ignore_plus_tags: bool,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            domain_aliases: BTreeMap::new(),
            ignore_plus_tags: true,
        }
    }
}

/// The form two e-mails are compared in. Empty for something that is not an address.
pub fn email_key(email: &str, options: &MatchOptions) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return String::new();
    };
    if local.is_empty() || domain.is_empty() {
        return String::new();
    }
    let local = match local.split_once('+') {
        Some((base, _)) if options.ignore_plus_tags && !base.is_empty() => base,
        _ => local,
    };
    let domain = options
        .domain_aliases
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(domain))
        .map_or(domain.to_string(), |(_, primary)| primary.to_lowercase());
    format!("{local}@{domain}")
}

/// An account as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The system's id for the account.
    pub id: &'a str,
    pub employee_id: Option<&'a str>,
    /// Every address the account is known by (e-mail, login).
    pub emails: Vec<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    EmployeeId,
    Email,
}

/// What matching could not decide, with every record involved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "conflict", rename_all = "snake_case")]
pub enum Conflict {
    /// Two or more people share one e-mail: no account is matched to them by it.
    SharedEmail {
        email: String,
        employee_ids: Vec<String>,
    },
    /// One person holds several accounts in one system.
    SeveralAccounts {
        system: String,
        employee_id: String,
        accounts: Vec<String>,
    },
    /// The account's employee id names nobody (or somebody else) while its e-mail names a
    /// person: matched to neither.
    EmployeeIdMismatch {
        system: String,
        account: String,
        account_employee_id: String,
        email: String,
        person_by_email: String,
    },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::SharedEmail {
                email,
                employee_ids,
            } => write!(
                f,
                "{} people share the e-mail {email} ({}); accounts with it are matched to none of them",
                employee_ids.len(),
                employee_ids.join(", ")
            ),
            Conflict::SeveralAccounts {
                system,
                employee_id,
                accounts,
            } => write!(
                f,
                "{employee_id} has {} accounts in {system}: {}",
                accounts.len(),
                accounts.join(", ")
            ),
            Conflict::EmployeeIdMismatch {
                system,
                account,
                account_employee_id,
                email,
                person_by_email,
            } => write!(
                f,
                "{system} account {account} says employee {account_employee_id}, but its e-mail {email} \
                 belongs to {person_by_email}; matched to neither"
            ),
        }
    }
}

/// People who share an e-mail (once for all systems).
pub fn shared_emails(people: &[&Person], options: &MatchOptions) -> Vec<Conflict> {
    let mut by_key: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for p in people {
        let key = email_key(&p.email, options);
        if !key.is_empty() {
            by_key.entry(key).or_default().insert(&p.employee_id);
        }
    }
    by_key
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(email, ids)| Conflict::SharedEmail {
            email,
            employee_ids: ids.into_iter().map(str::to_string).collect(),
        })
        .collect()
}

/// The person each account of one system belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemMatches {
    /// Per account, in the order given: the employee id and how it was matched.
    pub person_of: Vec<Option<(String, MatchedBy)>>,
    pub conflicts: Vec<Conflict>,
}

pub fn match_accounts(
    system: &str,
    people: &[&Person],
    accounts: &[Candidate<'_>],
    options: &MatchOptions,
) -> SystemMatches {
    let ids: BTreeSet<&str> = people.iter().map(|p| p.employee_id.as_str()).collect();
    let mut by_key: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in people {
        let key = email_key(&p.email, options);
        if !key.is_empty() {
            by_key.entry(key).or_default().push(&p.employee_id);
        }
    }
    let by_email = |emails: &[&str]| -> Option<&str> {
        let found: BTreeSet<&str> = emails
            .iter()
            .filter_map(|e| by_key.get(&email_key(e, options)))
            .flatten()
            .copied()
            .collect();
        // Shared e-mails (or addresses naming two people) decide nothing.
        (found.len() == 1)
            .then(|| found.into_iter().next())
            .flatten()
    };
    let mut conflicts = Vec::new();
    let mut person_of = Vec::with_capacity(accounts.len());
    for a in accounts {
        let matched = match a.employee_id.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) if ids.contains(e) => Some((e.to_string(), MatchedBy::EmployeeId)),
            Some(e) => {
                if let Some(person) = by_email(&a.emails) {
                    conflicts.push(Conflict::EmployeeIdMismatch {
                        system: system.to_string(),
                        account: a.id.to_string(),
                        account_employee_id: e.to_string(),
                        email: a.emails.first().copied().unwrap_or_default().to_string(),
                        person_by_email: person.to_string(),
                    });
                }
                None
            }
            None => by_email(&a.emails).map(|p| (p.to_string(), MatchedBy::Email)),
        };
        person_of.push(matched);
    }
    let mut held: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, m) in accounts.iter().zip(&person_of) {
        if let Some((e, _)) = m {
            held.entry(e.as_str()).or_default().push(a.id);
        }
    }
    for (employee_id, accounts) in held {
        if accounts.len() > 1 {
            conflicts.push(Conflict::SeveralAccounts {
                system: system.to_string(),
                employee_id: employee_id.to_string(),
                accounts: accounts.into_iter().map(str::to_string).collect(),
            });
        }
    }
    SystemMatches {
        person_of,
        conflicts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, email: &str) -> Person {
        Person {
            employee_id: id.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            department: String::new(),
            team: String::new(),
            title: String::new(),
            manager_id: None,
            location: String::new(),
            employment_type: String::new(),
            status: crate::PersonStatus::Active,
            start_date: None,
            end_date: None,
            custom: Default::default(),
        }
    }

    #[test]
    fn email_keys_fold_case_tags_and_aliases() {
        let mut o = MatchOptions::default();
        o.domain_aliases
            .insert("acme.de".into(), "acme.example".into());
        assert_eq!(email_key(" Ada+IT@Acme.DE ", &o), "ada@acme.example");
        assert_eq!(email_key("ada@acme.example", &o), "ada@acme.example");
        assert_eq!(email_key("+x@acme.example", &o), "+x@acme.example");
        assert_eq!(email_key("not an address", &o), "");
        o.ignore_plus_tags = false;
        assert_eq!(email_key("ada+it@acme.example", &o), "ada+it@acme.example");
    }

    #[test]
    fn employee_id_first_then_email_and_conflicts_are_never_merged() {
        let people = [
            person("E1", "ada@acme.example"),
            person("E2", "bob@acme.example"),
            person("E3", "shared@acme.example"),
            person("E4", "Shared@acme.example"),
        ];
        let refs: Vec<&Person> = people.iter().collect();
        let accounts = [
            Candidate {
                id: "a1",
                employee_id: Some("E1"),
                emails: vec!["other@x.example"],
            },
            Candidate {
                id: "a2",
                employee_id: None,
                emails: vec!["Bob+wiki@ACME.example"],
            },
            Candidate {
                id: "a3",
                employee_id: None,
                emails: vec!["shared@acme.example"],
            },
            Candidate {
                id: "a4",
                employee_id: Some("E9"),
                emails: vec!["ada@acme.example"],
            },
            Candidate {
                id: "a5",
                employee_id: None,
                emails: vec!["bob@acme.example"],
            },
            Candidate {
                id: "a6",
                employee_id: None,
                emails: vec!["nobody@acme.example"],
            },
        ];
        let m = match_accounts("wiki", &refs, &accounts, &MatchOptions::default());
        let got: Vec<Option<(&str, MatchedBy)>> = m
            .person_of
            .iter()
            .map(|p| p.as_ref().map(|(e, by)| (e.as_str(), *by)))
            .collect();
        assert_eq!(
            got,
            [
                Some(("E1", MatchedBy::EmployeeId)),
                Some(("E2", MatchedBy::Email)),
                None,
                None,
                Some(("E2", MatchedBy::Email)),
                None
            ]
        );
        assert_eq!(
            m.conflicts,
            [
                Conflict::EmployeeIdMismatch {
                    system: "wiki".into(),
                    account: "a4".into(),
                    account_employee_id: "E9".into(),
                    email: "ada@acme.example".into(),
                    person_by_email: "E1".into(),
                },
                Conflict::SeveralAccounts {
                    system: "wiki".into(),
                    employee_id: "E2".into(),
                    accounts: vec!["a2".into(), "a5".into()],
                },
            ]
        );
        assert_eq!(
            shared_emails(&refs, &MatchOptions::default()),
            [Conflict::SharedEmail {
                email: "shared@acme.example".into(),
                employee_ids: vec!["E3".into(), "E4".into()],
            }]
        );
    }
}

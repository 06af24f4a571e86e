//! The simulated Okta org: users and groups, ids sorted so that `after` cursors survive
//! deletions between pages.

use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::directory::{DirectorySeed, SeedState, millis, vendor_id};

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: String,
    pub transitioning_to_status: Option<String>,
    pub created: Timestamp,
    pub activated: Option<Timestamp>,
    pub status_changed: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
    pub last_updated: Timestamp,
    pub password_changed: Option<Timestamp>,
    pub profile: Map<String, Value>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN` (Everyone).
    pub kind: String,
    pub name: String,
    pub description: String,
    pub created: Timestamp,
    pub last_updated: Timestamp,
    pub last_membership_updated: Timestamp,
    /// Member user ids.
    pub members: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Org {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// The admin who created the API token (`/api/v1/users/me`).
    pub admin: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: String,
    pub token: String,
    /// Largest page served, whatever `limit` asks.
    pub page_size: usize,
    /// Whether the token's admin may read groups (403 E0000006 otherwise).
    pub can_read_groups: bool,
}

#[derive(Clone)]
pub struct App {
    pub cfg: Arc<Config>,
    org: Arc<Mutex<Org>>,
}

impl App {
    pub fn new(cfg: Config, org: Org) -> Self {
        App {
            cfg: Arc::new(cfg),
            org: Arc::new(Mutex::new(org)),
        }
    }

    pub fn org(&self) -> MutexGuard<'_, Org> {
        self.org.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Okta's spelling of a seeded state (§9.3).
pub fn okta_status(s: SeedState) -> &'static str {
    match s {
        SeedState::Active => "ACTIVE",
        SeedState::LockedOut => "LOCKED_OUT",
        SeedState::PasswordExpired => "PASSWORD_EXPIRED",
        SeedState::Recovery => "RECOVERY",
        SeedState::Staged => "STAGED",
        SeedState::Provisioned => "PROVISIONED",
        SeedState::Suspended => "SUSPENDED",
        SeedState::Deprovisioned | SeedState::Archived => "DEPROVISIONED",
    }
}

impl Org {
    pub fn from_seed(seed: &DirectorySeed) -> Org {
        // Fixed ids from run to run: tests and demos can name accounts.
        let mut rng = fastrand::Rng::with_seed(0x0c7a);
        let mut org = Org::default();
        let mut member_of: Vec<(String, Vec<String>)> = Vec::new();
        for a in &seed.accounts {
            let id = vendor_id(&mut rng, "00u", ALPHABET, 17);
            let mut profile = Map::new();
            profile.insert("firstName".into(), json!(a.first_name));
            profile.insert("lastName".into(), json!(a.last_name));
            profile.insert(
                "displayName".into(),
                json!(format!("{} {}", a.first_name, a.last_name)),
            );
            profile.insert("login".into(), json!(a.email));
            profile.insert("email".into(), json!(a.email));
            profile.insert("mobilePhone".into(), Value::Null);
            profile.insert("secondEmail".into(), Value::Null);
            profile.insert("department".into(), json!(a.department));
            profile.insert("title".into(), json!(a.title));
            if let Some(e) = &a.employee_id {
                profile.insert("employeeNumber".into(), json!(e));
            }
            let status = okta_status(a.state);
            let activated = match a.state {
                SeedState::Staged => None,
                _ => a.status_changed.or(Some(a.created)),
            };
            if a.admin {
                org.admin = Some(id.clone());
            }
            member_of.push((id.clone(), a.groups.clone()));
            org.users.push(User {
                id,
                status: status.to_string(),
                transitioning_to_status: None,
                created: a.created,
                activated,
                status_changed: a.status_changed,
                last_login: a.last_sign_in,
                last_updated: a.status_changed.unwrap_or(a.created).max(a.created),
                password_changed: activated,
                profile,
                note: a.note.clone(),
            });
        }
        let created: Timestamp = "2019-01-07T09:00:00Z".parse().unwrap_or(seed.as_of);
        let everyone = Group {
            id: vendor_id(&mut rng, "00g", ALPHABET, 17),
            kind: "BUILT_IN".into(),
            name: "Everyone".into(),
            description: "All users in your organization".into(),
            created,
            last_updated: created,
            last_membership_updated: seed.as_of,
            members: org.users.iter().map(|u| u.id.clone()).collect(),
        };
        org.groups.push(everyone);
        for (name, description) in &seed.groups {
            let members = member_of
                .iter()
                .filter(|(_, g)| g.contains(name))
                .map(|(id, _)| id.clone())
                .collect();
            org.groups.push(Group {
                id: vendor_id(&mut rng, "00g", ALPHABET, 17),
                kind: "OKTA_GROUP".into(),
                name: name.clone(),
                description: description.clone(),
                created,
                last_updated: created,
                last_membership_updated: seed.as_of,
                members,
            });
        }
        org.users.sort_by(|a, b| a.id.cmp(&b.id));
        org.groups.sort_by(|a, b| a.id.cmp(&b.id));
        org
    }

    pub fn user(&self, key: &str) -> Option<&User> {
        let key = match key {
            "me" => self.admin.as_deref()?,
            k => k,
        };
        self.users.iter().find(|u| {
            u.id == key
                || u.profile["login"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case(key))
        })
    }

    pub fn user_mut(&mut self, id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Everything, for `GET /_sim/state`.
    pub fn dump(&self, cfg: &Config) -> Value {
        json!({
            "base_url": cfg.base_url,
            "page_size": cfg.page_size,
            "users": self.users.iter().map(|u| json!({
                "id": u.id,
                "status": u.status,
                "login": u.profile["login"],
                "employeeNumber": u.profile.get("employeeNumber"),
                "lastLogin": u.last_login.map(millis),
                "groups": self.groups.iter()
                    .filter(|g| g.members.contains(&u.id))
                    .map(|g| g.name.clone())
                    .collect::<Vec<_>>(),
                "note": u.note,
            })).collect::<Vec<_>>(),
            "groups": self.groups.iter().map(|g| json!({
                "id": g.id,
                "name": g.name,
                "type": g.kind,
                "members": g.members.len(),
            })).collect::<Vec<_>>(),
        })
    }
}

//! The simulated site's data: users, groups with members, spaces with permissions; the seed;
//! the validation rules of the admin REST; the `/_sim/state` snapshot.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::wire::{Links, enc};

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub key: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub active: bool,
}

/// Who holds a space permission (ref §4.7: users are addressed by userKey).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Subject {
    Group(String),
    User(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Perm {
    pub subject: Subject,
    pub target: String,
    pub operation: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub id: u64,
    pub key: String,
    pub name: String,
    pub perms: BTreeSet<Perm>,
}

#[derive(Debug, Default)]
pub(crate) struct Site {
    /// By lower-cased username (DC usernames are case-insensitive).
    pub users: BTreeMap<String, User>,
    /// Group name → member usernames.
    pub groups: BTreeMap<String, BTreeSet<String>>,
    pub spaces: BTreeMap<String, Space>,
}

/// The `targetType`/`operationKey` pairs DC accepts (ref §4.7).
pub(crate) const VALID_PAIRS: &[(&str, &str)] = &[
    ("space", "read"),
    ("page", "create"),
    ("page", "delete"),
    ("blogpost", "create"),
    ("blogpost", "delete"),
    ("comment", "create"),
    ("comment", "delete"),
    ("attachment", "create"),
    ("attachment", "delete"),
    ("space", "delete_own"),
    ("space", "delete_mail"),
    ("space", "export"),
    ("space", "restrict"),
    ("space", "administer"),
];

/// A userKey: 32 lower-case hex characters (ref §0).
fn new_key() -> String {
    crate::random_secret()
}

impl Site {
    pub(crate) fn user(&self, username: &str) -> Option<&User> {
        self.users.get(&username.to_lowercase())
    }

    pub(crate) fn user_by_key(&self, key: &str) -> Option<&User> {
        self.users.values().find(|u| u.key == key)
    }

    /// Adds a user (already validated) and returns its key.
    pub(crate) fn add_user(&mut self, username: &str, full_name: &str, email: &str) -> String {
        let key = new_key();
        self.users.insert(
            username.to_lowercase(),
            User {
                key: key.clone(),
                username: username.to_lowercase(),
                full_name: full_name.into(),
                email: email.into(),
                active: true,
            },
        );
        key
    }

    /// Removes a user with its memberships and direct space permissions.
    pub(crate) fn remove_user(&mut self, username: &str) -> bool {
        let Some(user) = self.users.remove(&username.to_lowercase()) else {
            return false;
        };
        for members in self.groups.values_mut() {
            members.remove(&user.username);
        }
        let subject = Subject::User(user.key);
        for space in self.spaces.values_mut() {
            space.perms.retain(|p| p.subject != subject);
        }
        true
    }

    pub(crate) fn remove_group(&mut self, name: &str) -> bool {
        if self.groups.remove(name).is_none() {
            return false;
        }
        let subject = Subject::Group(name.to_string());
        for space in self.spaces.values_mut() {
            space.perms.retain(|p| p.subject != subject);
        }
        true
    }

    pub(crate) fn add_space(&mut self, key: &str, name: &str) {
        let id = 98305 + self.spaces.len() as u64;
        self.spaces.insert(
            key.into(),
            Space {
                id,
                key: key.into(),
                name: name.into(),
                perms: BTreeSet::new(),
            },
        );
    }

    /// A space as its creator leaves it: the creator holds read and administer.
    pub(crate) fn add_created_space(&mut self, key: &str, name: &str, creator: &str) {
        if self.spaces.contains_key(key) {
            return;
        }
        self.add_space(key, name);
        if let Some(user) = self.users.get(&creator.to_lowercase()) {
            let creator = user.key.clone();
            self.grant(key, Subject::User(creator.clone()), "space", "read");
            self.grant(key, Subject::User(creator), "space", "administer");
        }
    }

    fn grant(&mut self, space: &str, subject: Subject, target: &str, operation: &str) {
        if let Some(s) = self.spaces.get_mut(space) {
            s.perms.insert(Perm {
                subject,
                target: target.into(),
                operation: operation.into(),
            });
        }
    }

    /// The seed site: the credentials' owner as administrator, two other users (one
    /// deactivated), the two default groups and two spaces.
    pub(crate) fn seed(&mut self, admin: &str) {
        self.add_user(admin, "Site Administrator", "admin@confluence.example");
        self.add_user("jsmith", "Jane Smith", "jane.smith@confluence.example");
        self.add_user("bwayne", "Bruce Wayne", "bruce.wayne@confluence.example");
        if let Some(u) = self.users.get_mut("bwayne") {
            u.active = false;
        }
        let admin = admin.to_lowercase();
        self.groups.insert(
            "confluence-administrators".into(),
            BTreeSet::from([admin.clone()]),
        );
        self.groups.insert(
            "confluence-users".into(),
            BTreeSet::from([admin, "jsmith".into(), "bwayne".into()]),
        );
        self.add_space("DOCS", "Documentation");
        self.add_space("HR", "Human Resources");
        for key in ["DOCS", "HR"] {
            let admins = || Subject::Group("confluence-administrators".into());
            self.grant(key, admins(), "space", "read");
            self.grant(key, admins(), "space", "administer");
            self.grant(
                key,
                Subject::Group("confluence-users".into()),
                "space",
                "read",
            );
        }
    }

    /// `GET /_sim/state`.
    pub(crate) fn snapshot(&self) -> Value {
        let users: Vec<Value> = self
            .users
            .values()
            .map(|u| {
                json!({"username": u.username, "userKey": u.key, "email": u.email,
                       "fullName": u.full_name, "active": u.active})
            })
            .collect();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|(name, members)| json!({"name": name, "members": members}))
            .collect();
        let spaces: Vec<Value> = self
            .spaces
            .values()
            .map(|s| {
                let perms: Vec<Value> = s
                    .perms
                    .iter()
                    .map(|p| {
                        let subject = match &p.subject {
                            Subject::Group(g) => json!({"type": "group", "name": g}),
                            Subject::User(k) => json!({
                                "type": "user", "userKey": k,
                                "username": self.user_by_key(k).map(|u| u.username.clone()),
                            }),
                        };
                        json!({"operationKey": p.operation, "targetType": p.target, "subject": subject})
                    })
                    .collect();
                json!({"key": s.key, "id": s.id, "name": s.name, "permissions": perms})
            })
            .collect();
        json!({"users": users, "groups": groups, "spaces": spaces})
    }
}

/// A user object (ref §4.3); `email` is included, as in the admin listings; `status` only when
/// expanded (value format unconfirmed, ref §8.8: "Active" / "Deactivated").
pub(crate) fn user_json(links: &Links, u: &User, status: bool) -> Value {
    let mut v = json!({
        "type": "known",
        "username": u.username,
        "userKey": u.key,
        "profilePicture": {
            "path": "/images/icons/profilepics/default.svg",
            "width": 48, "height": 48, "isDefault": true
        },
        "displayName": u.full_name,
        "email": u.email,
        "_links": {"self": links.user(&u.key)},
    });
    if status {
        v["status"] = json!(if u.active { "Active" } else { "Deactivated" });
        v["_expandable"] = json!({});
    } else {
        v["_expandable"] = json!({"status": ""});
    }
    v
}

pub(crate) fn group_json(links: &Links, name: &str) -> Value {
    json!({
        "type": "group",
        "name": name,
        "_links": {"self": links.absolute(&format!("/rest/api/group/{}", enc(name)))},
    })
}

/// A space (ref §4.6: numeric `id` on DC).
pub(crate) fn space_json(links: &Links, s: &Space) -> Value {
    json!({
        "id": s.id,
        "key": s.key,
        "name": s.name,
        "type": "global",
        "status": "current",
        "_links": {
            "webui": format!("/display/{}", enc(&s.key)),
            "self": links.absolute(&format!("/rest/api/space/{}", enc(&s.key))),
        },
        "_expandable": {
            "metadata": "", "icon": "", "description": "", "retentionPolicy": "",
            "homepage": "",
        },
    })
}

/// A permission list item (ref §4.7).
pub(crate) fn perm_json(space: &str, p: &Perm) -> Value {
    let subject = match &p.subject {
        Subject::Group(g) => json!({"type": "group", "name": g}),
        Subject::User(k) => json!({"type": "user", "userKey": k}),
    };
    json!({
        "operation": {"operationKey": p.operation, "targetType": p.target},
        "subject": subject,
        "spaceKey": space,
    })
}

/// The admin REST's validation (ref §4.4); the message of the first broken rule.
pub(crate) fn check_user_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("Username cannot be blank".into());
    }
    if name != name.to_lowercase() {
        return Err("Username must be in lower case".into());
    }
    if name.chars().any(char::is_whitespace) {
        return Err("Username cannot contain whitespace".into());
    }
    if name.chars().any(|c| "\\,+<>'\"".contains(c)) {
        return Err("Username cannot contain any of: \\ , + < > ' \"".into());
    }
    if name == "anonymous" {
        return Err("Username cannot be 'anonymous'".into());
    }
    Ok(())
}

pub(crate) fn check_full_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("Full name cannot be blank".into());
    }
    if name.contains('<') || name.contains('>') {
        return Err("Full name cannot contain < or >".into());
    }
    if name.eq_ignore_ascii_case("anonymous") {
        return Err("Full name cannot be 'anonymous'".into());
    }
    Ok(())
}

pub(crate) fn check_email(email: &str) -> Result<(), String> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Invalid email address: {email}"))
    }
}

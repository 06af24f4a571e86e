//! The one in-memory Atlassian site shared by SCIM, Confluence v1/v2 and the org admin API: an
//! account is the same record whichever API looks at it (ref §0 identifier cheat sheet).

use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// Groups whose members get Confluence product access (default product-access groups).
pub const ACCESS_GROUPS: [&str; 3] = ["confluence-users", "confluence-admins", "site-admins"];

/// Valid classic space-permission `key`/`target` pairs (ref §2.6).
pub fn valid_operation(key: &str, target: &str) -> bool {
    matches!(
        (key, target),
        ("create", "page" | "blogpost" | "comment" | "attachment")
            | ("read", "space")
            | (
                "delete",
                "page" | "blogpost" | "comment" | "attachment" | "space"
            )
            | ("export", "space")
            | ("administer", "space")
            | ("archive", "page")
            | ("restrict_content", "space")
    )
}

#[derive(Debug, Clone)]
pub struct User {
    /// Atlassian account id, `557058:<uuid>` (ref §0).
    pub account_id: String,
    /// SCIM id (a different UUID) while a SCIM record links the account (ref §1.10).
    pub scim_id: Option<String>,
    pub external_id: Option<String>,
    pub user_name: String,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: String,
    /// Account status: false = deactivated (ref §1.6, §3.8).
    pub active: bool,
    /// Other SCIM attributes kept as sent (title, nickName, timezone, ...).
    pub extra: Map<String, Value>,
    pub site_admin: bool,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    pub deactivated_on: Option<Timestamp>,
    pub last_active: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Group {
    /// Confluence / org group id (UUID).
    pub id: String,
    /// SCIM id when the group was created through SCIM (read-only elsewhere, ref §1.7, §2.4).
    pub scim_id: Option<String>,
    pub external_id: Option<String>,
    pub name: String,
    /// Member account ids, in the order they were added.
    pub members: Vec<String>,
    pub created: Timestamp,
    pub last_modified: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Permission {
    pub id: u64,
    /// `user` or `group`.
    pub principal_type: String,
    /// accountId or group id.
    pub principal_id: String,
    pub key: String,
    pub target: String,
}

#[derive(Debug, Clone)]
pub struct Space {
    pub id: u64,
    pub key: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub author_id: String,
    pub created: Timestamp,
    pub permissions: Vec<Permission>,
}

/// Fixed identity of the simulated site and its credentials.
#[derive(Debug, Clone)]
pub struct Config {
    pub site_url: String,
    pub org_id: String,
    pub directory_id: String,
    pub cloud_id: String,
    pub email: String,
    pub api_token: String,
    pub scim_key: String,
    pub org_key: String,
}

/// A page: content a person wrote, which no access change may touch.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: u64,
    pub space_id: u64,
    pub title: String,
    /// `current`, `draft`, `archived`, `trashed`.
    pub status: String,
    pub author_id: String,
    pub owner_id: String,
    pub created: Timestamp,
    pub version: u64,
}

#[derive(Debug, Default)]
pub struct Site {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub spaces: Vec<Space>,
    pub pages: Vec<Page>,
    pub next_space_id: u64,
    pub next_permission_id: u64,
}

/// Shared handle used as the router state.
#[derive(Clone)]
pub struct App {
    pub cfg: Arc<Config>,
    site: Arc<Mutex<Site>>,
}

impl App {
    pub fn new(cfg: Config, site: Site) -> Self {
        App {
            cfg: Arc::new(cfg),
            site: Arc::new(Mutex::new(site)),
        }
    }

    pub fn site(&self) -> MutexGuard<'_, Site> {
        self.site.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn new_account_id() -> String {
    format!("557058:{}", uuid::Uuid::new_v4())
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// SCIM timestamps: microseconds with `Z` (ref §1.3).
pub fn micros(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Confluence v2 / org admin timestamps: milliseconds with `Z` (ref §2.5).
pub fn millis(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Site {
    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }

    pub fn user_mut(&mut self, account_id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.account_id == account_id)
    }

    pub fn user_by_scim(&self, scim_id: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.scim_id.as_deref() == Some(scim_id))
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn group_mut(&mut self, id: &str) -> Option<&mut Group> {
        self.groups.iter_mut().find(|g| g.id == id)
    }

    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(name))
    }

    pub fn space_by_key(&self, key: &str) -> Option<&Space> {
        self.spaces.iter().find(|s| s.key == key)
    }

    pub fn space_by_key_mut(&mut self, key: &str) -> Option<&mut Space> {
        self.spaces.iter_mut().find(|s| s.key == key)
    }

    /// Groups the account belongs to.
    pub fn groups_of(&self, account_id: &str) -> Vec<&Group> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == account_id))
            .collect()
    }

    /// Active and in a product-access group: a licensed Confluence user.
    pub fn has_confluence_access(&self, user: &User) -> bool {
        user.active
            && self.groups.iter().any(|g| {
                ACCESS_GROUPS.contains(&g.name.as_str()) && g.members.contains(&user.account_id)
            })
    }

    /// Removes a group everywhere: memberships go with it, and so do the space permissions it
    /// granted (ref §1.7 DELETE /Groups).
    pub fn delete_group(&mut self, id: &str) -> bool {
        let before = self.groups.len();
        self.groups.retain(|g| g.id != id);
        for space in &mut self.spaces {
            space
                .permissions
                .retain(|p| !(p.principal_type == "group" && p.principal_id == id));
        }
        self.groups.len() != before
    }

    pub fn add_space(&mut self, key: &str, name: &str, author_id: &str) -> u64 {
        let id = self.next_space_id;
        self.next_space_id += 32769;
        self.spaces.push(Space {
            id,
            key: key.to_string(),
            name: name.to_string(),
            kind: "global".to_string(),
            status: "current".to_string(),
            author_id: author_id.to_string(),
            created: Timestamp::now(),
            permissions: Vec::new(),
        });
        id
    }

    pub fn grant(
        &mut self,
        space_key: &str,
        ptype: &str,
        pid: &str,
        key: &str,
        target: &str,
    ) -> u64 {
        let id = self.next_permission_id;
        self.next_permission_id += 1;
        if let Some(space) = self.space_by_key_mut(space_key) {
            space.permissions.push(Permission {
                id,
                principal_type: ptype.to_string(),
                principal_id: pid.to_string(),
                key: key.to_string(),
                target: target.to_string(),
            });
        }
        id
    }

    pub fn add_plain_user(
        &mut self,
        email: &str,
        given: &str,
        family: &str,
        admin: bool,
    ) -> String {
        let now = Timestamp::now();
        let account_id = new_account_id();
        self.users.push(User {
            account_id: account_id.clone(),
            scim_id: None,
            external_id: None,
            user_name: email.to_string(),
            email: email.to_string(),
            given_name: Some(given.to_string()),
            family_name: Some(family.to_string()),
            display_name: format!("{given} {family}"),
            active: true,
            extra: Map::new(),
            site_admin: admin,
            created: now,
            last_modified: now,
            deactivated_on: None,
            last_active: None,
        });
        account_id
    }

    pub fn add_group(&mut self, name: &str, scim_id: Option<String>) -> String {
        let now = Timestamp::now();
        let id = uuid();
        self.groups.push(Group {
            id: id.clone(),
            scim_id,
            external_id: None,
            name: name.to_string(),
            members: Vec::new(),
            created: now,
            last_modified: now,
        });
        id
    }

    /// A new site: the admin (holder of the API token) and, with `seed`, two other people,
    /// the default groups and three spaces with the usual group permissions.
    pub fn new(admin_email: &str, seed: bool) -> Site {
        let mut site = Site {
            next_space_id: 98306,
            next_permission_id: 1835009,
            ..Site::default()
        };
        let admin = site.add_plain_user(admin_email, "Site", "Admin", true);
        if !seed {
            return site;
        }
        let grace = site.add_plain_user("grace.hopper@example.com", "Grace", "Hopper", false);
        let alan = site.add_plain_user("alan.turing@example.com", "Alan", "Turing", false);
        // Grace was last seen in Confluence two days ago; Alan never (the admin: at its first
        // API call).
        if let Some(u) = site.user_mut(&grace) {
            u.last_active = Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_hours(48))
                .ok();
        }
        let users = site.add_group("confluence-users", None);
        let admins = site.add_group("confluence-admins", None);
        let site_admins = site.add_group("site-admins", None);
        for (group, members) in [
            (&users, vec![&admin, &grace, &alan]),
            (&admins, vec![&admin]),
            (&site_admins, vec![&admin]),
        ] {
            if let Some(g) = site.group_mut(group) {
                g.members = members.into_iter().cloned().collect();
            }
        }
        for (key, name) in [
            ("DOCS", "Documentation"),
            ("HR", "Human Resources"),
            ("IT", "IT Services"),
        ] {
            site.add_space(key, name, &admin);
            site.grant(key, "group", &admins, "read", "space");
            site.grant(key, "group", &admins, "administer", "space");
            site.grant(key, "group", &users, "read", "space");
        }
        site
    }

    /// `GET /_sim/state`: everything tests compare against desired state.
    pub fn dump(&self, cfg: &Config) -> Value {
        let name_of = |p: &Permission| -> Value {
            if p.principal_type == "group" {
                self.group(&p.principal_id)
                    .map(|g| json!(g.name))
                    .unwrap_or(Value::Null)
            } else {
                self.user(&p.principal_id)
                    .map(|u| json!(u.email))
                    .unwrap_or(Value::Null)
            }
        };
        json!({
            "site_url": cfg.site_url,
            "org_id": cfg.org_id,
            "directory_id": cfg.directory_id,
            "users": self.users.iter().map(|u| json!({
                "accountId": u.account_id,
                "scimId": u.scim_id,
                "externalId": u.external_id,
                "userName": u.user_name,
                "email": u.email,
                "displayName": u.display_name,
                "active": u.active,
                "lastActive": u.last_active.map(millis),
                "siteAdmin": u.site_admin,
                "confluenceAccess": self.has_confluence_access(u),
            })).collect::<Vec<_>>(),
            "groups": self.groups.iter().map(|g| json!({
                "id": g.id,
                "scimId": g.scim_id,
                "name": g.name,
                "members": g.members,
            })).collect::<Vec<_>>(),
            "spaces": self.spaces.iter().map(|s| json!({
                "id": s.id.to_string(),
                "key": s.key,
                "name": s.name,
                "type": s.kind,
                "status": s.status,
                "permissions": s.permissions.iter().map(|p| json!({
                    "id": p.id,
                    "principalType": p.principal_type,
                    "principalId": p.principal_id,
                    "principalName": name_of(p),
                    "key": p.key,
                    "target": p.target,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "pages": self.pages.iter().map(|p| json!({
                "id": p.id.to_string(),
                "spaceId": p.space_id.to_string(),
                "title": p.title,
                "status": p.status,
                "authorId": p.author_id,
                "ownerId": p.owner_id,
                "version": p.version,
            })).collect::<Vec<_>>(),
        })
    }
}

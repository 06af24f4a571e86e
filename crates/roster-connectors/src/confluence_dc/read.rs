//! Reading a Data Center site into an [`ActualState`]: users, group members (licences are
//! memberships of the licence groups), and the space permissions of every space.

use std::collections::{BTreeSet, HashMap};

use roster_core::TargetError;
use roster_core::state::{Account, ActualState, Entitlement, GroupSpacePermission};

use super::mapping::{DcUser, enc, roster_operation, text};
use super::{ConfluenceDcTarget, PAGE};

impl ConfluenceDcTarget {
    /// Every user, group and space permission (ref §4.3, §4.5, §4.7).
    pub(super) async fn read_site(&self) -> Result<ActualState, TargetError> {
        let users = self
            .all(
                "list users",
                &format!("/rest/api/user/list?limit={PAGE}&expand=status"),
            )
            .await?;
        let mut accounts: Vec<Account> = Vec::with_capacity(users.len());
        let mut by_username: HashMap<String, usize> = HashMap::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for v in &users {
            let u = DcUser::from_json(v);
            if u.key.is_empty() || by_key.contains_key(&u.key) {
                continue;
            }
            by_username.insert(u.username.to_lowercase(), accounts.len());
            by_key.insert(u.key.clone(), accounts.len());
            accounts.push(Account {
                external_id: u.key,
                employee_id: Some(u.username.to_uppercase()),
                email: u.email,
                display_name: u.display_name,
                active: u.active,
                last_active: None,
                entitlements: BTreeSet::new(),
            });
        }

        let mut state = ActualState::default();
        let groups = self
            .all("list groups", &format!("/rest/api/group?limit={PAGE}"))
            .await?;
        for g in &groups {
            let name = text(g, "name");
            let path = format!("/rest/api/group/{}/member?limit={PAGE}", enc(&name));
            let members = self
                .all(&format!("list the members of {name}"), &path)
                .await?;
            let products: Vec<&String> = self
                .licence_groups
                .iter()
                .filter(|(_, group)| **group == name)
                .map(|(product, _)| product)
                .collect();
            for m in &members {
                let Some(&i) = by_username.get(&text(m, "username").to_lowercase()) else {
                    continue;
                };
                let ents = &mut accounts[i].entitlements;
                ents.insert(Entitlement::group(name.clone()));
                for p in &products {
                    ents.insert(Entitlement::licence(p.as_str()));
                }
            }
            state.groups.insert(name);
        }

        let spaces = self
            .all("list spaces", &format!("/rest/api/space?limit={PAGE}"))
            .await?;
        for s in &spaces {
            let key = text(s, "key");
            let path = format!("/rest/api/space/{}/permissions", enc(&key));
            let perms = self
                .get(&format!("read the permissions of space {key}"), &path)
                .await?;
            for p in perms.as_array().into_iter().flatten() {
                let operation = roster_operation(
                    p["operation"]["targetType"].as_str().unwrap_or_default(),
                    p["operation"]["operationKey"].as_str().unwrap_or_default(),
                );
                let subject = &p["subject"];
                match subject["type"].as_str() {
                    Some("group") => {
                        state.group_space_permissions.insert(GroupSpacePermission {
                            group: text(subject, "name"),
                            space: key.clone(),
                            operation,
                        });
                    }
                    Some("user") => {
                        if let Some(&i) = by_key.get(&text(subject, "userKey")) {
                            accounts[i]
                                .entitlements
                                .insert(Entitlement::space(key.clone(), operation));
                        }
                    }
                    _ => {}
                }
            }
        }
        state.accounts = accounts;
        Ok(state)
    }
}

//! Reading a Confluence Cloud site: SCIM users, groups and their members, spaces and their
//! permissions, and (with an organization key) last-active dates, into one [`ActualState`].

use std::collections::{BTreeSet, HashMap};

use roster_core::TargetError;
use roster_core::state::{Account, ActualState, Entitlement, GroupSpacePermission};

use super::ConfluenceCloudTarget;
use super::org::OrgAdmin;
use super::wire::{User, operation_name};
use crate::scim_target as scim_ops;

impl ConfluenceCloudTarget {
    /// Everything the target manages, following each API's pagination to the end.
    pub(super) async fn read(&self) -> Result<ActualState, TargetError> {
        let users = self.scim.list_users().await?;
        let groups = self.wiki.groups().await?;
        let spaces = self.wiki.spaces().await?;

        let mut accounts: Vec<Account> = Vec::with_capacity(users.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(users.len());
        let mut scim_ids = HashMap::with_capacity(users.len());
        for u in &users {
            let scim_id = u.id.clone().unwrap_or_default();
            let account_id = u.atlassian_account_id().map(str::to_string);
            if let Some(a) = &account_id {
                scim_ids.insert(a.clone(), scim_id.clone());
            }
            let external_id = account_id.unwrap_or(scim_id);
            index.insert(external_id.clone(), accounts.len());
            accounts.push(Account {
                external_id,
                employee_id: u.external_id.clone().filter(|s| !s.is_empty()),
                email: scim_ops::account_email(u),
                display_name: u.display_name.clone().unwrap_or_default(),
                active: u.active.unwrap_or(true),
                last_active: None,
                entitlements: BTreeSet::new(),
            });
        }
        // Accounts from here on have no SCIM record.
        let scim_accounts = accounts.len();

        let mut licences: HashMap<&str, Vec<&str>> = HashMap::new();
        for (product, group) in &self.config.licence_groups {
            licences
                .entry(group.as_str())
                .or_default()
                .push(product.as_str());
        }
        for g in &groups {
            for m in self.wiki.members(g).await? {
                if m.account_id.is_empty() || m.account_type.as_deref() == Some("app") {
                    continue;
                }
                let i = account_index(&mut accounts, &mut index, &m.account_id, Some(&m));
                let held = &mut accounts[i].entitlements;
                held.insert(Entitlement::group(&g.name));
                for product in licences.get(g.name.as_str()).into_iter().flatten() {
                    held.insert(Entitlement::licence(*product));
                }
            }
        }

        let group_names: HashMap<&str, &str> = groups
            .iter()
            .map(|g| (g.id.as_str(), g.name.as_str()))
            .collect();
        let mut group_space_permissions = BTreeSet::new();
        for s in &spaces {
            for p in self.wiki.permissions(s).await? {
                let operation = operation_name(&p.operation.key, &p.operation.target_type);
                match p.principal.kind.as_str() {
                    "user" if !p.principal.id.is_empty() => {
                        let i = account_index(&mut accounts, &mut index, &p.principal.id, None);
                        accounts[i]
                            .entitlements
                            .insert(Entitlement::space(&s.key, operation));
                    }
                    "group" => {
                        let group = group_names
                            .get(p.principal.id.as_str())
                            .copied()
                            .unwrap_or(&p.principal.id);
                        group_space_permissions.insert(GroupSpacePermission {
                            group: group.to_string(),
                            space: s.key.clone(),
                            operation,
                        });
                    }
                    // Roles and access classes are not Roster's to manage.
                    _ => {}
                }
            }
        }

        if let Some(org) = &self.org {
            self.add_org_facts(org, &mut accounts, scim_accounts)
                .await?;
        }

        let mut cache = self.cache();
        cache.scim_ids = scim_ids;
        cache.groups = groups.iter().map(|g| (g.name.clone(), g.clone())).collect();
        cache.spaces = spaces.iter().map(|s| (s.key.clone(), s.clone())).collect();
        Ok(ActualState {
            accounts,
            groups: groups.into_iter().map(|g| g.name).collect(),
            group_space_permissions,
        })
    }

    /// From the organization admin API: every account's last Confluence activity, and the
    /// account status of those SCIM has no record of (the first `scim_accounts` have one;
    /// Confluence's `operations` only say whether the others are licensed).
    async fn add_org_facts(
        &self,
        org: &OrgAdmin,
        accounts: &mut [Account],
        scim_accounts: usize,
    ) -> Result<(), TargetError> {
        let known = org.accounts().await.map_err(|e| match e.status() {
            Some(401) => self.permanent(format!(
                "organization API key rejected while reading last-active dates: check {} ({e})",
                self.config.org_key_env.as_deref().unwrap_or("org_key_env")
            )),
            Some(403) => self.permanent(format!(
                "the organization API key may not list the users of organization {} (use an unscoped key) ({e})",
                self.config.org_id.as_deref().unwrap_or_default()
            )),
            Some(404) => self.permanent(format!(
                "no organization {}: check org_id ({e})",
                self.config.org_id.as_deref().unwrap_or_default()
            )),
            _ => e.into(),
        })?;
        for (i, account) in accounts.iter_mut().enumerate() {
            let Some(o) = known.get(&account.external_id) else {
                continue;
            };
            account.last_active = o.last_active;
            if i >= scim_accounts
                && let Some(active) = o.active
            {
                account.active = active;
            }
        }
        Ok(())
    }
}

/// The account with this accountId, added from what Confluence shows when it has no SCIM
/// record (it then has no employee id, and plans leave it alone).
fn account_index(
    accounts: &mut Vec<Account>,
    index: &mut HashMap<String, usize>,
    account_id: &str,
    user: Option<&User>,
) -> usize {
    if let Some(&i) = index.get(account_id) {
        return i;
    }
    let i = accounts.len();
    index.insert(account_id.to_string(), i);
    accounts.push(Account {
        external_id: account_id.to_string(),
        employee_id: None,
        email: user.and_then(|u| u.email.clone()).unwrap_or_default(),
        display_name: user
            .and_then(|u| u.display_name.clone().or_else(|| u.public_name.clone()))
            .unwrap_or_default(),
        active: user
            .and_then(|u| u.operations.as_ref())
            .is_none_or(|ops| !ops.is_empty()),
        last_active: None,
        entitlements: BTreeSet::new(),
    });
    i
}

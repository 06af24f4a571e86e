//! Confluence Cloud: people in the organization's SCIM directory (Atlassian user
//! provisioning), groups and memberships through Confluence REST v1, spaces and their
//! permissions read with REST v2 and written with v1 (`/wiki/rest/api/space/{KEY}/permission`,
//! singular, keyed by space key, as documented — not the plural numeric-id form some
//! connectors send). A licence is membership of the product's licence group.
//!
//! ```toml
//! [targets.confluence]
//! kind = "confluence_cloud"
//! site_url = "https://acme.atlassian.net"
//! scim_base_url = "https://api.atlassian.com/scim/directory/DIRECTORY-ID"
//! email = "roster-bot@acme.example"
//! api_token_env = "CONFLUENCE_API_TOKEN"
//! scim_key_env = "ATLASSIAN_SCIM_KEY"
//! # admin_api_url = "https://api.atlassian.com", org_id = "...", org_key_env = "ATLASSIAN_ORG_KEY"
//! # licence_groups = { confluence = "confluence-users" }
//! ```
//!
//! Every action looks before it writes, so a retried or resumed step reports
//! [`StepOutcome::AlreadyDone`] and never duplicates a user, membership or permission.

mod check;
mod org;
mod read;
mod rest;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use roster_core::plan::{AccountRef, Action};
use roster_core::state::{ActualState, Entitlement};
use roster_core::{StepOutcome, Target, TargetError};
use serde::Deserialize;

pub use crate::check::ConnectionCheck;
use org::OrgAdmin;
use rest::Wiki;
use wire::{Group, Space, cloud_operation, operation_name};

use crate::http::{HttpClient, HttpError, HttpPolicy};
use crate::scim_client::{ScimClient, ScimUser};
use crate::scim_target::{self as scim_ops, env_secret};

/// `[targets.NAME]` with `kind = "confluence_cloud"`. Secrets are named by environment
/// variable, never written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceCloudConfig {
    /// `https://SITE.atlassian.net` (without `/wiki`).
    pub site_url: String,
    /// `https://api.atlassian.com/scim/directory/{directoryId}`.
    pub scim_base_url: String,
    /// `https://api.atlassian.com`: the organization admin API, used by `connect test` and,
    /// with `org_id` and the org key, by reads (last-active dates, account status).
    #[serde(default)]
    pub admin_api_url: Option<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    /// The account whose API token Roster uses (a site admin, space admin where it manages spaces).
    pub email: String,
    pub api_token_env: String,
    /// The SCIM directory API key.
    pub scim_key_env: String,
    #[serde(default)]
    pub org_key_env: Option<String>,
    /// Product → the group whose membership is that product's licence.
    #[serde(default = "default_licence_groups")]
    pub licence_groups: BTreeMap<String, String>,
    #[serde(default)]
    pub http: HttpPolicy,
}

fn default_licence_groups() -> BTreeMap<String, String> {
    BTreeMap::from([("confluence".to_string(), "confluence-users".to_string())])
}

/// The credentials of a Confluence Cloud target.
#[derive(Clone)]
pub struct CloudSecrets {
    pub api_token: String,
    pub scim_key: String,
    pub org_key: Option<String>,
}

impl std::fmt::Debug for CloudSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CloudSecrets { <redacted> }")
    }
}

/// What the last read learnt, to save look-ups. Never trusted over a fresh look-up when a
/// call answers 404.
#[derive(Default)]
struct Cache {
    /// Atlassian accountId → SCIM id.
    scim_ids: HashMap<String, String>,
    /// Employee id (SCIM externalId) → Atlassian accountId, learnt from the accounts this
    /// target created, so the memberships that follow a create need no look-up.
    account_ids: HashMap<String, String>,
    /// Group name → group.
    groups: HashMap<String, Group>,
    /// Space key → space.
    spaces: HashMap<String, Space>,
}

pub struct ConfluenceCloudTarget {
    system: String,
    config: ConfluenceCloudConfig,
    wiki: Wiki,
    scim: ScimClient,
    org_key: Option<String>,
    /// The organization admin API, when `admin_api_url`, `org_id` and the org key are all set.
    org: Option<OrgAdmin>,
    cache: Mutex<Cache>,
}

impl ConfluenceCloudTarget {
    pub fn new(
        system: impl Into<String>,
        config: ConfluenceCloudConfig,
        secrets: CloudSecrets,
    ) -> Result<Self, TargetError> {
        let system = system.into();
        let setup = |e: HttpError| TargetError::Permanent(e.to_string());
        let wiki_http = HttpClient::new(format!("{system} (Confluence)"), config.http.clone())
            .map_err(setup)?;
        // One budget for the site's three APIs: Atlassian does not say whether SCIM and the
        // organization API count against the site's request rate (reference §8), so they are
        // paced together, and a 429 from any of them pauses all.
        let scim_http = wiki_http.same_budget(format!("{system} (SCIM directory)"));
        let given = |s: Option<&String>| s.filter(|s| !s.trim().is_empty()).cloned();
        let org = match (
            given(config.admin_api_url.as_ref()),
            given(config.org_id.as_ref()),
            given(secrets.org_key.as_ref()),
        ) {
            (Some(url), Some(org_id), Some(key)) => {
                let http = wiki_http.same_budget(format!("{system} (organization admin API)"));
                Some(OrgAdmin::new(Arc::new(http), &url, &org_id, &key))
            }
            _ => None,
        };
        Ok(ConfluenceCloudTarget {
            wiki: Wiki::new(
                Arc::new(wiki_http),
                &config.site_url,
                &config.email,
                &secrets.api_token,
            ),
            scim: ScimClient::new(Arc::new(scim_http), &config.scim_base_url, secrets.scim_key),
            org_key: secrets.org_key,
            org,
            cache: Mutex::new(Cache::default()),
            system,
            config,
        })
    }

    /// Reads the secrets from the environment variables the configuration names.
    pub fn from_env(
        system: impl Into<String>,
        config: ConfluenceCloudConfig,
    ) -> Result<Self, TargetError> {
        let system = system.into();
        let secrets = CloudSecrets {
            api_token: env_secret(&system, "api_token_env", &config.api_token_env)?,
            scim_key: env_secret(&system, "scim_key_env", &config.scim_key_env)?,
            org_key: match &config.org_key_env {
                Some(var) => Some(env_secret(&system, "org_key_env", var)?),
                None => None,
            },
        };
        Self::new(system, config, secrets)
    }

    pub fn config(&self) -> &ConfluenceCloudConfig {
        &self.config
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn permanent(&self, message: String) -> TargetError {
        TargetError::Permanent(format!("{}: {message}", self.system))
    }

    // ---- look-ups -------------------------------------------------------------------------

    /// The SCIM id to try first for an account: the cached one for its accountId, else its
    /// external id itself (an account read before Atlassian linked it).
    fn known_scim_id(&self, account: &AccountRef) -> Option<String> {
        let id = account.external_id.as_deref()?;
        Some(
            self.cache()
                .scim_ids
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        )
    }

    async fn scim_user(&self, account: &AccountRef, fresh: bool) -> Result<ScimUser, TargetError> {
        let known = if fresh {
            None
        } else {
            self.known_scim_id(account)
        };
        let user =
            scim_ops::require_user(&self.scim, &self.system, account, known.as_deref()).await?;
        self.remember(&user);
        Ok(user)
    }

    fn remember(&self, user: &ScimUser) {
        let Some(acc) = user.atlassian_account_id() else {
            return;
        };
        let mut cache = self.cache();
        if let Some(id) = user.id.as_deref() {
            cache.scim_ids.insert(acc.to_string(), id.to_string());
        }
        if let Some(employee) = user.external_id.as_deref() {
            cache
                .account_ids
                .insert(employee.to_string(), acc.to_string());
        }
    }

    /// The Atlassian accountId of an account: its external id, or (fresh) from SCIM.
    async fn account_id(&self, account: &AccountRef, fresh: bool) -> Result<String, TargetError> {
        if !fresh {
            if let Some(id) = &account.external_id {
                return Ok(id.clone());
            }
            if let Some(id) = self.cache().account_ids.get(&account.employee_id) {
                return Ok(id.clone());
            }
        }
        let user = self.scim_user(account, fresh).await?;
        user.atlassian_account_id()
            .map(str::to_string)
            .ok_or_else(|| {
                self.permanent(format!(
                "{} has a SCIM record but no Atlassian account yet (atlassianAccountId is missing)",
                account.email
            ))
            })
    }

    /// The group of that name, looked up afresh.
    async fn find_group(&self, name: &str) -> Result<Option<Group>, TargetError> {
        let groups = self.wiki.groups().await?;
        let mut cache = self.cache();
        cache.groups = groups.into_iter().map(|g| (g.name.clone(), g)).collect();
        Ok(cache.groups.get(name).cloned())
    }

    async fn group(&self, name: &str, fresh: bool) -> Result<Group, TargetError> {
        if !fresh && let Some(g) = self.cache().groups.get(name) {
            return Ok(g.clone());
        }
        self.find_group(name)
            .await?
            .ok_or_else(|| self.permanent(format!("group {name} does not exist")))
    }

    async fn space(&self, key: &str, fresh: bool) -> Result<Space, TargetError> {
        if !fresh && let Some(s) = self.cache().spaces.get(key) {
            return Ok(s.clone());
        }
        match self.wiki.space_by_key(key).await? {
            Some(s) => {
                self.cache().spaces.insert(key.to_string(), s.clone());
                Ok(s)
            }
            None => Err(self.permanent(format!(
                "space {key} does not exist or is not visible to {}",
                self.config.email
            ))),
        }
    }

    // ---- memberships ----------------------------------------------------------------------

    async fn is_member(&self, group: &Group, account_id: &str) -> Result<bool, TargetError> {
        if let Some(groups) = self.wiki.member_of(account_id).await? {
            return Ok(groups
                .iter()
                .any(|g| g.id == group.id || (g.id.is_empty() && g.name == group.name)));
        }
        Ok(self
            .wiki
            .members(group)
            .await?
            .iter()
            .any(|u| u.account_id == account_id))
    }

    /// Adds or removes a member. `look` first checks whether that is already so; a first
    /// attempt may skip it, since adding a member twice changes nothing and removing a
    /// non-member answers 204 (ref §2.4).
    async fn membership(
        &self,
        account: &AccountRef,
        group: &str,
        add: bool,
        look: bool,
    ) -> Result<StepOutcome, TargetError> {
        let mut fresh = false;
        loop {
            let g = self.group(group, fresh).await?;
            let account_id = self.account_id(account, fresh).await?;
            if (look || fresh) && self.is_member(&g, &account_id).await? == add {
                return Ok(StepOutcome::AlreadyDone);
            }
            let result = if add {
                self.wiki.add_member(&g, &account_id).await
            } else {
                self.wiki.remove_member(&g, &account_id).await
            };
            match result {
                Ok(()) => return Ok(StepOutcome::Applied),
                // A stale group or account id: look both up afresh, once.
                Err(e) if e.status() == Some(404) && !fresh => fresh = true,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn licence_group(&self, product: &str) -> Result<String, TargetError> {
        self.config
            .licence_groups
            .get(product)
            .cloned()
            .ok_or_else(|| {
                self.permanent(format!(
                    "no licence group is configured for product {product} (licence_groups)"
                ))
            })
    }

    // ---- space permissions ----------------------------------------------------------------

    /// Grants or revokes `operation` in `space` for a subject (`user` accountId or `group` id).
    async fn space_permission(
        &self,
        space_key: &str,
        subject_type: &str,
        subject_id: &str,
        operation: &str,
        grant: bool,
    ) -> Result<StepOutcome, TargetError> {
        let (key, target) = cloud_operation(operation)
            .ok_or_else(|| self.permanent(format!("unknown space operation {operation}")))?;
        let mut fresh = false;
        loop {
            let space = self.space(space_key, fresh).await?;
            let existing = match self.wiki.permissions(&space).await {
                Ok(p) => p,
                Err(e) if e.status() == Some(404) && !fresh => {
                    fresh = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let found = existing.iter().find(|p| {
                p.principal.kind == subject_type
                    && p.principal.id == subject_id
                    && operation_name(&p.operation.key, &p.operation.target_type) == operation
            });
            let result = match (grant, found) {
                (true, Some(_)) | (false, None) => return Ok(StepOutcome::AlreadyDone),
                (true, None) => self
                    .wiki
                    .grant(&space.key, subject_type, subject_id, &key, &target)
                    .await
                    .map(drop),
                (false, Some(p)) => self.wiki.revoke(&space.key, &p.id).await,
            };
            return match result {
                Ok(()) => Ok(StepOutcome::Applied),
                Err(e)
                    if grant
                        && e.status() == Some(400)
                        && e.to_string().contains("already exists") =>
                {
                    Ok(StepOutcome::AlreadyDone)
                }
                Err(e) if !grant && e.status() == Some(404) => Ok(StepOutcome::AlreadyDone),
                Err(e) => Err(e.into()),
            };
        }
    }

    async fn group_space_permission(
        &self,
        group: &str,
        space: &str,
        operation: &str,
        grant: bool,
    ) -> Result<StepOutcome, TargetError> {
        let g = self.group(group, false).await?;
        self.space_permission(space, "group", &g.id, operation, grant)
            .await
    }

    async fn user_space_permission(
        &self,
        account: &AccountRef,
        space: &str,
        operation: &str,
        grant: bool,
    ) -> Result<StepOutcome, TargetError> {
        let account_id = self.account_id(account, false).await?;
        let result = self
            .space_permission(space, "user", &account_id, operation, grant)
            .await;
        if result.is_ok() || account.external_id.is_none() {
            return result;
        }
        // The plan's account id may be stale: look the account up afresh, once.
        let fresh = self.account_id(account, true).await?;
        if fresh == account_id {
            return result;
        }
        self.space_permission(space, "user", &fresh, operation, grant)
            .await
    }
}

#[async_trait]
impl Target for ConfluenceCloudTarget {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_state(&self) -> Result<ActualState, TargetError> {
        self.read().await
    }

    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let system = self.system.as_str();
        match action {
            Action::CreateGroup { group } => {
                if self.find_group(group).await?.is_some() {
                    return Ok(StepOutcome::AlreadyDone);
                }
                match self.wiki.create_group(group).await {
                    Ok(g) => {
                        self.cache().groups.insert(g.name.clone(), g);
                        Ok(StepOutcome::Applied)
                    }
                    // "already exists" from a create whose first answer was lost.
                    Err(e) if matches!(e.status(), Some(400 | 409)) => {
                        match self.find_group(group).await? {
                            Some(_) => Ok(StepOutcome::AlreadyDone),
                            None => Err(e.into()),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::GrantGroupSpacePermission {
                group,
                space,
                operation,
            }
            | Action::RevokeGroupSpacePermission {
                group,
                space,
                operation,
            } => {
                let grant = matches!(action, Action::GrantGroupSpacePermission { .. });
                self.group_space_permission(group, space, operation, grant)
                    .await
            }
            Action::CreateAccount { account, active } => {
                let known = self.known_scim_id(account);
                let (outcome, user) = scim_ops::create_account(
                    &self.scim,
                    system,
                    account,
                    known.as_deref(),
                    *active,
                )
                .await?;
                self.remember(&user);
                Ok(outcome)
            }
            Action::UpdateAccount { account } => {
                let known = self.known_scim_id(account);
                scim_ops::update_account(&self.scim, system, account, known.as_deref()).await
            }
            Action::ActivateAccount { account } | Action::DeactivateAccount { account } => {
                let want = matches!(action, Action::ActivateAccount { .. });
                let known = self.known_scim_id(account);
                scim_ops::set_active(&self.scim, system, account, known.as_deref(), want).await
            }
            Action::Add {
                account,
                entitlement,
            }
            | Action::Remove {
                account,
                entitlement,
            } => {
                let add = matches!(action, Action::Add { .. });
                match entitlement {
                    Entitlement::Group { group } => {
                        self.membership(account, group, add, true).await
                    }
                    Entitlement::Licence { product } => {
                        let group = self.licence_group(product)?;
                        self.membership(account, &group, add, true).await
                    }
                    Entitlement::SpacePermission { space, operation } => {
                        self.user_space_permission(account, space, operation, add)
                            .await
                    }
                }
            }
        }
    }

    async fn apply_first(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let (account, entitlement, add) = match action {
            Action::Add {
                account,
                entitlement,
            } => (account, entitlement, true),
            Action::Remove {
                account,
                entitlement,
            } => (account, entitlement, false),
            _ => return self.apply(action).await,
        };
        match entitlement {
            Entitlement::Group { group } => self.membership(account, group, add, false).await,
            Entitlement::Licence { product } => {
                let group = self.licence_group(product)?;
                self.membership(account, &group, add, false).await
            }
            Entitlement::SpacePermission { .. } => self.apply(action).await,
        }
    }
}

//! A generic SCIM 2.0 target: any app that speaks SCIM. Accounts are SCIM users
//! (`external_id` = SCIM `id`, `employee_id` = `externalId`), group entitlements are SCIM
//! group memberships, groups are SCIM groups. Such an app has no space permissions or
//! licences: those actions fail permanently with a message saying so.
//!
//! ```toml
//! [targets.wiki]
//! kind = "scim"
//! base_url = "https://app.example/scim/v2"
//! token_env = "WIKI_SCIM_TOKEN"
//! ```
//!
//! The account operations (create, update, activate, deactivate) are shared with the
//! Confluence Cloud target, whose people live in Atlassian's SCIM directory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use roster_core::plan::{AccountRef, Action};
use roster_core::state::{Account, ActualState, Entitlement};
use roster_core::{StepOutcome, Target, TargetError};
use serde::Deserialize;
use serde_json::Value;

use crate::http::{HttpClient, HttpError, HttpPolicy};
use crate::scim_client::{PatchOp, ScimClient, ScimEmail, ScimGroup, ScimName, ScimUser};

/// `[targets.NAME]` with `kind = "scim"`. The bearer token is read from the environment
/// variable `token_env`, never from the file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimTargetConfig {
    pub base_url: String,
    pub token_env: String,
    #[serde(default)]
    pub http: HttpPolicy,
}

pub struct ScimTarget {
    system: String,
    scim: ScimClient,
}

impl ScimTarget {
    pub fn new(
        system: impl Into<String>,
        config: &ScimTargetConfig,
        token: impl Into<String>,
    ) -> Result<Self, TargetError> {
        let system = system.into();
        let http = HttpClient::new(format!("{system} (SCIM)"), config.http.clone())
            .map_err(|e| TargetError::Permanent(e.to_string()))?;
        Ok(ScimTarget {
            scim: ScimClient::new(Arc::new(http), &config.base_url, token),
            system,
        })
    }

    /// Reads the token from the environment variable the configuration names.
    pub fn from_env(
        system: impl Into<String>,
        config: &ScimTargetConfig,
    ) -> Result<Self, TargetError> {
        let system = system.into();
        let token = env_secret(&system, "token_env", &config.token_env)?;
        Self::new(system, config, token)
    }

    pub fn client(&self) -> &ScimClient {
        &self.scim
    }

    fn unsupported(&self, what: &str) -> TargetError {
        TargetError::Permanent(format!(
            "{} is a generic SCIM target: it has no {what}",
            self.system
        ))
    }

    async fn group(&self, name: &str) -> Result<ScimGroup, TargetError> {
        self.scim
            .find_group_by_display_name(name)
            .await?
            .ok_or_else(|| {
                TargetError::Permanent(format!("group {name} does not exist in {}", self.system))
            })
    }

    async fn membership(
        &self,
        account: &AccountRef,
        group: &str,
        add: bool,
    ) -> Result<StepOutcome, TargetError> {
        let user = require_user(
            &self.scim,
            &self.system,
            account,
            account.external_id.as_deref(),
        )
        .await?;
        let user_id = user.id.clone().unwrap_or_default();
        let group = self.group(group).await?;
        let group_id = group.id.clone().unwrap_or_default();
        // Look first: the group's members, else the user's (read-only) groups.
        let full = match &group.members {
            Some(_) => Some(group.clone()),
            None => self.scim.get_group(&group_id).await?,
        };
        let listed = full.as_ref().and_then(|g| g.members.as_ref());
        let member = listed.is_some_and(|m| m.iter().any(|m| m.value == user_id))
            || user.groups.iter().any(|g| g.value == group_id);
        let known = listed.is_some() || !user.groups.is_empty();
        if member == add && (add || known) {
            return Ok(StepOutcome::AlreadyDone);
        }
        let op = if add {
            PatchOp::add_members(&[&user_id])
        } else {
            PatchOp::remove_member(&user_id)
        };
        match self.scim.patch_group(&group_id, &[op]).await {
            Ok(_) => Ok(StepOutcome::Applied),
            // Removing a member who is not one: nothing to do.
            Err(e)
                if !add
                    && matches!(e.status(), Some(400) | Some(404))
                    && e.to_string().contains("noTarget") =>
            {
                Ok(StepOutcome::AlreadyDone)
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub(crate) fn env_secret(system: &str, key: &str, var: &str) -> Result<String, TargetError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(TargetError::Permanent(format!(
            "[targets.{system}] {key} names the environment variable {var}, which is not set"
        ))),
    }
}

/// The SCIM user of an account: by the known SCIM id, then `externalId` = employee id, then
/// `userName` = e-mail (the order [`ActualState::find_account`] uses).
pub(crate) async fn find_user(
    scim: &ScimClient,
    account: &AccountRef,
    known_id: Option<&str>,
) -> Result<Option<ScimUser>, HttpError> {
    if let Some(id) = known_id
        && let Some(u) = scim.get_user(id).await?
    {
        return Ok(Some(u));
    }
    if let Some(u) = scim
        .find_user_by("externalId", &account.employee_id)
        .await?
    {
        return Ok(Some(u));
    }
    scim.find_user_by("userName", &account.email).await
}

pub(crate) async fn require_user(
    scim: &ScimClient,
    system: &str,
    account: &AccountRef,
    known_id: Option<&str>,
) -> Result<ScimUser, TargetError> {
    find_user(scim, account, known_id).await?.ok_or_else(|| {
        TargetError::Permanent(format!(
            "account {} ({}) does not exist in {system}",
            account.email, account.employee_id
        ))
    })
}

/// The user Roster creates for an account.
pub(crate) fn new_user(account: &AccountRef, active: bool) -> ScimUser {
    let name = account.display_name.trim();
    let (given, family) = match name.split_once(' ') {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (name.to_string(), String::new()),
    };
    ScimUser {
        external_id: Some(account.employee_id.clone()),
        user_name: account.email.clone(),
        name: Some(ScimName {
            formatted: Some(name.to_string()),
            given_name: Some(given).filter(|s| !s.is_empty()),
            family_name: Some(family).filter(|s| !s.is_empty()),
            ..Default::default()
        }),
        display_name: Some(name.to_string()),
        emails: vec![ScimEmail::work(&account.email)],
        active: Some(active),
        ..Default::default()
    }
}

/// Creates the account unless a user already matches it. Returns the user either way.
pub(crate) async fn create_account(
    scim: &ScimClient,
    system: &str,
    account: &AccountRef,
    known_id: Option<&str>,
    active: bool,
) -> Result<(StepOutcome, ScimUser), TargetError> {
    if let Some(u) = find_user(scim, account, known_id).await? {
        return Ok((StepOutcome::AlreadyDone, u));
    }
    match scim.create_user(&new_user(account, active)).await {
        Ok(u) => Ok((StepOutcome::Applied, u)),
        Err(e) if e.status() == Some(409) => match find_user(scim, account, None).await? {
            // Created by an earlier attempt whose answer was lost.
            Some(u) => Ok((StepOutcome::AlreadyDone, u)),
            None => Err(TargetError::Permanent(format!(
                "{system}: cannot create {} ({}): {e}; no user with that userName or externalId is visible",
                account.email, account.employee_id
            ))),
        },
        Err(e) => Err(e.into()),
    }
}

/// The PATCH operations that bring a user's identity in line with the account.
pub(crate) fn identity_ops(user: &ScimUser, account: &AccountRef) -> Vec<PatchOp> {
    let mut ops = Vec::new();
    if user.user_name != account.email {
        ops.push(PatchOp::replace("userName", account.email.as_str()));
    }
    if user.primary_email() != Some(account.email.as_str()) {
        let emails =
            serde_json::to_value(vec![ScimEmail::work(&account.email)]).unwrap_or(Value::Null);
        ops.push(PatchOp::replace("emails", emails));
    }
    if user.display_name.as_deref() != Some(account.display_name.as_str()) {
        ops.push(PatchOp::replace(
            "displayName",
            account.display_name.as_str(),
        ));
    }
    if user.external_id.as_deref() != Some(account.employee_id.as_str()) {
        ops.push(PatchOp::replace("externalId", account.employee_id.as_str()));
    }
    ops
}

/// Applies `ops(user)` to the account's user; a 404 (stale id) is answered by a fresh lookup
/// and one more try.
async fn patch_account(
    scim: &ScimClient,
    system: &str,
    account: &AccountRef,
    known_id: Option<&str>,
    ops: impl Fn(&ScimUser) -> Vec<PatchOp>,
) -> Result<StepOutcome, TargetError> {
    let mut known = known_id;
    for attempt in 0..2 {
        let user = require_user(scim, system, account, known).await?;
        let ops = ops(&user);
        if ops.is_empty() {
            return Ok(StepOutcome::AlreadyDone);
        }
        let id = user.id.clone().unwrap_or_default();
        match scim.patch_user(&id, &ops).await {
            Ok(_) => return Ok(StepOutcome::Applied),
            Err(e) if e.status() == Some(404) && attempt == 0 => known = None,
            Err(e) => return Err(e.into()),
        }
    }
    Err(TargetError::Transient(format!(
        "{system}: the user of {} disappeared while being changed",
        account.email
    )))
}

pub(crate) async fn update_account(
    scim: &ScimClient,
    system: &str,
    account: &AccountRef,
    known_id: Option<&str>,
) -> Result<StepOutcome, TargetError> {
    patch_account(scim, system, account, known_id, |u| {
        identity_ops(u, account)
    })
    .await
}

pub(crate) async fn set_active(
    scim: &ScimClient,
    system: &str,
    account: &AccountRef,
    known_id: Option<&str>,
    active: bool,
) -> Result<StepOutcome, TargetError> {
    patch_account(scim, system, account, known_id, |u| {
        // A missing `active` is unknown: set it.
        if u.active == Some(active) {
            vec![]
        } else {
            vec![PatchOp::replace("active", active)]
        }
    })
    .await
}

/// The e-mail Roster matches people on: `userName` when it is an address, else the primary
/// e-mail.
pub(crate) fn account_email(user: &ScimUser) -> String {
    if user.user_name.contains('@') {
        user.user_name.clone()
    } else {
        user.primary_email().unwrap_or(&user.user_name).to_string()
    }
}

fn account_of(user: &ScimUser) -> Account {
    Account {
        external_id: user.id.clone().unwrap_or_default(),
        employee_id: user.external_id.clone().filter(|s| !s.is_empty()),
        email: account_email(user),
        display_name: user.display_name.clone().unwrap_or_default(),
        active: user.active.unwrap_or(true),
        last_active: None,
        entitlements: Default::default(),
    }
}

#[async_trait]
impl Target for ScimTarget {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_state(&self) -> Result<ActualState, TargetError> {
        let users = self.scim.list_users().await?;
        let groups = self.scim.list_groups().await?;
        let names: HashMap<&str, &str> = groups
            .iter()
            .filter_map(|g| Some((g.id.as_deref()?, g.display_name.as_str())))
            .collect();
        let mut accounts: Vec<Account> = users.iter().map(account_of).collect();
        let index: HashMap<String, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.external_id.clone(), i))
            .collect();
        for g in &groups {
            for m in g.members.iter().flatten() {
                if let Some(&i) = index.get(&m.value) {
                    accounts[i]
                        .entitlements
                        .insert(Entitlement::group(&g.display_name));
                }
            }
        }
        for (i, u) in users.iter().enumerate() {
            for g in &u.groups {
                let name = names
                    .get(g.value.as_str())
                    .map(|s| s.to_string())
                    .or_else(|| g.display.clone());
                if let Some(name) = name {
                    accounts[i].entitlements.insert(Entitlement::group(name));
                }
            }
        }
        Ok(ActualState {
            accounts,
            groups: groups
                .iter()
                .map(|g| g.display_name.clone())
                .collect::<BTreeSet<_>>(),
            group_space_permissions: BTreeSet::new(),
        })
    }

    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let scim = &self.scim;
        let system = self.system.as_str();
        match action {
            Action::CreateGroup { group } => {
                if scim.find_group_by_display_name(group).await?.is_some() {
                    return Ok(StepOutcome::AlreadyDone);
                }
                let new = ScimGroup {
                    display_name: group.clone(),
                    members: Some(vec![]),
                    ..Default::default()
                };
                match scim.create_group(&new).await {
                    Ok(_) => Ok(StepOutcome::Applied),
                    Err(e) if e.status() == Some(409) => {
                        if scim.find_group_by_display_name(group).await?.is_some() {
                            Ok(StepOutcome::AlreadyDone)
                        } else {
                            Err(e.into())
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::GrantGroupSpacePermission { .. }
            | Action::RevokeGroupSpacePermission { .. } => {
                Err(self.unsupported("space permissions"))
            }
            Action::CreateAccount { account, active } => {
                let known = account.external_id.as_deref();
                Ok(create_account(scim, system, account, known, *active)
                    .await?
                    .0)
            }
            Action::UpdateAccount { account } => {
                update_account(scim, system, account, account.external_id.as_deref()).await
            }
            Action::ActivateAccount { account } | Action::DeactivateAccount { account } => {
                let want = matches!(action, Action::ActivateAccount { .. });
                set_active(scim, system, account, account.external_id.as_deref(), want).await
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
                    Entitlement::Group { group } => self.membership(account, group, add).await,
                    Entitlement::SpacePermission { .. } => {
                        Err(self.unsupported("space permissions"))
                    }
                    Entitlement::Licence { .. } => Err(self.unsupported("licences")),
                }
            }
        }
    }
}

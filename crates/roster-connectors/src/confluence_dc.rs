//! The Confluence Data Center target: users through the admin user REST, groups and
//! memberships, licences as membership of a licence group, and space permissions through the
//! REST of DC 9.2+ (`docs/reference/atlassian-api.md` §4).
//!
//! Data Center has no field for an external id, so Roster names the users it creates after
//! the employee id: username = employee id in lower case, and reading reports
//! `employee_id = USERNAME` (upper case) for every user. Users that match nobody are left alone
//! by the plan.
//!
//! Every `apply` looks at the current state first, so a step retried after a lost answer
//! reports [`StepOutcome::AlreadyDone`] instead of doing the change twice; creates are never
//! resent blindly (the HTTP client answers [`HttpError::Uncertain`], a transient error, and the
//! retry looks again).
//!
//! ```toml
//! [systems.confluence]
//! kind = "confluence_dc"
//! base_url = "https://confluence.example.com"   # with the context path, if any
//! pat_env = "CONFLUENCE_PAT"                    # or: username = "roster" + password_env
//! licence_groups = { confluence = "confluence-users" }
//! ```

mod check;
mod config;
mod mapping;
mod read;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use reqwest::RequestBuilder;
use roster_core::plan::{AccountRef, Action};
use roster_core::state::{ActualState, Entitlement};
use roster_core::{StepOutcome, Target, TargetError};
use serde_json::{Value, json};

use crate::http::{HttpClient, HttpError, Idempotence};

pub use config::{ConfluenceDcConfig, DcSecrets};
use mapping::{DcUser, enc, text};
pub use mapping::{dc_pair, roster_operation};

enum Auth {
    Basic { username: String, password: String },
    Bearer(String),
}

/// A Confluence Data Center site as a [`Target`].
pub struct ConfluenceDcTarget {
    system: String,
    base: String,
    auth: Auth,
    /// The variables the secrets came from, named in connection checks.
    pat_env: Option<String>,
    password_env: Option<String>,
    licence_groups: BTreeMap<String, String>,
    http: HttpClient,
}

/// Items per page asked for (DC caps most listings at 200, ref §4.2).
pub(crate) const PAGE: usize = 100;

fn permanent(message: String) -> TargetError {
    TargetError::Permanent(message)
}

impl ConfluenceDcTarget {
    /// A target with secrets already resolved: a PAT when given, else Basic with the
    /// configured username and the password.
    pub fn new(
        system_name: impl Into<String>,
        config: ConfluenceDcConfig,
        secrets: DcSecrets,
    ) -> Result<Self, TargetError> {
        let system = system_name.into();
        let auth = match (secrets.pat, config.username, secrets.password) {
            (Some(pat), _, _) => Auth::Bearer(pat),
            (None, Some(username), Some(password)) => Auth::Basic { username, password },
            _ => {
                return Err(permanent(format!(
                    "{system}: Confluence DC needs pat_env, or username and password_env"
                )));
            }
        };
        let http = HttpClient::new(system.clone(), config.http).map_err(TargetError::from)?;
        Ok(ConfluenceDcTarget {
            system,
            base: config.base_url.trim_end_matches('/').to_string(),
            auth,
            pat_env: config.pat_env,
            password_env: config.password_env,
            licence_groups: config.licence_groups,
            http,
        })
    }

    /// [`ConfluenceDcTarget::new`] with the secrets read from the named environment variables.
    pub fn from_env(
        system_name: impl Into<String>,
        config: ConfluenceDcConfig,
    ) -> Result<Self, TargetError> {
        let secrets = DcSecrets::from_env(&config)?;
        Self::new(system_name, config, secrets)
    }

    fn authed(&self, rb: RequestBuilder) -> RequestBuilder {
        let rb = rb.header("Accept", "application/json");
        match &self.auth {
            Auth::Basic { username, password } => rb.basic_auth(username, Some(password)),
            Auth::Bearer(pat) => rb.bearer_auth(pat),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, what: &str, path: &str) -> Result<Value, TargetError> {
        let url = self.url(path);
        Ok(self
            .http
            .json(what, Idempotence::Idempotent, |c| self.authed(c.get(&url)))
            .await?)
    }

    /// A GET whose 404 means "there is none".
    async fn get_opt(&self, what: &str, path: &str) -> Result<Option<Value>, TargetError> {
        let url = self.url(path);
        match self
            .http
            .json(what, Idempotence::Idempotent, |c| self.authed(c.get(&url)))
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A write (XSRF header, JSON body when given) (ref §4.1).
    async fn write(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotence: Idempotence,
    ) -> Result<(), HttpError> {
        let url = self.url(path);
        self.http
            .send(what, idempotence, |c| {
                let rb = self
                    .authed(c.request(method.clone(), &url))
                    .header("X-Atlassian-Token", "no-check");
                match &body {
                    Some(b) => rb.json(b),
                    None => rb,
                }
            })
            .await
            .map(|_| ())
    }

    /// Every item of a `start`/`limit` listing, following `_links.next` (ref §4.2: a short
    /// page does not mean the end); a repeated `next` ends the walk with an error.
    async fn all(&self, what: &str, first: &str) -> Result<Vec<Value>, TargetError> {
        let mut path = first.to_string();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        loop {
            let page = self.get(what, &path).await?;
            let results = page["results"].as_array().cloned().unwrap_or_default();
            let empty = results.is_empty();
            out.extend(results);
            match page["_links"]["next"].as_str() {
                Some(next) if !empty => {
                    if !seen.insert(next.to_string()) {
                        return Err(permanent(format!(
                            "{}: {what}: the listing repeats page {next}",
                            self.system
                        )));
                    }
                    path = next.to_string();
                }
                _ => return Ok(out),
            }
        }
    }

    /// The account a step is about: by userKey, then by username = employee id.
    async fn find_user(&self, r: &AccountRef) -> Result<Option<DcUser>, TargetError> {
        if let Some(key) = &r.external_id {
            let path = format!("/rest/api/user?key={}&expand=status", enc(key));
            if let Some(v) = self.get_opt("look up a user by key", &path).await? {
                return Ok(Some(DcUser::from_json(&v)));
            }
        }
        let username = r.employee_id.to_lowercase();
        let path = format!("/rest/api/user?username={}&expand=status", enc(&username));
        Ok(self
            .get_opt(&format!("look up user {username}"), &path)
            .await?
            .map(|v| DcUser::from_json(&v)))
    }

    async fn existing_user(&self, r: &AccountRef) -> Result<DcUser, TargetError> {
        self.find_user(r).await?.ok_or_else(|| {
            permanent(format!(
                "{}: account {} ({}) does not exist",
                self.system, r.email, r.employee_id
            ))
        })
    }

    async fn groups_of(&self, username: &str) -> Result<BTreeSet<String>, TargetError> {
        let path = format!(
            "/rest/api/user/memberof?username={}&limit={PAGE}",
            enc(username)
        );
        let groups = self
            .all(&format!("read the groups of {username}"), &path)
            .await?;
        Ok(groups.iter().map(|g| text(g, "name")).collect())
    }

    async fn set_active(&self, user: &DcUser, active: bool) -> Result<StepOutcome, TargetError> {
        if user.active == active {
            return Ok(StepOutcome::AlreadyDone);
        }
        let verb = if active { "enable" } else { "disable" };
        let path = format!("/rest/api/admin/user/{}/{verb}", enc(&user.username));
        let what = format!("{verb} user {}", user.username);
        self.write(
            &what,
            reqwest::Method::PUT,
            &path,
            None,
            Idempotence::Idempotent,
        )
        .await?;
        Ok(StepOutcome::Applied)
    }

    async fn create_group(&self, group: &str) -> Result<StepOutcome, TargetError> {
        let path = format!("/rest/api/group/{}", enc(group));
        if self
            .get_opt(&format!("look up group {group}"), &path)
            .await?
            .is_some()
        {
            return Ok(StepOutcome::AlreadyDone);
        }
        let body = json!({"type": "group", "name": group});
        let what = format!("create group {group}");
        match self
            .write(
                &what,
                reqwest::Method::POST,
                "/rest/api/admin/group",
                Some(body),
                Idempotence::NotIdempotent,
            )
            .await
        {
            Ok(()) => Ok(StepOutcome::Applied),
            Err(e) if e.status() == Some(409) => Ok(StepOutcome::AlreadyDone),
            Err(e) => Err(e.into()),
        }
    }

    /// Grants or revokes one pair for a subject path (`group/NAME` or `user/KEY`), after
    /// reading what the subject holds.
    async fn space_permission(
        &self,
        subject: &str,
        space: &str,
        operation: &str,
        grant: bool,
    ) -> Result<StepOutcome, TargetError> {
        let (target, op) = dc_pair(operation)?;
        let base = format!("/rest/api/space/{}/permissions/{subject}", enc(space));
        let what = format!("read the permissions of {subject} on space {space}");
        let held = match self.get_opt(&what, &base).await? {
            Some(list) => list.as_array().is_some_and(|items| {
                items.iter().any(|p| {
                    p["operation"]["operationKey"] == op.as_str()
                        && p["operation"]["targetType"] == target.as_str()
                })
            }),
            None if grant => {
                return Err(permanent(format!(
                    "{}: space {space} or {subject} does not exist",
                    self.system
                )));
            }
            None => false,
        };
        if held == grant {
            return Ok(StepOutcome::AlreadyDone);
        }
        let verb = if grant { "grant" } else { "revoke" };
        let body = json!([{"operationKey": op, "targetType": target}]);
        let what = format!("{verb} {operation} on space {space} to {subject}");
        self.write(
            &what,
            reqwest::Method::PUT,
            &format!("{base}/{verb}"),
            Some(body),
            Idempotence::Idempotent,
        )
        .await?;
        Ok(StepOutcome::Applied)
    }

    async fn create_account(
        &self,
        r: &AccountRef,
        active: bool,
    ) -> Result<StepOutcome, TargetError> {
        if let Some(user) = self.find_user(r).await? {
            // Created by an earlier attempt whose answer was lost: finish the step.
            return self.set_active(&user, active).await;
        }
        let username = r.employee_id.to_lowercase();
        let body = json!({
            "userName": username,
            "fullName": r.display_name,
            "email": r.email,
            "notifyViaEmail": true,
        });
        let what = format!("create user {username}");
        match self
            .write(
                &what,
                reqwest::Method::POST,
                "/rest/api/admin/user",
                Some(body),
                Idempotence::NotIdempotent,
            )
            .await
        {
            Ok(()) => {}
            Err(e) if e.status() == Some(409) => {}
            Err(e) => return Err(e.into()),
        }
        if !active {
            let user = self.existing_user(r).await?;
            self.set_active(&user, false).await?;
        }
        Ok(StepOutcome::Applied)
    }

    async fn update_account(&self, r: &AccountRef) -> Result<StepOutcome, TargetError> {
        let user = self.existing_user(r).await?;
        if user.email == r.email && user.display_name == r.display_name {
            return Ok(StepOutcome::AlreadyDone);
        }
        let path = format!("/rest/api/admin/user/{}", enc(&user.username));
        let body = json!({"email": r.email, "fullName": r.display_name});
        let what = format!("update user {}", user.username);
        self.write(
            &what,
            reqwest::Method::PUT,
            &path,
            Some(body),
            Idempotence::Idempotent,
        )
        .await?;
        Ok(StepOutcome::Applied)
    }

    async fn membership(
        &self,
        r: &AccountRef,
        group: &str,
        add: bool,
    ) -> Result<StepOutcome, TargetError> {
        let user = self.existing_user(r).await?;
        let member = self.groups_of(&user.username).await?.contains(group);
        if member == add {
            return Ok(StepOutcome::AlreadyDone);
        }
        let path = format!(
            "/rest/api/user/{}/group/{}",
            enc(&user.username),
            enc(group)
        );
        let (method, verb) = if add {
            (reqwest::Method::PUT, "add")
        } else {
            (reqwest::Method::DELETE, "remove")
        };
        let what = format!("{verb} {} to group {group}", user.username);
        match self
            .write(&what, method, &path, None, Idempotence::Idempotent)
            .await
        {
            Ok(()) => Ok(StepOutcome::Applied),
            Err(e) if e.status() == Some(404) => Err(permanent(format!(
                "{}: group {group} does not exist",
                self.system
            ))),
            Err(e) => Err(e.into()),
        }
    }

    fn licence_group(&self, product: &str) -> Result<&str, TargetError> {
        self.licence_groups
            .get(product)
            .map(String::as_str)
            .ok_or_else(|| {
                permanent(format!(
                    "{}: no licence group is configured for product \"{product}\" (licence_groups)",
                    self.system
                ))
            })
    }

    async fn entitlement(
        &self,
        r: &AccountRef,
        e: &Entitlement,
        add: bool,
    ) -> Result<StepOutcome, TargetError> {
        match e {
            Entitlement::Group { group } => self.membership(r, group, add).await,
            Entitlement::Licence { product } => {
                let group = self.licence_group(product)?.to_string();
                self.membership(r, &group, add).await
            }
            Entitlement::SpacePermission { space, operation } => {
                dc_pair(operation)?;
                let user = self.existing_user(r).await?;
                let subject = format!("user/{}", enc(&user.key));
                self.space_permission(&subject, space, operation, add).await
            }
        }
    }
}

#[async_trait]
impl Target for ConfluenceDcTarget {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_state(&self) -> Result<ActualState, TargetError> {
        self.read_site().await
    }

    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        match action {
            Action::CreateGroup { group } => self.create_group(group).await,
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
                let subject = format!("group/{}", enc(group));
                self.space_permission(&subject, space, operation, grant)
                    .await
            }
            Action::CreateAccount { account, active } => {
                self.create_account(account, *active).await
            }
            Action::UpdateAccount { account } => self.update_account(account).await,
            Action::ActivateAccount { account } | Action::DeactivateAccount { account } => {
                let want = matches!(action, Action::ActivateAccount { .. });
                let user = self.existing_user(account).await?;
                self.set_active(&user, want).await
            }
            Action::Add {
                account,
                entitlement,
            } => self.entitlement(account, entitlement, true).await,
            Action::Remove {
                account,
                entitlement,
            } => self.entitlement(account, entitlement, false).await,
        }
    }
}

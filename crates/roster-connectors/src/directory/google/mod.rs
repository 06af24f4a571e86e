//! Google Workspace through the Admin SDK Directory API (reference §11).
//!
//! Credentials: either an OAuth access token from the environment (obtained elsewhere; they
//! last an hour), or a service-account key with domain-wide delegation, impersonating an
//! admin (`subject`), from which Roster gets and renews tokens itself.
//!
//! Users are listed with `nextPageToken`; deleted users only appear with `showDeleted=true`,
//! so a second listing reads them as deprovisioned. Groups come from each group's members.
//! Over quota, Google answers 403 `userRateLimitExceeded` (not 429): retried with back-off.

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use roster_core::directory::{DirectoryAccount, DirectoryStatus};
use serde::Deserialize;
use serde_json::Value;

mod auth;

use super::{
    Cursors, DirectoryListing, ReaderError, StatusReader, detail, encode, from_http, given,
    instant, secret, yes,
};
use crate::check::{ConnectionCheck, check};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence, RateSignals};
use auth::{Auth, ServiceAccount, key_json};

pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
pub const GROUP_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";

/// `[directories.NAME]` with `kind = "google"`. Exactly one of `access_token_env` and
/// `service_account_key_env` is set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleConfig {
    /// `https://admin.googleapis.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The account's customer id, or `my_customer` (the admin's own account).
    #[serde(default = "default_customer")]
    pub customer: String,
    /// List one domain of the account instead of the whole customer.
    #[serde(default)]
    pub domain: Option<String>,
    /// An environment variable holding an OAuth access token with the scopes below.
    #[serde(default)]
    pub access_token_env: Option<String>,
    /// An environment variable holding a service-account key: the key file's JSON, or the
    /// path of the file.
    #[serde(default)]
    pub service_account_key_env: Option<String>,
    /// The admin the service account acts as (domain-wide delegation).
    #[serde(default)]
    pub subject: Option<String>,
    /// Overrides the key file's `token_uri`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Read group memberships (scope `admin.directory.group.readonly`; default true).
    #[serde(default = "yes")]
    pub groups: bool,
    /// Also list deleted users, as deprovisioned (default true).
    #[serde(default = "yes")]
    pub include_deleted: bool,
    /// `maxResults` per page (users: default and largest 500; groups and members: 200).
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub http: HttpPolicy,
}

fn default_base_url() -> String {
    "https://admin.googleapis.com".to_string()
}

fn default_customer() -> String {
    "my_customer".to_string()
}

pub struct GoogleReader {
    system: String,
    config: GoogleConfig,
    base: String,
    auth: Auth,
    http: HttpClient,
}

impl std::fmt::Debug for GoogleReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleReader")
            .field("system", &self.system)
            .field("base_url", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    #[serde(default)]
    primary_email: String,
    #[serde(default)]
    name: Option<Name>,
    #[serde(default)]
    suspended: Option<bool>,
    #[serde(default)]
    suspension_reason: Option<String>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    last_login_time: Option<String>,
    #[serde(default)]
    external_ids: Vec<ExternalId>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name {
    #[serde(default)]
    full_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExternalId {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    value: String,
}

/// Over quota, or too many operations at once: back off and retry (§11.4).
fn rate_limited(status: StatusCode, body: &[u8]) -> bool {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    v.pointer("/error/errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e["reason"].as_str())
        .any(|r| {
            matches!(
                r,
                "userRateLimitExceeded" | "rateLimitExceeded" | "quotaExceeded"
            )
        })
}

impl GoogleReader {
    pub fn new(
        system: &str,
        config: GoogleConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ReaderError> {
        let config_error = |message: String| ReaderError::Config {
            system: system.to_string(),
            message,
        };
        let auth = match (&config.access_token_env, &config.service_account_key_env) {
            (Some(var), None) => Auth::Token {
                value: secret(system, "access_token_env", var, env)?,
                env: var.clone(),
            },
            (None, Some(var)) => {
                let value = secret(system, "service_account_key_env", var, env)?;
                let account = ServiceAccount::parse(&key_json(system, var, &value)?)
                    .map_err(|e| config_error(format!("{var}: {e}")))?;
                let subject = given(config.subject.as_deref()).ok_or_else(|| {
                    config_error(
                        "service_account_key_env needs subject: the admin the service account acts as"
                            .into(),
                    )
                })?;
                Auth::Delegated {
                    token_url: config
                        .token_url
                        .clone()
                        .unwrap_or_else(|| account.token_uri.clone()),
                    account: Box::new(account),
                    subject,
                    env: var.clone(),
                    cached: tokio::sync::Mutex::new(None),
                }
            }
            _ => {
                return Err(config_error(format!(
                    "[directories.{system}] needs exactly one of access_token_env and service_account_key_env"
                )));
            }
        };
        let http = HttpClient::new("the Google Directory API", config.http.clone())
            .map_err(|e| config_error(e.to_string()))?
            .with_signals(RateSignals {
                limited: Some(rate_limited),
                ..RateSignals::default()
            });
        Ok(GoogleReader {
            system: system.to_string(),
            base: config.base_url.trim_end_matches('/').to_string(),
            auth,
            http,
            config,
        })
    }

    fn scopes(&self) -> Vec<&'static str> {
        let mut s = vec![USER_SCOPE];
        if self.config.groups {
            s.push(GROUP_SCOPE);
        }
        s
    }

    fn protocol(&self, message: String) -> ReaderError {
        ReaderError::Protocol {
            system: self.system.clone(),
            message,
        }
    }

    /// A Directory API error, with the scope `scope` named when the token lacks it.
    fn error(&self, e: &HttpError, scope: &str) -> ReaderError {
        let short = scope.trim_start_matches("https://www.googleapis.com/auth/");
        let text = detail(e);
        let (on_401, who) = match &self.auth {
            Auth::Token { env, .. } => (
                format!(
                    "Google access token rejected (401): it may have expired (they last an hour): put a fresh one in {env}, or use service_account_key_env"
                ),
                "the token's user".to_string(),
            ),
            Auth::Delegated { subject, .. } => (
                format!("Google rejected a fresh access token for {subject} (401)"),
                subject.clone(),
            ),
        };
        let on_403 = if text.contains("insufficientPermissions") {
            match &self.auth {
                Auth::Token { env, .. } => format!(
                    "Google: the access token in {env} lacks scope {short}: request it with that scope"
                ),
                Auth::Delegated { .. } => {
                    format!("Google: domain-wide delegation missing scope {short}")
                }
            }
        } else {
            format!(
                "Google: {who} may not read the directory: make it an admin with the Users › Read (and Groups › Read) privileges"
            )
        };
        if matches!(e, HttpError::Status { status: 400, .. }) {
            return self.protocol(format!(
                "Google refused the request: check customer ({}) and domain ({}) ({text})",
                self.config.customer,
                self.config.domain.as_deref().unwrap_or("unset")
            ));
        }
        from_http(&self.system, e, &on_401, &on_403)
    }

    async fn get(&self, what: &str, url: &str, scope: &str) -> Result<Value, ReaderError> {
        let mut refresh = false;
        loop {
            let token = self.token(refresh).await?;
            let r = self
                .http
                .json(what, Idempotence::Idempotent, |c| {
                    c.get(url)
                        .bearer_auth(&token)
                        .header(ACCEPT, "application/json")
                })
                .await;
            match r {
                Err(HttpError::Unauthorized { .. })
                    if !refresh && matches!(self.auth, Auth::Delegated { .. }) =>
                {
                    refresh = true
                }
                other => return other.map_err(|e| self.error(&e, scope)),
            }
        }
    }

    fn owner(&self) -> String {
        match &self.config.domain {
            Some(d) => format!("domain={}", encode(d)),
            None => format!("customer={}", encode(&self.config.customer)),
        }
    }

    /// Every item under `key` of a paged list, following `nextPageToken` to the end.
    async fn all(
        &self,
        what: &str,
        first: String,
        key: &str,
        scope: &str,
    ) -> Result<Vec<Value>, ReaderError> {
        let mut out = Vec::new();
        let mut url = first.clone();
        let mut cursors = Cursors::new(what);
        loop {
            let mut page = self.get(what, &url, scope).await?;
            let items = match page.get_mut(key).map(Value::take) {
                Some(Value::Array(items)) => items,
                // An empty page has no array at all.
                _ => Vec::new(),
            };
            let empty = items.is_empty();
            out.extend(items);
            match page["nextPageToken"].as_str() {
                Some(next) if !empty && !next.is_empty() => {
                    cursors.next(&self.system, next)?;
                    url = format!("{first}&pageToken={}", encode(next));
                }
                _ => return Ok(out),
            }
        }
    }

    fn page(&self, largest: u32) -> u32 {
        self.config.page_size.unwrap_or(largest).clamp(1, largest)
    }

    async fn users(&self, deleted: bool) -> Result<Vec<User>, ReaderError> {
        let mut url = format!(
            "{}/admin/directory/v1/users?{}&maxResults={}",
            self.base,
            self.owner(),
            self.page(500)
        );
        if deleted {
            url.push_str("&showDeleted=true");
        }
        let what = if deleted {
            "list deleted users"
        } else {
            "list users"
        };
        self.all(what, url, "users", USER_SCOPE)
            .await?
            .into_iter()
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| self.protocol(format!("a user in the listing is malformed: {e}")))
            })
            .collect()
    }

    async fn memberships(&self) -> Result<HashMap<String, Vec<String>>, ReaderError> {
        let size = self.page(200);
        let groups = self
            .all(
                "list groups",
                format!(
                    "{}/admin/directory/v1/groups?{}&maxResults={size}",
                    self.base,
                    self.owner()
                ),
                "groups",
                GROUP_SCOPE,
            )
            .await?;
        let mut of_user: HashMap<String, Vec<String>> = HashMap::new();
        for g in &groups {
            let Some(key) = g["id"].as_str().or(g["email"].as_str()) else {
                continue;
            };
            let name = g["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(g["email"].as_str())
                .unwrap_or(key)
                .to_string();
            let members = self
                .all(
                    &format!("list members of group {name}"),
                    format!(
                        "{}/admin/directory/v1/groups/{}/members?maxResults={size}",
                        self.base,
                        encode(key)
                    ),
                    "members",
                    GROUP_SCOPE,
                )
                .await?;
            for m in members
                .iter()
                .filter(|m| m["type"].as_str() == Some("USER"))
            {
                if let Some(id) = m["id"].as_str() {
                    of_user
                        .entry(id.to_string())
                        .or_default()
                        .push(name.clone());
                }
            }
        }
        Ok(of_user)
    }
}

/// Google's flags onto Roster's status (§11.2): archived and suspended users cannot sign in;
/// deleted ones (listed with `showDeleted`) are gone.
pub fn status(suspended: bool, archived: bool, deleted: bool) -> DirectoryStatus {
    if deleted {
        DirectoryStatus::Deprovisioned
    } else if suspended || archived {
        DirectoryStatus::Suspended
    } else {
        DirectoryStatus::Active
    }
}

fn account(u: User, deleted: bool, groups: Vec<String>) -> DirectoryAccount {
    let suspended = u.suspended.unwrap_or(false);
    let archived = u.archived.unwrap_or(false);
    let vendor_status = if deleted {
        "deleted".to_string()
    } else if archived {
        "archived".to_string()
    } else if suspended {
        match given(u.suspension_reason.as_deref()) {
            Some(r) => format!("suspended ({r})"),
            None => "suspended".to_string(),
        }
    } else {
        "active".to_string()
    };
    let employee_id = u
        .external_ids
        .iter()
        .find(|x| x.kind == "organization")
        .and_then(|x| given(Some(&x.value)));
    DirectoryAccount {
        login: u.primary_email.clone(),
        email: given(Some(&u.primary_email)),
        employee_id,
        display_name: u
            .name
            .and_then(|n| given(n.full_name.as_deref()))
            .unwrap_or_default(),
        status: status(suspended, archived, deleted),
        vendor_status,
        // The epoch means "never" (§11.2); `instant` drops it.
        last_sign_in: instant(u.last_login_time.as_deref()),
        groups,
        id: u.id,
    }
}

#[async_trait]
impl StatusReader for GoogleReader {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_accounts(&self) -> Result<DirectoryListing, ReaderError> {
        let users = self.users(false).await?;
        let deleted = if self.config.include_deleted {
            self.users(true).await?
        } else {
            Vec::new()
        };
        let mut groups = if self.config.groups {
            self.memberships().await?
        } else {
            HashMap::new()
        };
        let mut take = |id: &str| {
            let mut g = groups.remove(id).unwrap_or_default();
            g.sort();
            g
        };
        let mut accounts: Vec<DirectoryAccount> = Vec::with_capacity(users.len() + deleted.len());
        for u in users {
            let g = take(&u.id);
            accounts.push(account(u, false, g));
        }
        for u in deleted {
            // A deleted account's id may be reused by no one, but a restore between the two
            // listings would show it twice: the live one wins.
            if accounts.iter().any(|a| a.id == u.id) {
                continue;
            }
            accounts.push(account(u, true, Vec::new()));
        }
        Ok(DirectoryListing {
            accounts,
            warnings: Vec::new(),
        })
    }

    async fn check(&self) -> Vec<ConnectionCheck> {
        let mut checks = Vec::new();
        let credentials = match &self.auth {
            Auth::Token { env, .. } => Ok(format!("access token read from {env}")),
            Auth::Delegated { subject, .. } => match self.token(true).await {
                Ok(_) => Ok(format!("service account may act as {subject}")),
                Err(e @ ReaderError::Permission { .. }) => {
                    // Ask for each scope alone to name the ones delegation lacks.
                    let mut missing = Vec::new();
                    for scope in self.scopes() {
                        if self.exchange(&[scope]).await.is_err() {
                            missing.push(scope);
                        }
                    }
                    Err(if missing.is_empty() {
                        e.to_string()
                    } else {
                        self.exchange_refused(
                            &HttpError::Unauthorized {
                                system: self.system.clone(),
                                message: "unauthorized_client".into(),
                            },
                            &missing,
                        )
                        .to_string()
                    })
                }
                Err(e) => Err(e.to_string()),
            },
        };
        let ok = credentials.is_ok();
        checks.push(check("Google credentials", credentials));
        if !ok {
            return checks;
        }
        let mut probes = vec![(
            "Google users (admin.directory.user.readonly)",
            format!(
                "{}/admin/directory/v1/users?{}&maxResults=1",
                self.base,
                self.owner()
            ),
            USER_SCOPE,
        )];
        if self.config.groups {
            probes.push((
                "Google groups (admin.directory.group.readonly)",
                format!(
                    "{}/admin/directory/v1/groups?{}&maxResults=1",
                    self.base,
                    self.owner()
                ),
                GROUP_SCOPE,
            ));
        }
        for (name, url, scope) in probes {
            let r = self.get(name, &url, scope).await;
            checks.push(check(
                name,
                r.map(|_| "granted".to_string()).map_err(|e| e.to_string()),
            ));
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_onto_statuses() {
        assert_eq!(status(false, false, false), DirectoryStatus::Active);
        assert_eq!(status(true, false, false), DirectoryStatus::Suspended);
        assert_eq!(status(false, true, false), DirectoryStatus::Suspended);
        assert_eq!(status(false, false, true), DirectoryStatus::Deprovisioned);
    }

    #[test]
    fn only_quota_reasons_count_as_rate_limits() {
        let body = |reason: &str| {
            format!(
                r#"{{"error":{{"code":403,"message":"m","errors":[{{"domain":"global","reason":"{reason}","message":"m"}}]}}}}"#
            )
        };
        for r in [
            "userRateLimitExceeded",
            "rateLimitExceeded",
            "quotaExceeded",
        ] {
            assert!(
                rate_limited(StatusCode::FORBIDDEN, body(r).as_bytes()),
                "{r}"
            );
        }
        assert!(!rate_limited(
            StatusCode::FORBIDDEN,
            body("insufficientPermissions").as_bytes()
        ));
        assert!(!rate_limited(StatusCode::FORBIDDEN, b"not json"));
        assert!(!rate_limited(
            StatusCode::NOT_FOUND,
            body("userRateLimitExceeded").as_bytes()
        ));
    }
}

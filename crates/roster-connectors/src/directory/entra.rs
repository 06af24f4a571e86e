//! Microsoft Entra ID through Microsoft Graph v1.0, as an application (OAuth 2.0 client
//! credentials, reference §10.1).
//!
//! `accountEnabled` is not among the default properties, so users are listed with `$select`
//! (§10.2), following `@odata.nextLink`. `signInActivity` needs AuditLog.Read.All (and, in
//! practice, a premium licence): when Graph refuses it, the users are read again without it
//! and the listing says so. Groups come from each group's direct members, one request per
//! group and page instead of one `memberOf` per user.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use roster_core::directory::{DirectoryAccount, DirectoryStatus};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Cursors, DirectoryListing, ReaderError, StatusReader, detail, from_http, given, instant,
    same_origin, secret, yes,
};
use crate::check::{ConnectionCheck, check};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence};

/// `[directories.NAME]` with `kind = "entra"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// Environment variables holding the app registration's client id and secret value.
    pub client_id_env: String,
    pub client_secret_env: String,
    /// `https://graph.microsoft.com` unless a national cloud.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Default `https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Read group memberships (needs GroupMember.Read.All; default true).
    #[serde(default = "yes")]
    pub groups: bool,
    /// Read last sign-in times (needs AuditLog.Read.All; default true). Refused, the read goes
    /// on without them and warns.
    #[serde(default = "yes")]
    pub sign_in_activity: bool,
    /// `$top` per page (default and largest 999; at most 500 while reading sign-in activity).
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub http: HttpPolicy,
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com".to_string()
}

const MAX_TOP: u32 = 999;
/// `$select=signInActivity` is throttled harder (§10.6).
const MAX_TOP_SIGN_IN: u32 = 500;
const USER_FIELDS: &str =
    "id,userPrincipalName,mail,displayName,givenName,surname,accountEnabled,employeeId,userType";

struct Token {
    value: String,
    /// Renewed a minute before it expires.
    renew_at: Instant,
}

pub struct EntraReader {
    system: String,
    config: EntraConfig,
    graph: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    http: HttpClient,
    login: HttpClient,
    token: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for EntraReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraReader")
            .field("system", &self.system)
            .field("graph_url", &self.graph)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Why a Graph call failed: before it was answered (the token, a paging loop), or the answer.
enum Failure {
    Reader(ReaderError),
    Http(HttpError),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    surname: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    employee_id: Option<String>,
    #[serde(default)]
    user_type: Option<String>,
    #[serde(default)]
    sign_in_activity: Option<SignInActivity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInActivity {
    #[serde(default)]
    last_sign_in_date_time: Option<String>,
}

impl EntraReader {
    pub fn new(
        system: &str,
        config: EntraConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ReaderError> {
        let client_id = secret(system, "client_id_env", &config.client_id_env, env)?;
        let client_secret = secret(system, "client_secret_env", &config.client_secret_env, env)?;
        let setup = |e: HttpError| ReaderError::Config {
            system: system.to_string(),
            message: e.to_string(),
        };
        let http = HttpClient::new("Microsoft Graph", config.http.clone()).map_err(setup)?;
        // The token endpoint is another service with its own limits.
        let login =
            HttpClient::new("the Entra token endpoint", config.http.clone()).map_err(setup)?;
        let token_url = config.token_url.clone().unwrap_or_else(|| {
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                crate::scim_client::path_segment(&config.tenant_id)
            )
        });
        Ok(EntraReader {
            system: system.to_string(),
            graph: config.graph_url.trim_end_matches('/').to_string(),
            token_url,
            client_id,
            client_secret,
            http,
            login,
            token: tokio::sync::Mutex::new(None),
            config,
        })
    }

    fn credentials_refused(&self, e: &HttpError) -> ReaderError {
        let text = detail(e);
        let c = &self.config;
        let message = if text.contains("AADSTS7000215") {
            format!(
                "Entra rejected the client secret: check {} holds the secret's Value, not its Secret ID",
                c.client_secret_env
            )
        } else if text.contains("AADSTS7000222") {
            format!(
                "the client secret has expired: create a new one for the app registration and put it in {}",
                c.client_secret_env
            )
        } else if text.contains("AADSTS700016") {
            format!(
                "no application with the client id in {} exists in tenant {}: check {} and tenant_id",
                c.client_id_env, c.tenant_id, c.client_id_env
            )
        } else if text.contains("AADSTS90002") {
            format!("tenant {} not found: check tenant_id", c.tenant_id)
        } else {
            return match e {
                HttpError::Unavailable { .. } | HttpError::Uncertain { .. } => {
                    ReaderError::Unavailable {
                        system: self.system.clone(),
                        message: e.to_string(),
                    }
                }
                _ => ReaderError::Credentials {
                    system: self.system.clone(),
                    message: format!(
                        "{} refused the client credentials of {} / {}: {text}",
                        self.token_url, c.client_id_env, c.client_secret_env
                    ),
                },
            };
        };
        ReaderError::Credentials {
            system: self.system.clone(),
            message: format!("{message} ({text})"),
        }
    }

    /// An access token: the cached one, or with `refresh` (the cached one was just refused) a
    /// new one.
    async fn token(&self, refresh: bool) -> Result<String, ReaderError> {
        let mut cached = self.token.lock().await;
        if !refresh && let Some(t) = cached.as_ref().filter(|t| t.renew_at > Instant::now()) {
            return Ok(t.value.clone());
        }
        let scope = format!("{}/.default", self.graph);
        let body = super::form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("scope", &scope),
        ]);
        let answer: Value = self
            .login
            .json("get an access token", Idempotence::Idempotent, |c| {
                c.post(&self.token_url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(ACCEPT, "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(|e| self.credentials_refused(&e))?;
        let value = answer["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ReaderError::Protocol {
                system: self.system.clone(),
                message: format!("{} answered without an access_token", self.token_url),
            })?
            .to_string();
        // A number in v2.0; the v1.0 endpoint sent a string.
        let lifetime = answer["expires_in"]
            .as_u64()
            .or_else(|| answer["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(3599);
        *cached = Some(Token {
            value: value.clone(),
            renew_at: Instant::now() + Duration::from_secs(lifetime.saturating_sub(60)),
        });
        Ok(value)
    }

    /// A Graph GET; a refused token is replaced once (it may have been revoked or expired
    /// early).
    async fn get(&self, what: &str, url: &str) -> Result<Value, Failure> {
        let mut refresh = false;
        loop {
            let token = self.token(refresh).await.map_err(Failure::Reader)?;
            let r = self
                .http
                .json(what, Idempotence::Idempotent, |c| {
                    c.get(url)
                        .bearer_auth(&token)
                        .header(ACCEPT, "application/json")
                })
                .await;
            match r {
                Err(HttpError::Unauthorized { .. }) if !refresh => refresh = true,
                other => return other.map_err(Failure::Http),
            }
        }
    }

    fn error(&self, f: Failure, forbidden: &str) -> ReaderError {
        match f {
            Failure::Reader(e) => e,
            Failure::Http(e) => from_http(
                &self.system,
                &e,
                &format!(
                    "Graph rejected a fresh access token (401): check that token_url ({}) and graph_url ({}) belong to the same cloud and tenant",
                    self.token_url, self.graph
                ),
                forbidden,
            ),
        }
    }

    /// Every `value` of a list, following `@odata.nextLink` to the end.
    async fn all(&self, what: &str, first: String) -> Result<Vec<Value>, Failure> {
        let mut out = Vec::new();
        let mut url = first;
        let mut cursors = Cursors::new(what);
        loop {
            cursors.next(&self.system, &url).map_err(Failure::Reader)?;
            let mut page = self.get(what, &url).await?;
            let items = match page.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(Failure::Http(HttpError::Decode {
                        system: self.http.system().to_string(),
                        what: what.to_string(),
                        message: "the answer has no value array".into(),
                    }));
                }
            };
            let empty = items.is_empty();
            out.extend(items);
            match page["@odata.nextLink"].as_str() {
                Some(next) if !empty && !next.is_empty() => {
                    same_origin(&self.system, &self.graph, next).map_err(Failure::Reader)?;
                    url = next.to_string();
                }
                _ => return Ok(out),
            }
        }
    }

    fn top(&self, sign_in: bool) -> u32 {
        let top = self.config.page_size.unwrap_or(MAX_TOP).clamp(1, MAX_TOP);
        if sign_in {
            top.min(MAX_TOP_SIGN_IN)
        } else {
            top
        }
    }

    fn users_url(&self, sign_in: bool, top: u32) -> String {
        let fields = if sign_in {
            format!("{USER_FIELDS},signInActivity")
        } else {
            USER_FIELDS.to_string()
        };
        format!("{}/v1.0/users?$select={fields}&$top={top}", self.graph)
    }

    const USERS_FORBIDDEN: &'static str = "Graph token lacks User.Read.All: add the application permission User.Read.All to the app registration and grant admin consent";
    const SIGN_IN_FORBIDDEN: &'static str = "Graph refused signInActivity: grant the application permission AuditLog.Read.All (with admin consent; the tenant needs an Entra ID P1 or P2 licence)";
    const GROUPS_FORBIDDEN: &'static str = "Graph token lacks GroupMember.Read.All: add the application permission GroupMember.Read.All (or Group.Read.All) with admin consent, or set groups = false";

    async fn users(&self, warnings: &mut Vec<String>) -> Result<Vec<User>, ReaderError> {
        let mut values = None;
        if self.config.sign_in_activity {
            match self
                .all("list users", self.users_url(true, self.top(true)))
                .await
            {
                Ok(v) => values = Some(v),
                Err(Failure::Http(e @ HttpError::Forbidden { .. })) => warnings.push(format!(
                    "{}: last sign-in times not read ({}); set sign_in_activity = false to read without them and silence this",
                    Self::SIGN_IN_FORBIDDEN,
                    detail(&e)
                )),
                Err(f) => return Err(self.error(f, Self::USERS_FORBIDDEN)),
            }
        }
        let values = match values {
            Some(v) => v,
            None => self
                .all("list users", self.users_url(false, self.top(false)))
                .await
                .map_err(|f| self.error(f, Self::USERS_FORBIDDEN))?,
        };
        values
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| ReaderError::Protocol {
                    system: self.system.clone(),
                    message: format!("a user in the listing is not a Graph user: {e}"),
                })
            })
            .collect()
    }

    async fn memberships(&self) -> Result<HashMap<String, Vec<String>>, ReaderError> {
        let top = self.top(false);
        let groups = self
            .all(
                "list groups",
                format!(
                    "{}/v1.0/groups?$select=id,displayName&$top={top}",
                    self.graph
                ),
            )
            .await
            .map_err(|f| self.error(f, Self::GROUPS_FORBIDDEN))?;
        let mut of_user: HashMap<String, Vec<String>> = HashMap::new();
        for g in &groups {
            let (Some(id), name) = (g["id"].as_str(), g["displayName"].as_str().unwrap_or(""))
            else {
                continue;
            };
            let members = self
                .all(
                    &format!("list members of group {name}"),
                    format!(
                        "{}/v1.0/groups/{}/members?$select=id&$top={top}",
                        self.graph,
                        crate::scim_client::path_segment(id)
                    ),
                )
                .await
                .map_err(|f| self.error(f, Self::GROUPS_FORBIDDEN))?;
            // Members may be devices, service principals or nested groups: only users count.
            for m in members.iter().filter(|m| {
                m["@odata.type"]
                    .as_str()
                    .is_none_or(|t| t == "#microsoft.graph.user")
            }) {
                if let Some(user) = m["id"].as_str() {
                    of_user
                        .entry(user.to_string())
                        .or_default()
                        .push(name.to_string());
                }
            }
        }
        Ok(of_user)
    }
}

/// Graph's `accountEnabled` onto Roster's status: Entra has no suspend or pending state
/// (§10.2), so a disabled account is suspended.
pub fn status(account_enabled: Option<bool>) -> DirectoryStatus {
    match account_enabled {
        Some(false) => DirectoryStatus::Suspended,
        _ => DirectoryStatus::Active,
    }
}

fn account(u: User, groups: Vec<String>) -> DirectoryAccount {
    let mut vendor_status = match u.account_enabled {
        Some(enabled) => format!("accountEnabled={enabled}"),
        None => "accountEnabled unknown".to_string(),
    };
    if let Some(t) = u.user_type.as_deref().filter(|t| *t != "Member") {
        vendor_status.push_str(&format!(", userType={t}"));
    }
    let display_name = given(u.display_name.as_deref()).unwrap_or_else(|| {
        [u.given_name.as_deref(), u.surname.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let email = given(u.mail.as_deref());
    DirectoryAccount {
        login: given(u.user_principal_name.as_deref())
            .or_else(|| email.clone())
            .unwrap_or_default(),
        email,
        employee_id: given(u.employee_id.as_deref()),
        display_name,
        status: status(u.account_enabled),
        vendor_status,
        last_sign_in: u
            .sign_in_activity
            .and_then(|s| instant(s.last_sign_in_date_time.as_deref())),
        groups,
        id: u.id,
    }
}

#[async_trait]
impl StatusReader for EntraReader {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_accounts(&self) -> Result<DirectoryListing, ReaderError> {
        let mut warnings = Vec::new();
        let users = self.users(&mut warnings).await?;
        let mut groups = if self.config.groups {
            self.memberships().await?
        } else {
            HashMap::new()
        };
        let accounts = users
            .into_iter()
            .map(|u| {
                let mut g = groups.remove(&u.id).unwrap_or_default();
                g.sort();
                account(u, g)
            })
            .collect();
        Ok(DirectoryListing { accounts, warnings })
    }

    async fn check(&self) -> Vec<ConnectionCheck> {
        let mut checks = vec![check(
            "Entra client credentials",
            match self.token(false).await {
                Ok(_) => Ok(format!("{} issued an access token", self.token_url)),
                Err(e) => Err(e.to_string()),
            },
        )];
        if !checks[0].ok {
            return checks;
        }
        let mut probes = vec![(
            "Graph users (User.Read.All)",
            format!("{}/v1.0/users?$select=id&$top=1", self.graph),
            Self::USERS_FORBIDDEN,
        )];
        if self.config.sign_in_activity {
            probes.push((
                "Graph sign-in activity (AuditLog.Read.All)",
                format!("{}/v1.0/users?$select=id,signInActivity&$top=1", self.graph),
                Self::SIGN_IN_FORBIDDEN,
            ));
        }
        if self.config.groups {
            probes.push((
                "Graph groups (GroupMember.Read.All)",
                format!("{}/v1.0/groups?$select=id&$top=1", self.graph),
                Self::GROUPS_FORBIDDEN,
            ));
        }
        for (name, url, forbidden) in probes {
            let r = self.get(name, &url).await;
            checks.push(check(
                name,
                r.map(|_| "granted".to_string())
                    .map_err(|f| self.error(f, forbidden).to_string()),
            ));
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_accounts_are_suspended() {
        assert_eq!(status(Some(true)), DirectoryStatus::Active);
        assert_eq!(status(Some(false)), DirectoryStatus::Suspended);
        assert_eq!(status(None), DirectoryStatus::Active);
    }
}

//! Okta Users API with an API token (`Authorization: SSWS`, reference §9.1).
//!
//! A plain `GET /api/v1/users` omits DEPROVISIONED users, and `filter` reads up-to-date data
//! where `search` is eventually consistent (§9.2), so a read is two listings: every user the
//! plain list shows (whatever new status Okta may add), then `filter=status eq
//! "DEPROVISIONED"`. Groups come from each group's members (`/api/v1/groups/{id}/users`):
//! one request per group and page, far fewer than one per user. The built-in Everyone group
//! is skipped: it holds every user and says nothing about access.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK};
use roster_core::directory::{DirectoryAccount, DirectoryStatus};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    Cursors, DirectoryListing, ReaderError, StatusReader, detail, from_http, given, instant,
    same_origin, secret, yes,
};
use crate::check::{ConnectionCheck, check};
use crate::http::{HttpClient, HttpError, HttpPolicy, Idempotence, RateSignals};

/// `[directories.NAME]` with `kind = "okta"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    /// `https://{yourOrg}.okta.com` (or the org's custom domain).
    pub base_url: String,
    /// The environment variable holding the API token. The token acts with the rights of the
    /// admin who created it: a read-only administrator is enough.
    pub token_env: String,
    /// Read group memberships (default true).
    #[serde(default = "yes")]
    pub groups: bool,
    /// `limit` per page (default and largest: 200, §9.2).
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub http: HttpPolicy,
}

const MAX_LIMIT: u32 = 200;
/// The filter that lists the users a plain list leaves out.
const DEPROVISIONED: &str = "status eq \"DEPROVISIONED\"";

pub struct OktaReader {
    system: String,
    config: OktaConfig,
    base: String,
    token: String,
    http: HttpClient,
}

impl std::fmt::Debug for OktaReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaReader")
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
    status: String,
    #[serde(default)]
    transitioning_to_status: Option<String>,
    #[serde(default)]
    last_login: Option<String>,
    #[serde(default)]
    profile: Profile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    employee_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Group {
    id: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    profile: GroupProfile,
}

#[derive(Debug, Default, Deserialize)]
struct GroupProfile {
    #[serde(default)]
    name: String,
}

/// Only the id of a group member: the rest is in the user listing already.
#[derive(Debug, Deserialize)]
struct Member {
    id: String,
}

impl OktaReader {
    pub fn new(
        system: &str,
        config: OktaConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ReaderError> {
        let token = secret(system, "token_env", &config.token_env, env)?;
        let http = HttpClient::new("Okta", config.http.clone())
            .map_err(|e| ReaderError::Config {
                system: system.to_string(),
                message: e.to_string(),
            })?
            .with_signals(RateSignals {
                wait_after_429: Some(until_reset),
                exhausted: Some(exhausted),
                limited: None,
            });
        Ok(OktaReader {
            system: system.to_string(),
            base: config.base_url.trim_end_matches('/').to_string(),
            token,
            http,
            config,
        })
    }

    fn limit(&self) -> u32 {
        self.config
            .page_size
            .unwrap_or(MAX_LIMIT)
            .clamp(1, MAX_LIMIT)
    }

    fn token_rejected(&self) -> String {
        format!(
            "Okta token rejected (401): check {} (the token may have been revoked, or expired after 30 days unused)",
            self.config.token_env
        )
    }

    fn error(&self, e: &HttpError, forbidden: &str) -> ReaderError {
        from_http(&self.system, e, &self.token_rejected(), forbidden)
    }

    /// One page: its items and the `rel="next"` link.
    async fn page<T: DeserializeOwned>(
        &self,
        what: &str,
        url: &str,
    ) -> Result<(Vec<T>, Option<String>), HttpError> {
        let response = self
            .http
            .send(what, Idempotence::Idempotent, |c| {
                c.get(url)
                    .header(AUTHORIZATION, format!("SSWS {}", self.token))
                    .header(ACCEPT, "application/json")
            })
            .await?;
        let next = next_link(response.headers());
        let bytes = response.bytes().await.map_err(|e| HttpError::Uncertain {
            system: self.http.system().to_string(),
            what: what.to_string(),
            message: e.to_string(),
        })?;
        let items = serde_json::from_slice(&bytes).map_err(|e| HttpError::Decode {
            system: self.http.system().to_string(),
            what: what.to_string(),
            message: e.to_string(),
        })?;
        Ok((items, next))
    }

    /// Every item of a list, following `Link: rel="next"` to the end.
    async fn all<T: DeserializeOwned>(
        &self,
        what: &str,
        first: String,
        forbidden: &str,
    ) -> Result<Vec<T>, ReaderError> {
        let mut out = Vec::new();
        let mut url = first;
        let mut cursors = Cursors::new(what);
        loop {
            cursors.next(&self.system, &url)?;
            let (items, next) = self
                .page::<T>(what, &url)
                .await
                .map_err(|e| self.error(&e, forbidden))?;
            let empty = items.is_empty();
            out.extend(items);
            match next {
                Some(next) if !empty => {
                    same_origin(&self.system, &self.base, &next)?;
                    url = next;
                }
                _ => return Ok(out),
            }
        }
    }

    fn users_url(&self, filter: Option<&str>, limit: u32) -> String {
        let mut url = format!("{}/api/v1/users?limit={limit}", self.base);
        if let Some(f) = filter {
            url.push_str("&filter=");
            url.push_str(&super::encode(f));
        }
        url
    }

    async fn users(&self) -> Result<Vec<User>, ReaderError> {
        let forbidden = "the token's admin may not list users: create the token as an admin with at least the Read-only Administrator role";
        let mut users: Vec<User> = self
            .all("list users", self.users_url(None, self.limit()), forbidden)
            .await?;
        let gone: Vec<User> = self
            .all(
                "list deprovisioned users",
                self.users_url(Some(DEPROVISIONED), self.limit()),
                forbidden,
            )
            .await?;
        // A user deactivated between the two listings is in both: the later answer wins.
        let index: HashMap<String, usize> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
        for u in gone {
            match index.get(&u.id) {
                Some(&i) => users[i] = u,
                None => users.push(u),
            }
        }
        Ok(users)
    }

    async fn memberships(&self) -> Result<HashMap<String, Vec<String>>, ReaderError> {
        let forbidden = "the token's admin may not read groups: give the admin who created the token a role that may view groups (Read-only Administrator), or set groups = false";
        let groups: Vec<Group> = self
            .all(
                "list groups",
                format!("{}/api/v1/groups?limit={}", self.base, self.limit()),
                forbidden,
            )
            .await?;
        let mut of_user: HashMap<String, Vec<String>> = HashMap::new();
        for g in groups.iter().filter(|g| g.kind != "BUILT_IN") {
            let members: Vec<Member> = self
                .all(
                    &format!("list members of group {}", g.profile.name),
                    format!(
                        "{}/api/v1/groups/{}/users?limit={}",
                        self.base,
                        crate::scim_client::path_segment(&g.id),
                        self.limit()
                    ),
                    forbidden,
                )
                .await?;
            for m in members {
                of_user
                    .entry(m.id)
                    .or_default()
                    .push(g.profile.name.clone());
            }
        }
        Ok(of_user)
    }
}

/// Okta's status onto Roster's (reference §9.3; `DirectoryStatus` documents the folding).
pub fn status(okta: &str) -> Option<DirectoryStatus> {
    Some(match okta {
        "ACTIVE" | "PASSWORD_EXPIRED" | "LOCKED_OUT" | "RECOVERY" => DirectoryStatus::Active,
        "STAGED" | "PROVISIONED" | "ACTIVATING" => DirectoryStatus::Pending,
        "SUSPENDED" => DirectoryStatus::Suspended,
        "DEPROVISIONED" => DirectoryStatus::Deprovisioned,
        _ => return None,
    })
}

fn account(u: User, groups: Vec<String>, warnings: &mut Vec<String>) -> DirectoryAccount {
    let p = u.profile;
    let vendor_status = match u
        .transitioning_to_status
        .as_deref()
        .and_then(|t| given(Some(t)))
    {
        Some(to) => format!("{} → {to}", u.status),
        None => u.status.clone(),
    };
    let status = status(&u.status).unwrap_or_else(|| {
        // An unknown status is reported as able to sign in, so that it is looked at.
        warnings.push(format!(
            "user {} has the unknown Okta status {:?}: counted as active",
            u.id, u.status
        ));
        DirectoryStatus::Active
    });
    let display_name = given(p.display_name.as_deref()).unwrap_or_else(|| {
        [p.first_name.as_deref(), p.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let email = given(p.email.as_deref());
    DirectoryAccount {
        login: given(p.login.as_deref())
            .or_else(|| email.clone())
            .unwrap_or_default(),
        email,
        employee_id: given(p.employee_number.as_deref()),
        display_name,
        status,
        vendor_status,
        last_sign_in: instant(u.last_login.as_deref()),
        groups,
        id: u.id,
    }
}

#[async_trait]
impl StatusReader for OktaReader {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_accounts(&self) -> Result<DirectoryListing, ReaderError> {
        let users = self.users().await?;
        let mut groups = if self.config.groups {
            self.memberships().await?
        } else {
            HashMap::new()
        };
        let mut warnings = Vec::new();
        let accounts = users
            .into_iter()
            .map(|u| {
                let mut g = groups.remove(&u.id).unwrap_or_default();
                g.sort();
                account(u, g, &mut warnings)
            })
            .collect();
        Ok(DirectoryListing { accounts, warnings })
    }

    async fn check(&self) -> Vec<ConnectionCheck> {
        let mut checks = Vec::new();
        // `/users/me` with an API token is the admin who created it.
        let me: Result<serde_json::Value, HttpError> = self
            .http
            .json("read the token's user", Idempotence::Idempotent, |c| {
                c.get(format!("{}/api/v1/users/me", self.base))
                    .header(AUTHORIZATION, format!("SSWS {}", self.token))
                    .header(ACCEPT, "application/json")
            })
            .await;
        checks.push(check(
            "Okta API token",
            match me {
                Ok(v) => Ok(format!(
                    "token accepted; it acts as {}",
                    v["profile"]["login"].as_str().unwrap_or("its admin")
                )),
                Err(e) => Err(self
                    .error(&e, "the token may not read its own user")
                    .to_string()),
            },
        ));
        let probes = [
            (
                "Okta users",
                self.users_url(None, 1),
                "the token's admin may not list users: it needs at least the Read-only Administrator role",
            ),
            (
                "Okta deprovisioned users",
                self.users_url(Some(DEPROVISIONED), 1),
                "the token's admin may not filter users by status",
            ),
        ];
        for (name, url, forbidden) in probes {
            let r = self.page::<serde_json::Value>(name, &url).await;
            checks.push(check(
                name,
                r.map(|_| "can be listed".to_string())
                    .map_err(|e| self.error(&e, forbidden).to_string()),
            ));
        }
        if self.config.groups {
            let r = self
                .page::<serde_json::Value>(
                    "list groups",
                    &format!("{}/api/v1/groups?limit=1", self.base),
                )
                .await;
            checks.push(check(
                "Okta groups",
                r.map(|_| "groups and their members can be listed".to_string())
                    .map_err(|e| match e {
                        HttpError::Forbidden { .. } => format!(
                            "the token's admin may not read groups: give it the Read-only Administrator role, or set groups = false ({})",
                            detail(&e)
                        ),
                        e => self.error(&e, "").to_string(),
                    }),
            ));
        }
        checks
    }
}

/// The `rel="next"` target among an answer's `Link` headers, whether Okta sends each link on
/// its own header line or several in one (§9.2).
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            next.then(|| url.to_string())
        })
}

fn header_secs(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The time from the answer's own clock (`Date`, else ours) to `X-Rate-Limit-Reset`, so a
/// skewed local clock does not shorten or stretch the wait. `Date` has whole seconds, rounded
/// down, so the wait it gives is never short.
fn reset_wait(headers: &HeaderMap) -> Option<Duration> {
    let reset = header_secs(headers, "x-rate-limit-reset")?;
    let date = headers
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok());
    let millis = match date {
        Some(z) => (reset - z.timestamp().as_second()).saturating_mul(1000),
        None => reset.saturating_mul(1000) - jiff::Timestamp::now().as_millisecond(),
    };
    Some(Duration::from_millis(millis.clamp(0, 3_600_000) as u64))
}

/// After a 429: until the window resets (Okta sends no `Retry-After`, §9.5); a reset already
/// past leaves the wait to the client's back-off.
fn until_reset(headers: &HeaderMap) -> Option<Duration> {
    reset_wait(headers).filter(|w| !w.is_zero())
}

/// After a success that spent the window's last request: hold the next until the reset.
fn exhausted(headers: &HeaderMap) -> Option<Duration> {
    if header_secs(headers, "x-rate-limit-remaining")? > 0 {
        return None;
    }
    reset_wait(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_links_are_found_on_separate_lines_and_in_one() {
        let mut h = HeaderMap::new();
        h.append(
            LINK,
            HeaderValue::from_static("<https://o.okta.com/api/v1/users?limit=2>; rel=\"self\""),
        );
        h.append(
            LINK,
            HeaderValue::from_static(
                "<https://o.okta.com/api/v1/users?after=00u2&limit=2>; rel=\"next\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o.okta.com/api/v1/users?after=00u2&limit=2")
        );
        let mut one = HeaderMap::new();
        one.insert(
            LINK,
            HeaderValue::from_static(
                "<https://o/a?limit=2>; rel=\"self\", <https://o/a?after=x>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&one).as_deref(), Some("https://o/a?after=x"));
        let mut last = HeaderMap::new();
        last.insert(
            LINK,
            HeaderValue::from_static("<https://o/a>; rel=\"self\""),
        );
        assert_eq!(next_link(&last), None);
    }

    #[test]
    fn the_wait_runs_to_the_reset_by_the_servers_clock() {
        let mut h = HeaderMap::new();
        h.insert(
            "date",
            HeaderValue::from_static("Mon, 23 Nov 2026 08:00:00 GMT"),
        );
        let date: jiff::Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from(date.as_second() + 3),
        );
        h.insert("x-rate-limit-remaining", HeaderValue::from(3));
        assert_eq!(until_reset(&h), Some(Duration::from_secs(3)));
        assert_eq!(exhausted(&h), None);
        h.insert("x-rate-limit-remaining", HeaderValue::from(0));
        assert_eq!(exhausted(&h), Some(Duration::from_secs(3)));
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from(date.as_second() - 5),
        );
        assert_eq!(until_reset(&h), None);
    }

    #[test]
    fn every_documented_status_maps() {
        for (okta, want) in [
            ("ACTIVE", DirectoryStatus::Active),
            ("PASSWORD_EXPIRED", DirectoryStatus::Active),
            ("LOCKED_OUT", DirectoryStatus::Active),
            ("RECOVERY", DirectoryStatus::Active),
            ("STAGED", DirectoryStatus::Pending),
            ("PROVISIONED", DirectoryStatus::Pending),
            ("SUSPENDED", DirectoryStatus::Suspended),
            ("DEPROVISIONED", DirectoryStatus::Deprovisioned),
        ] {
            assert_eq!(status(okta), Some(want), "{okta}");
        }
        assert_eq!(status("SOMETHING_NEW"), None);
    }
}

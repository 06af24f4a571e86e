//! What the organization admin API adds to a read (ref §3.4): when each account was last
//! active in Confluence (`productAccess[].lastActiveTimestamp`) and its account status, for
//! accounts SCIM has no record of. Used only when `admin_api_url`, `org_id` and the org key
//! are all given.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use reqwest::Method;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{HttpClient, HttpError, Idempotence};
use crate::scim_client::path_segment as enc;

/// Largest page the v2 directory users list accepts (ref §3.4, AX-1937).
const LIMIT: u32 = 100;
/// Stops a server that never stops handing out `next` cursors.
const MAX_PAGES: usize = 100_000;

/// The organization admin API of one organization (Bearer org API key).
pub struct OrgAdmin {
    http: Arc<HttpClient>,
    base: String,
    org_id: String,
    key: String,
}

/// What the organization says about one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgAccount {
    /// `accountStatus`: `active` → true, `inactive` / `closed` → false; `None` when missing
    /// or unknown.
    pub active: Option<bool>,
    /// The latest `lastActiveTimestamp` of the account's Confluence product access.
    pub last_active: Option<Timestamp>,
}

#[derive(Deserialize)]
struct UsersPage {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    links: PageLinks,
}

#[derive(Default, Deserialize)]
struct PageLinks {
    #[serde(default)]
    next: Option<String>,
}

/// The fields of a v2 `MultiDirectoryUser` a read uses.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryUser {
    account_id: String,
    #[serde(default)]
    account_status: Option<String>,
    #[serde(default)]
    product_access: Option<Vec<ProductAccess>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductAccess {
    #[serde(default)]
    key: String,
    #[serde(default)]
    last_active_timestamp: Option<String>,
}

impl DirectoryUser {
    fn account(&self) -> OrgAccount {
        let active = match self.account_status.as_deref() {
            Some(s) if s.eq_ignore_ascii_case("active") => Some(true),
            Some(s) if s.eq_ignore_ascii_case("inactive") || s.eq_ignore_ascii_case("closed") => {
                Some(false)
            }
            _ => None,
        };
        // One entry per Confluence site of the organization; the latest one is kept. A
        // timestamp that does not parse as RFC 3339 counts as unknown.
        let last_active = self
            .product_access
            .iter()
            .flatten()
            .filter(|p| p.key == "confluence")
            .filter_map(|p| {
                p.last_active_timestamp
                    .as_deref()?
                    .parse::<Timestamp>()
                    .ok()
            })
            .max();
        OrgAccount {
            active,
            last_active,
        }
    }
}

impl OrgAdmin {
    pub fn new(http: Arc<HttpClient>, base: &str, org_id: &str, key: &str) -> Self {
        OrgAdmin {
            http,
            base: base.trim_end_matches('/').to_string(),
            org_id: org_id.to_string(),
            key: key.to_string(),
        }
    }

    fn users_path(&self) -> String {
        format!("/admin/v2/orgs/{}/directories/-/users", enc(&self.org_id))
    }

    /// The path (with query) of the page after this one: `next` is a cursor (v2) or a URL
    /// (accepted too; only its path and query are kept, the configured host is authoritative).
    fn next_path(&self, next: &str) -> String {
        if let Ok(url) = reqwest::Url::parse(next) {
            return match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
        }
        if next.starts_with('/') {
            return next.to_string();
        }
        format!(
            "{}?cursor={}&limit={LIMIT}&expand=productAccess",
            self.users_path(),
            enc(next)
        )
    }

    async fn page(&self, path: &str) -> Result<UsersPage, HttpError> {
        let url = format!("{}{path}", self.base);
        self.http
            .json(
                "list the organization's users",
                Idempotence::Idempotent,
                |c| {
                    c.request(Method::GET, &url)
                        .bearer_auth(&self.key)
                        .header(ACCEPT, "application/json")
                },
            )
            .await
    }

    fn decode_error(&self, message: String) -> HttpError {
        HttpError::Decode {
            system: self.http.system().to_string(),
            what: "list the organization's users".into(),
            message,
        }
    }

    /// Every user of every directory of the organization, by accountId, following the
    /// `links.next` cursors. A cursor seen before stops the read with an error: an incomplete
    /// list must never look complete.
    pub async fn accounts(&self) -> Result<HashMap<String, OrgAccount>, HttpError> {
        let mut out = HashMap::new();
        let mut path = format!("{}?limit={LIMIT}&expand=productAccess", self.users_path());
        let mut seen: HashSet<String> = HashSet::new();
        for _ in 0..MAX_PAGES {
            let page = self.page(&path).await?;
            for item in &page.data {
                let user: DirectoryUser = serde_json::from_value(item.clone())
                    .map_err(|e| self.decode_error(format!("{e} in {item}")))?;
                if !user.account_id.is_empty() {
                    out.insert(user.account_id.clone(), user.account());
                }
            }
            let Some(next) = page.links.next.as_deref().filter(|n| !n.is_empty()) else {
                return Ok(out);
            };
            if page.data.is_empty() {
                return Ok(out);
            }
            if !seen.insert(next.to_string()) {
                return Err(self.decode_error(format!(
                    "paging went in a circle at cursor {next}: stopping rather than reading an incomplete list"
                )));
            }
            path = self.next_path(next);
        }
        Err(self.decode_error(format!(
            "more than {MAX_PAGES} pages: stopping rather than reading an incomplete list"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The v2 user of ref §3.4 (with `expand=productAccess`).
    #[test]
    fn decodes_the_reference_user() {
        let u: DirectoryUser = serde_json::from_value(json!({
            "accountId": "5b10ac8d82e05b22cc7d4ef5", "accountType": "atlassian", "status": "active",
            "accountStatus": "active", "membershipStatus": "active", "addedToOrg": "2024-03-01T10:00:00Z",
            "name": "Ada Lovelace", "email": "ada.lovelace@example.com",
            "productAccess": [
                {"key": "jira-software", "id": "j", "lastActiveTimestamp": "2026-09-01T00:00:00Z"},
                {"key": "confluence", "id": "<instance id>", "lastActiveTimestamp": "2026-08-30T09:15:00Z"}],
            "links": {"self": "<cursor>"}, "deactivatedOn": null, "forDeletion": false
        }))
        .unwrap();
        let a = u.account();
        assert_eq!(a.active, Some(true));
        assert_eq!(
            a.last_active,
            Some("2026-08-30T09:15:00Z".parse::<Timestamp>().unwrap())
        );
        let u: DirectoryUser = serde_json::from_value(json!({
            "accountId": "x", "accountStatus": "closed", "productAccess": null
        }))
        .unwrap();
        assert_eq!(
            u.account(),
            OrgAccount {
                active: Some(false),
                last_active: None
            }
        );
    }

    #[test]
    fn next_is_a_cursor_or_a_url() {
        let http = Arc::new(HttpClient::new("org", Default::default()).unwrap());
        let org = OrgAdmin::new(http, "https://api.atlassian.com/", "o-1", "k");
        assert_eq!(
            org.next_path("eyJvZmZzZXQiOjEwMH0"),
            "/admin/v2/orgs/o-1/directories/-/users?cursor=eyJvZmZzZXQiOjEwMH0&limit=100&expand=productAccess"
        );
        assert_eq!(
            org.next_path(
                "https://elsewhere.example/admin/v2/orgs/o-1/directories/-/users?cursor=abc"
            ),
            "/admin/v2/orgs/o-1/directories/-/users?cursor=abc"
        );
    }
}

//! The Confluence Cloud REST calls the target makes: v1 for groups, memberships and
//! permission writes, v2 for spaces and permission reads. Basic auth `email:api_token`;
//! every v1 write carries `X-Atlassian-Token: no-check` and `Content-Type: application/json`.

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::wire::{GrantedPermission, Group, Page, Space, SpacePermission, User, next_path};
use crate::http::{HttpClient, HttpError, Idempotence};
use crate::scim_client::path_segment as enc;

/// v1 pages: 200 is both the default and the largest `membersByGroupId` accepts.
pub const V1_LIMIT: u32 = 200;
/// v2 pages: 1..=250.
pub const V2_LIMIT: u32 = 250;
/// Stops a server that never stops handing out `next` links.
const MAX_PAGES: usize = 100_000;

pub struct Wiki {
    pub http: Arc<HttpClient>,
    pub site: String,
    pub email: String,
    token: String,
}

impl Wiki {
    pub fn new(http: Arc<HttpClient>, site: &str, email: &str, token: &str) -> Self {
        Wiki {
            http,
            site: site.trim_end_matches('/').to_string(),
            email: email.to_string(),
            token: token.to_string(),
        }
    }

    fn system(&self) -> String {
        self.http.system().to_string()
    }

    fn request(&self, c: &reqwest::Client, method: Method, path: &str) -> RequestBuilder {
        let b = c
            .request(method.clone(), format!("{}{path}", self.site))
            .basic_auth(&self.email, Some(&self.token))
            .header(ACCEPT, "application/json");
        if method == Method::GET {
            b
        } else {
            b.header("X-Atlassian-Token", "no-check")
                .header(CONTENT_TYPE, "application/json")
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, what: &str, path: &str) -> Result<T, HttpError> {
        self.http
            .json(what, Idempotence::Idempotent, |c| {
                self.request(c, Method::GET, path)
            })
            .await
    }

    /// Every result of a paged list, following `_links.next`. A page that repeats the
    /// previous one (CONFCLOUD-56322) or a `next` link seen before stops the read with an
    /// error: an incomplete list must never look complete.
    pub async fn pages<T: DeserializeOwned>(
        &self,
        what: &str,
        first: String,
    ) -> Result<Vec<T>, HttpError> {
        let mut out = Vec::new();
        let mut path = first;
        let mut seen: HashSet<String> = HashSet::new();
        let mut previous: Vec<Value> = Vec::new();
        for _ in 0..MAX_PAGES {
            seen.insert(path.clone());
            let page: Page = self.get(what, &path).await?;
            if !page.results.is_empty() && page.results == previous {
                return Err(self.repeated(what, &path));
            }
            for r in &page.results {
                out.push(
                    serde_json::from_value(r.clone()).map_err(|e| HttpError::Decode {
                        system: self.system(),
                        what: what.to_string(),
                        message: format!("{e} in {r}"),
                    })?,
                );
            }
            let Some(next) = page.links.next.as_deref().filter(|n| !n.is_empty()) else {
                return Ok(out);
            };
            if page.results.is_empty() {
                return Ok(out);
            }
            let next = next_path(next, page.links.base.as_deref());
            if seen.contains(&next) {
                return Err(self.repeated(what, &next));
            }
            previous = page.results;
            path = next;
        }
        Err(self.repeated(what, &path))
    }

    fn repeated(&self, what: &str, path: &str) -> HttpError {
        HttpError::Decode {
            system: self.system(),
            what: what.to_string(),
            message: format!(
                "paging went in a circle at {path}: stopping rather than reading an incomplete list"
            ),
        }
    }

    pub async fn current_user(&self) -> Result<User, HttpError> {
        self.get("read the current user", "/wiki/rest/api/user/current")
            .await
    }

    pub async fn groups(&self) -> Result<Vec<Group>, HttpError> {
        self.pages(
            "list groups",
            format!("/wiki/rest/api/group?start=0&limit={V1_LIMIT}"),
        )
        .await
    }

    pub async fn members(&self, group: &Group) -> Result<Vec<User>, HttpError> {
        self.pages(
            &format!("list members of group {}", group.name),
            format!(
                "/wiki/rest/api/group/{}/membersByGroupId?start=0&limit={V1_LIMIT}&expand=operations",
                enc(&group.id)
            ),
        )
        .await
    }

    /// The groups of a user; `None` when this site does not answer `user/memberof`.
    pub async fn member_of(&self, account_id: &str) -> Result<Option<Vec<Group>>, HttpError> {
        let path = format!(
            "/wiki/rest/api/user/memberof?accountId={}&start=0&limit={V1_LIMIT}",
            enc(account_id)
        );
        match self.pages("list the groups of a user", path).await {
            Ok(g) => Ok(Some(g)),
            Err(e) if matches!(e.status(), Some(404 | 405 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn spaces(&self) -> Result<Vec<Space>, HttpError> {
        self.pages(
            "list spaces",
            format!("/wiki/api/v2/spaces?limit={V2_LIMIT}"),
        )
        .await
    }

    pub async fn space_by_key(&self, key: &str) -> Result<Option<Space>, HttpError> {
        let page: Page = self
            .get(
                &format!("find space {key}"),
                &format!("/wiki/api/v2/spaces?keys={}&limit=1", enc(key)),
            )
            .await?;
        Ok(page
            .results
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Space>(v).ok())
            .find(|s| s.key == key))
    }

    pub async fn permissions(&self, space: &Space) -> Result<Vec<SpacePermission>, HttpError> {
        self.pages(
            &format!("list permissions of space {}", space.key),
            format!(
                "/wiki/api/v2/spaces/{}/permissions?limit={V2_LIMIT}",
                enc(&space.id)
            ),
        )
        .await
    }

    pub async fn create_group(&self, name: &str) -> Result<Group, HttpError> {
        let body = json!({ "name": name });
        self.http
            .json(
                &format!("create group {name}"),
                Idempotence::NotIdempotent,
                |c| {
                    self.request(c, Method::POST, "/wiki/rest/api/group")
                        .body(body.to_string())
                },
            )
            .await
    }

    /// 201 with an empty body: the answer is not read as JSON.
    pub async fn add_member(&self, group: &Group, account_id: &str) -> Result<(), HttpError> {
        let path = format!(
            "/wiki/rest/api/group/userByGroupId?groupId={}",
            enc(&group.id)
        );
        let body = json!({ "accountId": account_id });
        self.http
            .send(
                &format!("add {account_id} to group {}", group.name),
                Idempotence::NotIdempotent,
                |c| self.request(c, Method::POST, &path).body(body.to_string()),
            )
            .await
            .map(drop)
    }

    pub async fn remove_member(&self, group: &Group, account_id: &str) -> Result<(), HttpError> {
        let path = format!(
            "/wiki/rest/api/group/userByGroupId?groupId={}&accountId={}",
            enc(&group.id),
            enc(account_id)
        );
        self.http
            .send(
                &format!("remove {account_id} from group {}", group.name),
                Idempotence::Idempotent,
                |c| self.request(c, Method::DELETE, &path),
            )
            .await
            .map(drop)
    }

    /// `POST /wiki/rest/api/space/{KEY}/permission` (singular, space key).
    pub async fn grant(
        &self,
        space_key: &str,
        subject_type: &str,
        identifier: &str,
        key: &str,
        target: &str,
    ) -> Result<GrantedPermission, HttpError> {
        let path = format!("/wiki/rest/api/space/{}/permission", enc(space_key));
        let body = json!({
            "subject": { "type": subject_type, "identifier": identifier },
            "operation": { "key": key, "target": target },
        });
        self.http
            .json(
                &format!(
                    "grant {key}/{target} in space {space_key} to {subject_type} {identifier}"
                ),
                Idempotence::NotIdempotent,
                |c| self.request(c, Method::POST, &path).body(body.to_string()),
            )
            .await
    }

    /// `DELETE /wiki/rest/api/space/{KEY}/permission/{id}`.
    pub async fn revoke(&self, space_key: &str, permission_id: &str) -> Result<(), HttpError> {
        let path = format!(
            "/wiki/rest/api/space/{}/permission/{}",
            enc(space_key),
            enc(permission_id)
        );
        self.http
            .send(
                &format!("revoke permission {permission_id} in space {space_key}"),
                Idempotence::Idempotent,
                |c| self.request(c, Method::DELETE, &path),
            )
            .await
            .map(drop)
    }
}

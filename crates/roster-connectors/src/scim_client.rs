//! A typed SCIM 2.0 client (RFC 7643 resources, RFC 7644 protocol) over [`HttpClient`]: the
//! Atlassian user-provisioning API, any app the generic SCIM target talks to, and Roster's own
//! SCIM server in its tests.
//!
//! Lists page with the 1-based `startIndex` and `count` ≤ 100 until `startIndex +
//! itemsPerPage > totalResults` or an empty page; a page that repeats the previous one stops the
//! read with an error rather than an incomplete list. Filters are the one form every SCIM
//! server supports: `attr eq "value"`, the value JSON-escaped. Resources keep the attributes
//! this client does not model in `extra`, so a read-modify-write never drops them. Creates are
//! sent as [`Idempotence::NotIdempotent`]: when their outcome is unknown the caller looks the
//! resource up before trying again.

use std::sync::Arc;

use reqwest::{Method, RequestBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::http::{HttpClient, HttpError, Idempotence};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Atlassian's extension carrying the Atlassian `accountId` of a SCIM user (read-only).
pub const ATLASSIAN_EXTENSION: &str = "urn:scim:schemas:extension:atlassian-external:1.0";

/// The largest page SCIM servers are asked for (Atlassian's maximum).
pub const MAX_PAGE: u32 = 100;

const SCIM_JSON: &str = "application/scim+json";
const ACCEPT: &str = "application/scim+json, application/json";

/// A SCIM user. Attributes not modelled here stay in `extra` (and are sent back as they were).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ScimName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<ScimEmail>,
    /// `None` when the server left it out: unknown, not false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Read-only: the groups the user is a member of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<ScimMember>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ScimMeta>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScimUser {
    /// The primary e-mail address, else the first one.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
            .and_then(|e| e.value.as_deref())
    }

    /// The Atlassian `accountId` from Atlassian's extension, when the server sets it.
    pub fn atlassian_account_id(&self) -> Option<&str> {
        self.extra
            .get(ATLASSIAN_EXTENSION)?
            .get("atlassianAccountId")?
            .as_str()
            .filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimEmail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScimEmail {
    /// A primary work address.
    pub fn work(address: impl Into<String>) -> Self {
        ScimEmail {
            value: Some(address.into()),
            kind: Some("work".into()),
            primary: Some(true),
            extra: Map::new(),
        }
    }
}

/// A member of a group, or a group of a user: `{value, display, type, $ref}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimMember {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A SCIM group. Attributes not modelled here stay in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimGroup {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub display_name: String,
    /// `None` when the server left members out (some do in lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<ScimMember>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ScimMeta>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A page of a list or query (`Resources` with a capital R, as RFC 7644 spells it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub total_results: u64,
    #[serde(default)]
    pub start_index: Option<u64>,
    #[serde(default)]
    pub items_per_page: Option<u64>,
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
}

/// One PATCH operation (`op` is sent lower-case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

impl PatchOp {
    pub fn replace(path: &str, value: impl Into<Value>) -> Self {
        PatchOp {
            op: "replace".into(),
            path: Some(path.into()),
            value: Some(value.into()),
        }
    }
    pub fn add(path: &str, value: impl Into<Value>) -> Self {
        PatchOp {
            op: "add".into(),
            path: Some(path.into()),
            value: Some(value.into()),
        }
    }
    pub fn remove(path: impl Into<String>) -> Self {
        PatchOp {
            op: "remove".into(),
            path: Some(path.into()),
            value: None,
        }
    }
    /// Adds users (by SCIM id) to a group.
    pub fn add_members(user_ids: &[&str]) -> Self {
        let members: Vec<Value> = user_ids
            .iter()
            .map(|id| serde_json::json!({ "value": id }))
            .collect();
        PatchOp::add("members", Value::Array(members))
    }
    /// Removes one user (by SCIM id) from a group: `members[value eq "ID"]`.
    pub fn remove_member(user_id: &str) -> Self {
        PatchOp::remove(format!("members[value eq {}]", quote(user_id)))
    }
}

/// A SCIM error body (`status` is a string in the RFC, a number at some servers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimError {
    #[serde(default)]
    pub schemas: Vec<String>,
    #[serde(default)]
    pub status: Option<Value>,
    #[serde(default)]
    pub scim_type: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// A JSON string literal: the value part of a filter, escaped.
fn quote(value: &str) -> String {
    Value::String(value.to_string()).to_string()
}

/// The filter `attr eq "value"` with `value` escaped.
pub fn eq_filter(attr: &str, value: &str) -> String {
    format!("{attr} eq {}", quote(value))
}

/// A SCIM 2.0 service provider at `base_url`, authenticated with a bearer token.
pub struct ScimClient {
    http: Arc<HttpClient>,
    base: String,
    token: String,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl ScimClient {
    pub fn new(
        http: Arc<HttpClient>,
        base_url: impl Into<String>,
        bearer_token: impl Into<String>,
    ) -> Self {
        ScimClient {
            http,
            base: base_url.into().trim_end_matches('/').to_string(),
            token: bearer_token.into(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn request(&self, client: &reqwest::Client, method: Method, path: &str) -> RequestBuilder {
        client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT, ACCEPT)
    }

    fn with_body(builder: RequestBuilder, body: &Value) -> RequestBuilder {
        builder
            .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
            .body(body.to_string())
    }

    /// One page of `GET {path}?startIndex=..&count=..[&filter=..]`.
    pub async fn page<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        filter: Option<&str>,
        start_index: u64,
        count: u32,
    ) -> Result<ListResponse<T>, HttpError> {
        let mut query: Vec<(&str, String)> = vec![
            ("startIndex", start_index.to_string()),
            ("count", count.min(MAX_PAGE).to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter", f.to_string()));
        }
        let what = match filter {
            Some(f) => format!("GET {path} ({f})"),
            None => format!("GET {path} from {start_index}"),
        };
        self.http
            .json(&what, Idempotence::Idempotent, |c| {
                self.request(c, Method::GET, path).query(&query)
            })
            .await
    }

    /// Every resource of `path`, page by page.
    async fn list_all<T: serde::de::DeserializeOwned + Serialize>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, HttpError> {
        let mut all = Vec::new();
        let mut start: u64 = 1;
        let mut previous: Option<Vec<Value>> = None;
        loop {
            let page: ListResponse<Value> = self.page(path, None, start, MAX_PAGE).await?;
            if page.resources.is_empty() {
                break;
            }
            if previous.as_ref() == Some(&page.resources) {
                return Err(HttpError::Decode {
                    system: self.http.system().to_string(),
                    what: format!("GET {path}"),
                    message: format!(
                        "the page at startIndex {start} repeats the previous page; \
                         stopping rather than reading an incomplete list"
                    ),
                });
            }
            let n = page.resources.len() as u64;
            let page_start = page.start_index.unwrap_or(start).max(1);
            let per_page = page.items_per_page.unwrap_or(n).max(n);
            for r in &page.resources {
                all.push(
                    serde_json::from_value(r.clone()).map_err(|e| HttpError::Decode {
                        system: self.http.system().to_string(),
                        what: format!("GET {path}"),
                        message: e.to_string(),
                    })?,
                );
            }
            let next = page_start + per_page;
            if next > page.total_results {
                break;
            }
            // Never go backwards or stand still, whatever the server says.
            start = next.max(start + n);
            previous = Some(page.resources);
        }
        Ok(all)
    }

    pub async fn list_users(&self) -> Result<Vec<ScimUser>, HttpError> {
        self.list_all("/Users").await
    }

    pub async fn list_groups(&self) -> Result<Vec<ScimGroup>, HttpError> {
        self.list_all("/Groups").await
    }

    /// The user whose `attr` ("userName" or "externalId") equals `value`.
    pub async fn find_user_by(
        &self,
        attr: &str,
        value: &str,
    ) -> Result<Option<ScimUser>, HttpError> {
        let filter = eq_filter(attr, value);
        let page: ListResponse<ScimUser> = self.page("/Users", Some(&filter), 1, MAX_PAGE).await?;
        Ok(page.resources.into_iter().next())
    }

    pub async fn find_group_by_display_name(
        &self,
        name: &str,
    ) -> Result<Option<ScimGroup>, HttpError> {
        let filter = eq_filter("displayName", name);
        let page: ListResponse<ScimGroup> =
            self.page("/Groups", Some(&filter), 1, MAX_PAGE).await?;
        // A server that ignores the filter must not hand us another group.
        Ok(page.resources.into_iter().find(|g| g.display_name == name))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, HttpError> {
        match self
            .http
            .json(&format!("GET {path}"), Idempotence::Idempotent, |c| {
                self.request(c, Method::GET, path)
            })
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user with this SCIM id; `None` if there is none (404).
    pub async fn get_user(&self, id: &str) -> Result<Option<ScimUser>, HttpError> {
        self.get(&format!("/Users/{}", path_segment(id))).await
    }

    /// The group with this SCIM id; `None` if there is none (404).
    pub async fn get_group(&self, id: &str) -> Result<Option<ScimGroup>, HttpError> {
        self.get(&format!("/Groups/{}", path_segment(id))).await
    }

    async fn write<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: &Value,
        idempotence: Idempotence,
    ) -> Result<Option<T>, HttpError> {
        let response = self
            .http
            .send(what, idempotence, |c| {
                Self::with_body(self.request(c, method.clone(), path), body)
            })
            .await?;
        let bytes = response.bytes().await.map_err(|e| HttpError::Uncertain {
            system: self.http.system().to_string(),
            what: what.to_string(),
            message: e.to_string(),
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| HttpError::Decode {
                system: self.http.system().to_string(),
                what: what.to_string(),
                message: e.to_string(),
            })
    }

    fn missing_body(&self, what: &str) -> HttpError {
        HttpError::Decode {
            system: self.http.system().to_string(),
            what: what.to_string(),
            message: "empty answer where the created resource was expected".into(),
        }
    }

    /// `POST /Users`. A 409 (`uniqueness`) comes back as an [`HttpError::Status`].
    pub async fn create_user(&self, user: &ScimUser) -> Result<ScimUser, HttpError> {
        let mut user = user.clone();
        if user.schemas.is_empty() {
            user.schemas = vec![USER_SCHEMA.to_string()];
        }
        let body = to_value(&user);
        let what = format!("create user {}", user.user_name);
        self.write(
            &what,
            Method::POST,
            "/Users",
            &body,
            Idempotence::NotIdempotent,
        )
        .await?
        .ok_or_else(|| self.missing_body(&what))
    }

    /// `POST /Groups`.
    pub async fn create_group(&self, group: &ScimGroup) -> Result<ScimGroup, HttpError> {
        let mut group = group.clone();
        if group.schemas.is_empty() {
            group.schemas = vec![GROUP_SCHEMA.to_string()];
        }
        let body = to_value(&group);
        let what = format!("create group {}", group.display_name);
        self.write(
            &what,
            Method::POST,
            "/Groups",
            &body,
            Idempotence::NotIdempotent,
        )
        .await?
        .ok_or_else(|| self.missing_body(&what))
    }

    fn patch_body(ops: &[PatchOp]) -> Value {
        serde_json::json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": ops })
    }

    /// `PATCH /Users/{id}`; the updated user when the server answers with it (200), `None`
    /// for 204. Replace, add and remove of set members are idempotent in effect, so the
    /// request is retried like a PUT.
    pub async fn patch_user(
        &self,
        id: &str,
        ops: &[PatchOp],
    ) -> Result<Option<ScimUser>, HttpError> {
        let path = format!("/Users/{}", path_segment(id));
        self.write(
            &format!("PATCH user {id}"),
            Method::PATCH,
            &path,
            &Self::patch_body(ops),
            Idempotence::Idempotent,
        )
        .await
    }

    /// `PATCH /Groups/{id}` (membership changes); the group when the server answers with it.
    pub async fn patch_group(
        &self,
        id: &str,
        ops: &[PatchOp],
    ) -> Result<Option<ScimGroup>, HttpError> {
        let path = format!("/Groups/{}", path_segment(id));
        self.write(
            &format!("PATCH group {id}"),
            Method::PATCH,
            &path,
            &Self::patch_body(ops),
            Idempotence::Idempotent,
        )
        .await
    }

    /// `PUT /Users/{id}`: attributes left out are cleared.
    pub async fn replace_user(
        &self,
        id: &str,
        user: &ScimUser,
    ) -> Result<Option<ScimUser>, HttpError> {
        let mut user = user.clone();
        if user.schemas.is_empty() {
            user.schemas = vec![USER_SCHEMA.to_string()];
        }
        let path = format!("/Users/{}", path_segment(id));
        self.write(
            &format!("replace user {id}"),
            Method::PUT,
            &path,
            &to_value(&user),
            Idempotence::Idempotent,
        )
        .await
    }

    /// `DELETE /Users/{id}`; `false` when there was no such user (404).
    pub async fn delete_user(&self, id: &str) -> Result<bool, HttpError> {
        let path = format!("/Users/{}", path_segment(id));
        match self
            .http
            .send(&format!("delete user {id}"), Idempotence::Idempotent, |c| {
                self.request(c, Method::DELETE, &path)
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // Serialising these plain structs cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Percent-encodes an id for use as one path segment.
pub(crate) fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_escape_values() {
        assert_eq!(
            eq_filter("userName", "ada@x.example"),
            r#"userName eq "ada@x.example""#
        );
        assert_eq!(
            eq_filter("externalId", r#"E"1\2"#),
            r#"externalId eq "E\"1\\2""#
        );
        assert_eq!(
            PatchOp::remove_member("u-1").path.as_deref(),
            Some(r#"members[value eq "u-1"]"#)
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("a59238e6-487e"), "a59238e6-487e");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn patch_body_uses_capitalised_operations() {
        let body = ScimClient::patch_body(&[PatchOp::replace("active", false)]);
        assert_eq!(
            body,
            serde_json::json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": false}]})
        );
    }
}

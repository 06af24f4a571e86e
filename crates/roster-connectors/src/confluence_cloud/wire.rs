//! Confluence Cloud wire types (REST v1 and v2), the mapping between Roster's space
//! operations and Confluence's `key`/`target` pairs, and `_links.next` resolution.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An id Confluence sends as a string in one place and a number in another.
fn de_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// A v1 page (`results`, `start`, `limit`, `size`, `_links`) or a v2 page (`results`,
/// `_links`): the results are kept as JSON until the page has passed the repeat guard.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Page {
    #[serde(default)]
    pub results: Vec<Value>,
    #[serde(rename = "_links", default)]
    pub links: Links,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub base: Option<String>,
}

/// A v1 group: `{"type": "group", "name": ..., "id": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Group {
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    pub name: String,
}

/// A v1 user (group members, `user/current`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub public_name: Option<String>,
    /// Present with `expand=operations`; empty for a deactivated or unlicensed user.
    #[serde(default)]
    pub operations: Option<Vec<Value>>,
}

/// A v2 space.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Space {
    #[serde(deserialize_with = "de_id")]
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A v2 space permission assignment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpacePermission {
    #[serde(deserialize_with = "de_id")]
    pub id: String,
    pub principal: Principal,
    pub operation: PermissionOperation,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Principal {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOperation {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub target_type: String,
}

/// The v1 answer to a grant (`SpacePermissionV2`): `target` and `subject.identifier` here,
/// where v2 reads say `targetType` and `principal.id`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GrantedPermission {
    #[serde(default, deserialize_with = "de_id")]
    pub id: String,
    pub subject: Subject,
    pub operation: GrantOperation,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "de_id")]
    pub identifier: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GrantOperation {
    pub key: String,
    pub target: String,
}

const TARGETS: &[&str] = &["page", "blogpost", "comment", "attachment"];

/// Roster's operation name → Confluence's `(key, target)`. Names outside the policy's list
/// are accepted in their `key:target` form (what [`operation_name`] gives unknown pairs).
pub fn cloud_operation(operation: &str) -> Option<(String, String)> {
    let pair = |k: &str, t: &str| Some((k.to_string(), t.to_string()));
    match operation {
        "read" => pair("read", "space"),
        "administer" => pair("administer", "space"),
        "export" => pair("export", "space"),
        "restrict_content" => pair("restrict_content", "space"),
        "delete_own" => pair("delete", "space"),
        "archive" => pair("archive", "page"),
        other => {
            let (k, t) = other.split_once(':')?;
            (!k.is_empty() && !t.is_empty()).then(|| (k.to_string(), t.to_string()))
        }
    }
}

/// Confluence's `(key, target)` → Roster's operation name; pairs Roster has no name for
/// are kept as `key:target`.
pub fn operation_name(key: &str, target: &str) -> String {
    match (key, target) {
        ("read", "space") => "read".into(),
        ("administer", "space") => "administer".into(),
        ("export", "space") => "export".into(),
        ("restrict_content", "space") => "restrict_content".into(),
        ("delete", "space") => "delete_own".into(),
        ("archive", "page") => "archive".into(),
        ("create" | "delete", t) if TARGETS.contains(&t) => format!("{key}:{t}"),
        _ => format!("{key}:{target}"),
    }
}

/// The path (with query) of the next page, to be appended to the configured site URL.
/// `next` may be absolute (only its path is kept: the configured site is authoritative),
/// relative to the site root (v2: `/wiki/api/v2/...`) or relative to `_links.base` (v1:
/// `/rest/api/...` under `/wiki`).
pub fn next_path(next: &str, base: Option<&str>) -> String {
    if let Ok(url) = reqwest::Url::parse(next) {
        return match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
    }
    let context = base
        .and_then(|b| reqwest::Url::parse(b).ok())
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_else(|| "/wiki".to_string());
    let next = if next.starts_with('/') {
        next.to_string()
    } else {
        format!("/{next}")
    };
    if context.is_empty() || next.starts_with(&format!("{context}/")) {
        next
    } else {
        format!("{context}{next}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_round_trip() {
        for op in roster_core::state::SPACE_OPERATIONS {
            let (k, t) = cloud_operation(op).expect(op);
            assert_eq!(operation_name(&k, &t), *op);
        }
        assert_eq!(
            cloud_operation("delete_own"),
            Some(("delete".into(), "space".into()))
        );
        assert_eq!(
            cloud_operation("archive"),
            Some(("archive".into(), "page".into()))
        );
        assert_eq!(operation_name("update", "page"), "update:page");
        assert_eq!(
            cloud_operation("update:page"),
            Some(("update".into(), "page".into()))
        );
        assert_eq!(cloud_operation("fly"), None);
    }

    #[test]
    fn next_links_resolve_under_the_configured_site() {
        let base = Some("https://acme.atlassian.net/wiki");
        assert_eq!(
            next_path("/rest/api/group?next=true&limit=200&start=200", base),
            "/wiki/rest/api/group?next=true&limit=200&start=200"
        );
        assert_eq!(
            next_path("/wiki/api/v2/spaces?cursor=eyJ&limit=25", base),
            "/wiki/api/v2/spaces?cursor=eyJ&limit=25"
        );
        assert_eq!(
            next_path("/rest/api/group?start=200", None),
            "/wiki/rest/api/group?start=200"
        );
        assert_eq!(
            next_path(
                "https://elsewhere.example/wiki/rest/api/group?start=5",
                base
            ),
            "/wiki/rest/api/group?start=5"
        );
    }

    #[test]
    fn decodes_reference_bodies() {
        // §2.2 v1 group page.
        let page: Page = serde_json::from_value(json!({"results": [
            {"type": "group", "name": "confluence-users", "id": "0d7b6b18-uuid", "_links": {"self": "x"}}],
            "start": 0, "limit": 200, "size": 1,
            "_links": {"base": "https://acme.atlassian.net/wiki", "context": "/wiki",
                       "self": "https://acme.atlassian.net/wiki/rest/api/group",
                       "next": "/rest/api/group?next=true&limit=200&start=200"}}))
        .unwrap();
        let g: Group = serde_json::from_value(page.results[0].clone()).unwrap();
        assert_eq!(g.name, "confluence-users");
        assert!(page.links.next.is_some());
        // §2.6 v2 permission page.
        let page: Page = serde_json::from_value(json!({"results": [
            {"id": "1835009", "principal": {"type": "group", "id": "0d7b6b18-uuid"}, "operation": {"key": "read", "targetType": "space"}},
            {"id": "1835010", "principal": {"type": "user", "id": "5b10ac8d82e05b22cc7d4ef5"}, "operation": {"key": "administer", "targetType": "space"}},
            {"id": 7, "principal": {"type": "access-class", "id": "anonymous-users"}, "operation": {"key": "manage_users", "targetType": "application"}}],
            "_links": {"next": "/wiki/api/v2/spaces/98306/permissions?cursor=abc", "base": "https://acme.atlassian.net/wiki"}}))
        .unwrap();
        let perms: Vec<SpacePermission> = page
            .results
            .iter()
            .map(|v| serde_json::from_value(v.clone()).unwrap())
            .collect();
        assert_eq!(perms[1].principal.kind, "user");
        assert_eq!(
            operation_name(&perms[1].operation.key, &perms[1].operation.target_type),
            "administer"
        );
        assert_eq!(perms[2].id, "7");
        // §2.5 v2 spaces page with `_links.next`.
        let page: Page = serde_json::from_value(json!({"results": [
            {"id": "98306", "key": "ENG", "name": "Engineering", "type": "global", "status": "current",
             "authorId": "5b10", "createdAt": "2025-01-01T01:02:03.456Z", "homepageId": "98310",
             "currentActiveAlias": "ENG", "description": null, "icon": null, "_links": {"webui": "/spaces/ENG"}}],
            "_links": {"next": "/wiki/api/v2/spaces?cursor=eyJ&limit=25", "base": "https://acme.atlassian.net/wiki"}}))
        .unwrap();
        let s: Space = serde_json::from_value(page.results[0].clone()).unwrap();
        assert_eq!((s.id.as_str(), s.key.as_str()), ("98306", "ENG"));
        assert_eq!(
            next_path(
                page.links.next.as_deref().unwrap(),
                page.links.base.as_deref()
            ),
            "/wiki/api/v2/spaces?cursor=eyJ&limit=25"
        );
        // §2.6 v1 grant answer.
        let g: GrantedPermission = serde_json::from_value(json!({"id": 1835011,
            "subject": {"type": "group", "identifier": "0d7b6b18-uuid"},
            "operation": {"key": "read", "target": "space"}, "_links": {}}))
        .unwrap();
        assert_eq!(g.id, "1835011");
        // §2.3 v1 user.
        let u: User = serde_json::from_value(
            json!({"type": "known", "accountId": "5b10", "accountType": "atlassian",
            "email": "ada@example.com", "publicName": "Ada", "displayName": "Ada Lovelace",
            "operations": [{"operation": "use", "targetType": "application"}]}),
        )
        .unwrap();
        assert_eq!(u.account_id, "5b10");
    }
}

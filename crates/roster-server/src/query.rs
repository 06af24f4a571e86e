//! Request parameters: list queries (from the query string or a `/.search` body), the
//! `attributes`/`excludedAttributes` projection, and weak ETags.

use roster_scim::{AttrPath, Filter, ScimError, ScimType, parse_filter, parse_path};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// The SearchRequest message schema (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// `attributes` / `excludedAttributes`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Whether the top-level attribute `name` (`groups`, `members`) can appear in the answer,
    /// so the server can skip reading it when it cannot.
    pub fn may_include(&self, name: &str) -> bool {
        let mentions = |paths: &[AttrPath]| {
            paths
                .iter()
                .any(|p| p.urn.is_none() && p.attr.eq_ignore_ascii_case(name))
        };
        if !self.attributes.is_empty() {
            return mentions(&self.attributes);
        }
        !self
            .excluded
            .iter()
            .any(|p| p.urn.is_none() && p.sub_attr.is_none() && p.attr.eq_ignore_ascii_case(name))
    }
}

/// A list request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: u64,
    /// Already capped at `maxResults`.
    pub count: u64,
    pub projection: Projection,
}

/// One attribute path of `attributes`, `excludedAttributes` or `sortBy`.
fn attr_path(text: &str, parameter: &str) -> ApiResult<AttrPath> {
    let path = parse_path(text.trim()).map_err(|e| {
        ApiError::bad(
            ScimType::InvalidValue,
            format!(
                "{parameter}: \"{text}\" is not an attribute path: {}",
                e.detail
            ),
        )
    })?;
    if path.value_filter.is_some() {
        return Err(ApiError::bad(
            ScimType::InvalidValue,
            format!("{parameter}: \"{text}\" is not a plain attribute path (no filters here)"),
        ));
    }
    Ok(path.attr)
}

/// A comma-separated list of attribute paths (`userName,name.givenName`).
pub fn attr_list(text: &str, parameter: &str) -> ApiResult<Vec<AttrPath>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| attr_path(s, parameter))
        .collect()
}

fn sort_order(text: &str) -> ApiResult<bool> {
    match text.to_ascii_lowercase().as_str() {
        "ascending" => Ok(false),
        "descending" => Ok(true),
        _ => Err(ApiError::bad(
            ScimType::InvalidValue,
            format!("sortOrder must be \"ascending\" or \"descending\", not \"{text}\""),
        )),
    }
}

fn integer(text: &str, parameter: &str) -> ApiResult<i64> {
    text.trim().parse::<i64>().map_err(|_| {
        ApiError::bad(
            ScimType::InvalidValue,
            format!("{parameter} must be an integer, not \"{text}\""),
        )
    })
}

fn filter(text: &str) -> ApiResult<Filter> {
    parse_filter(text).map_err(|e: ScimError| e.into())
}

/// The projection of a single-resource request's query string.
pub fn projection_from_query(pairs: &[(String, String)]) -> ApiResult<Projection> {
    let mut p = Projection::default();
    for (key, value) in pairs {
        if key.eq_ignore_ascii_case("attributes") {
            p.attributes.extend(attr_list(value, "attributes")?);
        } else if key.eq_ignore_ascii_case("excludedAttributes") {
            p.excluded.extend(attr_list(value, "excludedAttributes")?);
        }
    }
    Ok(p)
}

/// A list request from the query string. Parameter names are matched case-insensitively;
/// unknown ones are ignored (IdPs add their own).
pub fn list_from_query(pairs: &[(String, String)], max_results: u64) -> ApiResult<ListParams> {
    let mut raw = RawList::default();
    for (key, value) in pairs {
        match key.to_ascii_lowercase().as_str() {
            "filter" => raw.filter = Some(filter(value)?),
            "sortby" => raw.sort_by = Some(attr_path(value, "sortBy")?),
            "sortorder" => raw.descending = Some(sort_order(value)?),
            "startindex" => raw.start_index = Some(integer(value, "startIndex")?),
            "count" => raw.count = Some(integer(value, "count")?),
            _ => {}
        }
    }
    raw.projection = projection_from_query(pairs)?;
    Ok(raw.finish(max_results))
}

/// A list request from a `POST /.search` body (RFC 7644 §3.4.3).
pub fn list_from_body(body: &Value, max_results: u64) -> ApiResult<ListParams> {
    let Value::Object(fields) = body else {
        return Err(ApiError::bad(
            ScimType::InvalidSyntax,
            "a SearchRequest must be a JSON object",
        ));
    };
    let mut raw = RawList::default();
    let text = |v: &Value, name: &str| -> ApiResult<String> {
        v.as_str().map(str::to_string).ok_or_else(|| {
            ApiError::bad(ScimType::InvalidValue, format!("{name} must be a string"))
        })
    };
    let number = |v: &Value, name: &str| -> ApiResult<i64> {
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| {
                ApiError::bad(ScimType::InvalidValue, format!("{name} must be an integer"))
            }),
            Value::String(s) => integer(s, name),
            _ => Err(ApiError::bad(
                ScimType::InvalidValue,
                format!("{name} must be an integer"),
            )),
        }
    };
    let paths = |v: &Value, name: &str| -> ApiResult<Vec<AttrPath>> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| text(i, name).and_then(|s| attr_path(&s, name)))
                .collect(),
            Value::String(s) => attr_list(s, name),
            _ => Err(ApiError::bad(
                ScimType::InvalidValue,
                format!("{name} must be a list of attribute paths"),
            )),
        }
    };
    for (key, value) in fields {
        if value.is_null() {
            continue;
        }
        match key.to_ascii_lowercase().as_str() {
            "filter" => raw.filter = Some(filter(&text(value, "filter")?)?),
            "sortby" => raw.sort_by = Some(attr_path(&text(value, "sortBy")?, "sortBy")?),
            "sortorder" => raw.descending = Some(sort_order(&text(value, "sortOrder")?)?),
            "startindex" => raw.start_index = Some(number(value, "startIndex")?),
            "count" => raw.count = Some(number(value, "count")?),
            "attributes" => raw.projection.attributes = paths(value, "attributes")?,
            "excludedattributes" => raw.projection.excluded = paths(value, "excludedAttributes")?,
            _ => {}
        }
    }
    Ok(raw.finish(max_results))
}

#[derive(Default)]
struct RawList {
    filter: Option<Filter>,
    sort_by: Option<AttrPath>,
    descending: Option<bool>,
    start_index: Option<i64>,
    count: Option<i64>,
    projection: Projection,
}

impl RawList {
    /// RFC 7644 §3.4.2.4: a `startIndex` below 1 means 1, a negative `count` means 0, and the
    /// server may return fewer than asked (here at most `maxResults`).
    fn finish(self, max_results: u64) -> ListParams {
        ListParams {
            filter: self.filter,
            sort_by: self.sort_by,
            descending: self.descending.unwrap_or(false),
            start_index: self.start_index.unwrap_or(1).max(1) as u64,
            count: self
                .count
                .map_or(max_results, |c| (c.max(0) as u64).min(max_results)),
            projection: self.projection,
        }
    }
}

/// `W/"<version>"`, the weak ETag of a stored version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// An `If-Match` / `If-None-Match` header: `*` or a list of entity tags.
#[derive(Debug, Clone, PartialEq)]
pub enum Precondition {
    Any,
    /// The versions named; a tag that is not one of ours matches nothing.
    Versions(Vec<Option<i64>>),
}

impl Precondition {
    pub fn parse(header: &str) -> Precondition {
        if header.trim() == "*" {
            return Precondition::Any;
        }
        Precondition::Versions(
            header
                .split(',')
                .map(|tag| {
                    let tag = tag.trim();
                    let tag = tag.strip_prefix("W/").unwrap_or(tag);
                    tag.trim_matches('"').parse::<i64>().ok()
                })
                .collect(),
        )
    }

    pub fn matches(&self, version: i64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(v) => v.contains(&Some(version)),
        }
    }

    /// The single version a write may be conditioned on atomically, when there is one.
    pub fn single(&self) -> Option<i64> {
        match self {
            Precondition::Versions(v) if v.len() == 1 => v[0],
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_parameters_follow_rfc_7644_paging_rules() {
        let p = list_from_query(
            &pairs(&[
                ("startIndex", "0"),
                ("count", "5000"),
                ("sortOrder", "Descending"),
            ]),
            1000,
        )
        .unwrap();
        assert_eq!((p.start_index, p.count, p.descending), (1, 1000, true));
        let p = list_from_query(&pairs(&[("COUNT", "-3")]), 1000).unwrap();
        assert_eq!(p.count, 0);
        let e = list_from_query(&pairs(&[("count", "ten")]), 1000).unwrap_err();
        assert_eq!(e.error.scim_type, Some(ScimType::InvalidValue));
        let e = list_from_query(&pairs(&[("filter", "userName eq")]), 1000).unwrap_err();
        assert_eq!(
            (e.status(), e.error.scim_type),
            (400, Some(ScimType::InvalidFilter))
        );
    }

    #[test]
    fn search_bodies_accept_lists_and_strings() {
        let body = serde_json::json!({
            "schemas": [SEARCH_REQUEST],
            "attributes": ["userName", "name.givenName"],
            "excludedAttributes": "groups",
            "filter": "userName sw \"a\"",
            "startIndex": 3,
            "count": "10",
        });
        let p = list_from_body(&body, 1000).unwrap();
        assert_eq!(p.projection.attributes.len(), 2);
        assert_eq!(p.projection.excluded[0].attr, "groups");
        assert_eq!((p.start_index, p.count), (3, 10));
        assert!(p.filter.is_some());
    }

    #[test]
    fn projections_tell_whether_an_attribute_can_appear() {
        let p = projection_from_query(&pairs(&[("excludedAttributes", "members")])).unwrap();
        assert!(!p.may_include("members"));
        assert!(p.may_include("groups"));
        let p = projection_from_query(&pairs(&[("attributes", "userName,groups.value")])).unwrap();
        assert!(p.may_include("groups"));
        assert!(!p.may_include("members"));
    }

    #[test]
    fn preconditions_read_weak_and_strong_tags() {
        assert!(Precondition::parse("W/\"3\"").matches(3));
        assert!(Precondition::parse("\"3\"").matches(3));
        assert!(!Precondition::parse("W/\"3\"").matches(4));
        assert!(Precondition::parse("*").matches(9));
        assert!(Precondition::parse("W/\"1\", W/\"2\"").matches(2));
        assert!(!Precondition::parse("garbage").matches(1));
        assert_eq!(Precondition::parse("W/\"7\"").single(), Some(7));
    }
}

//! Microsoft Graph v1.0 users and groups (reference §10.2, §10.4): `$select` replacing the
//! default property set, `$top` (1..999, default 100), `$skiptoken` in `@odata.nextLink`, a
//! one-clause `$filter`, and each permission checked like Graph does.

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::state::{
    App, Group, User, denied, graph_error, invalid_token, json_response, not_found,
};
use crate::directory::{page_after, query_encode};

type Reply = Result<Response, Response>;

const DEFAULT_USER: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];
const MORE_USER: [&str; 15] = [
    "accountEnabled",
    "department",
    "employeeId",
    "employeeType",
    "userType",
    "createdDateTime",
    "companyName",
    "city",
    "country",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "onPremisesSyncEnabled",
    "signInActivity",
    "otherMails",
];
/// Properties Graph returns only on a single-user GET (501 on the collection).
const SINGLE_USER_ONLY: [&str; 11] = [
    "aboutMe",
    "birthday",
    "hireDate",
    "interests",
    "mySite",
    "pastProjects",
    "preferredName",
    "responsibilities",
    "schools",
    "skills",
    "mailboxSettings",
];
const GROUP_FIELDS: [&str; 9] = [
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
    "createdDateTime",
];

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1.0/users", get(list_users))
        .route("/v1.0/users/{id}", get(get_user))
        .route("/v1.0/users/{id}/memberOf", get(member_of))
        .route("/v1.0/groups", get(list_groups))
        .route("/v1.0/groups/{id}/members", get(members))
}

/// `Authorization: Bearer` with a token the endpoint issued and that has not expired.
fn bearer(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_token("Access token is empty."))?;
    match app.tenant().tokens.get(token) {
        None => Err(invalid_token(
            "Access token validation failure. Invalid audience.",
        )),
        Some(exp) if *exp <= Instant::now() => Err(invalid_token(
            "Lifetime validation failed, the token is expired.",
        )),
        Some(_) => Ok(()),
    }
}

fn bad_request(code: &str, message: String) -> Response {
    graph_error(StatusCode::BAD_REQUEST, code, &message)
}

/// The selected property names (canonical spelling), or the default set.
fn selection(
    q: &HashMap<String, String>,
    defaults: &[&'static str],
    known: &[&'static str],
    kind: &str,
    collection: bool,
) -> Result<Vec<&'static str>, Response> {
    let Some(select) = q.get("$select").filter(|s| !s.trim().is_empty()) else {
        return Ok(defaults.to_vec());
    };
    let mut out = Vec::new();
    for name in select.split(',').map(str::trim) {
        if collection
            && SINGLE_USER_ONLY
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
        {
            return Err(graph_error(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "This operation target is not yet supported.",
            ));
        }
        match known.iter().find(|p| p.eq_ignore_ascii_case(name)) {
            Some(p) => out.push(*p),
            None => {
                return Err(bad_request(
                    "Request_BadRequest",
                    format!(
                        "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type 'microsoft.graph.{kind}'."
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn user_fields() -> Vec<&'static str> {
    DEFAULT_USER
        .iter()
        .chain(MORE_USER.iter())
        .copied()
        .collect()
}

fn user_json(u: &User, fields: &[&str]) -> Value {
    let t = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let sign_in = u.last_sign_in.map(|s| {
        json!({
            "lastSignInDateTime": t(s),
            "lastSignInRequestId": uuid::Uuid::new_v4().to_string(),
            "lastNonInteractiveSignInDateTime": t(s),
            "lastNonInteractiveSignInRequestId": uuid::Uuid::new_v4().to_string(),
            "lastSuccessfulSignInDateTime": t(s),
            "lastSuccessfulSignInRequestId": uuid::Uuid::new_v4().to_string(),
        })
    });
    let mut m = Map::new();
    for f in fields {
        let v = match *f {
            "businessPhones" | "otherMails" => json!([]),
            "displayName" => json!(u.display_name),
            "givenName" => json!(u.given_name),
            "id" => json!(u.id),
            "jobTitle" => json!(Some(&u.job_title).filter(|s| !s.is_empty())),
            "mail" => json!(u.mail),
            "surname" => json!(u.surname),
            "userPrincipalName" => json!(u.user_principal_name),
            "accountEnabled" => json!(u.account_enabled),
            "department" => json!(Some(&u.department).filter(|s| !s.is_empty())),
            "employeeId" => json!(u.employee_id),
            "employeeType" => json!(u.employee_id.as_ref().map(|_| "Employee")),
            "userType" => json!(u.user_type),
            "createdDateTime" => json!(t(u.created)),
            "companyName" => json!("Acme"),
            "signInActivity" => sign_in.clone().unwrap_or(Value::Null),
            _ => Value::Null,
        };
        m.insert((*f).to_string(), v);
    }
    Value::Object(m)
}

fn group_json(g: &Group, fields: &[&str]) -> Value {
    let mut m = Map::new();
    for f in fields {
        let v = match *f {
            "id" => json!(g.id),
            "displayName" => json!(g.display_name),
            "description" => json!(g.description),
            "mailEnabled" => json!(false),
            "mailNickname" => json!(g.display_name),
            "securityEnabled" => json!(true),
            "groupTypes" => json!([]),
            "createdDateTime" => json!(g.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
            _ => Value::Null,
        };
        m.insert((*f).to_string(), v);
    }
    Value::Object(m)
}

/// `$top`: 1..=999, 100 by default; never more than the simulator's page size.
fn top(app: &App, q: &HashMap<String, String>) -> Result<usize, Response> {
    let asked = match q.get("$top") {
        None => 100,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=999).contains(&n) => n,
            _ => {
                return Err(bad_request(
                    "Request_BadRequest",
                    format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                ));
            }
        },
    };
    Ok(asked.min(app.cfg.page_size))
}

fn after(q: &HashMap<String, String>) -> Result<Option<String>, Response> {
    let Some(token) = q.get("$skiptoken") else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("after:").map(str::to_string))
        .map(Some)
        .ok_or_else(|| bad_request("Request_BadRequest", "Invalid $skiptoken.".into()))
}

/// A collection page: `@odata.context`, `@odata.nextLink` while more remain, `value`.
fn collection(
    app: &App,
    path: &str,
    context: &str,
    q: &HashMap<String, String>,
    items: Vec<Value>,
    last: Option<&str>,
    more: bool,
) -> Response {
    let graph = &app.cfg.graph_url;
    let mut body = json!({"@odata.context": format!("{graph}/v1.0/$metadata#{context}")});
    if more && let Some(last) = last {
        let mut next = format!("{graph}{path}?");
        for key in ["$select", "$filter", "$top"] {
            if let Some(v) = q.get(key) {
                next.push_str(&format!("{key}={}&", query_encode(v)));
            }
        }
        next.push_str(&format!(
            "$skiptoken={}",
            URL_SAFE_NO_PAD.encode(format!("after:{last}"))
        ));
        body["@odata.nextLink"] = json!(next);
    }
    body["value"] = Value::Array(items);
    json_response(StatusCode::OK, &body)
}

/// One clause, `property eq value`, on the properties a test needs.
fn user_filter(q: &HashMap<String, String>) -> Result<Option<(String, String)>, Response> {
    let Some(f) = q.get("$filter") else {
        return Ok(None);
    };
    let parts: Vec<&str> = f.splitn(3, ' ').collect();
    let supported = [
        "accountEnabled",
        "employeeId",
        "userType",
        "mail",
        "userPrincipalName",
    ];
    match parts.as_slice() {
        [prop, "eq", value] if supported.contains(prop) => Ok(Some((
            (*prop).to_string(),
            value.trim_matches('\'').to_string(),
        ))),
        _ => Err(bad_request(
            "Request_UnsupportedQuery",
            format!("Unsupported or invalid query filter clause specified: {f}"),
        )),
    }
}

fn filter_matches(u: &User, filter: &Option<(String, String)>) -> bool {
    let Some((prop, want)) = filter else {
        return true;
    };
    match prop.as_str() {
        "accountEnabled" => u.account_enabled.to_string() == *want,
        "employeeId" => u.employee_id.as_deref() == Some(want.as_str()),
        "userType" => u.user_type == *want,
        "mail" => u
            .mail
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(want)),
        _ => u.user_principal_name.eq_ignore_ascii_case(want),
    }
}

fn may_read_users(app: &App, fields: &[&str]) -> Result<(), Response> {
    if !app
        .cfg
        .granted(&["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"])
    {
        return Err(denied());
    }
    // Sign-in activity comes from the audit logs (§10.1; exact refusal unconfirmed).
    if fields.contains(&"signInActivity") && !app.cfg.granted(&["AuditLog.Read.All"]) {
        return Err(denied());
    }
    Ok(())
}

async fn list_users(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    bearer(&app, &headers)?;
    let fields = selection(&q, &DEFAULT_USER, &user_fields(), "user", true)?;
    may_read_users(&app, &fields)?;
    let filter = user_filter(&q)?;
    let n = top(&app, &q)?;
    let after = after(&q)?;
    let tenant = app.tenant();
    let listed: Vec<&User> = tenant
        .users
        .iter()
        .filter(|u| filter_matches(u, &filter))
        .collect();
    let (page, more) = page_after(&listed, |u| u.id.as_str(), after.as_deref(), n);
    let items = page.iter().map(|u| user_json(u, &fields)).collect();
    let context = match q.get("$select") {
        Some(s) => format!("users({s})"),
        None => "users".into(),
    };
    Ok(collection(
        &app,
        "/v1.0/users",
        &context,
        &q,
        items,
        page.last().map(|u| u.id.as_str()),
        more,
    ))
}

async fn get_user(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    bearer(&app, &headers)?;
    let fields = selection(&q, &DEFAULT_USER, &user_fields(), "user", false)?;
    may_read_users(&app, &fields)?;
    let tenant = app.tenant();
    let u = tenant.user(&id).ok_or_else(|| not_found(&id))?;
    Ok(json_response(StatusCode::OK, &user_json(u, &fields)))
}

fn may_read_groups(app: &App) -> Result<(), Response> {
    if app.cfg.granted(&[
        "GroupMember.Read.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
    ]) {
        Ok(())
    } else {
        Err(denied())
    }
}

async fn list_groups(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    bearer(&app, &headers)?;
    may_read_groups(&app)?;
    let fields = selection(&q, &GROUP_FIELDS, &GROUP_FIELDS, "group", true)?;
    let n = top(&app, &q)?;
    let after = after(&q)?;
    let tenant = app.tenant();
    let (page, more) = page_after(&tenant.groups, |g| g.id.as_str(), after.as_deref(), n);
    let items = page.iter().map(|g| group_json(g, &fields)).collect();
    Ok(collection(
        &app,
        "/v1.0/groups",
        "groups",
        &q,
        items,
        page.last().map(|g| g.id.as_str()),
        more,
    ))
}

async fn members(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    bearer(&app, &headers)?;
    may_read_groups(&app)?;
    let fields = selection(&q, &DEFAULT_USER, &user_fields(), "directoryObject", true)?;
    let n = top(&app, &q)?;
    let after = after(&q)?;
    let tenant = app.tenant();
    let g = tenant
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| not_found(&id))?;
    let listed: Vec<&User> = tenant
        .users
        .iter()
        .filter(|u| g.members.contains(&u.id))
        .collect();
    let (page, more) = page_after(&listed, |u| u.id.as_str(), after.as_deref(), n);
    let items = page
        .iter()
        .map(|u| {
            let mut v = json!({"@odata.type": "#microsoft.graph.user"});
            if let (Value::Object(o), Value::Object(fields)) = (&mut v, user_json(u, &fields)) {
                o.extend(fields);
            }
            v
        })
        .collect();
    Ok(collection(
        &app,
        &format!("/v1.0/groups/{id}/members"),
        "directoryObjects",
        &q,
        items,
        page.last().map(|u| u.id.as_str()),
        more,
    ))
}

async fn member_of(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    bearer(&app, &headers)?;
    may_read_groups(&app)?;
    let fields = selection(&q, &GROUP_FIELDS, &GROUP_FIELDS, "directoryObject", true)?;
    let tenant = app.tenant();
    let u = tenant.user(&id).ok_or_else(|| not_found(&id))?;
    let items = tenant
        .groups
        .iter()
        .filter(|g| g.members.contains(&u.id))
        .map(|g| {
            let mut v = json!({"@odata.type": "#microsoft.graph.group"});
            if let (Value::Object(o), Value::Object(f)) = (&mut v, group_json(g, &fields)) {
                o.extend(f);
            }
            v
        })
        .collect();
    Ok(collection(
        &app,
        &format!("/v1.0/users/{id}/memberOf"),
        "directoryObjects",
        &q,
        items,
        None,
        false,
    ))
}
